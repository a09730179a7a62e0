//! Reports as spreadsheets: a report's JSON, or the same numbers as CSV or XLSX.
//!
//! A report handler takes [`Negotiated`] and answers with [`respond`], giving the report and the
//! function that lays it out as an [`Export`] (one or more [`Table`]s with Chinese headers); that
//! function lives beside the report's handler. The format is `?format=json|csv|xlsx` when given
//! (anything else: 406 `unsupported_format`), else the best of `Accept` (an `Accept` naming
//! nothing we make gets JSON, as before exports existed), else JSON.
//!
//! CSV is UTF-8 with a byte-order mark (Excel reads Chinese headers right only with it), CRLF
//! line ends, numbers as plain numbers (rates as fractions, as in the JSON); several tables follow
//! one another, each after a line with its name and an empty line between them. A text cell that
//! a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`.
//! XLSX has a sheet per table: bold frozen header, widths from the content, numbers as numbers,
//! rates as percentages, dates and times as dates.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook, Worksheet, XlsxError};
use serde::Serialize;

use super::error::ApiError;

pub const CSV: &str = "text/csv";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Excel's limit on the characters of one cell.
const MAX_CELL_CHARS: usize = 32_767;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

impl Format {
    fn from_param(s: &str) -> Option<Self> {
        match s {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The format a media range of `Accept` names, with how specific the range is (a type
    /// named outright beats `text/*`, which beats `*/*`).
    fn matching(range: &str) -> Vec<(Self, u8)> {
        match range {
            "application/json" => vec![(Format::Json, 2)],
            CSV => vec![(Format::Csv, 2)],
            XLSX => vec![(Format::Xlsx, 2)],
            "application/*" => vec![(Format::Json, 1), (Format::Xlsx, 1)],
            "text/*" => vec![(Format::Csv, 1)],
            "*/*" => vec![(Format::Json, 0), (Format::Csv, 0), (Format::Xlsx, 0)],
            _ => Vec::new(),
        }
    }

    /// The best of `Accept` by q-value; on a tie JSON, then the more specific range, then the
    /// one named first. None when nothing there is ours.
    fn from_accept(accept: &str) -> Option<Self> {
        let mut best: Option<(f32, bool, u8, usize, Format)> = None;
        for (i, part) in accept.split(',').enumerate() {
            let mut it = part.split(';');
            let range = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    (k.trim().eq_ignore_ascii_case("q")).then(|| v.trim().parse::<f32>().ok())?
                })
                .unwrap_or(1.0);
            if !(q > 0.0 && q <= 1.0) {
                continue;
            }
            for (f, specific) in Format::matching(&range) {
                let key = (q, f == Format::Json, specific, usize::MAX - i, f);
                let better = best.is_none_or(|b| {
                    (key.0, key.1, key.2, key.3)
                        .partial_cmp(&(b.0, b.1, b.2, b.3))
                        .is_some_and(|o| o.is_gt())
                });
                if better {
                    best = Some(key);
                }
            }
        }
        best.map(|b| b.4)
    }

    /// `?format=` wins over `Accept`; JSON when neither says.
    pub fn negotiate(query: &str, accept: Option<&str>) -> Result<Self, ApiError> {
        let pairs = url::form_urlencoded::parse(query.as_bytes());
        let mut asked: Option<Format> = None;
        for (k, v) in pairs {
            if k != "format" {
                continue;
            }
            let f = Format::from_param(&v).ok_or_else(unsupported)?;
            if asked.is_some_and(|a| a != f) {
                return Err(unsupported());
            }
            asked = Some(f);
        }
        Ok(asked
            .or_else(|| accept.and_then(Format::from_accept))
            .unwrap_or(Format::Json))
    }
}

fn unsupported() -> ApiError {
    ApiError::NotAcceptable("unsupported_format")
}

/// The format a report is asked for.
pub struct Negotiated(pub Format);

impl FromRequest for Negotiated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        ready(Format::negotiate(req.query_string(), accept).map(Negotiated))
    }
}

