//! `seed-demo`'s summer childcare (暑期托管): weekday mornings for six weeks from next Monday,
//! two volunteer carers, parents with accounts recorded as guardians (one with a grandmother
//! allowed to pick up), and more children enrolled than there are places, so some wait.

use chrono::{Datelike, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::activity::{Action, fits_age};
use crate::services::activities::{enrolments, guardians, plans};
use crate::services::registry::residents;
use crate::services::{ServiceError, ServiceResult, accounts};
use crate::state::AppState;
use crate::store;

/// Parents: adult residents of the demo, given accounts `parent1`, `parent2`, `parent3`.
const PARENTS: usize = 3;

fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> ServiceResult<T> {
    serde_json::from_value(v).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Seeds the activity in `community`; a line for the seed's report.
pub async fn seed(ctx: &AppState, admin: &Principal, community: Uuid) -> ServiceResult<String> {
    let today = Utc::now().date_naive();
    let from = today + Duration::days(7 - i64::from(today.weekday().num_days_from_monday()));
    let to = from + Duration::days(6 * 7 - 3);
    let filter = store::registry::residents::ResidentFilter {
        community_id: community,
        ..Default::default()
    };
    let everyone = store::registry::residents::list(&ctx.db, &filter, None, 500).await?;
    let children: Vec<_> = everyone
        .iter()
        .filter(|r| fits_age(r.birth_date, from, Some(6), Some(12)).is_ok())
        .take(6)
        .collect();
    let parents: Vec<_> = everyone
        .iter()
        .filter(|r| r.user_id.is_none() && r.phone.is_some())
        .filter(|r| fits_age(r.birth_date, today, Some(25), Some(50)).is_ok())
        .take(PARENTS)
        .collect();
    let vfilter = store::registry::volunteers::VolunteerFilter {
        community_id: community,
        ..Default::default()
    };
    let carers: Vec<Uuid> = store::registry::volunteers::list(&ctx.db, &vfilter, None, 2)
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect();
    let a = plans::create(
        ctx,
        admin,
        community,
        input(json!({
            "kind": "childcare", "title": "暑期托管", "description": "作业辅导、绘画、手工、科普小实验",
            "place": "电力社区党群服务中心二楼活动室", "capacity": 4, "min_age": 6, "max_age": 12,
            "schedule": {"weekdays": [1, 2, 3, 4, 5], "start_time": "08:30", "end_time": "11:30",
                         "from": from, "to": to},
            "carers": {"volunteer_ids": carers}
        }))?,
    )
    .await?;
    plans::act(ctx, admin, a.id, Action::Publish).await?;
    for (n, child) in children.iter().enumerate() {
        if let Some(parent) = parents.get(n) {
            let u = accounts::users::create_user(
                ctx,
                admin,
                input(
                    json!({"username": format!("parent{}", n + 1), "display_name": parent.name,
                    "password": crate::demo::DEMO_PASSWORD,
                    "roles": [{"role": "resident", "community_id": community}]}),
                )?,
            )
            .await?;
            residents::update(
                ctx,
                admin,
                parent.id,
                parent.version,
                &json!({"user_id": u.id}),
            )
            .await?;
            guardians::add(
                ctx,
                admin,
                child.id,
                input(json!({"resident_id": parent.id, "relation": "家长"}))?,
            )
            .await?;
            if n == 0 {
                guardians::add_pickup(
                    ctx,
                    admin,
                    child.id,
                    input(json!({"name": "赵奶奶", "phone": "13840000009"}))?,
                )
                .await?;
            }
        }
        enrolments::enrol(ctx, admin, a.id, input(json!({"child_id": child.id}))?).await?;
    }
    Ok(format!(
        "Summer childcare 暑期托管 {from}–{to} (id {}): weekday mornings, {} carers, {} children enrolled for 4 places; guardian logins parent1..parent{}.",
        a.id,
        carers.len(),
        children.len(),
        parents.len().min(children.len()),
    ))
}
