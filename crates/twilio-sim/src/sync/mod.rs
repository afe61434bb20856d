//! The Sync stand-in's object store: services, Documents, Maps (with items) and Streams, per-object event logs
//! for `last_event_id` replay, subscriptions per connection, and Twilio's documented limits.
//!
//! Sans-IO like the TaskRouter engine: every call takes `now`, returns `(status, body)` or an [`ApiError`], and
//! queues [`SyncEffect`]s (notifications to twilsock connections, webhooks) for the shell to send.
//!
//! Limits enforced (twilio.com/docs/sync/limits): 20 writes per second per object, where Map item writes count
//! against their Map (429 / 54009); Document and item data ≤ 16 KiB (413 / 54006); Stream messages ≤ 4 KiB
//! (413 / 54006); ≤ 2,000 subscriptions per connection (54419). Events kept for replay are bounded per object.

pub mod cds;
pub mod rest;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{json, Value};
use tsunagi_twilio::sid::AccountSid;

use crate::clock::UnixMillis;
use crate::config::{ConfigError, SyncServiceConfig};
use crate::error::ApiError;
use crate::ids::SidMint;

/// Writes per object per second.
pub const WRITES_PER_SECOND: usize = 20;
/// Largest Document / item data, in bytes.
pub const MAX_DATA: usize = 16 * 1024;
/// Largest Stream message, in bytes.
pub const MAX_STREAM_MESSAGE: usize = 4 * 1024;
/// Subscriptions per connection.
pub const MAX_SUBSCRIPTIONS: usize = 2_000;
/// Events kept per object for replay.
pub const MAX_EVENTS_PER_OBJECT: usize = 1_000;
/// Items per Map.
pub const MAX_ITEMS: usize = 10_000;
/// Base of the URLs in descriptors (the SDK only uses their paths).
pub const CDS_BASE: &str = "https://cds.us1.twilio.com";

/// Something the shell must send.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEffect {
    /// A `notification` frame to one twilsock connection.
    Notify {
        /// Connection id.
        conn: u64,
        /// `message_type` header.
        message_type: &'static str,
        /// JSON payload.
        body: Value,
    },
    /// A signed form webhook.
    Webhook {
        /// Signing account.
        account: AccountSid,
        /// URL.
        url: String,
        /// Form parameters.
        params: Vec<(String, String)>,
    },
}

/// Object kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Document (`ET…`).
    Document,
    /// Map (`MP…`).
    Map,
    /// Stream (`TO…`).
    Stream,
}

impl Kind {
    /// From a collection path segment.
    pub fn from_collection(s: &str) -> Option<Self> {
        Some(match s {
            "Documents" => Self::Document,
            "Maps" => Self::Map,
            "Streams" => Self::Stream,
            _ => return None,
        })
    }
    fn collection(self) -> &'static str {
        match self {
            Self::Document => "Documents",
            Self::Map => "Maps",
            Self::Stream => "Streams",
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Self::Document => "ET",
            Self::Map => "MP",
            Self::Stream => "TO",
        }
    }
    fn type_name(self) -> &'static str {
        match self {
            Self::Document => "document",
            Self::Map => "map",
            Self::Stream => "stream",
        }
    }
    fn message_type(self) -> &'static str {
        match self {
            Self::Document => "com.twilio.rtd.cds.document",
            Self::Map => "com.twilio.rtd.cds.map",
            Self::Stream => "twilio.sync.event",
        }
    }
}

/// A Sync service.
#[derive(Debug, Clone)]
pub struct Service {
    /// `IS…`.
    pub sid: String,
    /// Owner.
    pub account: AccountSid,
    /// Friendly name.
    pub name: String,
    /// Webhook URL.
    pub webhook_url: Option<String>,
    /// Reachability webhooks on connect/disconnect.
    pub reachability: bool,
    /// ACLs enforced.
    pub acl: bool,
}

