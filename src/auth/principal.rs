//! The authenticated caller and the role checks every service uses.

use uuid::Uuid;

use crate::domain::role::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: Uuid,
    pub role: Role,
    pub community_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub grants: Vec<Grant>,
}

impl Principal {
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
        Principal {
            user_id: Uuid::now_v7(),
            grants: grants
                .iter()
                .map(|(role, c)| Grant {
                    id: Uuid::now_v7(),
                    role: *role,
                    community_id: *c,
                })
                .collect(),
        }
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
    }
}
