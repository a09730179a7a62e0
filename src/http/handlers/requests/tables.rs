//! The requests' reports laid out for spreadsheets (`?format=csv|xlsx`): the three rates and a
//! volunteer's service hours, with the numbers of their JSON.

use crate::domain::rates::Rates;
use crate::http::tabular::{Cell, Export, Table, today};
use crate::services::requests::reports::{HoursView, RatesReport};

/// The group as staff read it: a grid's, service type's or team's name; `all` is the whole
/// community, `none` the requests of no grid or team; days as they are.
fn group_label(key: &str, name: Option<&str>) -> String {
    match (key, name) {
        (_, Some(name)) => name.to_string(),
        ("all", _) => "全社区".into(),
        ("none", _) => "无".into(),
        (k, None) => k.to_string(),
    }
}

fn group_by_label(g: &str) -> &'static str {
    match g {
        "community" => "社区",
        "grid" => "网格",
        "service_type" => "服务类型",
        "team" => "队伍",
        "day" => "日",
        "week" => "周",
        "month" => "月",
        _ => "其他",
    }
}

fn rates_cells(key: &str, name: Option<&str>, r: &Rates) -> Vec<Cell> {
    vec![
        Cell::text(group_label(key, name)),
        r.total.into(),
        r.cancelled.into(),
        r.counted.into(),
        r.awaiting_response.into(),
        r.responded_on_time.into(),
        r.resolved.into(),
        r.rated.into(),
        r.satisfied.into(),
        Cell::opt_ratio(r.response_rate),
        Cell::opt_ratio(r.resolution_rate),
        Cell::opt_ratio(r.satisfaction_rate),
        Cell::opt_decimal(r.response_minutes.median),
        Cell::opt_decimal(r.response_minutes.p90),
        Cell::opt_decimal(r.resolution_minutes.median),
        Cell::opt_decimal(r.resolution_minutes.p90),
    ]
}

pub fn three_rates(r: &RatesReport) -> Export {
    let mut t = Table::new(
        "三率",
        vec![
            "分组",
            "诉求总数",
            "已取消",
            "计入数",
            "待响应",
            "按时响应",
            "已解决",
            "已评价",
            "满意",
            "响应率",
            "解决率",
            "满意率",
            "响应时长中位数(分钟)",
            "响应时长P90(分钟)",
            "解决时长中位数(分钟)",
            "解决时长P90(分钟)",
        ],
    );
    for g in &r.groups {
        t.row(rates_cells(&g.key, g.name.as_deref(), &g.rates));
    }
    let about = Table::pairs(
        "说明",
        vec![
            ("社区ID", Cell::text(r.community_id.to_string())),
            ("开始时间(UTC)", Cell::Time(r.from)),
            ("结束时间(UTC)", Cell::Time(r.to)),
            ("分组方式", Cell::text(group_by_label(&r.group_by))),
        ],
    );
    Export {
        name: "三率报表",
        ascii_name: "three-rates",
        date: today(),
        tables: vec![t, about],
    }
}

/// The totals, and the page of entries the JSON holds (`limit`, `cursor` as for the JSON).
pub fn hours(h: &HoursView) -> Export {
    let summary = Table::pairs(
        "汇总",
        vec![
            ("志愿者ID", Cell::text(h.volunteer_id.to_string())),
            ("累计时长(分钟)", h.total_minutes.into()),
            ("累计时长(小时)", Cell::Decimal(h.total_hours)),
            ("本月时长(分钟)", h.this_month_minutes.into()),
            ("下一页游标", Cell::opt_text(h.next_cursor.clone())),
        ],
    );
    let mut entries = Table::new(
        "明细",
        vec![
            "时间(UTC)",
            "来源类型",
            "来源ID",
            "时长(分钟)",
            "时长(小时)",
            "核实人ID",
            "备注",
            "记录ID",
        ],
    );
    for e in &h.entries {
        entries.row(vec![
            Cell::Time(e.at),
            Cell::text(e.source_type.clone()),
            Cell::text(e.source_id.to_string()),
            e.minutes.into(),
            Cell::Decimal(e.hours),
            Cell::opt_text(e.verified_by.map(|u| u.to_string())),
            Cell::opt_text(e.note.clone()),
            Cell::text(e.id.to_string()),
        ]);
    }
    Export {
        name: "志愿服务时长",
        ascii_name: "volunteer-hours",
        date: today(),
        tables: vec![summary, entries],
    }
}
