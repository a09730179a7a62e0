//! The dispatch hard filters (DESIGN §4.1) as indexed queries over one area at a time: a box of
//! map cells around the request, the request's grid, or the community. Rows that pass carry what
//! the score needs; the service decides how far to look and how to rank.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Db, StoreResult, on_db};

/// What the hard filters test, for one request.
#[derive(Debug, Clone)]
pub struct Filters {
    pub community_id: Uuid,
    /// `,a,b,` — the required skills, each between commas.
    pub skills_csv: String,
    pub skill_count: i64,
    /// The requested window's weekday (1 = Monday) and minutes, in the community's time zone.
    pub weekday: i64,
    pub start_minute: i64,
    pub end_minute: i64,
    pub request_id: Uuid,
    pub resident_id: Uuid,
}

#[derive(Debug, Clone, Copy)]
pub enum Area {
    /// Cells `y0..=y1` × `x0..=x1`.
    Cells {
        y0: i64,
        y1: i64,
        x0: i64,
        x1: i64,
    },
    /// Volunteers without coordinates, of this home grid or (None) anywhere in the community.
    Unlocated {
        grid: Option<Uuid>,
    },
    /// Every volunteer of this home grid.
    Grid(Uuid),
    Community,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CandidateRow {
    pub id: Uuid,
    pub home_grid_id: Option<Uuid>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub max_concurrent: i64,
    pub active_load: i64,
    pub offers_made: i64,
    pub offers_accepted: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub month_key: String,
    pub month_minutes: i64,
}

macro_rules! candidate_select {
    () => {
        "select v.id, v.home_grid_id, v.lat, v.lng, v.max_concurrent, v.active_load, v.offers_made,
            v.offers_accepted, v.rating_sum, v.rating_count, v.month_key, v.month_minutes
        from volunteers v where v.community_id = $1 and v.status = 'active' "
    };
}

/// $1 community, $2 skills, $3 skill count, $4 weekday, $5/$6 minutes, $7 request, $8 resident.
macro_rules! hard_filters {
    () => {
        " and v.active_load < v.max_concurrent
          and (select count(*) from volunteer_skills s where s.volunteer_id = v.id
               and $2 like '%,' || replace(s.skill, '_', '\\_') || ',%' escape '\\') = $3
          and (not exists (select 1 from volunteer_availability a where a.volunteer_id = v.id)
               or exists (select 1 from volunteer_availability a where a.volunteer_id = v.id
                          and a.weekday = $4 and a.start_minute < $6 and a.end_minute > $5))
          and not exists (select 1 from dispatch_offers o where o.request_id = $7 and o.volunteer_id = v.id
                          and (o.answer is null or o.answer <> 'withdrawn'))
          and not exists (select 1 from resident_exclusions x where x.resident_id = $8 and x.volunteer_id = v.id) "
    };
}

/// Nearest cells first (and then by id, so both databases return the same rows), so that a box
/// holding more than `limit` eligible volunteers still yields the nearest.
const IN_CELLS: &str = concat!(
    candidate_select!(),
    "and v.cell_y between $10 and $11 and v.cell_x between $12 and $13",
    hard_filters!(),
    "order by abs(v.cell_y - ($10 + $11) / 2) + abs(v.cell_x - ($12 + $13) / 2), v.id limit $9"
);
const UNLOCATED: &str = concat!(
    candidate_select!(),
    "and v.cell_y is null and ($10 is null or v.home_grid_id = $10)",
    hard_filters!(),
    "order by v.id limit $9"
);
const IN_GRID: &str = concat!(
    candidate_select!(),
    "and v.home_grid_id = $10",
    hard_filters!(),
    "order by v.id limit $9"
);
const IN_COMMUNITY: &str = concat!(
    candidate_select!(),
    hard_filters!(),
    "order by v.id limit $9"
);

macro_rules! bind_filters {
    ($q:expr, $f:expr, $limit:expr) => {{
        let f: &Filters = $f;
        $q.bind(f.community_id)
            .bind(&f.skills_csv)
            .bind(f.skill_count)
            .bind(f.weekday)
            .bind(f.start_minute)
            .bind(f.end_minute)
            .bind(f.request_id)
            .bind(f.resident_id)
            .bind($limit)
    }};
}

/// Volunteers in `area` who pass every hard filter, at most `limit`.
pub async fn eligible(
    db: &Db,
    f: &Filters,
    area: Area,
    limit: i64,
) -> StoreResult<Vec<CandidateRow>> {
    on_db!(db, pool => {
        let rows = match area {
            Area::Cells { y0, y1, x0, x1 } => bind_filters!(sqlx::query_as(IN_CELLS), f, limit)
                .bind(y0).bind(y1).bind(x0).bind(x1).fetch_all(pool).await?,
            Area::Unlocated { grid } => bind_filters!(sqlx::query_as(UNLOCATED), f, limit)
                .bind(grid).fetch_all(pool).await?,
            Area::Grid(g) => bind_filters!(sqlx::query_as(IN_GRID), f, limit).bind(g).fetch_all(pool).await?,
            Area::Community => bind_filters!(sqlx::query_as(IN_COMMUNITY), f, limit).fetch_all(pool).await?,
        };
        Ok(rows)
    })
}

/// One volunteer near the request with the outcome of each hard filter, for the explanation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExplainRow {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub home_grid_id: Option<Uuid>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub max_concurrent: i64,
    pub active_load: i64,
    pub skill_matches: i64,
    pub available: bool,
    /// The answer of this volunteer's latest offer for the request (`open` while unanswered).
    pub previous_offer: Option<String>,
    pub excluded: bool,
}

