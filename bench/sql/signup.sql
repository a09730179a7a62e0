-- The statements POST /api/v1/mobilisations/{id}/signups runs for a volunteer (src/store/*.rs,
-- the same SQL text), in order. Two lookups stand in for what the request carries: the
-- volunteer (the token's subject; numbered by a sequence so that nobody signs up twice) and
-- the slot (the body's slot_id; the 20 in turn, as the bench's volunteers choose).
select nextval('bench_signup_n') as n \gset
select u.id as user_id, v.id as volunteer_id from users u join volunteers v on v.user_id = u.id where u.username = 'bv' || :n \gset
\set k :n % 20
select id as slot_id from mobilisation_slots where mobilisation_id = :mobilisation and ord = :k \gset
-- The principal.
select u.active, g.id as grant_id, g.role, g.community_id from users u left join role_grants g on g.user_id = u.id where u.id = :user_id;
-- The mobilisation, its slots and waiting lists (visible()).
select id, community_id, title, kind, description, address, lat, lng, radius_m, starts_at, ends_at, signup_deadline, attendance_mode, audience, status, created_by, version, created_at, updated_at from mobilisations where id = :mobilisation;
select id, mobilisation_id, ord, title, skill, capacity, confirmed, next_queue_no from mobilisation_slots where mobilisation_id = :mobilisation order by ord;
select s.id, (select count(*) from mobilisation_signups x where x.slot_id = s.id and x.status = 'waiting') from mobilisation_slots s where s.mobilisation_id = :mobilisation order by s.ord;
-- The caller's volunteer profile, and whether the audience includes them.
select id from volunteers where user_id = :user_id and community_id = :community;
select count(*) from volunteers v join users u on u.id = v.user_id where v.community_id = :community and v.status = 'active' and u.active and v.id = :volunteer_id;
-- The sign-up's transaction.
begin;
update mobilisation_slots set confirmed = confirmed where id = :slot_id and exists (select 1 from mobilisations m where m.id = mobilisation_slots.mobilisation_id and m.status = 'published' and (m.signup_deadline is null or m.signup_deadline > now())) returning capacity, confirmed, next_queue_no \gset
\if :confirmed < :capacity
update volunteers set status = status where id = :volunteer_id;
select count(*) from mobilisation_signups where volunteer_id = :volunteer_id and status = 'confirmed' and mobilisation_id <> :mobilisation and starts_at < now() + interval '2 hours' and ends_at > now();
update mobilisation_slots set confirmed = confirmed + 1 where id = :slot_id;
insert into mobilisation_signups (id, mobilisation_id, slot_id, community_id, volunteer_id, status, queue_no, starts_at, ends_at, signed_by, created_at, updated_at) values (gen_random_uuid(), :mobilisation, :slot_id, :community, :volunteer_id, 'confirmed', null, now(), now() + interval '2 hours', :user_id, now(), now());
\else
update mobilisation_slots set next_queue_no = next_queue_no + 1 where id = :slot_id;
insert into mobilisation_signups (id, mobilisation_id, slot_id, community_id, volunteer_id, status, queue_no, starts_at, ends_at, signed_by, created_at, updated_at) values (gen_random_uuid(), :mobilisation, :slot_id, :community, :volunteer_id, 'waiting', :next_queue_no, now(), now() + interval '2 hours', :user_id, now(), now());
select count(*) from mobilisation_signups where slot_id = :slot_id and status = 'waiting' and queue_no <= :next_queue_no;
\endif
insert into mobilisation_events (id, mobilisation_id, community_id, kind, actor_id, data, at) values (gen_random_uuid(), :mobilisation, :community, 'signed_up', :user_id, '{"status": "confirmed"}'::jsonb, now());
insert into outbox (id, community_id, topic, aggregate_type, aggregate_id, payload, created_at, delivered_at) values (gen_random_uuid(), :community, 'mobilisation.signed_up', 'mobilisation', :mobilisation, '{}'::jsonb, now(), null);
commit;
