//! Help requests, their offers, timeline and outbox. A change to a request is one transaction:
//! the row (guarded by its version), the offers it answers or makes, the volunteer tallies,
//! ratings and hours, timers, and one timeline entry plus one outbox row per event.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

pub use super::rows::{
    AnswerOffer, Effects, EventRow, HelpRequestRow, HoursRow, OfferRow, RatingRow,
    RequestWithResident, ResidentBrief, TimerRow,
};

macro_rules! request_columns {
    () => {
        "id, community_id, resident_id, grid_id, service_type_id, placed_by, placed_as, caller_name,
    caller_phone, channel, origin, urgency, description, address, lat, lng, window_start, window_end, status,
    dispatch_mode, attempts, assignee_id, respond_by, resolve_by, resolve_from, responded_at, started_at, completed_at, closed_at,
    resolution_note, close_reason, respond_reminded, resolve_reminded, respond_overdue, resolve_overdue, rating,
    solved, reopen_count, version, created_at, updated_at"
    };
}

/// The same columns qualified by `r.`, for joins.
macro_rules! request_columns_r {
    () => {
        "
    r.id, r.community_id, r.resident_id, r.grid_id, r.service_type_id, r.placed_by, r.placed_as,
    r.caller_name, r.caller_phone, r.channel, r.origin, r.urgency, r.description, r.address, r.lat,
    r.lng, r.window_start, r.window_end, r.status, r.dispatch_mode, r.attempts, r.assignee_id,
    r.respond_by, r.resolve_by, r.resolve_from, r.responded_at, r.started_at, r.completed_at, r.closed_at,
    r.resolution_note, r.close_reason, r.respond_reminded, r.resolve_reminded, r.respond_overdue,
    r.resolve_overdue, r.rating, r.solved, r.reopen_count, r.version, r.created_at, r.updated_at
"
    };
}
pub(crate) use request_columns_r;

const INSERT: &str = concat!(
    "insert into help_requests (",
    request_columns!(),
    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
        $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41)"
);
const UPDATE: &str = "update help_requests set urgency = $3, status = $4, dispatch_mode = $5, attempts = $6,
        assignee_id = $7, respond_by = $8, resolve_by = $9, responded_at = $10, started_at = $11, completed_at = $12,
        closed_at = $13, resolution_note = $14, close_reason = $15,
        respond_reminded = (respond_reminded or $16),
        resolve_reminded = case when $24 then false else (resolve_reminded or $17) end,
        respond_overdue = (respond_overdue or $18),
        resolve_overdue = case when $24 then false else (resolve_overdue or $19) end,
        rating = $20, solved = $21, reopen_count = $22, version = version + 1, updated_at = $23,
        resolve_from = $25
    where id = $1 and version = $2";
/// Flags the sweeper sets (reminded, overdue) change no state a client raced on: no version bump.
/// They only ever turn on here (a transition read before them must not turn them off: see
/// `UPDATE`), and only on the state the sweeper read, so a moved request is looked at again.
const UPDATE_FLAGS: &str = "update help_requests set respond_reminded = (respond_reminded or $2),
        resolve_reminded = (resolve_reminded or $3), respond_overdue = (respond_overdue or $4),
        resolve_overdue = (resolve_overdue or $5)
    where id = $1 and version = $6";
const GET: &str = concat!(
    "select ",
    request_columns!(),
    " from help_requests where id = $1"
);
const EXISTS: &str = "select count(*) from help_requests where id = $1";
const GET_WITH_RESIDENT: &str = concat!(
    "select ",
    request_columns_r!(),
    ", x.name as resident_name, x.phone as resident_phone, x.address as resident_address,
        x.user_id as resident_user_id, av.name as assignee_name, av.phone as assignee_phone
    from help_requests r join residents x on x.id = r.resident_id
    left join volunteers av on av.id = r.assignee_id where r.id = $1"
);

const ANSWER_OFFER: &str = "update dispatch_offers set answer = $3, answered_at = $4, decline_reason = $5
    where id = $1 and volunteer_id = $2 and request_id = $6 and answer is null and ($7 is null or expires_at > $7)";
const WITHDRAW_OPEN: &str = "update dispatch_offers set answer = 'withdrawn', answered_at = $2
    where request_id = $1 and answer is null";
