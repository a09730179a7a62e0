//! Registering webhooks: who may, the secret shown once, versions, and every kind of bad input
//! refused with nothing stored.

use reqwest::Method;
use serde_json::{Value, json};

use crate::webhook_receiver::{Site, site};

fn hooks_path(s: &Site) -> String {
    format!("/api/v1/communities/{}/webhooks", s.c)
}

async fn listed(s: &Site) -> Vec<Value> {
    s.app
        .get(&hooks_path(s), &s.admin)
        .await
        .expect(200)
        .items()
}

#[tokio::test]
async fn a_community_admin_registers_reads_updates_and_deletes_a_webhook_and_sees_the_secret_once()
{
    let s = site(|_| {}).await;
    let created = s
        .app
        .post(
            &hooks_path(&s),
            &s.admin,
            json!({"url": "https://hooks.example.org/in", "event_kinds": ["help_request.*", "visit.missed", "visit.missed"]}),
        )
        .await
        .expect(201);
    let id = created.id();
    let secret = created.body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/webhooks/{id}").as_str())
    );
    assert_eq!(created.etag(), "\"1\"");
    assert_eq!(
        created.body["event_kinds"],
        json!(["help_request.*", "visit.missed"])
    );
    assert_eq!(created.body["active"], true);

    let read = s
        .app
        .get(&format!("/api/v1/webhooks/{id}"), &s.admin)
        .await
        .expect(200);
    assert!(read.body.get("secret").is_none(), "never shown again");
    assert!(listed(&s).await.iter().all(|w| w.get("secret").is_none()));
    // Kept encrypted, never as given.
    let stored = s
        .app
        .scalar(
            "select count(*) from webhooks where id = $1 and length(secret) > 40",
            &id,
        )
        .await;
    assert_eq!(stored, 1);

    let path = format!("/api/v1/webhooks/{id}");
    let changed = s
        .app
        .patch(
            &path,
            &s.admin,
            "\"1\"",
            json!({"event_kinds": ["*"], "description": "物业系统"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.etag(), "\"2\"");
    assert_eq!(changed.body["event_kinds"], json!(["*"]));
    assert_eq!(changed.body["url"], "https://hooks.example.org/in");
    // The deployment admin may too.
    s.app
        .patch(&path, &s.app.admin, "\"2\"", json!({"description": null}))
        .await
        .expect(200);
    s.app.delete(&path, &s.admin).await.expect(204);
    s.app.get(&path, &s.admin).await.problem(404, "not_found");
    assert!(listed(&s).await.is_empty());
}

#[tokio::test]
async fn a_retried_registration_is_answered_again_without_the_secret() {
    let s = site(|_| {}).await;
    let send = || {
        s.app.send(
            s.app
                .req(Method::POST, &hooks_path(&s))
                .bearer_auth(&s.admin)
                .header("idempotency-key", "hook-1")
                .json(&json!({"url": "https://hooks.example.org/in", "event_kinds": ["*"]})),
        )
    };
    let first = send().await.expect(201);
    assert!(first.body["secret"].is_string());
    let again = send().await.expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.id(), first.id());
    assert!(again.body.get("secret").is_none());
    // The replayed answer is the stored one: the secret was not kept.
    assert_eq!(listed(&s).await.len(), 1);
}

