use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, PASSWORD, spawn_app, spawn_with};

#[tokio::test]
async fn login_returns_tokens_and_me_shows_the_roles() {
    let app = spawn_app().await;
    let r = app.login_resp("admin", ADMIN_PASSWORD).await.expect(200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    let me = app
        .get("/api/v1/me", r.body["access_token"].as_str().unwrap())
        .await
        .expect(200);
    assert_eq!(me.body["username"], "admin");
    assert_eq!(me.body["roles"][0]["role"], "admin");
    assert!(me.body.get("password_hash").is_none());
}

#[tokio::test]
async fn wrong_password_and_unknown_login_look_the_same() {
    let app = spawn_app().await;
    app.login_resp("admin", "wrong-password")
        .await
        .problem(401, "invalid_credentials");
    app.login_resp("nobody", "wrong-password")
        .await
        .problem(401, "invalid_credentials");
    let r = app
        .send(
            app.req(Method::POST, "/api/v1/auth/login")
                .json(&json!({"login": "admin"})),
        )
        .await;
    assert_eq!(
        r.problem(422, "validation_failed").field_codes(),
        [("password".into(), "required".into())]
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.login_resp("admin", "wrong-password")
            .await
            .problem(401, "invalid_credentials");
    }
    let r = app
        .login_resp("admin", ADMIN_PASSWORD)
        .await
        .problem(429, "too_many_attempts");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "retry-after {retry}");
    // Another account from the same address is not locked by this one.
    let (_, _) = app
        .user("dispatcher", Some(&app.community("甲").await))
        .await;
}

#[tokio::test]
async fn too_many_failures_from_one_address_are_throttled_across_accounts() {
    let app = spawn_with(|c| c.login_max_failures_per_address = 3).await;
    for name in ["a1", "a2", "a3"] {
        app.login_resp(name, "wrong-password")
            .await
            .problem(401, "invalid_credentials");
    }
    app.login_resp("admin", ADMIN_PASSWORD)
        .await
        .problem(429, "too_many_attempts");
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = spawn_app().await;
    let first = app.login_resp("admin", ADMIN_PASSWORD).await.expect(200);
    let rt1 = first.body["refresh_token"].as_str().unwrap().to_string();
    let refresh = |t: String| {
        app.send(
            app.req(Method::POST, "/api/v1/auth/refresh")
                .json(&json!({"refresh_token": t})),
        )
    };
    let second = refresh(rt1.clone()).await.expect(200);
    let rt2 = second.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    app.get("/api/v1/me", second.body["access_token"].as_str().unwrap())
        .await
        .expect(200);
    // The old token again: theft is assumed and the whole family dies, rt2 included.
    refresh(rt1).await.problem(401, "refresh_token_reused");
    refresh(rt2).await.problem(401, "refresh_token_reused");
    refresh("made-up".into())
        .await
        .problem(401, "invalid_refresh_token");
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let r = app.login_resp("admin", ADMIN_PASSWORD).await.expect(200);
    let rt = r.body["refresh_token"].as_str().unwrap();
    app.send(
        app.req(Method::POST, "/api/v1/auth/logout")
            .json(&json!({"refresh_token": rt})),
    )
    .await
    .expect(204);
    app.send(
        app.req(Method::POST, "/api/v1/auth/refresh")
            .json(&json!({"refresh_token": rt})),
    )
    .await
    .problem(401, "refresh_token_reused");
}

fn forge(header: serde_json::Value, claims: serde_json::Value, sig: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        sig
    )
}

