//! Batch assignment (派单 of the morning queue): the waiting requests of a community offered at
//! once, optimally, by the assignment solver.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::assignment::{self, Problem};
use crate::domain::help_request::{DispatchMode, Status};
use crate::services::requests::dispatch::{self, Ranked};
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::requests::listing::RequestFilter;
use crate::store::{self, StoreError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    /// Requests to assign; by default every escalated or waiting request of the community.
    #[serde(default)]
    pub request_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Serialize)]
pub struct BatchAssigned {
    pub request_id: Uuid,
    pub volunteer_id: Uuid,
    pub score: f64,
}

#[derive(Debug, Serialize)]
pub struct BatchResult {
    pub assigned: Vec<BatchAssigned>,
    /// Requests no eligible volunteer could take, or that moved while the batch ran.
    pub unassigned: Vec<Uuid>,
    pub total_score: f64,
}

/// Most requests one batch takes.
pub const BATCH_MAX: usize = 1000;
/// Candidates ranked per request in a batch.
/// (Bounds the dense score table: at most `BATCH_MAX` × `BATCH_MAX · BATCH_CANDIDATES` cells.)
const BATCH_CANDIDATES: usize = 10;

/// Matches many waiting requests with many volunteers at once, maximising the total score under
/// the volunteers' load caps (an optimal assignment), and offers each request to its match.
pub async fn batch(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: BatchInput,
) -> ServiceResult<BatchResult> {
    crate::services::registry::communities::visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let requests = match input.request_ids {
        Some(ids) => {
            if ids.is_empty() || ids.len() > BATCH_MAX {
                return Err(field_error("request_ids", "out_of_range"));
            }
            let mut ids = ids;
            ids.sort();
            ids.dedup();
            let mut rows = Vec::with_capacity(ids.len());
            for id in ids {
                match store::requests::help_requests::get(&ctx.db, id).await {
                    Ok(r) if r.community_id == community_id => rows.push(r),
                    Ok(_) | Err(StoreError::NotFound) => {
                        return Err(field_error("request_ids", "unknown_reference"));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            rows
        }
        None => {
            let mut rows = Vec::new();
            for status in [Status::Escalated, Status::Dispatching] {
                let f = RequestFilter {
                    community_id,
                    status: Some(status.as_str().to_string()),
                    ..RequestFilter::default()
                };
                rows.extend(
                    store::requests::listing::list(&ctx.db, &f, None, BATCH_MAX as i64)
                        .await?
                        .into_iter()
                        .map(|r| r.request),
                );
            }
            rows.truncate(BATCH_MAX);
            rows
        }
    };
    for r in &requests {
        if !matches!(r.status, Status::Escalated | Status::Dispatching) {
            return Err(ServiceError::Conflict("request_not_waiting"));
        }
    }
    let rules = dispatch::rules(ctx, community_id).await?;
    let now = store::now();
    let mut skills: HashMap<Uuid, Vec<String>> = HashMap::new();
    let mut ranked: Vec<Vec<Ranked>> = Vec::with_capacity(requests.len());
    let mut capacity: HashMap<Uuid, u32> = HashMap::new();
    for r in &requests {
        if let std::collections::hash_map::Entry::Vacant(e) = skills.entry(r.service_type_id) {
            let st = store::registry::service_types::get(&ctx.db, r.service_type_id).await?;
            e.insert(st.required_skills.0);
        }
        let f = dispatch::filters(r, &skills[&r.service_type_id], rules.tz, now);
        let rows = store::requests::candidates::eligible(
            &ctx.db,
            &f,
            match r.grid_id {
                Some(g) => store::requests::candidates::Area::Grid(g),
                None => store::requests::candidates::Area::Community,
            },
            200,
        )
        .await?;
        let rows = if rows.len() < BATCH_CANDIDATES {
            store::requests::candidates::eligible(
                &ctx.db,
                &f,
                store::requests::candidates::Area::Community,
                200,
            )
            .await?
        } else {
            rows
        };
        for c in &rows {
            capacity.insert(c.id, (c.max_concurrent - c.active_load).max(0) as u32);
        }
        let mut s = dispatch::score_rows(ctx, &rules, r, &rows, now).await?;
        s.truncate(BATCH_CANDIDATES);
        ranked.push(s);
    }
    let volunteers: Vec<Uuid> = capacity.keys().copied().collect();
    let index: HashMap<Uuid, usize> = volunteers
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i))
        .collect();
    let mut scores = vec![None; requests.len() * volunteers.len()];
    for (ri, list) in ranked.iter().enumerate() {
        for c in list {
            scores[ri * volunteers.len() + index[&c.volunteer_id]] = Some(c.score);
        }
    }
    let caps: Vec<u32> = volunteers.iter().map(|v| capacity[v]).collect();
    let problem = Problem::new(requests.len(), volunteers.len(), scores, caps)
        .map_err(|e| ServiceError::Internal(format!("{e:?}")))?;
    // Seconds of CPU for a full batch: off the request-serving threads.
    let solution = tokio::task::spawn_blocking(move || assignment::solve(&problem))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;

    let mut result = BatchResult {
        assigned: Vec::new(),
        unassigned: Vec::new(),
        total_score: 0.0,
    };
    for (ri, r) in requests.iter().enumerate() {
        let Some(vi) = solution[ri] else {
            result.unassigned.push(r.id);
            continue;
        };
        let chosen = ranked[ri]
            .iter()
            .find(|c| c.volunteer_id == volunteers[vi])
            .cloned();
        let Some(chosen) = chosen else {
            result.unassigned.push(r.id);
            continue;
        };
        let (mut n, mut fx) = match dispatch::offer_round(
            r,
            &rules,
            std::slice::from_ref(&chosen),
            "batch",
            Some(p.user_id),
            now,
        ) {
            Ok(round) => round,
            Err(ServiceError::Conflict(_)) => {
                result.unassigned.push(r.id);
                continue;
            }
            Err(e) => return Err(e),
        };
        n.dispatch_mode = DispatchMode::Manual;
        fx.events[0].kind = "dispatched_in_batch".into();
        match store::requests::help_requests::apply(&ctx.db, &n, r.version, &fx).await {
            Ok(_) => {
                result.total_score += chosen.score;
                result.assigned.push(BatchAssigned {
                    request_id: r.id,
                    volunteer_id: chosen.volunteer_id,
                    score: chosen.score,
                });
            }
            Err(StoreError::StaleVersion) | Err(StoreError::Guard(_)) => {
                result.unassigned.push(r.id)
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(result)
}
