//! Delivery to the inbox: the relay hands each outbox event to the people the audience table
//! names, once, and nobody else; each person reads and marks only their own notifications.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::help_requests::{World, world};
use crate::helpers::{TestApp, on_test_db};
use huying::services::delivery::relay;

async fn relay_now(app: &TestApp) -> usize {
    relay::relay(&app.state, Utc::now()).await.unwrap()
}

async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/v1/me/notifications?limit=200", token)
        .await
        .expect(200)
        .items()
}

fn kinds(items: &[Value]) -> Vec<&str> {
    items.iter().map(|n| n["kind"].as_str().unwrap()).collect()
}

async fn unread(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/me/notifications/unread-count", token)
        .await
        .expect(200)
        .body["unread"]
        .as_i64()
        .unwrap()
}

/// A request placed by the dispatcher for the resident, offered to the nearest volunteer.
async fn placed(w: &World) -> (String, Value) {
    let id = w.place(&w.dispatcher, json!({})).await.expect(201).id();
    let offer = w.open_offers(&id).await.remove(0);
    (id, offer)
}

#[tokio::test]
async fn an_offer_reaches_its_volunteer_and_the_progress_reaches_the_resident_and_the_placer() {
    let w = world(2, json!({})).await;
    let app = &w.app;
    let (id, offer) = placed(&w).await;
    let volunteer = offer["volunteer_id"].as_str().unwrap();
    let other = w.vols.iter().find(|(v, _)| v != volunteer).unwrap();
    assert!(
        relay_now(app).await >= 2,
        "placed and offered are handed over"
    );

    let mine = inbox(app, w.token_of(volunteer)).await;
    assert_eq!(kinds(&mine), ["help_request.offered"]);
    let n = &mine[0];
    assert_eq!(n["title"], "新的派单");
    assert!(n["body"].as_str().unwrap().contains("代购"));
    assert_eq!(n["object"]["type"], "help_request");
    assert_eq!(n["object"]["id"], id.as_str());
    assert_eq!(n["object"]["href"], format!("/api/v1/help-requests/{id}"));
    assert!(n["read_at"].is_null());
    let en = app
        .send(
            app.req(Method::GET, "/api/v1/me/notifications")
                .bearer_auth(w.token_of(volunteer))
                .header("accept-language", "en"),
        )
        .await
        .expect(200);
    assert_eq!(en.items()[0]["title"], "New request for you");
    assert_eq!(en.header("content-language"), Some("en"));
    let zh = app
        .get("/api/v1/me/notifications", w.token_of(volunteer))
        .await
        .expect(200);
    assert_eq!(
        zh.header("content-language"),
        Some("zh-CN"),
        "as the spec says"
    );
    // The other volunteer was not offered it; the resident is told only once it is taken.
    assert!(inbox(app, &other.1).await.is_empty());
    assert!(inbox(app, &w.resident_token).await.is_empty());

    w.accept(&offer).await.expect(200);
    w.act(&id, "start", w.token_of(volunteer), json!({}))
        .await
        .expect(200);
    relay_now(app).await;
    for token in [&w.resident_token, &w.dispatcher] {
        assert_eq!(
            kinds(&inbox(app, token).await),
            ["help_request.started", "help_request.accepted"],
            "newest first"
        );
    }
    assert_eq!(unread(app, &w.resident_token).await, 2);
    // Nothing is told twice, however often the relay runs.
    assert_eq!(relay_now(app).await, 0);
    assert_eq!(inbox(app, &w.resident_token).await.len(), 2);
    // The grid worker hears only of what needs them; the other volunteer of nothing.
    assert!(inbox(app, &w.gw).await.is_empty());
    assert!(inbox(app, &other.1).await.is_empty());
}

