-- Stream tickets: a browser's EventSource cannot send `Authorization`, so an authenticated client
-- asks for a ticket and passes it in the stream's URL. Kept in the database so that any instance
-- redeems a ticket another made; stored as a hash (the ticket is a secret while it lives), taken
-- once by a conditional delete, and pruned by the sweeper once expired.
create table stream_tickets (
    hash text primary key,
    user_id blob not null references users(id),
    expires_at text not null,
    -- The access token that asked for it expires then, and so does the stream it opens.
    token_expires_at text not null,
    created_at text not null
);
create index stream_tickets_expiry on stream_tickets (expires_at);
