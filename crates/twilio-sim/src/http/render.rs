//! Public REST renderings of TaskRouter resources: the EventBridge shapes with dates as ISO 8601 strings, plus
//! `url`/`links` and the REST-only field names, and Twilio's list envelope.

use serde_json::{json, Map, Value};

use crate::clock::UnixMillis;

/// Converts an EventBridge-shaped resource to its public REST shape.
pub fn rest(mut v: Value, url: String) -> Value {
    if let Value::Object(m) = &mut v {
        for key in [
            "date_created",
            "date_updated",
            "date_status_changed",
            "virtual_start_time",
        ] {
            if let Some(Value::Number(n)) = m.get(key) {
                let secs = n.as_u64().unwrap_or(0);
                m.insert(key.into(), UnixMillis(secs * 1000).iso8601().into());
            }
        }
        alias(m, "queue_sid", "task_queue_sid");
        alias(m, "queue_name", "task_queue_friendly_name");
        alias(m, "workflow_name", "workflow_friendly_name");
        m.insert("url".into(), url.clone().into());
        m.insert("links".into(), json!({}));
    }
    v
}

fn alias(m: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = m.get(from).cloned() {
        m.insert(to.into(), v);
    }
}

/// Twilio's list envelope: `{"meta": {…, "key": key}, key: items}` with page-number paging.
pub fn list(
    base: &str,
    path: &str,
    key: &str,
    items: Vec<Value>,
    page: usize,
    page_size: usize,
) -> Value {
    let page_size = page_size.clamp(1, 1000);
    let total = items.len();
    let start = page.saturating_mul(page_size).min(total);
    let end = start.saturating_add(page_size).min(total);
    let page_items: Vec<Value> = items.into_iter().skip(start).take(end - start).collect();
    let url = |p: usize| format!("{base}{path}?PageSize={page_size}&Page={p}");
    json!({
        "meta": {
            "page": page,
            "page_size": page_size,
            "first_page_url": url(0),
            "previous_page_url": if page > 0 { Value::from(url(page - 1)) } else { Value::Null },
            "url": url(page),
            "next_page_url": if end < total { Value::from(url(page + 1)) } else { Value::Null },
            "key": key,
        },
        key: page_items,
    })
}
