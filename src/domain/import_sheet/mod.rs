//! Spreadsheets as grid workers fill them in (XLSX or CSV), read into rows of text: the
//! file is sniffed, headers are matched by name (Chinese, with the usual variants), and values
//! written the way people write them (男/女, 2024/3/5, 独居、高龄) are put into the form the
//! registry's own validation takes. Nothing here decides whether a value is valid: the
//! registry's domain types do that, so a row is checked exactly as the API checks a record.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{Data, DataRef, Reader, Xlsx};

mod values;
use chrono::{Duration, NaiveDate};
pub use values::{
    CARE_CATEGORY_NAMES, GENDER_NAMES, SKILL_NAMES, VOLUNTEER_STATUS_NAMES, YES_NO_NAMES,
    care_categories, date, gender, list, skills, volunteer_status, yes_no,
};

/// The largest file accepted (5 MiB).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// The most data rows one import takes.
pub const MAX_ROWS: usize = 20_000;
/// The most bad cells an answer lists (it counts them all): enough to fix a sheet by, without
/// megabytes of JSON for a sheet that is wrong everywhere.
pub const MAX_LISTED_ISSUES: usize = 1_000;
/// What an XLSX's parts may unpack to in all: a 5 MiB file of 20,000 rows unpacks to a few
/// tens of MiB; a zip bomb is refused before anything is read.
pub const MAX_UNPACKED_BYTES: u64 = 100 * 1024 * 1024;
/// Columns read: no import has more than a dozen; cells further right are ignored.
const MAX_COLUMNS: u32 = 256;
/// Characters kept of a cell: more than any field takes, so that a longer value still fails
/// validation as too long, without a huge shared string copied into every cell.
const MAX_CELL_CHARS: usize = 2_000;

/// A sheet read into text: the header row and the data rows, numbered as the spreadsheet
/// shows them (the header is row 1 when it is the first row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub headers: Vec<String>,
    pub rows: Vec<SheetRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// The row number the spreadsheet shows.
    pub number: u32,
    pub cells: Vec<String>,
}

impl SheetRow {
    /// The trimmed text of cell `i`, `None` when it is empty or absent.
    pub fn cell(&self, i: Option<usize>) -> Option<&str> {
        let s = self.cells.get(i?)?.trim();
        (!s.is_empty()).then_some(s)
    }
}

/// Why a file cannot be read as a sheet; `code` is the problem code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetError {
    /// Not XLSX or text (an image, a PDF, a broken zip).
    NotASpreadsheet,
    /// An Excel 97–2003 workbook (.xls): save it as .xlsx. Its reader lays every sheet out in
    /// memory as wide and tall as its furthest cell says, which a crafted file makes unbounded.
    XlsNotSupported,
    /// An XLSX whose parts unpack to more than [`MAX_UNPACKED_BYTES`].
    Unpacked,
    /// Text that is not UTF-8 (a CSV saved as GBK): save it as "CSV UTF-8".
    NotUtf8,
    /// No header row at all.
    Empty,
    /// More than [`MAX_ROWS`] data rows.
    TooManyRows,
}

impl SheetError {
    pub fn code(self) -> &'static str {
        match self {
            SheetError::NotASpreadsheet => "not_a_spreadsheet",
            SheetError::XlsNotSupported => "xls_not_supported",
            SheetError::Unpacked => "file_too_large",
            SheetError::NotUtf8 => "csv_not_utf8",
            SheetError::Empty => "empty_sheet",
            SheetError::TooManyRows => "too_many_rows",
        }
    }
}

/// One problem with one cell (or a header): the row as the spreadsheet shows it, the column's
/// header, the API field it fills, and a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetIssue {
    pub row: u32,
    pub column: String,
    pub field: String,
    pub code: &'static str,
}

