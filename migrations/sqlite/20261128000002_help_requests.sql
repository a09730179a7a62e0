-- 有呼必应: help requests, dispatch offers, the timeline, the outbox, timers, ratings and hours.
-- Ids and timestamps are always generated and bound by the application.

-- What the dispatch score reads about a volunteer, kept current by the transactions that change
-- it (never by a scan): a map cell for the nearby search, the current load, the acceptance and
-- rating tallies, and this month's minutes (a cache of the hours ledger, which stays the truth).
alter table volunteers add column cell_y bigint;
alter table volunteers add column cell_x bigint;
alter table volunteers add column active_load bigint not null default 0;
alter table volunteers add column offers_made bigint not null default 0;
alter table volunteers add column offers_accepted bigint not null default 0;
alter table volunteers add column rating_sum bigint not null default 0;
alter table volunteers add column rating_count bigint not null default 0;
alter table volunteers add column month_key text not null default '';
alter table volunteers add column month_minutes bigint not null default 0;
create index volunteers_cell on volunteers (community_id, cell_y, cell_x);
create index volunteers_home_grid on volunteers (community_id, home_grid_id);

create table resident_exclusions (
    resident_id blob not null references residents(id),
    volunteer_id blob not null references volunteers(id),
    reason text,
    created_by blob references users(id),
    created_at text not null,
    primary key (resident_id, volunteer_id)
);

create table help_requests (
    id blob primary key,
    community_id blob not null references communities(id),
    resident_id blob not null references residents(id),
    grid_id blob references grids(id),
    service_type_id blob not null references service_types(id),
    placed_by blob references users(id),
    placed_as text not null check (placed_as in ('resident','relative','grid_worker','volunteer','staff','visit','third_party')),
    caller_name text,
    caller_phone text,
    channel text not null check (channel in ('mini_program','app','phone','walk_in','visit','third_party')),
    origin text not null check (origin in ('call','proactive')),
    urgency text not null check (urgency in ('emergency','urgent','normal')),
    description text not null,
    address text,
    lat real,
    lng real,
    window_start text,
    window_end text,
    status text not null check (status in ('submitted','dispatching','offered','accepted','in_progress','completed','closed','cancelled','escalated')),
    dispatch_mode text not null check (dispatch_mode in ('auto','broadcast','manual','claim')),
    attempts bigint not null,
    assignee_id blob references volunteers(id),
    respond_by text not null,
    resolve_by text not null,
    -- When the current resolve deadline started: placing, or the last reopen (重办).
    resolve_from text not null,
    responded_at text,
    started_at text,
    completed_at text,
    closed_at text,
    resolution_note text,
    close_reason text,
    respond_reminded boolean not null,
    resolve_reminded boolean not null,
    respond_overdue boolean not null,
    resolve_overdue boolean not null,
    rating bigint,
    solved boolean,
    reopen_count bigint not null,
    version bigint not null,
    created_at text not null,
    updated_at text not null
);
create index help_requests_community on help_requests (community_id, id);
create index help_requests_status on help_requests (community_id, status, id);
create index help_requests_created on help_requests (community_id, created_at);
create index help_requests_resident on help_requests (resident_id, id);
create index help_requests_assignee on help_requests (assignee_id, id);
create index help_requests_grid on help_requests (grid_id, id);

create table dispatch_offers (
    id blob primary key,
    request_id blob not null references help_requests(id),
    community_id blob not null references communities(id),
    volunteer_id blob not null references volunteers(id),
    attempt bigint not null,
    mode text not null check (mode in ('auto','broadcast','manual','claim','batch')),
    score real not null,
    breakdown text not null,
    offered_by blob references users(id),
    offered_at text not null,
    expires_at text not null,
    answer text check (answer in ('accepted','declined','expired','withdrawn')),
    answered_at text,
    decline_reason text
);
create index dispatch_offers_request on dispatch_offers (request_id, volunteer_id);
create index dispatch_offers_volunteer on dispatch_offers (volunteer_id, id);

create table request_events (
    id blob primary key,
    request_id blob not null references help_requests(id),
    community_id blob not null references communities(id),
    kind text not null,
    actor_id blob references users(id),
    from_status text,
    to_status text,
    data text not null,
    at text not null
);
create index request_events_request on request_events (request_id, id);

-- Every domain event, written in the transaction of the change; webhooks and live streams
-- deliver from here.
create table outbox (
    id blob primary key,
    community_id blob references communities(id),
    topic text not null,
    aggregate_type text not null,
    aggregate_id blob not null,
    payload text not null,
    created_at text not null,
    delivered_at text
);
create index outbox_pending on outbox (delivered_at, id);

-- Deadlines that must survive a restart: offer expiry, re-dispatch, SLA checkpoints, auto close.
-- A sweeper leases due rows (`locked_until`) so several instances never take the same one.
create table timers (
    id blob primary key,
    community_id blob not null references communities(id),
    kind text not null check (kind in ('offer_expiry','dispatch','sla','auto_close')),
    request_id blob not null references help_requests(id),
    due_at text not null,
    locked_until text,
    created_at text not null
);
create index timers_due on timers (due_at);
create index timers_request on timers (request_id);

create table ratings (
    id blob primary key,
    request_id blob not null references help_requests(id),
    community_id blob not null references communities(id),
    volunteer_id blob references volunteers(id),
    rating bigint not null check (rating between 1 and 5),
    solved boolean not null,
    comment text,
    rated_by blob not null references users(id),
    rated_as text not null check (rated_as in ('resident','grid_worker','staff')),
    at text not null
);
create index ratings_request on ratings (request_id);
create index ratings_volunteer on ratings (volunteer_id);

-- Append-only: totals are sums, never edited.
create table service_hours (
    id blob primary key,
    community_id blob not null references communities(id),
    volunteer_id blob not null references volunteers(id),
    source_type text not null,
    source_id blob not null,
    minutes bigint not null check (minutes >= 0),
    verified_by blob references users(id),
    note text,
    at text not null
);
create index service_hours_volunteer on service_hours (volunteer_id, at);
create index service_hours_community on service_hours (community_id, at);

-- Refreshed now and then, read with every dispatch decision: the community median of this
-- month's minutes (the fairness term), how many active volunteers have no location, and the
-- search radius (an index into the service's list) that last found enough candidates.
create table community_stats (
    community_id blob primary key references communities(id),
    month_key text not null,
    median_month_minutes bigint not null,
    unlocated bigint not null,
    search_radius bigint not null,
    computed_at text not null
);
