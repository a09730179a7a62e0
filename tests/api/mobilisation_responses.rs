//! "Can't come" and the live counts of a call-out: coming, can't and no answer among the
//! volunteers it reached; who may answer and who may read them.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Sunday 2030-07-07 afternoon in Shanghai: outside the test volunteers' declared hours.
fn plan(kind: &str, audience: Value) -> Value {
    json!({"title": "寻找走失老人", "kind": kind, "starts_at": "2030-07-07T06:00:00Z",
           "ends_at": "2030-07-07T08:00:00Z", "audience": audience,
           "slots": [{"title": "搜寻", "count": 1}, {"title": "后勤", "count": 5}]})
}

async fn create(app: &TestApp, token: &str, community: &str, body: Value) -> Value {
    app.post(
        &format!("/api/v1/communities/{community}/mobilisations"),
        token,
        body,
    )
    .await
    .expect(201)
    .body
}

async fn publish(app: &TestApp, token: &str, id: &str) {
    app.post(
        &format!("/api/v1/mobilisations/{id}/publish"),
        token,
        json!({}),
    )
    .await
    .expect(200);
}

async fn counts(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(&format!("/api/v1/mobilisations/{id}/counts"), token)
        .await
        .expect(200)
        .body
}

fn numbers(c: &Value) -> [i64; 4] {
    ["audience", "coming", "cant", "no_answer"].map(|k| c[k].as_i64().unwrap())
}

#[tokio::test]
async fn the_dispatcher_follows_coming_cant_and_no_answer() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let mut vols = Vec::new();
    for _ in 0..4 {
        vols.push(app.volunteer_account(&c, json!({})).await);
    }
    let m = create(&app, &dispatcher, &c, plan("emergency", json!({}))).await;
    let id = m["id"].as_str().unwrap().to_string();
    let slot = m["slots"][0]["id"].as_str().unwrap().to_string();
    publish(&app, &dispatcher, &id).await;
    assert_eq!(numbers(&counts(&app, &dispatcher, &id).await), [4, 0, 0, 4]);

    let signups = format!("/api/v1/mobilisations/{id}/signups");
    let decline = format!("/api/v1/mobilisations/{id}/decline");
    for (_, t) in &vols[..2] {
        app.post(&signups, t, json!({"slot_id": slot}))
            .await
            .expect(201);
    }
    let (v2, t2) = &vols[2];
    let d = app
        .post(&decline, t2, json!({"reason": "在外地"}))
        .await
        .expect(200);
    assert_eq!(d.body["volunteer_id"], v2.as_str());
    assert_eq!(d.body["answer"], "cant");
    assert_eq!(d.body["reason"], "在外地");
    // Answering again keeps the latest reason; no second answer is counted.
    let again = app.post(&decline, t2, json!({})).await.expect(200);
    assert!(again.body["reason"].is_null());
    let now = counts(&app, &dispatcher, &id).await;
    assert_eq!(numbers(&now), [4, 2, 1, 1]);
    assert_eq!(now["slots"][0]["confirmed"], 1);
    assert_eq!(now["slots"][0]["waiting"], 1);
    assert_eq!(now["slots"][1]["count"], 5);
    // Someone signed up withdraws first; signing up undoes a "can't".
    app.post(&decline, &vols[0].1, json!({}))
        .await
        .problem(409, "already_signed_up");
    app.post(&signups, t2, json!({"slot_id": slot}))
        .await
        .expect(201);
    assert_eq!(numbers(&counts(&app, &dispatcher, &id).await), [4, 3, 0, 1]);
    // Bad input writes nothing.
    let long = "长".repeat(2001);
    app.post(&decline, &vols[3].1, json!({"reason": long}))
        .await
        .problem(422, "validation_failed");
    app.post(&decline, &vols[3].1, json!({"why": "x"}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(numbers(&counts(&app, &dispatcher, &id).await), [4, 3, 0, 1]);
    app.post(&decline, &vols[3].1, json!({})).await.expect(200);
    assert_eq!(numbers(&counts(&app, &dispatcher, &id).await), [4, 3, 1, 0]);
    // After the call-out, nobody answers any more.
    app.post(
        &format!("/api/v1/mobilisations/{id}/complete"),
        &dispatcher,
        json!({}),
    )
    .await
    .expect(200);
    app.post(&decline, &vols[3].1, json!({}))
        .await
        .problem(409, "not_open");
}

#[tokio::test]
async fn a_non_emergency_counts_those_it_reached_by_their_hours() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    // Monday mornings (the default), and no declared hours: only the second is free on Sunday.
    let (_, busy) = app.volunteer_account(&c, json!({})).await;
    let (_, free) = app.volunteer_account(&c, json!({"availability": []})).await;
    let m = create(&app, &app.admin, &c, plan("event", json!({}))).await;
    let id = m["id"].as_str().unwrap().to_string();
    publish(&app, &app.admin, &id).await;
    assert_eq!(numbers(&counts(&app, &app.admin, &id).await), [1, 0, 0, 1]);
    // Whoever was not called may still answer; they count, outside the audience.
    let decline = format!("/api/v1/mobilisations/{id}/decline");
    app.post(&decline, &busy, json!({})).await.expect(200);
    assert_eq!(numbers(&counts(&app, &app.admin, &id).await), [1, 0, 1, 1]);
    app.post(&decline, &free, json!({})).await.expect(200);
    assert_eq!(numbers(&counts(&app, &app.admin, &id).await), [1, 0, 2, 0]);
}

#[tokio::test]
async fn only_the_audience_answers_and_only_staff_read_the_counts() {
    let app = spawn_app().await;
    let (c, other) = (app.community("甲").await, app.community("乙").await);
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let (_, outsider) = app.user("dispatcher", Some(&other)).await;
    let (_, resident) = app.user("resident", Some(&c)).await;
    let grid = app.grid(&c, "第一网格", &[]).await;
    let (_, in_grid) = app
        .volunteer_account(&c, json!({"home_grid_id": grid}))
        .await;
    let (_, not_in_grid) = app.volunteer_account(&c, json!({})).await;
    let (_, stranger) = app.volunteer_account(&other, json!({})).await;
    let m = create(
        &app,
        &dispatcher,
        &c,
        plan("emergency", json!({"grid_ids": [grid]})),
    )
    .await;
    let id = m["id"].as_str().unwrap().to_string();
    let decline = format!("/api/v1/mobilisations/{id}/decline");
    let count_path = format!("/api/v1/mobilisations/{id}/counts");
    // A draft is nobody's to answer.
    app.post(&decline, &in_grid, json!({}))
        .await
        .problem(404, "not_found");
    publish(&app, &dispatcher, &id).await;
    for t in [&not_in_grid, &stranger, &outsider, &resident] {
        app.post(&decline, t, json!({}))
            .await
            .problem(404, "not_found");
        app.get(&format!("/api/v1/mobilisations/{id}"), t)
            .await
            .problem(404, "not_found");
    }
    for t in [&stranger, &outsider, &resident, &not_in_grid] {
        app.get(&count_path, t).await.problem(404, "not_found");
    }
    // In the audience, a volunteer answers for themselves but reads no counts; staff the reverse.
    app.get(&count_path, &in_grid)
        .await
        .problem(403, "forbidden");
    app.post(&decline, &dispatcher, json!({}))
        .await
        .problem(403, "forbidden");
    app.post(&decline, &in_grid, json!({})).await.expect(200);
    let seen = counts(&app, &dispatcher, &id).await;
    assert_eq!(numbers(&seen), [1, 0, 1, 0]);
}
