//! `seed-demo`'s mediation (调解): a leak from the flat above, between two neighbours of one
//! grid and the property company, mediated by a volunteer with the `mediation` skill, held in
//! two sessions and closed with an agreement whose follow-up in two weeks is a visit for the
//! grid worker of each neighbour.

use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::mediation::OutcomeInput;
use crate::services::mediation::cases::{self, MediationInput};
use crate::services::mediation::sessions::{self, SessionInput};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;

fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> ServiceResult<T> {
    serde_json::from_value(v).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Seeds the closed case in `community`; a line for the seed's report.
pub async fn seed(ctx: &AppState, admin: &Principal, community: Uuid) -> ServiceResult<String> {
    let filter = store::registry::residents::ResidentFilter {
        community_id: community,
        ..Default::default()
    };
    let everyone = store::registry::residents::list(&ctx.db, &filter, None, 500).await?;
    // Two adults of the same grid: the flat above and the flat below.
    let neighbours = everyone
        .iter()
        .filter(|r| r.grid_id.is_some() && r.phone.is_some())
        .find_map(|a| {
            everyone
                .iter()
                .find(|b| b.id != a.id && b.grid_id == a.grid_id && b.phone.is_some())
                .map(|b| (a, b))
        })
        .ok_or_else(|| ServiceError::Internal("no two neighbours to mediate".into()))?;
    let vfilter = store::registry::volunteers::VolunteerFilter {
        community_id: community,
        skill: Some("mediation".into()),
        ..Default::default()
    };
    let mediator = store::registry::volunteers::list(&ctx.db, &vfilter, None, 1)
        .await?
        .into_iter()
        .next()
        .map(|v| v.user_id);
    let mediator = match mediator {
        Some(m) => m,
        None => {
            store::accounts::users::find_by_login(&ctx.db, "dispatcher", None)
                .await?
                .ok_or_else(|| ServiceError::Internal("no mediator".into()))?
                .id
        }
    };
    let (above, below) = neighbours;
    let case = cases::create(
        ctx,
        admin,
        community,
        input::<MediationInput>(json!({
            "kind": "property",
            "summary": "楼上卫生间漏水渗到楼下天花板，双方对维修费用分担有争议，物业公司称防水层属共用部位。",
            "mediator_id": mediator,
            "parties": [{"resident_id": below.id}, {"resident_id": above.id},
                        {"name": "赵经理（物业公司）", "phone": "0351-5551234"}]
        }))?,
    )
    .await?;
    let now = Utc::now();
    for (days_ago, place, notes) in [
        (
            9,
            "电力社区人民调解室",
            "三方到场。楼下出示天花板渗水照片；楼上同意开放卫生间查看；物业答应三日内检测防水层。",
        ),
        (
            2,
            "电力社区人民调解室",
            "检测结果：楼上地漏处防水层老化。三方就维修和赔偿达成一致意见，约定签订调解协议。",
        ),
    ] {
        sessions::add_session(
            ctx,
            admin,
            case.id,
            input::<SessionInput>(json!({
                "held_at": now - Duration::days(days_ago),
                "place": place,
                "notes": notes,
            }))?,
        )
        .await?;
    }
    let follow_up = now.date_naive() + Duration::days(14);
    let closed = cases::close(
        ctx,
        admin,
        case.id,
        input::<OutcomeInput>(json!({
            "outcome": "agreement",
            "agreement_text": "一、楼上业主负责重做卫生间防水，费用自理；二、楼下天花板修复费用 1200 元由楼上承担；三、物业公司协助施工并承担检测费用；四、施工于两周内完成。",
            "follow_up_on": follow_up,
        }))?,
    )
    .await?;
    Ok(format!(
        "A closed mediation (property, agreement) with {} follow-up visit(s) on {follow_up}.",
        closed.follow_up_visit_ids.len()
    ))
}
