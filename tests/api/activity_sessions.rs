//! Guardians and pick-up people, a session's sign-in and sign-out (only to who may take the
//! child), the attendance report, carers' pending hours, the overdue pick-up alert, and the demo's
//! summer childcare.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::activities::{childcare, family, published};
use crate::helpers::{on_test_db, spawn_app};

fn at(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn guardians_and_pickup_people_are_recorded_by_staff_and_a_guardian_sees_only_their_own() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let other = app.community("乙").await;
    let (_, outsider) = app.user("community_admin", Some(&other)).await;
    let (_, volunteer) = app.volunteer_account(&c, json!({})).await;
    let one = family(&app, &c, "2020-05-01", "13811112222").await;
    let two = family(&app, &c, "2021-09-01", "13811113333").await;
    let guardians = format!("/api/v1/residents/{}/guardians", one.child);
    let pickups = format!("/api/v1/residents/{}/pickup-people", one.child);
    let g = app.get(&guardians, &one.token).await.expect(200).items();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0]["resident_id"], one.guardian_resident.as_str());
    assert_eq!(g[0]["relation"], "母亲");
    app.post(
        &guardians,
        &app.admin,
        json!({"resident_id": one.guardian_resident}),
    )
    .await
    .problem(409, "already_guardian");
    let no_account = app
        .resident(&c, json!({"name": "爷爷"}))
        .await
        .expect(201)
        .id();
    let r = app
        .post(&guardians, &app.admin, json!({"resident_id": no_account}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        vec![("resident_id".to_string(), "no_account".to_string())]
    );
    let p = app
        .post(
            &pickups,
            &app.admin,
            json!({"name": "李阿姨", "phone": "139 0000 1234"}),
        )
        .await
        .expect(201);
    assert_eq!(p.body["phone"], "139****1234");
    app.post(
        &pickups,
        &app.admin,
        json!({"name": "李阿姨", "phone": "13900001234"}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        &pickups,
        &app.admin,
        json!({"name": "李阿姨", "phone": "12345"}),
    )
    .await
    .problem(422, "validation_failed");
    // The phone is kept encrypted.
    let child = uuid::Uuid::parse_str(&one.child).unwrap();
    let cipher: Vec<u8> = on_test_db!(app, p => sqlx::query_scalar(
        "select phone_cipher from pickup_people where child_id = $1").bind(child).fetch_one(p).await)
    .unwrap();
    assert!(!String::from_utf8_lossy(&cipher).contains("13900001234"));
    assert_eq!(app.state.vault.decrypt(&cipher).unwrap(), "13900001234");
    // The guardian reads but does not write; nobody else sees the child.
    let listed = app.get(&pickups, &one.token).await.expect(200).items();
    assert_eq!(listed.len(), 1);
    app.post(
        &pickups,
        &one.token,
        json!({"name": "张三", "phone": "13900005555"}),
    )
    .await
    .problem(403, "forbidden");
    for token in [&two.token, &volunteer, &outsider] {
        app.get(&guardians, token).await.problem(404, "not_found");
        app.get(&pickups, token).await.problem(404, "not_found");
        app.post(
            &pickups,
            token,
            json!({"name": "张三", "phone": "13900005555"}),
        )
        .await
        .problem(404, "not_found");
        app.post(
            &guardians,
            token,
            json!({"resident_id": one.guardian_resident}),
        )
        .await
        .problem(404, "not_found");
    }
    let mine = app
        .get("/api/v1/me/children", &one.token)
        .await
        .expect(200)
        .items();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], one.child.as_str());
    assert_eq!(
        app.get("/api/v1/me/children", &volunteer)
            .await
            .expect(200)
            .items()
            .len(),
        0
    );
}

