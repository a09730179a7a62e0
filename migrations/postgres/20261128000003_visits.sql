-- 未呼先应: risk grades and their history, assessments, visit plans with their care teams,
-- visits with due windows, the needs found on them, and major changes in residents' lives.

-- Where the resident's current grade (care_level) came from: rules, assessment, manual, finding.
alter table residents add column grade_source text;

create table assessments (
    id uuid primary key,
    community_id uuid not null references communities(id),
    resident_id uuid not null references residents(id),
    health bigint not null check (health between 0 and 3),
    social_support bigint not null check (social_support between 0 and 3),
    home_safety bigint not null check (home_safety between 0 and 3),
    notes text,
    assessed_by uuid references users(id),
    at timestamptz not null
);
create index assessments_resident on assessments (resident_id, id);

create table visit_plans (
    id uuid primary key,
    community_id uuid not null references communities(id),
    resident_id uuid not null references residents(id),
    -- Set only when the plan overrides the frequency of the resident's grade.
    frequency_days bigint check (frequency_days between 1 and 366),
    contact_kinds text not null,
    starts_on date not null,
    ends_on date,
    notes text,
    active boolean not null,
    -- A re-plan starts a new epoch: windows counted afresh from its anchor day.
    epoch bigint not null,
    anchor_on date not null,
    next_seq bigint not null,
    -- When the next window to generate starts; null while the plan has no frequency.
    next_start timestamptz,
    created_by uuid references users(id),
    version bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create unique index visit_plans_one_active on visit_plans (resident_id) where active;
create index visit_plans_next on visit_plans (next_start) where active;
create index visit_plans_community on visit_plans (community_id, id);

create table care_team_members (
    plan_id uuid not null references visit_plans(id),
    user_id uuid not null references users(id),
    role text not null check (role in ('grid_worker','doctor','party_volunteer','volunteer')),
    primary key (plan_id, user_id)
);
create index care_team_members_user on care_team_members (user_id, plan_id);

create table visits (
    id uuid primary key,
    community_id uuid not null references communities(id),
    resident_id uuid not null references residents(id),
    grid_id uuid references grids(id),
    -- Null for a visit outside any plan: the grid's workers are its team.
    plan_id uuid references visit_plans(id),
    epoch bigint,
    seq bigint,
    reason text not null check (reason in ('plan','follow_up','major_change')),
    contact_kind text not null check (contact_kind in ('home_visit','phone','video','service')),
    window_start timestamptz not null,
    window_end timestamptz not null,
    status text not null check (status in ('scheduled','in_progress','completed','missed','cancelled')),
    started_at timestamptz,
    started_by uuid references users(id),
    completed_at timestamptz,
    completed_by uuid references users(id),
    performed_contact_kind text check (performed_contact_kind in ('home_visit','phone','video','service')),
    duration_minutes bigint check (duration_minutes between 0 and 1440),
    condition text check (condition in ('well','needs_attention','urgent')),
    observations text,
    cancel_reason text,
    version bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    -- Generation is idempotent: one visit per window of a plan's epoch, however often it runs.
    unique (plan_id, epoch, seq)
);
create index visits_plan on visits (plan_id, window_start);
create index visits_resident on visits (resident_id, window_end);
create index visits_coverage on visits (community_id, window_end, status, grid_id, completed_at);
create index visits_open on visits (status, window_end);
-- Coverage: the visits whose window passed without a visit (missed, or done late).
create index visits_passed on visits (community_id, window_end) include (resident_id, grid_id, status)
    where status = 'missed' or (status = 'completed' and completed_at > window_end);

create table visit_needs (
    visit_id uuid not null references visits(id),
    request_id uuid not null references help_requests(id),
    primary key (visit_id, request_id)
);
create index visit_needs_request on visit_needs (request_id);

create table visit_events (
    id uuid primary key,
    visit_id uuid not null references visits(id),
    community_id uuid not null references communities(id),
    kind text not null,
    actor_id uuid references users(id),
    data jsonb not null,
    at timestamptz not null
);
create index visit_events_visit on visit_events (visit_id, id);

create table grade_changes (
    id uuid primary key,
    community_id uuid not null references communities(id),
    resident_id uuid not null references residents(id),
    from_grade text,
    to_grade text,
    source text not null check (source in ('rules','assessment','manual','finding')),
    reason text,
    actor_id uuid references users(id),
    visit_id uuid references visits(id),
    at timestamptz not null
);
create index grade_changes_resident on grade_changes (resident_id, id);

create table major_changes (
    id uuid primary key,
    community_id uuid not null references communities(id),
    resident_id uuid not null references residents(id),
    kind text not null check (kind in ('hospital_discharge','bereavement','fall','other')),
    description text,
    occurred_at timestamptz,
    reported_by uuid references users(id),
    visit_id uuid not null references visits(id),
    at timestamptz not null
);
create index major_changes_resident on major_changes (resident_id, id);
