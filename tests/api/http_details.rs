//! HTTP as clients expect it (DESIGN §8): 405 with `Allow`, `HEAD` wherever `GET`, CORS for
//! configured origins, `Location` on every 201, oversized `If-Match` versions and the reveal
//! reason's length.

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::help_requests::world;
use crate::helpers::{TestApp, spawn_app, spawn_with};
use crate::spec::spec;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A concrete path for a spec path, with a fresh id for every parameter.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if let Some((_, suffix)) = s.strip_prefix('{').and_then(|r| r.split_once('}')) {
                // `{id}.json` keeps its suffix.
                format!("{}{suffix}", Uuid::now_v7())
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// (path template, its methods as the spec lists them).
fn spec_paths() -> Vec<(String, BTreeSet<String>)> {
    spec()["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = METHODS
                .iter()
                .filter(|m| item.get(m.to_lowercase()).is_some())
                .map(|m| m.to_string())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

fn header_set(res: &reqwest::Response, name: &str) -> BTreeSet<String> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty())
        .collect()
}

async fn raw(app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    app.req(Method::from_bytes(method.as_bytes()).unwrap(), path)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_path_answers_a_method_it_lacks_with_405_and_allow_from_the_spec() {
    let app = spawn_app().await;
    let mut checked = 0;
    for (template, methods) in spec_paths() {
        let mut allow: BTreeSet<String> = methods.iter().map(|m| m.to_lowercase()).collect();
        if methods.contains("GET") {
            allow.insert("head".into());
        }
        let path = concrete(&template);
        for method in METHODS.iter().chain(&["HEAD", "OPTIONS"]) {
            if allow.contains(&method.to_lowercase()) {
                continue;
            }
            let res = raw(&app, method, &path).await;
            assert_eq!(res.status(), 405, "{method} {template}");
            assert_eq!(header_set(&res, "allow"), allow, "{method} {template}");
            assert!(res.headers().contains_key("x-request-id"));
            if *method == "HEAD" {
                continue;
            }
            assert_eq!(
                res.headers()["content-type"],
                "application/problem+json",
                "{method} {template}"
            );
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                (body["status"].as_u64(), body["code"].as_str()),
                (Some(405), Some("method_not_allowed")),
                "{method} {template}"
            );
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} checked");
    // An unknown path is another matter: 404, and no `Allow`.
    let res = raw(&app, "PUT", "/api/v1/nothing-here").await;
    assert_eq!(res.status(), 404);
    assert!(!res.headers().contains_key("allow"));
}

/// Status and headers that must be the same for `GET` and `HEAD`.
fn head_view(res: &reqwest::Response) -> (u16, Vec<Option<String>>) {
    let names = [
        "content-type",
        "etag",
        "content-language",
        "www-authenticate",
    ];
    let values = names
        .iter()
        .map(|n| {
            res.headers()
                .get(*n)
                .map(|v| v.to_str().unwrap().to_string())
        })
        .collect();
    (res.status().as_u16(), values)
}

#[tokio::test]
async fn head_answers_wherever_get_does_with_its_status_and_headers_and_no_body() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let mut cases: Vec<(String, Option<&str>)> = spec_paths()
        .into_iter()
        .filter(|(_, methods)| methods.contains("GET"))
        .map(|(template, _)| (concrete(&template), Some(app.admin.as_str())))
        .collect();
    cases.extend([
        (format!("/api/v1/communities/{c}"), Some(app.admin.as_str())),
        (
            format!("/api/v1/communities/{c}/grids"),
            Some(app.admin.as_str()),
        ),
        ("/api/v1/communities".to_string(), None),
        ("/api/v1/nothing-here".to_string(), Some(app.admin.as_str())),
    ]);
    let mut statuses = BTreeSet::new();
    for (path, token) in cases {
        let (get, head) = (app.req(Method::GET, &path), app.req(Method::HEAD, &path));
        let (get, head) = match token {
            Some(t) => (get.bearer_auth(t), head.bearer_auth(t)),
            None => (get, head),
        };
        let (get, head) = (get.send().await.unwrap(), head.send().await.unwrap());
        assert_eq!(head_view(&head), head_view(&get), "HEAD {path}");
        assert!(head.headers().contains_key("x-request-id"), "HEAD {path}");
        statuses.insert(get.status().as_u16());
        if get.headers()["content-type"] == "text/event-stream" {
            // A stream has no length and no end: the headers are what HEAD can match.
            assert!(
                head.bytes().await.unwrap().is_empty(),
                "HEAD {path}: a body"
            );
            continue;
        }
        let head_length = head.headers().get("content-length").cloned();
        let get_body = get.bytes().await.unwrap();
        if path != "/metrics" {
            assert_eq!(
                head_length,
                Some(HeaderValue::from(get_body.len())),
                "HEAD {path}: the length GET sends"
            );
        }
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path}: a body"
        );
    }
    // Successes and failures both were compared.
    for s in [200, 401, 404] {
        assert!(statuses.contains(&s), "no {s} among {statuses:?}");
    }
    let head = app
        .req(Method::HEAD, &format!("/api/v1/communities/{c}"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["etag"], "\"1\"");
}

