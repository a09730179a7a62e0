-- Delivery: the relay leases outbox rows (delivered_at null) and, in one transaction per event,
-- writes what each channel needs (inbox notifications, and the channels' own queues) and marks
-- the row delivered. A pending row is found by its marker, not by a cursor, so a row committed
-- after one with a larger id is never skipped.
alter table outbox add column locked_until text;

-- The inbox: one row per person told about an event. The live stream sends these rows, so a
-- reconnecting client resumes from its last id.
create table notifications (
    id blob primary key,
    user_id blob not null references users(id),
    community_id blob references communities(id),
    event_id blob not null,
    kind text not null,
    object_type text not null,
    object_id blob not null,
    params text not null,
    created_at text not null,
    read_at text,
    unique (user_id, event_id)
);
create index notifications_user on notifications (user_id, id);
create index notifications_unread on notifications (user_id, read_at, id);
