-- A visit is announced to its care team (event `visit.due`) when its window opens; the mark keeps
-- the announcement to once, and the partial index keeps the sweeper's question to what is due.
-- Visits whose window opened before this migration are not announced late.
alter table visits add column due_announced_at text;
update visits set due_announced_at = window_start where window_start <= strftime('%Y-%m-%dT%H:%M:%f', 'now');
create index visits_due_unannounced on visits (window_start) where due_announced_at is null;
