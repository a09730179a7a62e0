-- Delivery: the relay leases outbox rows (delivered_at null) and, in one transaction per event,
-- writes what each channel needs (inbox notifications, and the channels' own queues) and marks
-- the row delivered. A pending row is found by its marker, not by a cursor, so a row committed
-- after one with a larger id is never skipped.
alter table outbox add column locked_until timestamptz;

-- The inbox: one row per person told about an event. The live stream sends these rows, so a
-- reconnecting client resumes from its last id.
create table notifications (
    id uuid primary key,
    user_id uuid not null references users(id),
    community_id uuid references communities(id),
    event_id uuid not null,
    kind text not null,
    object_type text not null,
    object_id uuid not null,
    params jsonb not null,
    created_at timestamptz not null,
    read_at timestamptz,
    unique (user_id, event_id)
);
create index notifications_user on notifications (user_id, id);
create index notifications_unread on notifications (user_id, read_at, id);
