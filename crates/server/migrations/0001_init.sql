-- Tsunagi companion server schema. Portable SQL: the same file runs on SQLite and PostgreSQL
-- (only TEXT and BIGINT columns, no autoincrement, no database-specific functions).
-- Times are Unix seconds in BIGINT. Flags are BIGINT 0/1.

CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,                 -- opaque ASCII identity, also the Twilio client identity (agent_1024)
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,                  -- Argon2id PHC string; NULL for accounts that only use SSO
    worker_sid TEXT UNIQUE,
    department_id TEXT REFERENCES departments(id),
    role TEXT NOT NULL DEFAULT 'agent',  -- agent | supervisor | admin
    channel TEXT NOT NULL DEFAULT 'stable',
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,         -- hex SHA-256 of the bearer token; the token itself is never stored
    agent_id TEXT NOT NULL REFERENCES agents(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    phone TEXT NOT NULL UNIQUE,          -- E.164
    name TEXT NOT NULL,
    owner_agent_id TEXT REFERENCES agents(id),
    department_id TEXT REFERENCES departments(id)
);

-- Idempotency ledger for Twilio webhooks (Twilio retries): one row per distinct delivery key.
CREATE TABLE webhook_receipts (
    dedup_key TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);

-- One row per inbound interaction, keyed by TaskSid (spec §4.1, §7).
CREATE TABLE calls (
    task_sid TEXT PRIMARY KEY,
    customer_call_sid TEXT,
    customer_id TEXT,
    reservation_sid TEXT,
    worker_sid TEXT,
    agent_id TEXT,
    agent_call_sid TEXT,
    conference_sid TEXT,
    status TEXT NOT NULL,                -- queued | reserved | connected | ended | completed
    hangup_requested BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX calls_by_customer_call ON calls (customer_call_sid);

-- Append-only log of call-leg webhooks for analytics (spec §7).
CREATE TABLE call_events (
    dedup_key TEXT PRIMARY KEY,
    task_sid TEXT,
    call_sid TEXT,
    conference_sid TEXT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX call_events_by_time ON call_events (at);

-- Desktop releases and update channels (spec §8.3).
CREATE TABLE releases (
    version TEXT PRIMARY KEY,
    notes TEXT NOT NULL DEFAULT '',
    pub_date TEXT NOT NULL,              -- RFC 3339
    created_at BIGINT NOT NULL
);

CREATE TABLE release_artifacts (
    version TEXT NOT NULL REFERENCES releases(version),
    platform TEXT NOT NULL,              -- windows-x86_64, darwin-aarch64, linux-x86_64 ...
    url TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (version, platform)
);

CREATE TABLE channels (
    name TEXT PRIMARY KEY,               -- stable | beta
    target_version TEXT,
    rollout_bp BIGINT NOT NULL DEFAULT 0,  -- 0..=10000 basis points
    fallback_version TEXT,
    rollback_from TEXT NOT NULL DEFAULT '',  -- comma-separated versions being rolled back
    rollback_to TEXT,
    paused BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE client_policy (
    id BIGINT PRIMARY KEY,               -- always 1
    min_supported TEXT NOT NULL,
    blocked_versions TEXT NOT NULL DEFAULT ''  -- comma-separated
);
INSERT INTO client_policy (id, min_supported, blocked_versions) VALUES (1, '0.0.0', '');
INSERT INTO channels (name) VALUES ('stable');
INSERT INTO channels (name) VALUES ('beta');
