//! What an integration client's token reaches: each scoped endpoint with and without its scope,
//! placing and cancelling for residents of its community (recorded as the client's), masked
//! residents it may never reveal, revocation, rotation and narrowed scopes taking effect at once,
//! and the per-client rate limit.

use reqwest::Method;
use serde_json::json;

use crate::clients::{ALL_SCOPES, client_token, create_client};
use crate::help_requests::{World, world};
use crate::helpers::{Resp, on_test_db};

/// A token holding every scope but `without`.
async fn token_without(w: &World, without: &str) -> String {
    let scopes: Vec<&str> = ALL_SCOPES
        .iter()
        .copied()
        .filter(|s| *s != without)
        .collect();
    let created = create_client(&w.app, &w.c, &scopes).await;
    client_token(&w.app, &created, None).await
}

#[track_caller]
fn insufficient(r: Resp, scope: &str) {
    let r = r.problem(403, "insufficient_scope");
    assert_eq!(
        r.header("www-authenticate"),
        Some(format!(r#"Bearer error="insufficient_scope", scope="{scope}""#).as_str())
    );
}

async fn count(w: &World, sql: &'static str) -> i64 {
    on_test_db!(w.app, p => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await).unwrap()
}

#[tokio::test]
async fn each_scoped_endpoint_needs_its_scope() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    let c = &w.c;
    let placed = w.place(&w.dispatcher, json!({})).await.expect(201).id();
    let hook = app
        .post(
            &format!("/api/v1/communities/{c}/webhooks"),
            &app.admin,
            json!({"url": "https://hooks.example.org/in", "event_kinds": ["*"]}),
        )
        .await
        .expect(201)
        .id();
    let all = {
        let created = create_client(app, c, &ALL_SCOPES).await;
        client_token(app, &created, None).await
    };
    let reads: Vec<(&str, String)> = vec![
        ("requests:read", "/api/v1/help-requests".into()),
        ("requests:read", format!("/api/v1/help-requests/{placed}")),
        (
            "requests:read",
            format!("/api/v1/help-requests/{placed}/timeline"),
        ),
        (
            "residents:read",
            format!("/api/v1/communities/{c}/residents"),
        ),
        (
            "residents:read",
            format!("/api/v1/residents/{}", w.resident),
        ),
        (
            "reports:read",
            format!("/api/v1/communities/{c}/reports/three-rates"),
        ),
        (
            "reports:read",
            format!("/api/v1/communities/{c}/reports/visit-coverage"),
        ),
        (
            "reports:read",
            format!("/api/v1/communities/{c}/reports/volunteer-hours"),
        ),
        (
            "webhooks:manage",
            format!("/api/v1/communities/{c}/webhooks"),
        ),
        ("webhooks:manage", format!("/api/v1/webhooks/{hook}")),
        (
            "webhooks:manage",
            format!("/api/v1/webhooks/{hook}/deliveries"),
        ),
    ];
    for (scope, path) in &reads {
        let without = token_without(&w, scope).await;
        insufficient(app.get(path, &without).await, scope);
        app.get(path, &all).await.expect(200);
    }
    // Writes refused for want of scope change nothing.
    let requests_before = count(&w, "select count(*) from help_requests").await;
    let hooks_before = count(&w, "select count(*) from webhooks").await;
    let no_write = token_without(&w, "requests:write").await;
    insufficient(
        app.post(
            "/api/v1/help-requests",
            &no_write,
            json!({"resident_id": w.resident, "service_type_id": w.service_type, "description": "x"}),
        )
        .await,
        "requests:write",
    );
    insufficient(
        app.post(
            &format!("/api/v1/help-requests/{placed}/cancel"),
            &no_write,
            json!({"reason": "x"}),
        )
        .await,
        "requests:write",
    );
    let no_hooks = token_without(&w, "webhooks:manage").await;
    insufficient(
        app.post(
            &format!("/api/v1/communities/{c}/webhooks"),
            &no_hooks,
            json!({"url": "https://hooks.example.org/x", "event_kinds": ["*"]}),
        )
        .await,
        "webhooks:manage",
    );
    insufficient(
        app.delete(&format!("/api/v1/webhooks/{hook}"), &no_hooks)
            .await,
        "webhooks:manage",
    );
    assert_eq!(
        count(&w, "select count(*) from help_requests").await,
        requests_before
    );
    assert_eq!(
        count(&w, "select count(*) from webhooks").await,
        hooks_before
    );
    assert_eq!(
        w.get(&placed).await["status"],
        w.get(&placed).await["status"]
    );
    // With the scope, a client manages the community's webhooks.
    let created = app
        .post(
            &format!("/api/v1/communities/{c}/webhooks"),
            &all,
            json!({"url": "https://hooks.example.org/client", "event_kinds": ["help_request.*"]}),
        )
        .await
        .expect(201)
        .id();
    app.delete(&format!("/api/v1/webhooks/{created}"), &all)
        .await
        .expect(204);
    // Endpoints naming no scope stay closed to it.
    app.get(&format!("/api/v1/help-requests/{placed}/offers"), &all)
        .await
        .problem(403, "client_not_allowed");
    app.post(
        &format!("/api/v1/help-requests/{placed}/triage"),
        &all,
        json!({"decision": "accept"}),
    )
    .await
    .problem(403, "client_not_allowed");
}

#[tokio::test]
async fn a_client_of_another_community_sees_nothing_of_this_one() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    let placed = w.place(&w.dispatcher, json!({})).await.expect(201).id();
    let other = app.community("别的社区").await;
    let foreign = {
        let created = create_client(app, &other, &ALL_SCOPES).await;
        client_token(app, &created, None).await
    };
    for path in [
        format!("/api/v1/help-requests/{placed}"),
        format!("/api/v1/help-requests/{placed}/timeline"),
        format!("/api/v1/residents/{}", w.resident),
        format!("/api/v1/communities/{}/residents", w.c),
        format!("/api/v1/communities/{}/reports/three-rates", w.c),
        format!("/api/v1/communities/{}/webhooks", w.c),
        format!("/api/v1/help-requests?community_id={}", w.c),
    ] {
        app.get(&path, &foreign).await.problem(404, "not_found");
    }
    let before = count(&w, "select count(*) from help_requests").await;
    app.post(
        "/api/v1/help-requests",
        &foreign,
        json!({"resident_id": w.resident, "service_type_id": w.service_type, "description": "x"}),
    )
    .await
    .expect(422);
    app.post(
        &format!("/api/v1/help-requests/{placed}/cancel"),
        &foreign,
        json!({"reason": "x"}),
    )
    .await
    .problem(404, "not_found");
    assert_eq!(
        count(&w, "select count(*) from help_requests").await,
        before
    );
    // Its own community's list is empty, not this one's.
    let own = app.get("/api/v1/help-requests", &foreign).await.expect(200);
    assert!(own.items().is_empty());
}

