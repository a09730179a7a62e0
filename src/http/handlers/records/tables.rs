//! The volunteer record laid out for spreadsheets (`?format=csv|xlsx`): one row per entry of the
//! ledger, the identity masked as in the JSON, and the totals.

use crate::http::tabular::{Cell, Export, Table, today};
use crate::services::records::community_hours::CommunityHoursReport;
use crate::services::records::record::RecordView;

pub fn record(r: &RecordView) -> Export {
    let v = &r.volunteer;
    let identity = Table::pairs(
        "志愿者",
        vec![
            ("姓名", Cell::text(v.name.clone())),
            ("电话", Cell::opt_text(v.phone.clone())),
            ("身份证号", Cell::opt_text(v.id_card.clone())),
            ("社区", Cell::text(v.community_name.clone())),
            ("注册时间(UTC)", Cell::Time(v.registered_at)),
            ("志愿者ID", Cell::text(v.id.to_string())),
            ("累计时长(分钟)", r.totals.minutes.into()),
            ("累计时长(小时)", Cell::Decimal(r.totals.hours)),
            (
                "记录已截断",
                Cell::text(if r.truncated { "是" } else { "否" }),
            ),
        ],
    );
    let mut entries = Table::new(
        "服务记录",
        vec![
            "服务日期",
            "服务内容",
            "来源类型",
            "时长(分钟)",
            "时长(小时)",
            "记录人",
            "评价(分)",
            "评价内容",
            "备注",
            "时间(UTC)",
            "记录ID",
        ],
    );
    for e in &r.entries {
        entries.row(vec![
            Cell::Date(e.date),
            Cell::text(e.content.clone()),
            Cell::text(e.source_type.clone()),
            e.minutes.into(),
            Cell::Decimal(e.hours),
            Cell::opt_text(e.recorded_by.as_ref().and_then(|b| b.name.clone())),
            Cell::opt_int(e.evaluation.as_ref().map(|x| x.rating)),
            Cell::opt_text(e.evaluation.as_ref().and_then(|x| x.comment.clone())),
            Cell::opt_text(e.note.clone()),
            Cell::Time(e.at),
            Cell::text(e.id.to_string()),
        ]);
    }
    let mut years = Table::new("按年度", vec!["年度", "时长(分钟)", "时长(小时)"]);
    for y in &r.totals.by_year {
        years.row(vec![
            i64::from(y.year).into(),
            y.minutes.into(),
            Cell::Decimal(y.hours),
        ]);
    }
    let mut sources = Table::new("按来源", vec!["来源类型", "时长(分钟)", "时长(小时)"]);
    for s in &r.totals.by_source {
        sources.row(vec![
            Cell::text(s.source_type.clone()),
            s.minutes.into(),
            Cell::Decimal(s.hours),
        ]);
    }
    Export {
        name: "志愿服务记录",
        ascii_name: "volunteer-record",
        date: today(),
        tables: vec![entries, identity, years, sources],
    }
}

/// One row per volunteer with hours in the period, most first, then the total.
pub fn community_hours(r: &CommunityHoursReport) -> Export {
    let mut t = Table::new(
        "志愿服务时长",
        vec!["姓名", "时长(分钟)", "时长(小时)", "记录条数", "志愿者ID"],
    );
    for v in &r.volunteers {
        t.row(vec![
            Cell::text(v.name.clone()),
            v.minutes.into(),
            Cell::Decimal(v.hours),
            v.entries.into(),
            Cell::text(v.volunteer_id.to_string()),
        ]);
    }
    let about = Table::pairs(
        "说明",
        vec![
            ("社区ID", Cell::text(r.community_id.to_string())),
            ("起始日期", Cell::Date(r.from)),
            ("结束日期", Cell::Date(r.to)),
            ("合计时长(分钟)", r.total_minutes.into()),
            ("合计时长(小时)", Cell::Decimal(r.total_hours)),
        ],
    );
    Export {
        name: "志愿服务时长统计",
        ascii_name: "volunteer-hours-report",
        date: today(),
        tables: vec![t, about],
    }
}
