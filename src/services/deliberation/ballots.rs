//! The residents' vote on a topic: cast a ballot, change it while the vote is open, read one's
//! own; the totals (public to residents once the vote closes) and who voted for what (staff).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::deliberation::{self as d, Status, VoteState};
use crate::services::registry::communities::deny;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::deliberation::ballots::{BallotRow, VoterRow};
use crate::store::deliberation::topics::TopicRow;

use super::topics::{load, resident_record};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BallotInput {
    pub option_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
pub struct BallotView {
    pub topic_id: Uuid,
    pub option_id: Uuid,
    pub resident_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<BallotRow> for BallotView {
    fn from(b: BallotRow) -> Self {
        Self {
            topic_id: b.topic_id,
            option_id: b.option_id,
            resident_id: b.resident_id,
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// A ballot as staff see it: who voted for what.
#[derive(Debug, Serialize)]
pub struct VoterView {
    pub id: Uuid,
    pub voter_id: Uuid,
    pub voter_name: String,
    pub resident_id: Uuid,
    pub option_id: Uuid,
    pub option_title: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<VoterRow> for VoterView {
    fn from(v: VoterRow) -> Self {
        Self {
            id: v.id,
            voter_id: v.voter_id,
            voter_name: v.voter_name,
            resident_id: v.resident_id,
            option_id: v.option_id,
            option_title: v.option_title,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TotalView {
    pub option_id: Uuid,
    pub title: String,
    pub votes: i64,
}

#[derive(Debug, Serialize)]
pub struct ResultsView {
    pub topic_id: Uuid,
    pub state: VoteState,
    pub closes_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub ballot_count: i64,
    pub options: Vec<TotalView>,
}

/// The topic and the caller's resident record, for a ballot: 404 outside the community, 403
/// `not_a_resident` for its other members.
async fn voter(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<(TopicRow, Uuid)> {
    let t = store::deliberation::topics::get(&ctx.db, id).await?;
    let resident = resident_record(ctx, p, t.community_id).await?;
    Ok((t, resident))
}

/// 409 unless the vote is open now: `vote_not_open` before it was opened, `vote_closed` after.
fn open_vote(t: &TopicRow, now: DateTime<Utc>) -> ServiceResult<()> {
    let Some(closes_at) = t.vote_closes_at else {
        return Err(ServiceError::Conflict("vote_not_open"));
    };
    let open = matches!(t.status, Status::Raised | Status::Scheduled)
        && d::vote_state(closes_at, t.vote_closed_at, now) == VoteState::Open;
    match open {
        true => Ok(()),
        false => Err(ServiceError::Conflict("vote_closed")),
    }
}

/// The option named, which must be one of the topic's (422 `option_id`).
async fn option_of(ctx: &AppState, topic: Uuid, input: &BallotInput) -> ServiceResult<Uuid> {
    let Some(option) = input.option_id else {
        return Err(field_error("option_id", "required"));
    };
    let options = store::deliberation::topics::options(&ctx.db, topic).await?;
    match options.iter().any(|o| o.id == option) {
        true => Ok(option),
        false => Err(field_error("option_id", "unknown_option")),
    }
}

/// A resident's ballot: one per account and topic (409 `already_voted`; change it instead).
pub async fn cast(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: BallotInput,
) -> ServiceResult<BallotView> {
    let (t, resident) = voter(ctx, p, id).await?;
    if input.option_id.is_none() {
        return Err(field_error("option_id", "required"));
    }
    let now = store::now();
    open_vote(&t, now)?;
    let option_id = option_of(ctx, id, &input).await?;
    let b = BallotRow {
        id: Uuid::now_v7(),
        topic_id: id,
        option_id,
        voter_id: p.user_id,
        resident_id: resident,
        created_at: now,
        updated_at: now,
    };
    store::deliberation::ballots::cast(&ctx.db, &b).await?;
    Ok(b.into())
}

/// Moves the caller's ballot to another option while the vote is open (404 without one).
pub async fn change(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: BallotInput,
) -> ServiceResult<BallotView> {
    let (t, _) = voter(ctx, p, id).await?;
    if input.option_id.is_none() {
        return Err(field_error("option_id", "required"));
    }
    let now = store::now();
    open_vote(&t, now)?;
    let option_id = option_of(ctx, id, &input).await?;
    let b = store::deliberation::ballots::change(&ctx.db, id, p.user_id, option_id, now).await?;
    Ok(b.into())
}

/// The caller's own ballot (404 when they have not voted).
pub async fn mine(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<BallotView> {
    voter(ctx, p, id).await?;
    store::deliberation::ballots::mine(&ctx.db, id, p.user_id)
        .await?
        .map(BallotView::from)
        .ok_or(ServiceError::NotFound)
}

/// The totals per option: staff always, residents once the vote is closed (403
/// `results_not_published` before); 404 when the topic has no vote.
pub async fn results(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<ResultsView> {
    let t = load(ctx, p, id).await?;
    let Some(closes_at) = t.vote_closes_at else {
        return Err(ServiceError::NotFound);
    };
    let now = store::now();
    let state = d::vote_state(closes_at, t.vote_closed_at, now);
    if state == VoteState::Open && !p.is_staff(t.community_id) {
        return Err(ServiceError::Forbidden("results_not_published"));
    }
    let totals = store::deliberation::ballots::totals(&ctx.db, id).await?;
    Ok(ResultsView {
        topic_id: id,
        state,
        closes_at,
        closed_at: d::closed_at(closes_at, t.vote_closed_at, now),
        ballot_count: totals.iter().map(|r| r.votes).sum(),
        options: totals
            .into_iter()
            .map(|r| TotalView {
                option_id: r.id,
                title: r.title,
                votes: r.votes,
            })
            .collect(),
    })
}

/// Who voted for what: staff of the community only.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<VoterView>> {
    let t = load(ctx, p, id).await?;
    if !p.is_staff(t.community_id) {
        return Err(deny(p, t.community_id));
    }
    let rows =
        store::deliberation::ballots::list(&ctx.db, id, page.after, page.fetch_limit()).await?;
    Ok(page.page(rows, |r| r.id, VoterView::from))
}
