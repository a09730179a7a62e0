-- Attendance at mobilisations (issue 13): one row per check-in, closed by its check-out (or by
-- the sweeper 24 h later, at the planned end, `auto_checked_out`), or recorded by staff by
-- hand with a reason. `day` is the check-in's date in the community's time zone, for the limit
-- of three pairs per person per day.
create table mobilisation_attendance (
    id blob primary key,
    mobilisation_id blob not null references mobilisations(id),
    community_id blob not null references communities(id),
    volunteer_id blob not null references volunteers(id),
    signup_id blob not null references mobilisation_signups(id),
    day text not null,
    status text not null check (status in ('open','closed')),
    checked_in_at text not null,
    checked_out_at text,
    check_in_method text not null check (check_in_method in ('location','code','manual')),
    check_out_method text check (check_out_method in ('location','code','manual','auto')),
    auto_checked_out boolean not null,
    minutes bigint check (minutes >= 0),
    reason text,
    recorded_by blob references users(id),
    created_at text not null
);
-- One open check-in per volunteer and mobilisation; the sweeper reads the open ones by age.
create unique index mobilisation_attendance_one_open on mobilisation_attendance (mobilisation_id, volunteer_id)
    where status = 'open';
create index mobilisation_attendance_open_since on mobilisation_attendance (checked_in_at)
    where status = 'open';
create index mobilisation_attendance_of on mobilisation_attendance (mobilisation_id, volunteer_id, id);
create index mobilisation_attendance_day on mobilisation_attendance (volunteer_id, day);

-- The time bank: a balance per volunteer (never below zero: redeems are conditional updates)
-- and its entries, earned on approval of hours or redeemed by staff.
create table point_balances (
    volunteer_id blob primary key references volunteers(id),
    community_id blob not null references communities(id),
    balance bigint not null check (balance >= 0),
    updated_at text not null
);
create table point_entries (
    id blob primary key,
    community_id blob not null references communities(id),
    volunteer_id blob not null references volunteers(id),
    kind text not null check (kind in ('earned','redeemed')),
    amount bigint not null,
    balance_after bigint not null check (balance_after >= 0),
    item text,
    hours_entry_id blob references hours_entries(id),
    recorded_by blob references users(id),
    at text not null
);
create index point_entries_volunteer on point_entries (volunteer_id, id);
