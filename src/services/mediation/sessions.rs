//! A case's sessions: the mediator or staff record them; whoever may read the case reads them
//! (audited), oldest first.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::cases::{audit_read, event, load, may_act};
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::mediation::{Notes, Place, Status};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::mediation::cases::{self as rows, SessionRow};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    pub held_at: Option<DateTime<Utc>>,
    pub place: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub id: Uuid,
    pub mediation_id: Uuid,
    pub held_at: DateTime<Utc>,
    pub place: Option<String>,
    pub notes: String,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<SessionRow> for SessionView {
    fn from(s: SessionRow) -> Self {
        Self {
            id: s.id,
            mediation_id: s.mediation_id,
            held_at: s.held_at,
            place: s.place,
            notes: s.notes,
            recorded_by: s.recorded_by,
            created_at: s.created_at,
        }
    }
}

pub async fn add_session(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: SessionInput,
) -> ServiceResult<SessionView> {
    let (m, _, access) = load(ctx, p, id).await?;
    may_act(access)?;
    let now = store::now();
    let mut f = Fields::new();
    let held_at = match input.held_at {
        None => {
            f.push("held_at", "required");
            None
        }
        Some(t) if !crate::services::sane_time(t) || t > now + Duration::minutes(5) => {
            f.push("held_at", "out_of_range");
            None
        }
        Some(t) => Some(t),
    };
    let place = f.check_opt("place", input.place.as_deref(), Place::parse);
    let notes = f.check(
        "notes",
        input
            .notes
            .as_deref()
            .ok_or("required")
            .and_then(Notes::parse),
    );
    let (held_at, place, notes) = f.finish(|| Some((held_at?, place?, notes?)))?;
    if m.row.status == Status::Closed {
        return Err(ServiceError::Conflict("mediation_closed"));
    }
    let s = SessionRow {
        id: Uuid::now_v7(),
        mediation_id: id,
        held_at,
        place: place.map(|x| x.into_inner()),
        notes: notes.into_inner(),
        recorded_by: p.user_id,
        created_at: now,
    };
    let e = event(
        &m.row,
        "session_recorded",
        p.user_id,
        json!({"session_id": s.id}),
        now,
    );
    rows::add_session(&ctx.db, &s, &e).await?;
    Ok(s.into())
}

/// The sessions of a case, oldest first, to whoever reads the case (audited).
pub async fn sessions(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    request_id: Option<&str>,
) -> ServiceResult<Vec<SessionView>> {
    let (m, _, access) = load(ctx, p, id).await?;
    audit_read(
        ctx,
        p,
        &m.row,
        "mediation.sessions_read",
        access,
        request_id,
    )
    .await?;
    Ok(rows::sessions(&ctx.db, id)
        .await?
        .into_iter()
        .map(SessionView::from)
        .collect())
}
