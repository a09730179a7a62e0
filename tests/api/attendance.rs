//! Attendance at mobilisations: check-in and check-out by place or by the rotating code, the
//! daily limit, the modes, staff's rows by hand, the sweeper's auto check-out, and the pending
//! hours each finished attendance gives; who may do what.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use huying::services::sweeper;

pub const HERE: (f64, f64) = (36.19, 113.12);

pub struct Site {
    pub community: String,
    pub id: String,
    pub slot: String,
}

fn at(minutes: i64) -> String {
    (Utc::now() + Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A published mobilisation of a new community in `mode`, starting `start` minutes from now and
/// lasting `length` minutes.
pub async fn site(app: &TestApp, mode: &str, start: i64, length: i64) -> Site {
    let community = app.community("甲").await;
    site_in(app, &community, mode, start, length).await
}

pub async fn site_in(app: &TestApp, community: &str, mode: &str, start: i64, length: i64) -> Site {
    let m = app
        .post(
            &format!("/api/v1/communities/{community}/mobilisations"),
            &app.admin,
            json!({"title": "河堤清理", "kind": "event", "location": {"lat": HERE.0, "lng": HERE.1},
                   "starts_at": at(start), "ends_at": at(start + length), "attendance_mode": mode,
                   "slots": [{"title": "清理", "count": 50}]}),
        )
        .await
        .expect(201);
    let id = m.id();
    let slot = m.body["slots"][0]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/mobilisations/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    Site {
        community: community.to_string(),
        id,
        slot,
    }
}

/// A volunteer of the site's community with a confirmed place: (volunteer id, token).
pub async fn signed_up(app: &TestApp, s: &Site) -> (String, String) {
    let (v, token) = app.volunteer_account(&s.community, json!({})).await;
    app.post(
        &format!("/api/v1/mobilisations/{}/signups", s.id),
        &token,
        json!({"slot_id": s.slot}),
    )
    .await
    .expect(201);
    (v, token)
}

fn here() -> Value {
    json!({"method": "location", "lat": HERE.0, "lng": HERE.1})
}

async fn code(app: &TestApp, s: &Site) -> Value {
    let c = app
        .get(
            &format!("/api/v1/mobilisations/{}/check-in-code", s.id),
            &app.admin,
        )
        .await
        .expect(200);
    json!({"method": "code", "code": c.body["code"]})
}

async fn rows(app: &TestApp, s: &Site) -> i64 {
    app.scalar(
        "select count(*) from mobilisation_attendance where mobilisation_id = $1",
        &s.id,
    )
    .await
}

async fn entries(app: &TestApp, s: &Site) -> i64 {
    app.scalar(
        "select count(*) from hours_entries where source_id = $1 and status = 'pending'",
        &s.id,
    )
    .await
}

#[tokio::test]
async fn a_pair_by_place_and_by_code_and_the_refusals_on_the_way() {
    let app = spawn_app().await;
    let s = site(&app, "check_in_out", -30, 120).await;
    let (v, token) = signed_up(&app, &s).await;
    let path = format!("/api/v1/mobilisations/{}", s.id);
    app.post(
        &format!("{path}/check-in"),
        &token,
        json!({"method": "location", "lat": HERE.0 + 0.01, "lng": HERE.1}),
    )
    .await
    .problem(422, "too_far");
    app.post(
        &format!("{path}/check-in"),
        &token,
        json!({"method": "code", "code": "12345"}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        &format!("{path}/check-in"),
        &token,
        json!({"method": "location"}),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(rows(&app, &s).await, 0);
    app.post(&format!("{path}/check-out"), &token, here())
        .await
        .problem(409, "not_checked_in");

    let c = app
        .post(&format!("{path}/check-in"), &token, here())
        .await
        .expect(201);
    assert_eq!(c.body["status"], "open");
    assert!(
        c.header("location")
            .unwrap()
            .ends_with(&format!("{path}/attendance"))
    );
    assert_eq!(c.body["volunteer_id"], v.as_str());
    assert_eq!(c.body["check_in_method"], "location");
    app.post(&format!("{path}/check-in"), &token, here())
        .await
        .problem(409, "already_checked_in");

    let shown = code(&app, &s).await;
    let stale = if shown["code"] == "000000" {
        "000001"
    } else {
        "000000"
    };
    app.post(
        &format!("{path}/check-out"),
        &token,
        json!({"method": "code", "code": stale}),
    )
    .await
    .problem(422, "stale_code");
    let out = app
        .post(&format!("{path}/check-out"), &token, shown)
        .await
        .expect(200);
    assert_eq!(out.body["status"], "closed");
    assert_eq!(out.body["check_out_method"], "code");
    assert_eq!(out.body["auto_checked_out"], false);
    assert_eq!(rows(&app, &s).await, 1);
}

#[tokio::test]
async fn a_fourth_pair_in_a_day_is_refused() {
    let app = spawn_app().await;
    let s = site(&app, "check_in_out", -30, 120).await;
    let (_, token) = signed_up(&app, &s).await;
    let path = format!("/api/v1/mobilisations/{}", s.id);
    for _ in 0..3 {
        app.post(&format!("{path}/check-in"), &token, code(&app, &s).await)
            .await
            .expect(201);
        app.post(&format!("{path}/check-out"), &token, here())
            .await
            .expect(200);
    }
    app.post(&format!("{path}/check-in"), &token, here())
        .await
        .problem(409, "too_many_pairs");
    assert_eq!(rows(&app, &s).await, 3);
    let list = app
        .get(&format!("{path}/attendance"), &token)
        .await
        .expect(200);
    assert_eq!(list.items().len(), 3);
}

#[tokio::test]
async fn in_check_in_mode_the_check_in_is_the_attendance_with_the_planned_hours() {
    let app = spawn_app().await;
    let s = site(&app, "check_in", 30, 150).await;
    let (v, token) = signed_up(&app, &s).await;
    let path = format!("/api/v1/mobilisations/{}", s.id);
    let c = app
        .post(&format!("{path}/check-in"), &token, here())
        .await
        .expect(201);
    assert_eq!(c.body["status"], "closed");
    assert_eq!(c.body["minutes"], 150);
    app.post(&format!("{path}/check-in"), &token, here())
        .await
        .problem(409, "already_checked_in");
    app.post(&format!("{path}/check-out"), &token, here())
        .await
        .problem(409, "attendance_not_required");
    assert_eq!(entries(&app, &s).await, 1);
    assert_eq!(
        app.scalar(
            "select minutes from hours_entries where volunteer_id = $1",
            &v
        )
        .await,
        150
    );
}

#[tokio::test]
async fn check_in_opens_an_hour_before_the_start() {
    let app = spawn_app().await;
    let s = site(&app, "check_in_out", 90, 60).await;
    let (_, token) = signed_up(&app, &s).await;
    app.post(
        &format!("/api/v1/mobilisations/{}/check-in", s.id),
        &token,
        here(),
    )
    .await
    .problem(409, "check_in_not_open");
    assert_eq!(rows(&app, &s).await, 0);
}

#[tokio::test]
async fn without_attendance_completion_credits_every_confirmed_place() {
    let app = spawn_app().await;
    let s = site(&app, "none", -30, 120).await;
    let (_, token) = signed_up(&app, &s).await;
    signed_up(&app, &s).await;
    app.post(
        &format!("/api/v1/mobilisations/{}/check-in", s.id),
        &token,
        here(),
    )
    .await
    .problem(409, "attendance_not_required");
    app.get(
        &format!("/api/v1/mobilisations/{}/check-in-code", s.id),
        &app.admin,
    )
    .await
    .problem(409, "attendance_not_required");
    assert_eq!(entries(&app, &s).await, 0);
    app.post(
        &format!("/api/v1/mobilisations/{}/complete", s.id),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(entries(&app, &s).await, 2);
    assert_eq!(
        app.scalar(
            "select cast(sum(minutes) as bigint) from hours_entries where source_id = $1",
            &s.id
        )
        .await,
        240
    );
}

#[tokio::test]
async fn a_check_in_left_open_a_day_is_closed_at_the_planned_end() {
    let app = spawn_app().await;
    let s = site(&app, "check_in_out", -30, 120).await;
    let (_, token) = signed_up(&app, &s).await;
    let path = format!("/api/v1/mobilisations/{}", s.id);
    app.post(&format!("{path}/check-in"), &token, here())
        .await
        .expect(201);
    sweeper::sweep(&app.state, Utc::now() + Duration::hours(23))
        .await
        .unwrap();
    let list = app
        .get(&format!("{path}/attendance"), &app.admin)
        .await
        .expect(200);
    assert_eq!(list.items()[0]["status"], "open");
    for _ in 0..2 {
        sweeper::sweep(&app.state, Utc::now() + Duration::hours(25))
            .await
            .unwrap();
    }
    let list = app
        .get(&format!("{path}/attendance"), &token)
        .await
        .expect(200);
    let row = &list.items()[0];
    assert_eq!(row["status"], "closed");
    assert_eq!(row["auto_checked_out"], true);
    assert_eq!(row["check_out_method"], "auto");
    let m = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(
        row["checked_out_at"].as_str().unwrap()[..16],
        m.body["ends_at"].as_str().unwrap()[..16]
    );
    assert_eq!(entries(&app, &s).await, 1);
    let minutes = row["minutes"].as_i64().unwrap();
    assert!((89..=90).contains(&minutes), "{minutes}");
}

#[tokio::test]
async fn staff_record_attendance_by_hand_with_a_reason() {
    let app = spawn_app().await;
    let s = site(&app, "check_in_out", -300, 240).await;
    let (v, _) = signed_up(&app, &s).await;
    let (stranger, _) = app.volunteer_account(&s.community, json!({})).await;
    let path = format!("/api/v1/mobilisations/{}/attendance", s.id);
    let body = |v: &str, from: i64, to: i64, reason: &str| json!({"volunteer_id": v, "checked_in_at": at(from), "checked_out_at": at(to), "reason": reason});
    let bad = app
        .post(&path, &app.admin, body(&v, -200, -100, " "))
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.field_codes(), [("reason".into(), "required".into())]);
    let bad = app
        .post(&path, &app.admin, body(&v, -100, -200, "忘记签退"))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [("checked_out_at".into(), "end_before_start".into())]
    );
    app.post(&path, &app.admin, body(&stranger, -200, -100, "忘记签退"))
        .await
        .problem(409, "not_signed_up");
    assert_eq!(rows(&app, &s).await, 0);
    assert_eq!(entries(&app, &s).await, 0);
    // Clipped to the plan: from its start (300 min ago) to 100 minutes ago.
    let r = app
        .post(&path, &app.admin, body(&v, -320, -100, "手机没电"))
        .await
        .expect(201);
    assert_eq!(r.body["check_in_method"], "manual");
    assert_eq!(r.body["reason"], "手机没电");
    assert_eq!(r.body["minutes"], 200);
    assert_eq!(entries(&app, &s).await, 1);
}

#[tokio::test]
async fn outsiders_see_nothing_and_volunteers_only_their_own() {
    let app = spawn_app().await;
    let s = site(&app, "check_in_out", -30, 120).await;
    let (a, a_token) = signed_up(&app, &s).await;
    let (_, b_token) = signed_up(&app, &s).await;
    let (_, unsigned) = app.volunteer_account(&s.community, json!({})).await;
    let other = app.community("乙").await;
    let (_, other_staff) = app.user("community_admin", Some(&other)).await;
    let (_, other_volunteer) = app.volunteer_account(&other, json!({})).await;
    let path = format!("/api/v1/mobilisations/{}", s.id);

    app.post(&format!("{path}/check-in"), &a_token, here())
        .await
        .expect(201);
    app.post(&format!("{path}/check-in"), &b_token, here())
        .await
        .expect(201);
    app.post(&format!("{path}/check-in"), &unsigned, here())
        .await
        .problem(409, "not_signed_up");
    let own = app
        .get(&format!("{path}/attendance"), &a_token)
        .await
        .expect(200);
    assert_eq!(own.items().len(), 1);
    assert_eq!(own.items()[0]["volunteer_id"], a.as_str());
    let all = app
        .get(&format!("{path}/attendance"), &app.admin)
        .await
        .expect(200);
    assert_eq!(all.items().len(), 2);

    for token in [&other_staff, &other_volunteer] {
        app.get(&format!("{path}/check-in-code"), token)
            .await
            .problem(404, "not_found");
        app.get(&format!("{path}/attendance"), token)
            .await
            .problem(404, "not_found");
        app.post(&format!("{path}/check-in"), token, here())
            .await
            .problem(404, "not_found");
        app.post(&format!("{path}/check-out"), token, here())
            .await
            .problem(404, "not_found");
        // Recording attendance by hand is staff's, and only of their own community.
        app.post(
            &format!("{path}/attendance"),
            token,
            json!({"volunteer_id": a, "checked_in_at": at(-20), "checked_out_at": at(-10), "reason": "代录"}),
        )
        .await
        .problem(404, "not_found");
    }
    assert_eq!(rows(&app, &s).await, 2, "only the two check-ins");
    app.get(&format!("{path}/check-in-code"), &a_token)
        .await
        .problem(403, "forbidden");
    app.post(
        &format!("{path}/attendance"),
        &a_token,
        json!({"volunteer_id": a, "checked_in_at": at(-20), "checked_out_at": at(-10), "reason": "x"}),
    )
    .await
    .problem(403, "forbidden");
    app.post(&format!("{path}/check-in"), &app.admin, here())
        .await
        .problem(403, "forbidden");
}