#[tokio::test]
async fn notifications_are_read_one_by_one_or_all_at_once_by_their_owner_only() {
    let w = world(1, json!({})).await;
    let app = &w.app;
    let (id, offer) = placed(&w).await;
    w.accept(&offer).await.expect(200);
    w.act(&id, "start", w.token_of(&w.vols[0].0), json!({}))
        .await
        .expect(200);
    relay_now(app).await;
    let items = inbox(app, &w.resident_token).await;
    assert_eq!(items.len(), 2);
    let first = items[1]["id"].as_str().unwrap();

    // Someone else's notification does not exist for them, and stays unread.
    for token in [&w.dispatcher, w.token_of(&w.vols[0].0), &app.admin] {
        app.post(
            &format!("/api/v1/me/notifications/{first}/read"),
            token,
            json!({}),
        )
        .await
        .problem(404, "not_found");
    }
    assert_eq!(unread(app, &w.resident_token).await, 2);

    let read = app
        .post(
            &format!("/api/v1/me/notifications/{first}/read"),
            &w.resident_token,
            json!({}),
        )
        .await
        .expect(200);
    let at = read.body["read_at"].as_str().unwrap().to_string();
    let again = app
        .post(
            &format!("/api/v1/me/notifications/{first}/read"),
            &w.resident_token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        again.body["read_at"],
        at.as_str(),
        "the first reading counts"
    );
    assert_eq!(unread(app, &w.resident_token).await, 1);
    let only_unread = app
        .get("/api/v1/me/notifications?unread=true", &w.resident_token)
        .await
        .expect(200)
        .items();
    assert_eq!(kinds(&only_unread), ["help_request.started"]);

    let all = app
        .post(
            "/api/v1/me/notifications/read-all",
            &w.resident_token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(all.body["marked"], 1);
    assert_eq!(unread(app, &w.resident_token).await, 0);
    // The dispatcher who placed it still has theirs unread.
    assert_eq!(unread(app, &w.dispatcher).await, 2);

    // Pages, newest first.
    let page = app
        .get("/api/v1/me/notifications?limit=1", &w.resident_token)
        .await
        .expect(200);
    let next = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/me/notifications?limit=1&cursor={next}"),
            &w.resident_token,
        )
        .await
        .expect(200);
    assert_eq!(rest.items()[0]["id"], first);
    assert!(rest.body["next_cursor"].is_null());
}

#[tokio::test]
async fn bad_inbox_requests_are_refused_and_change_nothing() {
    let w = world(1, json!({})).await;
    let app = &w.app;
    placed(&w).await;
    relay_now(app).await;
    let token = w.token_of(&w.vols[0].0).to_string();
    app.get("/api/v1/me/notifications", "")
        .await
        .problem(401, "missing_token");
    app.get("/api/v1/me/notifications?unread=maybe", &token)
        .await
        .problem(400, "invalid_query");
    app.get("/api/v1/me/notifications?limit=0", &token)
        .await
        .problem(422, "validation_failed");
    app.post(
        "/api/v1/me/notifications/not-a-uuid/read",
        &token,
        json!({}),
    )
    .await
    .problem(400, "invalid_path");
    app.post(
        &format!("/api/v1/me/notifications/{}/read", Uuid::now_v7()),
        &token,
        json!({}),
    )
    .await
    .problem(404, "not_found");
    assert_eq!(unread(app, &token).await, 1);
}

#[tokio::test]
async fn escalations_go_to_the_dispatchers_and_the_grid_worker_and_never_to_another_community() {
    // Nobody to offer it to: escalated at once.
    let w = world(0, json!({})).await;
    let app = &w.app;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    assert_eq!(w.get(&id).await["status"], "escalated");
    // Another community's staff, on the same server.
    let other = app.community("另一个社区").await;
    let (_, their_dispatcher) = app.user("dispatcher", Some(&other)).await;
    let (_, their_admin) = app.user("community_admin", Some(&other)).await;
    relay_now(app).await;
    for token in [&w.dispatcher, &w.gw] {
        assert_eq!(kinds(&inbox(app, token).await), ["help_request.escalated"]);
    }
    for token in [&their_dispatcher, &their_admin, &w.resident_token] {
        assert!(inbox(app, token).await.is_empty());
    }
}

#[tokio::test]
async fn an_event_committed_after_a_later_one_is_still_handed_over_once() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    relay_now(app).await;
    let before = inbox(app, &w.dispatcher).await.len();
    // Two transactions: the one with the smaller id commits last.
    const INSERT: &str = "insert into outbox (id, community_id, topic, aggregate_type, aggregate_id, payload, created_at)
        values ($1, $2, 'help_request.overdue', 'help_request', $3, $4, $5)";
    let (early, late) = (Uuid::now_v7(), Uuid::now_v7());
    let community: Uuid = w.c.parse().unwrap();
    let request: Uuid = id.parse().unwrap();
    let payload = sqlx::types::Json(json!({"data": {}}));
    let t = huying::store::now();
    on_test_db!(app, p => sqlx::query(INSERT).bind(late).bind(community).bind(request)
        .bind(&payload).bind(t).execute(p).await.unwrap().rows_affected());
    assert_eq!(relay_now(app).await, 1);
    on_test_db!(app, p => sqlx::query(INSERT).bind(early).bind(community).bind(request)
        .bind(&payload).bind(t).execute(p).await.unwrap().rows_affected());
    assert_eq!(relay_now(app).await, 1, "the earlier id is not skipped");
    assert_eq!(inbox(app, &w.dispatcher).await.len(), before + 2);

    // Two relays at once (two instances): each event once.
    on_test_db!(app, p => sqlx::query(INSERT).bind(Uuid::now_v7()).bind(community).bind(request)
        .bind(&payload).bind(t).execute(p).await.unwrap().rows_affected());
    let other = huying::startup::prepare(app.state.config.clone())
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        relay::relay(&app.state, Utc::now()),
        relay::relay(&other, Utc::now())
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(inbox(app, &w.dispatcher).await.len(), before + 3);

    // A relay that died holding an event: taken again after its lease.
    let e = Uuid::now_v7();
    on_test_db!(app, p => sqlx::query(INSERT).bind(e).bind(community).bind(request)
        .bind(&payload).bind(t).execute(p).await.unwrap().rows_affected());
    let leased = huying::store::delivery::outbox::lease(
        &app.state.db,
        Utc::now(),
        Utc::now() + Duration::seconds(30),
        10,
    )
    .await
    .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(relay_now(app).await, 0, "still leased");
    let later = Utc::now() + Duration::seconds(31);
    assert_eq!(relay::relay(&app.state, later).await.unwrap(), 1);
    assert_eq!(inbox(app, &w.dispatcher).await.len(), before + 4);
}

