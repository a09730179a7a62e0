//! Generation of plan visits and missed windows. Generation takes its plans with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has one writer), and the unique key (plan,
//! epoch, window) makes a second run create nothing.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use uuid::Uuid;

use super::visits::{VisitEvent, VisitExec, VisitRow, visit_columns};
use crate::domain::visit::{Action, Status};
use crate::store::{BeginWrite, Db, StoreResult, on_db};

/// An active plan due for generation, with what computing its windows needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DuePlan {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub care_level: Option<String>,
    pub frequency_days: Option<i64>,
    pub contact_kinds: String,
    pub anchor_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub epoch: i64,
    pub next_seq: i64,
}

/// What generation made of one plan: its new visits and where it continues.
#[derive(Debug, Clone)]
pub struct Generated {
    pub plan_id: Uuid,
    pub visits: Vec<VisitRow>,
    pub next_seq: i64,
    pub next_start: Option<DateTime<Utc>>,
}

const INSERT_VISITS_PG: &str = "insert into visits (id, community_id, resident_id, grid_id, plan_id,
    epoch, seq, reason, contact_kind, window_start, window_end, status, version, created_at, updated_at)
    select u.id, u.community_id, u.resident_id, u.grid_id, u.plan_id, u.epoch, u.seq, u.reason,
        u.contact_kind, u.window_start, u.window_end, u.status, 1, $10, $10
    from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::bigint[], $7::bigint[],
        $8::text[], $9::timestamptz[], $11::timestamptz[], $12::text[], $13::text[])
        as u(id, community_id, resident_id, grid_id, plan_id, epoch, seq, contact_kind, window_start,
            window_end, reason, status)
    on conflict (plan_id, epoch, seq) do nothing";
const ADVANCE_PLAN: &str =
    "update visit_plans set next_seq = $2, next_start = $3 where id = $1 and epoch = $4";
const ADVANCE_PLANS_PG: &str = "update visit_plans p set next_seq = u.seq, next_start = u.start
    from unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::bigint[]) as u(id, seq, start, epoch)
    where p.id = u.id and p.epoch = u.epoch";
const DUE_PLANS_PG: &str = "select p.id, p.community_id, p.resident_id, r.grid_id, r.care_level,
    p.frequency_days, p.contact_kinds, p.anchor_on, p.ends_on, p.epoch, p.next_seq
    from visit_plans p join residents r on r.id = p.resident_id
    where p.community_id = $3 and p.active and p.next_start < $1
    order by p.next_start limit $2 for update of p skip locked";
const DUE_PLANS_SQLITE: &str =
    "select p.id, p.community_id, p.resident_id, r.grid_id, r.care_level,
    p.frequency_days, p.contact_kinds, p.anchor_on, p.ends_on, p.epoch, p.next_seq
    from visit_plans p join residents r on r.id = p.resident_id
    where p.community_id = $3 and p.active and p.next_start < $1
    order by p.next_start limit $2";
const ANY_DUE_PLAN: &str = "select count(*) from (select 1 from visit_plans p
    where p.community_id = $1 and p.active and p.next_start < $2 limit 1) x";
// The active communities with an active plan due within the community's own horizon: one
// index probe (`visit_plans_due`) per community. The horizon's end, `$1` plus that many days, is
// reckoned per row in each dialect. PostgreSQL adds hours, not days, so that it is `now + days`
// of Rust whatever the session's zone. SQLite holds timestamps as RFC 3339 text compared as
// text (`2026-11-30T10:00:00.5+00:00`): the days are added to the date and time of `$1` and its
// fraction and offset kept, which is the text of `now + days` exactly.
const DUE_COMMUNITIES_PG: &str = "select c.id from communities c where c.active and exists (
    select 1 from visit_plans p where p.community_id = c.id and p.active
      and p.next_start < $1 + make_interval(hours => 24 * c.visit_horizon_days))
    order by c.id";
