-- Foundation: accounts, roles, the community registry, audit and idempotency.
-- Ids and timestamps are always generated and bound by the application.

create table communities (
    id blob primary key,
    code text not null unique,
    name text not null,
    time_zone text not null,
    policy text not null,
    active boolean not null,
    version bigint not null,
    created_at text not null,
    updated_at text not null
);

create table users (
    id blob primary key,
    username text unique,
    phone text unique,
    display_name text not null,
    password_hash text not null,
    active boolean not null,
    version bigint not null,
    created_at text not null,
    updated_at text not null,
    check (username is not null or phone is not null)
);

create table role_grants (
    id blob primary key,
    user_id blob not null references users(id),
    role text not null check (role in ('resident','volunteer','grid_worker','doctor','dispatcher','community_admin','admin','integration')),
    community_id blob references communities(id),
    granted_by blob references users(id),
    created_at text not null,
    check ((role = 'admin') = (community_id is null)),
    unique (user_id, role, community_id)
);
create index role_grants_community on role_grants (community_id, role);

create table refresh_tokens (
    id blob primary key,
    user_id blob not null references users(id),
    family_id blob not null,
    token_hash text not null unique,
    expires_at text not null,
    used_at text,
    revoked_at text,
    created_at text not null
);
create index refresh_tokens_family on refresh_tokens (family_id);

create table login_throttle (
    key text primary key,
    failures bigint not null,
    window_started_at text not null,
    locked_until text
);

create table grids (
    id blob primary key,
    community_id blob not null references communities(id),
    name text not null,
    description text,
    centre_lat real,
    centre_lng real,
    active boolean not null,
    version bigint not null,
    created_at text not null,
    updated_at text not null,
    unique (community_id, name)
);

create table grid_workers (
    grid_id blob not null references grids(id),
    user_id blob not null references users(id),
    primary key (grid_id, user_id)
);
create index grid_workers_user on grid_workers (user_id);

create table residents (
    id blob primary key,
    community_id blob not null references communities(id),
    grid_id blob references grids(id),
    user_id blob references users(id),
    name text not null,
    gender text check (gender in ('male','female')),
    birth_date text,
    phone text,
    id_card_cipher blob,
    id_card_hash text,
    id_card_masked text,
    building text,
    unit text,
    room text,
    address text,
    lat real,
    lng real,
    care_categories text not null,
    emergency_contacts text not null,
    care_level text,
    consent text not null,
    notes text,
    active boolean not null,
    version bigint not null,
    created_at text not null,
    updated_at text not null,
    unique (community_id, id_card_hash)
);
create index residents_community on residents (community_id, id);
create index residents_grid on residents (grid_id, id);
create index residents_user on residents (user_id);

create table resident_care_categories (
    resident_id blob not null references residents(id),
    category text not null,
    primary key (resident_id, category)
);
create index resident_care_categories_category on resident_care_categories (category, resident_id);

create table volunteers (
    id blob primary key,
    community_id blob not null references communities(id),
    user_id blob not null references users(id),
    name text not null,
    phone text,
    home_grid_id blob references grids(id),
    lat real,
    lng real,
    max_concurrent bigint not null,
    skills text not null,
    availability text not null,
    party_member boolean not null,
    status text not null check (status in ('active','paused','retired')),
    version bigint not null,
    created_at text not null,
    updated_at text not null,
    unique (community_id, user_id)
);
create index volunteers_community on volunteers (community_id, status, id);

create table volunteer_skills (
    volunteer_id blob not null references volunteers(id),
    skill text not null,
    primary key (volunteer_id, skill)
);
create index volunteer_skills_skill on volunteer_skills (skill, volunteer_id);

create table volunteer_availability (
    volunteer_id blob not null references volunteers(id),
    weekday bigint not null check (weekday between 1 and 7),
    start_minute bigint not null,
    end_minute bigint not null,
    primary key (volunteer_id, weekday, start_minute)
);
create index volunteer_availability_slot on volunteer_availability (weekday, start_minute, end_minute);

create table teams (
    id blob primary key,
    community_id blob not null references communities(id),
    name text not null,
    description text,
    active boolean not null,
    version bigint not null,
    created_at text not null,
    updated_at text not null,
    unique (community_id, name)
);

create table team_members (
    team_id blob not null references teams(id),
    volunteer_id blob not null references volunteers(id),
    primary key (team_id, volunteer_id)
);
create index team_members_volunteer on team_members (volunteer_id);

create table service_types (
    id blob primary key,
    community_id blob not null references communities(id),
    code text not null,
    name text not null,
    description text,
    required_skills text not null,
    default_urgency text not null check (default_urgency in ('emergency','urgent','normal')),
    respond_minutes bigint not null,
    resolve_hours bigint not null,
    active boolean not null,
    version bigint not null,
    created_at text not null,
    updated_at text not null,
    unique (community_id, code)
);

create table audit_log (
    id blob primary key,
    community_id blob references communities(id),
    actor_id blob references users(id),
    action text not null,
    object_type text not null,
    object_id blob,
    reason text,
    request_id text,
    at text not null
);
create index audit_log_community on audit_log (community_id, id);
create index audit_log_object on audit_log (object_id);

create table idempotency_keys (
    scope text not null,
    key text not null,
    request_hash text not null,
    status_code bigint,
    content_type text,
    etag text,
    response_body blob,
    created_at text not null,
    primary key (scope, key)
);
