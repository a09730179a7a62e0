-- WeChat mini-program sign-in. A sign-in whose (app, openid) is bound to nobody gets a binding
-- ticket: single use, ten minutes, stored as a hash (the ticket is a secret while it lives), with
-- what WeChat said about the person (openid, unionid) and never the session_key. It is taken by
-- a conditional delete in the transaction that binds, and pruned by the sweeper once expired.
create table wechat_binding_tickets (
    hash text primary key,
    app_id blob not null references wechat_apps(id) on delete cascade,
    openid text not null,
    unionid text,
    expires_at text not null,
    created_at text not null
);
create index wechat_binding_tickets_expiry on wechat_binding_tickets (expires_at);

-- The unionid WeChat gave at the sign-in that bound the identity (none for identities staff
-- recorded, or apps outside an Open Platform account).
alter table wechat_identities add column unionid text;

-- Binding by a WeChat-verified phone finds the resident records with that phone.
create index residents_phone on residents (phone);
