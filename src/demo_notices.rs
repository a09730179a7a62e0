//! `seed-demo`'s 三务公开 board: a party notice (pinned), a residents' affairs notice, and a
//! quarter's finance disclosure whose line items add up — corrected once, so the board shows a
//! notice with two versions.

use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::services::notices::staff::{self, CorrectionInput, NoticeInput, PublishInput};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;

fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> ServiceResult<T> {
    serde_json::from_value(v).map_err(|e| ServiceError::Internal(e.to_string()))
}

async fn published(
    ctx: &AppState,
    admin: &Principal,
    community: Uuid,
    draft: serde_json::Value,
) -> ServiceResult<Uuid> {
    let n = staff::create(ctx, admin, community, input::<NoticeInput>(draft)?).await?;
    staff::publish(ctx, admin, n.id, PublishInput::default()).await?;
    Ok(n.id)
}

/// Seeds the board of `community`; a line for the seed's report.
pub async fn seed(ctx: &AppState, admin: &Principal, community: Uuid) -> ServiceResult<String> {
    published(
        ctx,
        admin,
        community,
        json!({
            "category": "party",
            "title": "关于开展“我为群众办实事”主题党日活动的通知",
            "body": "各位党员：\n\n本月第三个周六上午九点，在社区党群服务中心开展主题党日活动，\
                     内容为学习交流和走访慰问独居老人。\n\n请提前安排好时间，准时参加。",
            "pinned": true
        }),
    )
    .await?;
    published(
        ctx,
        admin,
        community,
        json!({
            "category": "affairs",
            "title": "3号楼加装电梯意见征集",
            "body": "3号楼部分居民提出加装电梯。请该楼住户于本月底前到社区服务站或通过小程序留言，\
                     说明同意、反对或其他意见。\n\n征集结果将提交党群议事会讨论，并在本栏公示。"
        }),
    )
    .await?;
    let (title, body) = (
        "第三季度社区公共收益收支公示",
        "根据居务公开要求，现将本季度公共收益收支情况公示如下，如有疑问请向社区服务站反映。",
    );
    let finance = published(
        ctx,
        admin,
        community,
        json!({
            "category": "finance",
            "title": title,
            "body": body,
            "items": [
                {"item": "电梯广告收入", "amount_fen": 1_860_000},
                {"item": "公共区域照明维修", "amount_fen": -342_050},
                {"item": "独居老人慰问品", "amount_fen": -120_000}
            ],
            "total_fen": 1_397_950
        }),
    )
    .await?;
    staff::correct(
        ctx,
        admin,
        finance,
        input::<CorrectionInput>(json!({
            "title": title,
            "body": body,
            "items": [
                {"item": "电梯广告收入", "amount_fen": 1_860_000},
                {"item": "公共区域照明维修", "amount_fen": -342_050},
                {"item": "独居老人慰问品", "amount_fen": -126_000}
            ],
            "total_fen": 1_391_950,
            "reason": "慰问品金额按发票更正为1260元"
        }))?,
    )
    .await?;
    Ok("Seeded the 三务公开 board: 3 notices (party, affairs, a finance disclosure corrected once).".into())
}
