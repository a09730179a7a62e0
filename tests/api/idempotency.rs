//! Idempotency keys that survive a crash or an outage: the lease an attempt holds, the commit mark
//! written with the write, the answer to a retry whose first answer was lost, and retention.
//! A crashed attempt is simulated by putting its key row in the state a crash leaves.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::help_requests::world;
use crate::helpers::{Resp, TestApp, on_test_db, spawn_app};
use huying::store::idempotency::{self, Claim, ClaimOf, Hold};

async fn post_with_key(app: &TestApp, path: &str, token: &str, key: &str, body: &Value) -> Resp {
    // Sent as bytes, so that the test knows exactly what the server fingerprints.
    app.send(
        app.req(Method::POST, path)
            .bearer_auth(token)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap()),
    )
    .await
}

fn fingerprint(path: &str, body: &Value) -> String {
    let mut f = format!("POST {path}?\n").into_bytes();
    f.extend(serde_json::to_vec(body).unwrap());
    huying::crypto::sha256_hex(&f)
}

async fn user_id(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me", token).await.expect(200).body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Puts key `key` of `scope` into the state a process leaves when it stops mid-request.
async fn crash_state(app: &TestApp, scope: &str, key: &str, locked_for: Duration) {
    const SQL: &str = "update idempotency_keys set status_code = null, content_type = null,
        etag = null, response_body = null, locked_until = $3 where scope = $1 and key = $2";
    let until = huying::store::now() + locked_for;
    let n = on_test_db!(app, p => sqlx::query(SQL).bind(scope).bind(key).bind(until)
        .execute(p).await.unwrap().rows_affected());
    assert_eq!(n, 1, "the key {key} is stored");
}

async fn count_keys(app: &TestApp) -> i64 {
    const SQL: &str = "select count(*) from idempotency_keys";
    on_test_db!(app, p => sqlx::query_scalar(SQL).fetch_one(p).await.unwrap())
}

#[tokio::test]
async fn a_retry_while_the_first_attempt_holds_the_key_is_told_when_to_come_back() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let path = format!("/api/v1/communities/{c}/residents");
    let body = json!({"name": "孙大娘"});
    let scope = format!("user:{}", user_id(&app, &app.admin).await);
    post_with_key(&app, &path, &app.admin, "k-1", &body)
        .await
        .expect(201);
    crash_state(&app, &scope, "k-1", Duration::seconds(20)).await;
    let r = post_with_key(&app, &path, &app.admin, "k-1", &body)
        .await
        .problem(409, "idempotency_in_progress");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=21).contains(&wait), "Retry-After {wait}");
    // Another body under the held key is still a reused key, not a wait.
    post_with_key(&app, &path, &app.admin, "k-1", &json!({"name": "李大爷"}))
        .await
        .problem(422, "idempotency_key_reused");
}

#[tokio::test]
async fn an_attempt_that_stopped_before_writing_is_taken_over_after_its_lease_and_runs_once() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let path = format!("/api/v1/communities/{c}/residents");
    let body = json!({"name": "孙大娘"});
    let scope = format!("user:{}", user_id(&app, &app.admin).await);
    // What a process killed between claiming the key and writing leaves behind.
    const CLAIMED: &str =
        "insert into idempotency_keys (scope, key, request_hash, created_at, attempt, locked_until)
        values ($1, $2, $3, $4, $5, $6)";
    let (t, hash) = (huying::store::now(), fingerprint(&path, &body));
    for (key, until) in [
        ("lapsed", t - Duration::seconds(1)),
        ("live", t + Duration::seconds(30)),
    ] {
        on_test_db!(app, p => sqlx::query(CLAIMED).bind(&scope).bind(key).bind(&hash).bind(t)
            .bind(Uuid::now_v7()).bind(until).execute(p).await.unwrap().rows_affected());
    }
    post_with_key(&app, &path, &app.admin, "live", &body)
        .await
        .problem(409, "idempotency_in_progress");
    let first = post_with_key(&app, &path, &app.admin, "lapsed", &body)
        .await
        .expect(201);
    let again = post_with_key(&app, &path, &app.admin, "lapsed", &body)
        .await
        .expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.id(), first.id());
    let all = app.get(&path, &app.admin).await.expect(200).items();
    assert_eq!(all.len(), 1, "the request ran exactly once");
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_answered_with_what_it_wrote_and_never_runs_again() {
    let w = world(1, json!({})).await;
    let app = &w.app;
    let body = json!({"resident_id": w.resident, "service_type_id": w.service_type,
                      "description": "帮忙买药和米面"});
    let placed = post_with_key(app, "/api/v1/help-requests", &w.dispatcher, "call-7", &body)
        .await
        .expect(201);
    let scope = format!("user:{}", user_id(app, &w.dispatcher).await);
    // The process stopped after the write committed, before the answer was stored.
    crash_state(app, &scope, "call-7", Duration::seconds(20)).await;
    post_with_key(app, "/api/v1/help-requests", &w.dispatcher, "call-7", &body)
        .await
        .problem(409, "idempotency_in_progress");
    crash_state(app, &scope, "call-7", Duration::seconds(-1)).await;
    let r = post_with_key(app, "/api/v1/help-requests", &w.dispatcher, "call-7", &body)
        .await
        .expect(303);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    let location = r.header("location").unwrap().to_string();
    assert_eq!(location, format!("/api/v1/help-requests/{}", placed.id()));
    app.get(&location, &w.dispatcher).await.expect(200);
    let mine = app
        .get(
            &format!("/api/v1/help-requests?resident_id={}", w.resident),
            &w.dispatcher,
        )
        .await
        .expect(200)
        .items();
    assert_eq!(mine.len(), 1, "no second request under the key");

    // An action on an existing object is answered the same way.
    let id = placed.id();
    let cancel = json!({"reason": "家人已处理"});
    let path = format!("/api/v1/help-requests/{id}/cancel");
    post_with_key(app, &path, &w.dispatcher, "cancel-1", &cancel)
        .await
        .expect(200);
    crash_state(app, &scope, "cancel-1", Duration::seconds(-1)).await;
    let r = post_with_key(app, &path, &w.dispatcher, "cancel-1", &cancel)
        .await
        .expect(303);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/help-requests/{id}").as_str())
    );
}