#[tokio::test]
async fn a_client_places_and_cancels_for_a_resident_and_the_record_names_it() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    let created = create_client(app, &w.c, &["requests:read", "requests:write"]).await;
    let client_id = created.id();
    let token = client_token(app, &created, None).await;
    let placed = w.place(&token, json!({})).await.expect(201);
    let id = placed.id();
    assert_eq!(placed.body["placed_as"], "third_party");
    assert_eq!(placed.body["channel"], "third_party");
    assert_eq!(placed.body["placed_by"], client_id.as_str());
    // Masked numbers, none of staff's details.
    assert_eq!(placed.body["resident"]["phone"], "138****5678");
    let timeline = app
        .get(&format!("/api/v1/help-requests/{id}/timeline"), &token)
        .await
        .expect(200);
    assert_eq!(timeline.items()[0]["kind"], "placed");
    assert_eq!(timeline.items()[0]["actor_id"], client_id.as_str());
    let listed = app.get("/api/v1/help-requests", &token).await.expect(200);
    assert_eq!(listed.item_ids(), vec![id.clone()]);

    // It cancels what it placed, not what staff placed.
    let staffs = w.place(&w.dispatcher, json!({})).await.expect(201).id();
    app.post(
        &format!("/api/v1/help-requests/{staffs}/cancel"),
        &token,
        json!({"reason": "不需要了"}),
    )
    .await
    .problem(403, "forbidden");
    assert_ne!(w.get(&staffs).await["status"], "cancelled");
    let cancelled = app
        .post(
            &format!("/api/v1/help-requests/{id}/cancel"),
            &token,
            json!({"reason": "居民已自行解决"}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    let timeline = app
        .get(&format!("/api/v1/help-requests/{id}/timeline"), &token)
        .await
        .expect(200);
    let last = timeline.items().last().cloned().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["actor_id"].as_str()),
        (Some("cancelled"), Some(client_id.as_str()))
    );
}

#[tokio::test]
async fn a_client_reads_residents_masked_and_never_reveals() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    let created = create_client(app, &w.c, &["residents:read"]).await;
    let token = client_token(app, &created, None).await;
    let one = app
        .get(&format!("/api/v1/residents/{}", w.resident), &token)
        .await
        .expect(200);
    assert_eq!(one.body["phone"], "138****5678");
    assert_eq!(one.body["revealed"], false);
    let list = app
        .get(&format!("/api/v1/communities/{}/residents", w.c), &token)
        .await
        .expect(200);
    assert_eq!(list.item_ids(), vec![w.resident.clone()]);
    assert!(!list.body.to_string().contains("13812345678"));
    let audits_before = count(&w, "select count(*) from audit_log").await;
    app.get(
        &format!("/api/v1/residents/{}?reveal=true&reason=核实", w.resident),
        &token,
    )
    .await
    .problem(403, "reveal_not_allowed");
    assert_eq!(
        count(&w, "select count(*) from audit_log").await,
        audits_before
    );
}

