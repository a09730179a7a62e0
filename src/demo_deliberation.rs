//! `seed-demo`'s 议事: one topic the residents voted on, whose vote is closed and whose decision
//! is published as a notice; and one taken up at next week's meeting, its vote still open.

use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{Grant, Principal};
use crate::domain::role::Role;
use crate::services::deliberation::{ballots, topics, votes};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;

fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> ServiceResult<T> {
    serde_json::from_value(v).map_err(|e| ServiceError::Internal(e.to_string()))
}

fn resident(user_id: Uuid, community: Uuid) -> Principal {
    Principal::user(
        user_id,
        vec![Grant {
            id: Uuid::nil(),
            role: Role::Resident,
            community_id: Some(community),
        }],
    )
}

/// Seeds the topics in `community`, voted on by the residents who have accounts (孙大娘 and
/// the parents of the summer childcare); a line for the seed's report.
pub async fn seed(ctx: &AppState, admin: &Principal, community: Uuid) -> ServiceResult<String> {
    let filter = store::registry::residents::ResidentFilter {
        community_id: community,
        ..Default::default()
    };
    let voters: Vec<Principal> = store::registry::residents::list(&ctx.db, &filter, None, 500)
        .await?
        .into_iter()
        .filter_map(|r| r.user_id)
        .map(|u| resident(u, community))
        .collect();
    let Some(raiser) = voters.first() else {
        return Ok("议事: no resident has an account; no topics seeded.".into());
    };

    // Decided: the residents voted, the vote was closed, the decision published.
    let t = topics::raise(
        ctx,
        raiser,
        community,
        input(json!({"title": "5号楼增设电动自行车充电桩",
                     "description": "楼道里常有电动车充电，存在火灾隐患，建议在5号楼东侧空地增设集中充电桩。"}))?,
    )
    .await?;
    let v = votes::open_vote(
        ctx,
        admin,
        t.id,
        input(json!({"options": ["同意增设", "不同意", "弃权"],
                     "closes_at": Utc::now() + Duration::days(7)}))?,
    )
    .await?;
    let options: Vec<Uuid> = v
        .vote
        .map(|v| v.options.iter().map(|o| o.id).collect())
        .unwrap_or_default();
    for (n, voter) in voters.iter().enumerate() {
        let choice = if n % 4 == 3 { 1 } else { 0 };
        ballots::cast(
            ctx,
            voter,
            t.id,
            input(json!({"option_id": options[choice]}))?,
        )
        .await?;
    }
    votes::close_vote(ctx, admin, t.id).await?;
    let decided = topics::decide(
        ctx,
        admin,
        t.id,
        input(json!({"text": "经居民表决，同意在5号楼东侧空地增设电动自行车集中充电桩，由物业公司负责施工，下月底前建成；建成后楼道内禁止充电。"}))?,
    )
    .await?;

    // Scheduled: next week's meeting, its vote open.
    let s = topics::raise(
        ctx,
        admin,
        community,
        input(json!({"title": "小区南门早晚高峰交通疏导",
                     "description": "上学放学时段南门车辆拥堵，讨论是否安排志愿者疏导、调整开门时间。"}))?,
    )
    .await?;
    let meeting = Utc::now() + Duration::days(7);
    topics::schedule(
        ctx,
        admin,
        s.id,
        input(json!({"starts_at": meeting, "place": "电力社区党群服务中心一楼会议室",
                     "participants": [raiser.user_id, {"name": "物业公司王经理"}, {"name": "辖区派出所民警"}]}))?,
    )
    .await?;
    let sv = votes::open_vote(
        ctx,
        admin,
        s.id,
        input(
            json!({"options": ["安排志愿者疏导", "调整开门时间", "两项都做"],
                     "closes_at": meeting}),
        )?,
    )
    .await?;
    if let Some(first) = sv.vote.and_then(|v| v.options.first().map(|o| o.id)) {
        ballots::cast(ctx, raiser, s.id, input(json!({"option_id": first}))?).await?;
    }
    Ok(format!(
        "议事: topic {} decided after a vote of {} residents (decision notice {}); topic {} scheduled for {} with its vote open.",
        decided.id,
        voters.len(),
        decided
            .decision_notice_id
            .map_or_else(String::new, |n| n.to_string()),
        s.id,
        meeting.format("%Y-%m-%d"),
    ))
}
