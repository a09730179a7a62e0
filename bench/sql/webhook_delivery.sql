-- One webhook delivery's life in SQL, as the relay and the worker write it
-- (src/store/delivery/outbox.rs, webhook_deliveries.rs): the hand-over queues it, the worker
-- leases it, then records the attempt and its outcome in one transaction. The relay really
-- writes a hundred events a transaction; here each delivery has its own, the dearer case.
select gen_random_uuid() as did, gen_random_uuid() as lease \gset
begin;
insert into webhook_deliveries (id, webhook_id, community_id, event_id, topic, body, status, attempt_count, step, next_attempt_at, locked_until, lease_id, last_attempt_at, last_status_code, last_error, created_at, updated_at) values (:did, :webhook, :community, gen_random_uuid(), 'help_request.placed', '{"type":"help_request.placed","timestamp":"2026-11-30T00:00:00Z","data":{}}', 'pending', 0, 0, now(), null, null, null, null, null, now(), now()) on conflict (webhook_id, event_id) do nothing;
commit;
update webhook_deliveries set locked_until = now() + interval '50 seconds', lease_id = :lease where id in (select id from webhook_deliveries where id = :did and next_attempt_at <= now() and (locked_until is null or locked_until <= now()) and not (webhook_id = any('{}'::uuid[])) order by next_attempt_at limit 64 for update skip locked) returning id, webhook_id, community_id, topic, body, step;
select url, secret, active from webhooks where id = :webhook;
begin;
update webhook_deliveries set status = 'succeeded', attempt_count = attempt_count + 1, step = 0, next_attempt_at = case when exists (select 1 from webhooks w where w.id = webhook_deliveries.webhook_id and w.active) then null::timestamptz else null end, locked_until = null, lease_id = null, last_attempt_at = now(), last_status_code = 204, last_error = null, updated_at = now() where id = :did and lease_id = :lease;
insert into webhook_attempts (id, delivery_id, webhook_id, attempted_at, status_code, latency_ms, error) values (gen_random_uuid(), :did, :webhook, now(), 204, 1, null);
commit;
