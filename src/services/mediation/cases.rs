//! Cases: open, read, list, edit and the outcome (their sessions are in `sessions`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::mask::mask_phone;
use crate::domain::mediation::Outcome;
use crate::domain::mediation::{
    Kind, OutcomeInput, Party, PartyInput, Status, Summary, day_window, parse_outcome,
    parse_parties,
};
use crate::services::registry::communities::{deny, visible};
use crate::services::visits::generation::grid_follow_up;
use crate::services::visits::grading::policy_and_zone;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error, patch};
use crate::state::AppState;
use crate::store;
use crate::store::audit::NewAudit;
use crate::store::mediation::cases::{
    self as rows, Closing, ListFilter, Mediation, MediationEvent, MediationRow, PartyRead, PartyRow,
};
use crate::store::visits::visits::VisitRow;

/// A new case, or a case's writable form for a merge patch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediationInput {
    pub kind: Option<String>,
    pub summary: Option<String>,
    pub mediator_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parties: Option<Vec<PartyInput>>,
}

#[derive(Debug, Serialize)]
pub struct MediatorView {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct PartyView {
    /// Set for a resident of the community; `null` for an outsider.
    pub resident_id: Option<Uuid>,
    pub name: String,
    /// An outsider's number: in full to staff and the mediator, masked to the parties. A
    /// resident's number stays in the registry.
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MediationView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub kind: Kind,
    pub summary: String,
    pub status: Status,
    pub mediator: MediatorView,
    pub parties: Vec<PartyView>,
    pub outcome: Option<Outcome>,
    pub agreement_text: Option<String>,
    pub referred_to: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
    /// The visits the follow-up date brought, one per resident party.
    pub follow_up_visit_ids: Vec<Uuid>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<Uuid>,
    pub created_by: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A case in a list: what it is about and where it stands, without its parties' details.
#[derive(Debug, Serialize)]
pub struct MediationBrief {
    pub id: Uuid,
    pub community_id: Uuid,
    pub kind: Kind,
    pub summary: String,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub mediator: MediatorView,
    pub follow_up_on: Option<NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

impl From<Mediation> for MediationBrief {
    fn from(m: Mediation) -> Self {
        let r = m.row;
        Self {
            id: r.id,
            community_id: r.community_id,
            kind: r.kind,
            summary: r.summary,
            status: r.status,
            outcome: r.outcome,
            mediator: MediatorView {
                id: r.mediator_id,
                name: m.mediator_name,
            },
            follow_up_on: r.follow_up_on,
            closed_at: r.closed_at,
            version: r.version,
            created_at: r.created_at,
        }
    }
}

/// Why the caller may read a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Staff,
    Mediator,
    Party,
}

impl Access {
    fn as_str(self) -> &'static str {
        match self {
            Access::Staff => "staff",
            Access::Mediator => "mediator",
            Access::Party => "party",
        }
    }