/// Reads the first worksheet of an XLSX file, or a CSV (UTF-8, comma or tab separated).
pub fn read(bytes: &[u8]) -> Result<Sheet, SheetError> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];
    if bytes.starts_with(OLE) {
        return Err(SheetError::XlsNotSupported);
    }
    if bytes.starts_with(ZIP) {
        return read_xlsx(bytes);
    }
    read_csv(bytes)
}

/// Every part unpacked once, to at most what the archive's directory says it is, and the
/// stated sizes at most [`MAX_UNPACKED_BYTES`] in all: the reader that follows trusts them
/// (it keeps the shared strings in memory), and an inflater does not stop by itself.
fn check_unpacked(bytes: &[u8]) -> Result<(), SheetError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| SheetError::NotASpreadsheet)?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let stated = zip
            .by_index_raw(i)
            .map_err(|_| SheetError::NotASpreadsheet)?
            .size();
        total = total.saturating_add(stated);
        if total > MAX_UNPACKED_BYTES {
            return Err(SheetError::Unpacked);
        }
        let part = zip.by_index(i).map_err(|_| SheetError::NotASpreadsheet)?;
        let read = std::io::copy(&mut part.take(stated + 1), &mut std::io::sink())
            .map_err(|_| SheetError::NotASpreadsheet)?;
        if read > stated {
            return Err(SheetError::Unpacked);
        }
    }
    Ok(())
}

/// The first worksheet, cell by cell: only the rows and columns that hold something are kept,
/// however far apart a crafted sheet puts its cells.
fn read_xlsx(bytes: &[u8]) -> Result<Sheet, SheetError> {
    check_unpacked(bytes)?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| SheetError::NotASpreadsheet)?;
    let first = wb.sheet_names().first().cloned().ok_or(SheetError::Empty)?;
    let mut cells = wb
        .worksheet_cells_reader(&first)
        .map_err(|_| SheetError::NotASpreadsheet)?;
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    while let Some(cell) = cells.next_cell().map_err(|_| SheetError::NotASpreadsheet)? {
        let (r, c) = cell.get_position();
        let text = cell_ref_text(cell.get_value());
        if c >= MAX_COLUMNS || text.is_empty() {
            continue;
        }
        if !rows.contains_key(&r) && rows.len() > MAX_ROWS + 1 {
            return Err(SheetError::TooManyRows);
        }
        let row = rows.entry(r).or_default();
        let c = c as usize;
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = text;
    }
    let lines = rows.into_iter().map(|(r, cells)| (r + 1, cells)).collect();
    into_sheet(lines)
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, SheetError> {
    let binary = |b: &u8| (*b < 0x20 && !matches!(*b, b'\t' | b'\r' | b'\n')) || *b == 0x7f;
    if bytes.iter().any(binary) {
        return Err(SheetError::NotASpreadsheet);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| SheetError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut lines = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|_| SheetError::NotASpreadsheet)?;
        if lines.len() > MAX_ROWS + 1 {
            return Err(SheetError::TooManyRows);
        }
        // A record's number; the reader skips blank lines, so a CSV's rows are counted
        // without them (a spreadsheet's blank rows keep their numbers).
        lines.push((i as u32 + 1, record.iter().map(str::to_string).collect()));
    }
    into_sheet(lines)
}

/// The first non-empty line is the header; blank lines are skipped.
fn into_sheet(lines: Vec<(u32, Vec<String>)>) -> Result<Sheet, SheetError> {
    let mut lines = lines
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let (_, headers) = lines.next().ok_or(SheetError::Empty)?;
    let rows: Vec<SheetRow> = lines
        .map(|(number, cells)| SheetRow { number, cells })
        .collect();
    if rows.len() > MAX_ROWS {
        return Err(SheetError::TooManyRows);
    }
    Ok(Sheet {
        headers: headers.iter().map(|h| h.trim().to_string()).collect(),
        rows,
    })
}