#[tokio::test]
async fn a_session_signs_children_in_and_out_only_to_who_may_take_them() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let other = app.community("乙").await;
    let (_, outsider) = app.user("community_admin", Some(&other)).await;
    let (carer, carer_token) = app.volunteer_account(&c, json!({})).await;
    let (_, bystander) = app.volunteer_account(&c, json!({})).await;
    let now = Utc::now();
    let mut plan = childcare(5, json!({"volunteer_ids": [carer]}));
    plan["sessions"] = json!([
        {"starts_at": at(now - Duration::hours(3)), "ends_at": at(now - Duration::hours(1))},
        {"starts_at": "2030-07-02T01:00:00Z", "ends_at": "2030-07-02T04:00:00Z"}]);
    plan["min_age"] = Value::Null;
    plan["max_age"] = Value::Null;
    let a = published(&app, &c, plan).await;
    let id = a["id"].as_str().unwrap().to_string();
    let one = family(&app, &c, "2020-05-01", "13811112222").await;
    let two = family(&app, &c, "2021-09-01", "13811113333").await;
    app.post(
        &format!("/api/v1/residents/{}/pickup-people", one.child),
        &app.admin,
        json!({"name": "李阿姨", "phone": "13900001234"}),
    )
    .await
    .expect(201);
    let enrolments = format!("/api/v1/activities/{id}/enrolments");
    let e1 = app
        .post(&enrolments, &app.admin, json!({"child_id": one.child}))
        .await
        .expect(201)
        .id();
    let e2 = app
        .post(&enrolments, &app.admin, json!({"child_id": two.child}))
        .await
        .expect(201)
        .id();
    let sessions = app
        .get(&format!("/api/v1/activities/{id}/sessions"), &carer_token)
        .await
        .expect(200)
        .items();
    let s1 = sessions[0]["id"].as_str().unwrap().to_string();
    let s2 = sessions[1]["id"].as_str().unwrap().to_string();
    let sign_in = format!("/api/v1/activity-sessions/{s1}/sign-ins");
    let sign_out = format!("/api/v1/activity-sessions/{s1}/sign-outs");
    app.post(&sign_in, &bystander, json!({"enrolment_id": e1}))
        .await
        .problem(403, "forbidden");
    app.post(&sign_in, &one.token, json!({"enrolment_id": e1}))
        .await
        .problem(403, "forbidden");
    app.post(&sign_in, &outsider, json!({"enrolment_id": e1}))
        .await
        .problem(404, "not_found");
    let r = app
        .post(&sign_in, &carer_token, json!({"enrolment_id": e1}))
        .await
        .expect(200);
    assert_eq!(r.body["child_id"], one.child.as_str());
    assert!(r.body["signed_out_at"].is_null());
    app.post(&sign_in, &carer_token, json!({"enrolment_id": e1}))
        .await
        .problem(409, "already_signed_in");
    app.post(
        &sign_in,
        &carer_token,
        json!({"enrolment_id": uuid::Uuid::now_v7()}),
    )
    .await
    .problem(422, "validation_failed");
    // A stranger, even with the child's name right, takes nobody; nothing is written.
    app.post(
        &sign_out,
        &carer_token,
        json!({"enrolment_id": e1, "picked_up_by": {"name": "李阿姨", "phone": "13700000000"}}),
    )
    .await
    .problem(409, "pickup_not_authorised");
    // The other family's guardian is no one to this child.
    app.post(
        &sign_out,
        &carer_token,
        json!({"enrolment_id": e1, "picked_up_by": {"name": "王妈妈", "phone": "13811113333"}}),
    )
    .await
    .problem(409, "pickup_not_authorised");
    app.post(
        &sign_out,
        &carer_token,
        json!({"enrolment_id": e1, "picked_up_by": {"name": "李阿姨", "phone": "bad"}}),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(
        app.scalar(
            "select count(*) from activity_attendance where enrolment_id = $1 and signed_out_at is null",
            &e1
        )
        .await,
        1
    );
    app.post(
        &sign_out,
        &carer_token,
        json!({"enrolment_id": e2, "picked_up_by": {"name": "王妈妈", "phone": "13811113333"}}),
    )
    .await
    .problem(409, "not_signed_in");
    let out = app
        .post(
            &sign_out,
            &carer_token,
            json!({"enrolment_id": e1, "picked_up_by": {"name": "李姐", "phone": "139-0000-1234"}}),
        )
        .await
        .expect(200);
    assert_eq!(out.body["picked_up_by"]["name"], "李阿姨");
    assert_eq!(out.body["picked_up_by"]["as"], "pickup_person");
    assert_eq!(out.body["picked_up_by"]["phone"], "139****1234");
    app.post(
        &sign_out,
        &carer_token,
        json!({"enrolment_id": e1, "picked_up_by": {"name": "李阿姨", "phone": "13900001234"}}),
    )
    .await
    .problem(409, "already_signed_out");
    // Staff sign in too; the guardian takes their own child.
    app.post(&sign_in, &app.admin, json!({"enrolment_id": e2}))
        .await
        .expect(200);
    let out = app
        .post(
            &sign_out,
            &carer_token,
            json!({"enrolment_id": e2, "picked_up_by": {"name": "王妈妈", "phone": "13811113333"}}),
        )
        .await
        .expect(200);
    assert_eq!(out.body["picked_up_by"]["as"], "guardian");
    // The report, per session.
    let report = app
        .get(&format!("/api/v1/activities/{id}/attendance"), &carer_token)
        .await
        .expect(200);
    let first = &report.body["sessions"][0];
    assert_eq!(first["session_id"], s1.as_str());
    assert_eq!(
        (
            &first["enrolled"],
            &first["signed_in"],
            &first["signed_out"]
        ),
        (&json!(2), &json!(2), &json!(2))
    );
    assert_eq!(report.body["sessions"][1]["signed_in"], 0);
    app.get(&format!("/api/v1/activities/{id}/attendance"), &one.token)
        .await
        .problem(403, "forbidden");
    // Holding the session gives the volunteer carer one pending hours entry, once.
    let held = app
        .post(
            &format!("/api/v1/activity-sessions/{s1}/complete"),
            &carer_token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(held.body["status"], "held");
    app.post(
        &format!("/api/v1/activity-sessions/{s1}/complete"),
        &carer_token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    app.post(
        &format!("/api/v1/activity-sessions/{s2}/complete"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "not_started");
    app.post(
        &format!("/api/v1/activity-sessions/{s2}/complete"),
        &bystander,
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    assert_eq!(
        app.scalar(
            "select count(*) from hours_entries where source_type = 'activity' and status = 'pending'
             and minutes = 120 and part_id = $1",
            &s1
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar(
            "select count(*) from hours_entries where volunteer_id = $1",
            &carer
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_child_not_picked_up_half_an_hour_after_the_end_raises_one_alert() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let now = Utc::now();
    let mut plan = childcare(5, json!({}));
    plan["sessions"] = json!([
        {"starts_at": at(now - Duration::hours(2)), "ends_at": at(now - Duration::minutes(10))}]);
    plan["min_age"] = Value::Null;
    let a = published(&app, &c, plan).await;
    let id = a["id"].as_str().unwrap().to_string();
    let one = family(&app, &c, "2020-05-01", "13811112222").await;
    let two = family(&app, &c, "2021-09-01", "13811113333").await;
    let path = format!("/api/v1/activities/{id}/enrolments");
    let e1 = app
        .post(&path, &one.token, json!({"child_id": one.child}))
        .await
        .expect(201)
        .id();
    let e2 = app
        .post(&path, &two.token, json!({"child_id": two.child}))
        .await
        .expect(201)
        .id();
    let s = app
        .get(&format!("/api/v1/activities/{id}/sessions"), &app.admin)
        .await
        .expect(200)
        .items()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for e in [&e1, &e2] {
        app.post(
            &format!("/api/v1/activity-sessions/{s}/sign-ins"),
            &app.admin,
            json!({"enrolment_id": e}),
        )
        .await
        .expect(200);
    }
    app.post(
        &format!("/api/v1/activity-sessions/{s}/sign-outs"),
        &app.admin,
        json!({"enrolment_id": e2, "picked_up_by": {"name": "王妈妈", "phone": "13811113333"}}),
    )
    .await
    .expect(200);
    let alerts = || {
        app.scalar(
            "select count(*) from outbox where topic = 'activity.pickup_overdue'
             and aggregate_type = 'activity' and aggregate_id = $1",
            &id,
        )
    };
    // Ten minutes after the end: not yet.
    huying::services::sweeper::sweep(&app.state, Utc::now())
        .await
        .unwrap();
    assert_eq!(alerts().await, 0);
    // Past the half hour: one alert, for the child still signed in, whatever the sweeps.
    let later = Utc::now() + Duration::minutes(25);
    huying::services::sweeper::sweep(&app.state, later)
        .await
        .unwrap();
    huying::services::sweeper::sweep(&app.state, later)
        .await
        .unwrap();
    assert_eq!(alerts().await, 1);
    let aid = uuid::Uuid::parse_str(&id).unwrap();
    let (payload, community): (sqlx::types::Json<Value>, uuid::Uuid) = on_test_db!(app, p => sqlx::query_as(
        "select payload, community_id from outbox where topic = 'activity.pickup_overdue' and aggregate_id = $1")
        .bind(aid).fetch_one(p).await)
    .unwrap();
    assert_eq!(community.to_string(), c);
    assert_eq!(payload.0["activity_id"], id.as_str());
    assert_eq!(payload.0["session_id"], s.as_str());
    assert_eq!(payload.0["community_id"], c.as_str());
    assert_eq!(payload.0["kind"], "pickup_overdue");
    assert_eq!(payload.0["data"]["enrolment_id"], e1.as_str());
    assert_eq!(payload.0["data"]["child_name_masked"], "王*明");
    // What the dispatchers' notice shows: the activity and the session's end.
    assert!(
        payload.0["data"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(payload.0["data"]["ends_at"].is_string());
    assert!(payload.0["event_id"].is_string() && payload.0["at"].is_string());
    let report = app
        .get(&format!("/api/v1/activities/{id}/attendance"), &app.admin)
        .await
        .expect(200);
    let kids = report.body["sessions"][0]["children"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        kids.iter().filter(|k| !k["alerted_at"].is_null()).count(),
        1
    );
}

#[tokio::test]
async fn the_demo_has_a_summer_childcare_with_some_children_waiting() {
    let app = spawn_app().await;
    huying::demo::seed(&app.state).await.unwrap();
    let parent = app.login("parent1", huying::demo::DEMO_PASSWORD).await;
    let children = app
        .get("/api/v1/me/children", &parent)
        .await
        .expect(200)
        .items();
    assert_eq!(children.len(), 1);
    let c = children[0]["community_id"].as_str().unwrap().to_string();
    let list = app
        .get(&format!("/api/v1/communities/{c}/activities"), &parent)
        .await
        .expect(200)
        .items();
    let a = list.iter().find(|a| a["kind"] == "childcare").unwrap();
    assert_eq!(a["title"], "暑期托管");
    assert_eq!(a["carers"]["volunteer_ids"].as_array().unwrap().len(), 2);
    let id = a["id"].as_str().unwrap();
    let sessions = app
        .get(&format!("/api/v1/activities/{id}/sessions"), &parent)
        .await
        .expect(200)
        .items();
    assert_eq!(sessions.len(), 30);
    let all = app
        .get(&format!("/api/v1/activities/{id}/enrolments"), &app.admin)
        .await
        .expect(200)
        .items();
    assert_eq!(all.iter().filter(|e| e["status"] == "confirmed").count(), 4);
    assert!(all.iter().any(|e| e["status"] == "waiting"));
    let mine = app
        .get(&format!("/api/v1/activities/{id}/enrolments"), &parent)
        .await
        .expect(200)
        .items();
    assert_eq!(mine.len(), 1);
}
