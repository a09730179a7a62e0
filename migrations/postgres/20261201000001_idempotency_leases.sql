-- A key is held by one attempt for a lease; the attempt's write marks the key committed in the
-- write's own transaction. A retry after a crash or an outage then either takes over a key whose
-- attempt never committed (and runs once), or learns that the write happened. Keys older than
-- the retention are pruned by the sweeper.
alter table idempotency_keys add column attempt uuid;
alter table idempotency_keys add column locked_until timestamptz;
alter table idempotency_keys add column committed_at timestamptz;
alter table idempotency_keys add column subject_type text;
alter table idempotency_keys add column subject_id uuid;
create index idempotency_keys_created on idempotency_keys (created_at);
