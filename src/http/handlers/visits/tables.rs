//! Visit coverage laid out for spreadsheets (`?format=csv|xlsx`), with the numbers of its JSON.

use crate::http::tabular::{Cell, Export, Table, today};
use crate::services::visits::coverage::{CoverageReport, Tally};

const TALLY: [&str; 6] = ["应访", "按时完成", "逾期完成", "漏访", "未完成", "月探访率"];

fn columns(first: &[&'static str], last: &[&'static str]) -> Vec<&'static str> {
    first
        .iter()
        .chain(TALLY.iter())
        .chain(last.iter())
        .copied()
        .collect()
}

fn tally(t: &Tally) -> Vec<Cell> {
    vec![
        t.due.into(),
        t.on_time.into(),
        t.late.into(),
        t.missed.into(),
        t.open.into(),
        Cell::opt_ratio(t.rate),
    ]
}

pub fn coverage(r: &CoverageReport) -> Export {
    let mut grids = Table::new("按网格", columns(&["网格", "网格ID"], &[]));
    let mut all = vec![Cell::text("全社区"), Cell::Empty];
    all.extend(tally(&r.community));
    grids.row(all);
    for g in &r.grids {
        let mut row = vec![
            Cell::text(g.grid_name.clone().unwrap_or_else(|| "无网格".into())),
            Cell::opt_text(g.grid_id.map(|id| id.to_string())),
        ];
        row.extend(tally(&g.tally));
        grids.row(row);
    }
    let mut people = Table::new(
        "按人员",
        columns(&["姓名", "用户ID"], &["本人完成", "七日内待访"]),
    );
    for a in &r.assignees {
        let mut row = vec![
            Cell::text(a.name.clone()),
            Cell::text(a.user_id.to_string()),
        ];
        row.extend(tally(&a.tally));
        row.extend([a.done_by_them.into(), a.upcoming.into()]);
        people.row(row);
    }
    let mut missed = Table::new(
        "漏访居民",
        vec!["姓名", "居民ID", "网格ID", "漏访次数", "最近窗口结束(UTC)"],
    );
    for m in &r.missed_residents {
        missed.row(vec![
            Cell::text(m.name.clone()),
            Cell::text(m.resident_id.to_string()),
            Cell::opt_text(m.grid_id.map(|id| id.to_string())),
            m.missed.into(),
            Cell::Time(m.last_window_end),
        ]);
    }
    let about = Table::pairs(
        "说明",
        vec![
            ("社区ID", Cell::text(r.community_id.to_string())),
            ("起始月份", Cell::text(r.from_month.clone())),
            ("结束月份", Cell::text(r.to_month.clone())),
            ("开始时间(UTC)", Cell::Time(r.from)),
            ("结束时间(UTC)", Cell::Time(r.to)),
            ("统计时间(UTC)", Cell::Time(r.as_of)),
            ("漏访居民总数", r.missed_residents_total.into()),
        ],
    );
    Export {
        name: "探访覆盖率",
        ascii_name: "visit-coverage",
        date: today(),
        tables: vec![grids, people, missed, about],
    }
}
