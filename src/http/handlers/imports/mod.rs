//! Spreadsheet imports: the file is the raw body (`curl --data-binary @sheet.xlsx`), XLSX or
//! CSV, told apart by its bytes (an XLS is refused with its own code); the template is an XLSX
//! download.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::import_sheet::{MAX_BYTES, SheetError};
use crate::http::error::ApiError;
use crate::http::extract::{Auth, RequestId, read_body};
use crate::http::i18n::{Lang, text};
use crate::services::imports::{ImportError, ImportReport, residents as svc, template, volunteers};
use crate::state::AppState;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Media types a sheet may be sent as; the bytes decide what it is.
const ACCEPTED: &[&str] = &[
    XLSX,
    "application/vnd.ms-excel",
    "text/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/octet-stream",
    // What `curl --data-binary @file` sends when no type is given.
    "application/x-www-form-urlencoded",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Defaults to true: writing takes `dry_run=false`.
    pub dry_run: Option<bool>,
}

#[derive(Serialize)]
struct IssueView<'a> {
    row: u32,
    column: &'a str,
    field: &'a str,
    code: &'a str,
    message: &'static str,
}

#[derive(Serialize)]
struct ReportView<'a> {
    dry_run: bool,
    rows: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts_created: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts_linked: Option<usize>,
    errors: Vec<IssueView<'a>>,
}

fn sheet_error(status: StatusCode, code: &'static str) -> ApiError {
    ApiError::Sheet {
        status,
        code,
        issues: Vec::new(),
    }
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match e {
            ImportError::Service(e) => e.into(),
            ImportError::TooLarge | ImportError::Sheet(SheetError::Unpacked) => {
                sheet_error(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large")
            }
            ImportError::Sheet(e) => sheet_error(unprocessable, e.code()),
            ImportError::Headers(issues) => ApiError::Sheet {
                status: unprocessable,
                code: issues.first().map_or("missing_header", |i| i.code),
                issues,
            },
            ImportError::Invalid(issues) => ApiError::Sheet {
                status: unprocessable,
                code: "import_invalid",
                issues,
            },
            ImportError::Conflict => ApiError::Conflict("import_conflict"),
        }
    }
}

fn media_type_ok(req: &HttpRequest) -> bool {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return true;
    };
    let essence = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ACCEPTED.contains(&essence.as_str())
}

pub async fn residents(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<ImportQuery>,
    rid: RequestId,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Who may import is answered before the file is looked at.
    svc::authorise(&ctx, &p, *community_id).await?;
    let body = sheet_body(&req, payload).await?;
    let rid = (!rid.0.is_empty()).then_some(rid.0.as_str());
    let dry_run = q.dry_run.unwrap_or(true);
    let report = svc::import(&ctx, &p, *community_id, &body, dry_run, rid).await?;
    Ok(report_response(&report, Lang::from_headers(req.headers())))
}

pub async fn volunteers(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<ImportQuery>,
    rid: RequestId,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    volunteers::authorise(&ctx, &p, *community_id).await?;
    let body = sheet_body(&req, payload).await?;
    let rid = (!rid.0.is_empty()).then_some(rid.0.as_str());
    let dry_run = q.dry_run.unwrap_or(true);
    let report = volunteers::import(&ctx, &p, *community_id, &body, dry_run, rid).await?;
    Ok(report_response(&report, Lang::from_headers(req.headers())))
}

/// The file, of an accepted media type and within the limit.
async fn sheet_body(req: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, ApiError> {
    if !media_type_ok(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let mut payload = payload.into_inner();
    match read_body(req, &mut payload, MAX_BYTES).await {
        Ok(b) => Ok(b),
        Err(ApiError::PayloadTooLarge) => Err(ImportError::TooLarge.into()),
        Err(e) => Err(e),
    }
}

fn report_response(r: &ImportReport, lang: Lang) -> HttpResponse {
    let view = ReportView {
        dry_run: r.dry_run,
        rows: r.rows,
        created: r.created,
        updated: r.updated,
        unchanged: r.unchanged,
        accounts_created: r.accounts_created,
        accounts_linked: r.accounts_linked,
        errors: r
            .errors
            .iter()
            .map(|e| IssueView {
                row: e.row,
                column: &e.column,
                field: &e.field,
                code: e.code,
                message: text(e.code, lang),
            })
            .collect(),
    };
    HttpResponse::Ok().json(view)
}

pub async fn residents_template(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let bytes = template::residents(&ctx, &p, *community_id).await?;
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"residents-template.xlsx\"; filename*=UTF-8''%E5%B1%85%E6%B0%91%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx",
        ))
        .body(bytes))
}

pub async fn volunteers_template(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let bytes = template::volunteers(&ctx, &p, *community_id).await?;
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"volunteers-template.xlsx\"; filename*=UTF-8''%E5%BF%97%E6%84%BF%E8%80%85%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx",
        ))
        .body(bytes))
}
