//! Certificates: staff issue one for a period of a volunteer's hours; the volunteer and staff
//! list them; staff revoke with a reason; anyone verifies one by its number.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{day_start, hours, may_read, zone};
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::certificate::{CertificateNumber, mask_name};
use crate::domain::code::Code;
use crate::domain::text::Text;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::records::certificates::{CertificateRow, NewCertificate};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    /// First and last day of the period (inclusive), `YYYY-MM-DD` in the community's time zone.
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeInput {
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CertificateView {
    pub id: Uuid,
    pub number: String,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub volunteer_name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub minutes: i64,
    pub hours: f64,
    /// The issuing station (the community).
    pub issuer: String,
    pub issued_by: Uuid,
    pub issued_at: DateTime<Utc>,
    pub revoked: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
}

impl From<CertificateRow> for CertificateView {
    fn from(c: CertificateRow) -> Self {
        Self {
            id: c.id,
            number: c.number,
            community_id: c.community_id,
            volunteer_id: c.volunteer_id,
            volunteer_name: c.volunteer_name,
            from: c.period_from,
            to: c.period_to,
            minutes: c.minutes,
            hours: hours(c.minutes),
            issuer: c.issuer_name,
            issued_by: c.issued_by,
            issued_at: c.issued_at,
            revoked: c.revoked_at.is_some(),
            revoked_at: c.revoked_at,
            revoke_reason: c.revoke_reason,
        }
    }
}

/// What anyone holding the number may see.
#[derive(Debug, Serialize)]
pub struct VerificationView {
    pub number: String,
    pub volunteer_name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub minutes: i64,
    pub hours: f64,
    pub issuer: String,
    pub issued_at: DateTime<Utc>,
    pub revoked: bool,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn date(field: &str, s: Option<&str>, errors: &mut Fields) -> Option<NaiveDate> {
    let Some(s) = s else {
        errors.push(field, "required");
        return None;
    };
    match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(d) if (2000..2100).contains(&d.year()) => Some(d),
        _ => {
            errors.push(field, "invalid_date");
            None
        }
    }
}

/// Issues a certificate for the hours credited between `from` and `to` (inclusive days of the
/// community). Staff of the volunteer's community only. A period with no hours is refused
/// (422 `no_hours`): a certificate of nothing proves nothing.
pub async fn issue(
    ctx: &AppState,
    p: &Principal,
    volunteer_id: Uuid,
    input: IssueInput,
) -> ServiceResult<CertificateView> {
    let v = store::registry::volunteers::get(&ctx.db, volunteer_id).await?;
    may_read(p, &v)?;
    if !p.is_staff(v.community_id) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let mut errors = Fields::new();
    let from = date("from", input.from.as_deref(), &mut errors);
    let to = date("to", input.to.as_deref(), &mut errors);
    let community = store::registry::communities::get(&ctx.db, v.community_id).await?;
    let tz = zone(&community.time_zone);
    let now = store::now();
    let today = now.with_timezone(&tz).date_naive();
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.push("to", "before_from");
        } else if t > today {
            // Hours of days still to come could change what an immutable certificate says.
            errors.push("to", "in_future");
        }
    }
    let (from, to) = errors.finish(|| from.zip(to))?;
    let code = Code::parse(&community.code)
        .map_err(|e| ServiceError::Internal(format!("stored community code: {e}")))?;
    let new = NewCertificate {
        community_id: v.community_id,
        community_code: &code,
        volunteer_id: v.id,
        volunteer_name: &v.name,
        period_from: from,
        period_to: to,
        start: day_start(tz, from),
        end: day_start(tz, to.succ_opt().unwrap_or(to)),
        year: today.year(),
        issuer_name: &community.name,
        issued_by: p.user_id,
        issued_at: now,
    };
    match store::records::certificates::issue(&ctx.db, &new).await? {
        Some(c) => Ok(c.into()),
        None => Err(ServiceError::Unprocessable("no_hours")),
    }
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    volunteer_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<CertificateView>> {
    let v = store::registry::volunteers::get(&ctx.db, volunteer_id).await?;
    may_read(p, &v)?;
    let rows =
        store::records::certificates::of_volunteer(&ctx.db, v.id, page.after, page.fetch_limit())
            .await?;
    Ok(page.page(rows, |c| c.id, CertificateView::from))
}

/// The certificate of `number` to its volunteer or staff of its community (404 to others).
pub async fn get(ctx: &AppState, p: &Principal, number: &str) -> ServiceResult<CertificateRow> {
    let c = find(ctx, number).await?;
    let v = store::registry::volunteers::get(&ctx.db, c.volunteer_id).await?;
    may_read(p, &v)?;
    Ok(c)
}

async fn find(ctx: &AppState, number: &str) -> ServiceResult<CertificateRow> {
    let n = CertificateNumber::parse(number).ok_or(ServiceError::NotFound)?;
    Ok(store::records::certificates::by_number(&ctx.db, &n.to_string()).await?)
}

/// Revokes: staff of the certificate's community, with a reason; once (409 `already_revoked`).
pub async fn revoke(
    ctx: &AppState,
    p: &Principal,
    number: &str,
    input: RevokeInput,
) -> ServiceResult<CertificateView> {
    let c = get(ctx, p, number).await?;
    if !p.is_staff(c.community_id) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let reason = match input.reason.as_deref().map(Text::<500>::parse) {
        Some(Ok(r)) => r.into_inner(),
        Some(Err(code)) => return Err(field_error("reason", code)),
        None => return Err(field_error("reason", "required")),
    };
    if c.revoked_at.is_some() {
        return Err(ServiceError::Conflict("already_revoked"));
    }
    store::records::certificates::revoke(&ctx.db, &c, p.user_id, &reason, store::now()).await?;
    Ok(find(ctx, &c.number).await?.into())
}

/// What a school or an employer sees by the number, without signing in.
pub async fn verify(ctx: &AppState, number: &str) -> ServiceResult<VerificationView> {
    let c = find(ctx, number).await?;
    Ok(VerificationView {
        number: c.number,
        volunteer_name: mask_name(&c.volunteer_name),
        from: c.period_from,
        to: c.period_to,
        minutes: c.minutes,
        hours: hours(c.minutes),
        issuer: c.issuer_name,
        issued_at: c.issued_at,
        revoked: c.revoked_at.is_some(),
        revoked_at: c.revoked_at,
    })
}
