//! Webhooks for third-party systems: which event kinds one may follow, what URL it may have,
//! which addresses the server may connect to, and the retry schedule of a delivery.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::Duration;

/// Every topic the outbox carries (`<aggregate>.<kind>`), which a webhook may name exactly.
pub const TOPICS: &[&str] = &[
    "help_request.placed",
    "help_request.triage_accepted",
    "help_request.triage_rejected",
    "help_request.offered",
    "help_request.dispatched_by_hand",
    "help_request.dispatched_in_batch",
    "help_request.offer_declined",
    "help_request.offer_expired",
    "help_request.escalated",
    "help_request.accepted",
    "help_request.claimed",
    "help_request.started",
    "help_request.returned",
    "help_request.completed",
    "help_request.closed",
    "help_request.auto_closed",
    "help_request.reopened",
    "help_request.cancelled",
    "help_request.reminder",
    "help_request.overdue",
    "help_request.alert",
    "visit.started",
    "visit.completed",
    "visit.cancelled",
    "visit.missed",
    "visit.due",
    "visit.major_change",
    "webhook.disabled",
];

/// The aggregates a `<aggregate>.*` wildcard may name.
const AGGREGATES: &[&str] = &["help_request", "visit", "webhook"];

pub const MAX_KINDS: usize = 50;
pub const MAX_URL_CHARS: usize = 2000;

/// One entry of a webhook's `event_kinds`: a topic, `<aggregate>.*`, or `*`.
pub fn parse_kind(k: &str) -> Result<String, &'static str> {
    let known = k == "*"
        || TOPICS.contains(&k)
        || k.strip_suffix(".*")
            .is_some_and(|a| AGGREGATES.contains(&a));
    if known {
        Ok(k.to_string())
    } else {
        Err("unknown_value")
    }
}

/// Whether a webhook following `kinds` receives an event of `topic`.
pub fn follows(kinds: &[String], topic: &str) -> bool {
    kinds.iter().any(|k| {
        k == "*"
            || k == topic
            || k.strip_suffix('*')
                .is_some_and(|prefix| prefix.ends_with('.') && topic.starts_with(prefix))
    })
}

/// Why a URL is refused: its shape (a field error), or where it points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    Invalid(&'static str),
    /// A private, loopback, link-local or otherwise non-public address.
    NotAllowed,
}

/// An absolute `https` URL (or `http` when `allow_http`) with a host, without credentials or a
/// fragment. A host that is an IP literal must be public unless `allow_private`; a name is
/// checked once resolved.
pub fn parse_url(s: &str, allow_http: bool, allow_private: bool) -> Result<url::Url, UrlProblem> {
    let s = s.trim();
    if s.is_empty() {
        return Err(UrlProblem::Invalid("required"));
    }
    if s.chars().count() > MAX_URL_CHARS {
        return Err(UrlProblem::Invalid("too_long"));
    }
    let u = url::Url::parse(s).map_err(|_| UrlProblem::Invalid("invalid_value"))?;
    let scheme_ok = u.scheme() == "https" || (allow_http && u.scheme() == "http");
    if !scheme_ok || !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() {
        return Err(UrlProblem::Invalid("invalid_value"));
    }
    match u.host() {
        None => Err(UrlProblem::Invalid("invalid_value")),
        Some(url::Host::Ipv4(ip)) if !allow_private && !is_public(IpAddr::V4(ip)) => {
            Err(UrlProblem::NotAllowed)
        }
        Some(url::Host::Ipv6(ip)) if !allow_private && !is_public(IpAddr::V6(ip)) => {
            Err(UrlProblem::NotAllowed)
        }
        _ => Ok(u),
    }
}

/// An address on the public internet: not private, loopback, link-local, unique-local,
/// multicast, unspecified, shared (CGNAT), documentation or reserved; an IPv6 address that
/// carries an IPv4 one (mapped, compatible, NAT64, 6to4) is judged by that one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT.
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24, protocol assignments.
        || (a == 192 && b == 0 && c == 0)
        // 198.18.0.0/15, benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        // 240.0.0.0/4, reserved.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fe80::/10 link-local, fec0::/10 site-local (deprecated).
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        // fc00::/7 unique local.
        || (s[0] & 0xfe00) == 0xfc00
        // 2001:db8::/32 documentation, 2001::/32 Teredo (tunnels to anywhere).
        || (s[0] == 0x2001 && (s[1] == 0x0db8 || s[1] == 0))
        // 100::/64 discard.
        || (s[0] == 0x100 && s[1] == 0 && s[2] == 0 && s[3] == 0))
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1))) {
        return Some(tail);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return Some(tail);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// How long after each failed attempt the next one is made (Standard Webhooks' schedule: the
/// first attempt at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; about 28 hours in
/// all). After the last one fails, the delivery is dead.
pub fn retry_delay(failed_attempts: i64) -> Option<Duration> {
    let d = match failed_attempts {
        1 => Duration::seconds(5),
        2 => Duration::minutes(5),
        3 => Duration::minutes(30),
        4 => Duration::hours(2),
        5 => Duration::hours(5),
        6 | 7 => Duration::hours(10),
        _ => return None,
    };
    Some(d)
}

/// Attempts a delivery gets before it is dead.
pub const ATTEMPTS: i64 = 8;

/// What one attempt's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again later (any other status, a timeout, a refused connection).
    Failed,
    /// 410 Gone: the receiver says the endpoint is no more; disable it now.
    Gone,
}

