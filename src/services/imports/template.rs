//! The sheets to fill in: the columns an import reads, in bold, one example row (skipped by the
//! import), and drop-down lists (性别, 类别, 技能, 党员, 状态, and 网格: the community's grids,
//! kept on a hidden sheet since a list written inline is limited to 255 characters).

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, Formula, Workbook, Worksheet, XlsxError,
};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::id_card::check_character;
use crate::domain::import_sheet::{
    CARE_CATEGORY_NAMES, Column, GENDER_NAMES, SKILL_NAMES, VOLUNTEER_STATUS_NAMES, YES_NO_NAMES,
};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;

use super::residents::{COLUMNS, EXAMPLE_MARK, authorise};
use super::volunteers;

/// Rows the drop-downs cover (below the header).
const ROWS: u32 = 20_000;

/// The residents template of the community, as XLSX bytes.
pub async fn residents(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
) -> ServiceResult<Vec<u8>> {
    authorise(ctx, p, community_id).await?;
    let grids = grid_names(ctx, community_id).await?;
    residents_sheet(&grids).map_err(|e| ServiceError::Internal(format!("template: {e}")))
}

/// The volunteers template of the community, as XLSX bytes.
pub async fn volunteers(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
) -> ServiceResult<Vec<u8>> {
    volunteers::authorise(ctx, p, community_id).await?;
    let grids = grid_names(ctx, community_id).await?;
    volunteers_sheet(&grids).map_err(|e| ServiceError::Internal(format!("template: {e}")))
}

async fn grid_names(ctx: &AppState, community_id: Uuid) -> ServiceResult<Vec<String>> {
    Ok(
        store::registry::grids::list(&ctx.db, community_id, None, false, 100_000)
            .await?
            .into_iter()
            .map(|g| g.row.name)
            .collect(),
    )
}

/// Bold headers in the columns' order, text columns where digits must survive.
fn headers(ws: &mut Worksheet, columns: &[Column], text_fields: &[&str]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    for (i, c) in columns.iter().enumerate() {
        let col = i as u16;
        ws.write_string_with_format(0, col, c.header, &bold)?;
        ws.set_column_width(col, if c.field == "address" { 28 } else { 14 })?;
        // Phones and ID numbers stay text: a number loses digits and leading zeros.
        if text_fields.contains(&c.field) {
            ws.set_column_format(col, &text)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn position(columns: &[Column], field: &str) -> Option<u16> {
    columns
        .iter()
        .position(|c| c.field == field)
        .map(|i| i as u16)
}

/// A drop-down on `field`; `several` lets a cell hold a list (独居、高龄).
fn drop_down(
    ws: &mut Worksheet,
    columns: &[Column],
    field: &str,
    names: &[&str],
    several: Option<&str>,
) -> Result<(), XlsxError> {
    let Some(c) = position(columns, field) else {
        return Ok(());
    };
    let mut v = DataValidation::new().allow_list_strings(names)?;
    if let Some(hint) = several {
        // The list suggests, it does not forbid.
        v = v
            .set_error_style(DataValidationErrorStyle::Information)
            .set_input_message(hint)?;
    }
    ws.add_data_validation(1, c, ROWS, c, &v)?;
    Ok(())
}

/// The grid drop-down, from the hidden 选项 sheet, and that sheet.
fn grid_drop_down(
    wb: &mut Workbook,
    columns: &[Column],
    field: &str,
    grids: &[String],
) -> Result<(), XlsxError> {
    if let Some(c) = position(columns, field)
        && !grids.is_empty()
    {
        let v = DataValidation::new()
            .allow_list_formula(Formula::new(format!("='选项'!$A$1:$A${}", grids.len())));
        wb.worksheet_from_index(0)?
            .add_data_validation(1, c, ROWS, c, &v)?;
    }
    let options: &mut Worksheet = wb.add_worksheet();
    options.set_name("选项")?;
    for (i, g) in grids.iter().enumerate() {
        options.write_string(i as u32, 0, g)?;
    }
    options.set_hidden(true);
    Ok(())
}

fn volunteers_sheet(grids: &[String]) -> Result<Vec<u8>, XlsxError> {
    use volunteers::{COLUMNS as V, EXAMPLE_NAME};
    let mut wb = Workbook::new();
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name("志愿者")?;
    headers(ws, V, &["phone"])?;
    let example = [
        ("name", EXAMPLE_NAME.to_string()),
        ("phone", "13900139000".into()),
        ("home_grid_id", grids.first().cloned().unwrap_or_default()),
        ("skills", "陪诊、维修".into()),
        ("party_member", "是".into()),
        ("max_concurrent", "3".into()),
        ("status", "在岗".into()),
    ];
    for (field, value) in example {
        if let Some(c) = position(V, field) {
            ws.write_string_with_format(1, c, &value, &text)?;
        }
    }
    let skills: Vec<&str> = SKILL_NAMES.iter().map(|(n, _)| *n).collect();
    drop_down(
        ws,
        V,
        "skills",
        &skills,
        Some("可多选，用顿号分隔，如：陪诊、维修"),
    )?;
    drop_down(ws, V, "party_member", YES_NO_NAMES, None)?;
    let statuses: Vec<&str> = VOLUNTEER_STATUS_NAMES.iter().map(|(n, _)| *n).collect();
    drop_down(ws, V, "status", &statuses, None)?;
    grid_drop_down(&mut wb, V, "home_grid_id", grids)?;
    wb.save_to_buffer()
}

fn example_id() -> String {
    let body = "11010119500305123";
    format!("{body}{}", check_character(body).unwrap_or('0'))
}

fn residents_sheet(grids: &[String]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name("居民")?;
    headers(ws, COLUMNS, &["id_card_number", "phone", "birth_date"])?;
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
        if let Some(c) = position(COLUMNS, field) {
            ws.write_string_with_format(1, c, &value, &text)?;
        }
    }
    drop_down(ws, COLUMNS, "gender", GENDER_NAMES, None)?;
    let names: Vec<&str> = CARE_CATEGORY_NAMES.iter().map(|(n, _)| *n).collect();
    drop_down(
        ws,
        COLUMNS,
        "care_categories",
        &names,
        Some("可多选，用顿号分隔，如：独居、高龄"),
    )?;
    grid_drop_down(&mut wb, COLUMNS, "grid_id", grids)?;
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

    #[test]
    fn the_volunteers_template_reads_back_with_every_column_and_its_example() {
        let bytes = volunteers_sheet(&["一网格".into()]).unwrap();
        let sheet = import_sheet::read(&bytes).unwrap();
        let headers: Vec<&str> = volunteers::COLUMNS.iter().map(|c| c.header).collect();
        assert_eq!(sheet.headers, headers);
        assert_eq!(sheet.rows.len(), 1);
        assert!(
            sheet.rows[0]
                .cells
                .contains(&volunteers::EXAMPLE_NAME.to_string())
        );
        assert!(sheet.rows[0].cells.contains(&"陪诊、维修".to_string()));
    }
}
