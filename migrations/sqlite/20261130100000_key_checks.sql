-- What the keys of the first instance were, as keyed fingerprints (never the keys): an instance
-- started with another data key or JWT secret refuses to start instead of writing data or
-- issuing tokens the others cannot read.

create table key_checks (
    name text primary key,
    fingerprint text not null,
    recorded_at text not null
);
