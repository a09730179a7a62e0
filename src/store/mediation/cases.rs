//! Mediation cases. A change is one conditional update (on the state, and for an edit the
//! version it was read in) with its outbox row, in one transaction; closing also inserts the
//! follow-up visits.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::mediation::{Kind, Outcome, Status};
use crate::store::visits::visits::{VisitExec, VisitRow};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediationRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub kind: Kind,
    pub summary: String,
    pub mediator_id: Uuid,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub agreement_text: Option<String>,
    pub referred_to: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<Uuid>,
    pub created_by: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A case with its mediator's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Mediation {
    #[sqlx(flatten)]
    pub row: MediationRow,
    pub mediator_name: String,
}

/// A party as stored: a resident (`resident_id`) or an outsider (`name`, `phone`).
#[derive(Debug, Clone)]
pub struct PartyRow {
    pub no: i64,
    pub resident_id: Option<Uuid>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// A party as read: a resident's name comes from the registry, with the account linked to it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PartyRead {
    pub no: i64,
    pub resident_id: Option<Uuid>,
    pub name: String,
    pub phone: Option<String>,
    pub user_id: Option<Uuid>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub mediation_id: Uuid,
    pub held_at: DateTime<Utc>,
    pub place: Option<String>,
    pub notes: String,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// An outbox message about a case: `mediation.<kind>`. Its data never holds what the case says.
#[derive(Debug, Clone)]
pub struct MediationEvent {
    pub mediation_id: Uuid,
    pub community_id: Uuid,
    pub kind: &'static str,
    pub actor_id: Option<Uuid>,
    pub data: Value,
    pub at: DateTime<Utc>,
}

impl MediationEvent {
    fn payload(&self, id: Uuid) -> Value {
        json!({
            "event_id": id,
            "mediation_id": self.mediation_id,
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
        created_at, delivered_at) values ($1, $2, $3, 'mediation', $4, $5, $6, null)";

macro_rules! write_event {
    ($tx:ident, $e:expr) => {{
        let e: &MediationEvent = $e;
        let id = Uuid::now_v7();
        sqlx::query(INSERT_OUTBOX)
            .bind(id)
            .bind(e.community_id)
            .bind(format!("mediation.{}", e.kind))
            .bind(e.mediation_id)
            .bind(Json(e.payload(id)))
            .bind(e.at)
            .execute(&mut *$tx)
            .await?;
    }};
}

macro_rules! columns {
    () => {
        "m.id, m.community_id, m.kind, m.summary, m.mediator_id, m.status, m.outcome,
        m.agreement_text, m.referred_to, m.follow_up_on, m.closed_at, m.closed_by, m.created_by,
        m.version, m.created_at, m.updated_at, u.display_name as mediator_name"
    };
}

const INSERT: &str = "insert into mediations (id, community_id, kind, summary, mediator_id, status,
        outcome, agreement_text, referred_to, follow_up_on, closed_at, closed_by, created_by, version,
        created_at, updated_at)
    values ($1, $2, $3, $4, $5, 'open', null, null, null, null, null, null, $6, 1, $7, $7)";
const INSERT_PARTY: &str =
    "insert into mediation_parties (mediation_id, no, resident_id, name, phone)
    values ($1, $2, $3, $4, $5)";
const GET: &str = concat!(
    "select ",
    columns!(),
    " from mediations m join users u on u.id = m.mediator_id where m.id = $1"
);
const PARTIES: &str = "select p.no, p.resident_id, coalesce(p.name, r.name) as name, p.phone,
        r.user_id
    from mediation_parties p left join residents r on r.id = p.resident_id
    where p.mediation_id = $1 order by p.no";
const SESSIONS: &str = "select id, mediation_id, held_at, place, notes, recorded_by, created_at
    from mediation_sessions where mediation_id = $1 order by held_at, id";
const VISITS: &str =
    "select visit_id from mediation_visits where mediation_id = $1 order by visit_id";
// Newest first; `$5` (a user) narrows to the cases they mediate or are a party to.
const LIST: &str = concat!(
    "select ",
    columns!(),
    " from mediations m join users u on u.id = m.mediator_id
    where m.community_id = $1 and ($2 is null or m.id < $2) and ($3 is null or m.status = $3)
      and ($4 is null or m.kind = $4)
      and ($5 is null or m.mediator_id = $5 or exists (select 1 from mediation_parties p
           join residents r on r.id = p.resident_id where p.mediation_id = m.id and r.user_id = $5))
    order by m.id desc limit $6"
);

pub async fn insert(
    db: &Db,
    m: &MediationRow,
    parties: &[PartyRow],
    event: &MediationEvent,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mediation", m.id);
        sqlx::query(INSERT).bind(m.id).bind(m.community_id).bind(m.kind).bind(&m.summary)
            .bind(m.mediator_id).bind(m.created_by).bind(m.created_at).execute(&mut *tx).await?;
        for p in parties {
            sqlx::query(INSERT_PARTY).bind(m.id).bind(p.no).bind(p.resident_id).bind(&p.name)
                .bind(&p.phone).execute(&mut *tx).await?;
        }
        write_event!(tx, event);
        tx.commit().await?;
        Ok(())
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<Mediation> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

pub async fn parties(db: &Db, id: Uuid) -> StoreResult<Vec<PartyRead>> {
    on_db!(db, pool => Ok(sqlx::query_as(PARTIES).bind(id).fetch_all(pool).await?))
}

pub async fn sessions(db: &Db, id: Uuid) -> StoreResult<Vec<SessionRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(SESSIONS).bind(id).fetch_all(pool).await?))
}

pub async fn visits(db: &Db, id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(VISITS).bind(id).fetch_all(pool).await?))
}

