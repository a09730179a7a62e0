//! Counts of cases for reports: by kind, each kind's cases still open and closed by outcome.
//! [`rows`] gives the plain rows (for any export); [`report`] the JSON answer with totals.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::mediation::{Kind, Outcome, Status};
use crate::services::registry::communities::{deny, visible};
use crate::services::{ServiceResult, field_error};
use crate::state::AppState;
use crate::store;

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The cases opened in `from..to`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One kind of dispute: how many cases of it opened in the period, and where they stand now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediationCountRow {
    pub kind: Kind,
    pub open: i64,
    pub agreement: i64,
    pub no_agreement: i64,
    pub referred: i64,
    pub total: i64,
}

/// The cases of every kind together.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub open: i64,
    pub agreement: i64,
    pub no_agreement: i64,
    pub referred: i64,
    pub total: i64,
}

#[derive(Debug, Serialize)]
pub struct MediationReport {
    pub community_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Every kind, in a fixed order, zeros included.
    pub by_kind: Vec<MediationCountRow>,
    pub by_outcome: Totals,
}

/// The period asked for: `to` now and `from` a year before when absent; at most three years.
pub fn period(q: &ReportQuery) -> ServiceResult<Period> {
    for (field, t) in [("from", q.from), ("to", q.to)] {
        if t.is_some_and(|t| !crate::services::sane_time(t)) {
            return Err(field_error(field, "out_of_range"));
        }
    }
    let to = q.to.unwrap_or_else(store::now);
    let from = q.from.unwrap_or_else(|| to - Duration::days(365));
    if to <= from {
        return Err(field_error("to", "before_start"));
    }
    if to - from > Duration::days(3 * 366) {
        return Err(field_error("to", "too_long"));
    }
    Ok(Period { from, to })
}

/// The rows of the report: one per kind. Staff of the community; 403 for its other members,
/// 404 for anyone else.
pub async fn rows(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    period: Period,
) -> ServiceResult<Vec<MediationCountRow>> {
    visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let counts =
        store::mediation::cases::counts(&ctx.db, community_id, period.from, period.to).await?;
    Ok(Kind::ALL
        .iter()
        .map(|k| {
            let mut row = MediationCountRow {
                kind: *k,
                open: 0,
                agreement: 0,
                no_agreement: 0,
                referred: 0,
                total: 0,
            };
            for c in counts.iter().filter(|c| c.kind == *k) {
                match (c.status, c.outcome) {
                    (Status::Open, _) => row.open += c.n,
                    (Status::Closed, Some(Outcome::Agreement)) => row.agreement += c.n,
                    (Status::Closed, Some(Outcome::NoAgreement)) => row.no_agreement += c.n,
                    (Status::Closed, Some(Outcome::Referred)) => row.referred += c.n,
                    // The schema keeps a closed case's outcome; nothing else to count.
                    (Status::Closed, None) => {}
                }
            }
            row.total = row.open + row.agreement + row.no_agreement + row.referred;
            row
        })
        .collect())
}

pub async fn report(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    q: ReportQuery,
) -> ServiceResult<MediationReport> {
    visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let period = period(&q)?;
    let by_kind = rows(ctx, p, community_id, period).await?;
    let by_outcome = by_kind.iter().fold(Totals::default(), |mut t, r| {
        t.open += r.open;
        t.agreement += r.agreement;
        t.no_agreement += r.no_agreement;
        t.referred += r.referred;
        t.total += r.total;
        t
    });
    Ok(MediationReport {
        community_id,
        from: period.from,
        to: period.to,
        by_kind,
        by_outcome,
    })
}