#[tokio::test]
async fn revocation_rotation_and_narrowed_scopes_take_effect_at_once() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    let created = create_client(app, &w.c, &["requests:read", "reports:read"]).await;
    let id = created.id();
    let path = "/api/v1/help-requests";
    let reports = format!("/api/v1/communities/{}/reports/three-rates", w.c);

    // A token asked for fewer scopes has only those.
    let narrow = client_token(app, &created, Some("requests:read")).await;
    app.get(path, &narrow).await.expect(200);
    insufficient(app.get(&reports, &narrow).await, "reports:read");

    // Scopes taken from the client are gone from its tokens.
    let token = client_token(app, &created, None).await;
    app.get(&reports, &token).await.expect(200);
    let got = app
        .get(&format!("/api/v1/clients/{id}"), &app.admin)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/clients/{id}"),
        &app.admin,
        &got.etag(),
        json!({"scopes": ["requests:read"]}),
    )
    .await
    .expect(200);
    insufficient(app.get(&reports, &token).await, "reports:read");
    app.get(path, &token).await.expect(200);

    // A rotation ends the tokens granted before it.
    let rotated = app
        .post(
            &format!("/api/v1/clients/{id}/rotate-secret"),
            &app.admin,
            json!({}),
        )
        .await
        .expect(200);
    app.get(path, &token).await.problem(401, "invalid_token");
    let fresh = client_token(app, &rotated, None).await;
    app.get(path, &fresh).await.expect(200);

    // A revocation ends every token.
    app.delete(&format!("/api/v1/clients/{id}"), &app.admin)
        .await
        .expect(204);
    app.get(path, &fresh).await.problem(401, "invalid_token");
}

#[tokio::test]
async fn a_client_over_its_rate_limit_gets_429_with_the_ratelimit_headers() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    let created = app
        .post(
            &format!("/api/v1/communities/{}/clients", w.c),
            &app.admin,
            json!({"name": "x", "scopes": ["requests:read"], "rate_per_minute": 1, "burst": 2}),
        )
        .await
        .expect(201);
    let token = client_token(app, &created, None).await;
    let first = app.get("/api/v1/help-requests", &token).await.expect(200);
    assert_eq!(first.header("ratelimit-limit"), Some("2"));
    assert_eq!(first.header("ratelimit-remaining"), Some("1"));
    assert_eq!(first.header("ratelimit-reset"), Some("60"));
    app.get("/api/v1/help-requests", &token).await.expect(200);
    let limited = app
        .get("/api/v1/help-requests", &token)
        .await
        .problem(429, "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header("ratelimit-limit"), Some("2"));
    // Limited even where the scope would refuse it, and people are never limited this way.
    app.get(
        &format!("/api/v1/communities/{}/reports/three-rates", w.c),
        &token,
    )
    .await
    .problem(429, "rate_limited");
    for _ in 0..5 {
        let r = app
            .get("/api/v1/help-requests", &w.dispatcher)
            .await
            .expect(200);
        assert!(r.header("ratelimit-limit").is_none());
    }
    // Another client has its own bucket.
    let other = create_client(app, &w.c, &["requests:read"]).await;
    let other = client_token(app, &other, None).await;
    app.send(
        app.req(Method::GET, "/api/v1/help-requests")
            .bearer_auth(&other),
    )
    .await
    .expect(200);
}

/// Default deny, over the whole contract: every operation that does not list
/// `clientCredentials` refuses a client's token (holding every scope) with 403
/// `client_not_allowed`; every one that does lets it past that check.
#[tokio::test]
async fn only_operations_that_name_a_scope_admit_a_client() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    let created = create_client(app, &w.c, &ALL_SCOPES).await;
    let token = client_token(app, &created, None).await;
    let spec = crate::spec::spec();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let security = op.get("security").or(spec.get("security")).unwrap();
            let schemes: Vec<&str> = security
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s.as_object().unwrap().keys().map(String::as_str))
                .collect();
            if !schemes.contains(&"bearerAuth") {
                continue;
            }
            let concrete: String = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        uuid::Uuid::now_v7().to_string()
                    } else {
                        seg.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .send(
                    app.req(m, &concrete)
                        .bearer_auth(&token)
                        .header("if-match", "\"1\"")
                        .json(&json!({})),
                )
                .await;
            if schemes.contains(&"clientCredentials") {
                assert_ne!(r.code(), "client_not_allowed", "{method} {path}");
            } else {
                assert_eq!(
                    (r.status, r.code()),
                    (403, "client_not_allowed"),
                    "{method} {path}: {}",
                    r.body
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}
