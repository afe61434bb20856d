//! Sync's public REST API for the backend (`/v1/Services/…`, Basic auth, form in, JSON out): Services,
//! Documents (+ Permissions), Maps (+ Items), Streams (+ Messages). Writes share the store, the limits and the
//! fanout with the SDK path, so a REST write reaches subscribed clients exactly as on Twilio.

use serde_json::{json, Value};

use super::{pct, Kind, Object, SyncStore};
use crate::clock::UnixMillis;
use crate::error::ApiError;
use crate::params::Params;

fn object_json(o: &Object, account: &str, base: &str) -> Value {
    let mut v = o.descriptor();
    let url = format!(
        "{base}/v1/Services/{}/{}/{}",
        o.service,
        collection(o.kind),
        o.sid
    );
    v["account_sid"] = account.into();
    v["service_sid"] = o.service.clone().into();
    v["created_by"] = "system".into();
    v["url"] = url.clone().into();
    match o.kind {
        Kind::Document => {
            v["links"] = json!({"document_permissions": format!("{url}/Permissions")})
        }
        Kind::Map => {
            v["links"] = json!({"items": format!("{url}/Items"), "permissions": format!("{url}/Permissions")})
        }
        Kind::Stream => v["links"] = json!({"stream_messages": format!("{url}/Messages")}),
    }
    v
}

fn collection(k: Kind) -> &'static str {
    match k {
        Kind::Document => "Documents",
        Kind::Map => "Maps",
        Kind::Stream => "Streams",
    }
}

fn list(base: &str, path: &str, key: &str, items: Vec<Value>) -> Value {
    json!({"meta": {"page": 0, "page_size": items.len().max(50), "first_page_url": format!("{base}{path}"), "previous_page_url": null,
        "url": format!("{base}{path}"), "next_page_url": null, "key": key}, key: items})
}

