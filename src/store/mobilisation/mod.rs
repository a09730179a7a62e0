//! Mobilisation storage: the mobilisations with their slots and timeline (`mobilisations`), and
//! the sign-ups with their waiting lists (`signups`). Every change writes its timeline entry and
//! outbox row in its own transaction.
//!
//! May use: `registry` (volunteers, whose row a sign-up locks).

pub mod attendance;
pub mod mobilisations;
pub mod responses;
pub mod signups;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

/// One timeline entry; also the outbox message `mobilisation.<kind>`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub mobilisation_id: Uuid,
    pub community_id: Uuid,
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub data: Json<Value>,
    pub at: DateTime<Utc>,
}

impl EventRow {
    pub fn new(
        mobilisation_id: Uuid,
        community_id: Uuid,
        kind: &str,
        actor_id: Option<Uuid>,
        data: Value,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            mobilisation_id,
            community_id,
            kind: kind.to_string(),
            actor_id,
            data: Json(data),
            at,
        }
    }

    pub(crate) fn payload(&self) -> Value {
        json!({
            "event_id": self.id,
            "mobilisation_id": self.mobilisation_id,
            "community_id": self.community_id,
            "kind": self.kind,
            "actor_id": self.actor_id,
            "data": self.data.0,
            "at": self.at,
        })
    }
}

pub(crate) const INSERT_EVENT: &str =
    "insert into mobilisation_events (id, mobilisation_id, community_id, kind, actor_id, data, at)
    values ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const INSERT_OUTBOX: &str =
    "insert into outbox (id, community_id, topic, aggregate_type, aggregate_id, payload,
        created_at, delivered_at) values ($1, $2, $3, 'mobilisation', $4, $5, $6, null)";

/// Writes the timeline entry and its outbox row inside the open transaction `$tx`.
macro_rules! write_event {
    ($tx:ident, $e:expr) => {{
        let e: &$crate::store::mobilisation::EventRow = $e;
        sqlx::query($crate::store::mobilisation::INSERT_EVENT)
            .bind(e.id)
            .bind(e.mobilisation_id)
            .bind(e.community_id)
            .bind(&e.kind)
            .bind(e.actor_id)
            .bind(&e.data)
            .bind(e.at)
            .execute(&mut *$tx)
            .await?;
        sqlx::query($crate::store::mobilisation::INSERT_OUTBOX)
            .bind(Uuid::now_v7())
            .bind(e.community_id)
            .bind(format!("mobilisation.{}", e.kind))
            .bind(e.mobilisation_id)
            .bind(sqlx::types::Json(e.payload()))
            .bind(e.at)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use write_event;
