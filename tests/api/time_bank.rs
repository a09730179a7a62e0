//! The time bank: approved hours earn the policy's points; staff redeem them; a balance never
//! goes below zero, also under many redeems at once.

use futures_util::future::join_all;
use serde_json::json;

use crate::attendance::{signed_up, site_in};
use crate::helpers::{TestApp, spawn_app};

/// A community earning 100 points an hour, and a volunteer with 200 points (two approved
/// hours): (community, volunteer id, volunteer token).
async fn with_points(app: &TestApp) -> (String, String, String) {
    let code = format!("t{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let c = app
        .created(
            "/api/v1/communities",
            json!({"code": code, "name": "时间银行", "policy": {"hours": {"points_per_hour": 100}}}),
        )
        .await;
    let s = site_in(app, &c, "none", -30, 120).await;
    let (v, token) = signed_up(app, &s).await;
    app.post(
        &format!("/api/v1/mobilisations/{}/complete", s.id),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    let entries = app
        .get(
            &format!("/api/v1/communities/{c}/hours-entries"),
            &app.admin,
        )
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/communities/{c}/hours-entries/approve"),
        &app.admin,
        json!({"ids": entries.item_ids()}),
    )
    .await
    .expect(200);
    (c, v, token)
}

async fn entries(app: &TestApp, v: &str) -> i64 {
    app.scalar(
        "select count(*) from point_entries where volunteer_id = $1",
        v,
    )
    .await
}

#[tokio::test]
async fn approval_earns_points_and_staff_redeem_within_the_balance() {
    let app = spawn_app().await;
    let (_, v, token) = with_points(&app).await;
    let path = format!("/api/v1/volunteers/{v}");
    let p = app.get(&format!("{path}/points"), &token).await.expect(200);
    assert_eq!(p.body["balance"], 200);
    assert_eq!(p.body["items"][0]["kind"], "earned");
    assert_eq!(p.body["items"][0]["amount"], 200);

    for (body, status, code) in [
        (
            json!({"item": "雨伞", "amount": 201}),
            409,
            "insufficient_points",
        ),
        (
            json!({"item": "雨伞", "amount": 0}),
            422,
            "validation_failed",
        ),
        (json!({"item": " ", "amount": 10}), 422, "validation_failed"),
        (json!({"item": "雨伞"}), 422, "validation_failed"),
    ] {
        app.post(&format!("{path}/redemptions"), &app.admin, body)
            .await
            .problem(status, code);
    }
    assert_eq!(entries(&app, &v).await, 1);
    let r = app
        .post(
            &format!("{path}/redemptions"),
            &app.admin,
            json!({"item": "雨伞", "amount": 150}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["amount"], -150);
    assert_eq!(r.body["balance_after"], 50);
    let p = app
        .get(&format!("{path}/points"), &app.admin)
        .await
        .expect(200);
    assert_eq!(p.body["balance"], 50);
    assert_eq!(p.items().len(), 2);
}

#[tokio::test]
async fn concurrent_redeems_never_take_the_balance_below_zero() {
    let app = spawn_app().await;
    let (_, v, _) = with_points(&app).await;
    let path = format!("/api/v1/volunteers/{v}/redemptions");
    let answers = join_all((0..50).map(|i| {
        app.post(
            &path,
            &app.admin,
            json!({"item": format!("物品{i}"), "amount": 10}),
        )
    }))
    .await;
    let ok = answers.iter().filter(|r| r.status == 201).count();
    let refused = answers
        .iter()
        .filter(|r| r.status == 409 && r.code() == "insufficient_points")
        .count();
    assert_eq!((ok, refused), (20, 30));
    let p = app
        .get(
            &format!("/api/v1/volunteers/{v}/points?limit=100"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(p.body["balance"], 0);
    let sum: i64 = p
        .items()
        .iter()
        .map(|e| e["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 0);
    assert_eq!(p.items().len(), 21);
    let mut after: Vec<i64> = p.items()[1..]
        .iter()
        .map(|e| e["balance_after"].as_i64().unwrap())
        .collect();
    after.sort();
    assert_eq!(after, (0..20).map(|i| i * 10).collect::<Vec<_>>());
}

#[tokio::test]
async fn only_staff_redeem_and_only_the_volunteer_and_staff_see_points() {
    let app = spawn_app().await;
    let (c, v, token) = with_points(&app).await;
    let (_, other_volunteer) = app.volunteer_account(&c, json!({})).await;
    let other = app.community("乙").await;
    let (_, other_staff) = app.user("community_admin", Some(&other)).await;
    let path = format!("/api/v1/volunteers/{v}");
    let body = json!({"item": "雨伞", "amount": 10});
    app.post(&format!("{path}/redemptions"), &token, body.clone())
        .await
        .problem(403, "forbidden");
    app.post(
        &format!("{path}/redemptions"),
        &other_volunteer,
        body.clone(),
    )
    .await
    .problem(404, "not_found");
    app.post(&format!("{path}/redemptions"), &other_staff, body)
        .await
        .problem(404, "not_found");
    app.get(&format!("{path}/points"), &other_volunteer)
        .await
        .problem(404, "not_found");
    app.get(&format!("{path}/points"), &other_staff)
        .await
        .problem(404, "not_found");
    assert_eq!(entries(&app, &v).await, 1);
}
