//! Call context pushed by the companion server (backend spec §4.6): the conference, the legs and the customer of
//! a task, which the Voice SDK never learns. It arrives over three paths, all read here without I/O into one
//! [`CallContext`]: the server's `/v1/events` push (`{"type":"call.context",…}`), the agent's Sync inbox Document
//! (the same JSON as its data), and `GET /v1/agents/me/active-call` after a reconnect.
//!
//! Malformed or foreign data reads as `None`, never as a panic; a malformed optional SID is left out.

use serde_json::Value;
use tsunagi_twilio::{CallSid, ConferenceSid, ReservationSid, TaskSid};

use crate::api::Crm;

/// What the server knows about one task's call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// The task (the join key with the reconciler's offers).
    pub task: TaskSid,
    /// Its reservation.
    pub reservation: Option<ReservationSid>,
    /// The conference, once it exists.
    pub conference: Option<ConferenceSid>,
    /// The agent's leg (the Voice SDK's CallSid).
    pub agent_call: Option<CallSid>,
    /// The customer's leg.
    pub customer_call: Option<CallSid>,
    /// The customer, if the CRM knows them.
    pub crm: Option<Crm>,
    /// The server's push sequence number, when it came from a push.
    pub seq: Option<u64>,
}

fn sid<T>(
    v: &Value,
    key: &str,
    parse: impl Fn(&str) -> Result<T, tsunagi_twilio::SidError>,
) -> Option<T> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| parse(s).ok())
}

/// `{"id", "name", "owner": {"agent_id", "display_name"} | null, "department": {"id", "name"} | null}`
/// (contract §8); `None` if it says nothing.
fn read_customer(c: &Value) -> Option<Crm> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let owner = c.get("owner").filter(|o| o.is_object());
    let department = c.get("department").filter(|d| d.is_object());
    Crm {
        customer_id: text(c, "id"),
        customer_name: text(c, "name"),
        owner_id: owner.and_then(|o| text(o, "agent_id")),
        owner_name: owner.and_then(|o| text(o, "display_name")),
        department_id: department.and_then(|d| text(d, "id")),
        department_name: department.and_then(|d| text(d, "name")),
    }
    .non_empty()
}

impl CallContext {
    /// Reads a `call.context` push, an inbox Document's data or an active-call reading. The `type` field, when
    /// present, must be `call.context`; `task_sid` must be a valid TaskSid.
    pub fn from_json(v: &Value) -> Option<Self> {
        if let Some(t) = v.get("type") {
            if t.as_str() != Some("call.context") {
                return None;
            }
        }
        let task = sid(v, "task_sid", TaskSid::parse)?;
        let crm = v
            .get("customer")
            .filter(|c| c.is_object())
            .and_then(read_customer);
        Some(Self {
            task,
            reservation: sid(v, "reservation_sid", ReservationSid::parse),
            conference: sid(v, "conference_sid", ConferenceSid::parse),
            agent_call: sid(v, "agent_call_sid", CallSid::parse),
            customer_call: sid(v, "customer_call_sid", CallSid::parse),
            crm,
            seq: v.get("seq").and_then(Value::as_u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_server_push_and_refuses_foreign_data() {
        let v = json!({"type":"call.context","task_sid":"WT00000000000000000000000000000001",
            "reservation_sid":"WR00000000000000000000000000000001","conference_sid":"CF00000000000000000000000000000001",
            "customer_call_sid":"CA00000000000000000000000000000002","agent_call_sid":"bogus",
            "customer":{"id":"C-000123","name":"山田 花子"},"seq":7});
        let c = CallContext::from_json(&v).unwrap();
        assert_eq!(c.task, TaskSid::from_u128(1));
        assert_eq!(c.conference, Some(ConferenceSid::from_u128(1)));
        assert_eq!(c.agent_call, None, "a malformed optional SID is left out");
        assert_eq!(c.crm.unwrap().customer_name.as_deref(), Some("山田 花子"));
        assert_eq!(c.seq, Some(7));
        let with_owner = json!({"type":"call.context","task_sid":"WT00000000000000000000000000000001",
            "customer":{"id":"C-1","name":"山田 花子","owner":{"agent_id":"agent_7","display_name":"田中 太郎"},
            "department":{"id":"sales-1","name":"営業一課"}}});
        let crm = CallContext::from_json(&with_owner).unwrap().crm.unwrap();
        assert_eq!(crm.owner_id.as_deref(), Some("agent_7"));
        assert_eq!(crm.owner_name.as_deref(), Some("田中 太郎"));
        assert_eq!(crm.department_id.as_deref(), Some("sales-1"));
        assert_eq!(crm.department_name.as_deref(), Some("営業一課"));
        let no_owner = json!({"task_sid":"WT00000000000000000000000000000001",
            "customer":{"id":"C-1","owner":null,"department":"bogus"}});
        let crm = CallContext::from_json(&no_owner).unwrap().crm.unwrap();
        assert_eq!((crm.owner_name, crm.department_name), (None, None));
        for bad in [
            json!({"type":"roster","task_sid":"WT00000000000000000000000000000001"}),
            json!({"task_sid":"WT-nope"}),
            json!(null),
            json!([1, 2]),
        ] {
            assert!(CallContext::from_json(&bad).is_none(), "{bad}");
        }
    }
}
