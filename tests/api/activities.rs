//! Activities (一小): planning with sessions or a weekly rule, who sees what, enrolment with the
//! waiting list and the age range, and the race of many children for few places.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A childcare plan for children of 6 to 12 with two sessions in 2030.
pub fn childcare(capacity: i64, carers: Value) -> Value {
    json!({"kind": "childcare", "title": "暑期托管", "description": "作业辅导、手工",
           "place": "社区活动室", "capacity": capacity, "min_age": 6, "max_age": 12,
           "sessions": [
               {"starts_at": "2030-07-01T01:00:00Z", "ends_at": "2030-07-01T04:00:00Z"},
               {"starts_at": "2030-07-02T01:00:00Z", "ends_at": "2030-07-02T04:00:00Z"}],
           "carers": carers})
}

/// Creates and publishes; the activity.
pub async fn published(app: &TestApp, community: &str, body: Value) -> Value {
    let id = app
        .post(
            &format!("/api/v1/communities/{community}/activities"),
            &app.admin,
            body,
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/activities/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200)
    .body
}

/// A child resident born on `birth` with a guardian who has an account and a phone.
pub struct Family {
    pub child: String,
    pub guardian_resident: String,
    pub token: String,
}

pub async fn family(app: &TestApp, c: &str, birth: &str, guardian_phone: &str) -> Family {
    let (user, token) = app.user("resident", Some(c)).await;
    let guardian_resident = app
        .resident(
            c,
            json!({"name": "王妈妈", "phone": guardian_phone, "user_id": user}),
        )
        .await
        .expect(201)
        .id();
    let child = app
        .resident(c, json!({"name": "王小明", "birth_date": birth}))
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/residents/{child}/guardians"),
        &app.admin,
        json!({"resident_id": guardian_resident, "relation": "母亲"}),
    )
    .await
    .expect(201);
    Family {
        child,
        guardian_resident,
        token,
    }
}

