//! Spreadsheet imports: the file is the raw body (`curl --data-binary @sheet.xlsx`), XLSX or
//! CSV, told apart by its bytes (an XLS is refused with its own code); the template is an XLSX
//! download.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::import_sheet::{MAX_BYTES, MAX_LISTED_ISSUES, SheetError};
use crate::http::error::ApiError;
use crate::http::extract::{Auth, RequestId, read_body};
use crate::http::i18n::{Lang, text};
use crate::services::imports::{ImportError, ImportReport, SheetKind};
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
    errors_total: usize,
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
    let at = (*community_id, q.into_inner());
    run(SheetKind::Residents, &ctx, &p, at, &rid, &req, payload).await
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
    let at = (*community_id, q.into_inner());
    run(SheetKind::Volunteers, &ctx, &p, at, &rid, &req, payload).await
}

async fn run(
    kind: SheetKind,
    ctx: &AppState,
    p: &Principal,
    (community_id, q): (Uuid, ImportQuery),
    rid: &RequestId,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Who may import is answered before the file is looked at.
    kind.authorise(ctx, p, community_id).await?;
    let body = sheet_body(req, payload).await?;
    let rid = (!rid.0.is_empty()).then_some(rid.0.as_str());
    let dry_run = q.dry_run.unwrap_or(true);
    let report = kind
        .import(ctx, p, community_id, &body, dry_run, rid)
        .await?;
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
        errors_total: r.errors.len(),
        errors: r
            .errors
            .iter()
            .take(MAX_LISTED_ISSUES)
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
    let names = ("residents-template.xlsx", "居民导入模板.xlsx");
    template(SheetKind::Residents, &ctx, &p, *community_id, names).await
}

pub async fn volunteers_template(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let names = ("volunteers-template.xlsx", "志愿者导入模板.xlsx");
    template(SheetKind::Volunteers, &ctx, &p, *community_id, names).await
}

/// The template as an attachment, named in ASCII and (RFC 6266) in Chinese.
async fn template(
    kind: SheetKind,
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    (ascii, chinese): (&str, &str),
) -> Result<HttpResponse, ApiError> {
    let bytes = kind.template(ctx, p, community_id).await?;
    let encoded: String = chinese
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        ))
        .body(bytes))
}
