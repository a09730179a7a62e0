//! The people an event concerns, by the table in `domain::audience`, and what their inbox item
//! says about it.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::audience::{Audience, rule_for};
use crate::services::ServiceResult;
use crate::services::mobilisation::responses as mobilisation;
use crate::state::AppState;
use crate::store::delivery::audience as find;
use crate::store::delivery::outbox::OutboxEvent;
use crate::store::mobilisation::responses::reached_users;

/// Who is told, and the facts their notification shows (the service, the visit's day), which
/// never include anything the reader could not read on the object itself.
#[derive(Debug, Default)]
pub struct Told {
    pub users: Vec<Uuid>,
    pub params: Value,
    pub wechat: bool,
}

/// The audience of `e`; nobody for an event kind the table does not name, or whose object is
/// gone.
pub async fn of(ctx: &AppState, e: &OutboxEvent) -> ServiceResult<Told> {
    let Some(rule) = rule_for(&e.topic) else {
        return Ok(Told::default());
    };
    let data = &e.payload.0["data"];
    let mut users = Vec::new();
    let params;
    match e.aggregate_type.as_str() {
        "help_request" => {
            let Some(f) = find::request_facts(&ctx.db, e.aggregate_id).await? else {
                return Ok(Told::default());
            };
            params = json!({"service": f.service, "deadline": data.get("deadline")});
            for a in rule.to {
                match a {
                    Audience::OfferedVolunteers => {
                        for v in offered_volunteers(data) {
                            users.extend(find::volunteer_user(&ctx.db, v, f.community_id).await?);
                        }
                    }
                    Audience::Assignee => users.extend(f.assignee_user),
                    Audience::Resident => users.extend(f.resident_user),
                    Audience::Placer => {
                        if let Some(u) = f.placed_by
                            && find::is_active(&ctx.db, u).await?
                        {
                            users.push(u);
                        }
                    }
                    Audience::Dispatchers => {
                        users.extend(find::dispatchers(&ctx.db, f.community_id).await?)
                    }
                    Audience::GridWorkers => {
                        if let Some(g) = f.grid_id {
                            users.extend(find::grid_workers(&ctx.db, g).await?);
                        }
                    }
                    Audience::CommunityAdmins => {
                        users.extend(find::community_admins(&ctx.db, f.community_id).await?)
                    }
                    Audience::CareTeam
                    | Audience::MobilisationAudience
                    | Audience::NamedVolunteer
                    | Audience::SignedUp
                    | Audience::CommunityResidents => {}
                }
            }
        }
        "visit" => {
            let Some(f) = find::visit_facts(&ctx.db, e.aggregate_id).await? else {
                return Ok(Told::default());
            };
            params =
                json!({"window_start": data.get("window_start"), "reason": data.get("reason")});
            for a in rule.to {
                match a {
                    Audience::Dispatchers => {
                        users.extend(find::dispatchers(&ctx.db, f.community_id).await?)
                    }
                    Audience::GridWorkers => {
                        if let Some(g) = f.grid_id {
                            users.extend(find::grid_workers(&ctx.db, g).await?);
                        }
                    }
                    // A visit without a plan (a major change, an urgent follow-up) is the
                    // grid's to make.
                    Audience::CareTeam => match (f.plan_id, f.grid_id) {
                        (Some(p), _) => users.extend(find::care_team(&ctx.db, p).await?),
                        (None, Some(g)) => users.extend(find::grid_workers(&ctx.db, g).await?),
                        (None, None) => {}
                    },
                    _ => {}
                }
            }
        }
        "webhook" => {
            let Some(f) = find::webhook_facts(&ctx.db, e.aggregate_id).await? else {
                return Ok(Told::default());
            };
            params = json!({"description": f.description, "reason": data.get("reason")});
            for a in rule.to {
                if *a == Audience::CommunityAdmins {
                    users.extend(find::community_admins(&ctx.db, f.community_id).await?);
                }
            }
        }
        "mobilisation" => {
            let Some(f) = find::mobilisation_facts(&ctx.db, e.aggregate_id).await? else {
                return Ok(Told::default());
            };
            let starts_at = mobilisation::local_time(ctx, f.community_id, f.starts_at).await?;
            params = json!({"title": f.title, "kind": f.kind, "starts_at": starts_at});
            for a in rule.to {
                match a {
                    Audience::MobilisationAudience => {
                        let call = mobilisation::told(
                            ctx,
                            f.community_id,
                            f.kind == "emergency",
                            f.starts_at,
                            f.ends_at,
                            &f.audience.0,
                        )
                        .await?;
                        users.extend(reached_users(&ctx.db, &call.reach()).await?);
                    }
                    Audience::NamedVolunteer => {
                        if let Some(v) = data["volunteer_id"].as_str().and_then(|v| v.parse().ok())
                        {
                            users.extend(find::volunteer_user(&ctx.db, v, f.community_id).await?);
                        }
                    }
                    Audience::SignedUp => {
                        users.extend(find::signed_up_users(&ctx.db, e.aggregate_id).await?)
                    }
                    _ => {}
                }
            }
        }
        // An activity's alerts concern the station: the outbox row names its community.
        "activity" => {
            let Some(community_id) = e.community_id else {
                return Ok(Told::default());
            };
            // The activity's title and the session's end, never the child's name.
            params = json!({"title": data.get("title"), "ends_at": data.get("ends_at")});
            for a in rule.to {
                if *a == Audience::Dispatchers {
                    users.extend(find::dispatchers(&ctx.db, community_id).await?);
                }
            }
        }
        // 三务公开: the outbox row names its community; the notice's title and category.
        "notice" => {
            let Some(community_id) = e.community_id else {
                return Ok(Told::default());
            };
            params = json!({"title": data.get("title"), "category": data.get("category")});
            for a in rule.to {
                if *a == Audience::CommunityResidents {
                    users.extend(find::community_residents(&ctx.db, community_id).await?);
                }
            }
        }
        _ => return Ok(Told::default()),
    }
    users.sort();
    users.dedup();
    Ok(Told {
        users,
        params,
        wechat: rule.wechat,
    })
}

/// The volunteers an offer event names: `data.offers[].volunteer_id`, or `data.volunteer_id`.
fn offered_volunteers(data: &Value) -> Vec<Uuid> {
    let one = data.get("volunteer_id").into_iter();
    let many = data
        .get("offers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("volunteer_id"));
    one.chain(many)
        .filter_map(|v| v.as_str()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_events_name_their_volunteers_in_either_shape() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let data = json!({"offers": [{"offer_id": Uuid::now_v7(), "volunteer_id": a}, {"volunteer_id": b}]});
        assert_eq!(offered_volunteers(&data), [a, b]);
        assert_eq!(offered_volunteers(&json!({"volunteer_id": a})), [a]);
        assert!(offered_volunteers(&json!({"offers": "x"})).is_empty());
    }
}
