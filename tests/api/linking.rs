//! Linking an account to a resident or volunteer record grants that record's role, so it
//! follows the rules of granting: no back door to a role, and no word about other
//! communities' accounts.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app};

async fn fresh_account(app: &TestApp) -> String {
    let username = format!("n{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    app.post(
        "/api/v1/users",
        &app.admin,
        json!({"username": username, "display_name": "新用户", "password": PASSWORD, "roles": []}),
    )
    .await
    .expect(201)
    .id()
}

async fn roles_of(app: &TestApp, user: &str) -> Vec<(String, Option<String>)> {
    let u = app
        .get(&format!("/api/v1/users/{user}"), &app.admin)
        .await
        .expect(200);
    let mut roles: Vec<(String, Option<String>)> = u.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["role"].as_str().unwrap().to_string(),
                g["community_id"].as_str().map(str::to_string),
            )
        })
        .collect();
    roles.sort();
    roles
}

fn volunteer_body(user: &str) -> Value {
    json!({"user_id": user, "name": "志愿者小李", "phone": "13900002222"})
}

#[tokio::test]
async fn staff_cannot_make_another_communitys_volunteer_theirs_nor_learn_it_exists() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (_, dispatcher_a) = app.user("dispatcher", Some(&a)).await;
    let (volunteer_b, _) = app.user("volunteer", Some(&b)).await;
    let path = format!("/api/v1/communities/{a}/volunteers");

    let theirs = app
        .post(&path, &dispatcher_a, volunteer_body(&volunteer_b))
        .await
        .problem(422, "validation_failed");
    let nobody = app
        .post(
            &path,
            &dispatcher_a,
            volunteer_body(&uuid::Uuid::now_v7().to_string()),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        theirs.field_codes(),
        [("user_id".into(), "unknown_reference".into())]
    );
    assert_eq!(
        theirs.field_codes(),
        nobody.field_codes(),
        "the answer must not tell them apart"
    );
    assert_eq!(
        roles_of(&app, &volunteer_b).await,
        [("volunteer".into(), Some(b.clone()))]
    );
    assert!(
        app.get(&path, &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );

    // Even a community admin of A may not take B's volunteer; an admin may.
    let (_, manager_a) = app.user("community_admin", Some(&a)).await;
    app.post(&path, &manager_a, volunteer_body(&volunteer_b))
        .await
        .problem(422, "validation_failed");
    app.post(&path, &app.admin, volunteer_body(&volunteer_b))
        .await
        .expect(201);
    assert_eq!(
        roles_of(&app, &volunteer_b).await,
        [
            ("volunteer".into(), Some(a.clone())),
            ("volunteer".into(), Some(b))
        ]
    );
}

#[tokio::test]
async fn a_grid_worker_cannot_make_another_communitys_admin_a_resident() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (worker, worker_token) = app.user("grid_worker", Some(&a)).await;
    let grid = app.grid(&a, "一网格", &[&worker]).await;
    let (manager_b, _) = app.user("community_admin", Some(&b)).await;
    let path = format!("/api/v1/communities/{a}/residents");

    let r = app
        .post(
            &path,
            &worker_token,
            json!({"name": "王大爷", "grid_id": grid, "user_id": manager_b}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("user_id".into(), "unknown_reference".into())]
    );
    assert_eq!(
        roles_of(&app, &manager_b).await,
        [("community_admin".into(), Some(b))]
    );
    assert!(
        app.get(&path, &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );

    // A new account gets the resident role only from someone who may grant it.
    let fresh = fresh_account(&app).await;
    app.post(
        &path,
        &worker_token,
        json!({"name": "王大爷", "grid_id": grid, "user_id": fresh}),
    )
    .await
    .problem(403, "link_not_allowed");
    assert!(roles_of(&app, &fresh).await.is_empty());
    assert!(
        app.get(&path, &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
    let (_, manager_a) = app.user("community_admin", Some(&a)).await;
    app.post(
        &path,
        &manager_a,
        json!({"name": "王大爷", "grid_id": grid, "user_id": fresh}),
    )
    .await
    .expect(201);
    assert_eq!(roles_of(&app, &fresh).await, [("resident".into(), Some(a))]);
}

#[tokio::test]
async fn relinking_a_resident_record_follows_the_same_rules() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (_, dispatcher_a) = app.user("dispatcher", Some(&a)).await;
    let r = app
        .resident(&a, json!({"name": "李奶奶"}))
        .await
        .expect(201);
    let (resident_b, _) = app.user("resident", Some(&b)).await;
    let fresh = fresh_account(&app).await;
    let path = format!("/api/v1/residents/{}", r.id());
    let etag = r.etag();

    app.patch(&path, &dispatcher_a, &etag, json!({"user_id": resident_b}))
        .await
        .problem(422, "validation_failed");
    app.patch(&path, &dispatcher_a, &etag, json!({"user_id": fresh}))
        .await
        .problem(403, "link_not_allowed");
    let now = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(now.body["user_id"], Value::Null);
    assert_eq!(now.etag(), etag, "nothing was written");

    // An account that already is a resident here is linked by whoever edits the record.
    let (resident_a, _) = app.user("resident", Some(&a)).await;
    let linked = app
        .patch(&path, &dispatcher_a, &etag, json!({"user_id": resident_a}))
        .await
        .expect(200);
    assert_eq!(linked.body["user_id"], json!(resident_a));
}
