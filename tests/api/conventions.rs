//! DESIGN §8: problem documents, languages, idempotency, body limits, request ids, health.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_readiness_metrics_and_the_spec_are_served() {
    let app = spawn_app().await;
    assert_eq!(
        app.send(app.req(Method::GET, "/healthz"))
            .await
            .expect(200)
            .body["status"],
        "ok"
    );
    let ready = app.send(app.req(Method::GET, "/readyz")).await.expect(200);
    assert_eq!(ready.body["database"], app.state.db.backend());
    app.get("/api/v1/me", &app.admin).await.expect(200);
    let m = app.text("/metrics").await;
    assert!(
        m.contains(
            "huying_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"}"
        ),
        "{m}"
    );
    let spec = app.text("/openapi.yaml").await;
    assert!(
        spec.lines().any(|l| l.starts_with("openapi: 3.1")),
        "{}",
        &spec[..100]
    );
}

#[tokio::test]
async fn errors_are_problem_documents_in_the_callers_language() {
    let app = spawn_app().await;
    let zh = app
        .send(
            app.req(Method::GET, "/api/v1/me")
                .header("accept-language", "zh-CN,zh;q=0.9"),
        )
        .await
        .problem(401, "missing_token");
    assert_eq!(zh.body["message"], "需要登录。");
    assert_eq!(zh.header("content-language"), Some("zh-CN"));
    let en = app
        .send(
            app.req(Method::GET, "/api/v1/me")
                .header("accept-language", "en-GB"),
        )
        .await
        .problem(401, "missing_token");
    assert_eq!(en.body["message"], "Authentication is required.");
    assert_eq!(en.body["request_id"].as_str(), en.header("x-request-id"));
    let c = app.community("甲").await;
    let r = app
        .send(
            app.req(Method::POST, &format!("/api/v1/communities/{c}/residents"))
                .bearer_auth(&app.admin)
                .header("accept-language", "zh")
                .json(&json!({"name": "", "phone": "1"})),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["message"], "此字段为必填项。");
    assert_eq!(r.body["errors"][1]["message"], "电话号码无效。");
}

