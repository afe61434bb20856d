//! `X-Twilio-Signature` webhook signatures: compute and verify (backend-spec §3.1–3.4).
//!
//! `signature = base64(HMAC-SHA1(key = Auth Token, msg = URL + Σ sorted(name + value)))`, where:
//!
//! - the URL is the full URL Twilio requested, query string exactly as sent;
//! - parameters are the **decoded** POST form parameters, sorted by name (byte order, case-sensitive); a repeated
//!   name contributes each of its *distinct* values, sorted, as twilio-node does;
//! - for JSON bodies Twilio appends `bodySHA256=<hex sha256(raw body)>` to the URL and signs the URL alone
//!   ([`verify_json`]).
//!
//! Verification accepts the URL as given with its port removed and with its port present (the default one added
//! when absent), candidates 1 and 2 of §3.3, and compares in constant time. The caller passes the URL Twilio
//! signed (public base URL + raw path and query), never one rebuilt from `Host`. Pure functions, no I/O; no
//! input can make them panic. Map [`SignatureError::http_status`] to the response (400 missing header, 403
//! otherwise).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use subtle::ConstantTimeEq;

/// Largest form body [`parse_form`] accepts, in bytes. Twilio webhook bodies are a few KiB.
pub const MAX_FORM_BODY: usize = 256 * 1024;
/// The query parameter carrying the body hash of JSON webhooks.
pub const BODY_SHA256_PARAM: &str = "bodySHA256";
/// The HTTP header carrying the signature.
pub const HEADER_NAME: &str = "X-Twilio-Signature";

/// Why a webhook signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No (or an empty) `X-Twilio-Signature` header. Answer 400.
    #[error("missing X-Twilio-Signature header")]
    MissingHeader,
    /// The signature does not match any accepted URL form (wrong Auth Token, altered URL or parameters, or a
    /// garbled header). Answer 403.
    #[error("X-Twilio-Signature does not match")]
    Mismatch,
    /// A JSON webhook URL without a `bodySHA256` query parameter. Answer 403.
    #[error("URL has no bodySHA256 parameter")]
    MissingBodyHash,
    /// The raw body's SHA-256 differs from the URL's `bodySHA256`. Answer 403.
    #[error("body SHA-256 does not match bodySHA256")]
    BodyHashMismatch,
    /// The form body exceeds [`MAX_FORM_BODY`]. Answer 413 (or 403).
    #[error("form body too large: {len} bytes (max {max})")]
    BodyTooLarge {
        /// Body length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl SignatureError {
    /// The HTTP status a webhook endpoint should answer with: 400 for a missing header, 413 for an oversized
    /// body, 403 otherwise (mirrors twilio-node's middleware).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::MissingHeader => 400,
            Self::BodyTooLarge { .. } => 413,
            _ => 403,
        }
    }
}

