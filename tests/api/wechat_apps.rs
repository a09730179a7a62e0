//! WeChat apps (admins only, secrets never shown), people's WeChat identities (recorded by staff
//! of their community, never by themselves), and templates in the community's policy, with
//! every bad input refused and nothing stored.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_test_db, spawn_app};
use crate::wechat_stand_in::{APP_ID, SECRET};

async fn create_app(app: &TestApp, app_id: &str, communities: &[&str]) -> String {
    app.post(
        "/api/v1/wechat-apps",
        &app.admin,
        json!({"app_id": app_id, "name": "小程序", "secret": SECRET, "community_ids": communities}),
    )
    .await
    .expect(201)
    .id()
}

async fn stored_secret(app: &TestApp, id: &str) -> Vec<u8> {
    let id = uuid::Uuid::parse_str(id).unwrap();
    on_test_db!(app, p => sqlx::query_scalar("select secret_enc from wechat_apps where id = $1")
        .bind(id).fetch_one(p).await)
    .unwrap()
}

#[tokio::test]
async fn wechat_apps_are_for_admins_and_never_show_their_secret() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let created = app
        .post(
            "/api/v1/wechat-apps",
            &app.admin,
            json!({"app_id": APP_ID, "name": "呼应小程序", "secret": SECRET, "community_ids": [c, c]}),
        )
        .await
        .expect(201);
    let id = created.id();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/wechat-apps/{id}").as_str())
    );
    assert_eq!(created.body["community_ids"], json!([c]));
    let path = format!("/api/v1/wechat-apps/{id}");
    let blob = stored_secret(&app, &id).await;
    assert!(!String::from_utf8_lossy(&blob).contains(SECRET));
    assert_eq!(app.state.vault.decrypt(&blob).unwrap(), SECRET);

    // A new secret replaces the stored one; leaving it out keeps it.
    let updated = app
        .patch(
            &path,
            &app.admin,
            &created.etag(),
            json!({"secret": "wechat-leak-rotated", "name": "新名字"}),
        )
        .await
        .expect(200);
    let blob = stored_secret(&app, &id).await;
    assert_eq!(
        app.state.vault.decrypt(&blob).unwrap(),
        "wechat-leak-rotated"
    );
    app.patch(&path, &app.admin, &updated.etag(), json!({"name": "再改"}))
        .await
        .expect(200);
    let blob = stored_secret(&app, &id).await;
    assert_eq!(
        app.state.vault.decrypt(&blob).unwrap(),
        "wechat-leak-rotated"
    );

    for body in [
        created.body,
        updated.body,
        app.get(&path, &app.admin).await.expect(200).body,
        app.get("/api/v1/wechat-apps", &app.admin)
            .await
            .expect(200)
            .body,
    ] {
        let text = body.to_string();
        assert!(
            !text.contains("wechat-leak") && !text.contains("secret"),
            "{text}"
        );
    }

    // Nobody but an admin, not even the community's own admin.
    let (_, ca) = app.user("community_admin", Some(&c)).await;
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    for token in [&ca, &dispatcher] {
        app.post(
            "/api/v1/wechat-apps",
            token,
            json!({"app_id": "wx1111111111111111", "name": "x", "secret": "s"}),
        )
        .await
        .problem(403, "forbidden");
        app.get("/api/v1/wechat-apps", token)
            .await
            .problem(403, "forbidden");
        app.get(&path, token).await.problem(403, "forbidden");
        app.patch(&path, token, "\"3\"", json!({"name": "x"}))
            .await
            .problem(403, "forbidden");
        app.delete(&path, token).await.problem(403, "forbidden");
    }

    app.delete(&path, &app.admin).await.expect(204);
    let gone = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(gone.body["active"], false);
    assert!(
        app.get("/api/v1/wechat-apps", &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_wechat_apps_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    create_app(&app, APP_ID, &[&c]).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"app_id": "wx123", "name": "x", "secret": "s"}),
            "app_id",
            "invalid_value",
        ),
        (
            json!({"app_id": "wx1111111111111111", "name": "x"}),
            "secret",
            "required",
        ),
        (
            json!({"app_id": "wx1111111111111111", "name": "x", "secret": "a b"}),
            "secret",
            "invalid_value",
        ),
        (
            json!({"app_id": "wx1111111111111111", "name": " ", "secret": "s"}),
            "name",
            "required",
        ),
        (
            json!({"app_id": "wx1111111111111111", "name": "x", "secret": "s",
                   "community_ids": [uuid::Uuid::now_v7()]}),
            "community_ids",
            "unknown_reference",
        ),
        (
            json!({"app_id": "wx1111111111111111", "name": "x", "secret": "s", "token": "t"}),
            "token",
            "unknown_field",
        ),
    ];
    for (body, field, code) in cases {
        let r = app
            .post("/api/v1/wechat-apps", &app.admin, body.clone())
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            [(field.to_string(), code.to_string())],
            "{body}"
        );
    }
    app.post(
        "/api/v1/wechat-apps",
        &app.admin,
        json!({"app_id": APP_ID, "name": "又一个", "secret": "s"}),
    )
    .await
    .problem(409, "duplicate");
    let all = app
        .get("/api/v1/wechat-apps?include_inactive=true", &app.admin)
        .await;
    assert_eq!(all.expect(200).items().len(), 1);
}

