//! Authorisation per object: for every endpoint, callers reaching for what is not theirs get
//! 404 (existence secret) or 403 (a member without the right), and lists leave it out.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn outsiders_get_404_or_403_on_every_endpoint_and_nothing_changes() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲社区").await, app.community("乙社区").await);
    // Community A's objects.
    let (w1, _) = app.user("grid_worker", Some(&a)).await;
    let (w2, gw2) = app.user("grid_worker", Some(&a)).await;
    let g1 = app.grid(&a, "第一网格", &[&w1]).await;
    let _g2 = app.grid(&a, "第二网格", &[&w2]).await;
    let (res_user, res_a) = app.user("resident", Some(&a)).await;
    let own = app
        .resident(
            &a,
            json!({"name": "自己", "grid_id": g1, "user_id": res_user}),
        )
        .await
        .expect(201)
        .id();
    let r = app
        .resident(
            &a,
            json!({"name": "孙大娘", "grid_id": g1, "phone": "13812345678"}),
        )
        .await
        .expect(201);
    let rid = r.id();
    let (v, _) = app.volunteer_account(&a, json!({})).await;
    let (own_v, vol_a) = app.volunteer_account(&a, json!({})).await;
    let t = app.team(&a, "队", &[&v]).await;
    let s = app.service_type(&a, "repairs", "维修", &[]).await;
    let (u, _) = app.user("dispatcher", Some(&a)).await;
    let grant = app
        .get(&format!("/api/v1/users/{u}"), &app.admin)
        .await
        .body["roles"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, doc_a) = app.user("doctor", Some(&a)).await;
    let (_, cb) = app.user("community_admin", Some(&b)).await;

    let actors = [
        ("admin of another community", &cb),
        ("volunteer", &vol_a),
        ("resident", &res_a),
        ("grid worker of another grid", &gw2),
        ("doctor", &doc_a),
    ];
    // (method, path, body, expected status for [cb, volunteer, resident, grid worker, doctor])
    let any = json!({"name": "改名"});
    let cases: Vec<(Method, String, Value, [u16; 5])> = vec![
        (
            Method::GET,
            format!("/api/v1/communities/{a}"),
            Value::Null,
            [404, 200, 200, 200, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v1/communities/{a}"),
            any.clone(),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/communities/{a}"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{a}/audit-log"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/residents/{rid}"),
            Value::Null,
            [404, 404, 404, 404, 404],
        ),
        (
            Method::PATCH,
            format!("/api/v1/residents/{rid}"),
            any.clone(),
            [404, 404, 404, 404, 404],
        ),
        (
            Method::DELETE,
            format!("/api/v1/residents/{rid}"),
            Value::Null,
            [404, 404, 404, 404, 404],
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{a}/residents"),
            json!({"name": "新", "grid_id": g1}),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/volunteers/{v}"),
            Value::Null,
            [404, 404, 404, 404, 404],
        ),
        (
            Method::PATCH,
            format!("/api/v1/volunteers/{v}"),
            json!({"status": "paused"}),
            [404, 404, 404, 404, 404],
        ),
        (
            Method::DELETE,
            format!("/api/v1/volunteers/{v}"),
            Value::Null,
            [404, 404, 404, 404, 404],
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{a}/volunteers"),
            json!({"user_id": u, "name": "新"}),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/grids/{g1}"),
            Value::Null,
            [404, 200, 200, 200, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v1/grids/{g1}"),
            any.clone(),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/grids/{g1}"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{a}/grids"),
            json!({"name": "新网格"}),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{a}/grids"),
            Value::Null,
            [404, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v1/teams/{t}"),
            Value::Null,
            [404, 200, 200, 200, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v1/teams/{t}"),
            any.clone(),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/teams/{t}"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{a}/teams"),
            json!({"name": "新队"}),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{a}/teams"),
            Value::Null,
            [404, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v1/service-types/{s}"),
            Value::Null,
            [404, 200, 200, 200, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v1/service-types/{s}"),
            any.clone(),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/service-types/{s}"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{a}/service-types"),
            json!({"code": "new", "name": "新"}),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{a}/service-types"),
            Value::Null,
            [404, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{a}/residents"),
            Value::Null,
            // A doctor lists the residents of the visit plans they are on: none here.
            [404, 403, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{a}/volunteers"),
            Value::Null,
            [404, 200, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/users/{u}"),
            Value::Null,
            [404, 404, 404, 404, 404],
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{u}"),
            json!({"display_name": "x"}),
            [404, 404, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/v1/users?community_id={a}"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/users".to_string(),
            json!({"username": "intruder", "display_name": "x", "password": "password-123", "roles": [{"role": "dispatcher", "community_id": a}]}),
            [422, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/users/{u}/roles"),
            json!({"role": "community_admin", "community_id": a}),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{u}/roles/{grant}"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/communities".to_string(),
            json!({"code": "intruder", "name": "x"}),
            [403, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{a}/imports/residents?dry_run=false"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{a}/imports/residents/template.xlsx"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
    ];
    for (method, path, body, expected) in &cases {
        for ((who, token), want) in actors.iter().zip(expected) {
            let mut rb = app.req(method.clone(), path).bearer_auth(token);
            if *method == Method::PATCH {
                rb = rb.header("if-match", "\"1\"");
            }
            if !body.is_null() {
                rb = rb.json(body);
            }
            let r = app.send(rb).await;
            assert_eq!(r.status, *want, "{who}: {method} {path} → {}", r.body);
        }
    }
    // Lists never show what is not theirs.
    let residents = app
        .get(&format!("/api/v1/communities/{a}/residents"), &res_a)
        .await
        .expect(200);
    assert_eq!(residents.item_ids(), std::slice::from_ref(&own));
    for outsider in [&gw2, &doc_a] {
        assert!(
            app.get(&format!("/api/v1/communities/{a}/residents"), outsider)
                .await
                .expect(200)
                .items()
                .is_empty()
        );
    }
    assert_eq!(
        app.get(&format!("/api/v1/communities/{a}/volunteers"), &vol_a)
            .await
            .expect(200)
            .item_ids(),
        [own_v]
    );
    assert!(
        !app.get("/api/v1/communities", &cb)
            .await
            .expect(200)
            .item_ids()
            .contains(&a)
    );
    // And nothing was changed by any of it.
    let after = app
        .get(&format!("/api/v1/residents/{rid}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(
        (
            after.body["version"].as_i64(),
            after.body["name"].as_str(),
            after.body["active"].as_bool()
        ),
        (Some(1), Some("孙大娘"), Some(true))
    );
    assert_eq!(
        app.get(&format!("/api/v1/communities/{a}"), &app.admin)
            .await
            .body["version"],
        1
    );
    assert_eq!(
        app.get(&format!("/api/v1/grids/{g1}"), &app.admin)
            .await
            .body["version"],
        1
    );
    assert_eq!(
        app.get(&format!("/api/v1/volunteers/{v}"), &app.admin)
            .await
            .body["status"],
        "active"
    );
    assert_eq!(
        app.get(&format!("/api/v1/users/{u}"), &app.admin)
            .await
            .body["roles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get(&format!("/api/v1/communities/{a}/residents"), &app.admin)
            .await
            .items()
            .len(),
        2
    );
}

#[tokio::test]
async fn help_requests_offers_reports_and_hours_are_closed_to_outsiders() {
    use crate::help_requests::world;
    let w = world(2, json!({})).await;
    let app = &w.app;
    let c = &w.c;
    let r = w.place(&w.resident_token, json!({})).await.expect(201);
    let id = r.id();
    let offer = w.open_offers(&id).await.remove(0);
    let o = offer["id"].as_str().unwrap().to_string();
    let v = offer["volunteer_id"].as_str().unwrap().to_string();
    let res = &w.resident;

    let b = app.community("乙社区").await;
    let (_, cb) = app.user("community_admin", Some(&b)).await;
    let other_v = &w.vols.iter().find(|(x, _)| *x != v).unwrap().1;
    let (other_res_user, other_res) = app.user("resident", Some(c)).await;
    app.resident(c, json!({"name": "邻居", "user_id": other_res_user}))
        .await
        .expect(201);
    let (w2, gw2) = app.user("grid_worker", Some(c)).await;
    app.grid(c, "第二网格", &[&w2]).await;
    let (_, doc) = app.user("doctor", Some(c)).await;
    let actors = [
        ("admin of another community", &cb),
        ("volunteer not offered", other_v),
        ("another resident", &other_res),
        ("grid worker of another grid", &gw2),
        ("doctor", &doc),
    ];
    let none = [404, 404, 404, 404, 404];
    let reason = json!({"reason": "x"});
    let cases: Vec<(Method, String, Value, [u16; 5])> = vec![
        (
            Method::GET,
            format!("/api/v1/help-requests/{id}"),
            Value::Null,
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/help-requests/{id}/timeline"),
            Value::Null,
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/help-requests/{id}/offers"),
            Value::Null,
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/help-requests/{id}/candidates"),
            Value::Null,
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/help-requests/{id}/triage"),
            json!({"decision": "not_ours"}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/help-requests/{id}/dispatch"),
            json!({"mode": "auto"}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/help-requests/{id}/claim"),
            json!({}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/help-requests/{id}/start"),
            json!({}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/help-requests/{id}/return"),
            reason.clone(),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/help-requests/{id}/complete"),
            json!({"resolution_note": "x"}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/help-requests/{id}/rating"),
            json!({"rating": 1, "solved": false}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/help-requests/{id}/cancel"),
            reason.clone(),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/offers/{o}/accept"),
            json!({}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/offers/{o}/decline"),
            reason.clone(),
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/volunteers/{v}/hours"),
            Value::Null,
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/volunteers/{v}/record"),
            Value::Null,
            none,
        ),
        // The same reports as spreadsheets: the same checks.
        (
            Method::GET,
            format!("/api/v1/volunteers/{v}/hours?format=xlsx"),
            Value::Null,
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/volunteers/{v}/record?format=csv"),
            Value::Null,
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/volunteers/{v}/certificates"),
            Value::Null,
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/volunteers/{v}/certificates"),
            json!({"from": "2026-01-01", "to": "2026-01-31"}),
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/residents/{res}/exclusions"),
            Value::Null,
            none,
        ),
        (
            Method::PUT,
            format!("/api/v1/residents/{res}/exclusions/{v}"),
            Value::Null,
            none,
        ),
        (
            Method::DELETE,
            format!("/api/v1/residents/{res}/exclusions/{v}"),
            Value::Null,
            none,
        ),
        (
            Method::POST,
            "/api/v1/help-requests".to_string(),
            json!({"resident_id": res, "service_type_id": w.service_type, "description": "x"}),
            [422, 201, 422, 422, 422],
        ),
        (
            Method::GET,
            format!("/api/v1/help-requests?community_id={c}"),
            Value::Null,
            [404, 200, 200, 200, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{c}/dispatch/batch"),
            json!({}),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{c}/reports/three-rates"),
            Value::Null,
            [404, 403, 403, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{c}/reports/three-rates?format=csv"),
            Value::Null,
            [404, 403, 403, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{c}/reports/visit-coverage?format=xlsx"),
            Value::Null,
            [404, 403, 403, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{c}/reports/volunteer-hours"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{c}/reports/volunteer-hours?format=xlsx"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/offers".to_string(),
            Value::Null,
            [200, 200, 200, 200, 200],
        ),
    ];
    for (method, path, body, expected) in &cases {
        for ((who, token), want) in actors.iter().zip(expected) {
            let mut rb = app.req(method.clone(), path).bearer_auth(token);
            if !body.is_null() {
                rb = rb.json(body);
            }
            let resp = app.send(rb).await;
            assert_eq!(resp.status, *want, "{who}: {method} {path} → {}", resp.body);
            // Lists show outsiders nothing of this request.
            if resp.status == 200 && resp.body["items"].is_array() {
                assert!(!resp.item_ids().contains(&id), "{who}: {path}");
                assert!(!resp.item_ids().contains(&o), "{who}: {path}");
            }
        }
    }
    // Nothing changed: same version, same offer still open, same timeline.
    let after = w.get(&id).await;
    assert_eq!(after["version"], r.body["version"]);
    assert_eq!(after["status"], "offered");
    assert_eq!(w.open_offers(&id).await.len(), 1);
    assert_eq!(w.kinds(&id).await, ["placed", "offered"]);
    assert_eq!(w.load_of(&v).await, 0);
}

#[tokio::test]
async fn mediation_cases_are_closed_to_everyone_but_their_parties_mediator_and_staff() {
    let w = crate::mediation::world().await;
    let app = &w.app;
    let c = &w.c;
    let id = w.open().await;
    let b = app.community("乙社区").await;
    let (_, cb) = app.user("community_admin", Some(&b)).await;
    let (_, vol) = app.user("volunteer", Some(c)).await;
    let (_, doc) = app.user("doctor", Some(c)).await;
    let actors = [
        ("admin of another community", &cb),
        ("volunteer who is not the mediator", &vol),
        ("resident who is no party", &w.bystander_token),
        ("grid worker of the parties' grid", &w.worker_token),
        ("doctor", &doc),
    ];
    let none = [404, 404, 404, 404, 404];
    let held = chrono::Utc::now().to_rfc3339();
    let cases: Vec<(Method, String, Value, [u16; 5])> = vec![
        (
            Method::GET,
            format!("/api/v1/mediations/{id}"),
            Value::Null,
            none,
        ),
        (
            Method::PATCH,
            format!("/api/v1/mediations/{id}"),
            json!({"summary": "改"}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/mediations/{id}/sessions"),
            json!({"held_at": held, "notes": "x"}),
            none,
        ),
        (
            Method::GET,
            format!("/api/v1/mediations/{id}/sessions"),
            Value::Null,
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/mediations/{id}/outcome"),
            json!({"outcome": "no_agreement"}),
            none,
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{c}/mediations"),
            w.case(),
            [404, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{c}/mediations"),
            Value::Null,
            [404, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v1/communities/{c}/reports/mediations"),
            Value::Null,
            [404, 403, 403, 403, 403],
        ),
    ];
    for (method, path, body, expected) in &cases {
        for ((who, token), want) in actors.iter().zip(expected) {
            let mut rb = app.req(method.clone(), path).bearer_auth(token);
            if *method == Method::PATCH {
                rb = rb.header("if-match", "\"1\"");
            }
            if !body.is_null() {
                rb = rb.json(body);
            }
            let r = app.send(rb).await;
            assert_eq!(r.status, *want, "{who}: {method} {path} → {}", r.body);
            if r.status == 200 && r.body["items"].is_array() {
                assert!(r.items().is_empty(), "{who}: {path} shows {}", r.body);
            }
        }
    }
    // Nothing changed, and no read of theirs was audited.
    let after = app
        .get(&format!("/api/v1/mediations/{id}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(
        (
            after.body["version"].as_i64(),
            after.body["status"].as_str()
        ),
        (Some(1), Some("open"))
    );
    assert_eq!(
        app.scalar(
            "select count(*) from mediation_sessions where mediation_id = $1",
            &id
        )
        .await,
        0
    );
    assert_eq!(
        app.scalar("select count(*) from audit_log where object_id = $1", &id)
            .await,
        1
    );
}

#[tokio::test]
async fn topics_their_votes_and_ballots_are_closed_to_outsiders() {
    use crate::deliberation::{ballot, open_vote, raise, resident_account};
    let app = spawn_app().await;
    let (a, b) = (app.community("甲社区").await, app.community("乙社区").await);
    let (_, raiser) = resident_account(&app, &a, "孙大娘").await;
    let (_, neighbour) = resident_account(&app, &a, "李大爷").await;
    let (_, cb) = app.user("community_admin", Some(&b)).await;
    let (_, rb) = resident_account(&app, &b, "别人").await;
    let (_, vol_a) = app.volunteer_account(&a, json!({})).await;
    // The `resident` role without a resident record: reads, but neither raises nor votes.
    let (_, unlinked) = app.user("resident", Some(&a)).await;
    let (w, gw) = app.user("grid_worker", Some(&a)).await;
    app.grid(&a, "第一网格", &[&w]).await;
    let t = raise(&app, &a, &raiser).await.expect(201).id();
    let v = open_vote(&app, &t, &["同意", "反对"]).await.expect(200);
    let options: Vec<String> = v.body["vote"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    ballot(&app, &t, &raiser, &options[0]).await.expect(201);
    let before = app
        .get(&format!("/api/v1/topics/{t}"), &app.admin)
        .await
        .expect(200);

    let actors = [
        ("admin of another community", &cb),
        ("resident of another community", &rb),
        ("volunteer", &vol_a),
        ("resident role without a record", &unlinked),
        ("another resident", &neighbour),
        ("grid worker", &gw),
    ];
    let staff_only = [404, 404, 403, 403, 403, 403];
    let future = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let cases: Vec<(Method, String, Value, [u16; 6])> = vec![
        (
            Method::GET,
            format!("/api/v1/communities/{a}/topics"),
            Value::Null,
            [404, 404, 403, 200, 200, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{a}/topics"),
            json!({"title": "t", "description": "d"}),
            [404, 404, 403, 403, 201, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/topics/{t}"),
            Value::Null,
            [404, 404, 403, 200, 200, 403],
        ),
        (
            Method::PATCH,
            format!("/api/v1/topics/{t}"),
            json!({"title": "改"}),
            [404, 404, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/topics/{t}/meeting"),
            json!({"starts_at": future, "place": "x"}),
            staff_only,
        ),
        (
            Method::POST,
            format!("/api/v1/topics/{t}/vote"),
            json!({"options": ["a", "b"], "closes_at": future}),
            staff_only,
        ),
        (
            Method::POST,
            format!("/api/v1/topics/{t}/vote/close"),
            json!({}),
            staff_only,
        ),
        (
            Method::GET,
            format!("/api/v1/topics/{t}/ballots"),
            Value::Null,
            staff_only,
        ),
        // Their own ballot only: another resident has none to read or change.
        (
            Method::GET,
            format!("/api/v1/topics/{t}/ballots/mine"),
            Value::Null,
            [404, 404, 403, 403, 404, 403],
        ),
        (
            Method::PUT,
            format!("/api/v1/topics/{t}/ballots/mine"),
            json!({"option_id": options[1]}),
            [404, 404, 403, 403, 404, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/topics/{t}/results"),
            Value::Null,
            [404, 404, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/topics/{t}/decision"),
            json!({"text": "x"}),
            staff_only,
        ),
        (
            Method::POST,
            format!("/api/v1/topics/{t}/drop"),
            json!({"reason": "x"}),
            staff_only,
        ),
        // Last: the neighbour's own ballot is theirs to cast.
        (
            Method::POST,
            format!("/api/v1/topics/{t}/ballots"),
            json!({"option_id": options[1]}),
            [404, 404, 403, 403, 201, 403],
        ),
    ];
    for (method, path, body, expected) in &cases {
        for ((who, token), want) in actors.iter().zip(expected) {
            let mut rb = app.req(method.clone(), path).bearer_auth(token);
            if *method == Method::PATCH {
                rb = rb.header("if-match", format!("\"{}\"", before.body["version"]));
            }
            if !body.is_null() {
                rb = rb.json(body);
            }
            let r = app.send(rb).await;
            assert_eq!(r.status, *want, "{who}: {method} {path} → {}", r.body);
        }
    }
    // Nothing changed: the topic, its vote, the raiser's ballot.
    let after = app
        .get(&format!("/api/v1/topics/{t}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(after.body["version"], before.body["version"]);
    assert_eq!(after.body["status"], "raised");
    assert_eq!(after.body["vote"]["state"], "open");
    let mine = app
        .get(&format!("/api/v1/topics/{t}/ballots/mine"), &raiser)
        .await
        .expect(200);
    assert_eq!(mine.body["option_id"], options[0].as_str());
    let voters = app
        .get(&format!("/api/v1/topics/{t}/ballots"), &app.admin)
        .await
        .expect(200);
    assert_eq!(
        voters.items().len(),
        2,
        "the raiser's and the neighbour's own"
    );
}
