//! A topic's one vote: opened with its options until a time, closed early by staff, or closed
//! by its time (recorded when the topic is next read or decided). The ballots are `ballots`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::deliberation::{self as d, Action, VoteState, next};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::deliberation::topics::{OptionRow, TopicRow};

use super::topics::{TopicView, event, load_staff, view_of};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteInput {
    pub options: Option<Vec<String>>,
    pub closes_at: Option<DateTime<Utc>>,
}

/// Opens the topic's one vote, with its options, until `closes_at` (at most a year ahead).
pub async fn open_vote(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: VoteInput,
) -> ServiceResult<TopicView> {
    let t = load_staff(ctx, p, id).await?;
    let now = store::now();
    let mut errors = Fields::new();
    let options = d::parse_options(input.options.as_deref(), &mut errors);
    let closes_at = match input.closes_at {
        None => {
            errors.push("closes_at", "required");
            None
        }
        Some(at) if at <= now => {
            errors.push("closes_at", "in_past");
            None
        }
        Some(at) if at > now + chrono::Duration::days(366) => {
            errors.push("closes_at", "too_far");
            None
        }
        Some(at) => Some(at),
    };
    let (options, closes_at) = errors.finish(|| options.zip(closes_at))?;
    next(t.status, Action::OpenVote).map_err(ServiceError::Conflict)?;
    if t.vote_opened_at.is_some() {
        return Err(ServiceError::Conflict("vote_already_opened"));
    }
    let rows: Vec<OptionRow> = options
        .into_iter()
        .enumerate()
        .map(|(n, o)| OptionRow {
            id: Uuid::now_v7(),
            topic_id: id,
            position: n as i64,
            title: o.into_inner(),
        })
        .collect();
    let e = event(
        &t,
        "vote_opened",
        Some(p.user_id),
        json!({"closes_at": closes_at,
               "options": rows.iter().map(|o| o.title.as_str()).collect::<Vec<_>>()}),
    );
    store::deliberation::topics::open_vote(&ctx.db, id, &rows, closes_at, &e).await?;
    view_of(ctx, id).await
}

/// Closes an open vote before its time.
pub async fn close_vote(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<TopicView> {
    let t = load_staff(ctx, p, id).await?;
    let Some(closes_at) = t.vote_closes_at else {
        return Err(ServiceError::Conflict("vote_not_open"));
    };
    next(t.status, Action::OpenVote).map_err(|_| ServiceError::Conflict("vote_closed"))?;
    if d::vote_state(closes_at, t.vote_closed_at, store::now()) == VoteState::Closed {
        return Err(ServiceError::Conflict("vote_closed"));
    }
    let e = event(&t, "vote_closed", Some(p.user_id), json!({"early": true}));
    store::deliberation::topics::close_vote(&ctx.db, id, &e).await?;
    view_of(ctx, id).await
}

/// Records the close of a vote whose time has passed (nobody closed it by hand), so that no
/// ballot can follow what is counted next.
pub(crate) async fn settle_due_close(ctx: &AppState, t: &TopicRow) -> ServiceResult<()> {
    settle_at(ctx, t, store::now()).await.map(drop)
}

async fn settle_at(ctx: &AppState, t: &TopicRow, now: DateTime<Utc>) -> ServiceResult<bool> {
    if let Some(closes_at) = t.vote_closes_at
        && t.vote_closed_at.is_none()
        && closes_at <= now
    {
        let mut e = event(t, "vote_closed", None, json!({"early": false}));
        e.at = now;
        return Ok(store::deliberation::topics::close_due(&ctx.db, t.id, &e).await?);
    }
    Ok(false)
}

/// The sweeper's step: records the close of every vote whose time has come by `now`, so that
/// the `vote_closed` event goes out then. Safe in any number of instances (the close is a
/// conditional update); costs what is due. Returns how many this call closed.
pub async fn close_due_votes(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    const BATCH: i64 = 100;
    let mut closed = 0;
    loop {
        let due = store::deliberation::topics::votes_due(&ctx.db, now, BATCH).await?;
        let mut hit = 0;
        for t in &due {
            if settle_at(ctx, t, now).await? {
                hit += 1;
            }
        }
        closed += hit;
        // Another instance took the rest, or nothing more is due.
        if (due.len() as i64) < BATCH || hit == 0 {
            return Ok(closed);
        }
    }
}