/// Computes the `X-Twilio-Signature` value for `url` and form `params` (decoded name/value pairs, any order).
///
/// For a GET request or a JSON body, pass no parameters.
pub fn compute<K: AsRef<str>, V: AsRef<str>>(
    auth_token: &str,
    url: &str,
    params: &[(K, V)],
) -> String {
    let mut grouped: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (k, v) in params {
        grouped.entry(k.as_ref()).or_default().insert(v.as_ref());
    }
    // Invariant: HMAC accepts keys of any length.
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (name, values) in &grouped {
        for value in values {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Verifies a form-encoded (or GET) webhook: `params` are the decoded body parameters (see [`parse_form`]),
/// `header_value` the `X-Twilio-Signature` header (`""` when absent).
pub fn verify_form<K: AsRef<str>, V: AsRef<str>>(
    auth_token: &str,
    url: &str,
    params: &[(K, V)],
    header_value: &str,
) -> Result<(), SignatureError> {
    let header_value = header_value.trim();
    if header_value.is_empty() {
        return Err(SignatureError::MissingHeader);
    }
    let (without_port, with_port) = port_candidates(url);
    let mut ok = false;
    for candidate in [Some(without_port), with_port].into_iter().flatten() {
        ok |= ct_eq(&compute(auth_token, &candidate, params), header_value);
    }
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Verifies a JSON-body webhook: the signature covers `url` (which carries `bodySHA256`) with no parameters, and
/// `hex(sha256(raw_body))` must equal `bodySHA256`. Pass the raw body bytes, never re-serialized JSON.
pub fn verify_json(
    auth_token: &str,
    url: &str,
    raw_body: &[u8],
    header_value: &str,
) -> Result<(), SignatureError> {
    verify_form::<&str, &str>(auth_token, url, &[], header_value)?;
    let expected = body_sha256_param(url).ok_or(SignatureError::MissingBodyHash)?;
    if expected.eq_ignore_ascii_case(&body_sha256_hex(raw_body)) {
        Ok(())
    } else {
        Err(SignatureError::BodyHashMismatch)
    }
}

/// Verifies any webhook from its raw body: a URL carrying `bodySHA256` is checked as JSON ([`verify_json`]),
/// anything else as a form body ([`parse_form`] + [`verify_form`]). Returns the parsed form parameters (empty
/// for JSON) so the caller parses the body once.
pub fn verify_request(
    auth_token: &str,
    url: &str,
    raw_body: &[u8],
    header_value: &str,
) -> Result<Vec<(String, String)>, SignatureError> {
    if body_sha256_param(url).is_some() {
        verify_json(auth_token, url, raw_body, header_value)?;
        return Ok(Vec::new());
    }
    let params = parse_form(raw_body)?;
    verify_form(auth_token, url, &params, header_value)?;
    Ok(params)
}

/// Parses an `application/x-www-form-urlencoded` body into decoded pairs, in body order (repeated names kept).
/// Invalid UTF-8 is replaced (U+FFFD), which then fails signature verification rather than panicking.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, SignatureError> {
    if body.len() > MAX_FORM_BODY {
        return Err(SignatureError::BodyTooLarge {
            len: body.len(),
            max: MAX_FORM_BODY,
        });
    }
    Ok(form_urlencoded::parse(body).into_owned().collect())
}

/// Lowercase hex SHA-256 of `body`, as Twilio puts in `bodySHA256`.
pub fn body_sha256_hex(body: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(body);
    let mut out = String::with_capacity(64);
    for b in digest {
        // Invariant: writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Appends `bodySHA256=<hex sha256(body)>` to `url` (with `?` or `&`), as Twilio does before signing a JSON
/// webhook. For the stand-in.
pub fn append_body_sha256(url: &str, body: &[u8]) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{BODY_SHA256_PARAM}={}", body_sha256_hex(body))
}

fn body_sha256_param(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == BODY_SHA256_PARAM)
        .map(|(_, v)| v.into_owned())
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Returns (URL without port, URL with port) per twilio-node's `removePort`/`addPort`. The second is `None`
/// when the scheme has no default port and the URL has no explicit port.
fn port_candidates(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => Some("443"),
        "http" | "ws" => Some("80"),
        _ => None,
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => authority.split_at(i + 1),
        None => ("", authority),
    };
    // A port is a `:digits` suffix after the host (after `]` for IPv6 literals).
    let host_end = hostport.rfind(']').map_or(0, |i| i + 1);
    let (host, port) = match hostport[host_end..].rfind(':') {
        Some(i)
            if hostport[host_end + i + 1..]
                .bytes()
                .all(|b| b.is_ascii_digit()) =>
        {
            let (h, p) = hostport.split_at(host_end + i);
            (h, Some(&p[1..]))
        }
        _ => (hostport, None),
    };
    let without = format!("{scheme}://{userinfo}{host}{tail}");
    let with = port
        .or(default_port)
        .map(|p| format!("{scheme}://{userinfo}{host}:{p}{tail}"));
    (without, with)
}

#[cfg(test)]
mod tests {
    use super::port_candidates;

    #[test]
    fn port_candidates_cover_both_forms() {
        let (a, b) = port_candidates("https://h.example/x?y=1");
        assert_eq!(a, "https://h.example/x?y=1");
        assert_eq!(b.as_deref(), Some("https://h.example:443/x?y=1"));
        let (a, b) = port_candidates("https://h.example:443/x");
        assert_eq!(
            (a.as_str(), b.as_deref()),
            ("https://h.example/x", Some("https://h.example:443/x"))
        );
        let (a, b) = port_candidates("http://u:p@127.0.0.1:8080?q=a:b");
        assert_eq!(
            (a.as_str(), b.as_deref()),
            (
                "http://u:p@127.0.0.1?q=a:b",
                Some("http://u:p@127.0.0.1:8080?q=a:b")
            )
        );
        let (a, b) = port_candidates("http://[::1]/x");
        assert_eq!(
            (a.as_str(), b.as_deref()),
            ("http://[::1]/x", Some("http://[::1]:80/x"))
        );
        let (a, b) = port_candidates("ftp://h");
        assert_eq!((a.as_str(), b), ("ftp://h", None));
        let (a, b) = port_candidates("no scheme");
        assert_eq!((a.as_str(), b), ("no scheme", None));
        // Multibyte authority must not panic.
        let _ = port_candidates("https://例え.jp:ポート/x");
    }
}
