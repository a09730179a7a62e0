//! Volunteers' answers to a mobilisation ("can't come") and its audience as one query: whom it
//! calls (for the relay's notifications, for who may see it) and how they answered (the live
//! counts), whatever the audience's size.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

/// Whom a mobilisation calls: the active volunteers (with an active account) of its community,
/// those in any chosen grid, team or skill when some are chosen, and, with `windows`, only those
/// who declared no weekly availability or one overlapping a window.
#[derive(Debug, Clone, Copy)]
pub struct Reach<'a> {
    pub community_id: Uuid,
    pub grid_ids: &'a [Uuid],
    pub team_ids: &'a [Uuid],
    pub skills: &'a [String],
    /// `(weekday, start_minute, end_minute)`; `None`: whatever their weekly hours.
    pub windows: Option<&'a [(i64, i64, i64)]>,
}

/// Pushes `from volunteers v … where …` for `$r` onto the query builder `$q`: one statement
/// whatever the audience's size, the lists bound one value each (at most 200 names).
macro_rules! push_reach {
    ($q:ident, $r:expr) => {{
        let r: &Reach = $r;
        $q.push(" from volunteers v join users u on u.id = v.user_id where v.community_id = ");
        $q.push_bind(r.community_id);
        $q.push(" and v.status = 'active' and u.active");
        if !(r.grid_ids.is_empty() && r.team_ids.is_empty() && r.skills.is_empty()) {
            $q.push(" and (1 = 0");
            if !r.grid_ids.is_empty() {
                $q.push(" or v.home_grid_id in (");
                let mut l = $q.separated(", ");
                for g in r.grid_ids {
                    l.push_bind(*g);
                }
                $q.push(")");
            }
            if !r.team_ids.is_empty() {
                $q.push(" or exists (select 1 from team_members t where t.volunteer_id = v.id and t.team_id in (");
                let mut l = $q.separated(", ");
                for t in r.team_ids {
                    l.push_bind(*t);
                }
                $q.push("))");
            }
            if !r.skills.is_empty() {
                $q.push(" or exists (select 1 from volunteer_skills s where s.volunteer_id = v.id and s.skill in (");
                let mut l = $q.separated(", ");
                for s in r.skills {
                    l.push_bind(s.clone());
                }
                $q.push("))");
            }
            $q.push(")");
        }
        if let Some(w) = r.windows {
            $q.push(" and (not exists (select 1 from volunteer_availability a where a.volunteer_id = v.id)
                or exists (select 1 from volunteer_availability a where a.volunteer_id = v.id and (1 = 0");
            for &(day, from, to) in w {
                $q.push(" or (a.weekday = ");
                $q.push_bind(day);
                $q.push(" and a.start_minute < ");
                $q.push_bind(to);
                $q.push(" and a.end_minute > ");
                $q.push_bind(from);
                $q.push(")");
            }
            $q.push(")))");
        }
    }};
}

/// The accounts of everyone `r` reaches, in one query.
pub async fn reached_users(db: &Db, r: &Reach<'_>) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => {
        let mut q = sqlx::QueryBuilder::new("select v.user_id");
        push_reach!(q, r);
        q.push(" order by v.user_id");
        Ok(q.build_query_scalar().fetch_all(pool).await?)
    })
}

/// Whether `r` reaches the volunteer.
pub async fn reaches(db: &Db, r: &Reach<'_>, volunteer_id: Uuid) -> StoreResult<bool> {
    on_db!(db, pool => {
        let mut q = sqlx::QueryBuilder::new("select count(*)");
        push_reach!(q, r);
        q.push(" and v.id = ");
        q.push_bind(volunteer_id);
        let n: i64 = q.build_query_scalar().fetch_one(pool).await?;
        Ok(n > 0)
    })
}

// A decline counts while no sign-up of the volunteer is live or came after it: signing up
// undoes it, and withdrawing later leaves no answer until they answer again.
macro_rules! cant {
    () => {
        "exists (select 1 from mobilisation_responses x where x.mobilisation_id = m.id
            and x.volunteer_id = v.id and not exists (select 1 from mobilisation_signups g
            where g.mobilisation_id = m.id and g.volunteer_id = v.id
            and (g.status in ('confirmed', 'waiting') or g.created_at > x.answered_at)))"
    };
}
macro_rules! coming {
    () => {
        "exists (select 1 from mobilisation_signups g where g.mobilisation_id = m.id
            and g.volunteer_id = v.id and g.status in ('confirmed', 'waiting'))"
    };
}

