//! The rows of a help request and of what one change to it writes besides the row itself
//! (offers, events, timers, ratings, hours): `help_requests` writes them in one transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::help_request::{Channel, DispatchMode, OfferAnswer, Origin, PlacedAs, Status};
use crate::domain::urgency::Urgency;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HelpRequestRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub service_type_id: Uuid,
    pub placed_by: Option<Uuid>,
    pub placed_as: PlacedAs,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub channel: Channel,
    pub origin: Origin,
    pub urgency: Urgency,
    pub description: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub status: Status,
    pub dispatch_mode: DispatchMode,
    pub attempts: i64,
    pub assignee_id: Option<Uuid>,
    pub respond_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    pub resolve_from: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub resolution_note: Option<String>,
    pub close_reason: Option<String>,
    pub respond_reminded: bool,
    pub resolve_reminded: bool,
    pub respond_overdue: bool,
    pub resolve_overdue: bool,
    pub rating: Option<i64>,
    pub solved: Option<bool>,
    pub reopen_count: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    pub id: Uuid,
    pub request_id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub attempt: i64,
    pub mode: String,
    pub score: f64,
    pub breakdown: Json<Value>,
    pub offered_by: Option<Uuid>,
    pub offered_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answer: Option<OfferAnswer>,
    pub answered_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub request_id: Uuid,
    pub community_id: Uuid,
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub data: Json<Value>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct TimerRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub kind: &'static str,
    pub request_id: Uuid,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct RatingRow {
    pub id: Uuid,
    pub request_id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Option<Uuid>,
    pub rating: i64,
    pub solved: bool,
    pub comment: Option<String>,
    pub rated_by: Uuid,
    pub rated_as: &'static str,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct HoursRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub source_type: &'static str,
    pub source_id: Uuid,
    pub minutes: i64,
    pub verified_by: Option<Uuid>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
    /// `YYYY-MM` in the community's time zone, for the volunteer's month tally.
    pub month_key: String,
}

/// An open offer answered as part of a change; refused with `code` if it is no longer open.
#[derive(Debug, Clone)]
pub struct AnswerOffer {
    pub offer_id: Uuid,
    pub volunteer_id: Uuid,
    pub answer: &'static str,
    pub reason: Option<String>,
    /// Refuse when the offer's `expires_at` has passed at this instant.
    pub unexpired_at: Option<DateTime<Utc>>,
}

/// Everything one transition writes besides the request row itself.
#[derive(Debug, Default)]
pub struct Effects {
    /// When the change happens (answers, withdrawals).
    pub at: DateTime<Utc>,
    pub answer_offer: Option<AnswerOffer>,
    /// Withdraw every other open offer of the request.
    pub withdraw_open_offers: bool,
    pub new_offers: Vec<OfferRow>,
    /// (volunteer, +1 or -1): a +1 is refused with `load_cap_reached` at the cap.
    pub load: Option<(Uuid, i64)>,
    /// Offers accepted by this volunteer (for the reliability tally).
    pub accepted_by: Option<Uuid>,
    pub rating: Option<RatingRow>,
    pub hours: Option<HoursRow>,
    pub events: Vec<EventRow>,
    pub add_timers: Vec<TimerRow>,
    /// Timer kinds of this request to drop; `"*"` drops all.
    pub drop_timers: Vec<&'static str>,
    /// A reopened request starts its resolve deadline afresh.
    pub reset_resolve_flags: bool,
}

/// The resident as a request shows them: enough to serve, and whose account they are; and the
/// assigned volunteer, as the resident sees who is coming.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResidentBrief {
    pub resident_name: String,
    pub resident_phone: Option<String>,
    pub resident_address: Option<String>,
    pub resident_user_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub assignee_phone: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestWithResident {
    #[sqlx(flatten)]
    pub request: HelpRequestRow,
    #[sqlx(flatten)]
    pub resident: ResidentBrief,
}