#[tokio::test]
async fn bad_tokens_are_rejected_with_401() {
    let app = spawn_app().await;
    let good = app.admin.clone();
    let payload: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(good.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let sign = |claims: serde_json::Value, secret: &[u8]| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap()
    };
    let key = app.state.vault.jwt_key().to_vec();
    let cases = [
        (
            "alg none",
            forge(json!({"alg": "none", "typ": "JWT"}), payload.clone(), ""),
        ),
        (
            "HS512",
            forge(
                json!({"alg": "HS512", "typ": "JWT"}),
                payload.clone(),
                good.split('.').nth(2).unwrap(),
            ),
        ),
        ("bad signature", format!("{}x", &good[..good.len() - 1])),
        (
            "other key",
            sign(payload.clone(), b"some other secret of enough length"),
        ),
        (
            "expired",
            sign(
                json!({"sub": payload["sub"], "iss": "huying", "aud": "huying-api", "iat": now - 7200, "exp": now - 3600, "jti": payload["jti"]}),
                &key,
            ),
        ),
        (
            "wrong audience",
            sign(
                json!({"sub": payload["sub"], "iss": "huying", "aud": "other", "iat": now, "exp": now + 600, "jti": payload["jti"]}),
                &key,
            ),
        ),
        (
            "wrong issuer",
            sign(
                json!({"sub": payload["sub"], "iss": "evil", "aud": "huying-api", "iat": now, "exp": now + 600, "jti": payload["jti"]}),
                &key,
            ),
        ),
        ("garbage", "not-a-jwt".to_string()),
    ];
    for (what, token) in cases {
        let r = app.get("/api/v1/me", &token).await;
        assert_eq!((r.status, r.code()), (401, "invalid_token"), "{what}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{what}");
    }
    // The genuine one, re-signed with the real key, still works: the cases above fail for their reason.
    app.get("/api/v1/me", &sign(payload, &key))
        .await
        .expect(200);
    app.send(app.req(Method::GET, "/api/v1/me"))
        .await
        .problem(401, "missing_token");
}

#[tokio::test]
async fn a_disabled_user_loses_access_at_once() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (uid, token) = app.user("dispatcher", Some(&c)).await;
    let u = app
        .get(&format!("/api/v1/users/{uid}"), &app.admin)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/users/{uid}"),
        &app.admin,
        &u.etag(),
        json!({"active": false}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", &token)
        .await
        .problem(401, "user_disabled");
    let username = u.body["username"].as_str().unwrap();
    app.login_resp(username, PASSWORD)
        .await
        .problem(401, "user_disabled");
}

#[tokio::test]
async fn users_are_created_with_roles_and_validated_field_by_field() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let r = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"phone": "+86 139 0000 1234", "display_name": "王网格", "password": "long-enough-1",
                   "roles": [{"role": "grid_worker", "community_id": c}]}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["phone"], "13900001234");
    assert_eq!(r.body["roles"][0]["role"], "grid_worker");
    // Phone numbers log in as written by people.
    app.login("139-0000-1234", "long-enough-1").await;
    let bad = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"phone": "12345", "display_name": "", "password": "short", "roles": [{"role": "mayor", "community_id": c}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [
            ("phone".into(), "invalid_phone".into()),
            ("display_name".into(), "required".into()),
            ("password".into(), "weak_password".into()),
            ("roles[0].role".into(), "unknown_value".into())
        ]
    );
    app.post(
        "/api/v1/users",
        &app.admin,
        json!({"phone": "13900001234", "display_name": "重复", "password": "long-enough-1"}),
    )
    .await
    .problem(409, "duplicate");
    let list = app
        .get("/api/v1/users?limit=200", &app.admin)
        .await
        .expect(200);
    assert_eq!(
        list.items().len(),
        2,
        "admin and the one user: nothing half-written"
    );
}

