//! 三务公开 notices over HTTP: staff write, publish (now or later), correct as new versions and
//! unpublish; anyone reads the public board; nothing is ever edited silently; bad input writes
//! nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn code_of(app: &TestApp, community: &str) -> String {
    let c = app
        .get(&format!("/api/v1/communities/{community}"), &app.admin)
        .await
        .expect(200);
    c.body["code"].as_str().unwrap().to_string()
}

fn finance() -> Value {
    json!({"category": "finance", "title": "2026年第三季度社区经费收支",
           "body": "本季度收支如下。\n\n如有疑问请到站咨询。",
           "items": [{"item": "上级拨款", "amount_fen": 500000},
                     {"item": "重阳节慰问品", "amount_fen": -123456}],
           "total_fen": 376544})
}

async fn count(app: &TestApp, sql: &'static str, id: &str) -> i64 {
    app.scalar(sql, id).await
}

/// What anyone reads, without a token.
async fn public(app: &TestApp, path: &str) -> crate::helpers::Resp {
    app.send(app.req(Method::GET, path)).await
}

#[tokio::test]
async fn a_notice_is_written_published_corrected_and_unpublished_and_anyone_reads_it() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let code = code_of(&app, &c).await;
    let board = format!("/api/v1/public/communities/{code}/notices");

    let r = app
        .post(
            &format!("/api/v1/communities/{c}/notices"),
            &app.admin,
            finance(),
        )
        .await
        .expect(201);
    let id = r.id();
    assert!(
        r.header("location")
            .unwrap()
            .ends_with(&format!("/api/v1/notices/{id}"))
    );
    assert_eq!(r.body["status"], "draft");
    assert_eq!(r.body["total_fen"], 376544);
    // A draft is nobody's to read but staff's.
    assert!(public(&app, &board).await.expect(200).items().is_empty());
    public(&app, &format!("{board}/{id}"))
        .await
        .problem(404, "not_found");

    // A draft is rewritten in place.
    let etag = r.etag();
    let e = app
        .patch(
            &format!("/api/v1/notices/{id}"),
            &app.admin,
            &etag,
            json!({"pinned": true}),
        )
        .await
        .expect(200);
    assert_eq!(e.body["pinned"], true);

    let p = app
        .post(
            &format!("/api/v1/notices/{id}/publish"),
            &app.admin,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(p.body["status"], "published");
    let topic =
        "select count(*) from outbox where aggregate_id = $1 and topic = 'notice.published'";
    assert_eq!(count(&app, topic, &id).await, 1);
    let items = public(&app, &board).await.expect(200).items();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "2026年第三季度社区经费收支");
    assert_eq!(
        public(&app, &format!("{board}?pinned=true&category=finance"))
            .await
            .expect(200)
            .items()
            .len(),
        1
    );
    assert!(
        public(&app, &format!("{board}?category=party"))
            .await
            .expect(200)
            .items()
            .is_empty()
    );

    // Published content is never edited in place: a correction is a new version.
    let etag = p.etag();
    app.patch(
        &format!("/api/v1/notices/{id}"),
        &app.admin,
        &etag,
        json!({"title": "改过的标题"}),
    )
    .await
    .problem(409, "notice_published");
    let mut fix = finance();
    fix["items"][1]["amount_fen"] = json!(-120000);
    fix["total_fen"] = json!(380000);
    fix["reason"] = json!("慰问品金额录入有误");
    fix.as_object_mut().unwrap().remove("category");
    let k = app
        .post(
            &format!("/api/v1/notices/{id}/corrections"),
            &app.admin,
            fix,
        )
        .await
        .expect(200);
    assert_eq!(k.body["current_version"], 2);
    assert_eq!(k.body["total_fen"], 380000);
    let one = public(&app, &format!("{board}/{id}")).await.expect(200);
    let versions = one.body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0]["total_fen"], 376544,
        "the first version stays readable"
    );
    assert!(versions[0]["reason"].is_null());
    assert_eq!(versions[1]["reason"], "慰问品金额录入有误");
    assert!(versions[0]["created_at"].as_str() <= versions[1]["created_at"].as_str());
    // Its showing may change without a version.
    let etag = app
        .get(&format!("/api/v1/notices/{id}"), &app.admin)
        .await
        .expect(200)
        .etag();
    app.patch(
        &format!("/api/v1/notices/{id}"),
        &app.admin,
        &etag,
        json!({"pinned": false}),
    )
    .await
    .expect(200);

    let u = app
        .post(
            &format!("/api/v1/notices/{id}/unpublish"),
            &app.admin,
            json!({"reason": "已过公示期"}),
        )
        .await
        .expect(200);
    assert_eq!(u.body["status"], "unpublished");
    assert!(public(&app, &board).await.expect(200).items().is_empty());
    let gone = public(&app, &format!("{board}/{id}")).await.expect(200);
    assert_eq!(gone.body["unpublish_reason"], "已过公示期");
    let corrected =
        "select count(*) from outbox where aggregate_id = $1 and topic = 'notice.corrected'";
    let unpublished =
        "select count(*) from outbox where aggregate_id = $1 and topic = 'notice.unpublished'";
    assert_eq!(count(&app, corrected, &id).await, 1);
    assert_eq!(count(&app, unpublished, &id).await, 1);
    app.post(
        &format!("/api/v1/notices/{id}/unpublish"),
        &app.admin,
        json!({"reason": "再来"}),
    )
    .await
    .problem(409, "invalid_transition");
}

