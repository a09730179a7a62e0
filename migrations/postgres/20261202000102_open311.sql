-- Open311 GeoReport v2: every service request a civic client posts. Its id is the Open311
-- `service_request_id`. When the caller's phone names one resident of the community, the help
-- request is placed at once with the same id (`state` = 'placed'); otherwise the request waits
-- here in triage (审单, 'pending') until staff link it to a resident, which places the help
-- request with this id, or turn it down ('rejected'). What the caller sent beyond the help
-- request's own fields (name, e-mail, device, media URL) is kept here, never shown without a key.
create table open311_requests (
    id uuid primary key,
    community_id uuid not null references communities(id),
    client_id uuid not null references integration_clients(id),
    service_type_id uuid not null references service_types(id),
    state text not null check (state in ('placed', 'pending', 'rejected')),
    description text,
    urgency text check (urgency in ('emergency', 'urgent', 'normal')),
    window_start timestamptz,
    window_end timestamptz,
    first_name text,
    last_name text,
    phone text,
    email text,
    address_string text,
    lat double precision,
    lng double precision,
    media_url text,
    device_id text,
    account_id text,
    reject_reason text,
    version bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create index open311_requests_state on open311_requests (community_id, state, created_at);
create index residents_community_phone on residents (community_id, phone);