#[tokio::test]
async fn community_admins_manage_their_community_roles_only() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (_, ca) = app.user("community_admin", Some(&a)).await;
    let r = app
        .post("/api/v1/users", &ca, json!({"username": "disp1", "display_name": "调度员", "password": PASSWORD, "roles": [{"role": "dispatcher", "community_id": a}]}))
        .await
        .expect(201);
    let uid = r.id();
    for (role, community, status) in [
        ("community_admin", Some(&a), 403),
        ("admin", None, 403),
        ("dispatcher", Some(&b), 404),
    ] {
        let r = app
            .post(
                &format!("/api/v1/users/{uid}/roles"),
                &ca,
                json!({"role": role, "community_id": community}),
            )
            .await;
        assert_eq!(r.status, status, "{role}: {}", r.body);
    }
    let g = app
        .post(
            &format!("/api/v1/users/{uid}/roles"),
            &ca,
            json!({"role": "volunteer", "community_id": a}),
        )
        .await
        .expect(201);
    app.post(
        &format!("/api/v1/users/{uid}/roles"),
        &ca,
        json!({"role": "volunteer", "community_id": a}),
    )
    .await
    .problem(409, "role_already_granted");
    let gid = g.body["id"].as_str().unwrap();
    let (other, _) = app.user("volunteer", Some(&a)).await;
    app.delete(&format!("/api/v1/users/{other}/roles/{gid}"), &ca)
        .await
        .problem(404, "not_found");
    app.delete(&format!("/api/v1/users/{uid}/roles/{gid}"), &ca)
        .await
        .expect(204);
    let u = app
        .get(&format!("/api/v1/users/{uid}"), &ca)
        .await
        .expect(200);
    assert_eq!(u.body["roles"].as_array().unwrap().len(), 1);
    // Lists are per community, and another community's are not theirs.
    let list = app
        .get(&format!("/api/v1/users?community_id={a}"), &ca)
        .await
        .expect(200);
    assert!(list.item_ids().contains(&uid));
    let listed = list
        .items()
        .into_iter()
        .find(|i| i["id"] == uid.as_str())
        .unwrap();
    assert_eq!(
        listed["roles"], u.body["roles"],
        "lists carry each user's roles"
    );
    app.get(&format!("/api/v1/users?community_id={b}"), &ca)
        .await
        .problem(404, "not_found");
    app.get("/api/v1/users", &ca)
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn users_change_their_own_name_and_password_but_not_their_roles() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let (uid, token) = app.user("volunteer", Some(&c)).await;
    let me = app.get("/api/v1/me", &token).await.expect(200);
    let r = app
        .patch(
            &format!("/api/v1/users/{uid}"),
            &token,
            &me.etag(),
            json!({"display_name": "新名字", "password": "new-password-1"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["display_name"], "新名字");
    app.login(me.body["username"].as_str().unwrap(), "new-password-1")
        .await;
    app.patch(
        &format!("/api/v1/users/{uid}"),
        &token,
        &r.etag(),
        json!({"active": false}),
    )
    .await
    .problem(403, "forbidden_field");
    app.patch(
        &format!("/api/v1/users/{uid}"),
        &token,
        &r.etag(),
        json!({"roles": []}),
    )
    .await
    .problem(422, "validation_failed");
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test]
async fn me_lists_the_callers_own_records_per_community() {
    let app = crate::helpers::spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (user, token) = app.user("volunteer", Some(&a)).await;
    let v = app
        .volunteer(&a, &user, serde_json::json!({}))
        .await
        .expect(201)
        .id();
    let r = app
        .resident(&a, serde_json::json!({"name": "自己", "user_id": user}))
        .await
        .expect(201)
        .id();
    app.resident(&b, serde_json::json!({"name": "别人"}))
        .await
        .expect(201);
    let me = app.get("/api/v1/me", &token).await.expect(200);
    assert_eq!(
        me.body["records"],
        serde_json::json!([{"community_id": a, "resident_ids": [r], "volunteer_id": v}])
    );
    assert_eq!(me.body["id"], serde_json::json!(user));
    let (_, nobody) = app.user("dispatcher", Some(&b)).await;
    let me = app.get("/api/v1/me", &nobody).await.expect(200);
    assert_eq!(me.body["records"], serde_json::json!([]));
}
