//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>): the parameters civic clients
//! send, checked, and how our help requests look to them. Pure: no storage, no HTTP.
//!
//! Here: the error lists, the parameters as sent and their common checks, and how our states
//! look to Open311; `list_query` checks GET `requests`, `service_request` checks POST `requests`.

use chrono::{DateTime, Duration, Utc};

use super::geo::Coordinates;
use super::phone::Phone;
use super::text::{Description, Name, Text};
use super::urgency::Urgency;

mod list_query;
mod service_request;

pub use list_query::*;
pub use service_request::*;

/// The longest span a list may cover, and the span it covers by default (GeoReport v2).
pub const MAX_SPAN_DAYS: i64 = 90;
pub const MAX_PAGE_SIZE: i64 = 100;
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Offset paging: beyond this page a client should narrow its dates instead.
pub const MAX_PAGE: i64 = 10_000;
/// At most this many ids or codes in one comma list.
pub const MAX_LIST: usize = 100;
/// The grid of coarse locations, in degrees (about 1 km), for requests with no grid centre.
pub const COARSE_DEGREES: f64 = 0.01;

/// One entry of an Open311 error list: `code` is the HTTP status, `description` names the
/// parameter and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Error {
    pub code: u16,
    pub description: String,
}

impl Open311Error {
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    pub fn bad(param: &str, what: &str) -> Self {
        Self::new(400, format!("{param}: {what}"))
    }
}

/// Errors of one request (each names its parameter); all share the first one's status.
pub type Open311Errors = Vec<Open311Error>;

/// The request's parameters as sent: a name given twice is refused, as is an empty name.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, Open311Errors> {
        let mut seen = std::collections::BTreeSet::new();
        let mut errors = Vec::new();
        for (k, _) in &pairs {
            if !seen.insert(k.as_str()) {
                errors.push(Open311Error::bad(k, "given more than once"));
            }
        }
        if errors.is_empty() {
            Ok(Self(pairs))
        } else {
            errors.dedup();
            Err(errors)
        }
    }

    /// A parameter's value; an empty value counts as absent (HTML forms send empty fields).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

/// A W3C/RFC 3339 date-time (`2026-12-01T08:00:00+08:00`).
pub fn parse_datetime(param: &str, s: &str) -> Result<DateTime<Utc>, Open311Error> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Open311Error::bad(
                param,
                "not an ISO 8601 date-time such as 2026-12-01T08:00:00+08:00",
            )
        })
}

fn comma_list<'a>(param: &str, s: &'a str) -> Result<Vec<&'a str>, Open311Error> {
    let items: Vec<&str> = s.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err(Open311Error::bad(param, "empty item in the comma list"));
    }
    if items.len() > MAX_LIST {
        return Err(Open311Error::bad(param, "more than 100 items"));
    }
    Ok(items)
}

/// `open` or `closed` (GeoReport's two states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenClosed {
    Open,
    Closed,
}

impl OpenClosed {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

fn positive(param: &str, s: &str, max: i64) -> Result<i64, Open311Error> {
    match s.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(Open311Error::bad(
            param,
            &format!("a whole number from 1 to {max}"),
        )),
    }
}

fn keep<T>(errors: &mut Open311Errors, r: Result<T, Open311Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

pub fn caller_name(last: Option<&str>, first: Option<&str>) -> Option<String> {
    if last.is_none() && first.is_none() {
        return None;
    }
    let n = format!("{}{}", last.unwrap_or(""), first.unwrap_or(""));
    Name::parse(n).ok().map(|n| n.into_inner())
}

/// An Open311 request's stored state: a help request's status, or `pending` / `rejected` for
/// one still in triage (审单) or turned down there.
pub fn open_or_closed(state: &str) -> OpenClosed {
    match state {
        "completed" | "closed" | "cancelled" | "rejected" => OpenClosed::Closed,
        _ => OpenClosed::Open,
    }
}

/// Our detailed state, in Chinese, for `status_notes`.
pub fn status_note(state: &str) -> &'static str {
    match state {
        "pending" => "待审单：工作人员核实居民信息后受理",
        "rejected" => "审单未受理",
        "submitted" => "已受理，待分拣",
        "dispatching" => "正在派单",
        "offered" => "已派单，等待志愿者接单",
        "accepted" => "志愿者已接单",
        "in_progress" => "志愿者正在服务",
        "completed" => "服务已完成，待评价",
        "closed" => "已办结",
        "cancelled" => "已取消",
        "escalated" => "已转调度员人工派单",
        _ => "处理中",
    }
}