pub fn outcome(status: Option<u16>) -> Outcome {
    match status {
        Some(s) if (200..300).contains(&s) => Outcome::Delivered,
        Some(410) => Outcome::Gone,
        _ => Outcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_topics_aggregate_wildcards_or_everything() {
        for k in [
            "help_request.offered",
            "visit.*",
            "help_request.*",
            "*",
            "webhook.disabled",
        ] {
            assert!(parse_kind(k).is_ok(), "{k}");
        }
        for k in [
            "",
            "help_request",
            "help_request.nope",
            "nope.*",
            "*.offered",
            "help*",
            "visit.**",
        ] {
            assert_eq!(parse_kind(k), Err("unknown_value"), "{k}");
        }
    }

    #[test]
    fn wildcards_match_their_aggregate_only() {
        let k = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(follows(&k(&["help_request.*"]), "help_request.offered"));
        assert!(!follows(&k(&["help_request.*"]), "visit.missed"));
        assert!(follows(&k(&["*"]), "visit.missed"));
        assert!(follows(&k(&["visit.missed"]), "visit.missed"));
        assert!(!follows(&k(&["visit.missed"]), "visit.missed_more"));
        assert!(!follows(&k(&[]), "visit.missed"));
    }

    #[test]
    fn urls_are_https_with_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example.org/in?x=1", false, false).is_ok());
        let bad = |s: &str| parse_url(s, false, false).unwrap_err();
        assert_eq!(bad(""), UrlProblem::Invalid("required"));
        for s in [
            "not a url",
            "http://hooks.example.org/",
            "ftp://hooks.example.org/",
            "https://user:pw@hooks.example.org/",
            "https://hooks.example.org/#x",
            "mailto:a@example.org",
        ] {
            assert!(matches!(bad(s), UrlProblem::Invalid(_)), "{s}");
        }
        assert!(parse_url("http://hooks.example.org/", true, false).is_ok());
        assert_eq!(
            bad(&format!("https://a.org/{}", "x".repeat(MAX_URL_CHARS))),
            UrlProblem::Invalid("too_long")
        );
    }

    #[test]
    fn private_address_literals_are_refused_unless_allowed() {
        for s in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://100.64.0.1/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            "https://[::1]/",
            "https://[::]/",
            "https://[fe80::1]/",
            "https://[fc00::1]/",
            "https://[fd12:3456::1]/",
            "https://[ff02::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:c0a8:0101::1]/",
            "https://2130706433/",
            "https://0x7f.1/",
        ] {
            assert_eq!(
                parse_url(s, false, false).unwrap_err(),
                UrlProblem::NotAllowed,
                "{s}"
            );
            assert!(parse_url(s, false, true).is_ok(), "{s}");
        }
        for s in [
            "https://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
            "https://[::ffff:8.8.8.8]/",
        ] {
            assert!(parse_url(s, false, false).is_ok(), "{s}");
        }
    }

    #[test]
    fn the_schedule_is_eight_attempts_over_about_a_day() {
        let total: i64 = (1..ATTEMPTS)
            .map(|n| retry_delay(n).unwrap().num_seconds())
            .sum();
        assert_eq!(retry_delay(1), Some(Duration::seconds(5)));
        assert_eq!(retry_delay(ATTEMPTS), None);
        assert_eq!(total, 5 + 300 + 1800 + 7200 + 18000 + 36000 + 36000);
    }

    #[test]
    fn answers_are_success_failure_or_gone() {
        assert_eq!(outcome(Some(200)), Outcome::Delivered);
        assert_eq!(outcome(Some(204)), Outcome::Delivered);
        assert_eq!(outcome(Some(301)), Outcome::Failed);
        assert_eq!(outcome(Some(500)), Outcome::Failed);
        assert_eq!(outcome(Some(410)), Outcome::Gone);
        assert_eq!(outcome(None), Outcome::Failed);
    }
}
