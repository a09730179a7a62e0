-- Volunteer service certificates (志愿服务证明): immutable once issued; only revocation is
-- recorded on the row. Numbers are community code, year and a sequence per community and year.
create table certificate_sequences (
    community_id uuid not null references communities(id),
    year bigint not null,
    last_seq bigint not null,
    primary key (community_id, year)
);

create table certificates (
    id uuid primary key,
    number text not null unique,
    community_id uuid not null references communities(id),
    volunteer_id uuid not null references volunteers(id),
    year bigint not null,
    seq bigint not null,
    volunteer_name text not null,
    period_from date not null,
    period_to date not null,
    minutes bigint not null check (minutes > 0),
    issuer_name text not null,
    issued_by uuid not null references users(id),
    issued_at timestamptz not null,
    revoked_at timestamptz,
    revoked_by uuid references users(id),
    revoke_reason text,
    unique (community_id, year, seq)
);
create index certificates_volunteer on certificates (volunteer_id, id);