    /// Staff and the mediator see outsiders' numbers in full.
    fn full_numbers(self) -> bool {
        self != Access::Party
    }
}

/// The mediator or staff act on a case (record a session, close it); the parties may not (403).
pub(super) fn may_act(access: Access) -> ServiceResult<()> {
    match access {
        Access::Staff | Access::Mediator => Ok(()),
        Access::Party => Err(ServiceError::Forbidden("forbidden")),
    }
}

/// The case, its parties and why the caller may read it; 404 to anyone else (staff of another
/// community included: a case's existence is confidential too).
pub(super) async fn load(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(Mediation, Vec<PartyRead>, Access)> {
    let m = rows::get(&ctx.db, id).await?;
    let parties = rows::parties(&ctx.db, id).await?;
    let community = m.row.community_id;
    let access = if p.is_staff(community) {
        Access::Staff
    } else if !p.is_member(community) || p.is_client() {
        return Err(ServiceError::NotFound);
    } else if m.row.mediator_id == p.user_id {
        Access::Mediator
    } else if parties.iter().any(|x| x.user_id == Some(p.user_id)) {
        Access::Party
    } else {
        return Err(ServiceError::NotFound);
    };
    Ok((m, parties, access))
}

pub(super) async fn audit_read(
    ctx: &AppState,
    p: &Principal,
    m: &MediationRow,
    action: &'static str,
    access: Access,
    request_id: Option<&str>,
) -> ServiceResult<()> {
    store::audit::insert(
        &ctx.db,
        NewAudit {
            community_id: Some(m.community_id),
            actor_id: Some(p.user_id),
            action,
            object_type: "mediation",
            object_id: Some(m.id),
            reason: Some(access.as_str()),
            request_id: request_id.filter(|r| !r.is_empty()),
        },
    )
    .await?;
    Ok(())
}

fn view(m: Mediation, parties: Vec<PartyRead>, visits: Vec<Uuid>, access: Access) -> MediationView {
    let r = m.row;
    MediationView {
        id: r.id,
        community_id: r.community_id,
        kind: r.kind,
        summary: r.summary,
        status: r.status,
        mediator: MediatorView {
            id: r.mediator_id,
            name: m.mediator_name,
        },
        parties: parties
            .into_iter()
            .map(|x| PartyView {
                resident_id: x.resident_id,
                name: x.name,
                phone: match (x.resident_id, x.phone) {
                    (None, Some(ph)) if access.full_numbers() => Some(ph),
                    (None, Some(ph)) => Some(mask_phone(&ph)),
                    _ => None,
                },
            })
            .collect(),
        outcome: r.outcome,
        agreement_text: r.agreement_text,
        referred_to: r.referred_to,
        follow_up_on: r.follow_up_on,
        follow_up_visit_ids: visits,
        closed_at: r.closed_at,
        closed_by: r.closed_by,
        created_by: r.created_by,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The case as whoever just changed it sees it (no read to audit: they wrote it).
async fn reread(ctx: &AppState, id: Uuid, access: Access) -> ServiceResult<MediationView> {
    let m = rows::get(&ctx.db, id).await?;
    let parties = rows::parties(&ctx.db, id).await?;
    let visits = rows::visits(&ctx.db, id).await?;
    Ok(view(m, parties, visits, access))
}

pub(super) fn event(
    m: &MediationRow,
    kind: &'static str,
    actor: Uuid,
    data: Value,
    at: DateTime<Utc>,
) -> MediationEvent {
    MediationEvent {
        mediation_id: m.id,
        community_id: m.community_id,
        kind,
        actor_id: Some(actor),
        data,
        at,
    }
}

/// Checks kind, summary and mediator (who must mediate in the community); pushes every fault.
async fn parse_case(
    ctx: &AppState,
    community_id: Uuid,
    i: &MediationInput,
    keep: Option<Uuid>,
    f: &mut Fields,
) -> ServiceResult<Option<(Kind, Summary, Uuid)>> {
    let kind = match i.kind.as_deref() {
        None => {
            f.push("kind", "required");
            None
        }
        Some(k) => f.check("kind", Kind::parse(k)),
    };
    let summary = f.check(
        "summary",
        i.summary
            .as_deref()
            .ok_or("required")
            .and_then(Summary::parse),
    );
    let mediator = match i.mediator_id {
        None => {
            f.push("mediator_id", "required");
            None
        }
        // An edit leaving the mediator as it was keeps them, whatever became of their roles.
        Some(u) if keep == Some(u) || rows::may_mediate(&ctx.db, u, community_id).await? => Some(u),
        Some(_) => {
            f.push("mediator_id", "not_eligible");
            None
        }
    };
    Ok(kind.zip(summary).zip(mediator).map(|((k, s), m)| (k, s, m)))
}

/// Staff open a case: its kind, a summary, the mediator and 2..10 parties.
pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: MediationInput,
) -> ServiceResult<MediationView> {
    visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let mut f = Fields::new();
    let case = parse_case(ctx, community_id, &input, None, &mut f).await?;
    let parties = parse_parties(input.parties.as_deref(), &mut f);
    let mut party_rows = Vec::new();
    for (n, party) in parties.iter().flatten().enumerate() {
        let (resident_id, name, phone) = match party {
            Party::Resident(r) => {
                match store::registry::residents::get(&ctx.db, *r).await {
                    Ok(x) if x.community_id == community_id && x.active => {}
                    Ok(_) | Err(store::StoreError::NotFound) => {
                        f.push(format!("parties[{n}].resident_id"), "unknown_reference");
                    }
                    Err(e) => return Err(e.into()),
                }
                (Some(*r), None, None)
            }
            Party::Outsider { name, phone } => (
                None,
                Some(name.as_str().to_string()),
                phone.as_ref().map(|x| x.as_str().to_string()),
            ),
        };
        party_rows.push(PartyRow {
            no: n as i64 + 1,
            resident_id,
            name,
            phone,
        });
    }
    let (kind, summary, mediator_id) = f.finish(|| case)?;
    let now = store::now();
    let row = MediationRow {
        id: Uuid::now_v7(),
        community_id,
        kind,
        summary: summary.into_inner(),
        mediator_id,
        status: Status::Open,
        outcome: None,
        agreement_text: None,
        referred_to: None,
        follow_up_on: None,
        closed_at: None,
        closed_by: None,
        created_by: p.user_id,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let e = event(
        &row,
        "opened",
        p.user_id,
        json!({"mediator_id": mediator_id}),
        now,
    );
    rows::insert(&ctx.db, &row, &party_rows, &e).await?;
    reread(ctx, row.id, Access::Staff).await
}

/// The case, to its parties, its mediator and staff (audited); 404 to anyone else.
pub async fn get(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    request_id: Option<&str>,
) -> ServiceResult<MediationView> {
    let (m, parties, access) = load(ctx, p, id).await?;
    audit_read(ctx, p, &m.row, "mediation.read", access, request_id).await?;
    let visits = rows::visits(&ctx.db, id).await?;
    Ok(view(m, parties, visits, access))
}

pub struct Filter {
    pub status: Option<String>,
    pub kind: Option<String>,
}

/// Staff list every case of the community; its other members the cases they mediate or are a
/// party to; anyone else 404.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    filter: Filter,
    page: PageRequest,
) -> ServiceResult<Page<MediationBrief>> {
    visible(ctx, p, community_id).await?;
    let status = filter
        .status
        .as_deref()
        .map(|s| Status::parse(s).map_err(|c| field_error("status", c)))
        .transpose()?;
    let kind = filter
        .kind
        .as_deref()
        .map(|s| Kind::parse(s).map_err(|c| field_error("kind", c)))
        .transpose()?;
    let f = ListFilter {
        community_id,
        status,
        kind,
        reader: (!p.is_staff(community_id)).then_some(p.user_id),
    };
    let found = rows::list(&ctx.db, &f, page.after, page.fetch_limit()).await?;
    Ok(page.page(found, |m| m.row.id, MediationBrief::from))
}

/// A merge patch of an open case's kind, summary and mediator (its parties are fixed when it
/// is opened). Staff; 403 for the mediator and the parties; 409 `mediation_closed` once closed.
pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<MediationView> {
    let (m, _, access) = load(ctx, p, id).await?;
    if access != Access::Staff {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let current = MediationInput {
        kind: Some(m.row.kind.as_str().to_string()),
        summary: Some(m.row.summary.clone()),
        mediator_id: Some(m.row.mediator_id),
        parties: None,
    };
    let input: MediationInput = patch::apply(&current, changes)?;
    if input.parties.is_some() {
        return Err(field_error("parties", "immutable"));
    }
    let mut f = Fields::new();
    let case = parse_case(
        ctx,
        m.row.community_id,
        &input,
        Some(m.row.mediator_id),
        &mut f,
    )
    .await?;
    let (kind, summary, mediator_id) = f.finish(|| case)?;
    if m.row.status == Status::Closed {
        return Err(ServiceError::Conflict("mediation_closed"));
    }
    let now = store::now();
    let mut row = m.row.clone();
    row.kind = kind;
    row.summary = summary.into_inner();
    row.mediator_id = mediator_id;
    let e = event(
        &row,
        "updated",
        p.user_id,
        json!({"mediator_id": mediator_id}),
        now,
    );
    rows::edit(&ctx.db, &row, version, &e).await?;
    reread(ctx, id, access).await
}

/// Closes the case with its outcome, once (409 `mediation_closed` after). A follow-up date
/// brings a visit due that day (in the community's zone) for the grid worker of each active
/// resident party.
pub async fn close(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: OutcomeInput,
) -> ServiceResult<MediationView> {
    let (m, parties, access) = load(ctx, p, id).await?;
    may_act(access)?;
    let (_, tz) = policy_and_zone(ctx, m.row.community_id).await?;
    let now = store::now();
    let today = now.with_timezone(&tz).date_naive();
    let closing = parse_outcome(&input, today)?;
    if m.row.status == Status::Closed {
        return Err(ServiceError::Conflict("mediation_closed"));
    }
    let mut visits: Vec<VisitRow> = Vec::new();
    if let Some(day) = closing.follow_up_on {
        let window = day_window(day, &tz);
        for r in parties.iter().filter_map(|x| x.resident_id) {
            let resident = store::registry::residents::get(&ctx.db, r).await?;
            if resident.active {
                visits.push(grid_follow_up(
                    m.row.community_id,
                    resident.id,
                    resident.grid_id,
                    window,
                    now,
                ));
            }
        }
    }
    let visit_ids: Vec<Uuid> = visits.iter().map(|v| v.id).collect();
    let e = event(
        &m.row,
        "closed",
        p.user_id,
        json!({"outcome": closing.outcome, "follow_up_on": closing.follow_up_on,
               "visit_ids": visit_ids}),
        now,
    );
    rows::close(
        &ctx.db,
        &Closing {
            id,
            outcome: closing.outcome,
            agreement_text: closing.agreement_text.as_ref().map(|t| t.as_str()),
            referred_to: closing.referred_to.as_ref().map(|t| t.as_str()),
            follow_up_on: closing.follow_up_on,
            by: p.user_id,
            visits: &visits,
            event: &e,
        },
    )
    .await?;
    reread(ctx, id, access).await
}
