//! What an integration client may do (OAuth 2.0 scopes, RFC 6749 §3.3). A client holds a set of
//! them; a token may carry fewer; every endpoint a client may call names the one it needs.

use std::collections::BTreeSet;

use super::string_enum;

string_enum!(Scope {
    RequestsRead => "requests:read",
    RequestsWrite => "requests:write",
    ResidentsRead => "residents:read",
    ReportsRead => "reports:read",
    WebhooksManage => "webhooks:manage",
    Open311 => "open311",
});

// In declaration order, so that lists print the same way every time.
impl Ord for Scope {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

impl PartialOrd for Scope {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A set of scopes, kept in a stable order; written as RFC 6749's space-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

/// The longest scope list a request may carry (all scopes with room to spare); longer is refused
/// before it is split.
pub const MAX_SCOPE_TEXT: usize = 512;

impl ScopeSet {
    pub fn all() -> Self {
        Self(Scope::ALL.iter().copied().collect())
    }

    /// RFC 6749 `scope`: scope tokens separated by single spaces. An unknown token is
    /// `unknown_scope`; an empty list is `required`.
    pub fn parse_list(s: &str) -> Result<Self, &'static str> {
        if s.len() > MAX_SCOPE_TEXT {
            return Err("too_long");
        }
        let set = s
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|t| Scope::parse(t).map_err(|_| "unknown_scope"))
            .collect::<Result<BTreeSet<_>, _>>()?;
        if set.is_empty() {
            Err("required")
        } else {
            Ok(Self(set))
        }
    }

    /// From a JSON list of scope names.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, &'static str> {
        if names.is_empty() {
            return Err("required");
        }
        names
            .iter()
            .map(|n| Scope::parse(n.as_ref()).map_err(|_| "unknown_scope"))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    pub fn contains(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }

    pub fn is_subset(&self, of: &ScopeSet) -> bool {
        self.0.is_subset(&of.0)
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).copied().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }

    /// The space-separated list, as stored and as tokens carry it.
    pub fn to_list(&self) -> String {
        self.names().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_in_any_order_and_print_in_one() {
        let s = ScopeSet::parse_list("reports:read requests:read  reports:read").unwrap();
        assert_eq!(s.to_list(), "requests:read reports:read");
        assert_eq!(
            ScopeSet::parse_list(&ScopeSet::all().to_list()),
            Ok(ScopeSet::all())
        );
        assert_eq!(
            ScopeSet::parse_list("requests:read admin"),
            Err("unknown_scope")
        );
        assert_eq!(ScopeSet::parse_list("REQUESTS:READ"), Err("unknown_scope"));
        assert_eq!(ScopeSet::parse_list(" "), Err("required"));
        assert_eq!(ScopeSet::parse_list(&"a".repeat(600)), Err("too_long"));
        assert_eq!(
            ScopeSet::from_names(&["open311", "x"]),
            Err("unknown_scope")
        );
        assert_eq!(ScopeSet::from_names::<&str>(&[]), Err("required"));
    }

    #[test]
    fn narrowing_is_a_subset() {
        let client = ScopeSet::parse_list("requests:read requests:write").unwrap();
        let asked = ScopeSet::parse_list("requests:read").unwrap();
        assert!(asked.is_subset(&client));
        assert!(!client.is_subset(&asked));
        assert_eq!(client.intersection(&asked), asked);
    }
}
