//! Topics: raise, read, edit, schedule their meeting, decide, drop (their vote is `votes`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::deliberation::{
    self as d, Action, DecisionText, Description, Participant, ParticipantInput, Place, Reason,
    Status, Title, VoteState, next,
};
use crate::domain::public_notice::Category;
use crate::domain::role::Role;
use crate::services::notices::staff::{Publication, parse_filter, publish_now};
use crate::services::registry::communities::deny;
use crate::services::{
    Page, PageRequest, ServiceError, ServiceResult, field_error, patch, sane_time,
};
use crate::state::AppState;
use crate::store;
use crate::store::deliberation::topics::{Decide, OptionRow, TopicEvent, TopicRow};

use super::votes::settle_due_close;

/// A new topic, or its writable form for a merge patch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicInput {
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    pub starts_at: Option<DateTime<Utc>>,
    pub place: Option<String>,
    /// Accounts of the community by id, and others by `{"name": …}`.
    #[serde(default)]
    pub participants: Vec<ParticipantInput>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropInput {
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MeetingView {
    pub starts_at: DateTime<Utc>,
    pub place: String,
    pub participants: Vec<Participant>,
}

#[derive(Debug, Serialize)]
pub struct OptionView {
    pub id: Uuid,
    pub title: String,
}

#[derive(Debug, Serialize)]
pub struct VoteView {
    pub state: VoteState,
    pub opened_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// How many residents voted (the totals per option are read from `/results`).
    pub ballot_count: i64,
    pub options: Vec<OptionView>,
}

#[derive(Debug, Serialize)]
pub struct TopicView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub title: String,
    pub description: String,
    pub raised_by: Uuid,
    pub raised_by_staff: bool,
    pub status: Status,
    pub meeting: Option<MeetingView>,
    pub vote: Option<VoteView>,
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

pub(crate) fn view(t: TopicRow, options: Vec<OptionRow>, now: DateTime<Utc>) -> TopicView {
    let meeting = match (t.meeting_starts_at, t.meeting_place) {
        (Some(starts_at), Some(place)) => Some(MeetingView {
            starts_at,
            place,
            participants: t.meeting_participants.map(|j| j.0).unwrap_or_default(),
        }),
        _ => None,
    };
    let vote = match (t.vote_opened_at, t.vote_closes_at) {
        (Some(opened_at), Some(closes_at)) => Some(VoteView {
            state: d::vote_state(closes_at, t.vote_closed_at, now),
            opened_at,
            closes_at,
            closed_at: d::closed_at(closes_at, t.vote_closed_at, now),
            ballot_count: t.ballot_count,
            options: options
                .into_iter()
                .map(|o| OptionView {
                    id: o.id,
                    title: o.title,
                })
                .collect(),
        }),
        _ => None,
    };
    TopicView {
        id: t.id,
        community_id: t.community_id,
        title: t.title,
        description: t.description,
        raised_by: t.raised_by,
        raised_by_staff: t.raised_by_staff,
        status: t.status,
        meeting,
        vote,
        decision: t.decision,
        decided_at: t.decided_at,
        decided_by: t.decided_by,
        decision_notice_id: t.decision_notice_id,
        drop_reason: t.drop_reason,
        dropped_at: t.dropped_at,
        version: t.version,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// Staff and holders of the `resident` role read the community's topics.
pub(crate) fn may_read(p: &Principal, community: Uuid) -> bool {
    p.is_staff(community) || p.has(Role::Resident, community)
}

/// The caller's active resident record in the community: 404 outside it, 403
/// `not_a_resident` for its other members.
pub(crate) async fn resident_record(
    ctx: &AppState,
    p: &Principal,
    community: Uuid,
) -> ServiceResult<Uuid> {
    if !p.is_member(community) {
        return Err(ServiceError::NotFound);
    }
    let ids = store::registry::residents::ids_of_user(&ctx.db, p.user_id, community).await?;
    ids.into_iter()
        .min()
        .ok_or(ServiceError::Forbidden("not_a_resident"))
}

/// The topic, to those who may read it (404 outside its community, 403 to its other members).
pub(crate) async fn load(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<TopicRow> {
    let t = store::deliberation::topics::get(&ctx.db, id).await?;
    if !may_read(p, t.community_id) {
        return Err(deny(p, t.community_id));
    }
    Ok(t)
}

/// The topic, to staff of its community.
pub(crate) async fn load_staff(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<TopicRow> {
    let t = store::deliberation::topics::get(&ctx.db, id).await?;
    if !p.is_staff(t.community_id) {
        return Err(deny(p, t.community_id));
    }
    Ok(t)
}

pub(super) async fn view_of(ctx: &AppState, id: Uuid) -> ServiceResult<TopicView> {
    let t = store::deliberation::topics::get(&ctx.db, id).await?;
    let options = store::deliberation::topics::options(&ctx.db, id).await?;
    Ok(view(t, options, store::now()))
}

pub(super) fn event(
    t: &TopicRow,
    kind: &'static str,
    actor: Option<Uuid>,
    data: Value,
) -> TopicEvent {
    TopicEvent {
        topic_id: t.id,
        community_id: t.community_id,
        kind,
        actor_id: actor,
        data,
        at: store::now(),
    }
}

fn parse_topic(i: &TopicInput) -> ServiceResult<(Title, Description)> {
    let mut errors = Fields::new();
    let title = errors.check(
        "title",
        i.title.as_deref().ok_or("required").and_then(Title::parse),
    );
    let description = errors.check(
        "description",
        i.description
            .as_deref()
            .ok_or("required")
            .and_then(Description::parse),
    );
    Ok(errors.finish(|| title.zip(description))?)
}

/// Raises a topic: a resident of the community, or its staff.
pub async fn raise(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: TopicInput,
) -> ServiceResult<TopicView> {
    let staff = p.is_staff(community_id);
    if !staff {
        resident_record(ctx, p, community_id).await?;
    }
    let (title, description) = parse_topic(&input)?;
    let now = store::now();
    let t = TopicRow {
        id: Uuid::now_v7(),
        community_id,
        title: title.into_inner(),
        description: description.into_inner(),
        raised_by: p.user_id,
        raised_by_staff: staff,
        status: Status::Raised,
        meeting_starts_at: None,
        meeting_place: None,
        meeting_participants: None,
        vote_opened_at: None,
        vote_closes_at: None,
        vote_closed_at: None,
        ballot_count: 0,
        decision: None,
        decided_at: None,
        decided_by: None,
        decision_notice_id: None,
        drop_reason: None,
        dropped_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let e = event(
        &t,
        "raised",
        Some(p.user_id),
        json!({"title": t.title, "by_staff": staff}),
    );
    store::deliberation::topics::insert(&ctx.db, &t, &e).await?;
    view_of(ctx, t.id).await
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<TopicView> {
    let t = load(ctx, p, id).await?;
    let options = store::deliberation::topics::options(&ctx.db, id).await?;
    Ok(view(t, options, store::now()))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    status: Option<&str>,
    page: PageRequest,
) -> ServiceResult<Page<TopicView>> {
    if !may_read(p, community_id) {
        return Err(deny(p, community_id));
    }
    let status = parse_filter("status", status, Status::parse)?;
    let (rows, mut options) = store::deliberation::topics::list(
        &ctx.db,
        community_id,
        page.after,
        status,
        page.fetch_limit(),
    )
    .await?;
    let now = store::now();
    Ok(page.page(
        rows,
        |t| t.id,
        |t| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                options.drain(..).partition(|o| o.topic_id == t.id);
            options = rest;
            view(t, mine, now)
        },
    ))
}

/// A merge patch of the title and description: staff while the topic is open, its raiser
/// while it is only raised.
pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<TopicView> {
    let t = load(ctx, p, id).await?;
    let staff = p.is_staff(t.community_id);
    if !staff && t.raised_by != p.user_id {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let current = TopicInput {
        title: Some(t.title.clone()),
        description: Some(t.description.clone()),
    };
    let input: TopicInput = patch::apply(&current, changes)?;
    let (title, description) = parse_topic(&input)?;
    if t.version != version {
        return Err(ServiceError::StaleVersion);
    }
    next(t.status, Action::Edit).map_err(ServiceError::Conflict)?;
    // The raiser edits only until the topic is taken up.
    let states = match staff {
        true => [Status::Raised, Status::Scheduled],
        false if t.status == Status::Raised => [Status::Raised, Status::Raised],
        false => return Err(ServiceError::Conflict("topic_not_open")),
    };
    let mut row = t.clone();
    row.version = version;
    row.title = title.into_inner();
    row.description = description.into_inner();
    let e = event(
        &row,
        "updated",
        Some(p.user_id),
        json!({"title": row.title}),
    );
    store::deliberation::topics::edit(&ctx.db, &row, states, &e).await?;
    view_of(ctx, id).await
}

/// Sets the meeting (or moves it while scheduled): the topic becomes `scheduled`.
pub async fn schedule(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: MeetingInput,
) -> ServiceResult<TopicView> {
    let t = load_staff(ctx, p, id).await?;
    let now = store::now();
    let mut errors = Fields::new();
    let starts_at = match input.starts_at {
        None => {
            errors.push("starts_at", "required");
            None
        }
        Some(at) if !sane_time(at) => {
            errors.push("starts_at", "out_of_range");
            None
        }
        Some(at) if at <= now => {
            errors.push("starts_at", "in_past");
            None
        }
        Some(at) => Some(at),
    };
    let place = errors.check(
        "place",
        input
            .place
            .as_deref()
            .ok_or("required")
            .and_then(Place::parse),
    );
    if input.participants.len() > d::MAX_PARTICIPANTS {
        errors.push("participants", "too_many");
    }
    let mut participants = Vec::with_capacity(input.participants.len());
    for (n, pi) in input
        .participants
        .iter()
        .enumerate()
        .take(d::MAX_PARTICIPANTS)
    {
        let field = format!("participants[{n}]");
        match pi {
            ParticipantInput::User(u) => {
                match store::deliberation::topics::member_name(&ctx.db, *u, t.community_id).await? {
                    Some(name)
                        if !participants
                            .iter()
                            .any(|x: &Participant| x.user_id == Some(*u)) =>
                    {
                        participants.push(Participant {
                            user_id: Some(*u),
                            name,
                        })
                    }
                    Some(_) => errors.push(field, "duplicate"),
                    None => errors.push(field, "unknown_user"),
                }
            }
            ParticipantInput::Named(named) => {
                let name = errors.check(
                    &format!("{field}.name"),
                    named
                        .name
                        .as_deref()
                        .ok_or("required")
                        .and_then(crate::domain::text::Name::parse),
                );
                if let Some(name) = name {
                    participants.push(Participant {
                        user_id: None,
                        name: name.into_inner(),
                    });
                }
            }
        }
    }
    let (starts_at, place) = errors.finish(|| starts_at.zip(place))?;
    next(t.status, Action::Schedule).map_err(ServiceError::Conflict)?;
    let e = event(
        &t,
        "scheduled",
        Some(p.user_id),
        json!({"starts_at": starts_at, "place": place.as_str(),
               "rescheduled": t.status == Status::Scheduled}),
    );
    store::deliberation::topics::schedule(
        &ctx.db,
        id,
        starts_at,
        place.as_str(),
        &participants,
        &e,
    )
    .await?;
    view_of(ctx, id).await
}

/// Records the decision and publishes it as a notice (居务, `议事决定：<title>`, the text with
/// the vote's totals), both or neither. From `raised` (a matter that needs no meeting) or
/// `scheduled`; a vote, when there is one, must be closed (409 `vote_open`).
pub async fn decide(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: DecisionInput,
) -> ServiceResult<TopicView> {
    let t = load_staff(ctx, p, id).await?;
    let text = input
        .text
        .as_deref()
        .ok_or("required")
        .and_then(DecisionText::parse)
        .map_err(|c| field_error("text", c))?;
    next(t.status, Action::Decide).map_err(ServiceError::Conflict)?;
    if let Some(closes_at) = t.vote_closes_at
        && d::vote_state(closes_at, t.vote_closed_at, store::now()) == VoteState::Open
    {
        return Err(ServiceError::Conflict("vote_open"));
    }
    settle_due_close(ctx, &t).await?;
    // Read after the close: no ballot can land from here on.
    let t = store::deliberation::topics::get(&ctx.db, id).await?;
    let totals = match t.vote_opened_at {
        Some(_) => Some(
            store::deliberation::ballots::totals(&ctx.db, id)
                .await?
                .into_iter()
                .map(|r| (r.title, r.votes))
                .collect::<Vec<_>>(),
        ),
        None => None,
    };
    let title = d::notice_title(&t.title);
    let body = d::notice_body(text.as_str(), totals.as_deref());
    let notice_id = Uuid::now_v7();
    let decide = Decide {
        topic_id: id,
        text: text.into_inner(),
        by: p.user_id,
        notice_id,
        ballots_counted: t.ballot_count,
        event: event(
            &t,
            "decided",
            Some(p.user_id),
            json!({"notice_id": notice_id, "title": t.title}),
        ),
    };
    publish_now(
        ctx,
        p,
        Publication {
            id: notice_id,
            community_id: t.community_id,
            category: Category::Affairs,
            title: &title,
            body: &body,
        },
        ("topic", id),
        &decide,
    )
    .await?;
    view_of(ctx, id).await
}

/// Drops an open topic, with the reason (an open vote closes with it).
pub async fn drop(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: DropInput,
) -> ServiceResult<TopicView> {
    let t = load_staff(ctx, p, id).await?;
    let reason = input
        .reason
        .as_deref()
        .ok_or("required")
        .and_then(Reason::parse)
        .map_err(|c| field_error("reason", c))?;
    next(t.status, Action::Drop).map_err(ServiceError::Conflict)?;
    let e = event(
        &t,
        "dropped",
        Some(p.user_id),
        json!({"reason": reason.as_str()}),
    );
    store::deliberation::topics::drop(&ctx.db, id, reason.as_str(), &e).await?;
    view_of(ctx, id).await
}
