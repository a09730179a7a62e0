//! PostgreSQL's `huying_inbox` channel, on which the relay of every instance announces (in its
//! hand-over transaction) the users it told something. Each instance listens on a connection of
//! its own, outside the request pool, so that a listener never takes a request's connection.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use uuid::Uuid;

use crate::store::delivery::outbox::INBOX_CHANNEL;
use crate::store::{Db, StoreResult};

pub struct InboxListener {
    listener: PgListener,
}

/// What the channel said.
pub enum Heard {
    /// This user was told something.
    User(Uuid),
    /// The connection was lost and made again: what was announced meanwhile was not heard.
    Reconnected,
}

/// Listens on the channel; `None` on SQLite, which has no other instance to hear.
pub async fn listen(db: &Db, connect_timeout: Duration) -> StoreResult<Option<InboxListener>> {
    let Db::Postgres(pool) = db else {
        return Ok(None);
    };
    let own = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(connect_timeout)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(INBOX_CHANNEL).await?;
    Ok(Some(InboxListener { listener }))
}

impl InboxListener {
    /// The next thing heard; an error when the connection is gone and could not be made again.
    pub async fn next(&mut self) -> StoreResult<Heard> {
        loop {
            match self.listener.try_recv().await? {
                None => return Ok(Heard::Reconnected),
                // Anything else on the channel is not ours to read.
                Some(n) => {
                    if let Ok(user) = n.payload().parse() {
                        return Ok(Heard::User(user));
                    }
                }
            }
        }
    }
}
