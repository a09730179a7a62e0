//! Webhook deliveries end to end: signed, retried while the receiver is down or failing until
//! every event arrived (duplicates only under the same `webhook-id`), a slow receiver holding
//! back nobody else, 410 and a failing receiver turning the webhook off with an alert, a turned
//! off webhook keeping its deliveries, retry and replay, and addresses checked at connection.

use std::collections::{HashMap, HashSet};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use serde_json::json;

use crate::webhook_receiver::{Mode, Receiver, free_port, signed_by, site};

const HELP_REQUEST_EVENTS: &str =
    "select count(*) from outbox where community_id = $1 and topic like 'help_request.%'";

#[tokio::test]
async fn every_event_arrives_signed_once_the_receiver_is_back_and_retries_keep_their_id() {
    let s = site(|_| {}).await;
    let port = free_port();
    let hook = s
        .webhook(
            &format!("http://127.0.0.1:{port}/hook"),
            &["help_request.*"],
        )
        .await;
    let (id, secret) = (
        hook["id"].as_str().unwrap(),
        hook["secret"].as_str().unwrap(),
    );
    for _ in 0..3 {
        s.place().await;
    }
    s.relay().await;
    let n = s.count(HELP_REQUEST_EVENTS).await as usize;
    assert!(n >= 6, "placed and escalated, three times: {n}");
    assert_eq!(s.deliveries(id).await.len(), n, "one delivery per event");

    // Down: every connection refused; each delivery waits 5 s for its next attempt.
    let t0 = Utc::now();
    assert_eq!(s.deliver(t0).await, n);
    for d in s.deliveries(id).await {
        assert_eq!(d["status"], "pending");
        assert_eq!(d["attempt_count"], 1);
        assert_eq!(d["last_error"], "connection refused");
        assert!(d["last_status_code"].is_null());
    }
    assert_eq!(s.deliver(t0 + Duration::seconds(1)).await, 0, "not due yet");

    // Up, but failing: it hears every message and answers 500.
    let receiver = Receiver::start_on(port, Mode::Failing);
    assert_eq!(s.deliver(t0 + Duration::seconds(6)).await, n);
    assert_eq!(receiver.got().len(), n);
    assert_eq!(s.deliver(t0 + Duration::minutes(4)).await, 0, "5 min after");

    // Well again.
    receiver.set(Mode::Up);
    assert_eq!(s.deliver(t0 + Duration::minutes(6)).await, n);
    assert_eq!(s.deliver(t0 + Duration::days(3)).await, 0, "nothing left");

    let got = receiver.got();
    assert_eq!(got.len(), 2 * n);
    assert_eq!(got.iter().filter(|g| g.answered == 500).count(), n);
    let mut by_id: HashMap<&str, Vec<&str>> = HashMap::new();
    for g in &got {
        assert!(signed_by(secret, g), "signature of {}", g.id);
        by_id.entry(&g.id).or_default().push(&g.body);
    }
    assert_eq!(by_id.len(), n, "one webhook-id per event");
    for (wid, bodies) in &by_id {
        assert_eq!(bodies.len(), 2, "{wid}: once failed, once delivered");
        assert_eq!(bodies[0], bodies[1], "a retry is the same message");
    }
    let events: HashSet<String> = got
        .iter()
        .map(|g| g.json()["data"]["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events.len(), n, "none lost");
    let first = got[n].json();
    assert!(first["type"].as_str().unwrap().starts_with("help_request."));
    assert!(first["timestamp"].is_string());
    assert!(first["data"]["request_id"].is_string());

    for d in s.deliveries(id).await {
        assert_eq!(d["status"], "succeeded");
        assert_eq!(d["attempt_count"], 3);
        assert!(d["next_attempt_at"].is_null());
        let a = d["attempts"].as_array().unwrap();
        assert_eq!(a[0]["error"], "connection refused");
        assert_eq!(a[1]["status_code"], 500);
        assert_eq!(a[1]["error"], "HTTP 500");
        assert_eq!(a[2]["status_code"], 200);
        assert!(a[2]["error"].is_null() && a[2]["latency_ms"].as_i64().unwrap() >= 0);
    }
}

#[tokio::test]
async fn a_slow_receiver_holds_back_no_other() {
    let s = site(|c| c.webhook_timeout = StdDuration::from_millis(1000)).await;
    let slow = Receiver::start(Mode::Slow(StdDuration::from_secs(3)));
    let fast = Receiver::start(Mode::Up);
    let slow_hook = s.webhook(&slow.url, &["*"]).await;
    s.webhook(&fast.url, &["*"]).await;
    s.place().await;
    s.relay().await;
    let n = s.count(HELP_REQUEST_EVENTS).await as usize;

    let started = Instant::now();
    let state = s.app.state.clone();
    let sending = tokio::spawn(async move {
        huying::services::delivery::webhooks::worker::deliver(&state, Utc::now()).await
    });
    while fast.got().len() < n {
        assert!(
            started.elapsed() < StdDuration::from_millis(900),
            "the fast receiver waited for the slow one"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert_eq!(sending.await.unwrap().unwrap(), 2 * n);
    assert!(
        started.elapsed() < StdDuration::from_millis(2500),
        "timed out at 1 s"
    );
    for d in s.deliveries(slow_hook["id"].as_str().unwrap()).await {
        assert_eq!(d["status"], "pending");
        assert_eq!(d["last_error"], "timed out after 1000 ms");
    }
}

#[tokio::test]
async fn a_gone_receiver_turns_its_webhook_off_at_once_and_the_admins_are_told() {
    let s = site(|_| {}).await;
    let receiver = Receiver::start(Mode::Gone);
    let hook = s.webhook(&receiver.url, &["help_request.placed"]).await;
    let id = hook["id"].as_str().unwrap();
    s.place().await;
    s.relay().await;
    assert_eq!(s.deliver(Utc::now()).await, 1);
    let d = &s.deliveries(id).await[0];
    assert_eq!(
        (&d["status"], &d["last_status_code"]),
        (&json!("dead"), &json!(410))
    );
    let w = s.webhook_now(id).await;
    assert_eq!(
        (&w["active"], &w["disabled_reason"]),
        (&json!(false), &json!("gone"))
    );

    s.relay().await;
    let told = s.admin_told().await;
    assert_eq!(told[0]["kind"], "webhook.disabled");
    assert_eq!(told[0]["object"]["href"], format!("/api/v1/webhooks/{id}"));
    assert!(told[0]["body"].as_str().unwrap().contains("12345 平台"));
    // Nothing more is queued for it.
    s.place().await;
    s.relay().await;
    assert_eq!(s.deliveries(id).await.len(), 1);
    assert_eq!(receiver.got().len(), 1);
}

#[tokio::test]
async fn a_delivery_failing_every_attempt_is_dead_and_its_webhook_off_with_one_alert() {
    let s = site(|_| {}).await;
    let receiver = Receiver::start(Mode::Failing);
    let hook = s.webhook(&receiver.url, &["help_request.placed"]).await;
    let id = hook["id"].as_str().unwrap();
    s.place().await;
    s.relay().await;
    // At once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h.
    let mut t = Utc::now();
    let waits = [5, 300, 1800, 7200, 18000, 36000, 36000];
    assert_eq!(s.deliver(t).await, 1);
    for (i, secs) in waits.iter().enumerate() {
        assert_eq!(
            s.deliver(t + Duration::seconds(secs - 1)).await,
            0,
            "wait {i}"
        );
        t += Duration::seconds(*secs);
        assert_eq!(s.deliver(t).await, 1, "attempt {}", i + 2);
    }
    assert_eq!(s.deliver(t + Duration::days(3)).await, 0);
    let d = &s.deliveries(id).await[0];
    assert_eq!(
        (&d["status"], &d["attempt_count"]),
        (&json!("dead"), &json!(8))
    );
    assert_eq!(d["attempts"].as_array().unwrap().len(), 8);
    assert_eq!(receiver.got().len(), 8);
    let w = s.webhook_now(id).await;
    assert_eq!(
        (&w["active"], &w["disabled_reason"]),
        (&json!(false), &json!("failing"))
    );
    s.relay().await;
    let told: Vec<_> = s
        .admin_told()
        .await
        .into_iter()
        .filter(|n| n["kind"] == "webhook.disabled")
        .collect();
    assert_eq!(told.len(), 1);

    // Turned on again and retried by hand: delivered.
    receiver.set(Mode::Up);
    let on = s
        .app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &s.admin,
            &format!("\"{}\"", w["version"]),
            json!({"active": true}),
        )
        .await
        .expect(200);
    assert!(on.body["disabled_reason"].is_null());
    let d_id = d["id"].as_str().unwrap();
    let again = s
        .app
        .post(
            &format!("/api/v1/webhooks/{id}/deliveries/{d_id}/retry"),
            &s.admin,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(again.body["status"], "pending");
    assert_eq!(s.deliver(Utc::now()).await, 1);
    assert_eq!(s.deliveries(id).await[0]["status"], "succeeded");
    assert_eq!(
        receiver.got().last().unwrap().id,
        d_id,
        "the same webhook-id"
    );
}

#[tokio::test]
async fn a_webhook_turned_off_keeps_its_waiting_deliveries_until_it_is_on_again() {
    let s = site(|_| {}).await;
    let port = free_port();
    let hook = s
        .webhook(
            &format!("http://127.0.0.1:{port}/hook"),
            &["help_request.placed"],
        )
        .await;
    let id = hook["id"].as_str().unwrap();
    s.place().await;
    s.relay().await;
    let t0 = Utc::now();
    assert_eq!(s.deliver(t0).await, 1);
    let off = s
        .app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &s.admin,
            "\"1\"",
            json!({"active": false}),
        )
        .await
        .expect(200);
    assert!(
        off.body["disabled_reason"].is_null(),
        "turned off by a person"
    );
    assert!(
        s.deliveries(id).await[0]["next_attempt_at"].is_null(),
        "parked"
    );
    assert_eq!(s.deliver(t0 + Duration::hours(1)).await, 0);
    // Events while it is off are not queued for it.
    s.place().await;
    s.relay().await;
    assert_eq!(s.deliveries(id).await.len(), 1);

    let receiver = Receiver::start_on(port, Mode::Up);
    s.app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &s.admin,
            "\"2\"",
            json!({"active": true}),
        )
        .await
        .expect(200);
    assert_eq!(s.deliver(Utc::now()).await, 1);
    assert_eq!(receiver.got().len(), 1);
    assert_eq!(s.deliveries(id).await[0]["status"], "succeeded");
}

#[tokio::test]
async fn a_replay_sends_again_what_the_webhook_follows_under_the_same_ids() {
    let s = site(|_| {}).await;
    let receiver = Receiver::start(Mode::Up);
    let before = Utc::now() - Duration::seconds(1);
    s.place().await;
    s.place().await;
    s.relay().await;
    // Registered after the events: a replay brings them.
    let hook = s.webhook(&receiver.url, &["help_request.placed"]).await;
    let id = hook["id"].as_str().unwrap();
    assert!(s.deliveries(id).await.is_empty());
    let path = format!("/api/v1/webhooks/{id}/replay");
    let r = s
        .app
        .post(&path, &s.admin, json!({"since": before}))
        .await
        .expect(202);
    assert_eq!(r.body["enqueued"], 2);
    assert_eq!(s.deliver(Utc::now()).await, 2);
    let first: HashSet<String> = receiver.got().iter().map(|g| g.id.clone()).collect();
    assert_eq!(first.len(), 2);
    assert!(
        receiver
            .got()
            .iter()
            .all(|g| g.json()["type"] == "help_request.placed"
                && signed_by(hook["secret"].as_str().unwrap(), g))
    );

    // Again: the same messages, the same ids.
    let r = s
        .app
        .post(&path, &s.admin, json!({"since": before}))
        .await
        .expect(202);
    assert_eq!(r.body["enqueued"], 2);
    assert_eq!(s.deliver(Utc::now()).await, 2);
    let all: HashSet<String> = receiver.got().iter().map(|g| g.id.clone()).collect();
    assert_eq!(receiver.got().len(), 4);
    assert_eq!(all, first);
    let later = s
        .app
        .post(
            &path,
            &s.admin,
            json!({"since": Utc::now() + Duration::hours(1)}),
        )
        .await
        .expect(202);
    assert_eq!(later.body["enqueued"], 0);
}

#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_at_connection_time_is_not_reached() {
    let s = site(|c| c.webhook_allow_private = false).await;
    let receiver = Receiver::start(Mode::Up);
    let hook = s
        .webhook("https://93.184.215.14/hook", &["help_request.placed"])
        .await;
    let id = hook["id"].as_str().unwrap();
    s.place().await;
    s.relay().await;
    // As if its DNS now answered with a loopback address, or the row said one.
    for url in [
        receiver.url.replace("127.0.0.1", "localhost"),
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "[::ffff:127.0.0.1]"),
    ] {
        let w = uuid::Uuid::parse_str(id).unwrap();
        crate::helpers::on_test_db!(s.app, p => {
            sqlx::query("update webhooks set url = $1 where id = $2")
                .bind(&url).bind(w).execute(p).await.unwrap();
        });
        let d = &s.deliveries(id).await[0];
        s.app
            .post(
                &format!(
                    "/api/v1/webhooks/{id}/deliveries/{}/retry",
                    d["id"].as_str().unwrap()
                ),
                &s.admin,
                json!({}),
            )
            .await
            .expect(200);
        assert_eq!(s.deliver(Utc::now()).await, 1, "{url}");
        assert_eq!(
            s.deliveries(id).await[0]["last_error"],
            "address not allowed",
            "{url}"
        );
    }
    assert!(receiver.got().is_empty());
}

