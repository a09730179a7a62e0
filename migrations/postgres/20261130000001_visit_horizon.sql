-- The generation horizon (policy.visit.horizon_days) beside the policy it is read from, so that
-- the sweeper finds the communities with due plans in one query. Every save of a community
-- writes both; existing rows take it from their policy here (a policy without it: 28, the
-- default).
alter table communities add column visit_horizon_days integer not null default 28 check (visit_horizon_days between 1 and 90);

update communities
set visit_horizon_days = (policy #>> '{visit,horizon_days}')::integer
where case jsonb_typeof(policy #> '{visit,horizon_days}')
    when 'number' then (policy #>> '{visit,horizon_days}')::numeric between 1 and 90
        and (policy #>> '{visit,horizon_days}')::numeric % 1 = 0
    else false
end;

-- A community's due plans: one index probe per community.
create index visit_plans_due on visit_plans (community_id, next_start) where active;
drop index visit_plans_next;