#[tokio::test]
async fn delivered_events_are_pruned_after_the_retention() {
    let w = world(0, json!({})).await;
    let app = &w.app;
    w.place(&w.resident_token, json!({})).await.expect(201);
    relay_now(app).await;
    const COUNT: &str = "select count(*) from outbox";
    let count = || async {
        on_test_db!(app, p => sqlx::query_scalar::<_, i64>(COUNT).fetch_one(p).await.unwrap())
    };
    let n = count().await;
    assert!(n > 0);
    huying::services::retention::prune(&app.state, Utc::now())
        .await
        .unwrap();
    assert_eq!(count().await, n, "kept within the retention");
    huying::services::retention::prune(&app.state, Utc::now() + Duration::days(31))
        .await
        .unwrap();
    assert_eq!(count().await, 0);
    // The inbox stays.
    assert!(!inbox(app, &w.dispatcher).await.is_empty());
}

#[tokio::test]
async fn visits_tell_their_care_team_when_due_and_the_grid_and_dispatchers_when_missed() {
    let w = crate::visits::v_world().await;
    let app = &w.app;
    w.sun_with_plan().await;
    let later = |days| Utc::now() + Duration::days(days);
    huying::services::sweeper::sweep(&app.state, later(0))
        .await
        .unwrap();
    relay_now(app).await;
    for token in [&w.gw, &w.doctor, &w.party] {
        assert_eq!(kinds(&inbox(app, token).await), ["visit.due"], "the team");
    }
    for token in [&w.dispatcher, &w.other_vol] {
        assert!(inbox(app, token).await.is_empty());
    }
    // Told once, however often the sweeper runs.
    huying::services::sweeper::sweep(&app.state, later(0))
        .await
        .unwrap();
    relay_now(app).await;
    assert_eq!(inbox(app, &w.doctor).await.len(), 1);

    // The window passes without a visit.
    huying::services::sweeper::sweep(&app.state, later(8))
        .await
        .unwrap();
    relay::relay(&app.state, later(8)).await.unwrap();
    for token in [&w.gw, &w.dispatcher] {
        assert!(
            kinds(&inbox(app, token).await).contains(&"visit.missed"),
            "grid worker and dispatchers"
        );
    }
    for token in [&w.doctor, &w.party, &w.other_vol] {
        assert!(!kinds(&inbox(app, token).await).contains(&"visit.missed"));
    }
}

#[tokio::test]
async fn a_major_change_tells_the_care_team_or_else_the_grid() {
    let w = crate::visits::v_world().await;
    let app = &w.app;
    let li = w.resident(json!(["chronic_illness"])).await;
    app.post(
        &format!("/api/v1/residents/{li}/major-changes"),
        &w.gw,
        json!({"kind": "fall"}),
    )
    .await
    .expect(201);
    relay_now(app).await;
    assert!(kinds(&inbox(app, &w.gw).await).contains(&"visit.major_change"));
    assert!(inbox(app, &w.doctor).await.is_empty(), "no plan, no team");
    w.plan(&li, json!({})).await.expect(201);
    app.post(
        &format!("/api/v1/residents/{li}/major-changes"),
        &w.gw,
        json!({"kind": "hospital_discharge"}),
    )
    .await
    .expect(201);
    relay_now(app).await;
    assert!(kinds(&inbox(app, &w.doctor).await).contains(&"visit.major_change"));
    assert!(inbox(app, &w.other_vol).await.is_empty());
    assert!(inbox(app, &w.dispatcher).await.is_empty());
}
