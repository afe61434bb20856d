//! Store tests: limits (rate at the Map level, sizes, subscriptions), replay after `last_event_id`, fanout.

use serde_json::{json, Value};

use super::{Kind, SyncEffect, SyncStore, MAX_SUBSCRIPTIONS};
use crate::clock::UnixMillis;
use crate::config::SyncServiceConfig;

const T0: UnixMillis = UnixMillis(1_800_000_000_000);

fn store() -> (SyncStore, String) {
    let mut s = SyncStore::new(1);
    let svc = s
        .add_service(&SyncServiceConfig {
            account: "AC00000000000000000000000000000001".into(),
            sid: None,
            friendly_name: "x".into(),
            webhook_url: Some("http://127.0.0.1:9/hook".into()),
            reachability_webhooks_enabled: true,
            acl_enabled: false,
        })
        .unwrap();
    (s, svc)
}

fn notified(s: &mut SyncStore, conn: u64) -> Vec<Value> {
    s.drain_effects()
        .into_iter()
        .filter_map(|e| match e {
            SyncEffect::Notify { conn: c, body, .. } if c == conn => Some(body),
            _ => None,
        })
        .collect()
}

#[test]
fn twenty_writes_per_second_counted_at_the_map_level() {
    let (mut s, svc) = store();
    let map = s
        .create(&svc, Kind::Map, Some("roster".into()), None, T0)
        .unwrap()
        .sid
        .clone();
    for i in 0..20 {
        s.put_item(
            &svc,
            &map,
            &format!("agent{i}"),
            json!({"s": "on"}),
            None,
            false,
            T0.plus_ms(i * 10),
        )
        .unwrap();
    }
    let e = s
        .put_item(
            &svc,
            &map,
            "agent99",
            json!({}),
            None,
            false,
            T0.plus_ms(500),
        )
        .unwrap_err();
    assert_eq!(
        (e.status, e.code),
        (429, 54009),
        "different keys, same Map: limited"
    );
    assert!(
        s.get_item(&svc, &map, "agent99").is_err(),
        "a refused write changes nothing"
    );
    s.put_item(
        &svc,
        &map,
        "agent99",
        json!({}),
        None,
        false,
        T0.plus_ms(1001),
    )
    .unwrap();
}

#[test]
fn size_limits() {
    let (mut s, svc) = store();
    let big = json!({"x": "a".repeat(16 * 1024)});
    assert_eq!(
        s.create(
            &svc,
            Kind::Document,
            Some("d".into()),
            Some(big.clone()),
            T0
        )
        .unwrap_err()
        .code,
        54006
    );
    let doc = s
        .create(&svc, Kind::Document, Some("d".into()), None, T0)
        .unwrap()
        .sid
        .clone();
    assert_eq!(
        s.update_document(&svc, &doc, Some(big), None, T0)
            .unwrap_err()
            .status,
        413
    );
    let stream = s
        .create(&svc, Kind::Stream, Some("st".into()), None, T0)
        .unwrap()
        .sid
        .clone();
    assert_eq!(
        s.publish(&svc, &stream, json!({"x": "a".repeat(4096)}), T0)
            .unwrap_err()
            .code,
        54006
    );
    s.publish(&svc, &stream, json!({"x": "a".repeat(4000)}), T0)
        .unwrap();
}

#[test]
fn resubscribe_replays_events_after_last_event_id() {
    let (mut s, svc) = store();
    let doc = s
        .create(&svc, Kind::Document, Some("agent.alice".into()), None, T0)
        .unwrap()
        .sid
        .clone();
    s.subscriptions(7, &svc, "alice", &json!({"action": "establish", "correlation_id": 1, "requests": [{"object_sid": doc, "object_type": "document", "last_event_id": 0}]})).unwrap();
    assert_eq!(
        notified(&mut s, 7)[0]["event_type"],
        "subscription_established"
    );
    s.update_document(&svc, &doc, Some(json!({"n": 1})), None, T0)
        .unwrap();
    assert_eq!(notified(&mut s, 7)[0]["event"]["document_data"]["n"], 1);
    s.conn_closed(7);
    s.update_document(&svc, &doc, Some(json!({"n": 2})), None, T0)
        .unwrap();
    s.update_document(&svc, &doc, Some(json!({"n": 3})), None, T0)
        .unwrap();
    assert!(
        notified(&mut s, 7).is_empty(),
        "no fanout to a closed connection"
    );
    s.subscriptions(8, &svc, "alice", &json!({"action": "establish", "correlation_id": 2, "requests": [{"object_sid": doc, "object_type": "document", "last_event_id": 1}]})).unwrap();
    let got = notified(&mut s, 8);
    let data: Vec<_> = got
        .iter()
        .filter(|b| b["event_type"] == "document_updated")
        .map(|b| b["event"]["document_data"]["n"].clone())
        .collect();
    assert_eq!(data, vec![json!(2), json!(3)]);
    assert!(got.iter().all(|b| b["correlation_id"] == 2));
    assert_eq!(
        got.last().unwrap()["event_type"],
        "subscription_established"
    );
}

