//! 有呼必应 over HTTP: a request from the call to the rating, every lifecycle edge a client can
//! drive, deadlines, the sweeper, and bad input.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};
use huying::services::sweeper;

pub struct World {
    pub app: TestApp,
    pub c: String,
    pub grid: String,
    pub gw: String,
    pub resident: String,
    pub resident_token: String,
    pub service_type: String,
    /// (volunteer id, token), nearest to the resident first.
    pub vols: Vec<(String, String)>,
    pub dispatcher: String,
}

/// The resident lives at (36.0, 113.0); volunteer i lives i × ~100 m north.
pub const HOME: (f64, f64) = (36.0, 113.0);

pub async fn world(volunteers: usize, policy: Value) -> World {
    world_on(spawn_app().await, volunteers, policy).await
}

/// The same world on an app the test started with settings of its own.
pub async fn world_on(app: TestApp, volunteers: usize, policy: Value) -> World {
    let c = app.community("电力社区").await;
    app.patch(
        &format!("/api/v1/communities/{c}"),
        &app.admin,
        "\"1\"",
        json!({ "policy": policy }),
    )
    .await
    .expect(200);
    let (gw_user, gw) = app.user("grid_worker", Some(&c)).await;
    let grid = app.grid(&c, "第一网格", &[&gw_user]).await;
    let (res_user, resident_token) = app.user("resident", Some(&c)).await;
    let resident = app
        .resident(
            &c,
            json!({"name": "孙大娘", "grid_id": grid, "user_id": res_user, "phone": "13812345678",
                   "address": "电力小区3号楼2单元501", "location": {"lat": HOME.0, "lng": HOME.1}}),
        )
        .await
        .expect(201)
        .id();
    let service_type = app.service_type(&c, "errands", "代购", &["errands"]).await;
    let mut vols = Vec::new();
    for i in 0..volunteers {
        let location = json!({"lat": HOME.0 + 0.001 * (i as f64 + 1.0), "lng": HOME.1});
        vols.push(
            app.volunteer_account(
                &c,
                json!({"skills": ["errands"], "availability": [], "home_grid_id": grid,
                       "location": location}),
            )
            .await,
        );
    }
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    World {
        app,
        c,
        grid,
        gw,
        resident,
        resident_token,
        service_type,
        vols,
        dispatcher,
    }
}

