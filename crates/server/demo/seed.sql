-- Demo data for demo/server.toml + demo/sim.toml: departments, agents (login / password = name / demo-name,
-- e.g. tanaka / demo-tanaka), and customers including Japanese names. Idempotent: safe to run on every start.
-- Load with: tsunagi-server --config crates/server/demo/server.toml seed crates/server/demo/seed.sql

INSERT INTO departments (id, name) VALUES ('sales', '営業部') ON CONFLICT (id) DO NOTHING;
INSERT INTO departments (id, name) VALUES ('support', 'サポート部') ON CONFLICT (id) DO NOTHING;

INSERT INTO agents (id, login, display_name, password_hash, worker_sid, department_id, role, channel, created_at)
VALUES ('agent_1024', 'tanaka', '田中 太郎', '$argon2id$v=19$m=19456,t=2,p=1$QYRHrGsmamHv01tpowIBqA$O+FSZJMc3yrHLnURjJaUl6zwhxLPeOUcY1RvMpxPd3s',
        'WK00000000000000000000000000000001', 'sales', 'agent', 'stable', 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO agents (id, login, display_name, password_hash, worker_sid, department_id, role, channel, created_at)
VALUES ('agent_2048', 'sato', '佐藤 花子', '$argon2id$v=19$m=19456,t=2,p=1$TiGr+1ktNjZqJC/egDp7pQ$VClP8mEOmaFZrtsHH84n9CZzJghIs/jlW2XG6UIipvw',
        'WK00000000000000000000000000000002', 'sales', 'agent', 'beta', 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO agents (id, login, display_name, password_hash, worker_sid, department_id, role, channel, created_at)
VALUES ('agent_3072', 'suzuki', '鈴木 一郎', '$argon2id$v=19$m=19456,t=2,p=1$Fgy9XyuJXFZ4AX7/MRXQpw$9dlIt9xzZSXtuv5VzSPlI8Hlz0/I6jKyNH+EGuMocVU',
        'WK00000000000000000000000000000003', 'support', 'agent', 'stable', 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO agents (id, login, display_name, password_hash, worker_sid, department_id, role, channel, created_at)
VALUES ('agent_9001', 'yamamoto', '山本 美咲', '$argon2id$v=19$m=19456,t=2,p=1$pmhflZz4eUi1E1dkCFMH2g$esnUxwrwO8tgAEdrxik3kWOTPnhUYWJEH74RtHotHCA',
        'WK00000000000000000000000000000004', 'support', 'supervisor', 'stable', 0)
ON CONFLICT (id) DO NOTHING;

INSERT INTO customers (id, phone, name, owner_agent_id, department_id)
VALUES ('C-000123', '+81312345678', '山田 花子', 'agent_1024', 'sales') ON CONFLICT (id) DO NOTHING;
INSERT INTO customers (id, phone, name, owner_agent_id, department_id)
VALUES ('C-000124', '+81612345678', '株式会社つなぎ 高橋 様', 'agent_3072', 'support') ON CONFLICT (id) DO NOTHING;
INSERT INTO customers (id, phone, name, owner_agent_id, department_id)
VALUES ('C-000125', '+14155550100', 'John Smith', NULL, 'support') ON CONFLICT (id) DO NOTHING;