#[test]
fn subscription_limit_per_connection() {
    let (mut s, svc) = store();
    let mut sids = Vec::new();
    for i in 0..=MAX_SUBSCRIPTIONS {
        sids.push(
            s.create(&svc, Kind::Stream, Some(format!("s{i}")), None, T0)
                .unwrap()
                .sid
                .clone(),
        );
    }
    for chunk in sids.chunks(1000) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|sid| json!({"object_sid": sid, "object_type": "stream", "last_event_id": null}))
            .collect();
        s.subscriptions(
            1,
            &svc,
            "alice",
            &json!({"action": "establish", "correlation_id": 1, "requests": requests}),
        )
        .unwrap();
    }
    assert_eq!(s.subscription_count(1), MAX_SUBSCRIPTIONS);
    let failed: Vec<_> = notified(&mut s, 1)
        .into_iter()
        .filter(|b| b["event_type"] == "subscription_failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["events"][0]["error"]["code"], 54419);
}

#[test]
fn if_match_and_unique_names() {
    let (mut s, svc) = store();
    let doc = s
        .create(
            &svc,
            Kind::Document,
            Some("d".into()),
            Some(json!({"a": 1})),
            T0,
        )
        .unwrap()
        .sid
        .clone();
    assert_eq!(
        s.create(&svc, Kind::Document, Some("d".into()), None, T0)
            .unwrap_err()
            .status,
        409
    );
    assert_eq!(
        s.update_document(&svc, "d", Some(json!({"a": 2})), Some("7"), T0)
            .unwrap_err()
            .status,
        412
    );
    let r = s
        .update_document(&svc, "d", Some(json!({"a": 2})), Some("0"), T0)
        .unwrap();
    assert_eq!(r["revision"], "1");
    assert_eq!(s.find(&svc, Kind::Document, &doc).unwrap().data["a"], 2);
}

proptest::proptest! {
    #[test]
    fn cds_routing_never_panics(method in "(GET|POST|PUT|DELETE|PATCH)", path in "(/v3|/v4|/v3/Services/IS[0-9a-f]{2})?(/[A-Za-z%0-9._-]{0,12}){0,5}", body in ".{0,120}") {
        let (mut s, svc) = store();
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        let req = super::cds::CdsRequest { conn: 1, service: &svc, identity: "alice", method: &method, path: &path, params: &Value::Null, if_match: None, body: &body };
        let _ = super::cds::route(&mut s, &req, T0);
    }
}

#[test]
fn acl_enforced_when_enabled() {
    let (mut s, svc) = store();
    let doc = s
        .create(
            &svc,
            Kind::Document,
            Some("agent.alice.active".into()),
            None,
            T0,
        )
        .unwrap()
        .sid
        .clone();
    s.check_access(&doc, "bob", true).unwrap();
    s.services.get_mut(&svc).unwrap().acl = true;
    assert_eq!(s.check_access(&doc, "bob", false).unwrap_err().code, 54007);
    s.objects
        .get_mut(&doc)
        .unwrap()
        .permissions
        .insert("bob".into(), (true, false, false));
    s.check_access(&doc, "bob", false).unwrap();
    assert_eq!(s.check_access(&doc, "bob", true).unwrap_err().status, 403);
    s.subscriptions(3, &svc, "mallory", &json!({"action": "establish", "correlation_id": 5, "requests": [{"object_sid": doc, "object_type": "document", "last_event_id": 0}]})).unwrap();
    let got = notified(&mut s, 3);
    assert_eq!(got[0]["event_type"], "subscription_failed");
    assert_eq!(got[0]["events"][0]["error"]["code"], 54007);
    assert_eq!(s.subscription_count(3), 0);
}