const DUE_COMMUNITIES_SQLITE: &str = "select c.id from communities c where c.active and exists (
    select 1 from visit_plans p where p.community_id = c.id and p.active
      and p.next_start < strftime('%Y-%m-%dT%H:%M:%S', substr($1, 1, 19),
          '+' || c.visit_horizon_days || ' days') || substr($1, 20))
    order by c.id";
const ANY_MISSED: &str = "select count(*) from (select 1 from visits v
    where v.status = $2 and v.window_end <= $1 limit 1) x";
const DUE_MISSED: &str = concat!(
    "select ",
    visit_columns!(),
    " from visits v where v.status = $3 and v.window_end <= $1 order by v.window_end limit $2"
);
const DUE_UNANNOUNCED: &str = concat!(
    "select ",
    visit_columns!(),
    " from visits v where v.due_announced_at is null and v.window_start <= $1
      order by v.window_start limit $2"
);
const ANNOUNCE: &str =
    "update visits set due_announced_at = $2 where id = $1 and due_announced_at is null";
const MARK_MISSED: &str = "update visits set status = $4, version = version + 1, updated_at = $2
    where id = $1 and status = $3";

/// The active communities with a plan due for generation before `now` plus the community's
/// horizon (`communities.visit_horizon_days`, kept with its policy): the sweeper's one question
/// per tick, whatever the number of communities.
pub async fn due_communities(db: &Db, now: DateTime<Utc>) -> StoreResult<Vec<Uuid>> {
    Ok(match db {
        Db::Postgres(pool) => {
            sqlx::query_scalar(DUE_COMMUNITIES_PG)
                .bind(now)
                .fetch_all(pool)
                .await?
        }
        Db::Sqlite(pool) => {
            sqlx::query_scalar(DUE_COMMUNITIES_SQLITE)
                .bind(now)
                .fetch_all(pool)
                .await?
        }
    })
}

/// Whether any of the community's plans is due for generation before `until`: a read, so that
/// the job takes no write lock when there is nothing to do.
pub async fn any_due(db: &Db, community_id: Uuid, until: DateTime<Utc>) -> StoreResult<bool> {
    let n: i64 = on_db!(db, pool => sqlx::query_scalar(ANY_DUE_PLAN).bind(community_id).bind(until)
        .fetch_one(pool).await)?;
    Ok(n > 0)
}

/// Whether any scheduled visit's window has ended by `now`.
pub async fn any_missed(db: &Db, now: DateTime<Utc>) -> StoreResult<bool> {
    let m = super::bulk(Action::Miss)?;
    let n: i64 = on_db!(db, pool => sqlx::query_scalar(ANY_MISSED).bind(now).bind(m.from.as_str()).fetch_one(pool).await)?;
    Ok(n > 0)
}

