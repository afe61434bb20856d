-- Desktop installs seen by the update endpoint (spec §8.3): rollout progress and version drift per channel.
CREATE TABLE installs (
    install_id TEXT PRIMARY KEY,
    identity TEXT,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    last_version TEXT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX installs_by_channel ON installs (channel, last_seen);
