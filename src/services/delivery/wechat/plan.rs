//! What an event becomes on WeChat, decided when the relay hands it over: the message is
//! composed then (page and values, each cut to its field kind's limit), so a later change of
//! the template does not change what was queued.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::lang::Lang;
use crate::domain::notice_text;
use crate::domain::time_zone::TimeZone;
use crate::domain::wechat_template::{Facts, compose};
use crate::services::ServiceResult;
use crate::services::delivery::audience::Told;
use crate::services::registry::communities::policy_of;
use crate::state::AppState;
use crate::store;
use crate::store::delivery::outbox::OutboxEvent;
use crate::store::delivery::wechat_messages::NewWechatMessage;
use crate::store::registry::communities::CommunityRow;

/// The messages event `e` sends to the people `told`; none when its rule is not for WeChat, the
/// community maps no template to its kind, or nobody told has a WeChat identity there.
/// `community` is the event's community as the relay read it for its batch (`None`: gone).
pub async fn plan(
    ctx: &AppState,
    e: &OutboxEvent,
    told: &Told,
    community: Option<&CommunityRow>,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<NewWechatMessage>> {
    let Some(community_id) = e
        .community_id
        .filter(|_| told.wechat && !told.users.is_empty())
    else {
        return Ok(Vec::new());
    };
    let Some(community) = community else {
        return Ok(Vec::new());
    };
    let policy = policy_of(community);
    let Some(template) = policy.wechat.templates.get(&e.topic) else {
        return Ok(Vec::new());
    };
    let out: Vec<_> =
        store::integrations::wechat_identities::recipients(&ctx.db, &told.users, community_id)
            .await?
            .into_iter()
            .map(|r| {
                let to = store::integrations::wechat_identities::Recipient {
                    app: r.app,
                    openid: r.openid,
                };
                (r.user_id, to)
            })
            .collect();
    if out.is_empty() {
        return Ok(Vec::new());
    }
    // The title as the inbox shows it in Chinese: subscription messages are sent in zh_CN.
    let (title, _) = notice_text::words(&e.topic, &told.params, Lang::Zh);
    let event_time = e.payload.0["at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(e.created_at);
    let tz = TimeZone::parse(&community.time_zone)
        .unwrap_or_default()
        .tz();
    let (page, data) = compose(
        template,
        &Facts {
            object_id: e.aggregate_id,
            params: &told.params,
            title: &title,
            event_time,
            tz,
        },
    );
    Ok(out
        .into_iter()
        .map(|(user_id, to)| NewWechatMessage {
            id: Uuid::now_v7(),
            event_id: e.id,
            community_id,
            user_id,
            app: to.app,
            openid: to.openid,
            kind: e.topic.clone(),
            object_type: e.aggregate_type.clone(),
            object_id: e.aggregate_id,
            template_id: template.template_id.clone(),
            page: page.clone(),
            data: data.clone(),
            created_at: now,
        })
        .collect())
}