#[tokio::test]
async fn only_the_communitys_admins_and_admins_reach_its_webhooks() {
    let s = site(|_| {}).await;
    let id = s.webhook("https://hooks.example.org/in", &["*"]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let app = &s.app;
    let (_, dispatcher) = app.user("dispatcher", Some(&s.c)).await;
    let other_c = app.community("另一个社区").await;
    let (_, other_admin) = app.user("community_admin", Some(&other_c)).await;
    let d = format!(
        "/api/v1/webhooks/{id}/deliveries/{}/retry",
        uuid::Uuid::now_v7()
    );
    for (token, status, code) in [
        (&dispatcher, 403, "forbidden"),
        (&other_admin, 404, "not_found"),
    ] {
        app.get(&hooks_path(&s), token).await.problem(status, code);
        app.post(
            &hooks_path(&s),
            token,
            json!({"url": "https://a.example.org/", "event_kinds": ["*"]}),
        )
        .await
        .problem(status, code);
        let path = format!("/api/v1/webhooks/{id}");
        app.get(&path, token).await.problem(status, code);
        app.patch(&path, token, "\"1\"", json!({"active": false}))
            .await
            .problem(status, code);
        app.delete(&path, token).await.problem(status, code);
        app.get(&format!("{path}/deliveries"), token)
            .await
            .problem(status, code);
        app.post(&d, token, json!({})).await.problem(status, code);
        app.post(
            &format!("{path}/replay"),
            token,
            json!({"since": "2026-01-01T00:00:00Z"}),
        )
        .await
        .problem(status, code);
    }
    // Nothing changed.
    let w = s.webhook_now(&id).await;
    assert_eq!((&w["version"], &w["active"]), (&json!(1), &json!(true)));
    assert_eq!(listed(&s).await.len(), 1);
    // A delivery that is not this webhook's does not exist.
    app.post(&d, &s.admin, json!({}))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn bad_urls_private_addresses_and_unknown_kinds_are_refused_and_nothing_is_stored() {
    let s = site(|c| {
        c.webhook_allow_private = false;
        c.webhook_allow_http = false;
    })
    .await;
    let app = &s.app;
    let hooks = hooks_path(&s);
    let post = |body: Value| app.post(&hooks, &s.admin, body);
    for (url, code) in [
        ("", "required"),
        ("not a url", "invalid_value"),
        ("http://hooks.example.org/in", "invalid_value"),
        ("ftp://hooks.example.org/in", "invalid_value"),
        ("https://user:pw@hooks.example.org/in", "invalid_value"),
    ] {
        let r = post(json!({"url": url, "event_kinds": ["*"]}))
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            [("url".to_string(), code.to_string())],
            "{url}"
        );
    }
    for url in [
        "https://127.0.0.1/in",
        "https://10.0.0.7:8443/in",
        "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/in",
        "https://[::ffff:127.0.0.1]/in",
        "https://[fd00::1]/in",
        "https://[fe80::1]/in",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://localhost/in",
        "https://localhost:9000/in",
    ] {
        post(json!({"url": url, "event_kinds": ["*"]}))
            .await
            .problem(422, "webhook_url_not_allowed");
    }
    let r = post(json!({"url": "https://8.8.8.8/in", "event_kinds": ["help_request.nope", "visit.*", "nope.*", "*"]}))
        .await
        .problem(422, "validation_failed");
    let expected = [
        ("event_kinds[0]".to_string(), "unknown_value".to_string()),
        ("event_kinds[2]".to_string(), "unknown_value".to_string()),
    ];
    assert_eq!(r.field_codes(), expected);
    let r = post(json!({"url": "https://8.8.8.8/in", "event_kinds": []})).await;
    assert_eq!(
        r.field_codes(),
        [("event_kinds".to_string(), "required".to_string())]
    );
    let r =
        post(json!({"url": "https://8.8.8.8/in", "event_kinds": ["*"], "secret": "mine"})).await;
    assert_eq!(
        r.field_codes(),
        [("secret".to_string(), "unknown_field".to_string())]
    );
    assert!(listed(&s).await.is_empty(), "nothing stored");

    // An update is checked the same way, and needs the current version.
    let id = s.webhook("https://8.8.8.8/in", &["*"]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/webhooks/{id}");
    app.patch(
        &path,
        &s.admin,
        "\"1\"",
        json!({"url": "https://127.0.0.1/"}),
    )
    .await
    .problem(422, "webhook_url_not_allowed");
    app.patch(
        &path,
        &s.admin,
        "\"1\"",
        json!({"event_kinds": ["visit.nope"]}),
    )
    .await
    .problem(422, "validation_failed");
    app.patch(&path, &s.admin, "\"7\"", json!({"active": false}))
        .await
        .problem(412, "stale_version");
    app.send(
        app.req(Method::PATCH, &path)
            .bearer_auth(&s.admin)
            .json(&json!({"active": false})),
    )
    .await
    .problem(428, "precondition_required");
    app.send(
        app.req(Method::DELETE, &path)
            .bearer_auth(&s.admin)
            .header("if-match", "\"5\""),
    )
    .await
    .problem(412, "stale_version");
    let w = s.webhook_now(&id).await;
    assert_eq!(
        (&w["url"], &w["version"], &w["active"]),
        (&json!("https://8.8.8.8/in"), &json!(1), &json!(true))
    );

    // Lists and replays with bad parameters.
    app.get(&format!("{path}/deliveries?status=lost"), &s.admin)
        .await
        .problem(422, "validation_failed");
    app.post(
        &format!("{path}/replay"),
        &s.admin,
        json!({"since": "1900-01-01T00:00:00Z"}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        &format!("{path}/replay"),
        &s.admin,
        json!({"since": "yesterday"}),
    )
    .await
    .problem(422, "validation_failed");
    // A webhook that is off is turned on before it is replayed.
    app.patch(&path, &s.admin, "\"1\"", json!({"active": false}))
        .await
        .expect(200);
    app.post(
        &format!("{path}/replay"),
        &s.admin,
        json!({"since": "2026-01-01T00:00:00Z"}),
    )
    .await
    .problem(409, "webhook_inactive");
}
