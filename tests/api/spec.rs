//! `openapi.yaml` as a checker: finds the operation for a method and concrete path, and
//! validates a response body against its documented schema.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
            .expect("openapi.yaml");
        serde_norway::from_str(&text).expect("openapi.yaml parses")
    })
}

/// `/api/v1/residents/0190…` matches `/api/v1/residents/{id}`.
pub fn template_for(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let paths = spec()["paths"].as_object()?;
    paths
        .keys()
        .filter(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            ts.len() == segs.len() && ts.iter().zip(&segs).all(|(t, s)| segment_matches(t, s))
        })
        // Prefer literal segments over templates.
        .max_by_key(|t| t.split('/').filter(|s| !s.starts_with('{')).count())
        .cloned()
}

/// A template segment matches a literal, `{x}` anything, and `{x}.json` anything with that
/// suffix (Open311's paths name their format).
fn segment_matches(t: &str, s: &str) -> bool {
    match t.strip_prefix('{').and_then(|r| r.split_once('}')) {
        Some((_, suffix)) => s.len() > suffix.len() && s.ends_with(suffix),
        None => t == s,
    }
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn validator(pointer: &str) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(pointer) {
        return v.clone();
    }
    let mut root =
        json!({"components": spec()["components"].clone(), "paths": spec()["paths"].clone()});
    // A `$ref` is a URI: braces of path templates must be percent-encoded.
    let reference = pointer.replace('{', "%7B").replace('}', "%7D");
    root["$ref"] = Value::String(format!("#{reference}"));
    let v = Arc::new(
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema at {pointer} does not compile: {e}")),
    );
    cache.lock().unwrap().insert(pointer.to_string(), v.clone());
    v
}

/// Panics unless `status` is documented for the operation and `body` matches its schema.
pub fn check_response(
    method: &str,
    path: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) {
    let method = method.to_lowercase();
    // `HEAD` is answered as `GET` would be, without a body.
    let head = method == "head";
    let (method, body) = match head {
        true => ("get".to_string(), &[][..]),
        false => (method, body),
    };
    let template = template_for(path)
        .unwrap_or_else(|| panic!("{method} {path}: no such path in openapi.yaml"));
    let op = &spec()["paths"][&template][&method];
    assert!(
        op.is_object(),
        "{method} {template}: operation missing from openapi.yaml"
    );
    let responses = &op["responses"];
    let key = status.to_string();
    let resp_key = if responses.get(&key).is_some() {
        key
    } else {
        panic!("{method} {template}: status {status} is not documented")
    };
    let mut resp = &responses[&resp_key];
    let mut resp_pointer = format!(
        "/paths/{}/{}/responses/{}",
        escape(&template),
        method,
        resp_key
    );
    if let Some(r) = resp.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        resp = &spec()["components"]["responses"][name];
        resp_pointer = format!("/components/responses/{}", escape(name));
    }
    let Some(content) = resp.get("content").and_then(Value::as_object) else {
        assert!(
            body.is_empty(),
            "{method} {template} {status}: body present but none documented"
        );
        return;
    };
    let ct = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    assert!(
        content.contains_key(&ct),
        "{method} {template} {status}: content type {ct:?} not documented"
    );
    if head {
        return;
    }
    if !ct.ends_with("json") {
        check_opaque(&format!("{method} {template} {status}"), &ct, body);
        return;
    }
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("{method} {template} {status}: body is not JSON"));
    let pointer = format!("{resp_pointer}/content/{}/schema", escape(&ct));
    let v = validator(&pointer);
    let errors: Vec<String> = v
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status}: body does not match openapi.yaml:\n{}\nbody: {value}",
        errors.join("\n")
    );
}

/// What can be checked of a body that is no JSON: a spreadsheet export is what its media type says.
fn check_opaque(what: &str, ct: &str, body: &[u8]) {
    match ct {
        "text/csv" => {
            let text =
                std::str::from_utf8(body).unwrap_or_else(|_| panic!("{what}: CSV is not UTF-8"));
            assert!(
                text.starts_with('\u{feff}'),
                "{what}: CSV without its byte-order mark"
            );
            assert!(text.ends_with("\r\n"), "{what}: CSV lines end in CRLF");
        }
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            assert!(
                body.starts_with(b"PK\x03\x04"),
                "{what}: XLSX is not a ZIP file"
            );
        }
        _ => {}
    }
}

/// Panics unless `data`, the data of a Server-Sent Event named `event` on `path`, matches the
/// schema its stream's `200` names for that event under `x-event-data`.
pub fn check_event(path: &str, event: &str, data: &str) {
    let template =
        template_for(path).unwrap_or_else(|| panic!("{path}: no such path in openapi.yaml"));
    let events = &spec()["paths"][&template]["get"]["responses"]["200"]["content"]["text/event-stream"]
        ["x-event-data"];
    assert!(
        events.get(event).is_some(),
        "GET {template}: event {event:?} is not documented under x-event-data"
    );
    let value: Value = serde_json::from_str(data)
        .unwrap_or_else(|_| panic!("GET {template}: the data of {event:?} is not JSON: {data}"));
    let pointer = format!(
        "/paths/{}/get/responses/200/content/{}/x-event-data/{}",
        escape(&template),
        escape("text/event-stream"),
        escape(event)
    );
    let errors: Vec<String> = validator(&pointer)
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "GET {template}: event {event:?} does not match openapi.yaml:\n{}\ndata: {value}",
        errors.join("\n")
    );
}
