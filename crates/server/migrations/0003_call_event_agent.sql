-- The agent a call-leg event concerns (agent-leg callbacks carry `To=client:<identity>`), for
-- "missed per agent" in the call reports.
ALTER TABLE call_events ADD COLUMN agent_id TEXT;
