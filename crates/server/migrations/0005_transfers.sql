-- Conference-based transfers (spec §5.4): one row per attempt to hand a task's customer to another agent or a
-- number. The target leg is tied back to its row by the participant label `transfer-<id>` and the `id` in its
-- status-callback URL; a closed row (completed, failed, canceled) ignores late callbacks.
CREATE TABLE transfers (
    id TEXT PRIMARY KEY,                 -- uuid (simple form)
    task_sid TEXT NOT NULL,
    conference_sid TEXT NOT NULL,
    from_agent_id TEXT NOT NULL,
    from_call_sid TEXT NOT NULL,         -- the leg that leaves when the transfer completes
    mode TEXT NOT NULL,                  -- cold | warm
    target_kind TEXT NOT NULL,           -- agent | number
    target TEXT NOT NULL,                -- agent id or E.164 number
    call_sid TEXT,                       -- the target's leg, once created
    status TEXT NOT NULL,                -- dialing | joined | completed | failed | canceled
    reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX transfers_by_task ON transfers (task_sid, status);
-- At most one open transfer per task (a double press gets 409, never a second leg).
CREATE UNIQUE INDEX transfers_one_open ON transfers (task_sid) WHERE status IN ('dialing', 'joined');
