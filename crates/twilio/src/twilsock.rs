//! Twilsock v3 framing (specs/sync-protocol.md §1.2): `"TWILSOCK V3.0 " <header bytes> "\r\n" <JSON header> "\r\n"
//! <payload>`, where the header always carries `method`, `id` and `payload_size` (the payload's byte length).
//!
//! [`decode`] takes one whole WebSocket binary message (Twilsock never splits a frame across messages), checks the
//! magic, the declared header length and the payload size, and tolerates the optional trailing CRLF some clients
//! emit. [`encode`] sets `payload_size` itself and always writes compact JSON, so a payload never contains a raw
//! CRLF. Both are bounded by [`MAX_FRAME_LEN`]; neither panics on any input.

use serde_json::{Map, Value};

/// Largest frame accepted or produced, in bytes.
pub const MAX_FRAME_LEN: usize = 1024 * 1024;
/// The protocol magic and version.
pub const MAGIC: &str = "TWILSOCK V3.0 ";

/// Why a Twilsock frame was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TwilsockError {
    /// The frame exceeds [`MAX_FRAME_LEN`].
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// Frame length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The frame does not start with `TWILSOCK V3.0 <n>\r\n`.
    #[error("missing or malformed `TWILSOCK V3.0 <n>` preamble")]
    BadPreamble,
    /// The declared lengths do not fit the frame.
    #[error("declared header or payload length does not match the frame")]
    Truncated,
    /// The header is not a JSON object with a string `method`.
    #[error("malformed header: {0}")]
    BadHeader(&'static str),
    /// The header is not valid JSON.
    #[error("header is not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A decoded frame: the header object and the raw payload bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The JSON header (`method`, `id`, `payload_size`, and method-specific fields).
    pub header: Map<String, Value>,
    /// The payload (usually compact JSON).
    pub payload: Vec<u8>,
}

impl Frame {
    /// The `method` field.
    pub fn method(&self) -> &str {
        self.header
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The `id` field.
    pub fn id(&self) -> &str {
        self.header.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// The payload parsed as JSON (`Value::Null` when empty or not JSON).
    pub fn payload_json(&self) -> Value {
        if self.payload.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

/// Decodes one frame.
pub fn decode(bytes: &[u8]) -> Result<Frame, TwilsockError> {
    if bytes.len() > MAX_FRAME_LEN {
        return Err(TwilsockError::TooLong {
            len: bytes.len(),
            max: MAX_FRAME_LEN,
        });
    }
    let rest = bytes
        .strip_prefix(MAGIC.as_bytes())
        .ok_or(TwilsockError::BadPreamble)?;
    let eol = rest
        .windows(2)
        .take(12)
        .position(|w| w == b"\r\n")
        .ok_or(TwilsockError::BadPreamble)?;
    let header_len: usize = std::str::from_utf8(&rest[..eol])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(TwilsockError::BadPreamble)?;
    let after = &rest[eol + 2..];
    let header_bytes = after.get(..header_len).ok_or(TwilsockError::Truncated)?;
    let header: Map<String, Value> = serde_json::from_slice(header_bytes)?;
    if !header.get("method").is_some_and(Value::is_string) {
        return Err(TwilsockError::BadHeader("method must be a string"));
    }
    let size = match header.get("payload_size") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().ok_or(TwilsockError::BadHeader(
            "payload_size must be a non-negative integer",
        ))? as usize,
    };
    let payload = if size == 0 {
        Vec::new()
    } else {
        let body = after.get(header_len..).ok_or(TwilsockError::Truncated)?;
        let body = body.strip_prefix(b"\r\n").ok_or(TwilsockError::Truncated)?;
        body.get(..size).ok_or(TwilsockError::Truncated)?.to_vec()
    };
    Ok(Frame { header, payload })
}

/// Encodes a frame, setting `payload_size` in `header`.
pub fn encode(mut header: Map<String, Value>, payload: &[u8]) -> Result<Vec<u8>, TwilsockError> {
    header.insert("payload_size".into(), Value::from(payload.len()));
    let h = serde_json::to_vec(&header)?;
    let mut out = Vec::with_capacity(MAGIC.len() + 8 + h.len() + payload.len());
    out.extend_from_slice(MAGIC.as_bytes());
    out.extend_from_slice(h.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&h);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    if out.len() > MAX_FRAME_LEN {
        return Err(TwilsockError::TooLong {
            len: out.len(),
            max: MAX_FRAME_LEN,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn golden_ping_from_the_poc() {
        let raw = b"TWILSOCK V3.0 76\r\n{\"method\":\"ping\",\"id\":\"TM00000000000000000000000000000012\",\"payload_size\":0}\r\n";
        let f = decode(raw).unwrap();
        assert_eq!(f.method(), "ping");
        assert_eq!(f.id(), "TM00000000000000000000000000000012");
        assert!(f.payload.is_empty());
    }

    #[test]
    fn round_trip_with_multibyte_payload_and_trailing_crlf() {
        let mut h = Map::new();
        h.insert("method".into(), json!("message"));
        h.insert("id".into(), json!("TM1"));
        let body = json!({"data": {"name": "山田 花子"}}).to_string();
        let mut bytes = encode(h, body.as_bytes()).unwrap();
        let f = decode(&bytes).unwrap();
        assert_eq!(f.header["payload_size"], body.len());
        assert_eq!(f.payload_json()["data"]["name"], "山田 花子");
        bytes.extend_from_slice(b"\r\n");
        assert_eq!(decode(&bytes).unwrap().payload, body.as_bytes());
    }

    #[test]
    fn malformed_frames_are_errors() {
        for bad in [
            &b""[..],
            b"TWILSOCK V2.0 2\r\n{}\r\n",
            b"TWILSOCK V3.0 x\r\n{}\r\n",
            b"TWILSOCK V3.0 99\r\n{}\r\n",
            b"TWILSOCK V3.0 2\r\n{}\r\n",
            b"TWILSOCK V3.0 13\r\n{\"method\":1}\r\n",
            b"TWILSOCK V3.0 32\r\n{\"method\":\"m\",\"payload_size\":9}\r\nabc",
            b"TWILSOCK V3.0 33\r\n{\"method\":\"m\",\"payload_size\":-1}\r\n",
            b"TWILSOCK V3.0 99999999999999999999999\r\n",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(decode(&vec![b'T'; MAX_FRAME_LEN + 1]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode(&bytes);
            let mut framed = MAGIC.as_bytes().to_vec();
            framed.extend_from_slice(&bytes);
            let _ = decode(&framed);
        }

        #[test]
        fn encode_decode_round_trip(method in "[a-z_.0-9]{1,20}", id in "[A-Za-z0-9-]{0,40}", body in ".{0,200}") {
            let mut h = Map::new();
            h.insert("method".into(), json!(method));
            h.insert("id".into(), json!(id));
            let payload = json!({ "v": body }).to_string();
            let f = decode(&encode(h, payload.as_bytes()).unwrap()).unwrap();
            proptest::prop_assert_eq!(f.method(), method.as_str());
            proptest::prop_assert_eq!(f.id(), id.as_str());
            proptest::prop_assert_eq!(f.payload, payload.into_bytes());
        }
    }
}