#[tokio::test]
async fn a_notice_published_for_later_is_on_the_board_and_announced_when_its_time_comes() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let code = code_of(&app, &c).await;
    let id = app
        .post(
            &format!("/api/v1/communities/{c}/notices"),
            &app.admin,
            json!({"category": "affairs", "title": "停水通知", "body": "明日9时至12时停水。"}),
        )
        .await
        .expect(201)
        .id();
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    app.post(
        &format!("/api/v1/notices/{id}/publish"),
        &app.admin,
        json!({"at": at}),
    )
    .await
    .expect(200);
    let board = format!("/api/v1/public/communities/{code}/notices");
    assert!(public(&app, &board).await.expect(200).items().is_empty());
    public(&app, &format!("{board}/{id}"))
        .await
        .problem(404, "not_found");
    let topic =
        "select count(*) from outbox where aggregate_id = $1 and topic = 'notice.published'";
    huying::services::sweeper::sweep(&app.state, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(count(&app, topic, &id).await, 0, "not before its time");

    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(public(&app, &board).await.expect(200).items().len(), 1);
    let now = chrono::Utc::now();
    huying::services::sweeper::sweep(&app.state, now)
        .await
        .unwrap();
    huying::services::sweeper::sweep(&app.state, now)
        .await
        .unwrap();
    assert_eq!(count(&app, topic, &id).await, 1, "announced once");
}