const EXPLAIN: &str = "select v.id, v.name, v.status, v.home_grid_id, v.lat, v.lng, v.max_concurrent, v.active_load,
        (select count(*) from volunteer_skills s where s.volunteer_id = v.id
            and $2 like '%,' || replace(s.skill, '_', '\\_') || ',%' escape '\\') as skill_matches,
        case when (not exists (select 1 from volunteer_availability a where a.volunteer_id = v.id)
                   or exists (select 1 from volunteer_availability a where a.volunteer_id = v.id
                              and a.weekday = $4 and a.start_minute < $6 and a.end_minute > $5))
             then true else false end as available,
        (select coalesce(o.answer, 'open') from dispatch_offers o where o.request_id = $7 and o.volunteer_id = v.id
            order by o.offered_at desc limit 1) as previous_offer,
        case when exists (select 1 from resident_exclusions x where x.resident_id = $8 and x.volunteer_id = v.id)
             then true else false end as excluded
    from volunteers v
    where v.community_id = $1 and ($3 = $3)
      and (($10 is null and $11 is null) or v.home_grid_id = $10
           or (v.cell_y between $11 and $12 and v.cell_x between $13 and $14))
    order by v.id limit $9";

/// Up to `limit` volunteers of the request's grid or cells, eligible or not, with each filter's
/// outcome.
pub async fn explain(
    db: &Db,
    f: &Filters,
    grid: Option<Uuid>,
    cells: Option<(i64, i64, i64, i64)>,
    limit: i64,
) -> StoreResult<Vec<ExplainRow>> {
    let (y0, y1, x0, x1) = match cells {
        Some(c) => (Some(c.0), Some(c.1), Some(c.2), Some(c.3)),
        None => (None, None, None, None),
    };
    on_db!(db, pool => Ok(bind_filters!(sqlx::query_as(EXPLAIN), f, limit)
        .bind(grid).bind(y0).bind(y1).bind(x0).bind(x1)
        .fetch_all(pool).await?))
}

/// What a dispatch decision reads about its community besides the candidates.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommunityStats {
    pub month_key: String,
    pub median_month_minutes: i64,
    pub unlocated: i64,
    pub search_radius: i64,
    pub computed_at: DateTime<Utc>,
}

