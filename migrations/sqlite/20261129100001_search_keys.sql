-- Search keys: what `q` matches besides the phone, lowercased by the application (Unicode
-- rules, the same on both backends). Existing rows get the database's lower() here, which folds
-- every letter on PostgreSQL with a UTF-8 locale and ASCII only on SQLite: such a row is folded
-- fully at its next save (Chinese has no case, so it matters for Latin names only).

alter table residents add column search_key text not null default '';
update residents set search_key = lower(name) || char(10) || lower(coalesce(address, '')) || char(10)
    || lower(coalesce(building, '') || '-' || coalesce(unit, '') || '-' || coalesce(room, ''));

alter table volunteers add column search_key text not null default '';
update volunteers set search_key = lower(name);

alter table users add column search_key text not null default '';
update users set search_key = lower(display_name) || char(10) || lower(coalesce(username, ''));