#[tokio::test]
async fn a_slow_receiver_with_a_backlog_takes_only_its_share_of_the_running_worker() {
    // Eight slots, two per endpoint; the worker runs in the background.
    let s = site(|c| {
        c.webhook_concurrency = 8;
        c.webhook_timeout = StdDuration::from_millis(1000);
        c.webhook_interval = StdDuration::from_millis(50);
    })
    .await;
    let slow = Receiver::start(Mode::Slow(StdDuration::from_secs(3)));
    let fast = Receiver::start(Mode::Up);
    // The slow receiver's backlog first: more deliveries than the instance has slots.
    s.webhook(&slow.url, &["*"]).await;
    for _ in 0..5 {
        s.place().await;
    }
    s.relay().await;
    let backlog = s.count(HELP_REQUEST_EVENTS).await as usize;
    assert!(backlog >= 10);
    tokio::time::sleep(StdDuration::from_millis(100)).await;

    s.webhook(&fast.url, &["*"]).await;
    s.place().await;
    let started = Instant::now();
    s.relay().await;
    let n = s.count(HELP_REQUEST_EVENTS).await as usize - backlog;
    while fast.got().len() < n {
        assert!(
            started.elapsed() < StdDuration::from_millis(900),
            "the fast receiver got {} of {n} while the slow one had its backlog",
            fast.got().len()
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert!(slow.got().len() <= 2, "two at a time to the slow one");
}
