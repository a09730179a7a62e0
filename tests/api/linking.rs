//! Linking an account to a resident or volunteer record grants that record's role, so it
//! follows the rules of granting: no back door to a role, and no word about other
//! communities' accounts.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app};

async fn fresh_account(app: &TestApp) -> String {
    fresh_account_token(app).await.0
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

#[tokio::test]
async fn an_account_of_another_community_joins_by_accepting_an_invitation() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (_, manager_a) = app.user("community_admin", Some(&a)).await;
    let (_, dispatcher_a) = app.user("dispatcher", Some(&a)).await;
    let (volunteer_b, volunteer_b_token) = app.user("volunteer", Some(&b)).await;
    let (_, manager_b) = app.user("community_admin", Some(&b)).await;
    let record = app
        .resident(&a, json!({"name": "赵阿姨"}))
        .await
        .expect(201)
        .id();
    let path = format!("/api/v1/communities/{a}/invitations");

    // Who may not grant the role may not invite to it; outsiders do not see the community.
    app.post(
        &path,
        &dispatcher_a,
        json!({"role": "resident", "resident_id": record}),
    )
    .await
    .problem(403, "forbidden");
    app.post(&path, &manager_b, json!({"role": "volunteer"}))
        .await
        .problem(404, "not_found");
    for (body, field, code) in [
        (json!({"role": "resident"}), "resident_id", "required"),
        (
            json!({"role": "volunteer", "resident_id": record}),
            "resident_id",
            "not_allowed",
        ),
        (json!({"role": "dispatcher"}), "role", "unknown_value"),
        (
            json!({"role": "resident", "resident_id": uuid::Uuid::now_v7()}),
            "resident_id",
            "unknown_reference",
        ),
    ] {
        let r = app
            .post(&path, &manager_a, body)
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.field_codes(), [(field.into(), code.into())]);
    }

    let inv = app
        .post(
            &path,
            &manager_a,
            json!({"role": "resident", "resident_id": record}),
        )
        .await
        .expect(201);
    let code = inv.body["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 12);
    let location = inv.header("location").unwrap().to_string();
    assert_eq!(location, format!("/api/v1/invitations/{}", inv.id()));
    let pending = app.get(&location, &manager_a).await.expect(200);
    assert_eq!(pending.body["accepted_at"], Value::Null);
    assert!(pending.body.get("code").is_none(), "the code is shown once");
    app.get(&location, &dispatcher_a)
        .await
        .problem(403, "forbidden");
    app.get(&location, &manager_b)
        .await
        .problem(404, "not_found");
    app.get(&location, &volunteer_b_token)
        .await
        .problem(404, "not_found");
    let accept = "/api/v1/me/invitations/accept";
    app.post(accept, &volunteer_b_token, json!({"code": "WRONGCODE234"}))
        .await
        .problem(404, "not_found");
    assert_eq!(roles_of(&app, &volunteer_b).await.len(), 1);

    let typed = format!("{}-{}", &code[..6], &code[6..]).to_lowercase();
    let ok = app
        .post(accept, &volunteer_b_token, json!({"code": typed}))
        .await
        .expect(200);
    assert_eq!(ok.body["role"], "resident");
    assert_eq!(ok.body["resident_id"], json!(record));
    assert!(ok.body.get("code").is_none());
    let taken = app.get(&location, &manager_a).await.expect(200);
    assert_eq!(taken.body["accepted_by"], json!(volunteer_b));
    assert_eq!(taken.body["accepted_at"], ok.body["accepted_at"]);
    assert_eq!(
        roles_of(&app, &volunteer_b).await,
        [
            ("resident".into(), Some(a.clone())),
            ("volunteer".into(), Some(b))
        ]
    );
    let r = app
        .get(&format!("/api/v1/residents/{record}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(r.body["user_id"], json!(volunteer_b));

    // Single use; and a linked record takes no new invitation.
    app.post(accept, &volunteer_b_token, json!({"code": code}))
        .await
        .problem(404, "not_found");
    app.post(
        &path,
        &manager_a,
        json!({"role": "resident", "resident_id": record}),
    )
    .await
    .problem(409, "already_linked");
}

#[tokio::test]
async fn an_invitation_for_a_record_linked_meanwhile_changes_nothing() {
    let app = spawn_app().await;
    let a = app.community("甲").await;
    let (_, manager_a) = app.user("community_admin", Some(&a)).await;
    let record = app
        .resident(&a, json!({"name": "钱大爷"}))
        .await
        .expect(201);
    let inv = app
        .post(
            &format!("/api/v1/communities/{a}/invitations"),
            &manager_a,
            json!({"role": "resident", "resident_id": record.id()}),
        )
        .await
        .expect(201);
    let (resident_a, _) = app.user("resident", Some(&a)).await;
    app.patch(
        &format!("/api/v1/residents/{}", record.id()),
        &manager_a,
        &record.etag(),
        json!({"user_id": resident_a}),
    )
    .await
    .expect(200);
    let late = fresh_account_token(&app).await;
    app.post(
        "/api/v1/me/invitations/accept",
        &late.1,
        json!({"code": inv.body["code"]}),
    )
    .await
    .problem(409, "already_linked");
    assert!(
        roles_of(&app, &late.0).await.is_empty(),
        "no role without the record"
    );
}

async fn fresh_account_token(app: &TestApp) -> (String, String) {
    let username = format!("n{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let id = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"username": username, "display_name": "新用户", "password": PASSWORD, "roles": []}),
        )
        .await
        .expect(201)
        .id();
    (id, app.login(&username, PASSWORD).await)
}