#[tokio::test]
async fn bad_notices_are_refused_with_their_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let code = code_of(&app, &c).await;
    let path = format!("/api/v1/communities/{c}/notices");
    let mut wrong = finance();
    wrong["total_fen"] = json!(1);
    let r = app
        .post(&path, &app.admin, wrong)
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("total_fen".into(), "total_mismatch".into())]
    );
    let mut no_items = finance();
    no_items.as_object_mut().unwrap().remove("items");
    let r = app
        .post(&path, &app.admin, no_items)
        .await
        .problem(422, "validation_failed");
    assert!(
        r.field_codes()
            .contains(&("items".into(), "required".into()))
    );
    let r = app
        .post(&path, &app.admin, json!({"category": "party", "title": "x", "body": "y",
                                          "items": [{"item": "a", "amount_fen": 1}], "total_fen": 1}))
        .await
        .problem(422, "validation_failed");
    assert!(
        r.field_codes()
            .contains(&("items".into(), "not_finance".into()))
    );
    let r = app
        .post(
            &path,
            &app.admin,
            json!({"category": "gossip", "title": " ", "body": "y"}),
        )
        .await
        .problem(422, "validation_failed");
    assert!(
        r.field_codes().iter().any(|(f, _)| f == "category"),
        "{:?}",
        r.field_codes()
    );
    assert!(
        r.field_codes()
            .contains(&("title".into(), "required".into()))
    );
    let r = app
        .post(&path, &app.admin, json!({"category": "party", "title": "x", "body": "y", "ends_at": "2020-01-01T00:00:00Z"}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("ends_at".into(), "in_past".into())]);
    app.get(&format!("{path}?category=gossip"), &app.admin)
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        count(
            &app,
            "select count(*) from notices where community_id = $1",
            &c
        )
        .await,
        0
    );

    let id = app
        .post(
            &path,
            &app.admin,
            json!({"category": "party", "title": "党员大会", "body": "周五开会。"}),
        )
        .await
        .expect(201)
        .id();
    // A draft is not corrected (it is edited), nor unpublished; a correction needs its reason.
    app.post(
        &format!("/api/v1/notices/{id}/corrections"),
        &app.admin,
        json!({"title": "党员大会", "body": "周六开会。", "reason": "改期"}),
    )
    .await
    .problem(409, "invalid_transition");
    app.post(
        &format!("/api/v1/notices/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/notices/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    let r = app
        .post(
            &format!("/api/v1/notices/{id}/corrections"),
            &app.admin,
            json!({"title": "党员大会", "body": "周六开会。"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("reason".into(), "required".into())]);
    app.post(
        &format!("/api/v1/notices/{id}/unpublish"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(
        count(
            &app,
            "select count(*) from notice_versions where notice_id = $1",
            &id
        )
        .await,
        1
    );
    // A stale version is 412.
    app.patch(
        &format!("/api/v1/notices/{id}"),
        &app.admin,
        "\"1\"",
        json!({"pinned": true}),
    )
    .await
    .problem(412, "stale_version");
    public(&app, "/api/v1/public/communities/nosuch/notices")
        .await
        .problem(404, "not_found");
    public(
        &app,
        &format!("/api/v1/public/communities/{code}/notices?category=x"),
    )
    .await
    .problem(422, "validation_failed");
    let other = app.community("乙社区").await;
    let other_code = code_of(&app, &other).await;
    public(
        &app,
        &format!("/api/v1/public/communities/{other_code}/notices/{id}"),
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn only_staff_of_the_community_write_or_read_drafts() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let id = app
        .post(
            &format!("/api/v1/communities/{a}/notices"),
            &app.admin,
            json!({"category": "affairs", "title": "草稿", "body": "内容"}),
        )
        .await
        .expect(201)
        .id();
    let (_, resident) = app.user("resident", Some(&a)).await;
    let (_, grid_worker) = app.user("grid_worker", Some(&a)).await;
    let (_, dispatcher) = app.user("dispatcher", Some(&a)).await;
    let (_, outsider) = app.user("community_admin", Some(&b)).await;
    let (_, volunteer) = app.volunteer_account(&a, json!({})).await;
    let create = json!({"category": "affairs", "title": "x", "body": "y"});
    for (who, status) in [
        (&resident, 403),
        (&volunteer, 403),
        (&grid_worker, 403),
        (&outsider, 404),
    ] {
        let s = app
            .post(
                &format!("/api/v1/communities/{a}/notices"),
                who,
                create.clone(),
            )
            .await
            .status;
        assert_eq!(s, status);
        let s = app
            .get(&format!("/api/v1/communities/{a}/notices"), who)
            .await
            .status;
        assert_eq!(s, status);
        for path in ["", "/publish", "/unpublish", "/corrections"] {
            let r = match path {
                "" => app.get(&format!("/api/v1/notices/{id}"), who).await,
                p => {
                    let body = match p {
                        "/publish" => json!({}),
                        "/unpublish" => json!({"reason": "r"}),
                        _ => json!({"reason": "r", "title": "t", "body": "b"}),
                    };
                    app.post(&format!("/api/v1/notices/{id}{p}"), who, body)
                        .await
                }
            };
            // A draft is nobody's but staff's to know of: 404 even to members.
            let expected = if path.is_empty() { 404 } else { status };
            assert_eq!(r.status, expected, "{path}");
        }
        let r = app
            .patch(
                &format!("/api/v1/notices/{id}"),
                who,
                "\"1\"",
                json!({"pinned": true}),
            )
            .await;
        assert_eq!(r.status, status);
    }
    // Staff of the community do.
    app.get(&format!("/api/v1/notices/{id}"), &dispatcher)
        .await
        .expect(200);
    let r = app
        .get(&format!("/api/v1/notices/{id}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(r.body["status"], "draft");
    assert_eq!(r.body["version"], 1, "nothing changed");
}

#[tokio::test]
async fn residents_of_the_community_are_told_of_a_published_notice_and_may_open_it() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲").await, app.community("乙").await);
    let (res_user, res_token) = app.user("resident", Some(&a)).await;
    app.resident(&a, json!({"name": "自己", "user_id": res_user}))
        .await
        .expect(201);
    let (other_user, other_token) = app.user("resident", Some(&b)).await;
    app.resident(&b, json!({"name": "别人", "user_id": other_user}))
        .await
        .expect(201);
    let (_, dispatcher) = app.user("dispatcher", Some(&a)).await;
    let id = app
        .post(
            &format!("/api/v1/communities/{a}/notices"),
            &app.admin,
            json!({"category": "party", "title": "党员大会通知", "body": "周五下午开会。"}),
        )
        .await
        .expect(201)
        .id();
    // A draft is not theirs to read, even by its id.
    app.get(&format!("/api/v1/notices/{id}"), &res_token)
        .await
        .problem(404, "not_found");
    app.post(
        &format!("/api/v1/notices/{id}/publish"),
        &app.admin,
        json!({}),
    )
    .await
    .expect(200);
    huying::services::delivery::relay::relay(&app.state, chrono::Utc::now())
        .await
        .unwrap();
    let inbox = app
        .get("/api/v1/me/notifications", &res_token)
        .await
        .expect(200)
        .items();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0]["kind"], "notice.published");
    assert_eq!(inbox[0]["object"]["type"], "notice");
    assert!(inbox[0]["body"].as_str().unwrap().contains("党员大会通知"));
    // The item links to the notice, which its reader may open.
    let href = inbox[0]["object"]["href"].as_str().unwrap();
    let n = app.get(href, &res_token).await.expect(200);
    assert_eq!(n.body["versions"].as_array().unwrap().len(), 1);
    for token in [&other_token, &dispatcher] {
        let items = app
            .get("/api/v1/me/notifications", token)
            .await
            .expect(200)
            .items();
        assert!(items.is_empty(), "{items:?}");
    }
    app.get(&format!("/api/v1/notices/{id}"), &other_token)
        .await
        .problem(404, "not_found");
}
