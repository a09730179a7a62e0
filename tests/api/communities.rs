use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn admins_create_communities_with_default_policy() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/communities",
            &app.admin,
            json!({"code": "dianli", "name": "电力社区"}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["time_zone"], "Asia/Shanghai");
    assert_eq!(r.body["policy"]["visit"]["grades"][0]["code"], "high");
    assert_eq!(r.body["policy"]["sla"]["emergency"]["respond_minutes"], 15);
    assert_eq!(r.etag(), "\"1\"");
    let got = app
        .get(&format!("/api/v1/communities/{}", r.id()), &app.admin)
        .await
        .expect(200);
    assert_eq!(got.body["code"], "dianli");
    app.post(
        "/api/v1/communities",
        &app.admin,
        json!({"code": "dianli", "name": "又一个"}),
    )
    .await
    .problem(422, "validation_failed");
}

#[tokio::test]
async fn bad_codes_zones_and_policies_are_reported_per_field() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/communities",
            &app.admin,
            json!({"code": "Dian Li", "name": "", "time_zone": "Mars/Olympus",
                   "policy": {"dispatch": {"max_attempts": 0}, "visit": {"grades": []}}}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [
            ("code".into(), "invalid_code".into()),
            ("name".into(), "required".into()),
            ("time_zone".into(), "invalid_time_zone".into()),
            ("policy.dispatch.max_attempts".into(), "out_of_range".into()),
            ("policy.visit.grades".into(), "out_of_range".into()),
        ]
    );
    let list = app.get("/api/v1/communities", &app.admin).await.expect(200);
    assert!(list.items().is_empty(), "nothing written");
}

#[tokio::test]
async fn community_admins_edit_policy_with_if_match() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (_, ca) = app.user("community_admin", Some(&c)).await;
    let path = format!("/api/v1/communities/{c}");
    let cur = app.get(&path, &ca).await.expect(200);
    let colours = json!({"visit": {"grades": [
        {"code": "red", "name": "红", "every_days": 1},
        {"code": "yellow", "name": "黄", "every_days": 7},
        {"code": "green", "name": "绿", "every_days": 30}],
        "rules": [{"grade": "red", "assessment_at_least": 3},
                  {"grade": "yellow", "any_categories": ["living_alone", "empty_nest"]}],
        "default_grade": "green"}});
    // Grades without rules for them: the default rules name grades that no longer exist.
    app.patch(
        &path,
        &ca,
        &cur.etag(),
        json!({"policy": {"visit": {"grades": colours["visit"]["grades"].clone()}}}),
    )
    .await
    .problem(422, "validation_failed");
    let r = app
        .patch(
            &path,
            &ca,
            &cur.etag(),
            json!({"name": "电力社区（新）", "policy": colours}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["policy"]["visit"]["grades"][0]["code"], "red");
    assert_eq!(
        r.body["policy"]["dispatch"]["max_attempts"], 3,
        "unspecified sections keep defaults"
    );
    assert_eq!(r.etag(), "\"2\"");
    // The old ETag is stale now.
    app.patch(&path, &ca, &cur.etag(), json!({"name": "晚了"}))
        .await
        .problem(412, "stale_version");
    let no_if_match = app
        .send(
            app.req(reqwest::Method::PATCH, &path)
                .bearer_auth(&ca)
                .json(&json!({"name": "x"})),
        )
        .await;
    no_if_match.problem(428, "precondition_required");
    app.patch(&path, &ca, "\"abc\"", json!({"name": "x"}))
        .await
        .problem(400, "invalid_header");
    // Only deployment admins deactivate or recode.
    app.patch(&path, &ca, &r.etag(), json!({"code": "other"}))
        .await
        .problem(403, "forbidden_field");
    app.delete(&path, &ca).await.problem(403, "forbidden");
    let after = app.get(&path, &ca).await.expect(200);
    assert_eq!(after.body["name"], "电力社区（新）");
}

#[tokio::test]
async fn members_see_only_their_communities() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (_, v) = app.user("volunteer", Some(&a)).await;
    let list = app.get("/api/v1/communities", &v).await.expect(200);
    assert_eq!(list.item_ids(), std::slice::from_ref(&a));
    app.get(&format!("/api/v1/communities/{b}"), &v)
        .await
        .problem(404, "not_found");
    app.post(
        "/api/v1/communities",
        &v,
        json!({"code": "x1", "name": "x"}),
    )
    .await
    .problem(403, "forbidden");
    // Deactivated communities leave the default list.
    app.delete(&format!("/api/v1/communities/{b}"), &app.admin)
        .await
        .expect(204);
    let all = app.get("/api/v1/communities", &app.admin).await.expect(200);
    assert_eq!(all.item_ids(), std::slice::from_ref(&a));
    let with_inactive = app
        .get("/api/v1/communities?include_inactive=true", &app.admin)
        .await
        .expect(200);
    assert_eq!(with_inactive.items().len(), 2);
}
