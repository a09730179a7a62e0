//! 议事 deliberation over HTTP: a topic is raised, taken up at a meeting, voted on by the
//! residents (one ballot each, changeable while the vote is open) and decided, the decision
//! published as a notice; bad input and out-of-order requests are refused with nothing written.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};

/// A resident's account linked to a resident record of `community`: (user id, token).
pub async fn resident_account(app: &TestApp, community: &str, name: &str) -> (String, String) {
    let (user, token) = app.user("resident", Some(community)).await;
    app.resident(community, json!({"name": name, "user_id": user}))
        .await
        .expect(201);
    (user, token)
}

pub async fn raise(app: &TestApp, community: &str, token: &str) -> Resp {
    app.post(
        &format!("/api/v1/communities/{community}/topics"),
        token,
        json!({"title": "增设电动自行车充电桩", "description": "5号楼楼道里常有电动车充电，很危险。"}),
    )
    .await
}

pub fn in_an_hour() -> String {
    (Utc::now() + Duration::hours(1)).to_rfc3339()
}

pub async fn open_vote(app: &TestApp, topic: &str, options: &[&str]) -> Resp {
    app.post(
        &format!("/api/v1/topics/{topic}/vote"),
        &app.admin,
        json!({"options": options, "closes_at": in_an_hour()}),
    )
    .await
}

pub async fn ballot(app: &TestApp, topic: &str, token: &str, option: &str) -> Resp {
    app.post(
        &format!("/api/v1/topics/{topic}/ballots"),
        token,
        json!({"option_id": option}),
    )
    .await
}

