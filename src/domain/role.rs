//! Roles of DESIGN §2. Every role but `admin` is scoped to one community.

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(s: &str) -> Result<Self, &'static str> {
                match s { $($s => Ok($name::$variant),)+ _ => Err("unknown_value") }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

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
