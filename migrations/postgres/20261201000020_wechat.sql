-- WeChat: the mini-program apps admins register (the secret encrypted with the data key), the
-- communities each serves, people's WeChat identities (one per person; an openid belongs to one
-- person of an app), and the queue of subscription messages (订阅消息) the relay fills and the
-- sender empties.
create table wechat_apps (
    id uuid primary key,
    app_id text not null unique,
    name text not null,
    secret_enc bytea not null,
    active boolean not null,
    version bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table wechat_app_communities (
    app_id uuid not null references wechat_apps(id) on delete cascade,
    community_id uuid not null references communities(id),
    primary key (app_id, community_id)
);
create index wechat_app_communities_community on wechat_app_communities (community_id);

create table wechat_identities (
    user_id uuid primary key references users(id),
    app_id uuid not null references wechat_apps(id),
    openid text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (app_id, openid)
);

-- One message per person told of an event. A pending message is due at next_attempt_at; a
-- sender leases it by moving next_attempt_at past its lease and counting the attempt, so a
-- crashed sender's message is due again when the lease runs out. Finished messages leave the
-- due index.
create table wechat_messages (
    id uuid primary key,
    event_id uuid not null,
    community_id uuid not null references communities(id),
    user_id uuid not null references users(id),
    app_id uuid not null references wechat_apps(id),
    openid text not null,
    kind text not null,
    object_type text not null,
    object_id uuid not null,
    template_id text not null,
    page text not null,
    data jsonb not null,
    status text not null check (status in ('pending', 'sent', 'refused', 'failed')),
    attempts integer not null,
    next_attempt_at timestamptz,
    last_error text,
    sent_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (event_id, user_id)
);
create index wechat_messages_due on wechat_messages (next_attempt_at) where status = 'pending';
create index wechat_messages_community on wechat_messages (community_id, id);
create index wechat_messages_finished on wechat_messages (updated_at) where status <> 'pending';
