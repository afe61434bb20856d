-- Recording archive jobs (spec §6): one row per RecordingSid, so a retried status callback or a restarted
-- server never archives or deletes twice. pending → (download, store, verify) → stored → (DELETE at Twilio)
-- → done; failures retry with backoff (`next_attempt_at`); `lease_until` keeps two instances off one job.
CREATE TABLE recordings (
    recording_sid TEXT PRIMARY KEY,
    owner TEXT NOT NULL,                 -- WT… of an inbound call, or ob-… of an outbound one
    agent_id TEXT,                       -- the agent who may fetch it (supervisors always may)
    conference_sid TEXT,
    object_key TEXT NOT NULL,            -- recordings/{yyyy}/{mm}/{dd}/{owner}/{RE}.wav, fixed at creation
    state TEXT NOT NULL,                 -- pending | stored | done | failed
    size_bytes BIGINT,
    sha256 TEXT,
    duration_secs BIGINT,
    channels BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX recordings_due ON recordings (state, next_attempt_at);
CREATE INDEX recordings_by_owner ON recordings (owner);
