//! Integration clients over HTTP: managed by the community's admins and admins only, the secret
//! shown once and stored as a keyed hash, rotation and revocation ending secrets and tokens at
//! once, and a client's token refused wherever an endpoint does not name a scope.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, on_test_db, spawn_app};

pub const ALL_SCOPES: [&str; 6] = [
    "requests:read",
    "requests:write",
    "residents:read",
    "reports:read",
    "webhooks:manage",
    "open311",
];

/// Registers a client in `community` as the admin; the answer (with `client_secret`).
pub async fn create_client(app: &TestApp, community: &str, scopes: &[&str]) -> Resp {
    app.post(
        &format!("/api/v1/communities/{community}/clients"),
        &app.admin,
        json!({"name": "12345 热线", "scopes": scopes}),
    )
    .await
    .expect(201)
}

/// `POST /oauth/token` with a form body and, optionally, HTTP Basic credentials.
pub async fn token_request(
    app: &TestApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Resp {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut rb = app
        .req(Method::POST, "/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        rb = rb.basic_auth(id, Some(secret));
    }
    app.send(rb).await
}

/// A token for the client (`created`, the answer to its creation) with these scopes.
pub async fn client_token(app: &TestApp, created: &Resp, scope: Option<&str>) -> String {
    let id = created.body["client_id"].as_str().unwrap();
    let secret = created.body["client_secret"].as_str().unwrap();
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let r = token_request(app, &form, Some((id, secret)))
        .await
        .expect(200);
    r.body["access_token"].as_str().unwrap().to_string()
}

async fn count_clients(app: &TestApp) -> i64 {
    on_test_db!(app, p => sqlx::query_scalar::<_, i64>("select count(*) from integration_clients")
        .fetch_one(p).await)
    .unwrap()
}

#[tokio::test]
async fn a_community_admin_registers_a_client_whose_secret_is_shown_once() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (_, manager) = app.user("community_admin", Some(&c)).await;
    let created = app
        .post(
            &format!("/api/v1/communities/{c}/clients"),
            &manager,
            json!({"name": "物业公司", "scopes": ["requests:write", "requests:read", "requests:read"],
                   "rate_per_minute": 120, "burst": 10}),
        )
        .await
        .expect(201);
    let id = created.id();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/clients/{id}").as_str())
    );
    assert_eq!(created.body["client_id"], id.as_str());
    assert_eq!(
        created.body["scopes"],
        json!(["requests:read", "requests:write"])
    );
    assert_eq!(created.body["active"], true);
    let secret = created.body["client_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("hyc_") && secret.len() == 47, "{secret}");

    // Stored as its keyed hash, nowhere in plain.
    let uid = uuid::Uuid::parse_str(&id).unwrap();
    let stored: String = on_test_db!(app, p => sqlx::query_scalar(
        "select secret_hash from integration_clients where id = $1").bind(uid).fetch_one(p).await)
    .unwrap();
    assert_eq!(stored, app.state.vault.client_secret_hash(&secret));
    assert!(!stored.contains(&secret[4..]));

    // Never shown again.
    let path = format!("/api/v1/clients/{id}");
    let got = app.get(&path, &manager).await.expect(200);
    let listed = app
        .get(&format!("/api/v1/communities/{c}/clients"), &manager)
        .await
        .expect(200);
    assert_eq!(listed.item_ids(), vec![id.clone()]);
    for body in [&got.body, &listed.body] {
        assert!(!body.to_string().contains(&secret[4..]), "{body}");
    }

    // Changed by merge patch; scopes parsed, rate limits bounded.
    let patched = app
        .patch(
            &path,
            &manager,
            &got.etag(),
            json!({"scopes": ["reports:read"], "name": "物业"}),
        )
        .await
        .expect(200);
    assert_eq!(patched.body["scopes"], json!(["reports:read"]));
    assert_eq!(patched.body["rate_per_minute"], 120);
    app.patch(&path, &manager, &got.etag(), json!({"name": "x"}))
        .await
        .problem(412, "stale_version");

    // The audit log names who made it.
    let log = app
        .get(
            &format!("/api/v1/communities/{c}/audit-log?object_id={id}"),
            &manager,
        )
        .await
        .expect(200);
    assert_eq!(log.items()[0]["action"], "client.created");
}

