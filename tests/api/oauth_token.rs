//! `POST /oauth/token` (RFC 6749 §4.4): Basic and body authentication, narrowed scopes, and
//! every §5.2 error, a wrong secret answered alike whether the client exists or not.

use reqwest::Method;

use crate::clients::{ALL_SCOPES, create_client, token_request};
use crate::helpers::{Resp, spawn_app};

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

#[track_caller]
fn oauth_error(r: &Resp, status: u16, error: &str) {
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (status, Some(error)),
        "{}",
        r.body
    );
    assert!(r.body["error_description"].is_string());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn a_client_gets_a_token_with_basic_or_body_credentials() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let created = create_client(&app, &c, &["requests:read", "reports:read"]).await;
    let id = created.id();
    let secret = created.body["client_secret"].as_str().unwrap();

    let basic = token_request(&app, &[GRANT], Some((&id, secret)))
        .await
        .expect(200);
    assert_eq!(basic.body["token_type"], "Bearer");
    assert_eq!(basic.body["scope"], "requests:read reports:read");
    assert_eq!(basic.body["expires_in"], 600);
    assert_eq!(basic.header("cache-control"), Some("no-store"));
    assert_eq!(basic.header("pragma"), Some("no-cache"));
    let token = basic.body["access_token"].as_str().unwrap();
    let claims = app.state.jwt.verify_subject(token).unwrap();
    assert_eq!(claims.id().to_string(), id);
    assert_eq!(app.state.jwt.verify(token), None, "never a person's token");

    let body = token_request(
        &app,
        &[
            GRANT,
            ("client_id", &id),
            ("client_secret", secret),
            ("scope", "reports:read"),
        ],
        None,
    )
    .await
    .expect(200);
    assert_eq!(body.body["scope"], "reports:read");

    // Basic with the id repeated in the body, as some libraries send it.
    token_request(&app, &[GRANT, ("client_id", &id)], Some((&id, secret)))
        .await
        .expect(200);
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_invalid_client_whether_the_client_exists_or_not() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let created = create_client(&app, &c, &ALL_SCOPES).await;
    let id = created.id();
    let secret = created.body["client_secret"].as_str().unwrap().to_string();
    let unknown = uuid::Uuid::now_v7().to_string();
    let wrong = format!("{}x", &secret[..secret.len() - 1]);

    let mut answers = Vec::new();
    for (who, pw) in [(&id, &wrong), (&unknown, &wrong), (&unknown, &secret)] {
        let r = token_request(&app, &[GRANT], Some((who, pw))).await;
        oauth_error(&r, 401, "invalid_client");
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Basic realm="huying""#)
        );
        answers.push(r.body);
        let r = token_request(
            &app,
            &[GRANT, ("client_id", who), ("client_secret", pw)],
            None,
        )
        .await;
        oauth_error(&r, 401, "invalid_client");
        answers.push(r.body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");

    // No credentials at all; a Basic header that is no `id:secret`; an id that is no UUID.
    oauth_error(
        &token_request(&app, &[GRANT], None).await,
        401,
        "invalid_client",
    );
    let r = app
        .send(
            app.req(Method::POST, "/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", "Basic !!!not-base64")
                .body("grant_type=client_credentials"),
        )
        .await;
    oauth_error(&r, 401, "invalid_client");
    oauth_error(
        &token_request(&app, &[GRANT], Some(("not-a-uuid", &secret))).await,
        401,
        "invalid_client",
    );
}

#[tokio::test]
async fn malformed_requests_unknown_grants_and_scopes_are_refused() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let created = create_client(&app, &c, &["requests:read"]).await;
    let id = created.id();
    let secret = created.body["client_secret"].as_str().unwrap().to_string();
    let basic = Some((id.as_str(), secret.as_str()));

    oauth_error(
        &token_request(&app, &[], basic).await,
        400,
        "invalid_request",
    );
    oauth_error(
        &token_request(&app, &[GRANT, GRANT], basic).await,
        400,
        "invalid_request",
    );
    oauth_error(
        &token_request(&app, &[GRANT, ("client_secret", &secret)], basic).await,
        400,
        "invalid_request",
    );
    oauth_error(
        &token_request(&app, &[GRANT, ("client_id", "other")], basic).await,
        400,
        "invalid_request",
    );
    oauth_error(
        &token_request(&app, &[GRANT, ("client_secret", &secret)], None).await,
        400,
        "invalid_request",
    );
    for grant in ["password", "authorization_code", "CLIENT_CREDENTIALS"] {
        oauth_error(
            &token_request(&app, &[("grant_type", grant)], basic).await,
            400,
            "unsupported_grant_type",
        );
    }
    for scope in [
        "requests:write",
        "requests:read admin",
        "requests:read  open311",
    ] {
        oauth_error(
            &token_request(&app, &[GRANT, ("scope", scope)], basic).await,
            400,
            "invalid_scope",
        );
    }
    oauth_error(
        &token_request(&app, &[GRANT, ("scope", &"x".repeat(600))], basic).await,
        400,
        "invalid_scope",
    );
    oauth_error(
        &token_request(&app, &[GRANT, ("scope", "requests:read\u{0}")], basic).await,
        400,
        "invalid_request",
    );
    let json = app
        .send(
            app.req(Method::POST, "/oauth/token")
                .basic_auth(&id, Some(&secret))
                .json(&serde_json::json!({"grant_type": "client_credentials"})),
        )
        .await;
    oauth_error(&json, 400, "invalid_request");
    let huge = app
        .send(
            app.req(Method::POST, "/oauth/token")
                .basic_auth(&id, Some(&secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=client_credentials&pad={}",
                    "a".repeat(5000)
                )),
        )
        .await;
    oauth_error(&huge, 400, "invalid_request");
}