impl World {
    pub async fn place(&self, token: &str, extra: Value) -> Resp {
        let mut body = json!({"resident_id": self.resident, "service_type_id": self.service_type,
                              "description": "帮忙买药和米面"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.app.post("/api/v1/help-requests", token, body).await
    }

    pub async fn get(&self, id: &str) -> Value {
        self.app
            .get(&format!("/api/v1/help-requests/{id}"), &self.dispatcher)
            .await
            .expect(200)
            .body
    }

    pub async fn offers(&self, id: &str) -> Vec<Value> {
        self.app
            .get(
                &format!("/api/v1/help-requests/{id}/offers"),
                &self.dispatcher,
            )
            .await
            .expect(200)
            .items()
    }

    pub async fn open_offers(&self, id: &str) -> Vec<Value> {
        self.offers(id)
            .await
            .into_iter()
            .filter(|o| o["answer"].is_null())
            .collect()
    }

    pub async fn kinds(&self, id: &str) -> Vec<String> {
        self.app
            .get(
                &format!("/api/v1/help-requests/{id}/timeline?limit=200"),
                &self.dispatcher,
            )
            .await
            .expect(200)
            .items()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn token_of(&self, volunteer: &str) -> &str {
        &self.vols.iter().find(|(v, _)| v == volunteer).unwrap().1
    }

    pub async fn act(&self, id: &str, action: &str, token: &str, body: Value) -> Resp {
        self.app
            .post(&format!("/api/v1/help-requests/{id}/{action}"), token, body)
            .await
    }

    /// 评单: the resident rates the request.
    pub async fn rate(&self, id: &str, body: Value) -> Resp {
        self.act(id, "rating", &self.resident_token, body).await
    }

    pub async fn accept(&self, offer: &Value) -> Resp {
        let token = self.token_of(offer["volunteer_id"].as_str().unwrap());
        self.app
            .post(
                &format!("/api/v1/offers/{}/accept", offer["id"].as_str().unwrap()),
                token,
                json!({}),
            )
            .await
    }

    pub async fn sweep(&self, at: DateTime<Utc>) -> usize {
        sweeper::sweep(&self.app.state, at).await.unwrap()
    }

    pub async fn scalar(&self, sql: &'static str, id: &str) -> i64 {
        self.app.scalar(sql, id).await
    }

    pub async fn load_of(&self, volunteer: &str) -> i64 {
        self.scalar(
            "select active_load from volunteers where id = $1",
            volunteer,
        )
        .await
    }
}

#[tokio::test]
async fn a_call_goes_from_placing_to_rating_with_every_step_on_the_timeline() {
    let w = world(3, json!({})).await;
    let r = w.place(&w.resident_token, json!({})).await.expect(201);
    let id = r.id();
    assert_eq!(r.body["status"], "offered");
    assert_eq!(r.body["placed_as"], "resident");
    assert_eq!(r.body["channel"], "mini_program");
    assert_eq!(r.body["urgency"], "normal");
    assert_eq!(r.body["dispatch_mode"], "auto");
    assert_eq!(r.body["resident"]["phone"], "138****5678");
    // Deadlines from the service type (normal: 240 min / 72 h by default).
    let created: DateTime<Utc> = r.body["created_at"].as_str().unwrap().parse().unwrap();
    let respond_by: DateTime<Utc> = r.body["respond_by"].as_str().unwrap().parse().unwrap();
    assert_eq!(respond_by - created, Duration::minutes(240));

    // Auto mode: one offer, to the nearest volunteer, with every score term stored.
    let offers = w.offers(&id).await;
    assert_eq!(offers.len(), 1);
    let offer = &offers[0];
    assert_eq!(offer["volunteer_id"], w.vols[0].0.as_str());
    for term in [
        "distance",
        "load",
        "continuity",
        "reliability",
        "rating",
        "fairness",
    ] {
        assert!(offer["breakdown"][term]["points"].is_number(), "{term}");
    }
    assert!(offer["breakdown"]["distance_m"].as_f64().unwrap() > 50.0);

    // The offered volunteer sees it among their offers, without the resident's details.
    let (v0, t0) = &w.vols[0];
    let mine = w.app.get("/api/v1/offers", t0).await.expect(200);
    assert_eq!(mine.item_ids(), [offer["id"].as_str().unwrap()]);
    let seen = w
        .app
        .get(&format!("/api/v1/help-requests/{id}"), t0)
        .await
        .expect(200);
    assert!(seen.body["resident"].is_null() && seen.body["address"].is_null());
    // Another volunteer does not see the request at all.
    w.app
        .get(&format!("/api/v1/help-requests/{id}"), &w.vols[1].1)
        .await
        .problem(404, "not_found");

    let accepted = w.accept(offer).await.expect(200);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(accepted.body["assignee_id"], v0.as_str());
    // While serving, the assignee has what they need: name, full phone, address.
    assert_eq!(accepted.body["resident"]["phone"], "13812345678");
    assert_eq!(accepted.body["address"], "电力小区3号楼2单元501");
    assert_eq!(w.load_of(v0).await, 1);

    w.act(&id, "start", t0, json!({})).await.expect(200);
    w.act(&id, "complete", t0, json!({}))
        .await
        .problem(422, "validation_failed");
    let done = w
        .act(&id, "complete", t0, json!({"resolution_note": "已送到家"}))
        .await
        .expect(200);
    assert_eq!(done.body["status"], "completed");
    assert_eq!(w.load_of(v0).await, 0);
    // After the work the volunteer no longer sees the resident's details.
    let after = w
        .app
        .get(&format!("/api/v1/help-requests/{id}"), t0)
        .await
        .expect(200);
    assert!(after.body["resident"].is_null());

    // Hours: one ledger entry, totals derived.
    let hours = w
        .app
        .get(&format!("/api/v1/volunteers/{v0}/hours"), t0)
        .await
        .expect(200);
    assert_eq!(hours.body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(hours.body["entries"][0]["source_id"], id.as_str());
    assert_eq!(
        hours.body["total_minutes"],
        hours.body["entries"][0]["minutes"]
    );

    // 评单 by the resident: satisfied closes.
    let rated = w
        .rate(
            &id,
            json!({"rating": 5, "solved": true, "comment": "很及时"}),
        )
        .await
        .expect(200);
    assert_eq!(rated.body["status"], "closed");
    assert_eq!(rated.body["rating"], 5);
    assert_eq!(
        w.kinds(&id).await,
        [
            "placed",
            "offered",
            "accepted",
            "started",
            "completed",
            "closed"
        ]
    );
    // One outbox row per timeline entry, written with it.
    assert_eq!(
        w.scalar("select count(*) from outbox where aggregate_id = $1", &id)
            .await,
        6
    );
    assert_eq!(
        w.scalar("select rating_count from volunteers where id = $1", v0)
            .await,
        1
    );
    // A second rating is an illegal transition.
    w.rate(&id, json!({"rating": 5, "solved": true}))
        .await
        .problem(409, "invalid_transition");
}

#[tokio::test]
async fn declines_move_on_to_the_next_volunteer_and_the_last_escalates() {
    let w = world(2, json!({"dispatch": {"max_attempts": 5}})).await;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let first = w.open_offers(&id).await.remove(0);
    let path = format!("/api/v1/offers/{}/decline", first["id"].as_str().unwrap());
    let t0 = w.token_of(first["volunteer_id"].as_str().unwrap());
    // A reason is required.
    w.app
        .post(&path, t0, json!({}))
        .await
        .problem(422, "validation_failed");
    let d = w
        .app
        .post(&path, t0, json!({"reason": "今天不在家"}))
        .await
        .expect(200);
    assert_eq!(d.body["answer"], "declined");
    let second = w.open_offers(&id).await;
    assert_eq!(second.len(), 1);
    assert_ne!(second[0]["volunteer_id"], first["volunteer_id"]);
    assert_eq!(w.get(&id).await["attempts"], 2);
    // Declining twice is refused.
    w.app
        .post(&path, t0, json!({"reason": "again"}))
        .await
        .problem(409, "offer_not_open");
    // The last one declines: nobody is left, so it is escalated with an alert.
    let t1 = w.token_of(second[0]["volunteer_id"].as_str().unwrap());
    w.app
        .post(
            &format!(
                "/api/v1/offers/{}/decline",
                second[0]["id"].as_str().unwrap()
            ),
            t1,
            json!({"reason": "身体不适"}),
        )
        .await
        .expect(200);
    let r = w.get(&id).await;
    assert_eq!(r["status"], "escalated");
    let kinds = w.kinds(&id).await;
    assert!(
        kinds.ends_with(&["escalated".into(), "alert".into()]),
        "{kinds:?}"
    );
    let queue = w
        .app
        .get(
            &format!(
                "/api/v1/help-requests?community_id={}&status=escalated",
                w.c
            ),
            &w.dispatcher,
        )
        .await
        .expect(200);
    assert_eq!(queue.item_ids(), std::slice::from_ref(&id));

    // Manual dispatch from the escalated queue; two dispatchers at once: one wins.
    let (_, d2) = w.app.user("dispatcher", Some(&w.c)).await;
    let body = json!({"mode": "manual", "volunteer_id": w.vols[0].0});
    let (a, b) = tokio::join!(
        w.act(&id, "dispatch", &w.dispatcher, body.clone()),
        w.act(&id, "dispatch", &d2, body.clone())
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let loser = if a.status == 409 { a } else { b };
    assert!(["state_changed", "offers_open"].contains(&loser.code()));
    let open = w.open_offers(&id).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["mode"], "manual");
    assert_eq!(w.get(&id).await["status"], "offered");
}

#[tokio::test]
async fn fifty_volunteers_accepting_one_broadcast_leave_exactly_one_winner() {
    let w = world(50, json!({"dispatch": {"broadcast_k": 50}})).await;
    let id = w
        .place(&w.resident_token, json!({"urgency": "emergency"}))
        .await
        .expect(201)
        .id();
    assert_eq!(w.get(&id).await["dispatch_mode"], "broadcast");
    let offers = w.open_offers(&id).await;
    assert_eq!(offers.len(), 50);
    let results = futures_util::future::join_all(offers.iter().map(|o| w.accept(o))).await;
    let winners: Vec<&Resp> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one accept succeeds");
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 409);
        assert_eq!(r.code(), "offer_not_open");
    }
    let winner = winners[0].body["assignee_id"].as_str().unwrap().to_string();
    let after = w.offers(&id).await;
    let answers: Vec<&str> = after
        .iter()
        .map(|o| o["answer"].as_str().unwrap())
        .collect();
    assert_eq!(answers.iter().filter(|a| **a == "accepted").count(), 1);
    assert_eq!(answers.iter().filter(|a| **a == "withdrawn").count(), 49);
    let r = w.get(&id).await;
    assert_eq!(r["status"], "accepted");
    assert_eq!(r["assignee_id"], winner.as_str());
    // Only the winner carries the load.
    let loads = w
        .scalar(
            "select cast(coalesce(sum(active_load), 0) as bigint) from volunteers where community_id = $1",
            &w.c,
        )
        .await;
    assert_eq!(loads, 1);
    assert_eq!(w.load_of(&winner).await, 1);
    // Losing the race does not count against a volunteer's reliability: withdrawn offers are
    // not answers.
    let answered = w
        .scalar(
            "select cast(coalesce(sum(offers_made), 0) as bigint) from volunteers where community_id = $1",
            &w.c,
        )
        .await;
    assert_eq!(answered, 1);
}

#[tokio::test]
async fn accept_against_expiry_and_against_cancel_end_consistently() {
    let w = world(4, json!({"dispatch": {"max_attempts": 10}})).await;
    // Accept racing the sweeper that expires the same offer.
    for _ in 0..3 {
        let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
        let offer = w.open_offers(&id).await.remove(0);
        let later = Utc::now() + Duration::minutes(61);
        let (acc, _) = tokio::join!(w.accept(&offer), w.sweep(later));
        let status = w.get(&id).await["status"].as_str().unwrap().to_string();
        let answer = w
            .offers(&id)
            .await
            .into_iter()
            .find(|o| o["id"] == offer["id"])
            .unwrap()["answer"]
            .as_str()
            .unwrap()
            .to_string();
        if acc.status == 200 {
            assert_eq!((status.as_str(), answer.as_str()), ("accepted", "accepted"));
            // Release the volunteer for the next round.
            w.act(&id, "cancel", &w.dispatcher, json!({"reason": "测试结束"}))
                .await
                .expect(200);
        } else {
            assert_eq!(acc.status, 409);
            assert_eq!(answer, "expired");
            assert_ne!(status, "accepted");
            w.act(&id, "cancel", &w.dispatcher, json!({"reason": "测试结束"}))
                .await
                .expect(200);
        }
    }
    // Accept racing a cancel: never accepted after cancelled, and the load follows the state.
    for _ in 0..3 {
        let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
        let offer = w.open_offers(&id).await.remove(0);
        let v = offer["volunteer_id"].as_str().unwrap().to_string();
        let (acc, can) = tokio::join!(
            w.accept(&offer),
            w.act(
                &id,
                "cancel",
                &w.resident_token,
                json!({"reason": "不需要了"})
            )
        );
        let status = w.get(&id).await["status"].as_str().unwrap().to_string();
        assert!(acc.status == 200 || acc.status == 409);
        assert!(can.status == 200 || can.status == 409);
        assert!(acc.status == 200 || can.status == 200, "someone wins");
        if can.status == 200 {
            assert_eq!(status, "cancelled");
        } else {
            assert_eq!(status, "accepted");
            w.act(&id, "cancel", &w.dispatcher, json!({"reason": "测试结束"}))
                .await
                .expect(200);
        }
        assert_eq!(w.load_of(&v).await, 0, "{} {}", acc.status, can.status);
    }
}

#[tokio::test]
async fn the_sweeper_expires_offers_escalates_reminds_flags_overdue_and_closes() {
    let w = world(
        2,
        json!({"dispatch": {"max_attempts": 2}, "rating": {"auto_close_days": 3}}),
    )
    .await;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    // Timers live in the database.
    assert!(
        w.scalar("select count(*) from timers where request_id = $1", &id)
            .await
            >= 2
    );
    let t0 = Utc::now();
    // The first offer expires (normal TTL 60 min): the next volunteer gets one. A second
    // instance, started afresh on the same database (as after a restart), finds the timers, and
    // the two sweeping at once process each timer once.
    let other = huying::startup::prepare(crate::helpers::test_config(w.app.db_url()))
        .await
        .unwrap();
    let later = t0 + Duration::minutes(61);
    let (a, b) = tokio::join!(w.sweep(later), sweeper::sweep(&other, later));
    assert!(a + b.unwrap() >= 1);
    let kinds = w.kinds(&id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "offer_expired").count(), 1);
    assert_eq!(w.open_offers(&id).await.len(), 1);
    // 催办 at 75 % of the respond window (240 min), then 督办 when it passes.
    w.sweep(t0 + Duration::minutes(100)).await;
    assert!(!w.kinds(&id).await.contains(&"reminder".to_string()));
    // Both instances sweep at the reminder time: one reminder, not two.
    let at = t0 + Duration::minutes(185);
    let (_, b) = tokio::join!(w.sweep(at), sweeper::sweep(&other, at));
    b.unwrap();
    let kinds = w.kinds(&id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "reminder").count(),
        1,
        "{kinds:?}"
    );
    // The second offer expires too: attempts are spent, so it is escalated.
    w.sweep(t0 + Duration::minutes(200)).await;
    assert_eq!(w.get(&id).await["status"], "escalated");
    w.sweep(t0 + Duration::minutes(241)).await;
    let r = w.get(&id).await;
    assert_eq!(r["respond_overdue"], true);
    assert_eq!(r["overdue"], true);
    let kinds = w.kinds(&id).await;
    assert!(kinds.contains(&"overdue".to_string()));
    assert!(kinds.iter().filter(|k| *k == "alert").count() >= 2);
    let overdue = w
        .app
        .get(
            &format!("/api/v1/help-requests?community_id={}&overdue=true", w.c),
            &w.dispatcher,
        )
        .await
        .expect(200);
    assert_eq!(overdue.item_ids(), std::slice::from_ref(&id));
    // Sweeping again changes nothing.
    let before = w.kinds(&id).await.len();
    w.sweep(t0 + Duration::minutes(242)).await;
    assert_eq!(w.kinds(&id).await.len(), before);

    // A completed request nobody rates closes after the policy's days.
    let id2 = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let offer = w.open_offers(&id2).await.remove(0);
    let tok = w
        .token_of(offer["volunteer_id"].as_str().unwrap())
        .to_string();
    w.accept(&offer).await.expect(200);
    w.act(&id2, "start", &tok, json!({})).await.expect(200);
    w.act(&id2, "complete", &tok, json!({"resolution_note": "好了"}))
        .await
        .expect(200);
    w.sweep(Utc::now() + Duration::days(2)).await;
    assert_eq!(w.get(&id2).await["status"], "completed");
    w.sweep(Utc::now() + Duration::days(3) + Duration::minutes(1))
        .await;
    let closed = w.get(&id2).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["close_reason"], "auto_closed");
}