#[tokio::test]
async fn a_write_cannot_commit_once_another_attempt_took_its_key_over() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let t = huying::store::now();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let claim = |attempt, now| ClaimOf {
        scope: "user:x",
        key: "k",
        request_hash: "h",
        attempt,
        now,
        lease_until: now + Duration::seconds(1),
        expired_before: now - Duration::hours(24),
    };
    assert!(matches!(
        idempotency::claim(db, &claim(a, t)).await.unwrap(),
        Claim::Claimed
    ));
    assert!(
        matches!(
            idempotency::claim(db, &claim(b, t)).await.unwrap(),
            Claim::Existing(_)
        ),
        "a live lease is not taken over"
    );
    let later = t + Duration::seconds(2);
    assert!(matches!(
        idempotency::claim(db, &claim(b, later)).await.unwrap(),
        Claim::Claimed
    ));
    // Attempt a, still running after its lease, tries to write: nothing commits.
    let hold = |attempt| Hold {
        scope: "user:x".into(),
        key: "k".into(),
        attempt,
    };
    let policy = json!({});
    let late = hold(a)
        .run(huying::store::registry::communities::insert(
            db,
            "late",
            "迟到社区",
            "Asia/Shanghai",
            &policy,
        ))
        .await;
    assert!(
        matches!(
            late,
            Err(huying::store::StoreError::Guard("idempotency_in_progress"))
        ),
        "{late:?}"
    );
    let on_time = hold(b)
        .run(huying::store::registry::communities::insert(
            db,
            "on-time",
            "准时社区",
            "Asia/Shanghai",
            &policy,
        ))
        .await;
    assert!(on_time.is_ok(), "{on_time:?}");
    const CODES: &str = "select count(*) from communities where code in ('late', 'on-time')";
    let n: i64 = on_test_db!(app, p => sqlx::query_scalar(CODES).fetch_one(p).await.unwrap());
    assert_eq!(n, 1);
    // And once b committed, the key is never taken over again, whatever its lease.
    let much_later = t + Duration::minutes(5);
    assert!(matches!(
        idempotency::claim(db, &claim(Uuid::now_v7(), much_later))
            .await
            .unwrap(),
        Claim::Existing(row) if row.committed_at.is_some() && row.subject_type.as_deref() == Some("community")
    ));
}

#[tokio::test]
async fn keys_expire_after_the_retention_and_are_pruned() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let path = format!("/api/v1/communities/{c}/residents");
    post_with_key(&app, &path, &app.admin, "old", &json!({"name": "孙大娘"}))
        .await
        .expect(201);
    post_with_key(&app, &path, &app.admin, "new", &json!({"name": "李大爷"}))
        .await
        .expect(201);
    const AGE: &str = "update idempotency_keys set created_at = $1 where key = 'old'";
    let old = huying::store::now() - Duration::hours(25);
    on_test_db!(app, p => sqlx::query(AGE).bind(old).execute(p).await.unwrap().rows_affected());
    // An expired key is new again: another body under it runs.
    post_with_key(&app, &path, &app.admin, "old", &json!({"name": "王奶奶"}))
        .await
        .expect(201);
    on_test_db!(app, p => sqlx::query(AGE).bind(old).execute(p).await.unwrap().rows_affected());
    let before = count_keys(&app).await;
    huying::services::retention::prune(&app.state, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        count_keys(&app).await,
        before - 1,
        "only the expired key went"
    );
    post_with_key(&app, &path, &app.admin, "new", &json!({"name": "李大爷"}))
        .await
        .expect(201)
        .header("idempotent-replayed")
        .map(|v| assert_eq!(v, "true"))
        .expect("the live key still replays");
}

#[tokio::test]
async fn a_ballot_whose_answer_was_lost_sends_the_retry_to_the_voters_ballot() {
    use crate::deliberation::{open_vote, raise, resident_account};
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let (user, token) = resident_account(&app, &c, "孙大娘").await;
    let topic = raise(&app, &c, &token).await.expect(201).id();
    let vote = open_vote(&app, &topic, &["同意", "反对"]).await.expect(200);
    let yes = vote.body["vote"]["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/topics/{topic}/ballots");
    let body = json!({"option_id": yes});
    post_with_key(&app, &path, &token, "ballot-1", &body)
        .await
        .expect(201);
    crash_state(
        &app,
        &format!("user:{user}"),
        "ballot-1",
        Duration::seconds(-1),
    )
    .await;
    let r = post_with_key(&app, &path, &token, "ballot-1", &body)
        .await
        .expect(303);
    let mine = format!("/api/v1/topics/{topic}/ballots/mine");
    assert_eq!(r.header("location"), Some(mine.as_str()));
    let ballot = app.get(&mine, &token).await.expect(200);
    assert_eq!(ballot.body["option_id"], yes.as_str());
    let n = app
        .scalar(
            "select count(*) from topic_ballots where topic_id = $1",
            &topic,
        )
        .await;
    assert_eq!(n, 1, "the ballot was cast once");
}
