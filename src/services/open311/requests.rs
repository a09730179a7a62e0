//! Service requests over Open311: the feed (GET `requests`, `requests/{id}`), posting one, and
//! its token. A caller whose phone is one resident's places for that resident at once (channel
//! `third_party`); any other request waits in triage (审单) for staff to link the resident or
//! turn it down. Reads never show personal data; a key holder of the community sees the
//! description and the media URL too.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Open311Result, jurisdiction, key_holder};
use crate::domain::help_request::{Channel, DispatchMode, Origin, PlacedAs};
use crate::domain::open311::{
    ListQuery, NewServiceRequest, Open311Error, Params, caller_name, coarse, open_or_closed,
    status_note,
};
use crate::domain::urgency::Urgency;
use crate::services::requests::{dispatch, placing};
use crate::state::AppState;
use crate::store;
use crate::store::open311::feed::{self, FeedFilter, FeedRow};
use crate::store::open311::{self as store_open311, IntakeRow, PlacedIntake};

/// A service request as Open311 shows it.
#[derive(Debug, Serialize)]
pub struct ServiceRequest {
    pub service_request_id: String,
    pub status: &'static str,
    pub status_notes: String,
    pub service_name: String,
    pub service_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub agency_responsible: String,
    pub service_notice: String,
    pub requested_datetime: DateTime<Utc>,
    pub updated_datetime: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_datetime: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(rename = "long", skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
}

fn shown(r: FeedRow, agency: &str, key: bool) -> ServiceRequest {
    let place = coarse(r.lat.zip(r.lng), r.centre_lat.zip(r.centre_lng));
    ServiceRequest {
        service_request_id: r.id.to_string(),
        status: open_or_closed(&r.state).as_str(),
        status_notes: match &r.reject_reason {
            // Staff wrote the reason for the caller; it is the answer to their request.
            Some(why) => format!("{}：{why}", status_note(&r.state)),
            None => status_note(&r.state).to_string(),
        },
        service_name: r.service_name,
        service_code: r.service_code,
        description: r.description.filter(|_| key),
        agency_responsible: agency.to_string(),
        service_notice: String::new(),
        requested_datetime: r.created_at,
        updated_datetime: r.updated_at,
        expected_datetime: r.resolve_by,
        lat: place.map(|p| p.0),
        lng: place.map(|p| p.1),
        media_url: r.media_url.filter(|_| key),
    }
}

/// GET `requests`: by ids (each shown if it is the jurisdiction's), or the filtered feed.
pub async fn list(ctx: &AppState, p: &Params) -> Open311Result<Vec<ServiceRequest>> {
    let key = key_holder(ctx, p.get("api_key")).await?;
    let j = jurisdiction(ctx, p.get("jurisdiction_id"), key.as_ref()).await?;
    let q = ListQuery::parse(p, store::now())?;
    let show = |r| shown(r, &j.name, key.is_some());
    if let Some(ids) = &q.ids {
        let mut found = Vec::new();
        for id in ids {
            if let Some(r) = feed::get(&ctx.db, j.id, *id).await? {
                found.push(show(r));
            }
        }
        return Ok(found);
    }
    if let Some(codes) = &q.service_codes {
        for c in codes {
            if store_open311::service(&ctx.db, j.id, c).await?.is_none() {
                return Err(
                    Open311Error::new(404, format!("service_code: no such service: {c}")).into(),
                );
            }
        }
    }
    let rows = feed::list(
        &ctx.db,
        &FeedFilter {
            community_id: j.id,
            service_codes: q.service_codes.as_ref().map(|c| c.join(",")),
            status: q.status.map(|s| s.as_str()),
            start: q.start,
            end: q.end,
            updated_after: q.updated_after,
            updated_before: q.updated_before,
            limit: q.page_size,
            offset: (q.page - 1) * q.page_size,
        },
    )
    .await?;
    Ok(rows.into_iter().map(show).collect())
}

fn request_id(id: &str) -> Open311Result<Uuid> {
    Uuid::parse_str(id)
        .map_err(|_| Open311Error::new(404, "service_request_id: no such request").into())
}

/// GET `requests/{id}`: a list of one, as GeoReport answers.
pub async fn get(ctx: &AppState, p: &Params, id: &str) -> Open311Result<Vec<ServiceRequest>> {
    let key = key_holder(ctx, p.get("api_key")).await?;
    let j = jurisdiction(ctx, p.get("jurisdiction_id"), key.as_ref()).await?;
    let id = request_id(id)?;
    let r = feed::get(&ctx.db, j.id, id)
        .await?
        .ok_or_else(|| Open311Error::new(404, "service_request_id: no such request"))?;
    Ok(vec![shown(r, &j.name, key.is_some())])
}

#[derive(Debug, Serialize)]
pub struct Token {
    pub service_request_id: String,
    pub token: String,
}

/// GET `tokens/{token}`. POST answers with the request's id at once, which is also its token:
/// a token resolves to itself once the request is known in the jurisdiction.
pub async fn token(ctx: &AppState, p: &Params, token: &str) -> Open311Result<Vec<Token>> {
    let key = key_holder(ctx, p.get("api_key")).await?;
    let j = jurisdiction(ctx, p.get("jurisdiction_id"), key.as_ref()).await?;
    let id = Uuid::parse_str(token).map_err(|_| Open311Error::new(404, "token: no such token"))?;
    feed::get(&ctx.db, j.id, id)
        .await?
        .ok_or_else(|| Open311Error::new(404, "token: no such token"))?;
    Ok(vec![Token {
        service_request_id: id.to_string(),
        token: id.to_string(),
    }])
}

#[derive(Debug, Serialize)]
pub struct Placed {
    pub service_request_id: String,
    pub service_notice: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// POST `requests`: needs a key of the jurisdiction; nothing is stored on any refusal.
pub async fn post(ctx: &AppState, p: &Params) -> Open311Result<Vec<Placed>> {
    let key = key_holder(ctx, p.get("api_key"))
        .await?
        .ok_or_else(|| Open311Error::new(401, "api_key: required to post a request"))?;
    let j = jurisdiction(ctx, p.get("jurisdiction_id"), Some(&key)).await?;
    let now = store::now();
    let n = NewServiceRequest::parse(p, now)?;
    let st = store_open311::service(&ctx.db, j.id, &n.service_code)
        .await?
        .ok_or_else(|| Open311Error::new(404, "service_code: no such service"))?;
    let id = Uuid::now_v7();
    let resident = match &n.phone {
        Some(phone) => match store_open311::residents_by_phone(&ctx.db, j.id, phone).await?[..] {
            [one] => Some(store::registry::residents::get(&ctx.db, one).await?),
            _ => None,
        },
        None => None,
    };
    let intake = IntakeRow {
        id,
        community_id: j.id,
        client_id: key.client_id,
        service_type_id: st.id,
        state: if resident.is_some() {
            "placed"
        } else {
            "pending"
        }
        .to_string(),
        description: n.description.clone(),
        urgency: n.urgency.map(|u| u.as_str().to_string()),
        window_start: n.window_start,
        window_end: n.window_end,
        first_name: n.first_name.clone(),
        last_name: n.last_name.clone(),
        phone: n.phone.clone(),
        email: n.email.clone(),
        address_string: n.address_string.clone(),
        lat: n.location.map(|l| l.lat),
        lng: n.location.map(|l| l.lng),
        media_url: n.media_url.clone(),
        device_id: n.device_id.clone(),
        account_id: n.account_id.clone(),
        reject_reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let notice = match resident {
        Some(resident) => {
            let also = PlacedIntake(intake.clone());
            place(ctx, key.client_id, &resident, &st, &intake, &also, now).await?;
            "已受理，正在派单"
        }
        None => {
            store_open311::insert_pending(&ctx.db, &intake).await?;
            "已收到，待工作人员审单"
        }
    };
    Ok(vec![Placed {
        service_request_id: id.to_string(),
        service_notice: notice,
        account_id: n.account_id,
    }])
}

/// Places the help request for `resident` under the intake's id, on behalf of the client that
/// posted it, with `also` (the intake's new row, or its move out of triage) in one transaction.
pub(crate) async fn place(
    ctx: &AppState,
    client_id: Uuid,
    resident: &store::registry::residents::ResidentRow,
    st: &store::registry::service_types::ServiceTypeRow,
    intake: &IntakeRow,
    also: &dyn store::TxWrites,
    now: DateTime<Utc>,
) -> crate::services::ServiceResult<()> {
    let rules = dispatch::rules(ctx, resident.community_id).await?;
    let urgency = intake
        .urgency
        .as_deref()
        .and_then(|u| Urgency::parse(u).ok())
        .or_else(|| Urgency::parse(&st.default_urgency).ok())
        .unwrap_or(Urgency::Normal);
    let location = crate::domain::geo::Coordinates::from_columns(intake.lat, intake.lng).or(
        crate::domain::geo::Coordinates::from_columns(resident.lat, resident.lng),
    );
    let n = placing::NewRequest {
        resident,
        st,
        urgency,
        description: intake
            .description
            .clone()
            .unwrap_or_else(|| st.name.clone()),
        placed_by: client_id,
        placed_as: PlacedAs::ThirdParty,
        channel: Channel::ThirdParty,
        origin: Origin::Call,
        caller_name: caller_name(intake.last_name.as_deref(), intake.first_name.as_deref()),
        caller_phone: intake.phone.clone(),
        address: intake.address_string.clone(),
        location,
        window: (intake.window_start, intake.window_end),
        mode: if urgency == Urgency::Emergency {
            DispatchMode::Broadcast
        } else {
            DispatchMode::Auto
        },
        rules: &rules,
        now,
    };
    placing::place_new(ctx, n, intake.id, also).await?;
    Ok(())
}
