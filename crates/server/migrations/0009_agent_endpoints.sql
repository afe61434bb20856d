-- Agent endpoints (session 14 contract, helpers/s14/contract.md): refresh tokens with rotation and family
-- revocation (§1), wrap-up notes (§4), and the indexes behind the agent-scoped call history (§3).
-- Portable SQL like 0001: TEXT and BIGINT only.

-- One row per refresh token ever issued. A login opens a family; each refresh spends its token and issues the
-- next one in the same family. Presenting a spent token again revokes the whole family (every session and
-- refresh token descended from that login).
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,         -- hex SHA-256 of the refresh token; the token itself is never stored
    family_id TEXT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at BIGINT,                     -- set when rotated
    revoked_at BIGINT                    -- set when the family is revoked (reuse detected, logout)
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);

-- The family a session belongs to (NULL: a session opened without a refresh token).
ALTER TABLE sessions ADD COLUMN family_id TEXT;
CREATE INDEX sessions_by_family ON sessions (family_id);

-- Wrap-up notes (≤ 2,000 characters), on inbound interactions and on outbound attempts.
ALTER TABLE calls ADD COLUMN notes TEXT;
ALTER TABLE outbound_attempts ADD COLUMN notes TEXT;

-- Agent-scoped history: an agent's calls newest first, and the leg events of one task.
CREATE INDEX calls_history_by_agent ON calls (agent_id, created_at);
CREATE INDEX call_events_history_by_task ON call_events (task_sid, kind);
CREATE INDEX outbound_history_by_agent ON outbound_attempts (agent_id, created_at);
