//! Topics, their meeting and their vote's options.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::deliberation::{Participant, Status};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, TxWrites, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopicRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub title: String,
    pub description: String,
    pub raised_by: Uuid,
    pub raised_by_staff: bool,
    pub status: Status,
    pub meeting_starts_at: Option<DateTime<Utc>>,
    pub meeting_place: Option<String>,
    pub meeting_participants: Option<Json<Vec<Participant>>>,
    pub vote_opened_at: Option<DateTime<Utc>>,
    pub vote_closes_at: Option<DateTime<Utc>>,
    pub vote_closed_at: Option<DateTime<Utc>>,
    pub ballot_count: i64,
    pub decision: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<Uuid>,
    pub decision_notice_id: Option<Uuid>,
    pub drop_reason: Option<String>,
    pub dropped_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OptionRow {
    pub id: Uuid,
    pub topic_id: Uuid,
    pub position: i64,
    pub title: String,
}

/// An outbox message about a topic: `topic.<kind>`.
#[derive(Debug, Clone)]
pub struct TopicEvent {
    pub topic_id: Uuid,
    pub community_id: Uuid,
    pub kind: &'static str,
    pub actor_id: Option<Uuid>,
    pub data: Value,
    pub at: DateTime<Utc>,
}

impl TopicEvent {
    fn payload(&self, id: Uuid) -> Value {
        json!({
            "event_id": id,
            "topic_id": self.topic_id,
            "community_id": self.community_id,
            "kind": self.kind,
            "actor_id": self.actor_id,
            "data": self.data,
            "at": self.at,
        })
    }
}

const INSERT_OUTBOX: &str =
    "insert into outbox (id, community_id, topic, aggregate_type, aggregate_id, payload,
        created_at, delivered_at) values ($1, $2, $3, 'topic', $4, $5, $6, null)";

macro_rules! write_event {
    ($conn:expr, $e:expr) => {{
        let e: &TopicEvent = $e;
        let id = Uuid::now_v7();
        sqlx::query(INSERT_OUTBOX)
            .bind(id)
            .bind(e.community_id)
            .bind(format!("topic.{}", e.kind))
            .bind(e.topic_id)
            .bind(Json(e.payload(id)))
            .bind(e.at)
            .execute($conn)
            .await?;
    }};
}

macro_rules! columns {
    () => {
        "t.id, t.community_id, t.title, t.description, t.raised_by, t.raised_by_staff, t.status,
        t.meeting_starts_at, t.meeting_place, t.meeting_participants, t.vote_opened_at,
        t.vote_closes_at, t.vote_closed_at, t.ballot_count, t.decision, t.decided_at, t.decided_by,
        t.decision_notice_id, t.drop_reason, t.dropped_at, t.version, t.created_at, t.updated_at"
    };
}

const INSERT: &str = "insert into topics (id, community_id, title, description, raised_by,
        raised_by_staff, status, ballot_count, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, 'raised', 0, 1, $7, $7)";
const GET: &str = concat!("select ", columns!(), " from topics t where t.id = $1");
// Newest first, by state.
macro_rules! list_where {
    () => {
        " from topics t where t.community_id = $1 and ($2 is null or t.id < $2)
          and ($3 is null or t.status = $3) order by t.id desc limit $4"
    };
}
const LIST: &str = concat!("select ", columns!(), list_where!());
const LIST_OPTIONS: &str = concat!(
    "select o.id, o.topic_id, o.position, o.title from topic_options o where o.topic_id in
    (select t.id",
    list_where!(),
    ") order by o.topic_id, o.position"
);
const OPTIONS: &str =
    "select id, topic_id, position, title from topic_options where topic_id = $1 order by position";

pub async fn insert(db: &Db, t: &TopicRow, e: &TopicEvent) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("topic", t.id);
        sqlx::query(INSERT).bind(t.id).bind(t.community_id).bind(&t.title).bind(&t.description)
            .bind(t.raised_by).bind(t.raised_by_staff).bind(t.created_at).execute(&mut *tx).await?;
        write_event!(&mut *tx, e);
        tx.commit().await?;
        Ok(())
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<TopicRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

pub async fn options(db: &Db, topic_id: Uuid) -> StoreResult<Vec<OptionRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OPTIONS).bind(topic_id).fetch_all(pool).await?))
}

