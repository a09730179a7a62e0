//! The mediation counts laid out for spreadsheets (`?format=csv|xlsx`), with the numbers of
//! their JSON: one row per kind of dispute, then the whole.

use crate::domain::mediation::Kind;
use crate::http::tabular::{Cell, Export, Table, today};
use crate::services::mediation::report::MediationReport;

fn kind_label(k: Kind) -> &'static str {
    match k {
        Kind::Neighbour => "邻里纠纷",
        Kind::Family => "婚姻家庭",
        Kind::Property => "物业纠纷",
        Kind::Tenancy => "房屋租赁",
        Kind::Labour => "劳动争议",
        Kind::Other => "其他",
    }
}

pub fn mediations(r: &MediationReport) -> Export {
    let mut t = Table::new(
        "调解统计",
        vec![
            "纠纷类型",
            "类型代码",
            "调解中",
            "调解成功",
            "调解不成",
            "转交处理",
            "合计",
        ],
    );
    for k in &r.by_kind {
        t.row(vec![
            Cell::text(kind_label(k.kind)),
            Cell::text(k.kind.as_str()),
            k.open.into(),
            k.agreement.into(),
            k.no_agreement.into(),
            k.referred.into(),
            k.total.into(),
        ]);
    }
    let all = &r.by_outcome;
    t.row(vec![
        Cell::text("合计"),
        Cell::text("all"),
        all.open.into(),
        all.agreement.into(),
        all.no_agreement.into(),
        all.referred.into(),
        all.total.into(),
    ]);
    let about = Table::pairs(
        "说明",
        vec![
            ("社区ID", Cell::text(r.community_id.to_string())),
            ("开始时间(UTC)", Cell::Time(r.from)),
            ("结束时间(UTC)", Cell::Time(r.to)),
        ],
    );
    Export {
        name: "调解统计",
        ascii_name: "mediations",
        date: today(),
        tables: vec![t, about],
    }
}