const CONSOLE: &str = "https://console.example.org";

fn preflight(
    app: &TestApp,
    path: &str,
    origin: &str,
    method: &str,
    headers: &str,
) -> reqwest::RequestBuilder {
    app.req(Method::OPTIONS, path)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_configured() {
    let app = spawn_app().await;
    let res = app
        .req(Method::GET, "/api/v1/me")
        .bearer_auth(&app.admin)
        .header("origin", CONSOLE)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        !res.headers()
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")),
        "{:?}",
        res.headers()
    );
    let res = preflight(&app, "/api/v1/me", CONSOLE, "GET", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405, "no preflight answered");
    assert!(!res.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn configured_origins_get_cors_and_others_do_not() {
    let app = spawn_with(|c| {
        c.cors_origins = vec![CONSOLE.into(), "http://localhost:5173".into()];
    })
    .await;
    let c = app.community("电力社区").await;
    let path = format!("/api/v1/communities/{c}");

    // A console's preflight for an update with every header a client sends.
    let asked =
        "authorization, content-type, if-match, idempotency-key, accept-language, x-request-id";
    let res = preflight(&app, &path, CONSOLE, "PATCH", asked)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], CONSOLE);
    assert!(header_set(&res, "access-control-allow-methods").contains("patch"));
    let allowed = header_set(&res, "access-control-allow-headers");
    for h in asked.split(", ") {
        assert!(allowed.contains(h), "{h} not allowed: {allowed:?}");
    }
    assert!(res.headers().contains_key("access-control-max-age"));
    assert!(header_set(&res, "vary").contains("origin"));
    assert!(
        !res.headers()
            .contains_key("access-control-allow-credentials")
    );
    let other = preflight(
        &app,
        &path,
        "http://localhost:5173",
        "DELETE",
        "authorization",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        other.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );

    // Its requests see the headers they need, on successes and on problems alike.
    let created = app
        .send(
            app.req(Method::POST, &format!("{path}/grids"))
                .bearer_auth(&app.admin)
                .header("origin", CONSOLE)
                .json(&json!({"name": "第一网格"})),
        )
        .await
        .expect(201);
    assert_eq!(created.header("access-control-allow-origin"), Some(CONSOLE));
    let exposed: BTreeSet<String> = created
        .header("access-control-expose-headers")
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().to_string())
        .collect();
    for h in [
        "etag",
        "location",
        "retry-after",
        "x-request-id",
        "idempotent-replayed",
        "content-language",
    ] {
        assert!(exposed.contains(h), "{h} not exposed: {exposed:?}");
    }
    let missing = app
        .send(
            app.req(Method::GET, &format!("/api/v1/grids/{}", Uuid::now_v7()))
                .bearer_auth(&app.admin)
                .header("origin", CONSOLE),
        )
        .await
        .problem(404, "not_found");
    assert_eq!(missing.header("access-control-allow-origin"), Some(CONSOLE));

    // Another origin is answered as usual but without CORS: its browser withholds the answer.
    let evil = "https://evil.example.org";
    let res = app
        .send(
            app.req(Method::GET, &path)
                .bearer_auth(&app.admin)
                .header("origin", evil),
        )
        .await
        .expect(200);
    assert_eq!(res.body["id"], c.as_str());
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert_eq!(res.header("access-control-allow-credentials"), None);
    // Its preflight is refused, as is one for a header the API does not take.
    for (origin, headers) in [(evil, "authorization"), (CONSOLE, "x-debug")] {
        let res = preflight(&app, &path, origin, "PATCH", headers)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{origin} {headers}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert!(!res.headers().contains_key("access-control-allow-origin"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "cors_rejected");
    }
}