pub struct ListFilter {
    pub community_id: Uuid,
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    /// Only the cases this user mediates or is a party to (through a resident record).
    pub reader: Option<Uuid>,
}

pub async fn list(
    db: &Db,
    f: &ListFilter,
    before: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<Mediation>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(f.community_id).bind(before).bind(f.status)
        .bind(f.kind).bind(f.reader).bind(limit).fetch_all(pool).await?))
}

const MEDIATOR_GRANTS: &str = "select count(*) from role_grants g join users u on u.id = g.user_id
    where g.user_id = $1 and u.active and g.community_id = $2
      and g.role in ('community_admin', 'dispatcher', 'volunteer')";

/// Whether `user` may mediate in `community`: an active account of its staff or a volunteer.
pub async fn may_mediate(db: &Db, user: Uuid, community: Uuid) -> StoreResult<bool> {
    let n: i64 = on_db!(db, pool => sqlx::query_scalar(MEDIATOR_GRANTS).bind(user).bind(community)
        .fetch_one(pool).await?);
    Ok(n > 0)
}

const EDIT: &str = "update mediations set kind = $3, summary = $4, mediator_id = $5,
        version = version + 1, updated_at = $6
    where id = $1 and version = $2 and status = 'open'";
const STATUS: &str = "select status from mediations where id = $1";

/// Why a conditional update hit nothing: closed meanwhile (409), else changed since read (412).
macro_rules! missed {
    ($tx:ident, $id:expr) => {{
        let s: Status = sqlx::query_scalar(STATUS)
            .bind($id)
            .fetch_one(&mut *$tx)
            .await?;
        match s {
            Status::Closed => StoreError::Guard("mediation_closed"),
            Status::Open => StoreError::StaleVersion,
        }
    }};
}

/// Edits an open case (kind, summary, mediator) if unchanged since it was read.
pub async fn edit(
    db: &Db,
    m: &MediationRow,
    expected_version: i64,
    event: &MediationEvent,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mediation", m.id);
        let hit = sqlx::query(EDIT).bind(m.id).bind(expected_version).bind(m.kind).bind(&m.summary)
            .bind(m.mediator_id).bind(event.at).execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(missed!(tx, m.id));
        }
        write_event!(tx, event);
        tx.commit().await?;
        Ok(())
    })
}

// Takes the case's row (PostgreSQL: its lock) so that a session never lands on a closed case.
const TOUCH_OPEN: &str = "update mediations set updated_at = $2 where id = $1 and status = 'open'";
const INSERT_SESSION: &str = "insert into mediation_sessions (id, mediation_id, held_at, place,
        notes, recorded_by, created_at) values ($1, $2, $3, $4, $5, $6, $7)";

/// Records a session of an open case.
pub async fn add_session(db: &Db, s: &SessionRow, event: &MediationEvent) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mediation", s.mediation_id);
        let hit = sqlx::query(TOUCH_OPEN).bind(s.mediation_id).bind(s.created_at)
            .execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("mediation_closed"));
        }
        sqlx::query(INSERT_SESSION).bind(s.id).bind(s.mediation_id).bind(s.held_at).bind(&s.place)
            .bind(&s.notes).bind(s.recorded_by).bind(s.created_at).execute(&mut *tx).await?;
        write_event!(tx, event);
        tx.commit().await?;
        Ok(())
    })
}

const CLOSE: &str = "update mediations set status = 'closed', outcome = $2, agreement_text = $3,
        referred_to = $4, follow_up_on = $5, closed_at = $6, closed_by = $7, version = version + 1,
        updated_at = $6
    where id = $1 and status = 'open'";
const INSERT_CASE_VISIT: &str =
    "insert into mediation_visits (mediation_id, visit_id) values ($1, $2)";

/// What closing a case sets.
pub struct Closing<'a> {
    pub id: Uuid,
    pub outcome: Outcome,
    pub agreement_text: Option<&'a str>,
    pub referred_to: Option<&'a str>,
    pub follow_up_on: Option<NaiveDate>,
    pub by: Uuid,
    /// The follow-up visits, one per resident party.
    pub visits: &'a [VisitRow],
    pub event: &'a MediationEvent,
}

/// Closes an open case with its outcome and follow-up visits, once: a second time is
/// `mediation_closed`.
pub async fn close(db: &Db, c: &Closing<'_>) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mediation", c.id);
        let hit = sqlx::query(CLOSE).bind(c.id).bind(c.outcome).bind(c.agreement_text)
            .bind(c.referred_to).bind(c.follow_up_on).bind(c.event.at).bind(c.by)
            .execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("mediation_closed"));
        }
        for v in c.visits {
            tx.insert_visit(v).await?;
            sqlx::query(INSERT_CASE_VISIT).bind(c.id).bind(v.id).execute(&mut *tx).await?;
        }
        write_event!(tx, c.event);
        tx.commit().await?;
        Ok(())
    })
}

const COUNTS: &str = "select kind, status, outcome, count(*) as n from mediations
    where community_id = $1 and created_at >= $2 and created_at < $3
    group by kind, status, outcome";

/// How many cases opened in `from..to`, by kind, state and outcome.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CountRow {
    pub kind: Kind,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub n: i64,
}

pub async fn counts(
    db: &Db,
    community_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<CountRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(COUNTS).bind(community_id).bind(from).bind(to)
        .fetch_all(pool).await?))
}
