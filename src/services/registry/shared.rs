//! What the registry's objects share: who may see one, and what a refused save tells the client.

use uuid::Uuid;

use crate::auth::Principal;
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::store::StoreError;

/// serde's default for `active`: an object is created active unless the client says otherwise.
pub(super) fn yes() -> bool {
    true
}

/// The object of `community_id`, to its members; to anybody else it does not exist.
pub(super) fn for_member<T>(p: &Principal, community_id: Uuid, object: T) -> ServiceResult<T> {
    if !p.is_member(community_id) {
        return Err(ServiceError::NotFound);
    }
    Ok(object)
}

/// A unique index refused the save: the client's `field` repeats another object's.
pub(super) fn duplicate(field: &'static str) -> impl Fn(StoreError) -> ServiceError {
    move |e| match e {
        StoreError::Conflict => field_error(field, "duplicate"),
        other => other.into(),
    }
}