#[tokio::test]
async fn staff_record_a_persons_wechat_identity_and_nobody_else_does() {
    let app = spawn_app().await;
    let a = app.community("电力社区").await;
    let b = app.community("另一个社区").await;
    create_app(&app, APP_ID, &[&a]).await;
    create_app(&app, "wx2222222222222222", &[&b]).await;
    let (resident, resident_token) = app.user("resident", Some(&a)).await;
    let (neighbour, _) = app.user("resident", Some(&a)).await;
    let (_, volunteer) = app.user("volunteer", Some(&a)).await;
    let (_, dispatcher_a) = app.user("dispatcher", Some(&a)).await;
    let (_, admin_a) = app.user("community_admin", Some(&a)).await;
    let (_, dispatcher_b) = app.user("dispatcher", Some(&b)).await;
    let path = format!("/api/v1/users/{resident}/wechat");
    let identity = json!({"app_id": APP_ID, "openid": "oAbc-123_def"});

    // Not by the person themselves, nor another member who is not staff; another community's
    // staff do not know the person.
    app.put(&path, &resident_token, identity.clone())
        .await
        .problem(403, "forbidden");
    app.put(&path, &volunteer, identity.clone())
        .await
        .problem(403, "forbidden");
    app.put(&path, &dispatcher_b, identity.clone())
        .await
        .problem(404, "not_found");
    app.get(&path, &dispatcher_a)
        .await
        .problem(404, "not_found");

    let put = app
        .put(&path, &dispatcher_a, identity.clone())
        .await
        .expect(200);
    assert_eq!(put.body["openid"], "oAbc-123_def");
    assert_eq!(put.body["app_id"], APP_ID);
    assert_eq!(put.body["user_id"], resident.as_str());
    let own = app.get(&path, &resident_token).await.expect(200);
    assert_eq!(own.body["openid"], "oAbc-123_def");
    app.get(&path, &volunteer).await.problem(403, "forbidden");
    app.get(&path, &dispatcher_b)
        .await
        .problem(404, "not_found");
    // Again, by the community admin and by an admin: the same identity, replaced in place.
    app.put(&path, &admin_a, identity.clone()).await.expect(200);
    app.put(&path, &app.admin, identity.clone())
        .await
        .expect(200);

    // An openid is one person's.
    app.put(
        &format!("/api/v1/users/{neighbour}/wechat"),
        &dispatcher_a,
        identity.clone(),
    )
    .await
    .problem(409, "openid_in_use");

    let bad: Vec<(Value, &str, &str)> = vec![
        (
            json!({"app_id": "wx2222222222222222", "openid": "oOther"}),
            "app_id",
            "unknown_reference",
        ),
        (
            json!({"app_id": "wx9999999999999999", "openid": "oOther"}),
            "app_id",
            "unknown_reference",
        ),
        (
            json!({"app_id": APP_ID, "openid": "has space"}),
            "openid",
            "invalid_value",
        ),
        (
            json!({"app_id": APP_ID, "openid": ""}),
            "openid",
            "required",
        ),
        (json!({"app_id": APP_ID}), "openid", "required"),
    ];
    for (body, field, code) in bad {
        let r = app
            .put(&path, &dispatcher_a, body.clone())
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            [(field.to_string(), code.to_string())],
            "{body}"
        );
    }
    let still = app.get(&path, &dispatcher_a).await.expect(200);
    assert_eq!(still.body["openid"], "oAbc-123_def", "nothing changed");

    app.delete(&path, &volunteer)
        .await
        .problem(403, "forbidden");
    app.delete(&path, &resident_token)
        .await
        .problem(403, "forbidden");
    app.delete(&path, &dispatcher_b)
        .await
        .problem(404, "not_found");
    app.delete(&path, &dispatcher_a).await.expect(204);
    app.get(&path, &dispatcher_a)
        .await
        .problem(404, "not_found");
    app.delete(&path, &dispatcher_a)
        .await
        .problem(404, "not_found");
    // Now free for the neighbour.
    app.put(
        &format!("/api/v1/users/{neighbour}/wechat"),
        &dispatcher_a,
        identity,
    )
    .await
    .expect(200);
    app.get(
        &format!("/api/v1/users/{}/wechat", uuid::Uuid::now_v7()),
        &app.admin,
    )
    .await
    .problem(404, "not_found");
}