/// A location coarse enough to name no home: the grid's centre when known, else the point
/// rounded to [`COARSE_DEGREES`].
pub fn coarse(point: Option<(f64, f64)>, grid_centre: Option<(f64, f64)>) -> Option<(f64, f64)> {
    if grid_centre.is_some() {
        return grid_centre;
    }
    let round = |x: f64| (x / COARSE_DEGREES).round() * COARSE_DEGREES;
    point.map(|(a, b)| {
        // Printed with two decimals whatever the float's noise.
        let tidy = |x: f64| (round(x) * 100.0).round() / 100.0;
        (tidy(a), tidy(b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-12-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn lists_cover_the_last_90_days_by_default_and_refuse_more() {
        let q = ListQuery::parse(&params(&[]), now()).unwrap();
        assert_eq!(
            (q.start, q.end, q.page, q.page_size),
            (now() - Duration::days(90), now(), 1, 50)
        );
        let q =
            ListQuery::parse(&params(&[("start_date", "2026-01-01T00:00:00Z")]), now()).unwrap();
        assert_eq!(q.end, q.start + Duration::days(90));
        let e = ListQuery::parse(
            &params(&[
                ("start_date", "2026-01-01T00:00:00Z"),
                ("end_date", "2026-04-02T00:00:00Z"),
            ]),
            now(),
        )
        .unwrap_err();
        assert_eq!(e[0].code, 400);
        assert!(e[0].description.starts_with("end_date"), "{e:?}");
        for (k, v) in [
            ("page_size", "101"),
            ("page_size", "0"),
            ("page", "x"),
            ("status", "done"),
            ("service_request_id", "1,,2"),
            ("service_request_id", "abc"),
            ("service_code", "Bad Code"),
            ("updated_after", "yesterday"),
        ] {
            let e = ListQuery::parse(&params(&[(k, v)]), now()).unwrap_err();
            assert!(e[0].description.starts_with(k), "{k}={v}: {e:?}");
        }
        let q =
            ListQuery::parse(&params(&[("status", "open,closed"), ("page", "3")]), now()).unwrap();
        assert_eq!((q.status, q.page), (None, 3));
        assert!(
            Params::new(vec![
                ("page".into(), "1".into()),
                ("page".into(), "2".into())
            ])
            .is_err()
        );
    }

    #[test]
    fn a_post_needs_a_place_and_a_service_and_refuses_what_it_does_not_know() {
        let ok = NewServiceRequest::parse(
            &params(&[
                ("service_code", "repair"),
                ("lat", "39.9"),
                ("long", "116.4"),
                ("attribute[urgency]", "urgent"),
                ("last_name", "王"),
                ("first_name", "芳"),
            ]),
            now(),
        )
        .unwrap();
        assert_eq!(ok.urgency, Some(Urgency::Urgent));
        assert_eq!(
            caller_name(ok.last_name.as_deref(), ok.first_name.as_deref()).as_deref(),
            Some("王芳")
        );
        let e =
            NewServiceRequest::parse(&params(&[("service_code", "repair")]), now()).unwrap_err();
        assert!(e[0].description.contains("address_string"), "{e:?}");
        for (k, v) in [
            ("lat", "91"),
            ("email", "nobody"),
            ("media_url", "ftp://x/y"),
            ("phone", "12"),
            ("attribute[colour]", "red"),
            ("address_id", "7"),
            ("attribute[urgency]", "soon"),
            ("attribute[window_start]", "tomorrow"),
        ] {
            let mut pairs = vec![("service_code", "repair"), ("address_string", "3号楼")];
            if k != "lat" {
                pairs.push((k, v));
            } else {
                pairs.extend([("lat", v), ("long", "116")]);
            }
            let e = NewServiceRequest::parse(&params(&pairs), now()).unwrap_err();
            assert!(
                e.iter().any(|e| e.description.starts_with(k)),
                "{k}={v}: {e:?}"
            );
        }
        let long = "长".repeat(2001);
        let e = NewServiceRequest::parse(
            &params(&[
                ("service_code", "repair"),
                ("address_string", "3号楼"),
                ("description", &long),
            ]),
            now(),
        )
        .unwrap_err();
        assert_eq!(e[0].description, "description: too long");
    }

    #[test]
    fn states_map_to_open_or_closed_and_places_are_coarse() {
        assert_eq!(open_or_closed("pending"), OpenClosed::Open);
        assert_eq!(open_or_closed("completed"), OpenClosed::Closed);
        assert_eq!(open_or_closed("rejected"), OpenClosed::Closed);
        assert_eq!(
            coarse(Some((39.90923, 116.39742)), None),
            Some((39.91, 116.4))
        );
        assert_eq!(coarse(Some((1.0, 2.0)), Some((3.0, 4.0))), Some((3.0, 4.0)));
        assert_eq!(coarse(None, None), None);
    }
}
