//! Mobilisations (一呼百应): planning and the lifecycle, who sees what, sign-ups with the
//! waiting list, and the race of many volunteers for few places.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_test_db, spawn_app};

fn plan(slots: Value) -> Value {
    json!({"title": "防汛巡查", "kind": "emergency", "description": "河堤巡查",
           "address": "河堤路1号", "location": {"lat": 36.19, "lng": 113.12},
           "starts_at": "2030-07-01T08:00:00Z", "ends_at": "2030-07-01T12:00:00Z",
           "slots": slots})
}

async fn published(app: &TestApp, community: &str, body: Value) -> Value {
    let m = app
        .post(
            &format!("/api/v1/communities/{community}/mobilisations"),
            &app.admin,
            body,
        )
        .await
        .expect(201);
    let id = m.id();
    app.post(
        &format!("/api/v1/mobilisations/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200)
    .body
}

async fn outbox(app: &TestApp, id: &str) -> i64 {
    app.scalar(
        "select count(*) from outbox where aggregate_id = $1 and aggregate_type = 'mobilisation'",
        id,
    )
    .await
}

#[tokio::test]
async fn a_mobilisation_is_planned_published_and_moves_through_its_states() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let r = app
        .post(&format!("/api/v1/communities/{c}/mobilisations"), &app.admin,
              plan(json!([{"title": "巡堤", "count": 2}, {"title": "医护", "skill": "first_aid", "count": 1}])))
        .await
        .expect(201);
    assert!(
        r.header("location")
            .unwrap()
            .ends_with(&format!("/api/v1/mobilisations/{}", r.id()))
    );
    assert_eq!(r.body["status"], "draft");
    assert_eq!(r.body["check_in_radius_m"], 200);
    assert_eq!(r.body["attendance_mode"], "none");
    assert_eq!(r.body["slots"][0]["count"], 2);
    assert_eq!(r.body["slots"][1]["skill"], "first_aid");
    let id = r.id();
    assert_eq!(outbox(&app, &id).await, 1);
    let p = app
        .post(
            &format!("/api/v1/mobilisations/{id}/publish"),
            &app.admin,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(p.body["status"], "published");
    assert_eq!(
        app.scalar("select count(*) from outbox where aggregate_id = $1 and topic = 'mobilisation.published'", &id).await,
        1
    );
    app.post(
        &format!("/api/v1/mobilisations/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    app.post(
        &format!("/api/v1/mobilisations/{id}/close"),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    let done = app
        .post(
            &format!("/api/v1/mobilisations/{id}/complete"),
            &app.admin,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(done.body["status"], "completed");
    app.post(
        &format!("/api/v1/mobilisations/{id}/cancel"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    assert_eq!(
        app.scalar(
            "select count(*) from mobilisation_events where mobilisation_id = $1",
            &id
        )
        .await,
        4
    );
    let list = app
        .get(
            &format!("/api/v1/communities/{c}/mobilisations"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(list.item_ids(), [id]);
}

#[tokio::test]
async fn bad_plans_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let path = format!("/api/v1/communities/{c}/mobilisations");
    let bad = app
        .post(&path, &app.admin, plan(json!([{"title": "巡堤"}])))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [("slots[0].count".into(), "required".into())]
    );
    let bad = app
        .post(
            &path,
            &app.admin,
            plan(json!([{"title": "巡堤", "count": 0}])),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [("slots[0].count".into(), "out_of_range".into())]
    );
    let mut b = plan(json!([{"title": "巡堤", "count": 1}]));
    b["ends_at"] = json!("2030-07-01T07:00:00Z");
    let bad = app
        .post(&path, &app.admin, b)
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [("ends_at".into(), "end_before_start".into())]
    );
    let mut b = plan(json!([]));
    b["kind"] = json!("party");
    b["check_in_radius_m"] = json!(0);
    b["attendance_mode"] = json!("sometimes");
    let bad = app
        .post(&path, &app.admin, b)
        .await
        .problem(422, "validation_failed");
    let codes = bad.field_codes();
    for f in ["kind", "check_in_radius_m", "attendance_mode", "slots"] {
        assert!(codes.iter().any(|(x, _)| x == f), "{f}: {codes:?}");
    }
    let mut b = plan(json!([{"title": "巡堤", "count": 1}]));
    b["audience"] = json!({"grid_ids": ["0190a000-0000-7000-8000-000000000000"]});
    let bad = app
        .post(&path, &app.admin, b)
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [("audience.grid_ids[0]".into(), "unknown_reference".into())]
    );
    let mut b = plan(json!([{"title": "巡堤", "count": 1}]));
    b["surprise"] = json!(1);
    assert!(app.post(&path, &app.admin, b).await.status / 100 == 4);
    assert_eq!(
        app.scalar(
            "select count(*) from mobilisations where community_id = $1",
            &c
        )
        .await,
        0
    );
    assert_eq!(
        app.scalar("select count(*) from outbox where community_id = $1", &c)
            .await,
        0
    );
}

#[tokio::test]
async fn who_sees_and_moves_a_mobilisation() {
    let app = spawn_app().await;
    let (c, other) = (app.community("甲").await, app.community("乙").await);
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let (_, outsider) = app.user("dispatcher", Some(&other)).await;
    let (_, resident) = app.user("resident", Some(&c)).await;
    let (_, volunteer) = app.volunteer_account(&c, json!({})).await;
    let (_, stranger_vol) = app.volunteer_account(&other, json!({})).await;
    let grid = app.grid(&c, "第一网格", &[]).await;
    let (_, in_grid) = app
        .volunteer_account(&c, json!({"home_grid_id": grid}))
        .await;
    let path = format!("/api/v1/communities/{c}/mobilisations");
    let draft = app
        .post(
            &path,
            &dispatcher,
            plan(json!([{"title": "巡堤", "count": 1}])),
        )
        .await
        .expect(201)
        .id();
    // A draft is staff's only.
    app.get(&format!("/api/v1/mobilisations/{draft}"), &volunteer)
        .await
        .problem(404, "not_found");
    let list = app.get(&path, &volunteer).await.expect(200);
    assert!(list.items().is_empty());
    let mut gridded = plan(json!([{"title": "巡堤", "count": 1}]));
    gridded["audience"] = json!({"grid_ids": [grid]});
    let only_grid = published(&app, &c, gridded).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let all = published(&app, &c, plan(json!([{"title": "巡堤", "count": 1}]))).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(&format!("/api/v1/mobilisations/{all}"), &volunteer)
        .await
        .expect(200);
    app.get(&format!("/api/v1/mobilisations/{only_grid}"), &volunteer)
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/mobilisations/{only_grid}"), &in_grid)
        .await
        .expect(200);
    assert_eq!(
        app.get(&path, &volunteer).await.expect(200).item_ids(),
        std::slice::from_ref(&all)
    );
    assert_eq!(
        app.get(&path, &in_grid).await.expect(200).item_ids(),
        [only_grid.clone(), all.clone()]
    );
    for t in [&outsider, &stranger_vol] {
        app.get(&format!("/api/v1/mobilisations/{all}"), t)
            .await
            .problem(404, "not_found");
        app.get(&path, t).await.problem(404, "not_found");
        app.post(&path, t, plan(json!([{"title": "巡堤", "count": 1}])))
            .await
            .problem(404, "not_found");
        app.post(
            &format!("/api/v1/mobilisations/{draft}/publish"),
            t,
            json!({}),
        )
        .await
        .problem(404, "not_found");
    }
    app.get(&format!("/api/v1/mobilisations/{all}"), &resident)
        .await
        .problem(404, "not_found");
    app.get(&path, &resident).await.problem(403, "forbidden");
    app.post(
        &path,
        &volunteer,
        plan(json!([{"title": "巡堤", "count": 1}])),
    )
    .await
    .problem(403, "forbidden");
    app.post(
        &format!("/api/v1/mobilisations/{all}/close"),
        &volunteer,
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    app.post(
        &format!("/api/v1/mobilisations/{draft}/publish"),
        &dispatcher,
        json!({}),
    )
    .await
    .expect(200);
}

async fn slot_of(m: &Value, n: usize) -> String {
    m["slots"][n]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn sign_ups_wait_in_order_and_move_up_when_a_place_is_freed() {
    let app = spawn_app().await;
    let (c, other) = (app.community("甲").await, app.community("乙").await);
    let m = published(&app, &c, plan(json!([{"title": "巡堤", "count": 1}]))).await;
    let id = m["id"].as_str().unwrap().to_string();
    let slot = slot_of(&m, 0).await;
    let signups = format!("/api/v1/mobilisations/{id}/signups");
    let (_, ta) = app.volunteer_account(&c, json!({})).await;
    let (b, tb) = app.volunteer_account(&c, json!({})).await;
    let (cv, _) = app.volunteer_account(&c, json!({})).await;
    let (_, stranger) = app.volunteer_account(&other, json!({})).await;
    let first = app
        .post(&signups, &ta, json!({"slot_id": slot}))
        .await
        .expect(201);
    assert_eq!(first.body["status"], "confirmed");
    assert_eq!(first.body["position"], Value::Null);
    assert!(
        first
            .header("location")
            .unwrap()
            .ends_with(&format!("/api/v1/mobilisation-signups/{}", first.id()))
    );
    app.post(&signups, &ta, json!({"slot_id": slot}))
        .await
        .problem(409, "already_signed_up");
    let second = app
        .post(&signups, &tb, json!({"slot_id": slot}))
        .await
        .expect(201);
    assert_eq!(
        (
            second.body["status"].clone(),
            second.body["position"].clone()
        ),
        (json!("waiting"), json!(1))
    );
    // Staff sign up on a volunteer's behalf; a volunteer may not sign up someone else.
    app.post(&signups, &ta, json!({"slot_id": slot, "volunteer_id": cv}))
        .await
        .problem(403, "forbidden");
    let third = app
        .post(
            &signups,
            &app.admin,
            json!({"slot_id": slot, "volunteer_id": cv}),
        )
        .await
        .expect(201);
    assert_eq!(third.body["position"], 2);
    app.post(&signups, &app.admin, json!({"slot_id": slot}))
        .await
        .problem(422, "validation_failed");
    app.post(
        &signups,
        &app.admin,
        json!({"slot_id": id, "volunteer_id": cv}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(&signups, &stranger, json!({"slot_id": slot}))
        .await
        .problem(404, "not_found");
    let got = app.get(&signups, &app.admin).await.expect(200);
    assert_eq!(got.items().len(), 3);
    assert_eq!(
        app.get(&signups, &tb).await.expect(200).item_ids(),
        [second.id()]
    );
    app.get(&format!("/api/v1/mobilisation-signups/{}", first.id()), &tb)
        .await
        .problem(404, "not_found");
    app.get(
        &format!("/api/v1/mobilisation-signups/{}", first.id()),
        &stranger,
    )
    .await
    .problem(404, "not_found");
    app.post(
        &format!("/api/v1/mobilisation-signups/{}/withdraw", first.id()),
        &tb,
        json!({}),
    )
    .await
    .problem(404, "not_found");
    let m2 = app
        .get(&format!("/api/v1/mobilisations/{id}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(
        (
            m2.body["slots"][0]["confirmed"].clone(),
            m2.body["slots"][0]["waiting"].clone()
        ),
        (json!(1), json!(2))
    );
    // A withdrawal promotes the first waiting volunteer.
    let left = app
        .post(
            &format!("/api/v1/mobilisation-signups/{}/withdraw", first.id()),
            &ta,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(left.body["signup"]["status"], "withdrawn");
    assert_eq!(left.body["promoted"]["id"], json!(second.id()));
    assert_eq!(left.body["promoted"]["volunteer_id"], json!(b));
    app.post(
        &format!("/api/v1/mobilisation-signups/{}/withdraw", first.id()),
        &ta,
        json!({}),
    )
    .await
    .problem(409, "not_signed_up");
    let now = app
        .get(
            &format!("/api/v1/mobilisation-signups/{}", third.id()),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(now.body["position"], 1);
    assert_eq!(
        app.scalar("select count(*) from outbox where aggregate_id = $1 and topic = 'mobilisation.promoted'", &id).await,
        1
    );
    // Staff remove; the next one moves up.
    let removed = app
        .post(
            &format!("/api/v1/mobilisation-signups/{}/withdraw", second.id()),
            &app.admin,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(removed.body["signup"]["status"], "removed");
    assert_eq!(removed.body["promoted"]["id"], json!(third.id()));
    // Once closed, no more sign-ups.
    app.post(
        &format!("/api/v1/mobilisations/{id}/close"),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    app.post(&signups, &ta, json!({"slot_id": slot}))
        .await
        .problem(409, "not_open");
}

#[tokio::test]
async fn a_confirmed_place_may_not_overlap_another() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let (v, t) = app.volunteer_account(&c, json!({})).await;
    let one = published(&app, &c, plan(json!([{"title": "巡堤", "count": 1}]))).await;
    let mut later = plan(json!([{"title": "巡堤", "count": 1}]));
    later["starts_at"] = json!("2030-07-01T11:00:00Z");
    later["ends_at"] = json!("2030-07-01T15:00:00Z");
    let two = published(&app, &c, later).await;
    let mut after = plan(json!([{"title": "巡堤", "count": 1}]));
    after["starts_at"] = json!("2030-07-01T12:00:00Z");
    after["ends_at"] = json!("2030-07-01T15:00:00Z");
    let three = published(&app, &c, after).await;
    let path = |m: &Value| {
        format!(
            "/api/v1/mobilisations/{}/signups",
            m["id"].as_str().unwrap()
        )
    };
    app.post(&path(&one), &t, json!({"slot_id": one["slots"][0]["id"]}))
        .await
        .expect(201);
    app.post(&path(&two), &t, json!({"slot_id": two["slots"][0]["id"]}))
        .await
        .problem(409, "schedule_conflict");
    app.post(
        &path(&two),
        &app.admin,
        json!({"slot_id": two["slots"][0]["id"], "volunteer_id": v}),
    )
    .await
    .problem(409, "schedule_conflict");
    app.post(
        &path(&three),
        &t,
        json!({"slot_id": three["slots"][0]["id"]}),
    )
    .await
    .expect(201);
    assert_eq!(
        app.scalar(
            "select count(*) from mobilisation_signups where volunteer_id = $1",
            &v
        )
        .await,
        2
    );
}

/// 200 volunteers for 20 places at once: exactly 20 confirmed, 180 waiting at 1…180; then 20
/// withdrawals promote exactly the first 20 waiting, in order.
#[tokio::test]
async fn two_hundred_volunteers_race_for_twenty_places() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let m = published(&app, &c, plan(json!([{"title": "巡堤", "count": 20}]))).await;
    let id = m["id"].as_str().unwrap().to_string();
    let slot = slot_of(&m, 0).await;
    let mut volunteers = Vec::new();
    for _ in 0..10 {
        let made = join_all((0..20).map(|_| async {
            let (user, _) = app.user("volunteer", Some(&c)).await;
            app.volunteer(&c, &user, json!({})).await.expect(201).id()
        }))
        .await;
        volunteers.extend(made);
    }
    let path = format!("/api/v1/mobilisations/{id}/signups");
    let results = join_all(volunteers.iter().map(|v| {
        app.post(
            &path,
            &app.admin,
            json!({"slot_id": slot, "volunteer_id": v}),
        )
    }))
    .await;
    for r in &results {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let all = app.get(&path, &app.admin).await.expect(200).items();
    assert_eq!(all.len(), 200);
    let confirmed: Vec<&Value> = all.iter().filter(|s| s["status"] == "confirmed").collect();
    let mut waiting: Vec<&Value> = all.iter().filter(|s| s["status"] == "waiting").collect();
    assert_eq!(confirmed.len(), 20);
    waiting.sort_by_key(|s| s["position"].as_i64());
    let positions: Vec<i64> = waiting
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (1..=180).collect::<Vec<_>>());
    let first_twenty: Vec<String> = waiting[..20]
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let paths: Vec<String> = confirmed
        .iter()
        .map(|s| {
            format!(
                "/api/v1/mobilisation-signups/{}/withdraw",
                s["id"].as_str().unwrap()
            )
        })
        .collect();
    let withdrawals = join_all(paths.iter().map(|p| app.post(p, &app.admin, json!({})))).await;
    for r in &withdrawals {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let mut promoted: Vec<(String, String)> = withdrawals
        .iter()
        .map(|r| {
            (
                r.body["promoted"]["updated_at"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r.body["promoted"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    promoted.sort();
    let mut ids: Vec<String> = promoted.into_iter().map(|(_, id)| id).collect();
    let mut expected = first_twenty.clone();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
    // In order: the promotions, as the timeline recorded them one after another, took the
    // waiting list from its head.
    let mid = uuid::Uuid::parse_str(&id).unwrap();
    let events: Vec<sqlx::types::Json<Value>> = on_test_db!(app, p => sqlx::query_scalar(
        "select data from mobilisation_events where mobilisation_id = $1 and kind = 'promoted' order by id")
        .bind(mid).fetch_all(p).await)
    .unwrap();
    let in_order: Vec<String> = events
        .iter()
        .map(|e| e.0["signup_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(in_order, first_twenty);
    let after = app.get(&path, &app.admin).await.expect(200).items();
    let now_confirmed: Vec<String> = after
        .iter()
        .filter(|s| s["status"] == "confirmed")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mut a = now_confirmed.clone();
    a.sort();
    assert_eq!(a, expected);
    let mut still: Vec<i64> = after
        .iter()
        .filter(|s| s["status"] == "waiting")
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    still.sort();
    assert_eq!(still, (1..=160).collect::<Vec<_>>());
    let m2 = app
        .get(&format!("/api/v1/mobilisations/{id}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(
        (
            m2.body["slots"][0]["confirmed"].clone(),
            m2.body["slots"][0]["waiting"].clone()
        ),
        (json!(20), json!(160))
    );
}

/// A sign-up retried with its `Idempotency-Key` answers the first one again; nothing doubles.
#[tokio::test]
async fn a_retried_sign_up_is_answered_once() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let m = published(&app, &c, plan(json!([{"title": "巡堤", "count": 1}]))).await;
    let (v, t) = app.volunteer_account(&c, json!({})).await;
    let path = format!(
        "/api/v1/mobilisations/{}/signups",
        m["id"].as_str().unwrap()
    );
    let body = json!({"slot_id": m["slots"][0]["id"]});
    let send = || {
        app.send(
            app.req(reqwest::Method::POST, &path)
                .bearer_auth(&t)
                .header("idempotency-key", "signup-1")
                .json(&body),
        )
    };
    let first = send().await.expect(201);
    let again = send().await.expect(201);
    assert_eq!(again.id(), first.id());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        app.scalar(
            "select count(*) from mobilisation_signups where volunteer_id = $1",
            &v
        )
        .await,
        1
    );
}
