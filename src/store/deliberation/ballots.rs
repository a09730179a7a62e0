//! The residents' ballots: one per account and topic (a unique key), cast and changed only
//! while the vote is open. Each write first takes the topic's row with a conditional update,
//! so a ballot and the vote's close (or the decision) never interleave.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BallotRow {
    pub id: Uuid,
    pub topic_id: Uuid,
    pub option_id: Uuid,
    pub voter_id: Uuid,
    pub resident_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ballot as staff see it: who voted for what.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VoterRow {
    pub id: Uuid,
    pub option_id: Uuid,
    pub option_title: String,
    pub voter_id: Uuid,
    pub voter_name: String,
    pub resident_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An option with its ballots.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotalRow {
    pub id: Uuid,
    pub title: String,
    pub votes: i64,
}

// Takes the topic's row while its vote is open; `$2` ballots added (1 for a new ballot, 0 for a
// change), `$3` now.
const TAKE_OPEN_VOTE: &str = "update topics set ballot_count = ballot_count + $2
    where id = $1 and status in ('raised', 'scheduled') and vote_opened_at is not null
      and vote_closed_at is null and vote_closes_at > $3";
const INSERT: &str = "insert into topic_ballots (id, topic_id, option_id, voter_id, resident_id,
        created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $6)";
const CHANGE: &str = "update topic_ballots set option_id = $3, updated_at = $4 where topic_id = $1 and voter_id = $2";
const MINE: &str = "select id, topic_id, option_id, voter_id, resident_id, created_at, updated_at
    from topic_ballots where topic_id = $1 and voter_id = $2";
const LIST: &str = "select b.id, b.option_id, o.title as option_title, b.voter_id,
        u.display_name as voter_name, b.resident_id, b.created_at, b.updated_at
    from topic_ballots b join topic_options o on o.id = b.option_id
    join users u on u.id = b.voter_id
    where b.topic_id = $1 and ($2 is null or b.id > $2) order by b.id limit $3";
const TOTALS: &str = "select o.id, o.title, count(b.id) as votes
    from topic_options o left join topic_ballots b on b.option_id = o.id and b.topic_id = o.topic_id
    where o.topic_id = $1 group by o.id, o.title, o.position order by o.position";

/// Casts a ballot: `vote_closed` when the vote is not open at `b.created_at`, `already_voted`
/// when this account voted on the topic before (whoever raced).
pub async fn cast(db: &Db, b: &BallotRow) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        // A retry whose answer was lost is sent to the caller's ballot.
        tx.subject("topic_ballot", b.topic_id);
        let hit = sqlx::query(TAKE_OPEN_VOTE).bind(b.topic_id).bind(1_i64).bind(b.created_at)
            .execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("vote_closed"));
        }
        let inserted = sqlx::query(INSERT).bind(b.id).bind(b.topic_id).bind(b.option_id)
            .bind(b.voter_id).bind(b.resident_id).bind(b.created_at).execute(&mut *tx).await;
        match inserted.map_err(StoreError::from) {
            Err(StoreError::Conflict) => return Err(StoreError::Guard("already_voted")),
            other => other?,
        };
        tx.commit().await?;
        Ok(())
    })
}

/// Moves the account's ballot to another option while the vote is open: `vote_closed`, or
/// `NotFound` when it has none.
pub async fn change(
    db: &Db,
    topic_id: Uuid,
    voter_id: Uuid,
    option_id: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<BallotRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let hit = sqlx::query(TAKE_OPEN_VOTE).bind(topic_id).bind(0_i64).bind(at)
            .execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("vote_closed"));
        }
        let hit = sqlx::query(CHANGE).bind(topic_id).bind(voter_id).bind(option_id).bind(at)
            .execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query_as(MINE).bind(topic_id).bind(voter_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

pub async fn mine(db: &Db, topic_id: Uuid, voter_id: Uuid) -> StoreResult<Option<BallotRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(MINE).bind(topic_id).bind(voter_id)
        .fetch_optional(pool).await?))
}

/// Who voted for what, in the order they first voted.
pub async fn list(
    db: &Db,
    topic_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<VoterRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(topic_id).bind(after).bind(limit)
        .fetch_all(pool).await?))
}

/// Every option of the topic's vote with its ballots, in the options' order.
pub async fn totals(db: &Db, topic_id: Uuid) -> StoreResult<Vec<TotalRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(TOTALS).bind(topic_id).fetch_all(pool).await?))
}
