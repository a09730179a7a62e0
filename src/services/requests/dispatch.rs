//! The dispatch engine (DESIGN §4): candidates, score, offers, escalation. No HTTP in here.
//!
//! Candidates are looked for near the request first (a box of map cells that widens until
//! enough volunteers pass the hard filters), so a decision costs about the same in a community
//! of a thousand volunteers as in one of a hundred thousand. Everything the score used is
//! stored with each offer.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::help_request::{Action, DispatchMode, Status, next};
use crate::domain::policy::CommunityPolicy;
use crate::domain::score::{self, Breakdown, Features};
use crate::domain::time_zone::TimeZone;
use crate::domain::urgency::Urgency;
use crate::services::requests::lifecycle::{event, timer};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::requests::candidates::{self, Area, CandidateRow, CommunityStats, Filters};
use crate::store::requests::help_requests::{Effects, HelpRequestRow, OfferRow};
use crate::store::{self, StoreError};

/// Rank at least this many eligible volunteers before choosing.
pub const POOL: usize = 20;
/// Search radii, in map cells around the request's cell (0 = that cell alone, 40 ≈ 9 km).
const RADII: [i64; 6] = [0, 1, 3, 7, 15, 40];
/// Most rows one area query returns.
const AREA_LIMIT: i64 = 200;
/// The community median of monthly minutes is refreshed at most this often.
const MEDIAN_TTL_MINUTES: i64 = 10;

/// What one community's rules say about dispatch, read once per decision.
pub struct Rules {
    pub policy: CommunityPolicy,
    pub tz: Tz,
}

