//! Where visit generation runs: a change generates in its own community, and the sweeper asks
//! once per tick which communities have plans due within their own horizon.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};
use huying::services::sweeper;
use huying::store::Db;
use huying::store::visits::generation::due_communities;

/// A community whose one resident (graded high: weekly) has a plan made by their grid worker.
struct Community {
    id: String,
    gw: String,
    plan: String,
}

async fn community_with_plan(app: &TestApp, name: &str) -> Community {
    let id = app.community(name).await;
    let (gw_user, gw) = app.user("grid_worker", Some(&id)).await;
    let grid = app.grid(&id, "第一网格", &[&gw_user]).await;
    let resident = app
        .resident(
            &id,
            json!({"name": "孙大娘", "grid_id": grid,
                   "care_categories": ["advanced_age", "living_alone"]}),
        )
        .await
        .expect(201)
        .id();
    let plan = app
        .post(
            &format!("/api/v1/communities/{id}/visit-plans"),
            &gw,
            json!({"resident_id": resident, "team": [{"user_id": gw_user, "role": "grid_worker"}]}),
        )
        .await
        .expect(201);
    assert_eq!(plan.body["every_days"], 7);
    Community {
        id,
        gw,
        plan: plan.id(),
    }
}

async fn scalar(app: &TestApp, sql: &'static str, id: &str) -> i64 {
    let id = Uuid::parse_str(id).unwrap();
    match &app.state.db {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await,
    }
    .unwrap()
}

async fn visits_of(app: &TestApp, c: &Community) -> i64 {
    scalar(
        app,
        "select count(*) from visits where community_id = $1 and status = 'scheduled'",
        &c.id,
    )
    .await
}

async fn due(app: &TestApp, now: DateTime<Utc>) -> Vec<String> {
    due_communities(&app.state.db, now)
        .await
        .unwrap()
        .iter()
        .map(Uuid::to_string)
        .collect()
}

async fn set_horizon(app: &TestApp, c: &str, days: u32) {
    let current = app
        .get(&format!("/api/v1/communities/{c}"), &app.admin)
        .await
        .expect(200);
    let mut policy = current.body["policy"].clone();
    policy["visit"]["horizon_days"] = json!(days);
    let saved = app
        .patch(
            &format!("/api/v1/communities/{c}"),
            &app.admin,
            &current.etag(),
            json!({ "policy": policy }),
        )
        .await
        .expect(200);
    assert_eq!(saved.body["policy"]["visit"]["horizon_days"], days);
}

/// Moves a plan's cursor (the start of its next window to generate) to `at`.
async fn set_next_start(app: &TestApp, plan: &str, at: DateTime<Utc>) {
    const SQL: &str = "update visit_plans set next_start = $2 where id = $1";
    let id = Uuid::parse_str(plan).unwrap();
    let n = match &app.state.db {
        Db::Sqlite(p) => sqlx::query(SQL)
            .bind(id)
            .bind(at)
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
        Db::Postgres(p) => sqlx::query(SQL)
            .bind(id)
            .bind(at)
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
    }
    .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_plan_change_generates_in_its_own_community_and_the_sweeper_where_plans_are_due() {
    let app = spawn_app().await;
    let a = community_with_plan(&app, "电力社区").await;
    let b = community_with_plan(&app, "钢城社区").await;
    // Weekly windows from today, four weeks ahead: five each, and nothing left due.
    assert_eq!(
        (visits_of(&app, &a).await, visits_of(&app, &b).await),
        (5, 5)
    );
    let now = Utc::now();
    assert!(due(&app, now).await.is_empty());

    // B now looks sixty days ahead: its plan is due, and nothing is generated until asked.
    set_horizon(&app, &b.id, 60).await;
    assert_eq!(due(&app, now).await, std::slice::from_ref(&b.id));
    assert_eq!(visits_of(&app, &b).await, 5);

    // A fortnightly plan in A re-plans and generates A's visits, and only A's.
    let plan = app
        .get(&format!("/api/v1/visit-plans/{}", a.plan), &a.gw)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/visit-plans/{}", a.plan),
        &a.gw,
        &plan.etag(),
        json!({"frequency_days": 14}),
    )
    .await
    .expect(200);
    assert_eq!(visits_of(&app, &a).await, 3);
    assert_eq!(visits_of(&app, &b).await, 5);
    assert_eq!(due(&app, now).await, std::slice::from_ref(&b.id));

    // The sweeper generates where plans are due: B's weeks up to its sixty days.
    sweeper::sweep(&app.state, now).await.unwrap();
    assert_eq!(
        (visits_of(&app, &a).await, visits_of(&app, &b).await),
        (3, 9)
    );
    let starts: Vec<DateTime<Utc>> = app
        .get(
            &format!("/api/v1/visits?community_id={}&limit=200", b.id),
            &app.admin,
        )
        .await
        .expect(200)
        .items()
        .iter()
        .map(|v| v["window_start"].as_str().unwrap().parse().unwrap())
        .collect();
    let last = starts.iter().max().unwrap();
    assert!(*last < now + Duration::days(60) && *last >= now + Duration::days(53));
    assert!(due(&app, now).await.is_empty());
    sweeper::sweep(&app.state, now).await.unwrap();
    assert_eq!(
        (visits_of(&app, &a).await, visits_of(&app, &b).await),
        (3, 9)
    );

    // A deactivated community is not asked about.
    set_next_start(&app, &b.plan, now).await;
    assert_eq!(due(&app, now).await, std::slice::from_ref(&b.id));
    app.delete(&format!("/api/v1/communities/{}", b.id), &app.admin)
        .await
        .expect(204);
    assert!(due(&app, now).await.is_empty());
}

#[tokio::test]
async fn a_plan_is_due_strictly_before_its_communitys_horizon_to_the_microsecond() {
    let app = spawn_app().await;
    let c = community_with_plan(&app, "电力社区").await;
    let base = Utc.with_ymd_and_hms(2026, 12, 1, 2, 3, 4).unwrap();
    // With no fraction, half a second and a full six digits: SQLite writes them as text of
    // different lengths.
    for micros in [0, 500_000, 123_456, 999_999] {
        let now = base + Duration::microseconds(micros);
        for horizon in [28, 1, 90] {
            set_horizon(&app, &c.id, horizon).await;
            let end = now + Duration::days(i64::from(horizon));
            for (next_start, is_due) in [
                (end - Duration::microseconds(1), true),
                (end, false),
                (end + Duration::microseconds(1), false),
                (end - Duration::days(1), true),
            ] {
                set_next_start(&app, &c.plan, next_start).await;
                let got = due(&app, now).await;
                assert_eq!(
                    got == [c.id.clone()],
                    is_due,
                    "now {now:?}, horizon {horizon}, next window {next_start:?}: {got:?}"
                );
            }
        }
    }
}