/// A page of the community's topics with their vote's options, in two queries.
pub async fn list(
    db: &Db,
    community_id: Uuid,
    before: Option<Uuid>,
    status: Option<Status>,
    limit: i64,
) -> StoreResult<(Vec<TopicRow>, Vec<OptionRow>)> {
    on_db!(db, pool => {
        let rows = sqlx::query_as(LIST).bind(community_id).bind(before).bind(status).bind(limit)
            .fetch_all(pool).await?;
        let options = sqlx::query_as(LIST_OPTIONS).bind(community_id).bind(before).bind(status)
            .bind(limit).fetch_all(pool).await?;
        Ok((rows, options))
    })
}

const MEMBER_NAME: &str = "select u.display_name from users u where u.id = $1 and u.active
    and exists (select 1 from role_grants g where g.user_id = u.id and g.community_id = $2)";

/// The display name of an active account holding a role in the community.
pub async fn member_name(
    db: &Db,
    user_id: Uuid,
    community_id: Uuid,
) -> StoreResult<Option<String>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(MEMBER_NAME).bind(user_id).bind(community_id)
        .fetch_optional(pool).await?))
}

const EDIT: &str = "update topics set title = $3, description = $4, version = version + 1,
        updated_at = $5 where id = $1 and version = $2 and status in ($6, $7)";

/// New title and description, if the topic is still at `version` and in one of `states`;
/// `StaleVersion` otherwise (the service checked the state on the version it read).
pub async fn edit(db: &Db, t: &TopicRow, states: [Status; 2], e: &TopicEvent) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("topic", t.id);
        let hit = sqlx::query(EDIT).bind(t.id).bind(t.version).bind(&t.title).bind(&t.description)
            .bind(e.at).bind(states[0]).bind(states[1]).execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::StaleVersion);
        }
        write_event!(&mut *tx, e);
        tx.commit().await?;
        Ok(())
    })
}

const SCHEDULE: &str = "update topics set status = 'scheduled', meeting_starts_at = $2,
        meeting_place = $3, meeting_participants = $4, version = version + 1, updated_at = $5
    where id = $1 and status in ('raised', 'scheduled')";

/// Sets (or moves) the meeting; `topic_not_open` once decided or dropped.
pub async fn schedule(
    db: &Db,
    id: Uuid,
    starts_at: DateTime<Utc>,
    place: &str,
    participants: &[Participant],
    e: &TopicEvent,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("topic", id);
        let hit = sqlx::query(SCHEDULE).bind(id).bind(starts_at).bind(place)
            .bind(Json(participants)).bind(e.at).execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("topic_not_open"));
        }
        write_event!(&mut *tx, e);
        tx.commit().await?;
        Ok(())
    })
}

const OPEN_VOTE: &str = "update topics set vote_opened_at = $2, vote_closes_at = $3,
        version = version + 1, updated_at = $2
    where id = $1 and status in ('raised', 'scheduled') and vote_opened_at is null";
const INSERT_OPTION: &str =
    "insert into topic_options (id, topic_id, position, title) values ($1, $2, $3, $4)";

/// Opens the topic's one vote with its options; `vote_already_opened` when it was opened
/// since it was read (the service refuses a closed topic before).
pub async fn open_vote(
    db: &Db,
    id: Uuid,
    options: &[OptionRow],
    closes_at: DateTime<Utc>,
    e: &TopicEvent,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("topic", id);
        let hit = sqlx::query(OPEN_VOTE).bind(id).bind(e.at).bind(closes_at)
            .execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("vote_already_opened"));
        }
        for o in options {
            sqlx::query(INSERT_OPTION).bind(o.id).bind(o.topic_id).bind(o.position).bind(&o.title)
                .execute(&mut *tx).await?;
        }
        write_event!(&mut *tx, e);
        tx.commit().await?;
        Ok(())
    })
}

const CLOSE_VOTE: &str = "update topics set vote_closed_at = $2, version = version + 1,
        updated_at = $2
    where id = $1 and status in ('raised', 'scheduled') and vote_opened_at is not null
      and vote_closed_at is null and vote_closes_at > $2";

