//! Control characters in the text a request carries: refused everywhere with a 4xx problem and
//! nothing written, whatever the parameter or field (NUL made PostgreSQL fail with a 500 and
//! made SQLite's `q` match every row). Tab and line breaks are text.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::help_requests::{World, world};
use crate::spec::spec;

/// A NUL, an escape (the start of a terminal sequence) and a C1 control (NEL), encoded.
const CONTROLS: [&str; 3] = ["a%00b", "%1B%5B31m", "%C2%85"];

fn resolve(v: &Value) -> &Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            spec()
                .pointer(&r[1..])
                .unwrap_or_else(|| panic!("dangling {r}")),
        ),
        None => v,
    }
}

/// Every documented operation: (method, path template, its query parameters of type string).
fn operations() -> Vec<(Method, String, Vec<String>)> {
    let mut ops = Vec::new();
    for (path, item) in spec()["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let params = [&item["parameters"], &op["parameters"]]
                .into_iter()
                .filter_map(Value::as_array)
                .flatten()
                .map(resolve)
                .filter(|p| p["in"] == "query" && resolve(&p["schema"])["type"] == "string")
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
            ops.push((method.to_uppercase().parse().unwrap(), path.clone(), params));
        }
    }
    ops
}

struct Fixtures {
    w: World,
    help_request: String,
    user: String,
    webhook: String,
    /// The community's code, for the public board's paths.
    code: String,
    /// A topic of deliberation (议事).
    topic: String,
}

impl Fixtures {
    async fn new() -> Self {
        let w = world(1, json!({})).await;
        let help_request = w.place(&w.resident_token, json!({})).await.expect(201).id();
        let (user, _) = w.app.user("dispatcher", Some(&w.c)).await;
        let webhook = w
            .app
            .created(
                &format!("/api/v1/communities/{}/webhooks", w.c),
                json!({"url": "https://hooks.example.org/in", "event_kinds": ["*"]}),
            )
            .await;
        let code = w
            .app
            .get(&format!("/api/v1/communities/{}", w.c), &w.app.admin)
            .await
            .expect(200)
            .body["code"]
            .as_str()
            .unwrap()
            .to_string();
        let topic = w
            .app
            .created(
                &format!("/api/v1/communities/{}/topics", w.c),
                json!({"title": "议题", "description": "内容"}),
            )
            .await;
        Self {
            w,
            help_request,
            user,
            webhook,
            code,
            topic,
        }
    }

    /// The template with real objects for its `{id}`s, so that only the query can be wrong;
    /// `None` when this test has no object of that kind.
    fn concrete(&self, template: &str) -> Option<String> {
        let mut out = Vec::new();
        let mut previous = "";
        for seg in template.split('/') {
            if !seg.starts_with('{') {
                out.push(seg.to_string());
                previous = seg;
                continue;
            }
            let id = match (previous, seg) {
                ("communities", "{id}") => &self.w.c,
                ("communities", "{code}") => &self.code,
                ("residents", "{id}") => &self.w.resident,
                ("volunteers", "{id}") => &self.w.vols[0].0,
                ("help-requests", "{id}") => &self.help_request,
                ("users", "{id}") => &self.user,
                ("grids", "{id}") => &self.w.grid,
                ("service-types", "{id}") => &self.w.service_type,
                ("webhooks", "{id}") => &self.webhook,
                ("topics", "{id}") => &self.topic,
                _ => return None,
            };
            out.push(id.clone());
        }
        Some(out.join("/"))
    }
}

#[tokio::test]
async fn every_string_query_parameter_refuses_control_characters() {
    let f = Fixtures::new().await;
    let app = &f.w.app;
    let mut checked = 0;
    for (method, template, params) in operations() {
        // Open311 answers bad parameters in its own format: tests/api/open311*.rs.
        if params.is_empty() || template.starts_with("/open311/") {
            continue;
        }
        assert_eq!(method, Method::GET, "{template}: a string query on a write");
        let path = f.concrete(&template).unwrap_or_else(|| {
            panic!("{template} takes a string query: give this test an object for its path")
        });
        // The request is otherwise good: a refusal below is the query's doing. (An admin's
        // cross-community lists need a community.)
        let good = |except: &str| match params.iter().any(|p| p == "community_id") {
            true if except != "community_id" => format!("community_id={}&", f.w.c),
            _ => String::new(),
        };
        // A stream never ends: `HEAD` answers as its `GET` would, without one.
        let stream = spec()["paths"][&template]["get"]["responses"]["200"]["content"]
            .get("text/event-stream")
            .is_some();
        let method = if stream { Method::HEAD } else { Method::GET };
        let url = format!("{path}?{}", good(""));
        app.send(app.req(method, &url).bearer_auth(&app.admin))
            .await
            .expect(200);
        for param in &params {
            for bad in CONTROLS {
                let query = format!("{}{param}={bad}", good(param));
                let r = app.get(&format!("{path}?{query}"), &app.admin).await;
                assert_eq!(
                    (r.status, r.code()),
                    (400, "invalid_query"),
                    "GET {template}?{query}: {}",
                    r.body
                );
                assert!(
                    r.body["message"].as_str().unwrap().contains(param.as_str()),
                    "the message names the parameter: {}",
                    r.body
                );
                checked += 1;
            }
        }
    }
    // The spec lists more than a dozen operations with string queries (q, reason, skill, …).
    assert!(checked > 100, "only {checked} requests: is the spec read?");
}

