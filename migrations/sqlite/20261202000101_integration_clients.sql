-- Integration clients: third-party systems acting in one community with scopes (OAuth 2.0
-- client credentials). Each client is also a row of `users` with the same id (no password that
-- can match, the role `integration` in its community), so that what it does is recorded like
-- anyone's: `actor_id`, `placed_by` and the audit log name the client.
--
-- `secret_hash` is the keyed hash (HMAC-SHA256 under a key derived from the data key) of the
-- random secret, shown once; a lookup by it finds the client in one indexed read. Rotation
-- replaces it and bumps `secret_generation`, which tokens carry: older tokens stop working.
-- `scopes` is the space-separated list the domain parses. The rate limit is a token bucket:
-- `rate_per_minute` refills, `burst` is its size.
create table integration_clients (
    id blob primary key references users(id),
    community_id blob not null references communities(id),
    name text not null,
    scopes text not null,
    rate_per_minute bigint not null check (rate_per_minute > 0),
    burst bigint not null check (burst > 0),
    secret_hash text not null unique,
    secret_generation bigint not null,
    version bigint not null,
    created_by blob references users(id),
    created_at text not null,
    updated_at text not null,
    rotated_at text,
    revoked_at text
);
create index integration_clients_community on integration_clients (community_id, id);