#[tokio::test]
async fn bad_clients_are_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let path = format!("/api/v1/communities/{c}/clients");
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (
            json!({"name": "x", "scopes": ["requests:read", "admin"]}),
            vec![("scopes", "unknown_scope")],
        ),
        (
            json!({"name": "x", "scopes": []}),
            vec![("scopes", "required")],
        ),
        (
            json!({"name": " ", "scopes": ["open311"]}),
            vec![("name", "required")],
        ),
        (
            json!({"name": "x".repeat(65), "scopes": ["open311"]}),
            vec![("name", "too_long")],
        ),
        (
            json!({"name": "x", "scopes": ["open311"], "rate_per_minute": 0, "burst": 10001}),
            vec![
                ("rate_per_minute", "out_of_range"),
                ("burst", "out_of_range"),
            ],
        ),
        (
            json!({"name": "x", "scopes": "open311"}),
            vec![("scopes", "invalid_value")],
        ),
        (
            json!({"name": "x", "scopes": ["open311"], "secret": "mine"}),
            vec![("secret", "unknown_field")],
        ),
    ];
    for (body, expected) in cases {
        let r = app.post(&path, &app.admin, body.clone()).await.expect(422);
        let got = r.field_codes();
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, expected, "{body}");
    }
    assert_eq!(count_clients(&app).await, 0);
}

#[tokio::test]
async fn only_the_communitys_admins_and_admins_manage_its_clients() {
    let app = spawn_app().await;
    let (c, other) = (
        app.community("电力社区").await,
        app.community("别的社区").await,
    );
    let (_, foreign_manager) = app.user("community_admin", Some(&other)).await;
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let (_, volunteer) = app.user("volunteer", Some(&c)).await;
    let (_, resident) = app.user("resident", Some(&c)).await;
    let created = create_client(&app, &c, &["requests:read"]).await;
    let id = created.id();
    let etag = created.etag();
    let token = client_token(&app, &created, None).await;
    let list = format!("/api/v1/communities/{c}/clients");
    let one = format!("/api/v1/clients/{id}");
    let rotate = format!("{one}/rotate-secret");
    for (who, status) in [
        (&foreign_manager, 404),
        (&dispatcher, 403),
        (&volunteer, 403),
        (&resident, 403),
        (&token, 403),
    ] {
        let statuses = [
            app.post(&list, who, json!({"name": "x", "scopes": ["open311"]}))
                .await
                .status,
            app.get(&list, who).await.status,
            app.get(&one, who).await.status,
            app.patch(&one, who, &etag, json!({"name": "y"}))
                .await
                .status,
            app.post(&rotate, who, json!({})).await.status,
            app.delete(&one, who).await.status,
        ];
        assert_eq!(statuses, [status; 6]);
    }
    // Nothing changed: one client, its first version, its secret still good.
    assert_eq!(count_clients(&app).await, 1);
    let got = app.get(&one, &app.admin).await.expect(200);
    assert_eq!(
        (got.etag(), got.body["active"].clone()),
        (etag, json!(true))
    );
    client_token(&app, &created, None).await;
}