#[tokio::test]
async fn a_control_character_in_a_parameter_name_is_refused_on_every_route_before_anything_runs() {
    let f = Fixtures::new().await;
    let app = &f.w.app;
    let random = Uuid::now_v7().to_string();
    for (method, template, _) in operations() {
        let path = f.concrete(&template).unwrap_or_else(|| {
            template
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|r| r.split_once('}')) {
                        // `{id}.json` keeps its suffix.
                        Some((_, suffix)) => format!("{random}{suffix}"),
                        None => s.to_string(),
                    },
                )
                .collect::<Vec<_>>()
                .join("/")
        });
        let r = app
            .send(
                app.req(method.clone(), &format!("{path}?x%00y=1"))
                    .bearer_auth(&app.admin)
                    .json(&json!({})),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (400, "invalid_query"),
            "{method} {template}: {}",
            r.body
        );
    }
    // A write with a good body but a bad query writes nothing.
    let before = app
        .get("/api/v1/communities?limit=200", &app.admin)
        .await
        .expect(200)
        .items()
        .len();
    app.post(
        "/api/v1/communities?note=%00",
        &app.admin,
        json!({"code": "c-nul", "name": "零社区"}),
    )
    .await
    .problem(400, "invalid_query");
    let after = app
        .get("/api/v1/communities?limit=200", &app.admin)
        .await
        .expect(200)
        .items();
    assert_eq!(after.len(), before);
}

#[tokio::test]
async fn search_and_filters_with_a_nul_match_nothing_instead_of_everything() {
    let f = Fixtures::new().await;
    let (app, c) = (&f.w.app, &f.w.c);
    for list in ["residents", "volunteers"] {
        let path = format!("/api/v1/communities/{c}/{list}");
        assert_eq!(
            app.get(&path, &app.admin).await.expect(200).items().len(),
            1
        );
        for q in ["q=%00", "q=%E5%AD%99%00"] {
            app.get(&format!("{path}?{q}"), &app.admin)
                .await
                .problem(400, "invalid_query");
        }
    }
    app.get(
        &format!("/api/v1/communities/{c}/residents?care_level=high%00"),
        &app.admin,
    )
    .await
    .problem(400, "invalid_query");
    app.get(
        &format!("/api/v1/communities/{c}/volunteers?skill=errands%00"),
        &app.admin,
    )
    .await
    .problem(400, "invalid_query");
    app.get(
        &format!("/api/v1/communities/{c}/audit-log?action=%00"),
        &app.admin,
    )
    .await
    .problem(400, "invalid_query");
    app.get(&format!("/api/v1/users?q=%00&community_id={c}"), &app.admin)
        .await
        .problem(400, "invalid_query");
}