/// A map item.
#[derive(Debug, Clone)]
pub struct Item {
    /// Data.
    pub data: Value,
    /// Revision.
    pub revision: u64,
    /// Event id of its last change.
    pub last_event_id: u64,
    /// Created.
    pub created: UnixMillis,
    /// Updated.
    pub updated: UnixMillis,
}

/// A Sync object.
#[derive(Debug, Clone)]
pub struct Object {
    /// SID.
    pub sid: String,
    /// Service.
    pub service: String,
    /// Kind.
    pub kind: Kind,
    /// Unique name.
    pub unique_name: Option<String>,
    /// Revision.
    pub revision: u64,
    /// Last event id (per object).
    pub last_event_id: u64,
    /// Document data.
    pub data: Value,
    /// Map items.
    pub items: BTreeMap<String, Item>,
    /// Created.
    pub created: UnixMillis,
    /// Updated.
    pub updated: UnixMillis,
    /// `(id, event_type, event)` kept for replay.
    pub events: VecDeque<(u64, &'static str, Value)>,
    /// Write instants in the last second (rate limit).
    pub writes: VecDeque<UnixMillis>,
    /// ACL: identity → (read, write, manage).
    pub permissions: BTreeMap<String, (bool, bool, bool)>,
}

impl Object {
    /// The object's URL.
    pub fn url(&self) -> String {
        format!(
            "{CDS_BASE}/v3/Services/{}/{}/{}",
            self.service,
            self.kind.collection(),
            self.sid
        )
    }

    /// The client (CDS) descriptor.
    pub fn descriptor(&self) -> Value {
        let mut d = json!({
            "sid": self.sid, "unique_name": self.unique_name, "url": self.url(),
            "revision": format!("{:x}", self.revision), "last_event_id": self.last_event_id,
            "date_created": self.created.iso8601(), "date_updated": self.updated.iso8601(), "date_expires": null,
        });
        match self.kind {
            Kind::Document => d["data"] = self.data.clone(),
            Kind::Map => d["links"] = json!({"items": format!("{}/Items", self.url())}),
            Kind::Stream => d["links"] = json!({"messages": format!("{}/Messages", self.url())}),
        }
        d
    }

