//! Password hashing is rationed: with every turn taken for longer than the configured wait,
//! logins and password changes answer 503 `server_busy` with `Retry-After`, change nothing and
//! count no failed login. The tests hold the only turn themselves, so nothing depends on timing.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, PASSWORD, Resp, TestApp, spawn_with};

async fn one_turn(wait: Duration) -> TestApp {
    spawn_with(|c| {
        c.password_hash_concurrency = 1;
        c.password_hash_wait = wait;
    })
    .await
}

#[track_caller]
fn busy(r: Resp) {
    let r = r.problem(503, "server_busy");
    assert_eq!(r.header("retry-after"), Some("1"), "body: {}", r.body);
}

#[tokio::test]
async fn logins_without_a_turn_are_503_with_retry_after_and_count_no_failure() {
    let app = one_turn(Duration::from_millis(100)).await;
    let held = app.state.passwords.turn().await.unwrap();
    let attempts = (0..6).map(|_| app.login_resp("admin", "wrong-password"));
    for r in futures_util::future::join_all(attempts).await {
        busy(r);
    }
    busy(app.login_resp("nobody", "wrong-password").await);
    let en = app
        .send(
            app.req(Method::POST, "/api/v1/auth/login")
                .header("accept-language", "en")
                .json(&json!({"login": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(
        en.body["message"], "The server is busy; try again in a moment.",
        "{}",
        en.body
    );
    drop(held);
    // Six refused wrong passwords would have locked the account (five failures) had they counted.
    app.login_resp("admin", ADMIN_PASSWORD).await.expect(200);
}

#[tokio::test]
async fn password_changes_without_a_turn_are_503_and_change_nothing() {
    let app = one_turn(Duration::ZERO).await;
    let c = app.community("甲").await;
    let (uid, _) = app.user("volunteer", Some(&c)).await;
    let path = format!("/api/v1/users/{uid}");
    let user = app.get(&path, &app.admin).await.expect(200);
    let username = user.body["username"].as_str().unwrap().to_string();
    let create =
        || {
            app.send(
            app.req(Method::POST, "/api/v1/users")
                .bearer_auth(&app.admin)
                .header("idempotency-key", "new-user-1")
                .json(&json!({"username": "newcomer", "display_name": "新人", "password": PASSWORD,
                              "roles": [{"role": "volunteer", "community_id": c}]})),
        )
        };

    let held = app.state.passwords.turn().await.unwrap();
    busy(create().await);
    busy(
        app.patch(
            &path,
            &app.admin,
            &user.etag(),
            json!({"display_name": "改名", "password": "new-password-1"}),
        )
        .await,
    );
    assert_eq!(app.get(&path, &app.admin).await.expect(200).body, user.body);
    // What needs no hashing goes on.
    let renamed = app
        .patch(
            &path,
            &app.admin,
            &user.etag(),
            json!({"display_name": "改名"}),
        )
        .await
        .expect(200);
    let list = app
        .get("/api/v1/users?q=newcomer", &app.admin)
        .await
        .expect(200);
    assert!(list.items().is_empty(), "{}", list.body);
    drop(held);

    app.login(&username, PASSWORD).await;
    app.login_resp(&username, "new-password-1")
        .await
        .problem(401, "invalid_credentials");
    // A 503 is not kept for the idempotency key: the same request now goes through.
    let created = create().await.expect(201);
    assert_eq!(created.header("idempotent-replayed"), None);
    app.login("newcomer", PASSWORD).await;
    app.patch(
        &path,
        &app.admin,
        &renamed.etag(),
        json!({"password": "new-password-1"}),
    )
    .await
    .expect(200);
    app.login(&username, "new-password-1").await;
}

#[tokio::test]
async fn a_login_waits_for_a_turn_freed_within_the_wait() {
    let app = one_turn(Duration::from_secs(60)).await;
    let held = app.state.passwords.turn().await.unwrap();
    let (r, ()) = tokio::join!(app.login_resp("admin", ADMIN_PASSWORD), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(held);
    });
    r.expect(200);
}
