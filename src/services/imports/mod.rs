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

use crate::domain::import_sheet::{SheetError, SheetIssue};
use crate::services::ServiceError;
use crate::store::StoreError;

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
