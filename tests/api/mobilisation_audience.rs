//! Whom a mobilisation's events reach (its audience by grids, teams, skills and weekly hours;
//! the volunteer moved up; the volunteers signed up), the alerts of activities, and the live
//! counts a dispatcher reads with the volunteers' "can't come".

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, on_test_db, spawn_app};
use huying::services::delivery::relay;

/// Monday 2030-07-01, 09:00–11:00 in Shanghai: the test volunteers' usual weekly window.
const MONDAY_MORNING: (&str, &str) = ("2030-07-01T01:00:00Z", "2030-07-01T03:00:00Z");
/// Sunday 2030-07-07 afternoon in Shanghai: nobody's declared hours.
const SUNDAY: (&str, &str) = ("2030-07-07T06:00:00Z", "2030-07-07T08:00:00Z");

fn plan(kind: &str, at: (&str, &str), audience: Value, count: i64) -> Value {
    json!({"title": "防汛巡查", "kind": kind, "starts_at": at.0, "ends_at": at.1,
           "slots": [{"title": "巡堤", "count": count}], "audience": audience})
}

async fn publish(app: &TestApp, token: &str, community: &str, body: Value) -> String {
    let id = app
        .post(
            &format!("/api/v1/communities/{community}/mobilisations"),
            token,
            body,
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/mobilisations/{id}/publish"),
        token,
        json!({}),
    )
    .await
    .expect(200);
    id
}

async fn relay_now(app: &TestApp) {
    relay::relay(&app.state, Utc::now()).await.unwrap();
}

/// The kinds of the inbox items about `object`.
async fn told(app: &TestApp, token: &str, object: &str) -> Vec<String> {
    let items = app
        .get("/api/v1/me/notifications?limit=200", token)
        .await
        .expect(200)
        .items();
    let mut kinds: Vec<String> = items
        .iter()
        .filter(|n| n["object"]["id"] == object)
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    kinds
}

const PUBLISHED: &str = "mobilisation.published";

#[tokio::test]
async fn a_call_reaches_its_audience_by_grid_team_skill_and_weekly_hours() {
    let app = spawn_app().await;
    let (c, other) = (app.community("甲").await, app.community("乙").await);
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let grid = app.grid(&c, "第一网格", &[]).await;
    // Free on Monday mornings (the helper's default hours), free any time, free on Tuesdays.
    let (_, monday) = app.volunteer_account(&c, json!({})).await;
    let (_, anytime) = app.volunteer_account(&c, json!({"availability": []})).await;
    let (_, tuesday) = app
        .volunteer_account(
            &c,
            json!({"availability": [{"weekday": 2, "start": "09:00", "end": "11:00"}]}),
        )
        .await;
    let (_, in_grid) = app
        .volunteer_account(&c, json!({"home_grid_id": grid}))
        .await;
    let (medic_id, medic) = app
        .volunteer_account(&c, json!({"skills": ["first_aid"]}))
        .await;
    let (member_id, member) = app.volunteer_account(&c, json!({})).await;
    let team = app.team(&c, "突击队", &[&member_id]).await;
    let (paused_id, paused) = app.volunteer_account(&c, json!({})).await;
    on_test_db!(app, p => sqlx::query("update volunteers set status = 'paused' where id = $1")
        .bind(Uuid::parse_str(&paused_id).unwrap()).execute(p).await.map(|_| ()))
    .unwrap();
    let (_, stranger) = app.volunteer_account(&other, json!({})).await;

    // An event on Monday morning: those free then and those who declared no hours.
    let event = publish(
        &app,
        &dispatcher,
        &c,
        plan("event", MONDAY_MORNING, json!({}), 5),
    )
    .await;
    // An emergency on Sunday: every matching volunteer at once, whatever their hours.
    let emergency = publish(
        &app,
        &dispatcher,
        &c,
        plan("emergency", SUNDAY, json!({}), 5),
    )
    .await;
    // A Sunday event: only those without declared hours.
    let sunday = publish(&app, &dispatcher, &c, plan("event", SUNDAY, json!({}), 5)).await;
    let chosen = publish(
        &app,
        &dispatcher,
        &c,
        plan(
            "emergency",
            SUNDAY,
            json!({"grid_ids": [grid], "team_ids": [team], "skills": ["first_aid"]}),
            5,
        ),
    )
    .await;
    relay_now(&app).await;

    let p = || vec![PUBLISHED.to_string()];
    let none: Vec<String> = vec![];
    for t in [&monday, &anytime, &in_grid, &medic, &member] {
        assert_eq!(told(&app, t, &event).await, p());
        assert_eq!(told(&app, t, &emergency).await, p());
    }
    assert_eq!(told(&app, &tuesday, &event).await, none);
    assert_eq!(told(&app, &tuesday, &emergency).await, p());
    assert_eq!(told(&app, &anytime, &sunday).await, p());
    for t in [&monday, &tuesday, &in_grid] {
        assert_eq!(told(&app, t, &sunday).await, none);
    }
    for t in [&in_grid, &medic, &member] {
        assert_eq!(told(&app, t, &chosen).await, p());
    }
    for t in [&monday, &anytime, &tuesday] {
        assert_eq!(told(&app, t, &chosen).await, none);
    }
    // Nobody paused, of another community, or on the staff side.
    for t in [&paused, &stranger, &dispatcher, &app.admin] {
        for m in [&event, &emergency, &sunday, &chosen] {
            assert_eq!(told(&app, t, m).await, none);
        }
    }
    // The notice names the call and its start on the community's clock.
    let items = app
        .get("/api/v1/me/notifications?limit=200", &monday)
        .await
        .expect(200)
        .items();
    let n = items
        .iter()
        .find(|n| n["object"]["id"] == emergency)
        .unwrap();
    assert_eq!(n["title"], "紧急召集");
    assert!(n["body"].as_str().unwrap().contains("2030-07-07 14:00"));
    assert_eq!(n["object"]["type"], "mobilisation");
    assert_eq!(
        n["object"]["href"],
        format!("/api/v1/mobilisations/{emergency}")
    );
    app.get(n["object"]["href"].as_str().unwrap(), &monday)
        .await
        .expect(200);

    // A volunteer lists the calls whose audience includes them, the hours aside.
    let path = format!("/api/v1/communities/{c}/mobilisations");
    let mut all = vec![event.clone(), emergency.clone(), sunday.clone()];
    all.sort();
    assert_eq!(app.get(&path, &monday).await.expect(200).item_ids(), all);
    let mut with_chosen = [all.clone(), vec![chosen.clone()]].concat();
    with_chosen.sort();
    for t in [&medic, &member, &in_grid] {
        assert_eq!(app.get(&path, t).await.expect(200).item_ids(), with_chosen);
    }
    app.get(&format!("/api/v1/mobilisations/{chosen}"), &monday)
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/mobilisations/{chosen}"), &paused)
        .await
        .problem(404, "not_found");
    let _ = medic_id;
}