pub async fn rules(ctx: &AppState, community_id: Uuid) -> ServiceResult<Rules> {
    let c = store::registry::communities::get(&ctx.db, community_id).await?;
    Ok(Rules {
        policy: crate::services::registry::communities::policy_of(&c),
        tz: TimeZone::parse(&c.time_zone).unwrap_or_default().tz(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    pub volunteer_id: Uuid,
    pub score: f64,
    pub breakdown: Breakdown,
}

/// `YYYY-MM` of `at` in the community's zone: the month the fairness term counts.
pub fn month_key(at: DateTime<Utc>, tz: Tz) -> String {
    let l = at.with_timezone(&tz);
    format!("{:04}-{:02}", l.year(), l.month())
}

/// The weekday and minutes of the requested window (or of `now`) in the community's zone.
fn window(r: &HelpRequestRow, tz: Tz, now: DateTime<Utc>) -> (i64, i64, i64) {
    let start = r.window_start.unwrap_or(now).with_timezone(&tz);
    let weekday = i64::from(start.weekday().number_from_monday());
    let s = i64::from(start.hour() * 60 + start.minute());
    let e = match r.window_end.map(|e| e.with_timezone(&tz)) {
        Some(end) if end.date_naive() == start.date_naive() => {
            i64::from(end.hour() * 60 + end.minute()).max(s + 1)
        }
        Some(_) => 24 * 60,
        None => s + 1,
    };
    (weekday, s, e)
}

pub fn filters(r: &HelpRequestRow, skills: &[String], tz: Tz, now: DateTime<Utc>) -> Filters {
    let (weekday, start_minute, end_minute) = window(r, tz, now);
    let mut csv = String::from(",");
    for s in skills {
        csv.push_str(s);
        csv.push(',');
    }
    Filters {
        community_id: r.community_id,
        skills_csv: csv,
        skill_count: skills.len() as i64,
        weekday,
        start_minute,
        end_minute,
        request_id: r.id,
        resident_id: r.resident_id,
    }
}

/// The community's dispatch statistics, recomputed when older than the TTL or of another month.
async fn community_stats(
    ctx: &AppState,
    community_id: Uuid,
    month: &str,
    now: DateTime<Utc>,
) -> ServiceResult<CommunityStats> {
    let fresh_after = now - Duration::minutes(MEDIAN_TTL_MINUTES);
    let cached = candidates::stats(&ctx.db, community_id).await?;
    if let Some(s) = &cached
        && s.month_key == month
        && s.computed_at >= fresh_after
    {
        return Ok(s.clone());
    }
    let (all, unlocated) = tokio::join!(
        candidates::month_minutes(&ctx.db, community_id, month),
        candidates::unlocated_count(&ctx.db, community_id)
    );
    let mut all = all?;
    all.sort_unstable();
    let s = CommunityStats {
        month_key: month.to_string(),
        median_month_minutes: all.get(all.len() / 2).copied().unwrap_or(0),
        unlocated: unlocated?,
        search_radius: cached.map_or(0, |c| c.search_radius),
        computed_at: now,
    };
    candidates::save_stats(&ctx.db, community_id, &s).await?;
    Ok(s)
}

/// Eligible volunteers near the request, at least `POOL` when the community has them.
///
/// The box starts at the radius that last sufficed in this community (so a steady community
/// costs one query), widens while too few pass the filters, and narrows when the box holds
/// more than one query returns, so the pool stays the nearest volunteers.
async fn pool(
    ctx: &AppState,
    r: &HelpRequestRow,
    f: &Filters,
    want: usize,
    stats: &CommunityStats,
) -> ServiceResult<Vec<CandidateRow>> {
    let target = want.max(POOL);
    let mut found: Vec<CandidateRow> = Vec::new();
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut add = |rows: Vec<CandidateRow>, found: &mut Vec<CandidateRow>| {
        for row in rows {
            if seen.insert(row.id) {
                found.push(row);
            }
        }
    };
    let Some((lat, lng)) = r.lat.zip(r.lng) else {
        if let Some(g) = r.grid_id {
            add(
                candidates::eligible(&ctx.db, f, Area::Grid(g), AREA_LIMIT).await?,
                &mut found,
            );
        }
        if found.len() < target {
            add(
                candidates::eligible(&ctx.db, f, Area::Community, AREA_LIMIT).await?,
                &mut found,
            );
        }
        return Ok(found);
    };
    let (y, x) = score::cell(lat, lng);
    let area = |i: usize| Area::Cells {
        y0: y - RADII[i],
        y1: y + RADII[i],
        x0: x - RADII[i],
        x1: x + RADII[i],
    };
    let start = usize::try_from(stats.search_radius)
        .unwrap_or(0)
        .min(RADII.len() - 1);
    // Volunteers without a location are asked for alongside the first box.
    let unlocated_limit = (want as i64 * 5).max(5);
    let (first, unlocated) = tokio::join!(
        candidates::eligible(&ctx.db, f, area(start), AREA_LIMIT),
        async {
            if stats.unlocated > 0 {
                candidates::eligible(
                    &ctx.db,
                    f,
                    Area::Unlocated { grid: r.grid_id },
                    unlocated_limit,
                )
                .await
                .map(Some)
            } else {
                Ok(None)
            }
        }
    );
    let mut i = start;
    let mut rows = first?;
    if rows.len() as i64 >= AREA_LIMIT && i > 0 {
        // Crowded: look closer, keeping the crowded box's rows if the closer one has too few.
        let closer = candidates::eligible(&ctx.db, f, area(i - 1), AREA_LIMIT).await?;
        if closer.len() >= target {
            i -= 1;
            rows = closer;
        } else {
            add(closer, &mut found);
        }
    } else {
        while rows.len() < target && i + 1 < RADII.len() {
            i += 1;
            rows = candidates::eligible(&ctx.db, f, area(i), AREA_LIMIT).await?;
        }
    }
    add(rows, &mut found);
    if i != start {
        candidates::save_radius(&ctx.db, r.community_id, i as i64).await?;
    }
    if let Some(u) = unlocated? {
        add(u, &mut found);
    }
    if found.len() < target && r.grid_id.is_some() && stats.unlocated > 0 {
        let anywhere = Area::Unlocated { grid: None };
        add(
            candidates::eligible(&ctx.db, f, anywhere, AREA_LIMIT).await?,
            &mut found,
        );
    }
    Ok(found)
}

pub fn features(
    c: &CandidateRow,
    r: &HelpRequestRow,
    month: &str,
    median: i64,
    continuity: &[Uuid],
) -> Features {
    let distance_m = match (c.lat, c.lng, r.lat, r.lng) {
        (Some(a), Some(b), Some(x), Some(y)) => Some(score::distance_m(a, b, x, y)),
        _ => None,
    };
    Features {
        distance_m,
        same_grid: c.home_grid_id.is_some() && c.home_grid_id == r.grid_id,
        active_load: c.active_load,
        max_concurrent: c.max_concurrent,
        offers_made: c.offers_made,
        offers_accepted: c.offers_accepted,
        rating_sum: c.rating_sum,
        rating_count: c.rating_count,
        month_minutes: if c.month_key == month {
            c.month_minutes
        } else {
            0
        },
        median_month_minutes: median,
        continuity: continuity.contains(&c.id),
    }
}

/// What scoring needs besides the candidates: the month, its median and who served this
/// resident well before. Fetched concurrently.
async fn context(
    ctx: &AppState,
    rules: &Rules,
    r: &HelpRequestRow,
    now: DateTime<Utc>,
) -> ServiceResult<(String, CommunityStats, Vec<Uuid>)> {
    let month = month_key(now, rules.tz);
    let (stats, well_rated) = tokio::join!(
        community_stats(ctx, r.community_id, &month, now),
        store::requests::candidates::well_rated_servers(
            &ctx.db,
            r.resident_id,
            i64::from(rules.policy.rating.satisfied_from),
        )
    );
    Ok((month, stats?, well_rated?))
}

fn score_with(
    rules: &Rules,
    r: &HelpRequestRow,
    rows: &[CandidateRow],
    month: &str,
    median: i64,
    well_rated: &[Uuid],
) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = rows
        .iter()
        .map(|c| {
            let b = score::score(
                &features(c, r, month, median, well_rated),
                &rules.policy.dispatch.weights,
            );
            Ranked {
                volunteer_id: c.id,
                score: b.total,
                breakdown: b,
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.volunteer_id.cmp(&b.volunteer_id))
    });
    ranked
}

/// Scores candidate rows for this request, best first (ties broken by id, so it is stable).
pub async fn score_rows(
    ctx: &AppState,
    rules: &Rules,
    r: &HelpRequestRow,
    rows: &[CandidateRow],
    now: DateTime<Utc>,
) -> ServiceResult<Vec<Ranked>> {
    let (month, stats, well_rated) = context(ctx, rules, r, now).await?;
    Ok(score_with(
        rules,
        r,
        rows,
        &month,
        stats.median_month_minutes,
        &well_rated,
    ))
}

/// The best `want` eligible volunteers for the request.
pub async fn rank(
    ctx: &AppState,
    rules: &Rules,
    r: &HelpRequestRow,
    skills: &[String],
    want: usize,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<Ranked>> {
    let f = filters(r, skills, rules.tz, now);
    let (month, stats, well_rated) = context(ctx, rules, r, now).await?;
    let rows = pool(ctx, r, &f, want, &stats).await?;
    let mut ranked = score_with(
        rules,
        r,
        &rows,
        &month,
        stats.median_month_minutes,
        &well_rated,
    );
    ranked.truncate(want);
    Ok(ranked)
}

fn urgency_of(r: &HelpRequestRow) -> Urgency {
    r.urgency
}

/// Offers to `picked` (one round), moving the request to `offered`.
pub fn offer_round(
    r: &HelpRequestRow,
    rules: &Rules,
    picked: &[Ranked],
    mode: &str,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> ServiceResult<(HelpRequestRow, Effects)> {
    let from = r.status;
    let to = next(from, Action::Offer).map_err(ServiceError::Conflict)?;
    let ttl = rules
        .policy
        .dispatch
        .offer_ttl_minutes
        .for_urgency(urgency_of(r));
    let expires_at = now + Duration::minutes(i64::from(ttl));
    let mut n = r.clone();
    n.status = to;
    n.attempts += 1;
    n.updated_at = now;
    let offers: Vec<OfferRow> = picked
        .iter()
        .map(|c| OfferRow {
            id: Uuid::now_v7(),
            request_id: r.id,
            community_id: r.community_id,
            volunteer_id: c.volunteer_id,
            attempt: n.attempts,
            mode: mode.to_string(),
            score: c.score,
            breakdown: Json(serde_json::to_value(&c.breakdown).unwrap_or_default()),
            offered_by: actor,
            offered_at: now,
            expires_at,
            answer: None,
            answered_at: None,
            decline_reason: None,
        })
        .collect();
    let data = json!({
        "attempt": n.attempts,
        "mode": mode,
        "expires_at": expires_at,
        "offers": offers.iter().map(|o| json!({"offer_id": o.id, "volunteer_id": o.volunteer_id, "score": o.score})).collect::<Vec<_>>(),
    });
    let fx = Effects {
        at: now,
        events: vec![event(r, "offered", actor, Some(from), Some(to), data, now)],
        add_timers: vec![timer(r, "offer_expiry", expires_at)],
        drop_timers: vec!["dispatch", "offer_expiry"],
        new_offers: offers,
        // A dispatcher re-offering an offered request replaces the open offers.
        withdraw_open_offers: from == Status::Offered,
        ..Effects::default()
    };
    Ok((n, fx))
}

/// Hands the request to the dispatchers (督办) with an alert for them and the grid worker.
pub fn escalate(
    r: &HelpRequestRow,
    reason: &str,
    now: DateTime<Utc>,
) -> ServiceResult<(HelpRequestRow, Effects)> {
    let from = r.status;
    let to = next(from, Action::Escalate).map_err(ServiceError::Conflict)?;
    let mut n = r.clone();
    n.status = to;
    n.updated_at = now;
    let fx = Effects {
        at: now,
        events: vec![
            event(
                r,
                "escalated",
                None,
                Some(from),
                Some(to),
                json!({"reason": reason, "attempts": r.attempts}),
                now,
            ),
            event(
                r,
                "alert",
                None,
                None,
                None,
                json!({"alert": "escalated", "reason": reason, "notify": ["dispatchers", "grid_worker"], "grid_id": r.grid_id}),
                now,
            ),
        ],
        drop_timers: vec!["dispatch", "offer_expiry"],
        withdraw_open_offers: true,
        ..Effects::default()
    };
    Ok((n, fx))
}

/// The next round for a request waiting for one: offers to the best candidates, or escalation
/// when the attempts are spent or nobody is left.
pub async fn plan_round(
    ctx: &AppState,
    rules: &Rules,
    r: &HelpRequestRow,
    skills: Option<&[String]>,
    now: DateTime<Utc>,
) -> ServiceResult<(HelpRequestRow, Effects)> {
    let d = &rules.policy.dispatch;
    if r.attempts >= i64::from(d.max_attempts) {
        return escalate(r, "attempts_exhausted", now);
    }
    let fetched;
    let skills = match skills {
        Some(s) => s,
        None => {
            fetched = store::registry::service_types::get(&ctx.db, r.service_type_id).await?;
            &fetched.required_skills.0[..]
        }
    };
    let mode = r.dispatch_mode;
    let (mode_name, want) = match mode {
        DispatchMode::Broadcast => ("broadcast", d.broadcast_k as usize),
        _ => ("auto", 1),
    };
    let picked = rank(ctx, rules, r, skills, want, now).await?;
    if picked.is_empty() {
        return escalate(r, "no_candidate", now);
    }
    offer_round(r, rules, &picked, mode_name, None, now)
}

/// Moves a request that waits for dispatch to its next round. Idempotent and safe to race: if
/// anyone else moved the request first, this does nothing.
pub async fn advance(ctx: &AppState, request_id: Uuid, now: DateTime<Utc>) -> ServiceResult<()> {
    let r = store::requests::help_requests::get(&ctx.db, request_id).await?;
    let waiting = match r.status {
        Status::Dispatching => true,
        Status::Offered => store::requests::offers::open_offer_count(&ctx.db, r.id).await? == 0,
        _ => false,
    };
    if !waiting {
        return Ok(());
    }
    let rules = rules(ctx, r.community_id).await?;
    let (n, fx) = plan_round(ctx, &rules, &r, None, now).await?;
    match store::requests::help_requests::apply(&ctx.db, &n, r.version, &fx).await {
        Ok(_) | Err(StoreError::StaleVersion) => Ok(()),
        // A candidate's load or the offers changed under us: the dispatch timer tries again.
        Err(StoreError::Guard(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
