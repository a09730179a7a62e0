-- Invitations: how an account that belongs to another community takes a role here (and, for a
-- resident, its record): staff who may grant the role hand over a one-time code, the owner of
-- the account accepts it. Only the code's SHA-256 is kept.

create table invitations (
    id uuid primary key,
    community_id uuid not null references communities(id),
    role text not null check (role in ('resident','volunteer')),
    resident_id uuid references residents(id),
    code_hash text not null unique,
    created_by uuid not null references users(id),
    created_at timestamptz not null,
    expires_at timestamptz not null,
    accepted_by uuid references users(id),
    accepted_at timestamptz,
    check ((role = 'resident') = (resident_id is not null))
);
create index invitations_community on invitations (community_id, id);