/// How the people `r` reaches answered mobilisation `m`: `(reached, coming, cant)`.
pub async fn reach_answers(
    db: &Db,
    r: &Reach<'_>,
    mobilisation_id: Uuid,
) -> StoreResult<(i64, i64, i64)> {
    on_db!(db, pool => {
        let mut q = sqlx::QueryBuilder::new(concat!(
            "select count(*), coalesce(sum(case when ", coming!(), " then 1 else 0 end), 0),
                coalesce(sum(case when ", cant!(), " then 1 else 0 end), 0)
            from (select id from mobilisations where id = "));
        q.push_bind(mobilisation_id);
        q.push(") m cross join (select v.id");
        push_reach!(q, r);
        q.push(") v");
        let (n, coming, cant): (i64, i64, i64) = q.build_query_as().fetch_one(pool).await?;
        Ok((n, coming, cant))
    })
}

const TOTALS: &str = concat!(
    "select (select count(*) from mobilisation_signups g where g.mobilisation_id = m.id
        and g.status in ('confirmed', 'waiting')),
    (select count(*) from volunteers v where v.id in (select r.volunteer_id
        from mobilisation_responses r where r.mobilisation_id = m.id) and ",
    cant!(),
    ")
    from mobilisations m where m.id = $1"
);

/// Everyone coming (a live sign-up) and everyone who can't, in the audience or not.
pub async fn totals(db: &Db, mobilisation_id: Uuid) -> StoreResult<(i64, i64)> {
    on_db!(db, pool => Ok(sqlx::query_as(TOTALS).bind(mobilisation_id).fetch_one(pool).await?))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResponseRow {
    pub mobilisation_id: Uuid,
    pub volunteer_id: Uuid,
    pub community_id: Uuid,
    pub answer: String,
    pub reason: Option<String>,
    pub answered_at: DateTime<Utc>,
}

const LOCK_VOLUNTEER: &str = "update volunteers set status = status where id = $1";
const RUNNING: &str =
    "select count(*) from mobilisations where id = $1 and status in ('published', 'closed')";
const LIVE: &str = "select count(*) from mobilisation_signups where mobilisation_id = $1
    and volunteer_id = $2 and status in ('confirmed', 'waiting')";
const DECLINE: &str = "insert into mobilisation_responses (mobilisation_id, volunteer_id,
        community_id, answer, reason, answered_at) values ($1, $2, $3, 'cant', $4, $5)
    on conflict (mobilisation_id, volunteer_id)
    do update set reason = excluded.reason, answered_at = excluded.answered_at
    returning mobilisation_id, volunteer_id, community_id, answer, reason, answered_at";

/// Records that the volunteer can't come (again: the latest reason and time). `not_open` when
/// the mobilisation no longer runs, `already_signed_up` while they hold a live sign-up.
pub async fn decline(
    db: &Db,
    mobilisation_id: Uuid,
    volunteer_id: Uuid,
    community_id: Uuid,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<ResponseRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mobilisation", mobilisation_id);
        // A sign-up takes the volunteer's row too: the two never cross.
        sqlx::query(LOCK_VOLUNTEER).bind(volunteer_id).execute(&mut *tx).await?;
        let running: i64 = sqlx::query_scalar(RUNNING).bind(mobilisation_id).fetch_one(&mut *tx).await?;
        if running == 0 {
            return Err(StoreError::Guard("not_open"));
        }
        let live: i64 = sqlx::query_scalar(LIVE).bind(mobilisation_id).bind(volunteer_id)
            .fetch_one(&mut *tx).await?;
        if live > 0 {
            return Err(StoreError::Guard("already_signed_up"));
        }
        let row: ResponseRow = sqlx::query_as(DECLINE).bind(mobilisation_id).bind(volunteer_id)
            .bind(community_id).bind(reason).bind(at).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}