#[tokio::test]
async fn a_reveal_with_a_nul_in_its_reason_reveals_nothing_and_is_not_audited() {
    let f = Fixtures::new().await;
    let (app, c) = (&f.w.app, &f.w.c);
    let reveals = || async {
        app.get(
            &format!("/api/v1/communities/{c}/audit-log?action=resident.reveal"),
            &app.admin,
        )
        .await
        .expect(200)
        .items()
        .len()
    };
    let path = format!("/api/v1/residents/{}", f.w.resident);
    for reason in ["%00", "%E5%9B%9E%E8%AE%BF%00", "a%1Bb", "%7F"] {
        let r = app
            .get(&format!("{path}?reveal=true&reason={reason}"), &app.admin)
            .await
            .problem(400, "invalid_query");
        assert!(r.body.get("phone").is_none());
    }
    assert_eq!(reveals().await, 0);
    // The same reason without the control character is a reveal, audited: the filter above
    // would have seen one.
    let r = app
        .get(
            &format!("{path}?reveal=true&reason=%E5%9B%9E%E8%AE%BF"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(r.body["revealed"], true);
    assert_eq!(reveals().await, 1);
}

#[tokio::test]
async fn a_login_with_a_control_character_is_refused_as_a_bad_field_not_a_failure() {
    let f = Fixtures::new().await;
    let app = &f.w.app;
    for (body, field) in [
        (
            json!({"login": "admin\u{0}", "password": crate::helpers::ADMIN_PASSWORD}),
            "login",
        ),
        (json!({"login": "\u{0}", "password": "x"}), "login"),
        (
            json!({"login": "admin", "password": "admin-password-1\u{1b}"}),
            "password",
        ),
    ] {
        let r = app
            .send(app.req(Method::POST, "/api/v1/auth/login").json(&body))
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            vec![(field.to_string(), "invalid_characters".to_string())]
        );
    }
    // The same on refresh and logout, whose token is a plain string.
    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        let r = app
            .send(
                app.req(Method::POST, path)
                    .json(&json!({"refresh_token": "abc\u{0}"})),
            )
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            vec![(
                "refresh_token".to_string(),
                "invalid_characters".to_string()
            )]
        );
    }
    // Refused before the login is tried: no failure was counted against the account.
    for _ in 0..6 {
        app.login_resp("admin", "admin-password-1\u{0}")
            .await
            .problem(422, "validation_failed");
    }
    app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn a_body_string_with_a_control_character_writes_nothing() {
    let f = Fixtures::new().await;
    let w = &f.w;
    let app = &w.app;

    // A raw string field, and a nested key of a JSON object stored as it is.
    let username = format!("u{}", &Uuid::now_v7().simple().to_string()[16..]);
    let r = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"username": username, "display_name": "测试用户", "password": "pass\u{0}word-123",
                   "roles": [{"role": "dispatcher", "community_id": w.c}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        vec![("password".to_string(), "invalid_characters".to_string())]
    );
    app.login_resp(&username, "pass\u{0}word-123")
        .await
        .problem(422, "validation_failed");
    app.login_resp(&username, "password")
        .await
        .problem(401, "invalid_credentials");

    let community = format!("/api/v1/communities/{}", w.c);
    let etag = app.get(&community, &app.admin).await.expect(200).etag();
    let r = app
        .patch(
            &community,
            &app.admin,
            &etag,
            json!({"policy": {"dispatch": {"max_attempts\u{0}": 3}}, "name": "电力\u{7f}社区"}),
        )
        .await
        .problem(422, "validation_failed");
    let mut codes = r.field_codes();
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("name".to_string(), "invalid_characters".to_string()),
            (
                "policy.dispatch.max_attempts\u{fffd}".to_string(),
                "invalid_characters".to_string()
            ),
        ]
    );
    assert_eq!(
        app.get(&community, &app.admin).await.expect(200).etag(),
        etag
    );

    // A grade set by hand with a NUL in its reason: no change in the history.
    let history = || async {
        app.get(
            &format!("/api/v1/residents/{}/grade-changes", w.resident),
            &app.admin,
        )
        .await
        .expect(200)
        .items()
        .len()
    };
    let before = history().await;
    app.put(
        &format!("/api/v1/residents/{}/grade", w.resident),
        &app.admin,
        json!({"grade": "high", "reason": "\u{0}"}),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(history().await, before);

    // A help request: a C1 control is refused; tab and line breaks are kept.
    let requests = || async {
        app.get(
            &format!("/api/v1/help-requests?community_id={}", w.c),
            &app.admin,
        )
        .await
        .expect(200)
        .items()
        .len()
    };
    let before = requests().await;
    let r = w
        .place(
            &w.resident_token,
            json!({"description": "买药\u{85}", "caller_name": "孙\u{0}"}),
        )
        .await
        .problem(422, "validation_failed");
    let mut codes = r.field_codes();
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("caller_name".to_string(), "invalid_characters".to_string()),
            ("description".to_string(), "invalid_characters".to_string()),
        ]
    );
    assert_eq!(requests().await, before);
    let r = w
        .place(
            &w.resident_token,
            json!({"description": "买药\t两盒\r\n米面一袋"}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["description"], "买药\t两盒\r\n米面一袋");
    assert_eq!(requests().await, before + 1);
}

#[tokio::test]
async fn header_text_with_a_control_character_is_refused_or_ignored() {
    let f = Fixtures::new().await;
    let app = &f.w.app;
    let before = app
        .get("/api/v1/communities?limit=200", &app.admin)
        .await
        .expect(200)
        .items()
        .len();
    // HTTP carries no NUL in a header; a tab is the one control it lets through.
    app.send(
        app.req(Method::POST, "/api/v1/communities")
            .bearer_auth(&app.admin)
            .header("idempotency-key", "key\tone")
            .json(&json!({"code": "c-tab", "name": "制表社区"})),
    )
    .await
    .problem(400, "invalid_header");
    assert_eq!(
        app.get("/api/v1/communities?limit=200", &app.admin)
            .await
            .expect(200)
            .items()
            .len(),
        before
    );
    let community = format!("/api/v1/communities/{}", f.w.c);
    app.send(
        app.req(Method::PATCH, &community)
            .bearer_auth(&app.admin)
            .header("if-match", "\"1\t\"")
            .header("content-type", "application/merge-patch+json")
            .body(json!({"name": "改名"}).to_string()),
    )
    .await
    .problem(400, "invalid_header");
    // A request id with a tab is not taken: the server makes its own.
    let r = app
        .send(
            app.req(Method::GET, "/api/v1/residents/not-a-uuid")
                .bearer_auth(&app.admin)
                .header("x-request-id", "abc\tdef"),
        )
        .await
        .problem(400, "invalid_path");
    assert_ne!(r.header("x-request-id"), Some("abc\tdef"));
    assert!(!r.body["request_id"].as_str().unwrap().contains('\t'));
}