#[tokio::test]
async fn malformed_wrong_type_oversized_and_misrouted_requests_are_4xx_problems() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let path = format!("/api/v1/communities/{c}/residents");
    let raw = |body: &'static str, ct: &'static str| {
        app.req(Method::POST, &path)
            .bearer_auth(&app.admin)
            .header("content-type", ct)
            .body(body)
    };
    app.send(raw("{\"name\": ", "application/json"))
        .await
        .problem(400, "malformed_json");
    app.send(raw("{\"name\": \"x\"} extra", "application/json"))
        .await
        .problem(400, "malformed_json");
    app.send(raw("name=x", "application/x-www-form-urlencoded"))
        .await
        .problem(415, "unsupported_media_type");
    app.send(raw("[]", "application/json"))
        .await
        .problem(422, "validation_failed");
    let huge = format!("{{\"name\": \"{}\"}}", "孙".repeat(40_000));
    app.send(
        app.req(Method::POST, &path)
            .bearer_auth(&app.admin)
            .header("content-type", "application/json")
            .body(huge),
    )
    .await
    .problem(413, "payload_too_large");
    app.get("/api/v1/residents/not-a-uuid", &app.admin)
        .await
        .problem(400, "invalid_path");
    app.get(
        &format!("/api/v1/residents/{}", uuid::Uuid::now_v7()),
        &app.admin,
    )
    .await
    .problem(404, "not_found");
    let nowhere = app
        .client
        .get(format!("{}/api/v1/nowhere", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 404);
    assert!(
        nowhere.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let put = app
        .client
        .put(format!("{}/api/v1/me", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
    let body: serde_json::Value = put.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    assert!(
        app.get(&path, &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty(),
        "nothing written"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = spawn_app().await;
    let r = app
        .send(
            app.req(Method::GET, "/healthz")
                .header("x-request-id", "abc-123"),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let r = app
        .send(
            app.req(Method::GET, "/healthz")
                .header("x-request-id", "bad id with spaces"),
        )
        .await;
    assert_ne!(r.header("x-request-id"), Some("bad id with spaces"));
    assert_eq!(r.header("x-request-id").unwrap().len(), 36);
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_response_and_create_nothing_twice() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let path = format!("/api/v1/communities/{c}/residents");
    let send = |key: &'static str, name: &'static str| {
        app.send(
            app.req(Method::POST, &path)
                .bearer_auth(&app.admin)
                .header("idempotency-key", key)
                .json(&json!({"name": name})),
        )
    };
    let first = send("k-1", "孙大娘").await.expect(201);
    let again = send("k-1", "孙大娘").await.expect(201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.header("etag"),
        first.header("etag"),
        "the replay can be updated like the original"
    );
    send("k-1", "李大爷")
        .await
        .problem(422, "idempotency_key_reused");
    send("k-2", "李大爷").await.expect(201);
    assert_eq!(
        app.get(&path, &app.admin).await.expect(200).items().len(),
        2
    );
    // Keys belong to the user who sent them.
    let (_, other) = app.user("community_admin", Some(&c)).await;
    let theirs = app
        .send(
            app.req(Method::POST, &path)
                .bearer_auth(&other)
                .header("idempotency-key", "k-1")
                .json(&json!({"name": "王奶奶"})),
        )
        .await
        .expect(201);
    assert_ne!(theirs.id(), first.id());
    // A failed request stores its answer too: retrying gives the same 422.
    let bad = send("k-3", "").await.problem(422, "validation_failed");
    let bad_again = send("k-3", "").await.problem(422, "validation_failed");
    assert_eq!(bad.body["errors"], bad_again.body["errors"]);
}

#[tokio::test]
async fn every_update_and_deactivation_refuses_stale_missing_and_malformed_preconditions() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let (u, _) = app.user("volunteer", Some(&c)).await;
    let g = app.grid(&c, "第一网格", &[]).await;
    let r = app
        .resident(&c, json!({"name": "孙大娘"}))
        .await
        .expect(201)
        .id();
    let v = app.volunteer(&c, &u, json!({})).await.expect(201).id();
    let t = app.team(&c, "队", &[]).await;
    let s = app.service_type(&c, "repairs", "维修", &[]).await;
    let objects = [
        format!("/api/v1/users/{u}"),
        format!("/api/v1/communities/{c}"),
        format!("/api/v1/grids/{g}"),
        format!("/api/v1/residents/{r}"),
        format!("/api/v1/volunteers/{v}"),
        format!("/api/v1/teams/{t}"),
        format!("/api/v1/service-types/{s}"),
    ];
    let admin = &app.admin;
    for path in &objects {
        let current = app.get(path, admin).await.expect(200);
        let version = current.body["version"].as_i64().unwrap();
        let stale = format!("\"{}\"", version + 7);
        app.patch(path, admin, &stale, json!({}))
            .await
            .problem(412, "stale_version");
        let missing = app
            .req(Method::PATCH, path)
            .bearer_auth(admin)
            .json(&json!({}));
        app.send(missing)
            .await
            .problem(428, "precondition_required");
        let broken = app
            .req(Method::PATCH, path)
            .bearer_auth(admin)
            .header("if-match", current.etag())
            .header("content-type", "application/json")
            .body("{");
        app.send(broken).await.problem(400, "malformed_json");
        app.patch(path, admin, &current.etag(), json!(["not", "an", "object"]))
            .await
            .problem(422, "validation_failed");
        let unknown = app
            .patch(path, admin, &current.etag(), json!({"no_such_field": 1}))
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            unknown.field_codes(),
            [("no_such_field".into(), "unknown_field".into())],
            "{path}"
        );
        let after = app.get(path, admin).await.expect(200);
        assert_eq!(
            after.body["version"].as_i64(),
            Some(version),
            "{path}: nothing written"
        );
        if !path.starts_with("/api/v1/users/") {
            let stale_delete = app
                .req(Method::DELETE, path)
                .bearer_auth(admin)
                .header("if-match", stale);
            app.send(stale_delete).await.problem(412, "stale_version");
            let gone = path.rsplit_once('/').unwrap().0.to_string()
                + "/"
                + &uuid::Uuid::now_v7().to_string();
            app.delete(&gone, admin).await.problem(404, "not_found");
        }
    }
}

#[tokio::test]
async fn auth_endpoints_refuse_malformed_bodies() {
    let app = spawn_app().await;
    let post = |path: &'static str, ct: &'static str, body: &'static str| {
        app.req(Method::POST, path)
            .header("content-type", ct)
            .body(body)
    };
    app.send(post("/api/v1/auth/refresh", "application/json", "{}"))
        .await
        .problem(422, "validation_failed");
    app.send(post("/api/v1/auth/logout", "text/plain", "token"))
        .await
        .problem(415, "unsupported_media_type");
    app.send(post(
        "/api/v1/auth/login",
        "application/json",
        "{\"login\": \"admin\", \"password\": 1}",
    ))
    .await
    .problem(422, "validation_failed");
    app.send(post("/api/v1/auth/login", "application/json", "not json"))
        .await
        .problem(400, "malformed_json");
    let long = "x".repeat(65);
    app.login_resp(&long, "whatever-password")
        .await
        .problem(401, "invalid_credentials");
}