fn template(fields: Value) -> Value {
    json!({"template_id": "TPL-1", "page": "pages/request/detail?id={object_id}", "fields": fields})
}

#[tokio::test]
async fn a_bad_wechat_template_is_refused_with_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let path = format!("/api/v1/communities/{c}");
    let thing = json!({"thing1": {"kind": "thing", "from": "service"}});
    let at = "policy.wechat.templates.help_request.accepted";
    let cases: Vec<(Value, String, &str)> = vec![
        (
            json!({"help_request.accepted": template(json!({"thing1": {"kind": "thingy", "from": "service"}}))}),
            format!("{at}.fields.thing1.kind"),
            "unknown_value",
        ),
        (
            json!({"help_request.accepted": template(json!({"thing1": {"kind": "thing", "from": "weather"}}))}),
            format!("{at}.fields.thing1.from"),
            "unknown_value",
        ),
        (
            json!({"help_request.accepted": template(json!({"time1": {"kind": "time", "from": "service"}}))}),
            format!("{at}.fields.time1.from"),
            "incompatible_source",
        ),
        (
            json!({"help_request.accepted": template(json!({"thing1": {"kind": "thing", "from": "text"}}))}),
            format!("{at}.fields.thing1.text"),
            "required",
        ),
        (
            json!({"help_request.accepted": template(json!({}))}),
            format!("{at}.fields"),
            "required",
        ),
        (
            json!({"help_request.accepted": {"template_id": "TPL-1", "fields": thing,
                   "page": format!("pages/request/detail?id={{object_id}}&x={}", "y".repeat(256))}}),
            format!("{at}.page"),
            "too_long",
        ),
        (
            json!({"help_request.accepted": {"template_id": "TPL-1", "fields": thing,
                   "page": "pages/r?id={resident_phone}"}}),
            format!("{at}.page"),
            "invalid_value",
        ),
        (
            json!({"help_request.accepted": {"template_id": "TPL 1", "fields": thing}}),
            format!("{at}.template_id"),
            "invalid_value",
        ),
        (
            json!({"help_request.accepted": {"template_id": "TPL-1", "fields": thing, "color": "red"}}),
            format!("{at}.color"),
            "unknown_field",
        ),
        (
            json!({"help_request.escalated": template(thing.clone())}),
            "policy.wechat.templates.help_request.escalated".to_string(),
            "unknown_value",
        ),
        (
            json!({"help_request.teleported": template(thing.clone())}),
            "policy.wechat.templates.help_request.teleported".to_string(),
            "unknown_value",
        ),
    ];
    for (templates, field, code) in cases {
        let r = app
            .patch(
                &path,
                &app.admin,
                "\"1\"",
                json!({"policy": {"wechat": {"templates": templates}}}),
            )
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            [(field.clone(), code.to_string())],
            "{field}"
        );
    }
    let unchanged = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(unchanged.etag(), "\"1\"");
    assert_eq!(unchanged.body["policy"]["wechat"], json!({"templates": {}}));

    let good = json!({"help_request.accepted": template(json!({
        "thing1": {"kind": "thing", "from": "service"},
        "character_string2": {"kind": "character_string", "from": "text", "text": "HY-1"},
        "date3": {"kind": "date", "from": "event_time"}
    }))});
    let saved = app
        .patch(
            &path,
            &app.admin,
            "\"1\"",
            json!({"policy": {"wechat": {"templates": good.clone()}}}),
        )
        .await
        .expect(200);
    assert_eq!(saved.body["policy"]["wechat"]["templates"], good);
}
