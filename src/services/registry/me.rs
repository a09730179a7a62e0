//! The caller as the apps need them at start: the account with its roles, and the ids of their
//! own resident and volunteer records in each community, so that no app has to search for
//! them.

use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::services::ServiceResult;
use crate::services::accounts::{self, users::UserView};
use crate::state::AppState;
use crate::store;

#[derive(Debug, Serialize)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub records: Vec<CommunityRecords>,
}

#[derive(Debug, Default, Serialize)]
pub struct CommunityRecords {
    pub community_id: Uuid,
    pub resident_ids: Vec<Uuid>,
    pub volunteer_id: Option<Uuid>,
}

pub async fn me(ctx: &AppState, p: &Principal) -> ServiceResult<MeView> {
    let user = accounts::users::me(ctx, p).await?;
    let mut records: Vec<CommunityRecords> = Vec::new();
    for (community_id, kind, id) in
        store::registry::residents::records_of_user(&ctx.db, p.user_id).await?
    {
        if records
            .last()
            .is_none_or(|r| r.community_id != community_id)
        {
            records.push(CommunityRecords {
                community_id,
                ..Default::default()
            });
        }
        let r = records.last_mut().expect("pushed above");
        if kind == "volunteer" {
            r.volunteer_id = Some(id);
        } else {
            r.resident_ids.push(id);
        }
    }
    Ok(MeView { user, records })
}
