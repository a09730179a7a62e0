-- 一呼百应: mobilisations, their slots, sign-ups with a waiting list, and their timeline.

create table mobilisations (
    id blob primary key,
    community_id blob not null references communities(id),
    title text not null,
    kind text not null check (kind in ('emergency','event','routine')),
    description text,
    address text,
    lat real,
    lng real,
    radius_m bigint not null,
    starts_at text not null,
    ends_at text not null,
    signup_deadline text,
    attendance_mode text not null check (attendance_mode in ('none','check_in','check_in_out')),
    audience text not null,
    status text not null check (status in ('draft','published','closed','completed','cancelled')),
    created_by blob not null references users(id),
    version bigint not null,
    created_at text not null,
    updated_at text not null
);
create index mobilisations_community on mobilisations (community_id, id);

-- `confirmed` and `next_queue_no` are the slot's counters: a sign-up takes the slot row first
-- (its update locks it), so that places are never counted and then taken by two at once.
create table mobilisation_slots (
    id blob primary key,
    mobilisation_id blob not null references mobilisations(id),
    ord bigint not null,
    title text not null,
    skill text,
    capacity bigint not null check (capacity > 0),
    confirmed bigint not null,
    next_queue_no bigint not null,
    unique (mobilisation_id, ord)
);

create table mobilisation_signups (
    id blob primary key,
    mobilisation_id blob not null references mobilisations(id),
    slot_id blob not null references mobilisation_slots(id),
    community_id blob not null references communities(id),
    volunteer_id blob not null references volunteers(id),
    status text not null check (status in ('confirmed','waiting','withdrawn','removed')),
    queue_no bigint,
    starts_at text not null,
    ends_at text not null,
    signed_by blob not null references users(id),
    created_at text not null,
    updated_at text not null
);
create unique index mobilisation_signups_one_live on mobilisation_signups (mobilisation_id, volunteer_id)
    where status in ('confirmed','waiting');
create index mobilisation_signups_slot on mobilisation_signups (slot_id, status, queue_no);
create index mobilisation_signups_volunteer on mobilisation_signups (volunteer_id, status, starts_at);

create table mobilisation_events (
    id blob primary key,
    mobilisation_id blob not null references mobilisations(id),
    community_id blob not null references communities(id),
    kind text not null,
    actor_id blob,
    data text not null,
    at text not null
);
create index mobilisation_events_of on mobilisation_events (mobilisation_id, at);
