//! Domain types: pure, validated when constructed. A value of these types is always valid.

pub mod assignment;
pub mod care;
pub mod code;
pub mod geo;
pub mod grading;
pub mod help_request;
pub mod id_card;
pub mod mask;
pub mod phone;
pub mod policy;
pub mod rates;
pub mod role;
pub mod score;
pub mod sla;
pub mod text;
pub mod time_zone;
pub mod urgency;
pub mod validation;
pub mod visit;
pub mod volunteer;

pub use validation::{FieldError, Fields};
