//! Certificates: issued in one transaction with their number and the hours of their period,
//! never changed afterwards except for being revoked.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::certificate::CertificateNumber;
use crate::domain::code::Code;
use crate::store::{BeginWrite, Db, StoreError, StoreResult, audit, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRow {
    pub id: Uuid,
    pub number: String,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub volunteer_name: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub minutes: i64,
    pub issuer_name: String,
    pub issued_by: Uuid,
    pub issued_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<Uuid>,
    pub revoke_reason: Option<String>,
}

/// What a new certificate says; the number and the hours are the store's to find.
pub struct NewCertificate<'a> {
    pub community_id: Uuid,
    pub community_code: &'a Code,
    pub volunteer_id: Uuid,
    pub volunteer_name: &'a str,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    /// The period in UTC: `[start, end)`.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub year: i32,
    pub issuer_name: &'a str,
    pub issued_by: Uuid,
    pub issued_at: DateTime<Utc>,
}

const MINUTES: &str = "select cast(coalesce(sum(minutes), 0) as bigint) from service_hours
    where volunteer_id = $1 and at >= $2 and at < $3";
// One row per community and year, bumped in place: concurrent issuers queue on the row (its
// lock on PostgreSQL, the write turn on SQLite), so no two get the same sequence and none is
// skipped.
const NEXT_SEQ: &str = "insert into certificate_sequences (community_id, year, last_seq)
    values ($1, $2, 1)
    on conflict (community_id, year) do update set last_seq = certificate_sequences.last_seq + 1
    returning last_seq";
const INSERT: &str = "insert into certificates (id, number, community_id, volunteer_id, year, seq,
        volunteer_name, period_from, period_to, minutes, issuer_name, issued_by, issued_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// Issues the certificate with the hours credited in its period; `None` (and nothing written)
/// when the period holds no hours.
pub async fn issue(db: &Db, c: &NewCertificate<'_>) -> StoreResult<Option<CertificateRow>> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let minutes: i64 = sqlx::query_scalar(MINUTES).bind(c.volunteer_id).bind(c.start)
            .bind(c.end).fetch_one(&mut *tx).await?;
        if minutes <= 0 {
            return Ok(None);
        }
        let seq: i64 = sqlx::query_scalar(NEXT_SEQ).bind(c.community_id).bind(i64::from(c.year))
            .fetch_one(&mut *tx).await?;
        let number = CertificateNumber::new(c.community_code.clone(), c.year, seq).to_string();
        let id = Uuid::now_v7();
        sqlx::query(INSERT).bind(id).bind(&number).bind(c.community_id).bind(c.volunteer_id)
            .bind(i64::from(c.year)).bind(seq).bind(c.volunteer_name).bind(c.period_from)
            .bind(c.period_to).bind(minutes).bind(c.issuer_name).bind(c.issued_by)
            .bind(c.issued_at).execute(&mut *tx).await?;
        sqlx::query(audit::INSERT).bind(Uuid::now_v7()).bind(Some(c.community_id))
            .bind(Some(c.issued_by)).bind("certificate.issue").bind("certificate").bind(Some(id))
            .bind(Some(number.as_str())).bind(None::<String>).bind(c.issued_at)
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(CertificateRow {
            id,
            number,
            community_id: c.community_id,
            volunteer_id: c.volunteer_id,
            volunteer_name: c.volunteer_name.to_string(),
            period_from: c.period_from,
            period_to: c.period_to,
            minutes,
            issuer_name: c.issuer_name.to_string(),
            issued_by: c.issued_by,
            issued_at: c.issued_at,
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
        }))
    })
}

const BY_NUMBER: &str =
    "select id, number, community_id, volunteer_id, volunteer_name, period_from,
    period_to, minutes, issuer_name, issued_by, issued_at, revoked_at, revoked_by, revoke_reason
    from certificates where number = $1";
const OF_VOLUNTEER: &str =
    "select id, number, community_id, volunteer_id, volunteer_name, period_from,
    period_to, minutes, issuer_name, issued_by, issued_at, revoked_at, revoked_by, revoke_reason
    from certificates where volunteer_id = $1 and ($2 is null or id < $2)
    order by id desc limit $3";

pub async fn by_number(db: &Db, number: &str) -> StoreResult<CertificateRow> {
    on_db!(db, pool => Ok(sqlx::query_as(BY_NUMBER).bind(number).fetch_one(pool).await?))
}

/// A volunteer's certificates, newest first.
pub async fn of_volunteer(
    db: &Db,
    volunteer_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<CertificateRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_VOLUNTEER).bind(volunteer_id).bind(after).bind(limit)
        .fetch_all(pool).await?))
}

const REVOKE: &str = "update certificates set revoked_at = $2, revoked_by = $3, revoke_reason = $4
    where id = $1 and revoked_at is null";

/// Revokes once, in the audit log with its reason: a second revocation changes nothing and is
/// `Guard("already_revoked")`.
pub async fn revoke(
    db: &Db,
    c: &CertificateRow,
    by: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(REVOKE).bind(c.id).bind(at).bind(by).bind(reason)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("already_revoked"));
        }
        sqlx::query(audit::INSERT).bind(Uuid::now_v7()).bind(Some(c.community_id)).bind(Some(by))
            .bind("certificate.revoke").bind("certificate").bind(Some(c.id)).bind(Some(reason))
            .bind(None::<String>).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
    });
    Ok(())
}
