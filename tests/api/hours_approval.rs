//! Hours staff approve: pending entries reach the service-hours ledger only when approved,
//! one by one or in bulk (all or nothing); approving twice writes nothing; who may see and
//! decide what.

use serde_json::json;

use crate::attendance::{Site, signed_up, site};
use crate::helpers::TestApp;
use crate::helpers::spawn_app;

/// A completed mobilisation without attendance: `n` volunteers with a pending entry of 120
/// minutes each. Returns the site, the volunteers (id, token) and the entry ids.
async fn pending(app: &TestApp, n: usize) -> (Site, Vec<(String, String)>, Vec<String>) {
    let s = site(app, "none", -30, 120).await;
    let mut vs = Vec::new();
    for _ in 0..n {
        vs.push(signed_up(app, &s).await);
    }
    app.post(
        &format!("/api/v1/mobilisations/{}/complete", s.id),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    let list = app
        .get(
            &format!(
                "/api/v1/communities/{}/hours-entries?status=pending",
                s.community
            ),
            &app.admin,
        )
        .await
        .expect(200);
    let ids = list.item_ids();
    assert_eq!(ids.len(), n);
    (s, vs, ids)
}

async fn ledger(app: &TestApp, s: &Site) -> i64 {
    app.scalar(
        "select count(*) from service_hours where source_id = $1",
        &s.id,
    )
    .await
}

#[tokio::test]
async fn an_approved_entry_reaches_the_ledger_once_and_the_record_shows_it() {
    let app = spawn_app().await;
    let (s, vs, ids) = pending(&app, 2).await;
    assert_eq!(ledger(&app, &s).await, 0);
    let a = app
        .post(
            &format!("/api/v1/hours-entries/{}/approve", ids[0]),
            &app.admin,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(a.body["status"], "approved");
    assert_eq!(a.body["minutes"], 120);
    assert_eq!(ledger(&app, &s).await, 1);
    app.post(
        &format!("/api/v1/hours-entries/{}/approve", ids[0]),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "already_decided");
    app.post(
        &format!("/api/v1/hours-entries/{}/decline", ids[0]),
        &app.admin,
        json!({"reason": "重复"}),
    )
    .await
    .problem(409, "already_decided");
    assert_eq!(ledger(&app, &s).await, 1);

    app.post(
        &format!("/api/v1/hours-entries/{}/decline", ids[1]),
        &app.admin,
        json!({"reason": " "}),
    )
    .await
    .problem(422, "validation_failed");
    let d = app
        .post(
            &format!("/api/v1/hours-entries/{}/decline", ids[1]),
            &app.admin,
            json!({"reason": "未到场"}),
        )
        .await
        .expect(200);
    assert_eq!(d.body["status"], "declined");
    assert_eq!(d.body["reason"], "未到场");
    assert_eq!(ledger(&app, &s).await, 1);

    let volunteer = a.body["volunteer_id"].as_str().unwrap();
    let token = &vs.iter().find(|(v, _)| v == volunteer).unwrap().1;
    let record = app
        .get(&format!("/api/v1/volunteers/{volunteer}/record"), token)
        .await
        .expect(200);
    let text = record.body.to_string();
    assert!(text.contains("\"mobilisation\""), "{text}");
    assert!(text.contains("河堤清理"), "{text}");
    let own = app
        .get(
            &format!("/api/v1/volunteers/{volunteer}/hours-entries"),
            token,
        )
        .await
        .expect(200);
    assert_eq!(own.items().len(), 1);
    assert_eq!(own.items()[0]["status"], "approved");
}

#[tokio::test]
async fn bulk_decisions_are_all_or_nothing() {
    let app = spawn_app().await;
    let (s, _, ids) = pending(&app, 3).await;
    let path = format!("/api/v1/communities/{}/hours-entries", s.community);
    app.post(
        &format!("/api/v1/hours-entries/{}/approve", ids[2]),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    app.post(&format!("{path}/approve"), &app.admin, json!({"ids": ids}))
        .await
        .problem(409, "already_decided");
    assert_eq!(ledger(&app, &s).await, 1);
    let unknown = uuid::Uuid::now_v7().to_string();
    let bad = app
        .post(
            &format!("{path}/approve"),
            &app.admin,
            json!({"ids": [ids[0], unknown]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [("ids".into(), "unknown_reference".into())]
    );
    app.post(&format!("{path}/approve"), &app.admin, json!({"ids": []}))
        .await
        .problem(422, "validation_failed");
    let many: Vec<String> = (0..501).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    app.post(&format!("{path}/approve"), &app.admin, json!({"ids": many}))
        .await
        .problem(422, "validation_failed");
    app.post(
        &format!("{path}/decline"),
        &app.admin,
        json!({"ids": [ids[0]]}),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(ledger(&app, &s).await, 1);
    let pending_now = app
        .get(&format!("{path}?status=pending"), &app.admin)
        .await
        .expect(200);
    assert_eq!(pending_now.items().len(), 2);

    let done = app
        .post(
            &format!("{path}/approve"),
            &app.admin,
            json!({"ids": [ids[1], ids[0], ids[0]]}),
        )
        .await
        .expect(200);
    assert_eq!(done.items().len(), 2);
    assert_eq!(ledger(&app, &s).await, 3);
    let approved = app
        .get(
            &format!("{path}?status=approved&source_type=mobilisation"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(approved.items().len(), 3);
    app.get(&format!("{path}?status=maybe"), &app.admin)
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn outsiders_cannot_see_or_decide() {
    let app = spawn_app().await;
    let (s, vs, ids) = pending(&app, 2).await;
    let other = app.community("乙").await;
    let (_, other_staff) = app.user("community_admin", Some(&other)).await;
    let path = format!("/api/v1/communities/{}/hours-entries", s.community);
    let (v0, t0) = &vs[0];
    let (v1, t1) = &vs[1];
    let own_entry = app
        .get(&format!("/api/v1/volunteers/{v0}/hours-entries"), t0)
        .await
        .expect(200)
        .item_ids()[0]
        .clone();
    let not_own = ids.iter().find(|i| **i != own_entry).unwrap();

    app.get(&path, &other_staff).await.problem(404, "not_found");
    app.post(
        &format!("{path}/approve"),
        &other_staff,
        json!({"ids": ids}),
    )
    .await
    .problem(404, "not_found");
    app.post(
        &format!("/api/v1/hours-entries/{own_entry}/approve"),
        &other_staff,
        json!({}),
    )
    .await
    .problem(404, "not_found");
    app.get(
        &format!("/api/v1/volunteers/{v0}/hours-entries"),
        &other_staff,
    )
    .await
    .problem(404, "not_found");

    app.get(&path, t0).await.problem(403, "forbidden");
    app.post(&format!("{path}/approve"), t0, json!({"ids": ids}))
        .await
        .problem(403, "forbidden");
    app.post(
        &format!("/api/v1/hours-entries/{own_entry}/approve"),
        t0,
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    app.post(
        &format!("/api/v1/hours-entries/{not_own}/approve"),
        t0,
        json!({}),
    )
    .await
    .problem(404, "not_found");
    app.get(&format!("/api/v1/volunteers/{v0}/hours-entries"), t1)
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/volunteers/{v1}/hours-entries"), t1)
        .await
        .expect(200);
    assert_eq!(ledger(&app, &s).await, 0);
}

#[tokio::test]
async fn approving_the_same_entry_at_once_writes_one_ledger_row() {
    let app = spawn_app().await;
    let (s, _, ids) = pending(&app, 1).await;
    let path = format!("/api/v1/hours-entries/{}/approve", ids[0]);
    let bulk = format!("/api/v1/communities/{}/hours-entries/approve", s.community);
    let singles = (0..5).map(|_| app.post(&path, &app.admin, json!({})));
    let bulks = (0..5).map(|_| app.post(&bulk, &app.admin, json!({"ids": ids})));
    let (a, b) = futures_util::future::join(
        futures_util::future::join_all(singles),
        futures_util::future::join_all(bulks),
    )
    .await;
    let answers: Vec<_> = a.into_iter().chain(b).collect();
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    assert!(
        answers
            .iter()
            .filter(|r| r.status != 200)
            .all(|r| r.status == 409 && r.code() == "already_decided")
    );
    assert_eq!(ledger(&app, &s).await, 1);
}