const INSERT_OFFER: &str =
    "insert into dispatch_offers (id, request_id, community_id, volunteer_id, attempt, mode, score,
        breakdown, offered_by, offered_at, expires_at, answer, answered_at, decline_reason)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, null, null, null)";
const COUNT_OFFER_MADE: &str = "update volunteers set offers_made = offers_made + 1 where id = $1";
const COUNT_OFFER_ACCEPTED: &str =
    "update volunteers set offers_accepted = offers_accepted + 1 where id = $1";
const LOAD_UP: &str = "update volunteers set active_load = active_load + 1
    where id = $1 and active_load < max_concurrent";
const LOAD_DOWN: &str = "update volunteers set active_load = active_load - 1
    where id = $1 and active_load > 0";
const INSERT_RATING: &str =
    "insert into ratings (id, request_id, community_id, volunteer_id, rating, solved, comment,
        rated_by, rated_as, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const COUNT_RATING: &str =
    "update volunteers set rating_sum = rating_sum + $2, rating_count = rating_count + 1
    where id = $1";
const INSERT_HOURS: &str =
    "insert into service_hours (id, community_id, volunteer_id, source_type, source_id, minutes,
        verified_by, note, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const COUNT_MONTH: &str = "update volunteers set
        month_minutes = case when month_key = $2 then month_minutes + $3 else $3 end, month_key = $2
    where id = $1";
const INSERT_TIMER: &str =
    "insert into timers (id, community_id, kind, request_id, due_at, locked_until, created_at)
    values ($1, $2, $3, $4, $5, null, $6)";
const DROP_TIMERS: &str = "delete from timers where request_id = $1 and ($2 = '*' or kind = $2)";
const INSERT_EVENT: &str =
    "insert into request_events (id, request_id, community_id, kind, actor_id, from_status,
        to_status, data, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const INSERT_OUTBOX: &str =
    "insert into outbox (id, community_id, topic, aggregate_type, aggregate_id, payload,
        created_at, delivered_at) values ($1, $2, $3, 'help_request', $4, $5, $6, null)";
/// Taken first by changes that do not move the request (a decline), so that they queue behind
/// one another and behind transitions instead of each missing the others' offers.
const LOCK_REQUEST: &str = "update help_requests set updated_at = updated_at where id = $1";
pub(crate) const OPEN_OFFERS: &str =
    "select count(*) from dispatch_offers where request_id = $1 and answer is null";

/// The outbox message of a timeline event: what a webhook or live stream will carry.
fn outbox_payload(e: &EventRow) -> Value {
    json!({
        "event_id": e.id,
        "request_id": e.request_id,
        "community_id": e.community_id,
        "kind": e.kind,
        "actor_id": e.actor_id,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "data": e.data.0,
        "at": e.at,
    })
}

