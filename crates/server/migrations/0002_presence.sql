-- Latest TaskRouter activity per worker, from workspace `worker.activity.update` events (spec: roster
-- aggregated by the server and pushed to supervisors at a bounded rate, instead of one shared Sync Map).
CREATE TABLE presence (
    worker_sid TEXT PRIMARY KEY,
    activity TEXT NOT NULL,
    since_ms BIGINT NOT NULL
);
