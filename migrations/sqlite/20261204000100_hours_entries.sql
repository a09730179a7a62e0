-- Hours that staff approve (issue 13): attendance at a mobilisation, or caring for / teaching an
-- activity's session, gives a pending entry; only an approved entry reaches `service_hours`
-- (with the entry's source, and `ledger_id` pointing at the ledger row it wrote).
--
-- `source_type` is 'mobilisation' or 'activity'; `source_id` the mobilisation or the activity;
-- `part_id` what inside it the hours are for (an attendance pair, an activity session), so that
-- the same work never gives two entries.
create table hours_entries (
    id blob primary key,
    community_id blob not null references communities(id),
    volunteer_id blob not null references volunteers(id),
    source_type text not null check (source_type in ('mobilisation','activity')),
    source_id blob not null,
    part_id blob not null,
    content text not null,
    starts_at text not null,
    ends_at text not null,
    minutes bigint not null check (minutes >= 0),
    status text not null check (status in ('pending','approved','declined')),
    recorded_by blob references users(id),
    decided_by blob references users(id),
    decided_at text,
    reason text,
    ledger_id blob,
    created_at text not null,
    unique (source_type, part_id, volunteer_id)
);
create index hours_entries_pending on hours_entries (community_id, status, id);
create index hours_entries_volunteer on hours_entries (volunteer_id, id);
create index hours_entries_source on hours_entries (source_id, id);
