-- 一呼百应: mobilisations, their slots, sign-ups with a waiting list, and their timeline.

create table mobilisations (
    id uuid primary key,
    community_id uuid not null references communities(id),
    title text not null,
    kind text not null check (kind in ('emergency','event','routine')),
    description text,
    address text,
    lat double precision,
    lng double precision,
    radius_m bigint not null,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    signup_deadline timestamptz,
    attendance_mode text not null check (attendance_mode in ('none','check_in','check_in_out')),
    audience jsonb not null,
    status text not null check (status in ('draft','published','closed','completed','cancelled')),
    created_by uuid not null references users(id),
    version bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create index mobilisations_community on mobilisations (community_id, id);

-- `confirmed` and `next_queue_no` are the slot's counters: a sign-up takes the slot row first
-- (its update locks it), so that places are never counted and then taken by two at once.
create table mobilisation_slots (
    id uuid primary key,
    mobilisation_id uuid not null references mobilisations(id),
    ord bigint not null,
    title text not null,
    skill text,
    capacity bigint not null check (capacity > 0),
    confirmed bigint not null,
    next_queue_no bigint not null,
    unique (mobilisation_id, ord)
);

create table mobilisation_signups (
    id uuid primary key,
    mobilisation_id uuid not null references mobilisations(id),
    slot_id uuid not null references mobilisation_slots(id),
    community_id uuid not null references communities(id),
    volunteer_id uuid not null references volunteers(id),
    status text not null check (status in ('confirmed','waiting','withdrawn','removed')),
    queue_no bigint,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    signed_by uuid not null references users(id),
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create unique index mobilisation_signups_one_live on mobilisation_signups (mobilisation_id, volunteer_id)
    where status in ('confirmed','waiting');
create index mobilisation_signups_slot on mobilisation_signups (slot_id, status, queue_no);
create index mobilisation_signups_volunteer on mobilisation_signups (volunteer_id, status, starts_at);

create table mobilisation_events (
    id uuid primary key,
    mobilisation_id uuid not null references mobilisations(id),
    community_id uuid not null references communities(id),
    kind text not null,
    actor_id uuid,
    data jsonb not null,
    at timestamptz not null
);
create index mobilisation_events_of on mobilisation_events (mobilisation_id, at);
