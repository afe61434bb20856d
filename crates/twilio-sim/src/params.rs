//! Request parameters, uniform over the two encodings the stand-in receives.
//!
//! Public REST bodies are form-encoded (every value a string; repeated keys for lists), while the EventBridge proxy
//! sends typed JSON (`Attributes` as an object, `RejectPendingReservations` as a boolean). [`Params`] holds either
//! as a JSON object and offers typed getters that accept both spellings. Getters validate; they never panic.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest form or JSON body accepted on any route, in bytes.
pub const MAX_BODY: usize = 256 * 1024;

/// Request parameters.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// From a form-encoded body or query string. Repeated keys become arrays.
    pub fn from_form(bytes: &[u8]) -> Self {
        let mut map = Map::new();
        for (k, v) in form_urlencoded::parse(bytes) {
            let v = Value::String(v.into_owned());
            match map.get_mut(k.as_ref()) {
                Some(Value::Array(items)) => items.push(v),
                Some(prev) => {
                    let first = prev.take();
                    *prev = Value::Array(vec![first, v]);
                }
                None => {
                    map.insert(k.into_owned(), v);
                }
            }
        }
        Self(map)
    }

    /// From the proxy's typed JSON `params` (anything but an object counts as empty).
    pub fn from_json(v: Value) -> Self {
        match v {
            Value::Object(m) => Self(m),
            _ => Self::default(),
        }
    }

    /// The parameters as (name, value) pairs with every value rendered as a string.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            match v {
                Value::Array(items) => out.extend(items.iter().map(|i| (k.clone(), scalar(i)))),
                other => out.push((k.clone(), scalar(other))),
            }
        }
        out
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A string parameter (numbers and booleans are rendered).
    pub fn str(&self, key: &str) -> Option<String> {
        self.0.get(key).map(scalar)
    }

    /// `FriendlyName` when given and not empty (an update that leaves the name alone).
    pub fn friendly_name(&self) -> Option<String> {
        self.str("FriendlyName").filter(|s| !s.is_empty())
    }

    /// `FriendlyName`, which a create requires.
    pub fn required_friendly_name(&self) -> Result<String, ApiError> {
        self.friendly_name()
            .ok_or_else(|| ApiError::invalid("FriendlyName is required"))
    }

    /// A boolean parameter (`true`/`false`, any case, or a JSON boolean).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(format!("{key} must be true or false"))),
        }
    }

    /// A non-negative integer parameter.
    pub fn u64(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid(format!("{key} must be a non-negative integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid(format!("{key} must be a non-negative integer"))),
            Some(_) => Err(ApiError::invalid(format!(
                "{key} must be a non-negative integer"
            ))),
        }
    }

    /// An integer parameter.
    pub fn i64(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid(format!("{key} must be an integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid(format!("{key} must be an integer"))),
            Some(_) => Err(ApiError::invalid(format!("{key} must be an integer"))),
        }
    }

    /// A JSON-object parameter: an object (proxy) or a JSON string holding an object (REST), at most `max` bytes.
    pub fn json_object(&self, key: &str, max: usize) -> Result<Option<Value>, ApiError> {
        let v = match self.0.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => {
                if s.len() > max {
                    return Err(ApiError::invalid(format!("{key} exceeds {max} bytes")));
                }
                serde_json::from_str::<Value>(s)
                    .map_err(|_| ApiError::invalid(format!("{key} must be a valid JSON object")))?
            }
            Some(v) => v.clone(),
        };
        if !v.is_object() {
            return Err(ApiError::invalid(format!(
                "{key} must be a valid JSON object"
            )));
        }
        if serde_json::to_string(&v)
            .map(|s| s.len())
            .unwrap_or(usize::MAX)
            > max
        {
            return Err(ApiError::invalid(format!("{key} exceeds {max} bytes")));
        }
        Ok(Some(v))
    }

    /// A JSON value parameter (Sync `Data`): any JSON object, from an object or a JSON string.
    pub fn json_data(&self, key: &str) -> Result<Option<Value>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                .map(Some)
                .map_err(|_| ApiError::new(400, 54006, format!("{key} must be valid JSON"))),
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_json_read_the_same() {
        let f = Params::from_form(
            "Attributes=%7B%22a%22%3A%22%E7%94%B0%E4%B8%AD%22%7D&Reject=true&E=a&E=b".as_bytes(),
        );
        let j = Params::from_json(serde_json::json!({"Attributes": {"a": "田中"}, "Reject": true}));
        assert_eq!(
            f.json_object("Attributes", 100).unwrap(),
            j.json_object("Attributes", 100).unwrap()
        );
        assert_eq!(f.bool("Reject").unwrap(), Some(true));
        assert_eq!(j.bool("Reject").unwrap(), Some(true));
        assert_eq!(f.pairs().iter().filter(|(k, _)| k == "E").count(), 2);
        assert!(f.json_object("Attributes", 5).is_err());
        assert!(Params::from_form(b"Attributes=%5B1%5D")
            .json_object("Attributes", 100)
            .is_err());
        assert!(Params::from_form(b"N=-1").u64("N").is_err());
        assert!(Params::from_form(b"B=yes").bool("B").is_err());
    }
}
