//! The sheet to fill in: the columns an import reads, in bold, one example row (skipped by the
//! import), and drop-down lists for 性别, 类别 and 网格 (the community's grids, kept on a
//! hidden sheet since a list written inline is limited to 255 characters).

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, Formula, Workbook, Worksheet, XlsxError,
};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::id_card::check_character;
use crate::domain::import_sheet::{CARE_CATEGORY_NAMES, GENDER_NAMES};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;

use super::residents::{COLUMNS, EXAMPLE_MARK, authorise};

/// Rows the drop-downs cover (below the header).
const ROWS: u32 = 20_000;

/// The residents template of the community, as XLSX bytes.
pub async fn residents(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
) -> ServiceResult<Vec<u8>> {
    authorise(ctx, p, community_id).await?;
    let grids: Vec<String> =
        store::registry::grids::list(&ctx.db, community_id, None, false, 100_000)
            .await?
            .into_iter()
            .map(|g| g.row.name)
            .collect();
    residents_sheet(&grids).map_err(|e| ServiceError::Internal(format!("template: {e}")))
}

fn example_id() -> String {
    let body = "11010119500305123";
    format!("{body}{}", check_character(body).unwrap_or('0'))
}

fn residents_sheet(grids: &[String]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name("居民")?;
    for (i, c) in COLUMNS.iter().enumerate() {
        let col = i as u16;
        ws.write_string_with_format(0, col, c.header, &bold)?;
        ws.set_column_width(col, if c.field == "address" { 28 } else { 14 })?;
        // Phones and ID numbers stay text: a number loses digits and leading zeros.
        if matches!(c.field, "id_card_number" | "phone" | "birth_date") {
            ws.set_column_format(col, &text)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    let grid = grids.first().cloned().unwrap_or_default();
    let example = [
        ("name", "张三".to_string()),
        ("gender", "男".into()),
        ("birth_date", "1950-03-05".into()),
        ("id_card_number", example_id()),
        ("phone", "13800138000".into()),
        ("building", "3".into()),
        ("unit", "2".into()),
        ("room", "301".into()),
        ("grid_id", grid),
        ("care_categories", "独居、高龄".into()),
        ("address", "幸福路 8 号".into()),
        ("notes", EXAMPLE_MARK.into()),
    ];
    for (field, value) in example {
        if let Some(i) = COLUMNS.iter().position(|c| c.field == field) {
            ws.write_string_with_format(1, i as u16, &value, &text)?;
        }
    }
    let column = |field: &str| {
        COLUMNS
            .iter()
            .position(|c| c.field == field)
            .map(|i| i as u16)
    };
    if let Some(c) = column("gender") {
        let v = DataValidation::new().allow_list_strings(GENDER_NAMES)?;
        ws.add_data_validation(1, c, ROWS, c, &v)?;
    }
    if let Some(c) = column("care_categories") {
        let names: Vec<&str> = CARE_CATEGORY_NAMES.iter().map(|(n, _)| *n).collect();
        // Several categories go in one cell (独居、高龄): the list suggests, it does not forbid.
        let v = DataValidation::new()
            .allow_list_strings(&names)?
            .set_error_style(DataValidationErrorStyle::Information)
            .set_input_message("可多选，用顿号分隔，如：独居、高龄")?;
        ws.add_data_validation(1, c, ROWS, c, &v)?;
    }
    if let Some(c) = column("grid_id")
        && !grids.is_empty()
    {
        let v = DataValidation::new()
            .allow_list_formula(Formula::new(format!("='选项'!$A$1:$A${}", grids.len())));
        ws.add_data_validation(1, c, ROWS, c, &v)?;
    }
    let options: &mut Worksheet = wb.add_worksheet();
    options.set_name("选项")?;
    for (i, g) in grids.iter().enumerate() {
        options.write_string(i as u32, 0, g)?;
    }
    options.set_hidden(true);
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::import_sheet;

    #[test]
    fn the_template_reads_back_with_every_column_and_its_example() {
        let bytes = residents_sheet(&["一网格".into(), "二网格".into()]).unwrap();
        let sheet = import_sheet::read(&bytes).unwrap();
        let headers: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
        assert_eq!(sheet.headers, headers);
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(sheet.rows[0].number, 2);
        assert!(sheet.rows[0].cells.contains(&EXAMPLE_MARK.to_string()));
        assert!(sheet.rows[0].cells.contains(&"一网格".to_string()));
    }
}
