-- 一小: activities (classes, childcare 托管, events) for residents, their sessions, the guardians
-- of child residents with the people allowed to pick them up, enrolments with a waiting list,
-- and the sign-in/sign-out of each child at each session.

-- `confirmed` and `next_queue_no` are the activity's counters: an enrolment takes the row first
-- (its update locks it), so that places are never counted and then taken by two at once.
-- `carers` is `{"volunteer_ids": [...], "user_ids": [...]}`, read whole, never queried inside.
create table activities (
    id uuid primary key,
    community_id uuid not null references communities(id),
    kind text not null check (kind in ('class','childcare','event')),
    title text not null,
    description text,
    place text,
    capacity bigint not null check (capacity > 0),
    min_age bigint,
    max_age bigint,
    carers jsonb not null,
    status text not null check (status in ('draft','published','completed','cancelled')),
    confirmed bigint not null,
    next_queue_no bigint not null,
    created_by uuid not null references users(id),
    version bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create index activities_community on activities (community_id, id);

create table activity_sessions (
    id uuid primary key,
    activity_id uuid not null references activities(id),
    community_id uuid not null references communities(id),
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    status text not null check (status in ('scheduled','held')),
    held_at timestamptz,
    held_by uuid references users(id)
);
create index activity_sessions_of on activity_sessions (activity_id, starts_at);

-- A guardian is a resident with an account; the child is a resident too.
create table guardians (
    id uuid primary key,
    community_id uuid not null references communities(id),
    child_id uuid not null references residents(id),
    guardian_resident_id uuid not null references residents(id),
    guardian_user_id uuid not null references users(id),
    relation text,
    created_by uuid not null references users(id),
    created_at timestamptz not null,
    unique (child_id, guardian_resident_id)
);
create index guardians_user on guardians (guardian_user_id, child_id);

-- The phone is kept encrypted, with a keyed hash to match it at sign-out and a masked copy to show.
create table pickup_people (
    id uuid primary key,
    community_id uuid not null references communities(id),
    child_id uuid not null references residents(id),
    name text not null,
    phone_cipher bytea not null,
    phone_hash text not null,
    phone_masked text not null,
    created_by uuid not null references users(id),
    created_at timestamptz not null,
    unique (child_id, phone_hash)
);

create table activity_enrolments (
    id uuid primary key,
    activity_id uuid not null references activities(id),
    community_id uuid not null references communities(id),
    child_id uuid not null references residents(id),
    status text not null check (status in ('confirmed','waiting','withdrawn','removed')),
    queue_no bigint,
    enrolled_by uuid not null references users(id),
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create unique index activity_enrolments_one_live on activity_enrolments (activity_id, child_id)
    where status in ('confirmed','waiting');
create index activity_enrolments_queue on activity_enrolments (activity_id, status, queue_no);
create index activity_enrolments_child on activity_enrolments (child_id, id);

-- One row per child signed in at a session. `session_ends_at` is copied from the session so that
-- the overdue pick-up sweep reads only the rows due, through the partial index below.
create table activity_attendance (
    id uuid primary key,
    session_id uuid not null references activity_sessions(id),
    activity_id uuid not null references activities(id),
    community_id uuid not null references communities(id),
    enrolment_id uuid not null references activity_enrolments(id),
    child_id uuid not null references residents(id),
    session_ends_at timestamptz not null,
    signed_in_at timestamptz not null,
    signed_in_by uuid not null references users(id),
    signed_out_at timestamptz,
    signed_out_by uuid references users(id),
    picked_up_by_name text,
    picked_up_by_phone_masked text,
    picked_up_as text check (picked_up_as in ('guardian','pickup_person')),
    alerted_at timestamptz,
    unique (session_id, enrolment_id)
);
create index activity_attendance_overdue on activity_attendance (session_ends_at)
    where signed_out_at is null and alerted_at is null;
