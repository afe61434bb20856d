//! Installs the server's routing into TaskRouter (spec §4.4): the workflow configuration "owner for 10 s, then
//! the same department, then anyone" (the owner is skipped up front when the enqueue pre-check found them
//! unavailable, because `skip_if` is queue-scoped), the assignment callback URL, a reservation timeout longer
//! than the agent ring, and the workspace event callback. Run by `tsunagi-server twilio sync-workflow`, so the
//! callback URLs always match `server.public_base_url`.

use serde_json::{json, Value};

use crate::config::Config;
use crate::twilio_rest::{RestError, TwilioRest};

/// How long the owner alone is offered the task.
pub const OWNER_WINDOW_SECS: u64 = 10;
/// How long the department alone is offered it next.
pub const DEPARTMENT_WINDOW_SECS: u64 = 30;

/// The workflow configuration for `queue_sid` (the queue every agent belongs to).
pub fn configuration(queue_sid: &str) -> Value {
    let department = json!({"queue": queue_sid, "expression": "worker.department_id == task.department_id",
                            "priority": 10, "timeout": DEPARTMENT_WINDOW_SECS});
    let anyone = json!({"queue": queue_sid, "priority": 10});
    json!({"task_routing": {
        "filters": [
            {"filter_friendly_name": "inbound-owner",
             "expression": "type == 'inbound_call' AND route_owner == true",
             "targets": [
                {"queue": queue_sid, "known_worker_sid": "task.owner_worker_sid", "priority": 20, "timeout": OWNER_WINDOW_SECS},
                department.clone(),
                anyone.clone()]},
            {"filter_friendly_name": "inbound-no-owner",
             "expression": "type == 'inbound_call'",
             "targets": [department, anyone]}],
        "default_filter": {"queue": queue_sid}}})
}

/// Writes the workflow and the workspace event callback.
pub async fn sync(config: &Config, rest: &TwilioRest, queue_sid: &str) -> Result<(), RestError> {
    let public = &config.server.public_base_url;
    let configuration = configuration(queue_sid).to_string();
    let assignment = format!("{public}/twilio/taskrouter/assignment");
    // The reservation must outlive the agent leg's ring (spec §4.4: 25 s against 20 s).
    let reservation_timeout = (config.twilio.agent_ring_timeout_secs + 5).to_string();
    let workflow = format!("Workflows/{}", config.twilio.workflow_sid);
    let form = [
        ("Configuration", configuration.as_str()),
        ("AssignmentCallbackUrl", assignment.as_str()),
        ("TaskReservationTimeout", reservation_timeout.as_str()),
    ];
    rest.post_taskrouter(&workflow, &form).await?;
    let events = format!("{public}/twilio/taskrouter/events");
    rest.post_taskrouter("", &[("EventCallbackUrl", events.as_str())])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_spec_workflow() {
        let c = configuration("WQ0");
        let owner = &c["task_routing"]["filters"][0];
        assert_eq!(
            owner["expression"],
            "type == 'inbound_call' AND route_owner == true"
        );
        assert_eq!(
            owner["targets"][0]["known_worker_sid"],
            "task.owner_worker_sid"
        );
        assert_eq!(owner["targets"][0]["timeout"], 10);
        assert_eq!(
            owner["targets"][1]["expression"],
            "worker.department_id == task.department_id"
        );
        assert!(owner["targets"][2].get("expression").is_none());
        let no_owner = &c["task_routing"]["filters"][1];
        assert_eq!(no_owner["targets"].as_array().unwrap().len(), 2);
        assert_eq!(c["task_routing"]["default_filter"]["queue"], "WQ0");
    }
}