/// One cell. Times are shown in UTC (the header says so).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Decimal(f64),
    /// A fraction (0.75), shown as a percentage in XLSX.
    Ratio(f64),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }

    pub fn opt_text(s: Option<impl Into<String>>) -> Self {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }

    pub fn opt_decimal(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, Cell::Decimal)
    }

    pub fn opt_ratio(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, Cell::Ratio)
    }

    pub fn opt_int(v: Option<i64>) -> Self {
        v.map_or(Cell::Empty, Cell::Int)
    }

    /// The text of the cell in CSV (and for widths).
    fn csv_text(&self) -> String {
        match self {
            Cell::Text(s) => defuse(s),
            Cell::Int(n) => n.to_string(),
            Cell::Decimal(x) | Cell::Ratio(x) => x.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Time(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            Cell::Empty => String::new(),
        }
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

/// A text a spreadsheet would take for a formula, quoted to stay text (OWASP "CSV injection").
fn defuse(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// One table: a sheet of the workbook, a section of the CSV.
#[derive(Debug, Clone)]
pub struct Table {
    /// At most 31 characters, none of `[]:*?/\` (Excel's rules for sheet names).
    pub sheet_name: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(sheet_name: &'static str, columns: Vec<&'static str>) -> Self {
        Self {
            sheet_name,
            columns,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) -> &mut Self {
        debug_assert_eq!(cells.len(), self.columns.len(), "{}", self.sheet_name);
        self.rows.push(cells);
        self
    }

    /// A two-column table of labelled values (a report's period, a person's identity).
    pub fn pairs(sheet_name: &'static str, pairs: Vec<(&'static str, Cell)>) -> Self {
        let mut t = Table::new(sheet_name, vec!["项目", "值"]);
        for (label, value) in pairs {
            t.row(vec![Cell::text(label), value]);
        }
        t
    }
}

/// A report laid out for a spreadsheet.
#[derive(Debug, Clone)]
pub struct Export {
    /// The report's Chinese name, for the file name (`三率报表`).
    pub name: &'static str,
    /// An ASCII name for clients that cannot read `filename*` (`three-rates`).
    pub ascii_name: &'static str,
    /// The day in the file name.
    pub date: NaiveDate,
    pub tables: Vec<Table>,
}

impl Export {
    pub fn to_csv(&self) -> Result<Vec<u8>, ApiError> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::from(&b"\xEF\xBB\xBF"[..]));
        let several = self.tables.len() > 1;
        for (i, t) in self.tables.iter().enumerate() {
            if i > 0 {
                w.write_record([""]).map_err(csv_error)?;
            }
            if several {
                w.write_record([t.sheet_name]).map_err(csv_error)?;
            }
            w.write_record(&t.columns).map_err(csv_error)?;
            for row in &t.rows {
                w.write_record(row.iter().map(Cell::csv_text))
                    .map_err(csv_error)?;
            }
        }
        w.into_inner()
            .map_err(|e| ApiError::Internal(format!("csv: {e}")))
    }

    pub fn to_xlsx(&self) -> Result<Vec<u8>, ApiError> {
        let mut book = Workbook::new();
        for t in &self.tables {
            write_sheet(book.add_worksheet(), t).map_err(xlsx_error)?;
        }
        book.save_to_buffer().map_err(xlsx_error)
    }

    /// `attachment` with an ASCII `filename` and the Chinese one as `filename*` (RFC 6266).
    pub fn content_disposition(&self, extension: &str) -> String {
        let date = self.date.format("%Y-%m-%d");
        let utf8 = format!("{}-{date}.{extension}", self.name);
        let encoded: String = utf8
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!(
            "attachment; filename=\"{}-{date}.{extension}\"; filename*=UTF-8''{encoded}",
            self.ascii_name
        )
    }
}

fn csv_error(e: csv::Error) -> ApiError {
    ApiError::Internal(format!("csv: {e}"))
}

fn xlsx_error(e: XlsxError) -> ApiError {
    ApiError::Internal(format!("xlsx: {e}"))
}

/// Display width: a CJK character takes two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn excel_time(t: DateTime<Utc>) -> Result<ExcelDateTime, XlsxError> {
    let ms = u16::try_from(t.timestamp_subsec_millis()).unwrap_or(0);
    ExcelDateTime::from_ymd(
        u16::try_from(t.year()).unwrap_or(1900),
        t.month() as u8,
        t.day() as u8,
    )?
    .and_hms_milli(t.hour() as u16, t.minute() as u8, t.second() as u8, ms)
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(
        u16::try_from(d.year()).unwrap_or(1900),
        d.month() as u8,
        d.day() as u8,
    )
}