const STATS: &str = "select month_key, median_month_minutes, unlocated, search_radius, computed_at
    from community_stats where community_id = $1";
const MONTH_MINUTES: &str =
    "select case when month_key = $2 then month_minutes else 0 end from volunteers
    where community_id = $1 and status = 'active'";
const UNLOCATED_COUNT: &str = "select count(*) from volunteers where community_id = $1 and status = 'active' and cell_y is null";
const SAVE_STATS: &str =
    "insert into community_stats (community_id, month_key, median_month_minutes, unlocated,
        search_radius, computed_at)
    values ($1, $2, $3, $4, $5, $6)
    on conflict (community_id) do update set month_key = excluded.month_key,
        median_month_minutes = excluded.median_month_minutes, unlocated = excluded.unlocated,
        computed_at = excluded.computed_at";
const SAVE_RADIUS: &str = "update community_stats set search_radius = $2 where community_id = $1";

pub async fn stats(db: &Db, community_id: Uuid) -> StoreResult<Option<CommunityStats>> {
    on_db!(db, pool => Ok(sqlx::query_as(STATS).bind(community_id).fetch_optional(pool).await?))
}

/// Every active volunteer's minutes this month (a scan; run now and then, not per dispatch).
pub async fn month_minutes(db: &Db, community_id: Uuid, month_key: &str) -> StoreResult<Vec<i64>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(MONTH_MINUTES).bind(community_id).bind(month_key)
        .fetch_all(pool).await?))
}

pub async fn unlocated_count(db: &Db, community_id: Uuid) -> StoreResult<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(UNLOCATED_COUNT).bind(community_id).fetch_one(pool).await?))
}

/// Saves refreshed statistics; the search radius is kept if a row exists.
pub async fn save_stats(db: &Db, community_id: Uuid, s: &CommunityStats) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(SAVE_STATS).bind(community_id).bind(&s.month_key).bind(s.median_month_minutes)
            .bind(s.unlocated).bind(s.search_radius).bind(s.computed_at)
            .execute(pool).await?;
    });
    Ok(())
}

pub async fn save_radius(db: &Db, community_id: Uuid, radius: i64) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(SAVE_RADIUS).bind(community_id).bind(radius).execute(pool).await?;
    });
    Ok(())
}

const FEATURES_OF: &str =
    "select v.id, v.home_grid_id, v.lat, v.lng, v.max_concurrent, v.active_load, v.offers_made,
        v.offers_accepted, v.rating_sum, v.rating_count, v.month_key, v.month_minutes
    from volunteers v where v.id = $1";

/// What the score needs of one volunteer, without any filter (a dispatcher's own pick).
pub async fn features_of(db: &Db, volunteer_id: Uuid) -> StoreResult<CandidateRow> {
    on_db!(db, pool => Ok(sqlx::query_as(FEATURES_OF).bind(volunteer_id).fetch_one(pool).await?))
}

const VOLUNTEER_OF_USER: &str =
    "select id from volunteers where user_id = $1 and community_id = $2";

/// The volunteer profile of an account in a community.
pub async fn volunteer_of_user(
    db: &Db,
    user_id: Uuid,
    community_id: Uuid,
) -> StoreResult<Option<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(VOLUNTEER_OF_USER).bind(user_id).bind(community_id)
        .fetch_optional(pool).await?))
}

const WELL_RATED: &str = "select distinct assignee_id from help_requests
    where resident_id = $1 and rating >= $2 and assignee_id is not null";

/// Volunteers who served this resident before and were rated at least `min_rating`.
pub async fn well_rated_servers(
    db: &Db,
    resident_id: Uuid,
    min_rating: i64,
) -> StoreResult<Vec<Uuid>> {
    let ids: Vec<Option<Uuid>> = on_db!(db, pool => sqlx::query_scalar(WELL_RATED)
        .bind(resident_id).bind(min_rating).fetch_all(pool).await?);
    Ok(ids.into_iter().flatten().collect())
}