#[tokio::test]
async fn a_promotion_reaches_its_volunteer_and_a_cancellation_those_signed_up() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let (_, first) = app.volunteer_account(&c, json!({})).await;
    let (second_id, second) = app.volunteer_account(&c, json!({})).await;
    let (_, third) = app.volunteer_account(&c, json!({})).await;
    let (_, bystander) = app.volunteer_account(&c, json!({})).await;
    let id = publish(
        &app,
        &dispatcher,
        &c,
        plan("emergency", SUNDAY, json!({}), 1),
    )
    .await;
    let m = app
        .get(&format!("/api/v1/mobilisations/{id}"), &dispatcher)
        .await
        .expect(200);
    let slot = m.body["slots"][0]["id"].as_str().unwrap().to_string();
    let signups = format!("/api/v1/mobilisations/{id}/signups");
    let mine = app
        .post(&signups, &first, json!({"slot_id": slot}))
        .await
        .expect(201)
        .id();
    for t in [&second, &third] {
        app.post(&signups, t, json!({"slot_id": slot}))
            .await
            .expect(201);
    }
    let left = app
        .post(
            &format!("/api/v1/mobilisation-signups/{mine}/withdraw"),
            &first,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(left.body["promoted"]["volunteer_id"], second_id.as_str());
    relay_now(&app).await;
    assert_eq!(
        told(&app, &second, &id).await,
        ["mobilisation.promoted", PUBLISHED]
    );
    for t in [&first, &third, &bystander] {
        assert_eq!(told(&app, t, &id).await, [PUBLISHED]);
    }
    app.post(
        &format!("/api/v1/mobilisations/{id}/cancel"),
        &dispatcher,
        json!({}),
    )
    .await
    .expect(200);
    relay_now(&app).await;
    // The confirmed and the waiting are told; who withdrew or never signed up is not.
    assert_eq!(
        told(&app, &second, &id).await,
        ["mobilisation.cancelled", "mobilisation.promoted", PUBLISHED]
    );
    assert_eq!(
        told(&app, &third, &id).await,
        ["mobilisation.cancelled", PUBLISHED]
    );
    for t in [&first, &bystander] {
        assert_eq!(told(&app, t, &id).await, [PUBLISHED]);
    }
    assert!(told(&app, &dispatcher, &id).await.is_empty());
}

#[tokio::test]
async fn a_child_not_picked_up_alerts_the_dispatchers_only() {
    let app = spawn_app().await;
    let (c, other) = (app.community("甲").await, app.community("乙").await);
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let (_, elsewhere) = app.user("dispatcher", Some(&other)).await;
    let (_, volunteer) = app.volunteer_account(&c, json!({})).await;
    let activity = Uuid::now_v7();
    let community = Uuid::parse_str(&c).unwrap();
    let payload = json!({"kind": "pickup_overdue",
                         "data": {"title": "暑期托管", "ends_at": "2030-07-01T09:00:00Z"}});
    on_test_db!(app, p => sqlx::query(
        "insert into outbox (id, community_id, topic, aggregate_type, aggregate_id, payload, created_at, delivered_at)
         values ($1, $2, 'activity.pickup_overdue', 'activity', $3, $4, $5, null)")
        .bind(Uuid::now_v7()).bind(community).bind(activity).bind(sqlx::types::Json(payload))
        .bind(huying::store::now()).execute(p).await.map(|_| ())).unwrap();
    relay_now(&app).await;
    let a = activity.to_string();
    assert_eq!(
        told(&app, &dispatcher, &a).await,
        ["activity.pickup_overdue"]
    );
    for t in [&elsewhere, &volunteer] {
        assert!(told(&app, t, &a).await.is_empty());
    }
    let items = app
        .get("/api/v1/me/notifications", &dispatcher)
        .await
        .expect(200)
        .items();
    assert_eq!(items[0]["object"]["type"], "activity");
    assert!(items[0]["body"].as_str().unwrap().contains("暑期托管"));
}