    fn item_json(&self, key: &str, it: &Item, with_data: bool) -> Value {
        let mut v = json!({
            "key": key, "map_sid": self.sid, "url": format!("{}/Items/{}", self.url(), pct(key)),
            "revision": format!("{:x}", it.revision), "last_event_id": it.last_event_id,
            "date_created": it.created.iso8601(), "date_updated": it.updated.iso8601(), "date_expires": null,
        });
        if with_data {
            v["data"] = it.data.clone();
        }
        v
    }
}

/// Percent-encodes a key for a URL path segment.
pub fn pct(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The store.
#[derive(Debug)]
pub struct SyncStore {
    mint: SidMint,
    /// Services by SID.
    pub services: BTreeMap<String, Service>,
    /// Objects by SID.
    pub objects: BTreeMap<String, Object>,
    names: BTreeMap<(String, Kind, String), String>,
    subs: BTreeMap<String, BTreeSet<u64>>,
    conn_subs: BTreeMap<u64, BTreeSet<String>>,
    effects: Vec<SyncEffect>,
}

fn data_len(v: &Value) -> usize {
    serde_json::to_string(v)
        .map(|s| s.len())
        .unwrap_or(usize::MAX)
}

fn too_large(what: &str, max: usize) -> ApiError {
    ApiError::new(
        413,
        54006,
        format!("{what} exceeds the maximum size of {max} bytes"),
    )
}

impl SyncStore {
    /// An empty store.
    pub fn new(seed: u64) -> Self {
        Self {
            mint: SidMint::new(seed.wrapping_add(0x5ec0)),
            services: BTreeMap::new(),
            objects: BTreeMap::new(),
            names: BTreeMap::new(),
            subs: BTreeMap::new(),
            conn_subs: BTreeMap::new(),
            effects: Vec::new(),
        }
    }

    /// Takes the queued effects.
    pub fn drain_effects(&mut self) -> Vec<SyncEffect> {
        std::mem::take(&mut self.effects)
    }

    /// Adds a service from config.
    pub fn add_service(&mut self, c: &SyncServiceConfig) -> Result<String, ConfigError> {
        let account = c
            .account
            .parse()
            .map_err(|_| ConfigError::Invalid("sync service account".into()))?;
        let sid = match &c.sid {
            Some(s)
                if s.len() == 34
                    && s.starts_with("IS")
                    && s[2..].bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                s.clone()
            }
            Some(s) => return Err(ConfigError::Invalid(format!("sync service sid {s:?}"))),
            None => self.mint.next_str("IS"),
        };
        self.services.insert(
            sid.clone(),
            Service {
                sid: sid.clone(),
                account,
                name: c.friendly_name.clone(),
                webhook_url: c.webhook_url.clone(),
                reachability: c.reachability_webhooks_enabled,
                acl: c.acl_enabled,
            },
        );
        Ok(sid)
    }

    /// A service.
    pub fn service(&self, sid: &str) -> Result<&Service, ApiError> {
        self.services.get(sid).ok_or_else(|| {
            ApiError::new(
                404,
                20404,
                format!("The requested resource /Services/{sid} was not found"),
            )
        })
    }

    /// Finds an object by SID or unique name within a service.
    pub fn find(&self, service: &str, kind: Kind, id: &str) -> Result<&Object, ApiError> {
        let sid = if id.starts_with(kind.prefix()) && self.objects.contains_key(id) {
            Some(id.to_owned())
        } else {
            self.names
                .get(&(service.to_owned(), kind, id.to_owned()))
                .cloned()
        };
        sid.and_then(|s| self.objects.get(&s))
            .filter(|o| o.service == service && o.kind == kind)
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    if kind == Kind::Map { 54200 } else { 54100 },
                    format!("The requested {} {id} was not found", kind.type_name()),
                )
            })
    }

    fn sid_of(&self, service: &str, kind: Kind, id: &str) -> Result<String, ApiError> {
        self.find(service, kind, id).map(|o| o.sid.clone())
    }

    /// Creates an object.
    pub fn create(
        &mut self,
        service: &str,
        kind: Kind,
        unique_name: Option<String>,
        data: Option<Value>,
        now: UnixMillis,
    ) -> Result<&Object, ApiError> {
        self.service(service)?;
        if let Some(n) = &unique_name {
            if n.is_empty() || n.len() > 320 || n.starts_with(kind.prefix()) && n.len() == 34 {
                return Err(ApiError::new(400, 54301, "UniqueName is invalid"));
            }
            if self
                .names
                .contains_key(&(service.to_owned(), kind, n.clone()))
            {
                return Err(ApiError::new(
                    409,
                    54301,
                    format!("Unique name {n} already exists"),
                ));
            }
        }
        let data = data.unwrap_or_else(|| json!({}));
        if data_len(&data) > MAX_DATA {
            return Err(too_large("Data", MAX_DATA));
        }
        let sid = self.mint.next_str(kind.prefix());
        if let Some(n) = &unique_name {
            self.names
                .insert((service.to_owned(), kind, n.clone()), sid.clone());
        }
        let obj = Object {
            sid: sid.clone(),
            service: service.to_owned(),
            kind,
            unique_name,
            revision: 0,
            last_event_id: 0,
            data,
            items: BTreeMap::new(),
            created: now,
            updated: now,
            events: VecDeque::new(),
            writes: VecDeque::new(),
            permissions: BTreeMap::new(),
        };
        Ok(self.objects.entry(sid).or_insert(obj))
    }

    fn check_rate(o: &mut Object, now: UnixMillis) -> Result<(), ApiError> {
        while o.writes.front().is_some_and(|t| t.0 + 1000 <= now.0) {
            o.writes.pop_front();
        }
        if o.writes.len() >= WRITES_PER_SECOND {
            return Err(ApiError::new(
                429,
                54009,
                format!(
                    "Rate limit exceeded: more than {WRITES_PER_SECOND} writes per second on {}",
                    o.sid
                ),
            ));
        }
        o.writes.push_back(now);
        Ok(())
    }

    fn record(&mut self, sid: &str, event_type: &'static str, event: Value) {
        let Some(o) = self.objects.get_mut(sid) else {
            return;
        };
        let (kind, id) = (o.kind, event.get("id").and_then(Value::as_u64));
        if let Some(id) = id {
            if o.events.len() >= MAX_EVENTS_PER_OBJECT {
                o.events.pop_front();
            }
            o.events.push_back((id, event_type, event.clone()));
        }
        for conn in self.subs.get(sid).into_iter().flatten() {
            self.effects.push(SyncEffect::Notify {
                conn: *conn,
                message_type: kind.message_type(),
                body: json!({"event_type": event_type, "event_protocol_version": 4, "event": event}),
            });
        }
    }

    /// Updates a Document's data (with optional `If-Match` revision).
    pub fn update_document(
        &mut self,
        service: &str,
        id: &str,
        data: Option<Value>,
        if_match: Option<&str>,
        now: UnixMillis,
    ) -> Result<Value, ApiError> {
        let sid = self.sid_of(service, Kind::Document, id)?;
        if data.as_ref().is_some_and(|d| data_len(d) > MAX_DATA) {
            return Err(too_large("Data", MAX_DATA));
        }
        let o = self
            .objects
            .get_mut(&sid)
            .ok_or_else(|| ApiError::not_found(id))?;
        if let Some(m) = if_match {
            if m != format!("{:x}", o.revision) {
                return Err(ApiError::new(
                    412,
                    54103,
                    "The revision of the Document does not match the expected revision",
                ));
            }
        }
        Self::check_rate(o, now)?;
        if let Some(d) = data {
            o.data = d;
            o.revision += 1;
        }
        o.last_event_id += 1;
        o.updated = now;
        let event = json!({
            "id": o.last_event_id, "document_sid": o.sid, "document_unique_name": o.unique_name,
            "document_revision": format!("{:x}", o.revision), "document_data": o.data, "date_created": now.iso8601(), "date_expires": null,
        });
        let reply = json!({"revision": format!("{:x}", o.revision), "last_event_id": o.last_event_id, "date_updated": now.iso8601(), "date_expires": null});
        self.record(&sid, "document_updated", event);
        Ok(reply)
    }

    /// Deletes an object.
    pub fn delete(&mut self, service: &str, kind: Kind, id: &str) -> Result<(), ApiError> {
        let sid = self.sid_of(service, kind, id)?;
        let event_type = match kind {
            Kind::Document => "document_removed",
            Kind::Map => "map_removed",
            Kind::Stream => "stream_removed",
        };
        let field = format!("{}_sid", kind.type_name());
        self.record(&sid, event_type, json!({ field: sid.clone() }));
        if let Some(o) = self.objects.remove(&sid) {
            if let Some(n) = o.unique_name {
                self.names.remove(&(o.service, kind, n));
            }
        }
        if let Some(conns) = self.subs.remove(&sid) {
            for c in conns {
                if let Some(s) = self.conn_subs.get_mut(&c) {
                    s.remove(&sid);
                }
            }
        }
        Ok(())
    }

    /// Creates or updates a Map item; `create_only` refuses an existing key. Returns `(created, item JSON)`.
    #[allow(clippy::too_many_arguments)] // mirrors the wire request one to one
    pub fn put_item(
        &mut self,
        service: &str,
        map: &str,
        key: &str,
        data: Value,
        if_match: Option<&str>,
        create_only: bool,
        now: UnixMillis,
    ) -> Result<(bool, Value), ApiError> {
        let sid = self.sid_of(service, Kind::Map, map)?;
        if key.is_empty() || key.len() > 320 {
            return Err(ApiError::new(400, 54209, "Key is invalid"));
        }
        if data_len(&data) > MAX_DATA {
            return Err(too_large("Data", MAX_DATA));
        }
        let o = self
            .objects
            .get_mut(&sid)
            .ok_or_else(|| ApiError::not_found(map))?;
        let existed = o.items.contains_key(key);
        if (create_only || if_match == Some("-1")) && existed {
            return Err(ApiError::new(
                409,
                54208,
                format!("Item with key {key} already exists"),
            ));
        }
        if let (Some(m), Some(it)) = (if_match.filter(|m| *m != "-1"), o.items.get(key)) {
            if m != format!("{:x}", it.revision) {
                return Err(ApiError::new(
                    412,
                    54212,
                    "The revision of the Map Item does not match the expected revision",
                ));
            }
        }
        if !existed && o.items.len() >= MAX_ITEMS {
            return Err(ApiError::new(400, 54207, "Map item limit reached"));
        }
        Self::check_rate(o, now)?;
        o.last_event_id += 1;
        o.revision += 1;
        o.updated = now;
        let id = o.last_event_id;
        let it = o.items.entry(key.to_owned()).or_insert(Item {
            data: Value::Null,
            revision: 0,
            last_event_id: 0,
            created: now,
            updated: now,
        });
        if existed {
            it.revision += 1;
        }
        it.data = data;
        it.last_event_id = id;
        it.updated = now;
        let it = it.clone();
        let reply = o.item_json(key, &it, true);
        let event = json!({
            "id": id, "map_sid": o.sid, "map_revision": format!("{:x}", o.revision), "item_key": key,
            "item_url": reply["url"], "item_revision": format!("{:x}", it.revision), "item_data": it.data,
            "date_created": now.iso8601(), "date_expires": null,
        });
        self.record(
            &sid,
            if existed {
                "map_item_updated"
            } else {
                "map_item_added"
            },
            event,
        );
        Ok((!existed, reply))
    }

    /// A Map item.
    pub fn get_item(&self, service: &str, map: &str, key: &str) -> Result<Value, ApiError> {
        let o = self.find(service, Kind::Map, map)?;
        let it = o
            .items
            .get(key)
            .ok_or_else(|| ApiError::new(404, 54201, format!("Map item {key} not found")))?;
        Ok(o.item_json(key, it, true))
    }

    /// All items of a Map, ordered by key.
    pub fn items(&self, service: &str, map: &str) -> Result<Vec<Value>, ApiError> {
        let o = self.find(service, Kind::Map, map)?;
        Ok(o.items
            .iter()
            .map(|(k, it)| o.item_json(k, it, true))
            .collect())
    }

    /// Removes a Map item.
    pub fn remove_item(
        &mut self,
        service: &str,
        map: &str,
        key: &str,
        now: UnixMillis,
    ) -> Result<Value, ApiError> {
        let sid = self.sid_of(service, Kind::Map, map)?;
        let o = self
            .objects
            .get_mut(&sid)
            .ok_or_else(|| ApiError::not_found(map))?;
        if !o.items.contains_key(key) {
            return Err(ApiError::new(
                404,
                54201,
                format!("Map item {key} not found"),
            ));
        }
        Self::check_rate(o, now)?;
        let it = o.items.remove(key).unwrap_or(Item {
            data: Value::Null,
            revision: 0,
            last_event_id: 0,
            created: now,
            updated: now,
        });
        o.last_event_id += 1;
        o.revision += 1;
        let event = json!({
            "id": o.last_event_id, "map_sid": o.sid, "map_revision": format!("{:x}", o.revision), "item_key": key,
            "item_revision": format!("{:x}", it.revision), "item_data": it.data, "date_created": now.iso8601(),
        });
        let reply = json!({"last_event_id": o.last_event_id, "date_updated": now.iso8601()});
        self.record(&sid, "map_item_removed", event);
        Ok(reply)
    }

    /// Publishes a Stream message.
    pub fn publish(
        &mut self,
        service: &str,
        stream: &str,
        data: Value,
        now: UnixMillis,
    ) -> Result<Value, ApiError> {
        let sid = self.sid_of(service, Kind::Stream, stream)?;
        if data_len(&data) > MAX_STREAM_MESSAGE {
            return Err(too_large("Stream message", MAX_STREAM_MESSAGE));
        }
        let o = self
            .objects
            .get_mut(&sid)
            .ok_or_else(|| ApiError::not_found(stream))?;
        Self::check_rate(o, now)?;
        let msid = self.mint.next_str("TZ");
        // Streams keep no event log: messages sent while a client is away are never replayed (as on Twilio).
        for conn in self.subs.get(&sid).into_iter().flatten() {
            self.effects.push(SyncEffect::Notify {
                conn: *conn,
                message_type: Kind::Stream.message_type(),
                body: json!({"event_type": "stream_message_published", "event_protocol_version": 4,
                    "event": {"stream_sid": sid, "message_sid": msid, "message_data": data}}),
            });
        }
        Ok(json!({"sid": msid, "data": data}))
    }

    /// `POST /v4/Subscriptions` from connection `conn` of `service`: returns the 202 body and queues the replay and
    /// the outcome notification.
    pub fn subscriptions(
        &mut self,
        conn: u64,
        service: &str,
        identity: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let action = body
            .get("action")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid("action is required"))?;
        let requests = body
            .get("requests")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid("requests must be an array"))?;
        if requests.len() > 1000 {
            return Err(ApiError::invalid("at most 1000 requests per batch"));
        }
        let correlation = body.get("correlation_id").cloned().unwrap_or(Value::Null);
        let (mut ok, mut failed) = (Vec::new(), Vec::new());
        for r in requests {
            let object_sid = r.get("object_sid").and_then(Value::as_str).unwrap_or("");
            let object_type = r.get("object_type").and_then(Value::as_str).unwrap_or("");
            let obj = self
                .objects
                .get(object_sid)
                .filter(|o| o.service == service);
            if obj.is_none() {
                failed.push(json!({"object_sid": object_sid, "object_type": object_type, "error": {"status": 404, "code": 54100, "message": "The requested object was not found"}}));
                continue;
            }
            if action == "establish" && self.check_access(object_sid, identity, false).is_err() {
                failed.push(json!({"object_sid": object_sid, "object_type": object_type, "error": {"status": 403, "code": 54007, "message": format!("Access forbidden for identity {identity}")}}));
                continue;
            }
            let Some(o) = self.objects.get(object_sid) else {
                continue;
            };
            let last_event_id = o.last_event_id;
            match action {
                "establish" => {
                    let have = self.conn_subs.get(&conn).map_or(0, BTreeSet::len);
                    let already = self
                        .conn_subs
                        .get(&conn)
                        .is_some_and(|s| s.contains(object_sid));
                    if !already && have >= MAX_SUBSCRIPTIONS {
                        failed.push(json!({"object_sid": object_sid, "object_type": object_type, "error": {"status": 429, "code": 54419, "message": format!("Too many subscriptions: at most {MAX_SUBSCRIPTIONS} per connection")}}));
                        continue;
                    }
                    let since = r.get("last_event_id").and_then(Value::as_u64);
                    if let Some(since) = since {
                        for (id, et, ev) in o.events.iter().filter(|(id, _, _)| *id > since) {
                            let _ = id;
                            self.effects.push(SyncEffect::Notify {
                                conn,
                                message_type: "twilio.sync.event",
                                body: json!({"event_type": et, "correlation_id": correlation, "event_protocol_version": 4, "event": ev}),
                            });
                        }
                    }
                    self.subs
                        .entry(object_sid.to_owned())
                        .or_default()
                        .insert(conn);
                    self.conn_subs
                        .entry(conn)
                        .or_default()
                        .insert(object_sid.to_owned());
                    ok.push(json!({"object_sid": object_sid, "object_type": object_type, "replay_status": "completed", "last_event_id": last_event_id}));
                }
                "cancel" => {
                    if let Some(s) = self.subs.get_mut(object_sid) {
                        s.remove(&conn);
                    }
                    if let Some(s) = self.conn_subs.get_mut(&conn) {
                        s.remove(object_sid);
                    }
                    ok.push(json!({"object_sid": object_sid, "object_type": object_type}));
                }
                _ => return Err(ApiError::invalid("action must be establish or cancel")),
            }
        }
        let outcome = if action == "establish" {
            "subscription_established"
        } else {
            "subscription_canceled"
        };
        if !ok.is_empty() {
            self.effects.push(SyncEffect::Notify { conn, message_type: "twilio.sync.event", body: json!({"event_type": outcome, "correlation_id": correlation, "event_protocol_version": 4, "events": ok}) });
        }
        if !failed.is_empty() {
            self.effects.push(SyncEffect::Notify { conn, message_type: "twilio.sync.event", body: json!({"event_type": "subscription_failed", "correlation_id": correlation, "event_protocol_version": 4, "events": failed}) });
        }
        Ok(json!({"estimated_delivery_in_ms": 5000, "max_batch_size": 100, "ttl_in_s": 86400}))
    }

    /// With `AclEnabled` on the object's service, `identity` needs the object's read (or write) permission;
    /// Streams have no permissions and stay open to every token of the service.
    pub fn check_access(&self, sid: &str, identity: &str, write: bool) -> Result<(), ApiError> {
        let Some(o) = self.objects.get(sid) else {
            return Ok(());
        };
        let acl = self.services.get(&o.service).is_some_and(|s| s.acl);
        if !acl || o.kind == Kind::Stream {
            return Ok(());
        }
        let allowed = o
            .permissions
            .get(identity)
            .is_some_and(|&(r, w, _)| if write { w } else { r });
        if allowed {
            Ok(())
        } else {
            Err(ApiError::new(
                403,
                54007,
                format!("Access forbidden for identity {identity}"),
            ))
        }
    }

    /// Number of subscriptions a connection holds.
    pub fn subscription_count(&self, conn: u64) -> usize {
        self.conn_subs.get(&conn).map_or(0, BTreeSet::len)
    }

    /// A connection closed: drop its subscriptions.
    pub fn conn_closed(&mut self, conn: u64) {
        for sid in self.conn_subs.remove(&conn).unwrap_or_default() {
            if let Some(s) = self.subs.get_mut(&sid) {
                s.remove(&conn);
            }
        }
    }

    /// Queues a reachability webhook (`endpoint_connected` / `endpoint_disconnected`).
    pub fn reachability(
        &mut self,
        service: &str,
        identity: &str,
        endpoint: &str,
        connected: bool,
        now: UnixMillis,
    ) {
        let Some(s) = self.services.get(service) else {
            return;
        };
        let (Some(url), true) = (s.webhook_url.clone(), s.reachability) else {
            return;
        };
        let params = vec![
            ("AccountSid".to_owned(), s.account.to_string()),
            ("ServiceSid".to_owned(), s.sid.clone()),
            (
                "EventType".to_owned(),
                if connected {
                    "endpoint_connected"
                } else {
                    "endpoint_disconnected"
                }
                .to_owned(),
            ),
            ("Identity".to_owned(), identity.to_owned()),
            ("EndpointId".to_owned(), endpoint.to_owned()),
            ("Timestamp".to_owned(), now.iso8601()),
        ];
        self.effects.push(SyncEffect::Webhook {
            account: s.account,
            url,
            params,
        });
    }
}

#[cfg(test)]
mod tests;