#[tokio::test]
async fn activities_are_planned_with_sessions_or_a_weekly_rule_and_members_see_the_published_ones()
{
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let (_, resident) = app.user("resident", Some(&c)).await;
    let other = app.community("乙").await;
    let (_, outsider) = app.user("community_admin", Some(&other)).await;
    let weekly = json!({"kind": "class", "title": "绘画课", "capacity": 12,
        "schedule": {"weekdays": [1, 3, 5], "start_time": "09:00", "end_time": "11:30",
                     "from": "2030-07-01", "to": "2030-07-14"}});
    let r = app
        .post(
            &format!("/api/v1/communities/{c}/activities"),
            &app.admin,
            weekly,
        )
        .await
        .expect(201);
    assert!(
        r.header("location")
            .unwrap()
            .ends_with(&format!("/api/v1/activities/{}", r.id()))
    );
    assert_eq!(r.body["status"], "draft");
    let id = r.id();
    let sessions = app
        .get(&format!("/api/v1/activities/{id}/sessions"), &app.admin)
        .await
        .expect(200)
        .items();
    // 2030-07-01 is a Monday: Mon, Wed, Fri of two weeks, at 09:00 Shanghai time.
    assert_eq!(sessions.len(), 6);
    assert_eq!(sessions[0]["starts_at"], "2030-07-01T01:00:00Z");
    assert_eq!(sessions[0]["ends_at"], "2030-07-01T03:30:00Z");
    // A draft is the staff's own.
    app.get(&format!("/api/v1/activities/{id}"), &resident)
        .await
        .problem(404, "not_found");
    let list = app
        .get(&format!("/api/v1/communities/{c}/activities"), &resident)
        .await
        .expect(200);
    assert!(list.items().is_empty());
    app.post(
        &format!("/api/v1/activities/{id}/publish"),
        &resident,
        json!({}),
    )
    .await
    .problem(404, "not_found");
    app.post(
        &format!("/api/v1/activities/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/activities/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    let seen = app
        .get(&format!("/api/v1/activities/{id}"), &resident)
        .await
        .expect(200);
    assert_eq!(seen.body["status"], "published");
    assert_eq!(
        app.get(&format!("/api/v1/communities/{c}/activities"), &resident)
            .await
            .expect(200)
            .item_ids(),
        vec![id.clone()]
    );
    app.get(&format!("/api/v1/activities/{id}/sessions"), &resident)
        .await
        .expect(200);
    // Members may read but not run it; another community sees nothing.
    app.post(
        &format!("/api/v1/activities/{id}/cancel"),
        &resident,
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    app.post(
        &format!("/api/v1/communities/{c}/activities"),
        &resident,
        childcare(5, json!({})),
    )
    .await
    .problem(403, "forbidden");
    for path in [
        format!("/api/v1/activities/{id}"),
        format!("/api/v1/activities/{id}/sessions"),
        format!("/api/v1/activities/{id}/enrolments"),
        format!("/api/v1/activities/{id}/attendance"),
        format!("/api/v1/communities/{c}/activities"),
    ] {
        app.get(&path, &outsider).await.problem(404, "not_found");
    }
    app.post(
        &format!("/api/v1/communities/{c}/activities"),
        &outsider,
        childcare(5, json!({})),
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn bad_plans_are_refused_with_nothing_written() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let path = format!("/api/v1/communities/{c}/activities");
    let base = childcare(5, json!({}));
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let rule = |to: &str| {
        json!({"weekdays": [1, 2, 3, 4, 5, 6, 7], "start_time": "09:00", "end_time": "11:00",
               "from": "2030-07-01", "to": to})
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (without("capacity"), "capacity", "required"),
        (with("capacity", json!(0)), "capacity", "out_of_range"),
        (with("kind", json!("party")), "kind", "unknown_value"),
        (with("max_age", json!(3)), "max_age", "out_of_range"),
        (
            with(
                "sessions",
                json!([{"starts_at": "2030-07-01T04:00:00Z", "ends_at": "2030-07-01T01:00:00Z"}]),
            ),
            "sessions[0].ends_at",
            "end_before_start",
        ),
        (without("sessions"), "sessions", "required"),
        (
            with("schedule", rule("2030-07-10")),
            "schedule",
            "not_allowed_with_sessions",
        ),
        (
            {
                let mut b = without("sessions");
                b["schedule"] = rule("2031-06-30");
                b
            },
            "schedule",
            "too_many",
        ),
        (
            {
                let mut b = without("sessions");
                b["schedule"] = rule("2030-07-10");
                b["schedule"]["start_time"] = json!("9点");
                b
            },
            "schedule.start_time",
            "invalid_time",
        ),
        (
            with("carers", json!({"volunteer_ids": [uuid::Uuid::now_v7()]})),
            "carers.volunteer_ids[0]",
            "unknown_reference",
        ),
    ];
    for (body, field, code) in cases {
        let r = app
            .post(&path, &app.admin, body.clone())
            .await
            .problem(422, "validation_failed");
        assert!(
            r.field_codes()
                .contains(&(field.to_string(), code.to_string())),
            "{field} {code}: {}",
            r.body
        );
    }
    assert_eq!(
        app.scalar(
            "select count(*) from activities where community_id = $1",
            &c
        )
        .await,
        0
    );
}

#[tokio::test]
async fn guardians_enrol_their_own_children_up_to_capacity_then_on_the_waiting_list() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let a = published(&app, &c, childcare(1, json!({}))).await;
    let id = a["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/activities/{id}/enrolments");
    let one = family(&app, &c, "2020-05-01", "13811112222").await;
    let two = family(&app, &c, "2021-09-01", "13811113333").await;
    // Someone else's child does not exist for a guardian.
    app.post(&path, &one.token, json!({"child_id": two.child}))
        .await
        .problem(404, "not_found");
    let first = app
        .post(&path, &one.token, json!({"child_id": one.child}))
        .await
        .expect(201);
    assert_eq!(first.body["status"], "confirmed");
    assert!(
        first
            .header("location")
            .unwrap()
            .ends_with(&format!("/api/v1/activity-enrolments/{}", first.id()))
    );
    app.post(&path, &one.token, json!({"child_id": one.child}))
        .await
        .problem(409, "already_enrolled");
    let second = app
        .post(&path, &two.token, json!({"child_id": two.child}))
        .await
        .expect(201);
    assert_eq!(second.body["status"], "waiting");
    assert_eq!(second.body["position"], 1);
    // Too young (4 on 2030-07-01, the range is 6–12), even for staff.
    let small = app
        .resident(&c, json!({"name": "小不点", "birth_date": "2026-01-01"}))
        .await
        .expect(201)
        .id();
    app.post(&path, &app.admin, json!({"child_id": small}))
        .await
        .problem(422, "age_out_of_range");
    let unknown = app
        .resident(&c, json!({"name": "无生日"}))
        .await
        .expect(201)
        .id();
    app.post(&path, &app.admin, json!({"child_id": unknown}))
        .await
        .problem(422, "birth_date_unknown");
    app.post(&path, &app.admin, json!({"child_id": uuid::Uuid::now_v7()}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        app.scalar(
            "select count(*) from activity_enrolments where activity_id = $1",
            &id
        )
        .await,
        2
    );
    // A guardian sees their own child's enrolment only; staff see both.
    let mine = app.get(&path, &one.token).await.expect(200).items();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["child_id"], one.child.as_str());
    assert_eq!(
        app.get(&path, &app.admin).await.expect(200).items().len(),
        2
    );
    let first_path = format!("/api/v1/activity-enrolments/{}", first.id());
    app.get(&first_path, &two.token)
        .await
        .problem(404, "not_found");
    app.post(&format!("{first_path}/withdraw"), &two.token, json!({}))
        .await
        .problem(404, "not_found");
    // Withdrawing frees the place for the first waiting child.
    let left = app
        .post(&format!("{first_path}/withdraw"), &one.token, json!({}))
        .await
        .expect(200);
    assert_eq!(left.body["enrolment"]["status"], "withdrawn");
    assert_eq!(left.body["promoted"]["id"], second.id().as_str());
    assert_eq!(left.body["promoted"]["status"], "confirmed");
    app.post(&format!("{first_path}/withdraw"), &one.token, json!({}))
        .await
        .problem(409, "not_enrolled");
    // A draft takes no enrolments.
    let draft = app
        .post(
            &format!("/api/v1/communities/{c}/activities"),
            &app.admin,
            childcare(3, json!({})),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/activities/{draft}/enrolments"),
        &app.admin,
        json!({"child_id": one.child}),
    )
    .await
    .problem(409, "not_open");
}

/// 100 children for 10 places at once: exactly 10 confirmed, 90 waiting at 1…90; then 10
/// withdrawals promote exactly the first 10 waiting, in order.
#[tokio::test]
async fn a_hundred_children_race_for_ten_places() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let a = published(&app, &c, childcare(10, json!({}))).await;
    let id = a["id"].as_str().unwrap().to_string();
    let mut children = Vec::new();
    for _ in 0..5 {
        let made = join_all((0..20).map(|_| async {
            app.resident(&c, json!({"name": "小朋友", "birth_date": "2020-03-03"}))
                .await
                .expect(201)
                .id()
        }))
        .await;
        children.extend(made);
    }
    let path = format!("/api/v1/activities/{id}/enrolments");
    let results = join_all(
        children
            .iter()
            .map(|ch| app.post(&path, &app.admin, json!({"child_id": ch}))),
    )
    .await;
    for r in &results {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let all = app.get(&path, &app.admin).await.expect(200).items();
    assert_eq!(all.len(), 100);
    let confirmed: Vec<&Value> = all.iter().filter(|e| e["status"] == "confirmed").collect();
    let mut waiting: Vec<&Value> = all.iter().filter(|e| e["status"] == "waiting").collect();
    assert_eq!(confirmed.len(), 10);
    waiting.sort_by_key(|e| e["position"].as_i64());
    let positions: Vec<i64> = waiting
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (1..=90).collect::<Vec<_>>());
    let first_ten: Vec<String> = waiting[..10]
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let paths: Vec<String> = confirmed
        .iter()
        .map(|e| {
            format!(
                "/api/v1/activity-enrolments/{}/withdraw",
                e["id"].as_str().unwrap()
            )
        })
        .collect();
    let withdrawals = join_all(paths.iter().map(|p| app.post(p, &app.admin, json!({})))).await;
    let mut promoted: Vec<(String, String)> = withdrawals
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.body);
            (
                r.body["promoted"]["updated_at"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r.body["promoted"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // In order: sorted by when each was promoted, the promotions took the list from its head.
    promoted.sort();
    let ids: Vec<String> = promoted.into_iter().map(|(_, id)| id).collect();
    assert_eq!(ids, first_ten);
    let after = app.get(&path, &app.admin).await.expect(200).items();
    assert_eq!(
        after.iter().filter(|e| e["status"] == "confirmed").count(),
        10
    );
    let mut left: Vec<i64> = after
        .iter()
        .filter(|e| e["status"] == "waiting")
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, (1..=80).collect::<Vec<_>>());
    assert_eq!(
        app.scalar("select confirmed from activities where id = $1", &id)
            .await,
        10
    );
}