/// Writes the effects inside an open transaction `$tx`.
macro_rules! write_effects {
    ($tx:ident, $request_id:expr, $fx:expr) => {{
        let fx: &Effects = $fx;
        let request_id: Uuid = $request_id;
        if let Some(a) = &fx.answer_offer {
            let n = sqlx::query(ANSWER_OFFER)
                .bind(a.offer_id)
                .bind(a.volunteer_id)
                .bind(a.answer)
                .bind(fx.at)
                .bind(&a.reason)
                .bind(request_id)
                .bind(a.unexpired_at)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::Guard("offer_not_open"));
            }
            // An offer counts for reliability once answered (a withdrawn one never counts).
            sqlx::query(COUNT_OFFER_MADE)
                .bind(a.volunteer_id)
                .execute(&mut *$tx)
                .await?;
        }
        if fx.withdraw_open_offers {
            sqlx::query(WITHDRAW_OPEN)
                .bind(request_id)
                .bind(fx.at)
                .execute(&mut *$tx)
                .await?;
        }
        if let Some((volunteer, delta)) = fx.load {
            let sql = if delta > 0 { LOAD_UP } else { LOAD_DOWN };
            let n = sqlx::query(sql)
                .bind(volunteer)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            if n == 0 && delta > 0 {
                return Err(StoreError::Guard("load_cap_reached"));
            }
        }
        if let Some(v) = fx.accepted_by {
            sqlx::query(COUNT_OFFER_ACCEPTED)
                .bind(v)
                .execute(&mut *$tx)
                .await?;
        }
        for o in &fx.new_offers {
            sqlx::query(INSERT_OFFER)
                .bind(o.id)
                .bind(o.request_id)
                .bind(o.community_id)
                .bind(o.volunteer_id)
                .bind(o.attempt)
                .bind(&o.mode)
                .bind(o.score)
                .bind(&o.breakdown)
                .bind(o.offered_by)
                .bind(o.offered_at)
                .bind(o.expires_at)
                .execute(&mut *$tx)
                .await?;
        }
        if let Some(r) = &fx.rating {
            sqlx::query(INSERT_RATING)
                .bind(r.id)
                .bind(r.request_id)
                .bind(r.community_id)
                .bind(r.volunteer_id)
                .bind(r.rating)
                .bind(r.solved)
                .bind(&r.comment)
                .bind(r.rated_by)
                .bind(r.rated_as)
                .bind(r.at)
                .execute(&mut *$tx)
                .await?;
            if let Some(v) = r.volunteer_id {
                sqlx::query(COUNT_RATING)
                    .bind(v)
                    .bind(r.rating)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
        if let Some(h) = &fx.hours {
            sqlx::query(INSERT_HOURS)
                .bind(h.id)
                .bind(h.community_id)
                .bind(h.volunteer_id)
                .bind(h.source_type)
                .bind(h.source_id)
                .bind(h.minutes)
                .bind(h.verified_by)
                .bind(&h.note)
                .bind(h.at)
                .execute(&mut *$tx)
                .await?;
            sqlx::query(COUNT_MONTH)
                .bind(h.volunteer_id)
                .bind(&h.month_key)
                .bind(h.minutes)
                .execute(&mut *$tx)
                .await?;
        }
        for kind in &fx.drop_timers {
            sqlx::query(DROP_TIMERS)
                .bind(request_id)
                .bind(*kind)
                .execute(&mut *$tx)
                .await?;
        }
        for t in &fx.add_timers {
            sqlx::query(INSERT_TIMER)
                .bind(t.id)
                .bind(t.community_id)
                .bind(t.kind)
                .bind(t.request_id)
                .bind(t.due_at)
                .bind(t.due_at)
                .execute(&mut *$tx)
                .await?;
        }
        for e in &fx.events {
            sqlx::query(INSERT_EVENT)
                .bind(e.id)
                .bind(e.request_id)
                .bind(e.community_id)
                .bind(&e.kind)
                .bind(e.actor_id)
                .bind(&e.from_status)
                .bind(&e.to_status)
                .bind(&e.data)
                .bind(e.at)
                .execute(&mut *$tx)
                .await?;
            sqlx::query(INSERT_OUTBOX)
                .bind(Uuid::now_v7())
                .bind(e.community_id)
                .bind(format!("help_request.{}", e.kind))
                .bind(e.request_id)
                .bind(Json(outbox_payload(e)))
                .bind(e.at)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// Writes the request's new state `$r` if it is still at `$version`; the rows changed (0: stale).
macro_rules! update_state {
    ($tx:ident, $r:expr, $version:expr, $fx:expr) => {{
        let r: &HelpRequestRow = $r;
        let fx: &Effects = $fx;
        sqlx::query(UPDATE)
            .bind(r.id)
            .bind($version)
            .bind(r.urgency)
            .bind(r.status)
            .bind(r.dispatch_mode)
            .bind(r.attempts)
            .bind(r.assignee_id)
            .bind(r.respond_by)
            .bind(r.resolve_by)
            .bind(r.responded_at)
            .bind(r.started_at)
            .bind(r.completed_at)
            .bind(r.closed_at)
            .bind(&r.resolution_note)
            .bind(&r.close_reason)
            .bind(r.respond_reminded)
            .bind(r.resolve_reminded)
            .bind(r.respond_overdue)
            .bind(r.resolve_overdue)
            .bind(r.rating)
            .bind(r.solved)
            .bind(r.reopen_count)
            .bind(r.updated_at)
            .bind(fx.reset_resolve_flags)
            .bind(r.resolve_from)
            .execute(&mut *$tx)
            .await?
            .rows_affected()
    }};
}

/// Inside a transaction holding the request: its open offers due at `$at` expire, each counted
/// for its volunteer's reliability and told on the timeline. The volunteers whose offers expired.
macro_rules! expire_due {
    ($tx:ident, $request_id:expr, $at:expr) => {{
        const EXPIRE_DUE: &str = "update dispatch_offers set answer = 'expired', answered_at = $2
            where request_id = $1 and answer is null and expires_at <= $2
            returning id, volunteer_id, community_id";
        let request_id: Uuid = $request_id;
        let at: DateTime<Utc> = $at;
        let expired: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(EXPIRE_DUE).bind(request_id).bind(at).fetch_all(&mut *$tx).await?;
        let mut expired_volunteers: Vec<Uuid> = expired.iter().map(|e| e.1).collect();
        expired_volunteers.sort();
        for v in &expired_volunteers {
            sqlx::query(COUNT_OFFER_MADE).bind(v).execute(&mut *$tx).await?;
        }
        let events = Effects {
            at,
            events: expired.iter().map(|(offer, volunteer, community)| EventRow {
                id: Uuid::now_v7(),
                request_id,
                community_id: *community,
                kind: "offer_expired".into(),
                actor_id: None,
                from_status: None,
                to_status: None,
                data: Json(json!({"offer_id": offer, "volunteer_id": volunteer})),
                at,
            }).collect(),
            ..Effects::default()
        };
        write_effects!($tx, request_id, &events);
        expired.into_iter().map(|e| e.1).collect::<Vec<Uuid>>()
    }};
}

macro_rules! bind_request {
    ($q:expr, $r:expr) => {{
        let r: &HelpRequestRow = $r;
        $q.bind(r.id)
            .bind(r.community_id)
            .bind(r.resident_id)
            .bind(r.grid_id)
            .bind(r.service_type_id)
            .bind(r.placed_by)
            .bind(&r.placed_as)
            .bind(&r.caller_name)
            .bind(&r.caller_phone)
            .bind(&r.channel)
            .bind(&r.origin)
            .bind(&r.urgency)
            .bind(&r.description)
            .bind(&r.address)
            .bind(r.lat)
            .bind(r.lng)
            .bind(r.window_start)
            .bind(r.window_end)
            .bind(&r.status)
            .bind(&r.dispatch_mode)
            .bind(r.attempts)
            .bind(r.assignee_id)
            .bind(r.respond_by)
            .bind(r.resolve_by)
            .bind(r.resolve_from)
            .bind(r.responded_at)
            .bind(r.started_at)
            .bind(r.completed_at)
            .bind(r.closed_at)
            .bind(&r.resolution_note)
            .bind(&r.close_reason)
            .bind(r.respond_reminded)
            .bind(r.resolve_reminded)
            .bind(r.respond_overdue)
            .bind(r.resolve_overdue)
            .bind(r.rating)
            .bind(r.solved)
            .bind(r.reopen_count)
            .bind(r.version)
            .bind(r.created_at)
            .bind(r.updated_at)
    }};
}

/// Stores a new request inside another use case's transaction (needs found on a visit).
pub(crate) trait RequestExec {
    async fn insert_request(&mut self, r: &HelpRequestRow, fx: &Effects) -> StoreResult<()>;
    /// Effects that do not move a request (service hours credited for a visit).
    async fn write_effects(&mut self, request_id: Uuid, fx: &Effects) -> StoreResult<()>;
}

macro_rules! impl_request_exec {
    ($conn:ty) => {
        impl RequestExec for $conn {
            async fn insert_request(
                &mut self,
                r: &HelpRequestRow,
                fx: &Effects,
            ) -> StoreResult<()> {
                let tx = self;
                bind_request!(sqlx::query(INSERT), r)
                    .execute(&mut *tx)
                    .await?;
                write_effects!(tx, r.id, fx);
                Ok(())
            }

            async fn write_effects(&mut self, request_id: Uuid, fx: &Effects) -> StoreResult<()> {
                let tx = self;
                write_effects!(tx, request_id, fx);
                Ok(())
            }
        }
    };
}
impl_request_exec!(sqlx::SqliteConnection);
impl_request_exec!(sqlx::PgConnection);

/// Stores a new request with its first effects (timeline, first offers, timers).
pub async fn insert(db: &Db, r: &HelpRequestRow, fx: &Effects) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("help_request", r.id);
        bind_request!(sqlx::query(INSERT), r).execute(&mut *tx).await?;
        write_effects!(tx, r.id, fx);
        tx.commit().await?;
        Ok(())
    })
}

/// A new request with its effects and what another capability writes with it (Open311's row of
/// the posted request), in one transaction.
pub async fn insert_with(
    db: &Db,
    r: &HelpRequestRow,
    fx: &Effects,
    also: &dyn crate::store::TxWrites,
) -> StoreResult<()> {
    use crate::store::ApplyIn;
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("help_request", r.id);
        bind_request!(sqlx::query(INSERT), r).execute(&mut *tx).await?;
        write_effects!(tx, r.id, fx);
        also.apply_in(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// Writes the request's new state if it is still at `expected_version`, with its effects;
/// `StaleVersion` when someone else moved it first, nothing written on any refusal.
pub async fn apply(
    db: &Db,
    r: &HelpRequestRow,
    expected_version: i64,
    fx: &Effects,
) -> StoreResult<HelpRequestRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("help_request", r.id);
        let n = update_state!(tx, r, expected_version, fx);
        if n == 0 {
            let e: i64 = sqlx::query_scalar(EXISTS).bind(r.id).fetch_one(&mut *tx).await?;
            return Err(crate::store::stale_or_missing(e > 0));
        }
        write_effects!(tx, r.id, fx);
        let saved: HelpRequestRow = sqlx::query_as(GET).bind(r.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(saved)
    })
}

/// Sets the sweeper's flags and writes their events (reminders, overdue alerts).
/// `false` (nothing written) when the request moved since it was read at `r.version`.
pub async fn flag(db: &Db, r: &HelpRequestRow, fx: &Effects) -> StoreResult<bool> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(UPDATE_FLAGS).bind(r.id).bind(r.respond_reminded).bind(r.resolve_reminded)
            .bind(r.respond_overdue).bind(r.resolve_overdue).bind(r.version)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Ok(false);
        }
        write_effects!(tx, r.id, fx);
        tx.commit().await?;
        Ok(true)
    })
}