#[test]
fn every_201_in_the_spec_declares_location_and_the_router_knows_where_it_points() {
    let created: BTreeSet<(String, String)> = huying::http::routes::table()
        .into_iter()
        .filter(|r| r.created.is_some())
        .map(|r| (r.method.to_uppercase(), r.path.to_string()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in spec()["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(r) = item
                .get(method.to_lowercase())
                .and_then(|op| op["responses"].get("201"))
            else {
                continue;
            };
            documented.insert((method.to_string(), path.clone()));
            let name = r["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
            let location = &spec()["components"]["responses"][name]["headers"]["Location"];
            let location = match location["$ref"].as_str() {
                Some(_) => &spec()["components"]["headers"]["Location"],
                None => location,
            };
            assert_eq!(location["required"], true, "{method} {path}: Location");
        }
    }
    assert!(documented.len() >= 12, "{documented:?}");
    assert_eq!(created, documented);
}

#[tokio::test]
async fn every_creation_answers_with_the_location_of_what_it_created() {
    let w = world(1, json!({})).await;
    let app = &w.app;
    let admin = app.admin.as_str();
    let gw_user = app.get("/api/v1/me", &w.gw).await.expect(200).id();
    let (vol_user, _) = app.user("volunteer", Some(&w.c)).await;
    let c = &w.c;

    // (what, its answer, where it should be, the id to find there)
    let mut made = Vec::new();
    let user = app
        .post(
            "/api/v1/users",
            admin,
            json!({"username": format!("u{}", &Uuid::now_v7().simple().to_string()[16..]), "display_name": "王",
                   "password": "password-123"}),
        )
        .await
        .expect(201);
    let u = user.id();
    made.push(("user", user, format!("/api/v1/users/{u}"), u.clone()));
    let grant = app
        .post(
            &format!("/api/v1/users/{u}/roles"),
            admin,
            json!({"role": "dispatcher", "community_id": c}),
        )
        .await
        .expect(201);
    let g = grant.id();
    let grant_at = format!("/api/v1/users/{u}/roles/{g}");
    made.push(("grant", grant, grant_at.clone(), g));
    let community = app
        .post(
            "/api/v1/communities",
            admin,
            json!({"code": "c2x", "name": "乙"}),
        )
        .await
        .expect(201);
    let id = community.id();
    made.push((
        "community",
        community,
        format!("/api/v1/communities/{id}"),
        id,
    ));
    for (kind, item, body) in [
        ("grids", "grids", json!({"name": "第二网格"})),
        (
            "residents",
            "residents",
            json!({"name": "李大爷", "grid_id": w.grid}),
        ),
        (
            "volunteers",
            "volunteers",
            json!({"user_id": vol_user, "name": "小王", "phone": "13900001111"}),
        ),
        ("teams", "teams", json!({"name": "党员先锋队"})),
        (
            "service-types",
            "service-types",
            json!({"code": "repairs", "name": "维修"}),
        ),
    ] {
        let r = app
            .post(&format!("/api/v1/communities/{c}/{kind}"), admin, body)
            .await
            .expect(201);
        let id = r.id();
        made.push((item, r, format!("/api/v1/{item}/{id}"), id));
    }
    let placed = w.place(&w.dispatcher, json!({})).await.expect(201);
    let id = placed.id();
    made.push((
        "help request",
        placed,
        format!("/api/v1/help-requests/{id}"),
        id,
    ));
    let plan = app
        .post(
            &format!("/api/v1/communities/{c}/visit-plans"),
            &w.gw,
            json!({"resident_id": w.resident, "contact_kinds": ["phone"], "frequency_days": 7,
                   "team": [{"user_id": gw_user, "role": "grid_worker"}]}),
        )
        .await
        .expect(201);
    let id = plan.id();
    made.push(("visit plan", plan, format!("/api/v1/visit-plans/{id}"), id));
    let r = &w.resident;
    let assessed = app
        .post(
            &format!("/api/v1/residents/{r}/assessments"),
            &w.gw,
            json!({"health": 2, "social_support": 1, "home_safety": 0}),
        )
        .await
        .expect(201);
    let id = assessed.body["assessment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    made.push((
        "assessment",
        assessed,
        format!("/api/v1/residents/{r}/assessments"),
        id,
    ));
    let change = app
        .post(
            &format!("/api/v1/residents/{r}/major-changes"),
            &w.gw,
            json!({"kind": "fall"}),
        )
        .await
        .expect(201);
    let id = change.body["visit"]["id"].as_str().unwrap().to_string();
    made.push((
        "major change's visit",
        change,
        format!("/api/v1/visits/{id}"),
        id,
    ));
    assert_eq!(made.len(), 12, "one of each creating operation");

    for (what, answer, expected, id) in made {
        assert_eq!(answer.header("location"), Some(expected.as_str()), "{what}");
        if what == "grant" {
            continue;
        }
        // It leads to what was created (an assessment's list starts with it).
        let found = app.get(&expected, admin).await.expect(200);
        let found_id = found.body["id"]
            .as_str()
            .or(found.body["items"][0]["id"].as_str());
        assert_eq!(found_id, Some(id.as_str()), "{what} at {expected}");
    }
    // A grant's URL is where it is revoked.
    app.delete(&grant_at, admin).await.expect(204);

    // A replayed creation carries the same Location.
    let send = || {
        app.send(
            app.req(Method::POST, &format!("/api/v1/communities/{c}/grids"))
                .bearer_auth(admin)
                .header("idempotency-key", "location-replay")
                .json(&json!({"name": "第三网格"})),
        )
    };
    let first = send().await.expect(201);
    let again = send().await.expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        first.header("location"),
        Some(format!("/api/v1/grids/{}", first.id()).as_str())
    );
    assert_eq!(again.header("location"), first.header("location"));
}

