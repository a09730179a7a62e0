//! Roles of DESIGN §2. Every role but `admin` is scoped to one community.

use super::string_enum;

string_enum!(Role {
    Resident => "resident",
    Volunteer => "volunteer",
    GridWorker => "grid_worker",
    Doctor => "doctor",
    Dispatcher => "dispatcher",
    CommunityAdmin => "community_admin",
    Admin => "admin",
    Integration => "integration",
});

impl Role {
    pub fn is_community_scoped(self) -> bool {
        self != Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_role() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(*r));
        }
        assert_eq!(Role::parse("root"), Err("unknown_value"));
        assert!(!Role::Admin.is_community_scoped());
        assert!(Role::Dispatcher.is_community_scoped());
    }
}
