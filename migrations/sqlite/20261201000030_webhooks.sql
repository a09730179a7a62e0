-- Webhooks: a community's third-party endpoints, the deliveries the relay queues for them (one
-- per endpoint and outbox event), and every attempt to deliver one.

-- `secret` is the signing secret encrypted with the data key (HMAC needs the secret itself, so
-- it cannot be hashed). `event_kinds` is the list of topics and wildcards, matched in Rust.
-- `disabled_reason` says why the server turned it off (`gone`: 410; `failing`: a delivery
-- exhausted its retries); a client setting `active` clears it.
create table webhooks (
    id blob primary key,
    community_id blob not null references communities(id),
    url text not null,
    event_kinds text not null,
    description text,
    active boolean not null,
    secret blob not null,
    disabled_reason text check (disabled_reason in ('gone', 'failing')),
    disabled_at text,
    version bigint not null,
    created_at text not null,
    updated_at text not null
);
create index webhooks_community on webhooks (community_id, active, id);

-- One message to one endpoint. Its id is the `webhook-id` header, the same on every attempt;
-- `body` is signed as stored, so retries are byte for byte the same. Due means
-- `next_attempt_at <= now`; a delivery not due (done, dead, or parked while its endpoint is
-- disabled) has none, so the due index holds only what is waiting.
create table webhook_deliveries (
    id blob primary key,
    webhook_id blob not null references webhooks(id) on delete cascade,
    community_id blob not null references communities(id),
    event_id blob not null,
    topic text not null,
    body text not null,
    status text not null check (status in ('pending', 'succeeded', 'dead')),
    attempt_count bigint not null,
    step bigint not null,
    next_attempt_at text,
    locked_until text,
    lease_id blob,
    last_attempt_at text,
    last_status_code bigint,
    last_error text,
    created_at text not null,
    updated_at text not null,
    unique (webhook_id, event_id)
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where next_attempt_at is not null;
create index webhook_deliveries_of on webhook_deliveries (webhook_id, id);
create index webhook_deliveries_finished on webhook_deliveries (updated_at) where status <> 'pending';

create table webhook_attempts (
    id blob primary key,
    delivery_id blob not null references webhook_deliveries(id) on delete cascade,
    webhook_id blob not null,
    attempted_at text not null,
    status_code bigint,
    latency_ms bigint not null,
    error text
);
create index webhook_attempts_delivery on webhook_attempts (delivery_id, id);

-- A replay reads a community's events from a time on.
create index outbox_community_time on outbox (community_id, created_at, id);
