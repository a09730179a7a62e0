//! GET `requests`: the filters, the 90-day span and the paging a civic client may send.

use super::*;

/// GET `requests`: checked filters. With ids, GeoReport lets the server ignore the rest: we do.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub ids: Option<Vec<uuid::Uuid>>,
    pub service_codes: Option<Vec<String>>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: Option<OpenClosed>,
    pub updated_after: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
    pub page: i64,
    pub page_size: i64,
}

impl ListQuery {
    pub fn parse(p: &Params, now: DateTime<Utc>) -> Result<Self, Open311Errors> {
        let mut errors = Vec::new();
        let ids = p.get("service_request_id").and_then(|s| {
            keep(
                &mut errors,
                comma_list("service_request_id", s).and_then(|items| {
                    items
                        .iter()
                        .map(|i| {
                            uuid::Uuid::parse_str(i).map_err(|_| {
                                Open311Error::bad("service_request_id", "not a request id")
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                }),
            )
        });
        let codes = p.get("service_code").and_then(|s| {
            keep(
                &mut errors,
                comma_list("service_code", s).and_then(|items| {
                    items
                        .iter()
                        .map(|i| {
                            crate::domain::code::Code::parse(i)
                                .map(|c| c.as_str().to_string())
                                .map_err(|_| {
                                    Open311Error::bad("service_code", "not a service code")
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()
                }),
            )
        });
        let mut time = |name: &str| {
            p.get(name)
                .and_then(|s| keep(&mut errors, parse_datetime(name, s)))
        };
        let start = time("start_date");
        let end = time("end_date");
        let updated_after = time("updated_after");
        let updated_before = time("updated_before");
        let status = p.get("status").and_then(|s| {
            keep(
                &mut errors,
                comma_list("status", s).and_then(|items| {
                    let mut open = false;
                    let mut closed = false;
                    for i in items {
                        match i {
                            "open" => open = true,
                            "closed" => closed = true,
                            _ => return Err(Open311Error::bad("status", "open or closed")),
                        }
                    }
                    Ok(match (open, closed) {
                        (true, false) => Some(OpenClosed::Open),
                        (false, true) => Some(OpenClosed::Closed),
                        _ => None,
                    })
                }),
            )
        });
        let page = p
            .get("page")
            .map(|s| keep(&mut errors, positive("page", s, MAX_PAGE)));
        let page_size = p
            .get("page_size")
            .map(|s| keep(&mut errors, positive("page_size", s, MAX_PAGE_SIZE)));
        let span = Duration::days(MAX_SPAN_DAYS);
        let (start, end) = match (
            p.get("start_date").map(|_| start),
            p.get("end_date").map(|_| end),
        ) {
            (None, None) => (Some(now - span), Some(now)),
            (Some(s), None) => (s, s.map(|s| s + span)),
            (None, Some(e)) => (e.map(|e| e - span), e),
            (Some(s), Some(e)) => (s, e),
        };
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                errors.push(Open311Error::bad("end_date", "before start_date"));
            } else if e - s > span && ids.is_none() {
                errors.push(Open311Error::bad(
                    "end_date",
                    "more than 90 days after start_date",
                ));
            }
        }
        if let (Some(a), Some(b)) = (updated_after, updated_before)
            && b < a
        {
            errors.push(Open311Error::bad("updated_before", "before updated_after"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            ids,
            service_codes: codes,
            start: start.unwrap_or(now),
            end: end.unwrap_or(now),
            status: status.flatten(),
            updated_after,
            updated_before,
            page: page.flatten().unwrap_or(1),
            page_size: page_size.flatten().unwrap_or(DEFAULT_PAGE_SIZE),
        })
    }
}