#[tokio::test]
async fn an_if_match_version_beyond_64_bits_is_stale_not_malformed() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let path = format!("/api/v1/communities/{c}");
    let huge = "\"99999999999999999999\"";
    for etag in [
        huge,
        "W/\"18446744073709551616\"",
        "\"9223372036854775808\"",
    ] {
        app.patch(&path, &app.admin, etag, json!({"name": "改名"}))
            .await
            .problem(412, "stale_version");
    }
    app.send(
        app.req(Method::DELETE, &path)
            .bearer_auth(&app.admin)
            .header("if-match", huge),
    )
    .await
    .problem(412, "stale_version");
    let now = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(
        (now.etag().as_str(), now.body["name"].as_str()),
        ("\"1\"", Some("电力社区"))
    );
    assert_eq!(now.body["active"], true);
    // What is not found is still 404; what is not a version is still 400.
    app.patch(
        &format!("/api/v1/communities/{}", Uuid::now_v7()),
        &app.admin,
        huge,
        json!({"name": "改名"}),
    )
    .await
    .problem(404, "not_found");
    for bad in ["\"+1\"", "\"-1\"", "\"\"", "\"1x\"", "1"] {
        app.patch(&path, &app.admin, bad, json!({"name": "改名"}))
            .await
            .problem(400, "invalid_header");
    }
    app.patch(&path, &app.admin, "\"1\"", json!({"name": "改名"}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_reveal_reason_is_length_checked_with_or_without_reveal() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let r = app
        .resident(&c, json!({"name": "孙大娘", "phone": "13812345678"}))
        .await
        .expect(201)
        .id();
    let path = format!("/api/v1/residents/{r}");
    let long = "回".repeat(201);
    for query in [
        format!("reason={long}"),
        format!("reveal=false&reason={long}"),
        format!("reveal=true&reason={long}"),
    ] {
        let res = app
            .get(&format!("{path}?{query}"), &app.admin)
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            res.field_codes(),
            [("reason".into(), "too_long".into())],
            "{query}"
        );
    }
    let fits = "回".repeat(200);
    let masked = app
        .get(&format!("{path}?reason={fits}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(masked.body["phone"], "138****5678");
    let audit = app
        .get(
            &format!("/api/v1/communities/{c}/audit-log?object_id={r}"),
            &app.admin,
        )
        .await
        .expect(200);
    assert!(
        audit.items().is_empty(),
        "nothing was revealed: {:?}",
        audit.items()
    );
}
