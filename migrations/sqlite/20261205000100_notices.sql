-- 三务公开 notices (issue 14). Content lives in versions: a draft has one, rewritten in place; a
-- published notice gains a version per correction and keeps every earlier one.
create table notices (
    id blob primary key,
    community_id blob not null references communities(id),
    category text not null check (category in ('party','affairs','finance')),
    status text not null check (status in ('draft','published','unpublished')),
    pinned boolean not null,
    -- When it becomes public (set on publishing; may be later than the publishing).
    publish_at text,
    -- When it stops being shown (it stays readable by its id).
    ends_at text,
    -- Set when residents were told (at publish_at); a sweep tells them of those published for
    -- later, once each.
    announced_at text,
    current_version bigint not null,
    unpublished_at text,
    unpublish_reason text,
    created_by blob not null references users(id),
    version bigint not null,
    created_at text not null,
    updated_at text not null
);
create index notices_community on notices (community_id, id);
create index notices_public on notices (community_id, status, category, publish_at, id);
create index notices_unannounced on notices (publish_at) where status = 'published' and announced_at is null;

create table notice_versions (
    notice_id blob not null references notices(id),
    no bigint not null,
    title text not null,
    body text not null,
    items text,
    total_fen bigint,
    -- Why a correction was made (none for the first version).
    reason text,
    author_id blob not null references users(id),
    created_at text not null,
    primary key (notice_id, no)
);