/// Closes an open vote early; `vote_closed` when it is closed already (by hand or by time).
pub async fn close_vote(db: &Db, id: Uuid, e: &TopicEvent) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("topic", id);
        let hit = sqlx::query(CLOSE_VOTE).bind(id).bind(e.at).execute(&mut *tx).await?
            .rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("vote_closed"));
        }
        write_event!(&mut *tx, e);
        tx.commit().await?;
        Ok(())
    })
}

const CLOSE_DUE: &str = "update topics set vote_closed_at = vote_closes_at, version = version + 1,
        updated_at = $2
    where id = $1 and vote_opened_at is not null and vote_closed_at is null
      and vote_closes_at <= $2";

const VOTES_DUE: &str = concat!(
    "select ",
    columns!(),
    " from topics t where t.vote_opened_at is not null and t.vote_closed_at is null
      and t.vote_closes_at <= $1 order by t.vote_closes_at limit $2"
);

/// Topics whose vote's time has come and whose close nobody has recorded, the longest due first.
pub async fn votes_due(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<TopicRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(VOTES_DUE).bind(now).bind(limit).fetch_all(pool).await?))
}

/// Records the close of a vote whose time has come (once, whoever gets there first), so that
/// no ballot can follow; whether this call recorded it.
pub async fn close_due(db: &Db, id: Uuid, e: &TopicEvent) -> StoreResult<bool> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let hit = sqlx::query(CLOSE_DUE).bind(id).bind(e.at).execute(&mut *tx).await?
            .rows_affected();
        if hit == 1 {
            write_event!(&mut *tx, e);
        }
        tx.commit().await?;
        Ok(hit == 1)
    })
}

const DROP: &str = "update topics set status = 'dropped', drop_reason = $2, dropped_at = $3,
        vote_closed_at = case when vote_opened_at is not null and vote_closed_at is null
            then $3 else vote_closed_at end,
        version = version + 1, updated_at = $3
    where id = $1 and status in ('raised', 'scheduled')";

/// Drops an open topic with the reason (an open vote closes with it).
pub async fn drop(db: &Db, id: Uuid, reason: &str, e: &TopicEvent) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("topic", id);
        let hit = sqlx::query(DROP).bind(id).bind(reason).bind(e.at).execute(&mut *tx).await?
            .rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("topic_not_open"));
        }
        write_event!(&mut *tx, e);
        tx.commit().await?;
        Ok(())
    })
}

const DECIDE: &str = "update topics set status = 'decided', decision = $2, decided_at = $3,
        decided_by = $4, decision_notice_id = $5, version = version + 1, updated_at = $3
    where id = $1 and status in ('raised', 'scheduled')
      and (vote_opened_at is null or vote_closed_at is not null) and ballot_count = $6";

/// The decision, written in the transaction of the notice that publishes it: zero rows (the
/// topic was decided or dropped since, its vote reopened, or a ballot landed after the totals
/// were read) fails the whole write, notice included.
pub struct Decide {
    pub topic_id: Uuid,
    pub text: String,
    pub by: Uuid,
    pub notice_id: Uuid,
    /// The ballots counted in the notice's totals.
    pub ballots_counted: i64,
    pub event: TopicEvent,
}

macro_rules! decide {
    ($conn:expr, $d:expr) => {{
        let d: &Decide = $d;
        let n = sqlx::query(DECIDE)
            .bind(d.topic_id)
            .bind(&d.text)
            .bind(d.event.at)
            .bind(d.by)
            .bind(d.notice_id)
            .bind(d.ballots_counted)
            .execute(&mut *$conn)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("topic_not_open"));
        }
        write_event!(&mut *$conn, &d.event);
        Ok(())
    }};
}

impl TxWrites for Decide {
    fn on_sqlite<'c>(
        &'c self,
        conn: &'c mut sqlx::SqliteConnection,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(async move { decide!(conn, self) })
    }
    fn on_postgres<'c>(
        &'c self,
        conn: &'c mut sqlx::PgConnection,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(async move { decide!(conn, self) })
    }
}