/// Answers offers without moving the request (a decline, an expiry) and reports how many of its
/// offers are still open afterwards. When none are, `then_if_none` is written too (a timer that
/// brings the next round), in the same transaction.
pub async fn answer_without_transition(
    db: &Db,
    request_id: Uuid,
    fx: &Effects,
    expire_due_at: Option<DateTime<Utc>>,
    then_if_none: &Effects,
) -> StoreResult<(Vec<Uuid>, i64)> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("help_request", request_id);
        let locked = sqlx::query(LOCK_REQUEST).bind(request_id).execute(&mut *tx).await?.rows_affected();
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let expired = match expire_due_at {
            Some(at) => expire_due!(tx, request_id, at),
            None => Vec::new(),
        };
        write_effects!(tx, request_id, fx);
        let open: i64 = sqlx::query_scalar(OPEN_OFFERS).bind(request_id).fetch_one(&mut *tx).await?;
        if open == 0 {
            write_effects!(tx, request_id, then_if_none);
        }
        tx.commit().await?;
        Ok((expired, open))
    })
}

/// An offer expiry with the round that follows, in one transaction: the request's offers due at
/// `at` expire, and when none is left open, `round` is written with them: the request's next
/// state planned on the row read at the given version, and its effects (offers, or escalation).
/// If the request moved since that read, or no round was planned, `then_if_none` is written
/// instead (a timer that plans the round again on the request as it is). Returns the offers
/// still open and whether the round was written.
pub async fn expire_offers(
    db: &Db,
    request_id: Uuid,
    at: DateTime<Utc>,
    round: Option<(&HelpRequestRow, i64, &Effects)>,
    then_if_none: &Effects,
) -> StoreResult<(i64, bool)> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let locked = sqlx::query(LOCK_REQUEST).bind(request_id).execute(&mut *tx).await?.rows_affected();
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let _volunteers = expire_due!(tx, request_id, at);
        let open: i64 = sqlx::query_scalar(OPEN_OFFERS).bind(request_id).fetch_one(&mut *tx).await?;
        let mut moved = false;
        if open == 0 {
            match round {
                Some((n, version, fx)) if update_state!(tx, n, version, fx) == 1 => {
                    write_effects!(tx, request_id, fx);
                    moved = true;
                }
                _ => write_effects!(tx, request_id, then_if_none),
            }
        }
        tx.commit().await?;
        Ok((open, moved))
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<HelpRequestRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

/// The request with its resident's brief, in one round trip.
pub async fn get_with_resident(db: &Db, id: Uuid) -> StoreResult<RequestWithResident> {
    on_db!(db, pool => Ok(sqlx::query_as(GET_WITH_RESIDENT).bind(id).fetch_one(pool).await?))
}
