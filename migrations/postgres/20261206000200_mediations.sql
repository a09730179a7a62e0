-- 调解 mediation (issue B): confidential dispute cases between residents and named outsiders,
-- the sessions held, and the outcome that closes a case. Only the parties, the mediator and the
-- community's staff read a case; its events carry ids and the outcome, never its content.
create table mediations (
    id uuid primary key,
    community_id uuid not null references communities(id),
    kind text not null check (kind in ('neighbour','family','property','tenancy','labour','other')),
    summary text not null,
    mediator_id uuid not null references users(id),
    status text not null check (status in ('open','closed')),
    outcome text check (outcome in ('agreement','no_agreement','referred')),
    agreement_text text,
    referred_to text,
    -- A follow-up date: a visit for the grid worker of each resident party, due that day.
    follow_up_on date,
    closed_at timestamptz,
    closed_by uuid references users(id),
    created_by uuid not null references users(id),
    version bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    check ((status = 'open') = (outcome is null))
);
create index mediations_community on mediations (community_id, id);
create index mediations_mediator on mediations (mediator_id, id);
create index mediations_report on mediations (community_id, created_at);

-- A party: a resident of the community (named through the record), or an outsider by name.
create table mediation_parties (
    mediation_id uuid not null references mediations(id),
    no bigint not null,
    resident_id uuid references residents(id),
    name text,
    phone text,
    check ((resident_id is null) <> (name is null)),
    primary key (mediation_id, no)
);
create index mediation_parties_resident on mediation_parties (resident_id);

create table mediation_sessions (
    id uuid primary key,
    mediation_id uuid not null references mediations(id),
    held_at timestamptz not null,
    place text,
    notes text not null,
    recorded_by uuid not null references users(id),
    created_at timestamptz not null
);
create index mediation_sessions_case on mediation_sessions (mediation_id, held_at, id);

-- The follow-up visits a closed case brought.
create table mediation_visits (
    mediation_id uuid not null references mediations(id),
    visit_id uuid not null references visits(id),
    primary key (mediation_id, visit_id)
);
