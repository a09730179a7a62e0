//! Grids, teams and the service catalogue.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn grids_have_grid_workers_of_their_community() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (w, _) = app.user("grid_worker", Some(&a)).await;
    let (other, _) = app.user("grid_worker", Some(&b)).await;
    let r = app
        .post(&format!("/api/v1/communities/{a}/grids"), &app.admin, json!({"name": "第一网格", "centre": {"lat": 36.19, "lng": 113.12}, "grid_worker_ids": [w]}))
        .await
        .expect(201);
    assert_eq!(r.body["grid_worker_ids"], json!([w]));
    let bad = app
        .post(&format!("/api/v1/communities/{a}/grids"), &app.admin, json!({"name": "第二网格", "centre": {"lat": 99, "lng": 0}, "grid_worker_ids": [other]}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [
            ("centre".into(), "out_of_range".into()),
            ("grid_worker_ids[0]".into(), "unknown_reference".into())
        ]
    );
    app.post(
        &format!("/api/v1/communities/{a}/grids"),
        &app.admin,
        json!({"name": "第一网格"}),
    )
    .await
    .problem(422, "validation_failed");
    let id = r.id();
    let up = app
        .patch(
            &format!("/api/v1/grids/{id}"),
            &app.admin,
            &r.etag(),
            json!({"grid_worker_ids": [], "description": "八一广场东侧"}),
        )
        .await
        .expect(200);
    assert_eq!(up.body["grid_worker_ids"], json!([]));
    assert_eq!(up.body["description"], "八一广场东侧");
    let list = app
        .get(&format!("/api/v1/communities/{a}/grids"), &app.admin)
        .await
        .expect(200);
    assert_eq!(list.item_ids(), std::slice::from_ref(&id));
    app.delete(&format!("/api/v1/grids/{id}"), &app.admin)
        .await
        .expect(204);
    assert!(
        app.get(&format!("/api/v1/communities/{a}/grids"), &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
    assert_eq!(
        app.get(&format!("/api/v1/grids/{id}"), &app.admin)
            .await
            .expect(200)
            .body["active"],
        false
    );
}

#[tokio::test]
async fn service_types_take_their_deadlines_from_policy() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (_, ca) = app.user("community_admin", Some(&c)).await;
    let (_, disp) = app.user("dispatcher", Some(&c)).await;
    let path = format!("/api/v1/communities/{c}/service-types");
    let r = app
        .post(&path, &ca, json!({"code": "medical_escort", "name": "助医", "required_skills": ["escort", "first_aid", "escort"], "default_urgency": "urgent"}))
        .await
        .expect(201);
    assert_eq!(r.body["required_skills"], json!(["escort", "first_aid"]));
    assert_eq!(
        (
            r.body["respond_minutes"].as_i64(),
            r.body["resolve_hours"].as_i64()
        ),
        (Some(60), Some(24))
    );
    let bad = app
        .post(
            &path,
            &ca,
            json!({"code": "x", "name": "x", "default_urgency": "whenever", "respond_minutes": 0}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [
            ("default_urgency".into(), "unknown_value".into()),
            ("respond_minutes".into(), "out_of_range".into())
        ]
    );
    app.post(
        &path,
        &ca,
        json!({"code": "medical_escort", "name": "重复"}),
    )
    .await
    .problem(422, "validation_failed");
    // Dispatchers read the catalogue but do not edit it.
    app.get(&path, &disp).await.expect(200);
    let id = r.id();
    app.patch(
        &format!("/api/v1/service-types/{id}"),
        &disp,
        &r.etag(),
        json!({"name": "x"}),
    )
    .await
    .problem(403, "forbidden");
    let up = app
        .patch(
            &format!("/api/v1/service-types/{id}"),
            &ca,
            &r.etag(),
            json!({"resolve_hours": 12}),
        )
        .await
        .expect(200);
    assert_eq!(up.body["resolve_hours"], 12);
    // Raising the urgency brings the policy's emergency deadlines unless told otherwise.
    let emergency = app
        .patch(
            &format!("/api/v1/service-types/{id}"),
            &ca,
            &up.etag(),
            json!({"default_urgency": "emergency", "resolve_hours": 6}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            emergency.body["respond_minutes"].as_i64(),
            emergency.body["resolve_hours"].as_i64()
        ),
        (Some(15), Some(6))
    );
}

#[tokio::test]
async fn teams_hold_volunteers_of_their_community() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (va, _) = app.volunteer_account(&a, json!({})).await;
    let (vb, _) = app.volunteer_account(&b, json!({})).await;
    let path = format!("/api/v1/communities/{a}/teams");
    let t = app
        .post(
            &path,
            &app.admin,
            json!({"name": "党员先锋队", "member_ids": [va]}),
        )
        .await
        .expect(201);
    assert_eq!(t.body["member_ids"], json!([va]));
    app.post(
        &path,
        &app.admin,
        json!({"name": "混合队", "member_ids": [va, vb]}),
    )
    .await
    .problem(422, "validation_failed");
    let filtered = app
        .get(
            &format!("/api/v1/communities/{a}/volunteers?team_id={}", t.id()),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(filtered.item_ids(), std::slice::from_ref(&va));
    let up = app
        .patch(
            &format!("/api/v1/teams/{}", t.id()),
            &app.admin,
            &t.etag(),
            json!({"member_ids": []}),
        )
        .await
        .expect(200);
    assert_eq!(up.body["member_ids"], json!([]));
    assert!(
        app.get(
            &format!("/api/v1/communities/{a}/volunteers?team_id={}", t.id()),
            &app.admin
        )
        .await
        .expect(200)
        .items()
        .is_empty()
    );
}

#[tokio::test]
async fn deactivation_keeps_the_record_whole_and_checks_its_version() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    let (w, _) = app.user("grid_worker", Some(&c)).await;
    let g = app.grid(&c, "第一网格", &[&w]).await;
    let (v, _) = app.volunteer_account(&c, json!({})).await;
    let t = app.team(&c, "队", &[&v]).await;
    let s = app.service_type(&c, "errands", "代购", &["errands"]).await;
    // The community last: its objects stay readable to the admin after it. Each is also
    // listed, inactive, as it reads alone.
    let list = |what: &str| format!("/api/v1/communities/{c}/{what}?include_inactive=true");
    let objects = [
        (
            format!("/api/v1/grids/{g}"),
            list("grids"),
            "grid_worker_ids",
            json!([w]),
        ),
        (
            format!("/api/v1/teams/{t}"),
            list("teams"),
            "member_ids",
            json!([v]),
        ),
        (
            format!("/api/v1/service-types/{s}"),
            list("service-types"),
            "required_skills",
            json!(["errands"]),
        ),
        (
            format!("/api/v1/communities/{c}"),
            "/api/v1/communities?include_inactive=true".to_string(),
            "code",
            json!(null),
        ),
    ];
    for (path, listed, field, held) in objects {
        let delete = |etag: &str| {
            app.req(Method::DELETE, &path)
                .bearer_auth(&app.admin)
                .header("if-match", etag)
        };
        let before = app.get(&path, &app.admin).await.expect(200);
        let version = before.body["version"].as_i64().unwrap();
        app.send(delete(&format!("\"{}\"", version + 1)))
            .await
            .problem(412, "stale_version");
        assert_eq!(
            app.get(&path, &app.admin).await.expect(200).body,
            before.body,
            "{path}"
        );
        app.send(delete(&before.etag())).await.expect(204);
        let after = app.get(&path, &app.admin).await.expect(200);
        assert_eq!(after.body["active"], false, "{path}");
        assert_eq!(after.body["version"], version + 1, "{path}");
        assert_eq!(after.body["name"], before.body["name"], "{path}");
        let kept = if held.is_null() {
            &before.body[field]
        } else {
            &held
        };
        assert_eq!(&after.body[field], kept, "{path}");
        let items = app.get(&listed, &app.admin).await.expect(200).items();
        let item = items.iter().find(|i| i["id"] == after.body["id"]);
        assert_eq!(item, Some(&after.body), "{listed}");
        // Deactivating what is inactive already writes nothing, whatever version is named.
        app.send(delete("\"1\"")).await.expect(204);
        assert_eq!(
            app.get(&path, &app.admin).await.expect(200).body,
            after.body,
            "{path}"
        );
    }
}

/// A grid worker serves the active grids they are assigned to, and every list and read agrees:
/// once their grid is deactivated, its residents, requests and visits leave their lists and
/// their reads alike.
#[tokio::test]
async fn a_grid_worker_serves_active_grids_alike_in_lists_and_reads() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (w, gw) = app.user("grid_worker", Some(&c)).await;
    let g = app.grid(&c, "第一网格", &[&w]).await;
    let resident = app
        .resident(&c, json!({"name": "孙大娘", "grid_id": g}))
        .await
        .expect(201)
        .id();
    let st = app
        .post(
            &format!("/api/v1/communities/{c}/service-types"),
            &app.admin,
            json!({"code": "errands", "name": "代购", "required_skills": ["errands"]}),
        )
        .await
        .expect(201)
        .id();
    let request = app
        .post(
            "/api/v1/help-requests",
            &app.admin,
            json!({"resident_id": resident, "service_type_id": st, "description": "帮忙买药和米面"}),
        )
        .await
        .expect(201)
        .id();
    // Outside any plan, a visit's team is its grid's workers.
    let visit = app
        .post(
            &format!("/api/v1/residents/{resident}/major-changes"),
            &app.admin,
            json!({"kind": "fall"}),
        )
        .await
        .expect(201)
        .body["visit"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reads = [
        format!("/api/v1/residents/{resident}"),
        format!("/api/v1/help-requests/{request}"),
        format!("/api/v1/visits/{visit}"),
    ];
    let lists = [
        format!("/api/v1/communities/{c}/residents"),
        format!("/api/v1/help-requests?community_id={c}"),
        format!("/api/v1/visits?community_id={c}"),
        format!("/api/v1/visits?community_id={c}&mine=true"),
    ];
    for path in &reads {
        app.get(path, &gw).await.expect(200);
    }
    for path in &lists {
        let items = app.get(path, &gw).await.expect(200).items();
        assert_eq!(items.len(), 1, "{path}");
    }

    app.delete(&format!("/api/v1/grids/{g}"), &app.admin)
        .await
        .expect(204);
    for path in &reads {
        app.get(path, &gw).await.problem(404, "not_found");
        app.get(path, &app.admin).await.expect(200);
    }
    for path in &lists {
        let items = app.get(path, &gw).await.expect(200).items();
        assert!(items.is_empty(), "{path}: {items:?}");
    }
}
