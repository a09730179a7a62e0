//! Where a sheet's columns are: its header row matched against the columns an import reads.

use crate::domain::FieldError;
use crate::domain::import_sheet::{self as sheet, Column, SheetIssue, SheetRow};

use super::ImportError;

pub const fn col(
    field: &'static str,
    header: &'static str,
    aliases: &'static [&'static str],
    required: bool,
) -> Column {
    Column {
        field,
        header,
        aliases,
        required,
    }
}

/// Where each of an import's columns is in the sheet, by field.
pub struct Layout<'a> {
    columns: &'static [Column],
    at: Vec<Option<usize>>,
    headers: &'a [String],
}

impl<'a> Layout<'a> {
    /// The layout of `headers`; a required column missing (or one given twice) is every such
    /// issue at once.
    pub fn read(columns: &'static [Column], headers: &'a [String]) -> Result<Self, ImportError> {
        let at = sheet::map_headers(columns, headers).map_err(ImportError::Headers)?;
        Ok(Self {
            columns,
            at,
            headers,
        })
    }

    fn index(&self, field: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.field == field)
    }

    /// Whether the sheet has the column.
    pub fn has(&self, field: &str) -> bool {
        self.index(field).and_then(|i| self.at[i]).is_some()
    }

    pub fn cell<'r>(&self, row: &'r SheetRow, field: &str) -> Option<&'r str> {
        row.cell(self.index(field).and_then(|i| self.at[i]))
    }

    /// An issue on `field` of `row`, naming the column as the sheet heads it.
    pub fn issue(&self, row: &SheetRow, field: &str, code: &'static str) -> SheetIssue {
        let column = match self.index(field) {
            Some(i) => self.at[i]
                .and_then(|h| self.headers.get(h))
                .cloned()
                .unwrap_or_else(|| self.columns[i].header.to_string()),
            None => field.to_string(),
        };
        SheetIssue {
            row: row.number,
            column,
            field: field.to_string(),
            code,
        }
    }

    /// The registry's field errors of `row` as issues on the columns they come from
    /// (`availability[2].start` is the `availability` column).
    pub fn issues_of<'e>(
        &'e self,
        row: &'e SheetRow,
        errors: &'e [FieldError],
    ) -> impl Iterator<Item = SheetIssue> + 'e {
        errors.iter().map(move |e| {
            let field = e.field.split(['[', '.']).next().unwrap_or("");
            self.issue(row, field, e.code)
        })
    }
}
