//! The TaskRouter `conference` instruction (backend-spec §4.5, §9): the conference named after the task, the
//! worker's client leg (`to`, default the worker's `contact_uri`; `client:id?TaskSid=…&ReservationSid=…` becomes
//! custom parameters) with the instruction's `status_callback`, and the caller bridged in once the agent answers
//! (participant labels `worker` and `customer`).

use serde_json::{json, Value};
use tsunagi_twilio::sid::{AccountSid, CallSid, ReservationSid, TaskSid, WorkspaceSid};

use super::legs::{ring_client, split_uri, ClientLeg, LegCallback};
use super::{find_or_create, st, Callback, Participant};
use crate::calls::{Calls, QueuedTask};
use crate::error::ApiError;
use crate::params::Params;

/// A `conference` instruction accepted on a reservation.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// Workspace.
    pub workspace: WorkspaceSid,
    /// Task (the conference's FriendlyName).
    pub task: TaskSid,
    /// Reservation.
    pub reservation: ReservationSid,
    /// Workspace account.
    pub account: AccountSid,
    /// Instruction keys in PascalCase (`To`, `From`, `StatusCallback`, …).
    pub params: Params,
    /// Task attributes (`call_sid` names the caller).
    pub task_attributes: Value,
    /// Worker attribute `contact_uri`.
    pub contact_uri: Option<String>,
}

/// Executes a `conference` instruction (see the module docs).
pub fn start_instruction(calls: &Calls, i: Instruction) {
    if let Err(e) = try_instruction(calls, &i) {
        calls.log(
            "conference.instruction_failed",
            json!({ "reservation": i.reservation, "code": e.code, "message": e.message }),
        );
        // Nothing to ring or bridge (a task without a stand-in call, REST-only tests): accept at once, as the
        // engine does without a call engine.
        let mut p = Params::default();
        p.0.insert("ReservationStatus".into(), "accepted".into());
        let accepted = calls.shared().with_tr(|tr, now| {
            tr.update_reservation(&i.workspace, i.reservation.as_str(), None, &p, None, now)
        });
        if let Err(e) = accepted {
            calls.log(
                "conference.instruction_accept_failed",
                json!({ "reservation": i.reservation, "code": e.code }),
            );
        }
    }
}

fn try_instruction(calls: &Calls, i: &Instruction) -> Result<(), ApiError> {
    let p = &i.params;
    let caller = i
        .task_attributes
        .get("call_sid")
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<CallSid>().ok())
        .filter(|c| calls.view(c).is_some())
        .ok_or_else(|| {
            ApiError::new(
                400,
                40140,
                "task attributes have no call_sid of a stand-in call",
            )
        })?;
    let customer = calls
        .view(&caller)
        .ok_or_else(|| ApiError::not_found(caller))?;
    let to = p
        .str("To")
        .filter(|t| !t.is_empty())
        .or_else(|| i.contact_uri.clone())
        .ok_or_else(|| ApiError::new(400, 40142, "no To and the worker has no contact_uri"))?;
    let (uri, params) = split_uri(&to);
    if !uri.starts_with("client:") {
        return Err(ApiError::new(
            400,
            40142,
            "the stand-in rings client: contact URIs only",
        ));
    }
    let callback = LegCallback::from_params(p, "");
    let conf_callback = Callback::from_params(p);
    let cf = find_or_create(
        calls,
        i.account,
        i.task.as_str(),
        p.str("Region"),
        conf_callback,
    )?;
    if super::wants_record(p.str("ConferenceRecord").as_deref()) {
        super::set_record(
            calls,
            &cf,
            LegCallback::from_params(p, "ConferenceRecording"),
        );
    }
    {
        let mut s = st(calls);
        if let Some(c) = s.confs.get_mut(&cf) {
            c.task = Some((
                QueuedTask {
                    workspace: i.workspace,
                    task: i.task,
                },
                i.reservation,
            ));
            c.view.task_sid = Some(i.task);
        }
    }
    let timeout_s = p.u64("Timeout").ok().flatten().unwrap_or(60).clamp(1, 600);
    let worker = Participant {
        call_sid: caller, // replaced by the leg's SID below
        kind: "client",
        label: Some("worker".into()),
        muted: p.bool("Muted").ok().flatten().unwrap_or(false),
        hold: false,
        end_conference_on_exit: p
            .bool("EndConferenceOnExit")
            .ok()
            .flatten()
            .unwrap_or(false),
        start_conference_on_enter: p
            .bool("StartConferenceOnEnter")
            .ok()
            .flatten()
            .unwrap_or(true),
        coaching: false,
        call_sid_to_coach: None,
        status: "connected",
    };
    let customer_p = Participant {
        call_sid: caller,
        kind: "pstn",
        label: Some("customer".into()),
        muted: false,
        hold: false,
        end_conference_on_exit: p
            .bool("EndConferenceOnCustomerExit")
            .ok()
            .flatten()
            .unwrap_or(false),
        start_conference_on_enter: true,
        coaching: false,
        call_sid_to_coach: None,
        status: "connected",
    };
    let from = p
        .str("From")
        .filter(|f| !f.is_empty())
        .unwrap_or(customer.from);
    let leg = ClientLeg {
        account: i.account,
        conference: cf,
        to: uri,
        params,
        from,
        timeout_ms: timeout_s * 1_000,
        participant: worker,
        callback,
        bridge: Some((caller, customer_p)),
        reservation: Some((i.workspace, i.reservation)),
    };
    ring_client(calls, leg).map(|_| ())
}
