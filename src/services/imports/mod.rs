//! Imports: residents and volunteers brought in from the spreadsheets grid workers keep,
//! with a dry run that reports every bad cell, a real run that writes all rows or none and can
//! be repeated (rows are matched to records by ID number, else by phone), and the template
//! sheet to fill in.
//!
//! May use: `registry` (its validation of a resident record and a volunteer profile, grids,
//! the resident hooks that grade a saved record), `accounts` (who may grant the volunteer role), `domain::import_sheet` (reading sheets), `store`. Nothing uses it.

pub mod layout;
pub mod residents;
pub mod template;
pub mod volunteers;

use std::collections::HashMap;

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::import_sheet::{self as sheet, Sheet, SheetError, SheetIssue};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::audit::NewAudit;
use crate::store::{self, StoreError, StoreResult};

/// What an import answers: the counts, and every row's errors (a real run with errors wrote
/// nothing and answers [`ImportError::Invalid`] instead).
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub dry_run: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Volunteers only: accounts the import creates, and existing ones it links.
    pub accounts_created: Option<usize>,
    pub accounts_linked: Option<usize>,
    pub errors: Vec<SheetIssue>,
}

#[derive(Debug)]
pub enum ImportError {
    Service(ServiceError),
    /// The file is over [`crate::domain::import_sheet::MAX_BYTES`] (413 `file_too_large`).
    TooLarge,
    /// The file cannot be read as a sheet (422 with the error's code).
    Sheet(SheetError),
    /// The header row lacks a required column or names one twice (422 `missing_header` or
    /// `duplicate_header`, every issue listed).
    Headers(Vec<SheetIssue>),
    /// A real run with bad rows: nothing was written (422 `import_invalid`).
    Invalid(Vec<SheetIssue>),
    /// A matched record changed, or an ID number was taken, while the import ran: nothing was
    /// written (409 `import_conflict`); run it again.
    Conflict,
}

impl From<ServiceError> for ImportError {
    fn from(e: ServiceError) -> Self {
        ImportError::Service(e)
    }
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Service(e.into())
    }
}

pub type ImportResult<T> = Result<T, ImportError>;

/// What a run does with its report before anything is written: a dry run answers it, a real
/// run with bad rows is refused with them; `None` when the real run may write.
fn answer_before_writing(report: &ImportReport) -> Option<ImportResult<ImportReport>> {
    if report.dry_run {
        Some(Ok(report.clone()))
    } else if !report.errors.is_empty() {
        Some(Err(ImportError::Invalid(report.errors.clone())))
    } else {
        None
    }
}

/// The one audit entry of a real run, counting what it did.
fn audit_entry<'a>(
    p: &Principal,
    community_id: Uuid,
    action: &'static str,
    reason: &'a str,
    request_id: Option<&'a str>,
) -> NewAudit<'a> {
    NewAudit {
        community_id: Some(community_id),
        actor_id: Some(p.user_id),
        action,
        object_type: "community",
        object_id: Some(community_id),
        reason: Some(reason),
        request_id,
    }
}

/// A record changed, or a key taken, between the plan and the write: run it again.
fn written(r: StoreResult<()>) -> ImportResult<()> {
    match r {
        Ok(()) => Ok(()),
        Err(StoreError::StaleVersion | StoreError::Conflict) => Err(ImportError::Conflict),
        Err(e) => Err(ServiceError::from(e).into()),
    }
}

/// The file read as a sheet, within the limits.
fn read_sheet(bytes: &[u8]) -> ImportResult<Sheet> {
    if bytes.len() > sheet::MAX_BYTES {
        return Err(ImportError::TooLarge);
    }
    sheet::read(bytes).map_err(ImportError::Sheet)
}

/// The community's grids by the names sheets give them.
async fn grids_by_name(ctx: &AppState, community_id: Uuid) -> ServiceResult<HashMap<String, Uuid>> {
    Ok(
        store::registry::grids::list(&ctx.db, community_id, None, false, 100_000)
            .await?
            .into_iter()
            .map(|g| (g.row.name, g.row.id))
            .collect(),
    )
}

/// What a sheet brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetKind {
    Residents,
    Volunteers,
}

impl SheetKind {
    /// Whether `p` may import this kind of sheet into the community (or fetch its template).
    pub async fn authorise(
        self,
        ctx: &AppState,
        p: &Principal,
        community_id: Uuid,
    ) -> ServiceResult<()> {
        match self {
            SheetKind::Residents => residents::authorise(ctx, p, community_id).await.map(drop),
            SheetKind::Volunteers => volunteers::authorise(ctx, p, community_id).await.map(drop),
        }
    }

    /// Imports the sheet; `dry_run` checks every row and writes nothing.
    pub async fn import(
        self,
        ctx: &AppState,
        p: &Principal,
        community_id: Uuid,
        bytes: &[u8],
        dry_run: bool,
        request_id: Option<&str>,
    ) -> ImportResult<ImportReport> {
        match self {
            SheetKind::Residents => {
                residents::import(ctx, p, community_id, bytes, dry_run, request_id).await
            }
            SheetKind::Volunteers => {
                volunteers::import(ctx, p, community_id, bytes, dry_run, request_id).await
            }
        }
    }

    /// The sheet to fill in, as XLSX bytes.
    pub async fn template(
        self,
        ctx: &AppState,
        p: &Principal,
        community_id: Uuid,
    ) -> ServiceResult<Vec<u8>> {
        match self {
            SheetKind::Residents => template::residents(ctx, p, community_id).await,
            SheetKind::Volunteers => template::volunteers(ctx, p, community_id).await,
        }
    }
}