/// A streamed cell as text, as [`cell_text`] has it, at most [`MAX_CELL_CHARS`] long.
fn cell_ref_text(d: &DataRef<'_>) -> String {
    let capped = |s: &str| s.trim().chars().take(MAX_CELL_CHARS).collect::<String>();
    match d {
        DataRef::SharedString(s) => capped(s),
        DataRef::String(s) => capped(s),
        other => cell_text(&Data::from(other.clone())),
    }
}

/// A cell as text: whole numbers without a decimal point (a phone typed as a number), dates
/// as `YYYY-MM-DD`.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(dt) => excel_date(dt.as_f64())
            .map(|d| d.to_string())
            .unwrap_or_default(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        // A formula error (#N/A, #VALUE!) is kept as written, and fails validation as such.
        Data::Error(e) => e.to_string(),
    }
}

/// An Excel serial day number (1900 date system) as a date.
fn excel_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    // Day 0 is 1899-12-30 once Excel's phantom 1900-02-29 (day 60) is past.
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_signed(Duration::days(serial as i64))
}

/// One column a sheet may have: the API field it fills, its header as the template writes it,
/// and the other headers people use for it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub field: &'static str,
    pub header: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

/// A header with the decorations people add removed: spaces, a required marker (`*`, `（必填）`).
fn bare(h: &str) -> String {
    let h: String = h
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '＊')
        .collect();
    for suffix in ["（必填）", "(必填)", "（选填）", "(选填)"] {
        if let Some(s) = h.strip_suffix(suffix) {
            return s.to_string();
        }
    }
    h
}