fn option_ids(topic: &Value) -> Vec<String> {
    topic["vote"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

async fn count(app: &TestApp, sql: &'static str, id: &str) -> i64 {
    app.scalar(sql, id).await
}

const EVENTS: &str =
    "select count(*) from outbox where aggregate_id = $1 and aggregate_type = 'topic'";
const BALLOTS: &str = "select count(*) from topic_ballots where topic_id = $1";

#[tokio::test]
async fn a_topic_is_raised_scheduled_voted_on_and_decided_and_the_decision_is_a_notice() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let (r1_user, r1) = resident_account(&app, &c, "孙大娘").await;
    let (_, r2) = resident_account(&app, &c, "李大爷").await;
    let (_, r3) = resident_account(&app, &c, "王阿姨").await;
    let (_, late) = resident_account(&app, &c, "赵叔").await;
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;

    // A resident raises it, and edits it while nobody has taken it up.
    let r = raise(&app, &c, &r1).await.expect(201);
    let id = r.id();
    assert!(
        r.header("location")
            .unwrap()
            .ends_with(&format!("/api/v1/topics/{id}"))
    );
    assert_eq!(r.body["status"], "raised");
    assert_eq!(r.body["raised_by"], r1_user.as_str());
    assert_eq!(r.body["raised_by_staff"], false);
    assert!(r.body["meeting"].is_null() && r.body["vote"].is_null());
    let e = app
        .patch(
            &format!("/api/v1/topics/{id}"),
            &r1,
            &r.etag(),
            json!({"title": "5号楼增设电动自行车充电桩"}),
        )
        .await
        .expect(200);
    assert_eq!(e.body["title"], "5号楼增设电动自行车充电桩");
    assert_eq!(e.body["version"], 2);
    let listed = app
        .get(
            &format!("/api/v1/communities/{c}/topics?status=raised"),
            &r2,
        )
        .await
        .expect(200);
    assert_eq!(listed.item_ids(), std::slice::from_ref(&id));

    // Staff take it up at a meeting, and move the meeting.
    let starts = (Utc::now() + Duration::days(3)).to_rfc3339();
    let m = app
        .post(
            &format!("/api/v1/topics/{id}/meeting"),
            &dispatcher,
            json!({"starts_at": starts, "place": "党群服务中心会议室",
                   "participants": [r1_user, {"name": "物业王经理"}]}),
        )
        .await
        .expect(200);
    assert_eq!(m.body["status"], "scheduled");
    let people = m.body["meeting"]["participants"].as_array().unwrap();
    assert_eq!(people[0]["user_id"], r1_user.as_str());
    assert_eq!(people[0]["name"], "测试用户", "an account's display name");
    assert_eq!(people[1], json!({"user_id": null, "name": "物业王经理"}));
    // Once taken up, its raiser no longer edits it; staff still may.
    app.patch(
        &format!("/api/v1/topics/{id}"),
        &r1,
        &m.etag(),
        json!({"description": "改"}),
    )
    .await
    .problem(409, "topic_not_open");
    let moved = app
        .post(
            &format!("/api/v1/topics/{id}/meeting"),
            &dispatcher,
            json!({"starts_at": (Utc::now() + Duration::days(4)).to_rfc3339(), "place": "小区广场"}),
        )
        .await
        .expect(200);
    assert_eq!(moved.body["meeting"]["place"], "小区广场");
    assert_eq!(moved.body["status"], "scheduled");

    // The residents' vote.
    let v = open_vote(&app, &id, &["同意", "反对", "弃权"])
        .await
        .expect(200);
    assert_eq!(v.body["vote"]["state"], "open");
    let [yes, no, abstain]: [String; 3] = option_ids(&v.body).try_into().unwrap();
    let b = ballot(&app, &id, &r1, &yes).await.expect(201);
    assert!(
        b.header("location")
            .unwrap()
            .ends_with(&format!("/api/v1/topics/{id}/ballots/mine"))
    );
    assert_eq!(b.body["option_id"], yes.as_str());
    ballot(&app, &id, &r2, &yes).await.expect(201);
    ballot(&app, &id, &r3, &no).await.expect(201);
    // One vote per resident: a second ballot is refused, the first stands.
    ballot(&app, &id, &r1, &no)
        .await
        .problem(409, "already_voted");
    let mine = app
        .get(&format!("/api/v1/topics/{id}/ballots/mine"), &r1)
        .await
        .expect(200);
    assert_eq!(mine.body["option_id"], yes.as_str());
    // A ballot changes while the vote is open.
    let changed = app
        .put(
            &format!("/api/v1/topics/{id}/ballots/mine"),
            &r3,
            json!({"option_id": abstain}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["option_id"], abstain.as_str());
    assert_eq!(count(&app, BALLOTS, &id).await, 3);

    // Totals: staff any time, residents once the vote closes; who voted for what: staff only.
    app.get(&format!("/api/v1/topics/{id}/results"), &r1)
        .await
        .problem(403, "results_not_published");
    let totals = app
        .get(&format!("/api/v1/topics/{id}/results"), &dispatcher)
        .await
        .expect(200);
    let votes: Vec<i64> = totals.body["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes"].as_i64().unwrap())
        .collect();
    assert_eq!(votes, [2, 0, 1]);
    assert_eq!(totals.body["state"], "open");
    let voters = app
        .get(&format!("/api/v1/topics/{id}/ballots"), &dispatcher)
        .await
        .expect(200);
    assert_eq!(voters.items().len(), 3);
    assert_eq!(voters.items()[2]["option_title"], "弃权");
    assert_eq!(voters.items()[0]["voter_id"], r1_user.as_str());
    app.get(&format!("/api/v1/topics/{id}/ballots"), &r1)
        .await
        .problem(403, "forbidden");
    let page = app
        .get(&format!("/api/v1/topics/{id}/ballots?limit=2"), &dispatcher)
        .await
        .expect(200);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    let rest = app
        .get(
            &format!("/api/v1/topics/{id}/ballots?limit=2&cursor={cursor}"),
            &dispatcher,
        )
        .await
        .expect(200);
    assert_eq!(rest.items().len(), 1);

    // No decision while the vote is open; staff close it early.
    app.post(
        &format!("/api/v1/topics/{id}/decision"),
        &dispatcher,
        json!({"text": "同意"}),
    )
    .await
    .problem(409, "vote_open");
    let closed = app
        .post(
            &format!("/api/v1/topics/{id}/vote/close"),
            &dispatcher,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(closed.body["vote"]["state"], "closed");
    assert!(closed.body["vote"]["closed_at"].is_string());
    assert_eq!(closed.body["vote"]["ballot_count"], 3);
    app.post(
        &format!("/api/v1/topics/{id}/vote/close"),
        &dispatcher,
        json!({}),
    )
    .await
    .problem(409, "vote_closed");
    app.put(
        &format!("/api/v1/topics/{id}/ballots/mine"),
        &r2,
        json!({"option_id": no}),
    )
    .await
    .problem(409, "vote_closed");
    ballot(&app, &id, &late, &no)
        .await
        .problem(409, "vote_closed");
    let published = app
        .get(&format!("/api/v1/topics/{id}/results"), &r1)
        .await
        .expect(200);
    assert_eq!(published.body["ballot_count"], 3);
    assert_eq!(published.body["state"], "closed");

    // The decision, published as a notice with the totals.
    let d = app
        .post(
            &format!("/api/v1/topics/{id}/decision"),
            &dispatcher,
            json!({"text": "同意在5号楼东侧增设充电桩，由物业负责施工。"}),
        )
        .await
        .expect(200);
    assert_eq!(d.body["status"], "decided");
    assert!(d.body["decided_at"].is_string());
    let notice_id = d.body["decision_notice_id"].as_str().unwrap().to_string();
    let n = app
        .get(&format!("/api/v1/notices/{notice_id}"), &r3)
        .await
        .expect(200);
    assert_eq!(n.body["status"], "published");
    assert_eq!(n.body["category"], "affairs");
    assert_eq!(n.body["title"], "议事决定：5号楼增设电动自行车充电桩");
    let body = n.body["body"].as_str().unwrap();
    assert!(body.starts_with("同意在5号楼东侧增设充电桩"), "{body}");
    assert!(
        body.contains("同意：2 票") && body.contains("反对：0 票") && body.contains("弃权：1 票"),
        "{body}"
    );
    let announced =
        "select count(*) from outbox where aggregate_id = $1 and topic = 'notice.published'";
    assert_eq!(count(&app, announced, &notice_id).await, 1);
    let kinds = "select count(*) from outbox where aggregate_id = $1 and topic in ('topic.raised',
        'topic.updated', 'topic.scheduled', 'topic.vote_opened', 'topic.vote_closed', 'topic.decided')";
    // raised, updated, scheduled twice, vote opened, closed, decided: ballots write no events.
    assert_eq!(count(&app, kinds, &id).await, 7);
    assert_eq!(count(&app, EVENTS, &id).await, 7);
    // The residents are told of the notice.
    huying::services::delivery::relay::relay(&app.state, Utc::now())
        .await
        .unwrap();
    let inbox = app
        .get("/api/v1/me/notifications", &r2)
        .await
        .expect(200)
        .items();
    assert!(
        inbox
            .iter()
            .any(|i| i["kind"] == "notice.published" && i["object"]["id"] == notice_id.as_str()),
        "{inbox:?}"
    );

    // Nothing follows a decision.
    for (path, body) in [
        ("decision", json!({"text": "再来"})),
        ("drop", json!({"reason": "再来"})),
        ("meeting", json!({"starts_at": starts, "place": "x"})),
    ] {
        app.post(&format!("/api/v1/topics/{id}/{path}"), &dispatcher, body)
            .await
            .problem(409, "topic_not_open");
    }
    let after = app
        .get(&format!("/api/v1/topics/{id}"), &r1)
        .await
        .expect(200);
    assert_eq!(after.body["version"], d.body["version"]);
    assert_eq!(
        app.get(
            &format!("/api/v1/communities/{c}/topics?status=decided"),
            &r1
        )
        .await
        .expect(200)
        .item_ids(),
        [id]
    );
}

#[tokio::test]
async fn a_vote_closes_when_its_time_comes_and_a_small_matter_is_decided_without_a_meeting() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let (_, r1) = resident_account(&app, &c, "孙大娘").await;
    let (_, r2) = resident_account(&app, &c, "李大爷").await;
    let id = raise(&app, &c, &app.admin).await.expect(201);
    assert_eq!(id.body["raised_by_staff"], true);
    let id = id.id();
    let closes = Utc::now() + Duration::milliseconds(1500);
    let v = app
        .post(
            &format!("/api/v1/topics/{id}/vote"),
            &app.admin,
            json!({"options": ["装", "不装"], "closes_at": closes}),
        )
        .await
        .expect(200);
    let yes = option_ids(&v.body).remove(0);
    app.post(
        &format!("/api/v1/topics/{id}/ballots"),
        &r1,
        json!({"option_id": yes}),
    )
    .await
    .expect(201);
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    app.post(
        &format!("/api/v1/topics/{id}/ballots"),
        &r2,
        json!({"option_id": yes}),
    )
    .await
    .problem(409, "vote_closed");
    let results = app
        .get(&format!("/api/v1/topics/{id}/results"), &r2)
        .await
        .expect(200);
    assert_eq!(results.body["state"], "closed");
    assert_eq!(results.body["options"][0]["votes"], 1);
    let t = app
        .get(&format!("/api/v1/topics/{id}"), &r2)
        .await
        .expect(200);
    assert_eq!(t.body["vote"]["state"], "closed");
    app.post(
        &format!("/api/v1/topics/{id}/vote/close"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "vote_closed");
    // Straight from `raised`: the close is recorded first, then the decision.
    let d = app
        .post(
            &format!("/api/v1/topics/{id}/decision"),
            &app.admin,
            json!({"text": "安装。"}),
        )
        .await
        .expect(200);
    assert_eq!(d.body["status"], "decided");
    assert!(d.body["meeting"].is_null());
    let closed =
        "select count(*) from outbox where aggregate_id = $1 and topic = 'topic.vote_closed'";
    assert_eq!(count(&app, closed, &id).await, 1);
    let notice = d.body["decision_notice_id"].as_str().unwrap();
    let n = app
        .get(&format!("/api/v1/notices/{notice}"), &app.admin)
        .await
        .expect(200);
    assert!(n.body["body"].as_str().unwrap().contains("装：1 票"));
}

#[tokio::test]
async fn racing_ballots_of_one_resident_leave_one_ballot() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let (_, r1) = resident_account(&app, &c, "孙大娘").await;
    let id = raise(&app, &c, &r1).await.expect(201).id();
    let v = open_vote(&app, &id, &["同意", "反对"]).await.expect(200);
    let options = option_ids(&v.body);
    let path = format!("/api/v1/topics/{id}/ballots");
    let tries = (0..6).map(|n| app.post(&path, &r1, json!({"option_id": options[n % 2]})));
    let answers = futures_util::future::join_all(tries).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_eq!((r.status, r.code()), (409, "already_voted"), "{}", r.body);
    }
    assert_eq!(count(&app, BALLOTS, &id).await, 1);
    let t = app
        .get(&format!("/api/v1/topics/{id}"), &r1)
        .await
        .expect(200);
    assert_eq!(t.body["vote"]["ballot_count"], 1);
}

