//! Sync's client API (CDS) as the SDK reaches it: HTTP requests tunnelled in twilsock `message` frames. Routing
//! uses only method and path (the SDK's `host` is a label); the connection's token decides the service.

use serde_json::{json, Value};

use super::{Kind, SyncStore};
use crate::clock::UnixMillis;
use crate::error::ApiError;

/// A tunnelled request.
#[derive(Debug, Clone)]
pub struct CdsRequest<'a> {
    /// Connection id (for subscriptions).
    pub conn: u64,
    /// The token's service.
    pub service: &'a str,
    /// The token's identity (ACL checks when the service has `AclEnabled`).
    pub identity: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Path, without query.
    pub path: &'a str,
    /// Query parameters.
    pub params: &'a Value,
    /// `If-Match`, if sent.
    pub if_match: Option<&'a str>,
    /// JSON body (`Null` when none).
    pub body: &'a Value,
}

/// Percent-decodes a path segment; `None` on malformed escapes or non-UTF-8.
pub fn decode_segment(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn param<'a>(params: &'a Value, key: &str) -> Option<&'a str> {
    match params.get(key) {
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        _ => None,
    }
}

/// Routes one tunnelled request; returns `(http status, body)`.
pub fn route(
    store: &mut SyncStore,
    r: &CdsRequest<'_>,
    now: UnixMillis,
) -> Result<(u16, Value), ApiError> {
    let segs: Vec<String> = r
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| decode_segment(s).ok_or_else(|| ApiError::invalid("malformed path")))
        .collect::<Result<_, _>>()?;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let service = r.service;
    let data = r.body.get("data").cloned();
    match (r.method, segs.as_slice()) {
        ("GET", ["v3", "Configuration"]) => Ok((
            200,
            json!({"links": {
            "subscriptions": "https://cds.us1.twilio.com/v4/Subscriptions",
            "documents": "https://cds.us1.twilio.com/v3/Documents", "maps": "https://cds.us1.twilio.com/v3/Maps",
            "streams": "https://cds.us1.twilio.com/v3/Streams"}}),
        )),
        ("POST", ["v4", "Subscriptions"]) => store
            .subscriptions(r.conn, service, r.identity, r.body)
            .map(|b| (202, b)),
        ("POST", ["v3", coll]) => {
            let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(r.path))?;
            let name = r
                .body
                .get("unique_name")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let o = store.create(service, kind, name, data, now)?;
            Ok((201, o.descriptor()))
        }
        ("GET", ["v3", coll, id]) => {
            let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(r.path))?;
            let o = store.find(service, kind, id)?;
            store.check_access(&o.sid, r.identity, false)?;
            Ok((200, o.descriptor()))
        }
        (_, ["v3", "Services", svc, rest @ ..]) => {
            if *svc != service {
                return Err(ApiError::new(
                    403,
                    54007,
                    "The token does not grant access to this service",
                ));
            }
            if let [coll, id, ..] = rest {
                if let Some(kind) = Kind::from_collection(coll) {
                    let sid = store.find(service, kind, id)?.sid.clone();
                    store.check_access(&sid, r.identity, r.method != "GET")?;
                }
            }
            object_route(store, r, rest, data, now)
        }
        _ => Err(ApiError::not_found(r.path)),
    }
}

fn object_route(
    store: &mut SyncStore,
    r: &CdsRequest<'_>,
    rest: &[&str],
    data: Option<Value>,
    now: UnixMillis,
) -> Result<(u16, Value), ApiError> {
    let service = r.service;
    match (r.method, rest) {
        ("GET", [coll, id]) => {
            let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(r.path))?;
            Ok((200, store.find(service, kind, id)?.descriptor()))
        }
        ("DELETE", [coll, id]) => {
            let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(r.path))?;
            store.delete(service, kind, id)?;
            Ok((204, Value::Null))
        }
        ("POST", ["Documents", id]) => store
            .update_document(service, id, data, r.if_match, now)
            .map(|b| (200, b)),
        ("POST", ["Maps" | "Streams", _]) => {
            let kind = Kind::from_collection(rest[0]).ok_or_else(|| ApiError::not_found(r.path))?;
            Ok((200, store.find(service, kind, rest[1])?.descriptor()))
        }
        ("GET", ["Maps", map, "Items"]) => {
            let mut items = store.items(service, map)?;
            if let Some(k) = param(r.params, "Key") {
                items.retain(|i| i["key"] == k);
            } else if let Some(from) = param(r.params, "From") {
                items.retain(|i| i["key"].as_str().is_some_and(|k| k >= from));
            }
            if param(r.params, "Order") == Some("desc") {
                items.reverse();
            }
            let size = param(r.params, "PageSize")
                .and_then(|s| s.parse().ok())
                .unwrap_or(100usize)
                .clamp(1, 1000);
            items.truncate(size);
            Ok((
                200,
                json!({"items": items, "meta": {"previous_token": null, "next_token": null}}),
            ))
        }
        ("POST", ["Maps", map, "Items"]) => {
            let key = r
                .body
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::new(400, 54209, "key is required"))?;
            let (_, item) = store.put_item(
                service,
                map,
                key,
                data.unwrap_or_else(|| json!({})),
                None,
                true,
                now,
            )?;
            Ok((201, item))
        }
        ("PUT" | "POST", ["Maps", map, "Items", key]) => {
            if r.method == "POST" {
                store.get_item(service, map, key)?;
            }
            let (created, item) = store.put_item(
                service,
                map,
                key,
                data.unwrap_or_else(|| json!({})),
                r.if_match,
                false,
                now,
            )?;
            Ok((if created { 201 } else { 200 }, item))
        }
        ("GET", ["Maps", map, "Items", key]) => Ok((200, store.get_item(service, map, key)?)),
        ("DELETE", ["Maps", map, "Items", key]) => {
            Ok((200, store.remove_item(service, map, key, now)?))
        }
        ("POST", ["Streams", stream, "Messages"]) => Ok((
            201,
            store.publish(service, stream, data.unwrap_or_else(|| json!({})), now)?,
        )),
        _ => Err(ApiError::not_found(r.path)),
    }
}