fn write_sheet(sheet: &mut Worksheet, t: &Table) -> Result<(), XlsxError> {
    sheet.set_name(t.sheet_name)?;
    let bold = XlsxFormat::new().set_bold();
    let percent = XlsxFormat::new().set_num_format("0.0%");
    let decimal = XlsxFormat::new().set_num_format("0.00");
    let date = XlsxFormat::new().set_num_format("yyyy-mm-dd");
    let time = XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let mut widths: Vec<usize> = t.columns.iter().map(|c| width(c)).collect();
    for (c, name) in t.columns.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &bold)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            let col = c as u16;
            match cell {
                Cell::Text(s) => {
                    let s: String = s.chars().take(MAX_CELL_CHARS).collect();
                    sheet.write_string(r, col, s)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(r, col, *n as f64)?;
                }
                Cell::Decimal(x) => {
                    sheet.write_number_with_format(r, col, *x, &decimal)?;
                }
                Cell::Ratio(x) => {
                    sheet.write_number_with_format(r, col, *x, &percent)?;
                }
                Cell::Date(d) => {
                    sheet.write_datetime_with_format(r, col, excel_date(*d)?, &date)?;
                }
                Cell::Time(t) => {
                    sheet.write_datetime_with_format(r, col, excel_time(*t)?, &time)?;
                }
                Cell::Empty => {}
            }
            if let Some(w) = widths.get_mut(c) {
                let shown = match cell {
                    Cell::Time(_) => 19,
                    Cell::Ratio(_) => 7,
                    _ => width(&cell.csv_text()),
                };
                *w = (*w).max(shown);
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, (*w).clamp(6, 60) as f64 + 2.0)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The report as JSON, or laid out by `layout` as CSV or XLSX, as a download. `Vary: Accept`
/// either way.
pub fn respond<T: Serialize>(
    format: Format,
    report: &T,
    layout: impl FnOnce(&T) -> Export,
) -> Result<HttpResponse, ApiError> {
    let (body, content_type, extension, export) = match format {
        Format::Json => {
            return Ok(HttpResponse::Ok()
                .append_header((header::VARY, "Accept"))
                .json(report));
        }
        Format::Csv => {
            let e = layout(report);
            (e.to_csv()?, "text/csv; charset=utf-8", "csv", e)
        }
        Format::Xlsx => {
            let e = layout(report);
            (e.to_xlsx()?, XLSX, "xlsx", e)
        }
    };
    let disposition = HeaderValue::from_str(&export.content_disposition(extension))
        .map_err(|e| ApiError::Internal(format!("content-disposition: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .append_header((header::VARY, "Accept"))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .body(body))
}

/// Today in China Standard Time, for file names.
pub fn today() -> NaiveDate {
    crate::store::now()
        .with_timezone(&crate::domain::time_zone::TimeZone::default().tz())
        .date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export() -> Export {
        let mut t = Table::new("汇总", vec!["名称", "数量", "比率", "日期"]);
        t.row(vec![
            Cell::text("=SUM(A1)"),
            Cell::Int(3),
            Cell::Ratio(0.75),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()),
        ]);
        t.row(vec![
            Cell::text("孙,大娘\"x\""),
            Cell::Empty,
            Cell::opt_ratio(None),
            Cell::Empty,
        ]);
        Export {
            name: "测试报表",
            ascii_name: "test",
            date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            tables: vec![
                t.clone(),
                Table::pairs("说明", vec![("社区", Cell::text("甲"))]),
            ],
        }
    }

    #[test]
    fn the_format_comes_from_the_query_then_accept_then_json() {
        let n = Format::negotiate;
        assert_eq!(n("", None).unwrap(), Format::Json);
        assert_eq!(n("format=csv", None).unwrap(), Format::Csv);
        assert_eq!(
            n("a=1&format=xlsx", Some("text/csv")).unwrap(),
            Format::Xlsx
        );
        assert_eq!(n("format=json", Some(XLSX)).unwrap(), Format::Json);
        assert_eq!(n("format=csv&format=csv", None).unwrap(), Format::Csv);
        for bad in [
            "format=pdf",
            "format=",
            "format=CSV",
            "format=csv&format=xlsx",
        ] {
            assert_eq!(
                n(bad, None).unwrap_err().code(),
                "unsupported_format",
                "{bad}"
            );
        }
        assert_eq!(n("", Some("text/csv")).unwrap(), Format::Csv);
        assert_eq!(n("", Some(XLSX)).unwrap(), Format::Xlsx);
        assert_eq!(n("", Some("*/*")).unwrap(), Format::Json);
        assert_eq!(n("", Some("text/*")).unwrap(), Format::Csv);
        assert_eq!(n("", Some("application/pdf")).unwrap(), Format::Json);
        assert_eq!(
            n("", Some("text/csv;q=0.5, application/json;q=0.9")).unwrap(),
            Format::Json
        );
        assert_eq!(
            n("", Some("application/json;q=0.4, text/csv")).unwrap(),
            Format::Csv
        );
        assert_eq!(
            n("", Some("text/html,application/xhtml+xml,*/*;q=0.8")).unwrap(),
            Format::Json,
            "a browser gets JSON"
        );
        assert_eq!(n("", Some("text/csv;q=0")).unwrap(), Format::Json);
        assert_eq!(
            n("", Some(&format!("{XLSX}, text/csv"))).unwrap(),
            Format::Xlsx
        );
    }

    #[test]
    fn csv_has_a_bom_crlf_sections_and_defused_formulas() {
        let csv = export().to_csv().unwrap();
        assert!(csv.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(csv[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "汇总\r\n名称,数量,比率,日期\r\n'=SUM(A1),3,0.75,2026-11-30\r\n\"孙,大娘\"\"x\"\"\",,,\r\n\
             \"\"\r\n说明\r\n项目,值\r\n社区,甲\r\n"
        );
    }

    #[test]
    fn a_single_table_csv_starts_with_its_header() {
        let mut e = export();
        e.tables.truncate(1);
        let csv = e.to_csv().unwrap();
        assert!(String::from_utf8_lossy(&csv[3..]).starts_with("名称,"));
    }

    #[test]
    fn xlsx_reads_back_with_numbers_and_dates() {
        use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
        let bytes = export().to_xlsx().unwrap();
        let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), ["汇总", "说明"]);
        let r = book.worksheet_range("汇总").unwrap();
        assert_eq!(r.get((0, 0)), Some(&Data::String("名称".into())));
        assert_eq!(r.get((1, 0)), Some(&Data::String("=SUM(A1)".into())));
        assert_eq!(r.get((1, 1)), Some(&Data::Float(3.0)));
        assert_eq!(r.get((1, 2)), Some(&Data::Float(0.75)));
        match r.get((1, 3)) {
            Some(Data::DateTime(d)) => assert_eq!(d.as_f64(), 46356.0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_file_name_is_ascii_and_rfc_6266_utf8() {
        assert_eq!(
            export().content_disposition("xlsx"),
            "attachment; filename=\"test-2026-11-30.xlsx\"; \
             filename*=UTF-8''%E6%B5%8B%E8%AF%95%E6%8A%A5%E8%A1%A8-2026-11-30.xlsx"
        );
    }
}