/// Routes one REST request under `/v1/Services/{IS}/…` (`segs` after the service SID).
#[allow(clippy::too_many_arguments)]
pub fn route(
    store: &mut SyncStore,
    service: &str,
    method: &str,
    segs: &[&str],
    p: &Params,
    if_match: Option<&str>,
    base: &str,
    now: UnixMillis,
) -> Result<(u16, Value), ApiError> {
    let s = store.service(service)?.clone();
    let account = s.account.to_string();
    let svc_url = format!("{base}/v1/Services/{service}");
    let data = || p.json_data("Data");
    match (method, segs) {
        ("GET", []) => Ok((200, service_json(&s, base))),
        ("POST", []) => {
            let svc = store
                .services
                .get_mut(service)
                .ok_or_else(|| ApiError::not_found(service))?;
            if let Some(u) = p.str("WebhookUrl") {
                svc.webhook_url = Some(u).filter(|u| !u.is_empty());
            }
            if let Some(b) = p.bool("ReachabilityWebhooksEnabled")? {
                svc.reachability = b;
            }
            if let Some(b) = p.bool("AclEnabled")? {
                svc.acl = b;
            }
            if let Some(n) = p.str("FriendlyName") {
                svc.name = n;
            }
            let svc = svc.clone();
            Ok((200, service_json(&svc, base)))
        }
        ("GET", [coll]) => {
            let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(coll))?;
            let items = store
                .objects
                .values()
                .filter(|o| o.service == service && o.kind == kind)
                .map(|o| object_json(o, &account, base))
                .collect();
            let key = match kind {
                Kind::Document => "documents",
                Kind::Map => "maps",
                Kind::Stream => "streams",
            };
            Ok((
                200,
                list(base, &format!("/v1/Services/{service}/{coll}"), key, items),
            ))
        }
        ("POST", [coll]) => {
            let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(coll))?;
            let d = if kind == Kind::Document {
                data()?
            } else {
                None
            };
            let o = store.create(service, kind, p.str("UniqueName"), d, now)?;
            Ok((201, object_json(o, &account, base)))
        }
        ("GET", [coll, id]) => {
            let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(coll))?;
            Ok((
                200,
                object_json(store.find(service, kind, id)?, &account, base),
            ))
        }
        ("POST", ["Documents", id]) => {
            store.update_document(service, id, data()?, if_match, now)?;
            Ok((
                200,
                object_json(store.find(service, Kind::Document, id)?, &account, base),
            ))
        }
        ("DELETE", [coll, id]) => {
            let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(coll))?;
            store.delete(service, kind, id)?;
            Ok((204, Value::Null))
        }
        ("GET", ["Maps", map, "Items"]) => {
            let items = store.items(service, map)?.into_iter().map(|mut i| {
                i["account_sid"] = account.clone().into();
                i["service_sid"] = service.into();
                i
            });
            Ok((
                200,
                list(
                    base,
                    &format!("/v1/Services/{service}/Maps/{map}/Items"),
                    "items",
                    items.collect(),
                ),
            ))
        }
        ("POST", ["Maps", map, "Items"]) => {
            let key = p
                .str("Key")
                .ok_or_else(|| ApiError::new(400, 54209, "Key is required"))?;
            let (_, mut item) = store.put_item(
                service,
                map,
                &key,
                data()?.unwrap_or_else(|| json!({})),
                None,
                true,
                now,
            )?;
            item["account_sid"] = account.into();
            item["service_sid"] = service.into();
            Ok((201, item))
        }
        ("GET", ["Maps", map, "Items", key]) => Ok((200, store.get_item(service, map, key)?)),
        ("POST", ["Maps", map, "Items", key]) => {
            store.get_item(service, map, key)?;
            let (_, item) = store.put_item(
                service,
                map,
                key,
                data()?.unwrap_or_else(|| json!({})),
                if_match,
                false,
                now,
            )?;
            Ok((200, item))
        }
        ("DELETE", ["Maps", map, "Items", key]) => {
            store.remove_item(service, map, key, now)?;
            Ok((204, Value::Null))
        }
        ("POST", ["Streams", stream, "Messages"]) => {
            let d = data()?.ok_or_else(|| ApiError::invalid("Data is required"))?;
            Ok((201, store.publish(service, stream, d, now)?))
        }
        (
            "GET" | "POST" | "DELETE",
            [coll @ ("Documents" | "Maps"), id, "Permissions", rest @ ..],
        ) => permissions(
            store, service, coll, id, method, rest, p, &svc_url, &account,
        ),
        _ => Err(ApiError::not_found(format!(
            "/v1/Services/{service}/{}",
            segs.join("/")
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
fn permissions(
    store: &mut SyncStore,
    service: &str,
    coll: &str,
    id: &str,
    method: &str,
    rest: &[&str],
    p: &Params,
    svc_url: &str,
    account: &str,
) -> Result<(u16, Value), ApiError> {
    let kind = Kind::from_collection(coll).ok_or_else(|| ApiError::not_found(coll))?;
    let sid = store.find(service, kind, id)?.sid.clone();
    let o = store
        .objects
        .get_mut(&sid)
        .ok_or_else(|| ApiError::not_found(id))?;
    let render = |identity: &str, (r, w, m): (bool, bool, bool)| {
        json!({
            "account_sid": account, "service_sid": service, "identity": identity, "read": r, "write": w, "manage": m,
            "url": format!("{svc_url}/{coll}/{sid}/Permissions/{}", pct(identity)),
        })
    };
    match (method, rest) {
        ("GET", []) => {
            let items: Vec<Value> = o.permissions.iter().map(|(i, p)| render(i, *p)).collect();
            Ok((
                200,
                list(
                    "",
                    &format!("{svc_url}/{coll}/{sid}/Permissions"),
                    "permissions",
                    items,
                ),
            ))
        }
        ("GET", [identity]) => o
            .permissions
            .get(*identity)
            .map(|p| (200, render(identity, *p)))
            .ok_or_else(|| ApiError::not_found(identity)),
        ("POST", [identity]) => {
            let need = |k: &str| {
                p.bool(k)?
                    .ok_or_else(|| ApiError::invalid(format!("{k} is required")))
            };
            let perm = (need("Read")?, need("Write")?, need("Manage")?);
            o.permissions.insert((*identity).to_owned(), perm);
            Ok((200, render(identity, perm)))
        }
        ("DELETE", [identity]) => o
            .permissions
            .remove(*identity)
            .map(|_| (204, Value::Null))
            .ok_or_else(|| ApiError::not_found(identity)),
        _ => Err(ApiError::not_found("Permissions")),
    }
}

fn service_json(s: &super::Service, base: &str) -> Value {
    json!({
        "sid": s.sid, "account_sid": s.account.to_string(), "friendly_name": s.name, "webhook_url": s.webhook_url,
        "reachability_webhooks_enabled": s.reachability, "acl_enabled": s.acl, "reachability_debouncing_enabled": false,
        "url": format!("{base}/v1/Services/{}", s.sid), "links": {},
    })
}
