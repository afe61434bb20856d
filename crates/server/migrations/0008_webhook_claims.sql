-- Webhook receipts become claims with a lease (http/twilio.rs `exactly_once`, db/receipts.rs).
-- A delivery inserts a claim (claimed_at in Unix milliseconds, claimed_by = the instance's random id, done = 0),
-- runs the work, then sets done = 1; a failed or dropped delivery deletes its claim. A retry that finds done = 1
-- is a duplicate; one that finds a live claim gets 503 + Retry-After; a dead or expired claim is taken over by a
-- conditional UPDATE on (claimed_by, claimed_at), so exactly one instance wins.
-- Rows written before this migration were receipts of handled deliveries: they default to done = 1.
ALTER TABLE webhook_receipts ADD COLUMN claimed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_receipts ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_receipts ADD COLUMN done BIGINT NOT NULL DEFAULT 1;
