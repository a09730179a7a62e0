-- Invitations: how an account that belongs to another community takes a role here (and, for a
-- resident, its record): staff who may grant the role hand over a one-time code, the owner of
-- the account accepts it. Only the code's SHA-256 is kept.

create table invitations (
    id blob primary key,
    community_id blob not null references communities(id),
    role text not null check (role in ('resident','volunteer')),
    resident_id blob references residents(id),
    code_hash text not null unique,
    created_by blob not null references users(id),
    created_at text not null,
    expires_at text not null,
    accepted_by blob references users(id),
    accepted_at text,
    check ((role = 'resident') = (resident_id is not null))
);
create index invitations_community on invitations (community_id, id);