/// Where each of `columns` is among `headers` (by name, in any order; headers of no column are
/// ignored). A required column that is missing is `missing_header`, a column given twice is
/// `duplicate_header`, both on row `header_row`.
pub fn map_headers(
    columns: &[Column],
    headers: &[String],
) -> Result<Vec<Option<usize>>, Vec<SheetIssue>> {
    let mut found: Vec<Option<usize>> = vec![None; columns.len()];
    let mut issues = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = bare(h);
        let Some(c) = columns
            .iter()
            .position(|c| c.header == h || c.aliases.contains(&h.as_str()))
        else {
            continue;
        };
        if found[c].is_some() {
            issues.push(SheetIssue {
                row: 1,
                column: headers[i].clone(),
                field: columns[c].field.to_string(),
                code: "duplicate_header",
            });
        } else {
            found[c] = Some(i);
        }
    }
    for (c, at) in columns.iter().zip(&found) {
        if c.required && at.is_none() {
            issues.push(SheetIssue {
                row: 1,
                column: c.header.to_string(),
                field: c.field.to_string(),
                code: "missing_header",
            });
        }
    }
    if issues.is_empty() {
        Ok(found)
    } else {
        Err(issues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[Column] = &[
        Column {
            field: "name",
            header: "姓名",
            aliases: &[],
            required: true,
        },
        Column {
            field: "phone",
            header: "电话",
            aliases: &["手机", "联系电话", "手机号"],
            required: false,
        },
    ];

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_a_csv_with_a_bom_and_numbers_rows_as_a_spreadsheet_would() {
        let s = read("\u{feff}姓名,电话\n张三,13800138000\n\n李四,\n".as_bytes()).unwrap();
        assert_eq!(s.headers, headers(&["姓名", "电话"]));
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0].number, 2);
        assert_eq!(s.rows[1].number, 3, "a CSV's blank lines are not counted");
        assert_eq!(s.rows[1].cell(Some(1)), None);
        assert_eq!(s.rows[1].cell(Some(7)), None);
    }

    #[test]
    fn refuses_what_is_not_a_sheet() {
        assert_eq!(
            read(b"\x89PNG\r\n\x1a\n\0\0"),
            Err(SheetError::NotASpreadsheet)
        );
        assert_eq!(
            read(b"PK\x03\x04not really a zip"),
            Err(SheetError::NotASpreadsheet)
        );
        // 姓名 in GBK.
        assert_eq!(read(&[0xd0, 0xd5, 0xc3, 0xfb]), Err(SheetError::NotUtf8));
        assert_eq!(read(b""), Err(SheetError::Empty));
        assert_eq!(read(b"\n,,\n"), Err(SheetError::Empty));
    }

    #[test]
    fn cells_far_apart_are_read_as_the_few_rows_they_are() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "姓名").unwrap();
        ws.write_string(0, 1, "电话").unwrap();
        ws.write_string(1, 0, "张三").unwrap();
        // A dense layout of these would be a million rows by 16,384 columns.
        ws.write_string(1_048_575, 0, "远处").unwrap();
        ws.write_string(1_048_575, 16_383, "最远处").unwrap();
        let s = read(&wb.save_to_buffer().unwrap()).unwrap();
        assert_eq!(s.headers, headers(&["姓名", "电话"]));
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[1].number, 1_048_576);
        assert_eq!(
            s.rows[1].cells,
            vec!["远处".to_string()],
            "columns past 256 are ignored"
        );
    }

    #[test]
    fn refuses_an_xls_and_a_zip_that_unpacks_to_more_than_it_says() {
        assert_eq!(
            read(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
            Err(SheetError::XlsNotSupported)
        );
        let mut zipped = Vec::new();
        {
            let mut z = zip::ZipWriter::new(Cursor::new(&mut zipped));
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            z.start_file("xl/sharedStrings.xml", opts).unwrap();
            std::io::Write::write_all(&mut z, &vec![b'a'; 1 << 20]).unwrap();
            z.finish().unwrap();
        }
        assert_eq!(read(&zipped), Err(SheetError::NotASpreadsheet), "as it is");
        // The central directory's uncompressed size (offset 24 of its entry), made a lie.
        let at = zipped.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap() + 24;
        let mut lying = zipped.clone();
        lying[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(read(&lying), Err(SheetError::Unpacked));
        let mut huge = zipped;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read(&huge), Err(SheetError::Unpacked));
    }

    #[test]
    fn refuses_too_many_rows() {
        let mut csv = String::from("姓名\n");
        for _ in 0..=MAX_ROWS {
            csv.push_str("a\n");
        }
        assert_eq!(read(csv.as_bytes()), Err(SheetError::TooManyRows));
    }

    #[test]
    fn reads_an_xlsx_with_numbers_and_dates() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write(0, 0, "姓名").unwrap();
        ws.write(0, 1, "电话").unwrap();
        ws.write(0, 2, "出生日期").unwrap();
        ws.write(1, 0, "张三").unwrap();
        ws.write(1, 1, 13800138000.0).unwrap();
        let d = rust_xlsxwriter::ExcelDateTime::from_ymd(1950, 3, 5).unwrap();
        let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        ws.write_with_format(1, 2, &d, &fmt).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let s = read(&bytes).unwrap();
        assert_eq!(s.rows[0].number, 2);
        assert_eq!(
            s.rows[0].cells,
            headers(&["张三", "13800138000", "1950-03-05"])
        );
    }

    #[test]
    fn matches_headers_by_name_with_variants_and_markers() {
        let at = map_headers(COLUMNS, &headers(&["备注", " 手机号 ", "姓名*"])).unwrap();
        assert_eq!(at, vec![Some(2), Some(1)]);
        let e = map_headers(COLUMNS, &headers(&["名字", "电话", "手机"])).unwrap_err();
        assert_eq!(
            e.iter()
                .map(|i| (i.column.as_str(), i.code))
                .collect::<Vec<_>>(),
            vec![("手机", "duplicate_header"), ("姓名", "missing_header")]
        );
    }

    #[test]
    fn excel_serial_days_are_dates() {
        assert_eq!(excel_date(18327.0), NaiveDate::from_ymd_opt(1950, 3, 5));
        assert_eq!(excel_date(-1.0), None);
    }
}
