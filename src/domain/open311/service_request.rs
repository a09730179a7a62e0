//! POST `requests`: the parameters a civic client may send to place a request, checked.

use super::*;

pub type AddressString = Text<200>;
pub type ShortId = Text<128>;
/// URLs of photos the caller took; kept as given and shown to key holders, never fetched.
pub const MAX_URL: usize = 2048;
pub const MAX_EMAIL: usize = 254;

/// The parameters a POST `requests` accepts; any other is refused by name.
pub const POST_PARAMS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "first_name",
    "last_name",
    "phone",
    "email",
    "description",
    "media_url",
    "device_id",
    "account_id",
];

/// The attributes of every service definition (`attribute[code]` on POST).
pub const ATTRIBUTES: &[&str] = &["urgency", "window_start", "window_end"];

/// A checked POST `requests`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServiceRequest {
    pub service_code: String,
    pub location: Option<Coordinates>,
    pub address_string: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub urgency: Option<Urgency>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
}

fn text<T>(
    p: &Params,
    name: &str,
    parse: impl Fn(&str) -> Result<T, &'static str>,
    errors: &mut Open311Errors,
) -> Option<T> {
    let v = p.get(name)?;
    match parse(v) {
        Ok(t) => Some(t),
        Err(code) => {
            let what = match code {
                "too_long" => "too long",
                "invalid_characters" => "holds control characters",
                _ => "not valid",
            };
            errors.push(Open311Error::bad(name, what));
            None
        }
    }
}

fn email(s: &str) -> Result<String, &'static str> {
    if s.len() > MAX_EMAIL {
        return Err("too_long");
    }
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(s.to_string())
        }
        _ => Err("invalid"),
    }
}

fn media_url(s: &str) -> Result<String, &'static str> {
    if s.len() > MAX_URL {
        return Err("too_long");
    }
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(s.to_string()),
        _ => Err("invalid"),
    }
}

fn degrees(p: &Params, name: &str, errors: &mut Open311Errors) -> Option<f64> {
    let v = p.get(name)?;
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            errors.push(Open311Error::bad(name, "not a number"));
            None
        }
    }
}

impl NewServiceRequest {
    pub fn parse(p: &Params, now: DateTime<Utc>) -> Result<Self, Open311Errors> {
        let mut errors = Vec::new();
        for name in p.names() {
            let known = POST_PARAMS.contains(&name)
                || name
                    .strip_prefix("attribute[")
                    .and_then(|n| n.strip_suffix(']'))
                    .is_some_and(|n| ATTRIBUTES.contains(&n));
            if !known {
                let what = if name.starts_with("attribute[") {
                    "no such attribute of this service"
                } else if name == "address_id" {
                    "not supported: send address_string or lat and long"
                } else {
                    "unknown parameter"
                };
                errors.push(Open311Error::bad(name, what));
            }
        }
        let service_code = p.get("service_code").map(str::to_string);
        if service_code.is_none() {
            errors.push(Open311Error::bad("service_code", "required"));
        }
        let lat = degrees(p, "lat", &mut errors);
        let lng = degrees(p, "long", &mut errors);
        let location = match (p.get("lat"), p.get("long"), lat, lng) {
            (None, None, ..) => None,
            (Some(_), Some(_), Some(a), Some(b)) => match Coordinates::parse(a, b) {
                Ok(c) => Some(c),
                Err(_) => {
                    errors.push(Open311Error::bad("lat", "lat and long out of range"));
                    None
                }
            },
            (Some(_), None, ..) => {
                errors.push(Open311Error::bad("long", "required with lat"));
                None
            }
            (None, Some(_), ..) => {
                errors.push(Open311Error::bad("lat", "required with long"));
                None
            }
            _ => None,
        };
        let address_string = text(
            p,
            "address_string",
            |s| AddressString::parse(s).map(|t| t.into_inner()),
            &mut errors,
        );
        if p.get("address_string").is_none() && (p.get("lat").is_none() || p.get("long").is_none())
        {
            errors.push(Open311Error::bad(
                "lat",
                "lat and long, or address_string, required",
            ));
        }
        let name = |s: &str| Name::parse(s).map(|n| n.into_inner());
        let first_name = text(p, "first_name", name, &mut errors);
        let last_name = text(p, "last_name", name, &mut errors);
        let phone = text(
            p,
            "phone",
            |s| Phone::parse(s).map(|p| p.as_str().to_string()),
            &mut errors,
        );
        let email = text(p, "email", email, &mut errors);
        let description = text(
            p,
            "description",
            |s| Description::parse(s).map(|d| d.into_inner()),
            &mut errors,
        );
        let media_url = text(p, "media_url", media_url, &mut errors);
        let short = |s: &str| ShortId::parse(s).map(|t| t.into_inner());
        let device_id = text(p, "device_id", short, &mut errors);
        let account_id = text(p, "account_id", short, &mut errors);
        let urgency = text(p, "attribute[urgency]", Urgency::parse, &mut errors);
        let mut time = |name: &str| match p.get(name).map(|s| parse_datetime(name, s)) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                errors.push(e);
                None
            }
            None => None,
        };
        let window_start = time("attribute[window_start]");
        let window_end = time("attribute[window_end]");
        match (window_start, window_end) {
            (Some(s), Some(e)) if e <= s => errors.push(Open311Error::bad(
                "attribute[window_end]",
                "not after window_start",
            )),
            (Some(s), Some(e)) if e - s > Duration::days(31) => errors.push(Open311Error::bad(
                "attribute[window_end]",
                "more than 31 days after window_start",
            )),
            (None, Some(_)) if p.get("attribute[window_start]").is_none() => errors.push(
                Open311Error::bad("attribute[window_start]", "required with window_end"),
            ),
            (_, Some(e)) if e <= now => {
                errors.push(Open311Error::bad("attribute[window_end]", "in the past"))
            }
            _ => {}
        }
        for (name, t) in [
            ("attribute[window_start]", window_start),
            ("attribute[window_end]", window_end),
        ] {
            if t.is_some_and(|t| (t - now).num_days().abs() > 366) {
                errors.push(Open311Error::bad(name, "more than a year away"));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            service_code: service_code.unwrap_or_default(),
            location,
            address_string,
            first_name,
            last_name,
            phone,
            email,
            description,
            media_url,
            device_id,
            account_id,
            urgency,
            window_start,
            window_end,
        })
    }
}
