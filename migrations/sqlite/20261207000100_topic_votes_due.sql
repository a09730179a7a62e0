-- The sweeper closes votes whose time has come (so that webhooks and the board hear of it then,
-- not when somebody next reads the topic): it asks for the open ones by their closing time.
create index topics_votes_due on topics (vote_closes_at)
    where vote_opened_at is not null and vote_closed_at is null;
