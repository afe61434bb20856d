-- Agent-scoped history and recording access (s14 contract §3, §6) look calls up by the agent who had a leg:
-- the agent-leg events naming them and the transfers to or from them. Without these, every history page would
-- test every call.
CREATE INDEX call_events_history_by_agent ON call_events (agent_id, kind);
CREATE INDEX transfers_history_by_target ON transfers (target, target_kind);
CREATE INDEX transfers_history_by_from ON transfers (from_agent_id);
