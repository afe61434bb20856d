-- Outbound calls as conferences (spec §5.7, Voice SDK connect variant): one row per dial attempt, keyed by the
-- client's TsunagiAttempt (idempotency key), with a conference name `ob-<uuid>` that is never reused. A closed
-- attempt (failed, ended) never joins its name again, so a redial can never meet a stale conference.
CREATE TABLE outbound_attempts (
    attempt TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    conf_name TEXT NOT NULL UNIQUE,
    to_number TEXT NOT NULL,
    agent_call_sid TEXT,
    conference_sid TEXT,
    customer_call_sid TEXT,
    status TEXT NOT NULL,                -- init | dialing | connected | failed | ended
    reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbound_by_agent ON outbound_attempts (agent_id, status);
CREATE INDEX outbound_by_status ON outbound_attempts (status, created_at);