/// Takes up to `limit` of a community's plans due for generation before `until`, lets `compute` make their
/// windows, and stores the visits and each plan's new cursor in one transaction. Returns how
/// many plans were taken and visits created.
pub async fn generate_batch(
    db: &Db,
    community_id: Uuid,
    until: DateTime<Utc>,
    limit: i64,
    now: DateTime<Utc>,
    compute: impl Fn(&DuePlan) -> Generated,
) -> StoreResult<(usize, u64)> {
    match db {
        Db::Postgres(pool) => {
            let mut tx = pool.begin_write().await?;
            let due: Vec<DuePlan> = sqlx::query_as(DUE_PLANS_PG)
                .bind(until)
                .bind(limit)
                .bind(community_id)
                .fetch_all(&mut *tx)
                .await?;
            let made: Vec<Generated> = due.iter().map(&compute).collect();
            let visits = made.iter().flat_map(|g| g.visits.iter());
            let n = visits.clone().count();
            let mut cols = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for v in visits {
                cols.0.push(v.id);
                cols.1.push(v.community_id);
                cols.2.push(v.resident_id);
                cols.3.push(v.grid_id);
                cols.4.push(v.plan_id);
                cols.5.push(v.epoch);
                cols.6.push(v.seq);
                cols.7.push(v.contact_kind);
                cols.8.push(v.window_start);
                cols.9.push(v.window_end);
                cols.10.push(v.reason);
                cols.11.push(v.status);
            }
            let created = sqlx::query(INSERT_VISITS_PG)
                .bind(cols.0)
                .bind(cols.1)
                .bind(cols.2)
                .bind(cols.3)
                .bind(cols.4)
                .bind(cols.5)
                .bind(cols.6)
                .bind(cols.7)
                .bind(cols.8)
                .bind(now)
                .bind(cols.9)
                .bind(cols.10)
                .bind(cols.11)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let ids: Vec<Uuid> = made.iter().map(|g| g.plan_id).collect();
            let seqs: Vec<i64> = made.iter().map(|g| g.next_seq).collect();
            let starts: Vec<Option<DateTime<Utc>>> = made.iter().map(|g| g.next_start).collect();
            let epochs: Vec<i64> = due.iter().map(|d| d.epoch).collect();
            sqlx::query(ADVANCE_PLANS_PG)
                .bind(ids)
                .bind(seqs)
                .bind(starts)
                .bind(epochs)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok((due.len(), created))
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_write().await?;
            let due: Vec<DuePlan> = sqlx::query_as(DUE_PLANS_SQLITE)
                .bind(until)
                .bind(limit)
                .bind(community_id)
                .fetch_all(&mut *tx)
                .await?;
            let mut created = 0;
            for (d, g) in due.iter().map(|d| (d, compute(d))) {
                for v in &g.visits {
                    created += tx.insert_visit(v).await?;
                }
                sqlx::query(ADVANCE_PLAN)
                    .bind(g.plan_id)
                    .bind(g.next_seq)
                    .bind(g.next_start)
                    .bind(d.epoch)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok((due.len(), created))
        }
    }
}

/// Marks up to `limit` scheduled visits whose window ended by `now` as missed, each with its
/// alert event, and returns them.
pub async fn mark_missed(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<VisitRow>> {
    let m = super::bulk(Action::Miss)?;
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let due: Vec<VisitRow> = sqlx::query_as(DUE_MISSED).bind(now).bind(limit).bind(m.from.as_str())
            .fetch_all(&mut *tx).await?;
        let mut out = Vec::with_capacity(due.len());
        for v in due {
            let n = sqlx::query(MARK_MISSED).bind(v.id).bind(now).bind(m.from.as_str()).bind(m.to.as_str())
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                continue;
            }
            tx.visit_event(&VisitEvent {
                visit_id: v.id,
                community_id: v.community_id,
                kind: "missed",
                actor_id: None,
                data: json!({"resident_id": v.resident_id, "grid_id": v.grid_id,
                    "window_end": v.window_end, "alert": "visit_missed",
                    "notify": ["grid_worker", "dispatchers"]}),
                at: now,
            }).await?;
            out.push(v);
        }
        tx.commit().await?;
        Ok(out)
    })
}

/// Takes up to `limit` visits whose window has opened by `now` off the announcement queue,
/// announcing the scheduled ones to their care team (event `due`), once each; how many it took.
pub async fn announce_due(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<usize> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let due: Vec<VisitRow> = sqlx::query_as(DUE_UNANNOUNCED).bind(now).bind(limit)
            .fetch_all(&mut *tx).await?;
        let n = due.len();
        for v in due {
            let marked = sqlx::query(ANNOUNCE).bind(v.id).bind(now).execute(&mut *tx).await?.rows_affected();
            // Visits already under way, done or cancelled leave the queue untold.
            if marked == 0 || v.status != Status::Scheduled {
                continue;
            }
            tx.visit_event(&VisitEvent {
                visit_id: v.id,
                community_id: v.community_id,
                kind: "due",
                actor_id: None,
                data: json!({"resident_id": v.resident_id, "grid_id": v.grid_id, "reason": v.reason,
                    "window_start": v.window_start, "window_end": v.window_end}),
                at: now,
            }).await?;
        }
        tx.commit().await?;
        Ok(n)
    })
}