#[tokio::test]
async fn bad_and_out_of_order_requests_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let other = app.community("乙社区").await;
    let (_, r1) = resident_account(&app, &c, "孙大娘").await;
    let (outside_user, _) = app.user("resident", Some(&other)).await;
    let (_, volunteer) = app.volunteer_account(&c, json!({})).await;
    // A resident role without a resident record reads, but neither raises nor votes.
    let (_, unlinked) = app.user("resident", Some(&c)).await;
    let path = format!("/api/v1/communities/{c}/topics");

    let r = app
        .post(
            &path,
            &r1,
            json!({"title": " ", "description": "x".repeat(5001)}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [
            ("title".into(), "required".into()),
            ("description".into(), "too_long".into())
        ]
    );
    let r = app
        .post(
            &path,
            &r1,
            json!({"title": "t", "description": "d", "status": "decided"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("status".into(), "unknown_field".into())]);
    raise(&app, &c, &unlinked)
        .await
        .problem(403, "not_a_resident");
    raise(&app, &c, &volunteer)
        .await
        .problem(403, "not_a_resident");
    app.get(&format!("{path}?status=open"), &r1)
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        count(
            &app,
            "select count(*) from topics where community_id = $1",
            &c
        )
        .await,
        0
    );

    let t = raise(&app, &c, &r1).await.expect(201);
    let id = t.id();
    // A meeting needs a future time and a place; participants are the community's accounts or names.
    let meeting = format!("/api/v1/topics/{id}/meeting");
    let r = app
        .post(
            &meeting,
            &app.admin,
            json!({"participants": [outside_user, {"name": ""}, {"nom": "x"}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes().len(), 1, "{:?}", r.field_codes());
    let r = app
        .post(
            &meeting,
            &app.admin,
            json!({"starts_at": "2020-01-01T00:00:00Z", "participants": [outside_user, {"name": ""}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [
            ("starts_at".into(), "in_past".into()),
            ("place".into(), "required".into()),
            ("participants[0]".into(), "unknown_user".into()),
            ("participants[1].name".into(), "required".into()),
        ]
    );
    // Residents do not schedule, open, close, decide or drop.
    for (p, body) in [
        (
            "meeting",
            json!({"starts_at": (Utc::now() + Duration::days(1)).to_rfc3339(), "place": "x"}),
        ),
        (
            "vote",
            json!({"options": ["a", "b"], "closes_at": in_an_hour()}),
        ),
        ("vote/close", json!({})),
        ("decision", json!({"text": "x"})),
        ("drop", json!({"reason": "x"})),
    ] {
        app.post(&format!("/api/v1/topics/{id}/{p}"), &r1, body)
            .await
            .problem(403, "forbidden");
    }
    // The vote: 2–10 distinct options, closing in the future within a year.
    let vote = format!("/api/v1/topics/{id}/vote");
    for (body, field, code) in [
        (
            json!({"options": ["同意"], "closes_at": in_an_hour()}),
            "options",
            "too_few",
        ),
        (
            json!({"options": ["同意", "同意 "], "closes_at": in_an_hour()}),
            "options[1]",
            "duplicate",
        ),
        (
            json!({"options": ["a", "b"], "closes_at": "2020-01-01T00:00:00Z"}),
            "closes_at",
            "in_past",
        ),
        (
            json!({"options": ["a", "b"], "closes_at": (Utc::now() + Duration::days(400)).to_rfc3339()}),
            "closes_at",
            "too_far",
        ),
        (json!({"closes_at": in_an_hour()}), "options", "required"),
    ] {
        let r = app
            .post(&vote, &app.admin, body)
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.field_codes(), [(field.into(), code.into())]);
    }
    // No ballot before the vote opens, nor a close.
    app.post(
        &format!("/api/v1/topics/{id}/ballots"),
        &r1,
        json!({"option_id": id}),
    )
    .await
    .problem(409, "vote_not_open");
    app.post(
        &format!("/api/v1/topics/{id}/vote/close"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "vote_not_open");
    app.get(&format!("/api/v1/topics/{id}/results"), &app.admin)
        .await
        .problem(404, "not_found");
    let unchanged = app
        .get(&format!("/api/v1/topics/{id}"), &r1)
        .await
        .expect(200);
    assert_eq!(unchanged.body["version"], 1);
    assert_eq!(unchanged.body["status"], "raised");

    let v = open_vote(&app, &id, &["同意", "反对"]).await.expect(200);
    open_vote(&app, &id, &["甲", "乙"])
        .await
        .problem(409, "vote_already_opened");
    let yes = option_ids(&v.body).remove(0);
    // An option of another topic's vote is not one of this one's.
    let second = raise(&app, &c, &r1).await.expect(201).id();
    let foreign =
        option_ids(&open_vote(&app, &second, &["x", "y"]).await.expect(200).body).remove(0);
    let ballots = format!("/api/v1/topics/{id}/ballots");
    let r = app
        .post(&ballots, &r1, json!({"option_id": foreign}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("option_id".into(), "unknown_option".into())]
    );
    let r = app
        .post(&ballots, &r1, json!({}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("option_id".into(), "required".into())]);
    app.post(&ballots, &r1, json!({"option_id": "not-a-uuid"}))
        .await
        .problem(422, "validation_failed");
    app.post(&ballots, &unlinked, json!({"option_id": yes}))
        .await
        .problem(403, "not_a_resident");
    app.post(&ballots, &volunteer, json!({"option_id": yes}))
        .await
        .problem(403, "not_a_resident");
    // No ballot yet: nothing to read or change.
    let mine = format!("/api/v1/topics/{id}/ballots/mine");
    app.get(&mine, &r1).await.problem(404, "not_found");
    app.put(&mine, &r1, json!({"option_id": yes}))
        .await
        .problem(404, "not_found");
    assert_eq!(count(&app, BALLOTS, &id).await, 0);
    // A decision needs its text, a drop its reason.
    let r = app
        .post(
            &format!("/api/v1/topics/{id}/decision"),
            &app.admin,
            json!({}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("text".into(), "required".into())]);
    let r = app
        .post(
            &format!("/api/v1/topics/{id}/drop"),
            &app.admin,
            json!({"reason": ""}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("reason".into(), "required".into())]);
    // A stale edit is 412.
    app.patch(
        &format!("/api/v1/topics/{id}"),
        &r1,
        "\"7\"",
        json!({"title": "新"}),
    )
    .await
    .problem(412, "stale_version");
    assert_eq!(
        count(
            &app,
            "select count(*) from notices where community_id = $1",
            &c
        )
        .await,
        0
    );

    // Dropping closes the open vote.
    let d = app
        .post(
            &format!("/api/v1/topics/{id}/drop"),
            &app.admin,
            json!({"reason": "物业已自行解决"}),
        )
        .await
        .expect(200);
    assert_eq!(d.body["status"], "dropped");
    assert_eq!(d.body["drop_reason"], "物业已自行解决");
    assert_eq!(d.body["vote"]["state"], "closed");
    app.post(&ballots, &r1, json!({"option_id": yes}))
        .await
        .problem(409, "vote_closed");
    app.post(
        &format!("/api/v1/topics/{id}/drop"),
        &app.admin,
        json!({"reason": "再来"}),
    )
    .await
    .problem(409, "topic_not_open");
    app.post(
        &format!("/api/v1/topics/{id}/decision"),
        &app.admin,
        json!({"text": "x"}),
    )
    .await
    .problem(409, "topic_not_open");
    app.patch(
        &format!("/api/v1/topics/{id}"),
        &app.admin,
        &d.etag(),
        json!({"title": "新"}),
    )
    .await
    .problem(409, "topic_not_open");
    assert_eq!(count(&app, BALLOTS, &id).await, 0);
    let dropped = "select count(*) from outbox where aggregate_id = $1 and topic = 'topic.dropped'";
    assert_eq!(count(&app, dropped, &id).await, 1);
}

#[tokio::test]
async fn the_sweeper_closes_a_vote_when_its_time_comes_and_announces_it_once() {
    const CLOSED_EVENTS: &str = "select count(*) from outbox where aggregate_id = $1
        and aggregate_type = 'topic' and topic = 'topic.vote_closed'";
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let (_, r1) = resident_account(&app, &c, "孙大娘").await;
    let id = raise(&app, &c, &r1).await.expect(201).id();
    let v = open_vote(&app, &id, &["同意", "反对"]).await.expect(200);
    let yes = option_ids(&v.body)[0].clone();
    ballot(&app, &id, &r1, &yes).await.expect(201);
    let sweep = |at| huying::services::sweeper::sweep(&app.state, at);

    // Before its time nothing happens.
    sweep(Utc::now()).await.unwrap();
    assert_eq!(count(&app, CLOSED_EVENTS, &id).await, 0);
    let t = app
        .get(&format!("/api/v1/topics/{id}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(t.body["vote"]["state"], "open");

    // Past it, the close is recorded and announced without anyone reading the topic; a second
    // sweep (or another instance) announces nothing more.
    let later = Utc::now() + Duration::hours(2);
    sweep(later).await.unwrap();
    assert_eq!(count(&app, CLOSED_EVENTS, &id).await, 1);
    sweep(later).await.unwrap();
    assert_eq!(count(&app, CLOSED_EVENTS, &id).await, 1);
    let closed_at: i64 = app
        .scalar(
            "select count(*) from topics where id = $1 and vote_closed_at is not null",
            &id,
        )
        .await;
    assert_eq!(closed_at, 1);
    // Reading it afterwards records nothing twice either.
    let t = app
        .get(&format!("/api/v1/topics/{id}"), &app.admin)
        .await
        .expect(200);
    assert_eq!(count(&app, CLOSED_EVENTS, &id).await, 1);
    assert_eq!(t.body["vote"]["state"], "closed");
}
