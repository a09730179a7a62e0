//! The authenticated caller and the role checks every service uses.
//!
//! A caller is a person, or an integration client acting in its one community with scopes
//! (`client`). A client's principal holds the role `integration` in that community and nothing
//! else, so every staff or resident check refuses it; services that serve clients ask
//! [`Principal::client_may`] for the scope of what they do.

use uuid::Uuid;

use crate::domain::role::Role;
use crate::domain::scope::{Scope, ScopeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: Uuid,
    pub role: Role,
    pub community_id: Option<Uuid>,
}

/// An integration client calling with its token: what the token may do, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientActor {
    pub client_id: Uuid,
    pub community_id: Uuid,
    /// The token's scopes that the client still holds.
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone)]
pub struct Principal {
    /// A person's id; for a client, the client's id (which is also its `users` row, so that
    /// what it does names it).
    pub user_id: Uuid,
    pub grants: Vec<Grant>,
    /// Set when the caller is an integration client.
    pub client: Option<ClientActor>,
}

impl Principal {
    /// A person with these roles.
    pub fn user(user_id: Uuid, grants: Vec<Grant>) -> Self {
        Self {
            user_id,
            grants,
            client: None,
        }
    }

    /// An integration client: the role `integration` in its community, and its scopes.
    pub fn client(actor: ClientActor) -> Self {
        Self {
            user_id: actor.client_id,
            grants: vec![Grant {
                id: actor.client_id,
                role: Role::Integration,
                community_id: Some(actor.community_id),
            }],
            client: Some(actor),
        }
    }

    pub fn is_client(&self) -> bool {
        self.client.is_some()
    }

    /// A client of this community holding this scope (people never pass this check).
    pub fn client_may(&self, scope: Scope, community: Uuid) -> bool {
        self.client
            .as_ref()
            .is_some_and(|c| c.community_id == community && c.scopes.contains(scope))
    }

    pub fn is_admin(&self) -> bool {
        self.grants.iter().any(|g| g.role == Role::Admin)
    }

    /// Holds exactly this role in this community (admins are not implied).
    pub fn has(&self, role: Role, community: Uuid) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.community_id == Some(community))
    }

    /// Any role in the community, or a deployment admin.
    pub fn is_member(&self, community: Uuid) -> bool {
        self.is_admin()
            || self
                .grants
                .iter()
                .any(|g| g.community_id == Some(community))
    }

    /// Runs the community: catalogue, policy, staff, grids.
    pub fn can_manage(&self, community: Uuid) -> bool {
        self.is_admin() || self.has(Role::CommunityAdmin, community)
    }

    /// Station staff: managers and dispatchers.
    pub fn is_staff(&self, community: Uuid) -> bool {
        self.can_manage(community) || self.has(Role::Dispatcher, community)
    }

    pub fn communities(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.grants.iter().filter_map(|g| g.community_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(grants: &[(Role, Option<Uuid>)]) -> Principal {
        Principal::user(
            Uuid::now_v7(),
            grants
                .iter()
                .map(|(role, c)| Grant {
                    id: Uuid::now_v7(),
                    role: *role,
                    community_id: *c,
                })
                .collect(),
        )
    }

    #[test]
    fn roles_are_scoped_to_their_community() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let ca = p(&[(Role::CommunityAdmin, Some(a))]);
        assert!(ca.can_manage(a) && ca.is_staff(a) && ca.is_member(a));
        assert!(!ca.can_manage(b) && !ca.is_staff(b) && !ca.is_member(b));

        let d = p(&[(Role::Dispatcher, Some(a)), (Role::Volunteer, Some(b))]);
        assert!(d.is_staff(a) && !d.can_manage(a));
        assert!(d.is_member(b) && !d.is_staff(b));

        let admin = p(&[(Role::Admin, None)]);
        assert!(admin.can_manage(a) && admin.is_member(b) && !admin.has(Role::Dispatcher, a));

        let v = p(&[(Role::Volunteer, Some(a))]);
        assert!(v.is_member(a) && !v.is_staff(a) && !v.is_admin());
        assert!(!v.is_client() && !v.client_may(Scope::RequestsRead, a));
    }

    #[test]
    fn a_client_is_no_staff_and_may_only_its_scopes_in_its_community() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let c = Principal::client(ClientActor {
            client_id: Uuid::now_v7(),
            community_id: a,
            scopes: ScopeSet::parse_list("requests:read").unwrap(),
        });
        assert!(c.is_client() && !c.is_staff(a) && !c.can_manage(a) && !c.is_admin());
        assert!(c.client_may(Scope::RequestsRead, a));
        assert!(!c.client_may(Scope::RequestsWrite, a));
        assert!(!c.client_may(Scope::RequestsRead, b));
    }
}