#[tokio::test]
async fn a_client_token_is_refused_on_endpoints_that_name_no_scope() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let created = create_client(&app, &c, &ALL_SCOPES).await;
    let token = client_token(&app, &created, None).await;
    for path in [
        "/api/v1/me".to_string(),
        format!("/api/v1/communities/{c}"),
        format!("/api/v1/communities/{c}/audit-log"),
        format!("/api/v1/communities/{c}/volunteers"),
        "/api/v1/users".to_string(),
        "/api/v1/me/notifications".to_string(),
    ] {
        app.get(&path, &token)
            .await
            .problem(403, "client_not_allowed");
    }
    app.post(
        "/api/v1/communities",
        &token,
        json!({"code": "x1", "name": "x"}),
    )
    .await
    .problem(403, "client_not_allowed");
    // Its account cannot sign in as a person either, and no person is made a client by a role.
    let login = format!("client:{}", &created.id().replace('-', "")[..25]);
    app.login_resp(&login, "!")
        .await
        .problem(401, "invalid_credentials");
    let (user, _) = app.user("volunteer", Some(&c)).await;
    let r = app
        .post(
            &format!("/api/v1/users/{user}/roles"),
            &app.admin,
            json!({"role": "integration", "community_id": c}),
        )
        .await
        .expect(422);
    assert_eq!(
        r.field_codes(),
        vec![("role".to_string(), "not_allowed".to_string())]
    );
    let r = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"username": "partner-x", "display_name": "x", "password": "a-long-enough-pass-2026",
                   "roles": [{"role": "integration", "community_id": c}]}),
        )
        .await
        .expect(422);
    assert_eq!(
        r.field_codes(),
        vec![("roles[0].role".to_string(), "not_allowed".to_string())]
    );
}

#[tokio::test]
async fn rotation_ends_the_old_secret_and_its_tokens_and_revocation_ends_everything() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let created = create_client(&app, &c, &["requests:read"]).await;
    let id = created.id();
    let old_secret = created.body["client_secret"].as_str().unwrap().to_string();

    let rotated = app
        .post(
            &format!("/api/v1/clients/{id}/rotate-secret"),
            &app.admin,
            json!({}),
        )
        .await
        .expect(200);
    let new_secret = rotated.body["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, old_secret);
    assert!(rotated.body["rotated_at"].is_string());
    let form = [("grant_type", "client_credentials")];
    let r = token_request(&app, &form, Some((&id, &old_secret))).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    client_token(&app, &rotated, None).await;

    app.delete(&format!("/api/v1/clients/{id}"), &app.admin)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/clients/{id}"), &app.admin)
        .await
        .expect(204);
    let r = token_request(&app, &form, Some((&id, &new_secret))).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let got = app
        .get(&format!("/api/v1/clients/{id}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(got.body["active"], false);
    assert!(got.body["revoked_at"].is_string());
    app.post(
        &format!("/api/v1/clients/{id}/rotate-secret"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "client_revoked");
    app.patch(
        &format!("/api/v1/clients/{id}"),
        &app.admin,
        &got.etag(),
        json!({"name": "y"}),
    )
    .await
    .problem(409, "client_revoked");
    let listed = app
        .get(&format!("/api/v1/communities/{c}/clients"), &app.admin)
        .await
        .expect(200);
    assert!(listed.items().is_empty());
    let listed = app
        .get(
            &format!("/api/v1/communities/{c}/clients?include_revoked=true"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(listed.item_ids(), vec![id.clone()]);
    let log = app
        .get(
            &format!("/api/v1/communities/{c}/audit-log?object_id={id}"),
            &app.admin,
        )
        .await
        .expect(200);
    let actions: Vec<String> = log
        .items()
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        ["client.created", "client.secret_rotated", "client.revoked"]
    );
}

#[tokio::test]
async fn a_retry_of_the_creation_does_not_show_the_secret_again() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let path = format!("/api/v1/communities/{c}/clients");
    let send = || {
        app.send(
            app.req(Method::POST, &path)
                .bearer_auth(&app.admin)
                .header("idempotency-key", "client-create-1")
                .json(&json!({"name": "x", "scopes": ["open311"]})),
        )
    };
    let first = send().await.expect(201);
    let again = send().await.expect(201);
    assert!(first.body["client_secret"].is_string());
    assert_eq!(again.body["id"], first.body["id"]);
    assert!(again.body.get("client_secret").is_none(), "{}", again.body);
    assert_eq!(count_clients(&app).await, 1);
}
