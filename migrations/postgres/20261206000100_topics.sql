-- 议事 deliberation (brief A): topics residents or staff raise, the meeting that takes them up,
-- a vote of the community's residents (one ballot per account, changeable while the vote is
-- open) and the decision, published as a notice.
create table topics (
    id uuid primary key,
    community_id uuid not null references communities(id),
    title text not null,
    description text not null,
    raised_by uuid not null references users(id),
    -- Whether the raiser was staff of the community when raising it.
    raised_by_staff boolean not null,
    status text not null check (status in ('raised','scheduled','decided','dropped')),
    meeting_starts_at timestamptz,
    meeting_place text,
    -- JSON: [{"user_id": uuid|null, "name": text}].
    meeting_participants jsonb,
    -- The vote: opened once; closed at closes_at or earlier by staff (vote_closed_at).
    vote_opened_at timestamptz,
    vote_closes_at timestamptz,
    vote_closed_at timestamptz,
    -- Ballots cast; a ballot's write also takes the topic's row, so it orders with the close.
    ballot_count bigint not null default 0,
    decision text,
    decided_at timestamptz,
    decided_by uuid references users(id),
    decision_notice_id uuid references notices(id),
    drop_reason text,
    dropped_at timestamptz,
    version bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create index topics_community on topics (community_id, id);
create index topics_community_status on topics (community_id, status, id);

create table topic_options (
    id uuid primary key,
    topic_id uuid not null references topics(id),
    position bigint not null,
    title text not null,
    unique (topic_id, position),
    unique (topic_id, id)
);

-- One ballot per account and topic: the unique key refuses a second one, whoever races.
create table topic_ballots (
    id uuid primary key,
    topic_id uuid not null references topics(id),
    option_id uuid not null,
    voter_id uuid not null references users(id),
    resident_id uuid not null references residents(id),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (topic_id, voter_id),
    foreign key (topic_id, option_id) references topic_options(topic_id, id)
);
create index topic_ballots_topic on topic_ballots (topic_id, id);
