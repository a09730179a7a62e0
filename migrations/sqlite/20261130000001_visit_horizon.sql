-- The generation horizon (policy.visit.horizon_days) beside the policy it is read from, so that
-- the sweeper finds the communities with due plans in one query. Every save of a community
-- writes both; existing rows take it from their policy here (a policy without it: 28, the
-- default).
alter table communities add column visit_horizon_days integer not null default 28 check (visit_horizon_days between 1 and 90);

update communities
set visit_horizon_days = json_extract(policy, '$.visit.horizon_days')
where json_type(policy, '$.visit.horizon_days') = 'integer'
  and json_extract(policy, '$.visit.horizon_days') between 1 and 90;

-- A community's due plans: one index probe per community.
create index visit_plans_due on visit_plans (community_id, next_start) where active;
drop index visit_plans_next;
