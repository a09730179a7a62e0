//! 未呼先应 over HTTP: grades and their history, visit plans and idempotent generation, visits
//! from "my visits" to completion, needs dispatched, urgent findings, major changes, missed
//! visits, coverage, who sees what, and bad input.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, on_test_db, spawn_app};
use huying::services::sweeper;
use huying::services::visits::generation;

pub struct V {
    pub app: TestApp,
    pub c: String,
    pub grid: String,
    pub gw_user: String,
    pub gw: String,
    pub doctor_user: String,
    pub doctor: String,
    pub party_user: String,
    pub party: String,
    /// A volunteer on no team, with the errands skill.
    pub other_vol: String,
    pub other_vol_id: String,
    pub dispatcher: String,
    pub service_type: String,
}

pub async fn v_world() -> V {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (gw_user, gw) = app.user("grid_worker", Some(&c)).await;
    let grid = app.grid(&c, "第一网格", &[&gw_user]).await;
    let (doctor_user, doctor) = app.user("doctor", Some(&c)).await;
    let (party_user, party) = app.user("volunteer", Some(&c)).await;
    app.volunteer(&c, &party_user, json!({"party_member": true}))
        .await
        .expect(201);
    let (other_vol_id, other_vol) = app
        .volunteer_account(
            &c,
            json!({"skills": ["errands"], "availability": [], "home_grid_id": grid,
                   "location": {"lat": 36.001, "lng": 113.0}}),
        )
        .await;
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let service_type = app.service_type(&c, "errands", "代购", &["errands"]).await;
    V {
        app,
        c,
        grid,
        gw_user,
        gw,
        doctor_user,
        doctor,
        party_user,
        party,
        other_vol,
        other_vol_id,
        dispatcher,
        service_type,
    }
}

impl V {
    pub async fn resident(&self, categories: Value) -> String {
        self.app
            .resident(
                &self.c,
                json!({"name": "孙大娘", "grid_id": self.grid, "phone": "13812345678",
                       "address": "电力小区3号楼2单元501", "care_categories": categories,
                       "location": {"lat": 36.0, "lng": 113.0}}),
            )
            .await
            .expect(201)
            .id()
    }

    pub async fn plan(&self, resident: &str, extra: Value) -> Resp {
        let mut body = json!({"resident_id": resident, "contact_kinds": ["home_visit", "phone"],
            "team": [{"user_id": self.gw_user, "role": "grid_worker"},
                     {"user_id": self.doctor_user, "role": "doctor"},
                     {"user_id": self.party_user, "role": "party_volunteer"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.app
            .post(
                &format!("/api/v1/communities/{}/visit-plans", self.c),
                &self.gw,
                body,
            )
            .await
    }

    /// 孙大娘 (80+, living alone) with the usual plan; returns (resident id, plan id).
    pub async fn sun_with_plan(&self) -> (String, String) {
        let sun = self.resident(json!(["advanced_age", "living_alone"])).await;
        let plan = self.plan(&sun, json!({})).await.expect(201).id();
        (sun, plan)
    }

    /// The first visit in the caller's own list.
    async fn first_visit(&self, token: &str) -> String {
        self.visits(token, "mine=true").await[0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn visits(&self, token: &str, query: &str) -> Vec<Value> {
        self.app
            .get(&format!("/api/v1/visits?limit=200&{query}"), token)
            .await
            .expect(200)
            .items()
    }

    /// A resident's visits in one status, as the dispatcher sees them.
    async fn visits_of(&self, resident: &str, status: &str) -> Vec<Value> {
        let query = format!("resident_id={resident}&status={status}");
        self.visits(&self.dispatcher, &query).await
    }

    async fn grade(&self, resident: &str) -> Value {
        self.app
            .get(
                &format!("/api/v1/residents/{resident}/grade"),
                &self.dispatcher,
            )
            .await
            .expect(200)
            .body
    }

    async fn history(&self, resident: &str) -> Vec<Value> {
        self.app
            .get(
                &format!("/api/v1/residents/{resident}/grade-changes"),
                &self.dispatcher,
            )
            .await
            .expect(200)
            .items()
    }

    async fn act(&self, visit: &str, action: &str, token: &str, body: Value) -> Resp {
        self.app
            .post(&format!("/api/v1/visits/{visit}/{action}"), token, body)
            .await
    }

    async fn scalar(&self, sql: &'static str, id: &str) -> i64 {
        self.app.scalar(sql, id).await
    }

    /// Moves a visit's window (tests of what happens once time has passed).
    async fn set_window(&self, visit: &str, start: DateTime<Utc>, end: DateTime<Utc>) {
        const SQL: &str = "update visits set window_start = $2, window_end = $3 where id = $1";
        let id = uuid::Uuid::parse_str(visit).unwrap();
        let start = start.trunc_subsecs_micro();
        let end = end.trunc_subsecs_micro();
        let r = on_test_db!(self.app, p => sqlx::query(SQL).bind(id).bind(start).bind(end)
            .execute(p).await.map(|r| r.rows_affected()));
        assert_eq!(r.unwrap(), 1);
    }
}

trait Micro {
    fn trunc_subsecs_micro(self) -> Self;
}
impl Micro for DateTime<Utc> {
    fn trunc_subsecs_micro(self) -> Self {
        chrono::SubsecRound::trunc_subsecs(self, 6)
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

fn complete_body(condition: &str) -> Value {
    json!({"contact_kind": "home_visit", "duration_minutes": 30, "condition": condition,
           "observations": "精神不错，冰箱里缺菜"})
}

#[tokio::test]
async fn grades_follow_categories_assessments_and_hands_with_their_history() {
    let w = v_world().await;
    // 80+ living alone is high risk by the default policy (DESIGN §5).
    let sun = w.resident(json!(["advanced_age", "living_alone"])).await;
    let g = w.grade(&sun).await;
    assert_eq!(g["grade"], "high");
    assert_eq!(g["source"], "rules");
    assert_eq!(g["every_days"], 7);
    let h = w.history(&sun).await;
    assert_eq!(h.len(), 1);
    assert!(h[0]["from_grade"].is_null() && h[0]["to_grade"] == "high");

    // Chronic illness alone is general; the grid worker's assessment of a severe health
    // risk makes it high, kept with who and why.
    let li = w.resident(json!(["chronic_illness"])).await;
    assert_eq!(w.grade(&li).await["grade"], "general");
    let a = w
        .app
        .post(
            &format!("/api/v1/residents/{li}/assessments"),
            &w.gw,
            json!({"health": 3, "social_support": 1, "home_safety": 0, "notes": "心衰，独自服药"}),
        )
        .await
        .expect(201);
    assert_eq!(a.body["grade"]["grade"], "high");
    assert_eq!(a.body["grade"]["changed"], true);
    assert_eq!(a.body["assessment"]["health"], 3);
    let h = w.history(&li).await;
    assert_eq!(h[0]["from_grade"], "general");
    assert_eq!(h[0]["to_grade"], "high");
    assert_eq!(h[0]["source"], "assessment");
    assert_eq!(h[0]["actor_id"], w.gw_user.as_str());
    let listed = w
        .app
        .get(&format!("/api/v1/residents/{li}/assessments"), &w.gw)
        .await
        .expect(200);
    assert_eq!(listed.items().len(), 1);

    // A grade set by hand needs a reason and holds over later record changes.
    let path = format!("/api/v1/residents/{li}/grade");
    w.app
        .put(&path, &w.gw, json!({"grade": "priority"}))
        .await
        .problem(422, "validation_failed");
    w.app
        .put(&path, &w.gw, json!({"grade": "purple", "reason": "试试"}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(w.history(&li).await.len(), 2, "nothing written");
    let set = w
        .app
        .put(
            &path,
            &w.gw,
            json!({"grade": "priority", "reason": "病情稳定，家属同住"}),
        )
        .await
        .expect(200);
    assert_eq!(set.body["source"], "manual");
    let r = w
        .app
        .get(&format!("/api/v1/residents/{li}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(r.body["care_level"], "priority");
    w.app
        .patch(
            &format!("/api/v1/residents/{li}"),
            &w.gw,
            &r.etag(),
            json!({"care_categories": ["chronic_illness", "empty_nest"]}),
        )
        .await
        .expect(200);
    assert_eq!(w.grade(&li).await["grade"], "priority");
    let h = w.history(&li).await;
    assert_eq!(h.len(), 3);
    assert_eq!(h[0]["reason"], "病情稳定，家属同住");

    // Doctors grade nobody by hand; they assess only residents of their plans.
    w.app
        .put(&path, &w.doctor, json!({"grade": "high", "reason": "x"}))
        .await
        .problem(404, "not_found");
    w.app
        .post(
            &format!("/api/v1/residents/{li}/assessments"),
            &w.doctor,
            json!({"health": 1, "social_support": 1, "home_safety": 1}),
        )
        .await
        .problem(404, "not_found");
    w.app
        .post(
            &format!("/api/v1/residents/{li}/assessments"),
            &w.gw,
            json!({"health": 4, "social_support": -1, "home_safety": "x"}),
        )
        .await
        .problem(422, "validation_failed");
    w.app
        .post(
            &format!("/api/v1/residents/{li}/assessments"),
            &w.gw,
            json!({"health": 4, "social_support": -1, "home_safety": 0}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        w.scalar(
            "select count(*) from assessments where resident_id = $1",
            &li
        )
        .await,
        1,
        "nothing written"
    );
}

#[tokio::test]
async fn colour_codes_and_unknown_grades_in_the_policy() {
    let w = v_world().await;
    let path = format!("/api/v1/communities/{}", w.c);
    let cur = w.app.get(&path, &w.app.admin).await.expect(200);
    let bad = json!({"visit": {"grades": [
        {"code": "red", "name": "红", "every_days": 1},
        {"code": "green", "name": "绿", "every_days": 30}],
        "rules": [{"grade": "yellow", "any_categories": ["living_alone"]}],
        "default_grade": "blue"}});
    let r = w
        .app
        .patch(&path, &w.app.admin, &cur.etag(), json!({"policy": bad}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [
            ("policy.visit.rules[0].grade".into(), "unknown_grade".into()),
            ("policy.visit.default_grade".into(), "unknown_grade".into()),
        ]
    );
    let colours = json!({"visit": {"grades": [
        {"code": "red", "name": "红", "every_days": 1},
        {"code": "yellow", "name": "黄", "every_days": 7},
        {"code": "green", "name": "绿", "every_days": 30}],
        "rules": [{"grade": "yellow", "any_categories": ["living_alone"]}],
        "default_grade": "green"}});
    w.app
        .patch(&path, &w.app.admin, &cur.etag(), json!({"policy": colours}))
        .await
        .expect(200);
    let alone = w.resident(json!(["living_alone"])).await;
    assert_eq!(w.grade(&alone).await["grade"], "yellow");
    assert_eq!(w.grade(&alone).await["every_days"], 7);
    let anyone = w.resident(json!([])).await;
    assert_eq!(w.grade(&anyone).await["grade"], "green");
}

#[tokio::test]
async fn plans_generate_visits_once_in_the_community_zone_and_replan_on_a_grade_change() {
    let w = v_world().await;
    let sun = w.resident(json!(["advanced_age", "living_alone"])).await;
    let plan = w.plan(&sun, json!({})).await.expect(201);
    assert_eq!(plan.body["every_days"], 7);
    assert_eq!(plan.body["grade"], "high");
    assert_eq!(plan.body["team"].as_array().unwrap().len(), 3);
    let plan_id = plan.id();

    // Weekly windows from today (Shanghai) as far as four weeks ahead: five windows.
    let vs = w.visits(&w.dispatcher, &format!("resident_id={sun}")).await;
    assert_eq!(vs.len(), 5, "{vs:?}");
    for (i, v) in vs.iter().enumerate() {
        let (s, e) = (time(&v["window_start"]), time(&v["window_end"]));
        assert_eq!(e - s, Duration::days(7));
        // Local midnight in Asia/Shanghai is 16:00 UTC.
        assert_eq!((s.hour(), s.minute()), (16, 0));
        assert_eq!(v["status"], "scheduled");
        assert_eq!(v["plan_id"], plan_id.as_str());
        let kind = if i % 2 == 0 { "home_visit" } else { "phone" };
        assert_eq!(v["contact_kind"], kind);
    }
    assert!(time(&vs[0]["window_start"]) <= Utc::now());

    // Running the job again, by hand, in the sweeper, or twice at once, creates nothing twice.
    let again = w
        .app
        .post(
            &format!("/api/v1/communities/{}/visits/generate", w.c),
            &w.dispatcher,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(again.body["created"], 0);
    sweeper::sweep(&w.app.state, Utc::now()).await.unwrap();
    let later = Utc::now() + Duration::days(10);
    let (a, b) = tokio::join!(
        generation::generate(&w.app.state, later),
        generation::generate(&w.app.state, later)
    );
    assert_eq!(a.unwrap().created + b.unwrap().created, 1);
    let n = w
        .scalar("select count(*) from visits where plan_id = $1", &plan_id)
        .await;
    let distinct = w
        .scalar(
            "select count(*) from (select distinct epoch, seq from visits where plan_id = $1) x",
            &plan_id,
        )
        .await;
    assert_eq!((n, distinct), (6, 6));

    // Down to general (quarterly): the unstarted weekly visits go, one quarterly window comes.
    w.app
        .put(
            &format!("/api/v1/residents/{sun}/grade"),
            &w.gw,
            json!({"grade": "general", "reason": "女儿搬回同住"}),
        )
        .await
        .expect(200);
    let open = w.visits_of(&sun, "scheduled").await;
    assert_eq!(open.len(), 1);
    assert_eq!(
        time(&open[0]["window_end"]) - time(&open[0]["window_start"]),
        Duration::days(90)
    );
    let cancelled = w.visits_of(&sun, "cancelled").await;
    assert_eq!(cancelled.len(), 6);
    assert!(cancelled.iter().all(|v| v["cancel_reason"] == "replanned"));
    let p = w
        .app
        .get(&format!("/api/v1/visit-plans/{plan_id}"), &w.doctor)
        .await
        .expect(200);
    assert_eq!(p.body["epoch"], 2);
    assert_eq!(p.body["every_days"], 90);

    // A plan's own frequency overrides the grade; ending the plan cancels what is left.
    let p = w
        .app
        .patch(
            &format!("/api/v1/visit-plans/{plan_id}"),
            &w.gw,
            &p.etag(),
            json!({"frequency_days": 14}),
        )
        .await
        .expect(200);
    assert_eq!(p.body["every_days"], 14);
    assert_eq!(p.body["epoch"], 3);
    let open = w.visits_of(&sun, "scheduled").await;
    assert_eq!(
        open.len(),
        3,
        "fortnightly windows from today, four weeks ahead"
    );
    w.app
        .delete(&format!("/api/v1/visit-plans/{plan_id}"), &w.gw)
        .await
        .expect(204);
    let open = w.visits_of(&sun, "scheduled").await;
    assert!(open.is_empty());
}

#[tokio::test]
async fn a_visit_goes_from_my_list_to_completion_and_its_needs_are_dispatched() {
    let w = v_world().await;
    let (sun, _) = w.sun_with_plan().await;
    let mine = w.visits(&w.party, "mine=true").await;
    assert_eq!(mine.len(), 5);
    // Lists mask the phone; the team's single read shows it in full, audited.
    assert_eq!(mine[0]["resident"]["phone"], "138****5678");
    assert_eq!(mine[0]["resident"]["address"], "电力小区3号楼2单元501");
    let visit = mine[0]["id"].as_str().unwrap().to_string();
    let one = w
        .app
        .get(&format!("/api/v1/visits/{visit}"), &w.party)
        .await
        .expect(200);
    assert_eq!(one.body["resident"]["phone"], "13812345678");
    assert!(
        w.scalar(
            "select count(*) from audit_log where object_id = $1 and action = 'resident.reveal'",
            &sun
        )
        .await
            >= 1
    );
    // Volunteers on no team see none of it.
    assert!(w.visits(&w.other_vol, "mine=true").await.is_empty());
    assert!(w.visits(&w.other_vol, "").await.is_empty());
    w.app
        .get(&format!("/api/v1/visits/{visit}"), &w.other_vol)
        .await
        .problem(404, "not_found");
    // A later window is not open yet.
    let later = mine[1]["id"].as_str().unwrap();
    w.act(later, "start", &w.party, json!({}))
        .await
        .problem(409, "visit_not_open");

    let started = w
        .act(&visit, "start", &w.party, json!({}))
        .await
        .expect(200);
    assert_eq!(started.body["status"], "in_progress");
    // Station staff are not on the team.
    w.act(&visit, "complete", &w.dispatcher, complete_body("well"))
        .await
        .problem(403, "not_on_team");
    let mut body = complete_body("needs_attention");
    body["needs"] = json!([{"service_type_id": w.service_type, "description": "每周代买蔬菜"}]);
    let done = w.act(&visit, "complete", &w.party, body).await.expect(200);
    assert_eq!(done.body["status"], "completed");
    assert_eq!(done.body["on_time"], true);
    assert_eq!(done.body["condition"], "needs_attention");
    assert_eq!(done.body["performed_contact_kind"], "home_visit");
    assert_eq!(done.body["duration_minutes"], 30);
    let needs = done.body["need_request_ids"].as_array().unwrap().clone();
    assert_eq!(needs.len(), 1);

    // The need is a proactive request placed by the visit, and dispatched at once.
    let req = needs[0].as_str().unwrap();
    let r = w
        .app
        .get(&format!("/api/v1/help-requests/{req}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(r.body["origin"], "proactive");
    assert_eq!(r.body["placed_as"], "visit");
    assert_eq!(r.body["channel"], "visit");
    assert_eq!(r.body["status"], "offered");
    let offers = w
        .app
        .get("/api/v1/offers", &w.other_vol)
        .await
        .expect(200)
        .items();
    assert_eq!(offers[0]["request_id"], req);
    let timeline = w
        .app
        .get(
            &format!("/api/v1/help-requests/{req}/timeline"),
            &w.dispatcher,
        )
        .await
        .expect(200)
        .items();
    assert_eq!(timeline[0]["data"]["visit_id"], visit.as_str());

    // The party-member volunteer's visit counts as service time.
    assert_eq!(
        w.scalar(
            "select cast(sum(minutes) as bigint) from service_hours where source_id = $1 and source_type = 'visit'",
            &visit
        )
        .await,
        30
    );

    // Two team members completing the same visit at once: one wins, the other is told.
    let next = w.visits(&w.gw, "mine=true&status=scheduled").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.set_window(
        &next,
        Utc::now() - Duration::hours(1),
        Utc::now() + Duration::days(1),
    )
    .await;
    let (x, y) = tokio::join!(
        w.act(&next, "complete", &w.gw, complete_body("well")),
        w.act(&next, "complete", &w.doctor, complete_body("well"))
    );
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);

    // Completing twice is refused; nothing changes.
    w.act(&visit, "complete", &w.party, complete_body("well"))
        .await
        .problem(409, "visit_already_completed");
    let after = w
        .app
        .get(&format!("/api/v1/visits/{visit}"), &w.gw)
        .await
        .expect(200);
    assert_eq!(after.body["condition"], "needs_attention");
    assert_eq!(after.body["version"], done.body["version"]);
}

#[tokio::test]
async fn bad_completions_write_nothing() {
    let w = v_world().await;
    let (sun, _) = w.sun_with_plan().await;
    let visit = w.first_visit(&w.gw).await;
    let cases = [
        json!({"contact_kind": "home_visit", "duration_minutes": -5, "condition": "well"}),
        json!({"contact_kind": "telepathy", "duration_minutes": 5, "condition": "well"}),
        json!({"contact_kind": "phone", "duration_minutes": 5, "condition": "fine"}),
        json!({"contact_kind": "phone", "duration_minutes": 5, "condition": "well",
               "needs": [{"service_type_id": uuid::Uuid::now_v7(), "description": "x"}]}),
        json!({"contact_kind": "phone", "duration_minutes": 5, "condition": "well",
               "needs": [{"service_type_id": w.service_type, "description": ""}]}),
        json!({"contact_kind": "phone", "duration_minutes": "5", "condition": "well"}),
        json!({"contact_kind": "phone", "duration_minutes": 5, "condition": "well", "mood": 1}),
        json!({"contact_kind": "phone", "duration_minutes": 100000, "condition": "well"}),
        json!([]),
    ];
    for body in cases {
        let r = w.act(&visit, "complete", &w.gw, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {:?}", r.body);
    }
    let r = w
        .act(&visit, "complete", &w.gw, cases_first_field())
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("duration_minutes".into(), "out_of_range".into())]
    );
    let v = w
        .app
        .get(&format!("/api/v1/visits/{visit}"), &w.gw)
        .await
        .expect(200);
    assert_eq!(v.body["status"], "scheduled");
    assert_eq!(v.body["version"], 1);
    assert_eq!(
        w.scalar(
            "select count(*) from help_requests where resident_id = $1",
            &sun
        )
        .await,
        0
    );
    let bogus = uuid::Uuid::now_v7();
    w.act(&bogus.to_string(), "start", &w.gw, json!({}))
        .await
        .problem(404, "not_found");
    w.act("not-a-uuid", "start", &w.gw, json!({}))
        .await
        .problem(400, "invalid_path");
    // Cancelling is for staff, with a reason.
    w.act(&visit, "cancel", &w.gw, json!({"reason": "住院"}))
        .await
        .problem(403, "forbidden");
    w.act(&visit, "cancel", &w.dispatcher, json!({}))
        .await
        .problem(422, "validation_failed");
    let c = w
        .act(&visit, "cancel", &w.dispatcher, json!({"reason": "住院中"}))
        .await
        .expect(200);
    assert_eq!(c.body["status"], "cancelled");
    w.act(&visit, "start", &w.gw, json!({}))
        .await
        .problem(409, "invalid_transition");
}

fn cases_first_field() -> Value {
    json!({"contact_kind": "home_visit", "duration_minutes": -1, "condition": "well"})
}

#[tokio::test]
async fn an_urgent_finding_raises_the_grade_and_brings_the_next_visit_within_a_day() {
    let w = v_world().await;
    let li = w.resident(json!(["chronic_illness"])).await;
    w.plan(&li, json!({})).await.expect(201);
    let vs = w.visits(&w.gw, "mine=true").await;
    assert_eq!(vs.len(), 1, "quarterly: one window within four weeks");
    let visit = vs[0]["id"].as_str().unwrap();
    let done = w
        .act(visit, "complete", &w.doctor, complete_body("urgent"))
        .await
        .expect(200);
    assert_eq!(done.body["condition"], "urgent");

    let g = w.grade(&li).await;
    assert_eq!(g["grade"], "priority");
    assert_eq!(g["source"], "finding");
    let h = w.history(&li).await;
    assert_eq!(h[0]["source"], "finding");
    assert_eq!(h[0]["visit_id"], visit);
    assert_eq!(h[0]["actor_id"], w.doctor_user.as_str());

    let open = w
        .visits(&w.gw, &format!("resident_id={li}&status=scheduled"))
        .await;
    let follow_up = open
        .iter()
        .find(|v| v["reason"] == "follow_up")
        .expect("a follow-up visit");
    let due = time(&follow_up["window_end"]);
    assert!(due <= Utc::now() + Duration::hours(24));
    assert!(due > Utc::now() + Duration::hours(23));
    // The monthly (priority) windows start again after the follow-up.
    let regular: Vec<_> = open.iter().filter(|v| v["reason"] == "plan").collect();
    assert_eq!(regular.len(), 1);
    assert_eq!(
        time(&regular[0]["window_end"]) - time(&regular[0]["window_start"]),
        Duration::days(30)
    );
    assert!(time(&regular[0]["window_start"]) >= due - Duration::days(1));
}

#[tokio::test]
async fn a_major_change_brings_a_visit_within_a_day_by_the_team_or_the_grid() {
    let w = v_world().await;
    let li = w.resident(json!(["chronic_illness"])).await;
    let r = w
        .app
        .post(
            &format!("/api/v1/residents/{li}/major-changes"),
            &w.gw,
            json!({"kind": "fall", "description": "在浴室摔倒，已就医"}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["kind"], "fall");
    let v = &r.body["visit"];
    assert_eq!(v["reason"], "major_change");
    assert!(v["plan_id"].is_null());
    let due = time(&v["window_end"]);
    assert!(due <= Utc::now() + Duration::hours(24) && due > Utc::now() + Duration::hours(23));
    // Without a plan, the grid's workers are its team.
    let mine = w.visits(&w.gw, "mine=true").await;
    assert_eq!(mine.len(), 1);
    assert!(w.visits(&w.party, "mine=true").await.is_empty());

    // With a plan, its team; bad kinds and future times are refused.
    w.plan(&li, json!({})).await.expect(201);
    let r = w
        .app
        .post(
            &format!("/api/v1/residents/{li}/major-changes"),
            &w.doctor,
            json!({"kind": "hospital_discharge", "occurred_at": Utc::now().to_rfc3339()}),
        )
        .await
        .expect(201);
    assert!(r.body["visit"]["plan_id"].is_string());
    for body in [
        json!({"kind": "moved"}),
        json!({"kind": "fall", "occurred_at": (Utc::now() + Duration::days(2)).to_rfc3339()}),
        json!({}),
    ] {
        w.app
            .post(
                &format!("/api/v1/residents/{li}/major-changes"),
                &w.gw,
                body,
            )
            .await
            .problem(422, "validation_failed");
    }
    w.app
        .post(
            &format!("/api/v1/residents/{li}/major-changes"),
            &w.other_vol,
            json!({"kind": "fall"}),
        )
        .await
        .problem(404, "not_found");
    assert_eq!(
        w.scalar(
            "select count(*) from major_changes where resident_id = $1",
            &li
        )
        .await,
        2
    );
}

#[tokio::test]
async fn missed_visits_alert_and_coverage_counts_on_time_late_and_missed() {
    let w = v_world().await;
    let (sun, _) = w.sun_with_plan().await;
    let vs = w.visits(&w.gw, "mine=true").await;
    // The second window (next week) stays ahead: the team's upcoming load.
    let (a, b, c) = (
        vs[0]["id"].as_str().unwrap(),
        vs[3]["id"].as_str().unwrap(),
        vs[4]["id"].as_str().unwrap(),
    );
    let now = Utc::now();
    // A: due now, done on time. B: its window passed a while ago. C: passed, then done late.
    w.set_window(b, now - Duration::days(10), now - Duration::days(3))
        .await;
    w.set_window(c, now - Duration::days(20), now - Duration::days(13))
        .await;
    w.act(a, "complete", &w.gw, complete_body("well"))
        .await
        .expect(200);
    assert!(sweeper::sweep(&w.app.state, Utc::now()).await.unwrap() >= 2);
    let missed = w
        .app
        .get(&format!("/api/v1/visits/{b}"), &w.gw)
        .await
        .expect(200);
    assert_eq!(missed.body["status"], "missed");
    // One alert per missed visit, for the grid worker and the dispatchers.
    assert_eq!(
        w.scalar(
            "select count(*) from outbox where aggregate_id = $1 and topic = 'visit.missed'",
            b
        )
        .await,
        1
    );
    sweeper::sweep(&w.app.state, Utc::now()).await.unwrap();
    assert_eq!(
        w.scalar(
            "select count(*) from visit_events where visit_id = $1 and kind = 'missed'",
            b
        )
        .await,
        1,
        "a second sweep alerts no one twice"
    );
    let late = w
        .act(c, "complete", &w.gw, complete_body("well"))
        .await
        .expect(200);
    assert_eq!(late.body["on_time"], false);

    let from = (now - Duration::days(25)).format("%Y-%m").to_string();
    let to = (now + Duration::days(8)).format("%Y-%m").to_string();
    let path = format!(
        "/api/v1/communities/{}/reports/visit-coverage?from={from}&to={to}",
        w.c
    );
    let r = w.app.get(&path, &w.dispatcher).await.expect(200);
    let t = &r.body["community"];
    assert_eq!(
        (&t["due"], &t["on_time"], &t["late"], &t["missed"]),
        (&json!(3), &json!(1), &json!(1), &json!(1))
    );
    assert!((t["rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(r.body["grids"][0]["grid_id"], w.grid.as_str());
    assert_eq!(r.body["grids"][0]["due"], 3);
    assert_eq!(r.body["missed_residents_total"], 1);
    assert_eq!(r.body["missed_residents"][0]["resident_id"], sun.as_str());
    assert_eq!(r.body["missed_residents"][0]["missed"], 2);
    let gw_load = r.body["assignees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_id"] == w.gw_user.as_str())
        .unwrap()
        .clone();
    assert_eq!(gw_load["due"], 3);
    assert_eq!(gw_load["done_by_them"], 2);
    assert_eq!(gw_load["upcoming"], 1);
    // The grid worker sees their grid; one of another grid sees nothing; volunteers nothing.
    let mine = w.app.get(&path, &w.gw).await.expect(200);
    assert_eq!(mine.body["community"]["due"], 3);
    let (other_gw_user, other_gw) = w.app.user("grid_worker", Some(&w.c)).await;
    w.app.grid(&w.c, "第二网格", &[&other_gw_user]).await;
    let theirs = w.app.get(&path, &other_gw).await.expect(200);
    assert_eq!(theirs.body["community"]["due"], 0);
    assert!(theirs.body["community"]["rate"].is_null());
    w.app.get(&path, &w.party).await.problem(403, "forbidden");
    for q in [
        "month=2026-13",
        "month=26-11",
        "from=2026-01",
        "from=2025-01&to=2026-06",
        "month=2026-01&from=2026-01&to=2026-02",
    ] {
        w.app
            .get(
                &format!("/api/v1/communities/{}/reports/visit-coverage?{q}", w.c),
                &w.dispatcher,
            )
            .await
            .problem(422, "validation_failed");
    }
    // The default is this month.
    let m = w
        .app
        .get(
            &format!("/api/v1/communities/{}/reports/visit-coverage", w.c),
            &w.dispatcher,
        )
        .await
        .expect(200);
    let this = now.with_timezone(&chrono_tz::Asia::Shanghai);
    assert_eq!(
        m.body["from_month"],
        format!("{:04}-{:02}", this.year(), this.month())
    );
}

#[tokio::test]
async fn bad_plans_are_refused_and_write_nothing() {
    let w = v_world().await;
    let sun = w.resident(json!(["advanced_age", "living_alone"])).await;
    let none = w.resident(json!([])).await;
    let other_c = w.app.community("别的社区").await;
    let stranger = w
        .app
        .resident(&other_c, json!({"name": "外社区居民"}))
        .await
        .expect(201)
        .id();
    let cases = [
        (
            json!({"resident_id": stranger}),
            "resident_id",
            "unknown_reference",
        ),
        (
            json!({"frequency_days": 0}),
            "frequency_days",
            "out_of_range",
        ),
        (
            json!({"contact_kinds": ["carrier_pigeon"]}),
            "contact_kinds[0]",
            "unknown_value",
        ),
        (
            json!({"contact_kinds": []}),
            "contact_kinds",
            "out_of_range",
        ),
        (json!({"team": []}), "team", "out_of_range"),
        (
            json!({"team": [{"user_id": w.doctor_user, "role": "grid_worker"}]}),
            "team[0].role",
            "role_mismatch",
        ),
        (
            json!({"team": [{"user_id": w.other_vol_id, "role": "volunteer"}]}),
            "team[0].user_id",
            "unknown_reference",
        ),
        (json!({"ends_on": "2001-01-01"}), "ends_on", "before_start"),
    ];
    for (extra, field, code) in cases {
        let r = w
            .plan(&sun, extra.clone())
            .await
            .problem(422, "validation_failed");
        assert!(
            r.field_codes().contains(&(field.into(), code.into())),
            "{extra}: {:?}",
            r.field_codes()
        );
    }
    // An ungraded resident's plan must say how often.
    let r = w
        .plan(&none, json!({}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("frequency_days".into(), "required".into())]
    );
    for body in [
        json!([]),
        json!({"resident_id": sun}),
        json!({"resident_id": "x", "team": []}),
    ] {
        w.app
            .post(
                &format!("/api/v1/communities/{}/visit-plans", w.c),
                &w.gw,
                body,
            )
            .await
            .problem(422, "validation_failed");
    }
    assert_eq!(
        w.scalar(
            "select count(*) from visit_plans where community_id = $1",
            &w.c
        )
        .await,
        0
    );
    assert_eq!(
        w.scalar("select count(*) from visits where community_id = $1", &w.c)
            .await,
        0
    );
    // One active plan per resident.
    w.plan(&sun, json!({})).await.expect(201);
    w.plan(&sun, json!({})).await.problem(409, "plan_exists");
    // Another community's staff do not see the plan at all.
    let (_, outsider) = w.app.user("community_admin", Some(&other_c)).await;
    w.app
        .post(
            &format!("/api/v1/communities/{}/visit-plans", w.c),
            &outsider,
            json!({"resident_id": none, "team": [], "frequency_days": 7}),
        )
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn each_role_sees_only_its_own_visits_plans_and_residents() {
    let w = v_world().await;
    let (sun, plan) = w.sun_with_plan().await;
    let visit = w.first_visit(&w.gw).await;
    // A second grid with its own worker and resident.
    let (gw2_user, gw2) = w.app.user("grid_worker", Some(&w.c)).await;
    let grid2 = w.app.grid(&w.c, "第二网格", &[&gw2_user]).await;
    let zhou = w
        .app
        .resident(
            &w.c,
            json!({"name": "周大爷", "grid_id": grid2, "care_categories": ["disabled"]}),
        )
        .await
        .expect(201)
        .id();
    let (_, doctor2) = w.app.user("doctor", Some(&w.c)).await;
    let (_, resident_tok) = w.app.user("resident", Some(&w.c)).await;
    let other_c = w.app.community("别的社区").await;
    let (_, outsider) = w.app.user("community_admin", Some(&other_c)).await;

    // The doctor on the plan sees the resident (masked) and the plan; another doctor neither.
    let r = w
        .app
        .get(&format!("/api/v1/residents/{sun}"), &w.doctor)
        .await
        .expect(200);
    assert_eq!(r.body["phone"], "138****5678");
    let listed = w
        .app
        .get(&format!("/api/v1/communities/{}/residents", w.c), &w.doctor)
        .await
        .expect(200);
    assert_eq!(listed.item_ids(), std::slice::from_ref(&sun));
    w.app
        .get(&format!("/api/v1/residents/{zhou}"), &w.doctor)
        .await
        .problem(404, "not_found");

    let visit_path = format!("/api/v1/visits/{visit}");
    let plan_path = format!("/api/v1/visit-plans/{plan}");
    let grade_path = format!("/api/v1/residents/{sun}/grade-changes");
    for (who, token, sees) in [
        ("grid worker", &w.gw, true),
        ("doctor on the team", &w.doctor, true),
        ("party volunteer on the team", &w.party, true),
        ("dispatcher", &w.dispatcher, true),
        ("other grid's worker", &gw2, false),
        ("other doctor", &doctor2, false),
        ("volunteer on no team", &w.other_vol, false),
        ("resident", &resident_tok, false),
        ("other community", &outsider, false),
    ] {
        for path in [&visit_path, &plan_path] {
            let r = w.app.get(path, token).await;
            if sees {
                assert_eq!(r.status, 200, "{who} {path}");
            } else {
                assert_eq!(r.status, 404, "{who} {path}: {:?}", r.body);
            }
        }
        let n = w
            .app
            .get(&format!("/api/v1/visits?community_id={}", w.c), token)
            .await;
        if sees {
            assert!(!n.expect(200).items().is_empty(), "{who}");
        } else {
            assert!(
                matches!(n.status, 403 | 404) || n.items().is_empty(),
                "{who}"
            );
        }
        let g = w.app.get(&grade_path, token).await;
        let may_read_grades = sees && token != &w.party;
        assert_eq!(
            g.status == 200,
            may_read_grades,
            "{who} grade changes: {}",
            g.status
        );
    }
    // Every per-object endpoint, for everyone who does not see the object: 404, and nothing
    // changes.
    let done = complete_body("well");
    let per_object: Vec<(reqwest::Method, String, Value)> = vec![
        (
            reqwest::Method::POST,
            format!("{visit_path}/start"),
            json!({}),
        ),
        (
            reqwest::Method::POST,
            format!("{visit_path}/complete"),
            done,
        ),
        (
            reqwest::Method::POST,
            format!("{visit_path}/cancel"),
            json!({"reason": "x"}),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/residents/{sun}/grade"),
            Value::Null,
        ),
        (
            reqwest::Method::PUT,
            format!("/api/v1/residents/{sun}/grade"),
            json!({"grade": "general", "reason": "x"}),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/residents/{sun}/assessments"),
            Value::Null,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/residents/{sun}/assessments"),
            json!({"health": 1, "social_support": 1, "home_safety": 1}),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/residents/{sun}/major-changes"),
            json!({"kind": "fall"}),
        ),
        (reqwest::Method::DELETE, plan_path.clone(), Value::Null),
    ];
    for (who, token) in [
        ("other grid's worker", &gw2),
        ("other doctor", &doctor2),
        ("volunteer on no team", &w.other_vol),
        ("resident", &resident_tok),
        ("other community", &outsider),
    ] {
        for (method, path, body) in &per_object {
            let mut rb = w.app.req(method.clone(), path).bearer_auth(token);
            if !body.is_null() {
                rb = rb.json(body);
            }
            let r = w.app.send(rb).await;
            assert_eq!(r.status, 404, "{who}: {method} {path} → {:?}", r.body);
        }
    }
    let v = w.app.get(&visit_path, &w.gw).await.expect(200);
    assert_eq!(
        (&v.body["status"], &v.body["version"]),
        (&json!("scheduled"), &json!(1))
    );
    assert_eq!(w.grade(&sun).await["grade"], "high");
    assert_eq!(
        w.scalar(
            "select count(*) from major_changes where resident_id = $1",
            &sun
        )
        .await,
        0
    );

    // Changing a plan is for staff and the grid worker, not for the rest of the team.
    let p = w.app.get(&plan_path, &w.doctor).await.expect(200);
    w.app
        .patch(&plan_path, &w.doctor, &p.etag(), json!({"notes": "x"}))
        .await
        .problem(403, "forbidden");
    w.app
        .patch(&plan_path, &gw2, &p.etag(), json!({"notes": "x"}))
        .await
        .problem(404, "not_found");
    w.app
        .patch(&plan_path, &w.gw, "\"99\"", json!({"notes": "x"}))
        .await
        .problem(412, "stale_version");
    w.app
        .delete(&plan_path, &w.party)
        .await
        .problem(403, "forbidden");
    // Generation and coverage are for staff; running the job is not a grid worker's.
    w.app
        .post(
            &format!("/api/v1/communities/{}/visits/generate", w.c),
            &w.gw,
            json!({}),
        )
        .await
        .problem(403, "forbidden");
    w.app
        .post(
            &format!("/api/v1/communities/{}/visits/generate", w.c),
            &outsider,
            json!({}),
        )
        .await
        .problem(404, "not_found");
    w.app
        .get(
            &format!("/api/v1/communities/{}/reports/visit-coverage", w.c),
            &outsider,
        )
        .await
        .problem(404, "not_found");
    // The other grid's worker cannot plan, assess or grade our resident.
    w.app
        .post(
            &format!("/api/v1/residents/{sun}/assessments"),
            &gw2,
            json!({"health": 1, "social_support": 1, "home_safety": 1}),
        )
        .await
        .problem(404, "not_found");
    w.app
        .put(
            &format!("/api/v1/residents/{sun}/grade"),
            &gw2,
            json!({"grade": "general", "reason": "x"}),
        )
        .await
        .problem(404, "not_found");
    let r = w
        .app
        .post(
            &format!("/api/v1/communities/{}/visit-plans", w.c),
            &gw2,
            json!({"resident_id": sun, "team": [{"user_id": gw2_user, "role": "grid_worker"}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("resident_id".into(), "unknown_reference".into())]
    );
    // Residents do not see their grading.
    w.app
        .get(&format!("/api/v1/residents/{sun}/grade"), &resident_tok)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn a_volunteer_reports_a_need_they_found_and_claims_it() {
    let w = v_world().await;
    let sun = w.resident(json!(["advanced_age", "living_alone"])).await;
    // 寻单: found on the street by a volunteer with the skills.
    let r = w
        .app
        .post(
            "/api/v1/help-requests",
            &w.other_vol,
            json!({"resident_id": sun, "service_type_id": w.service_type,
                   "description": "楼道里看到孙大娘提不动米", "origin": "proactive"}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["origin"], "proactive");
    assert_eq!(r.body["placed_as"], "volunteer");
    let id = r.id();
    let claimed = w
        .app
        .post(
            &format!("/api/v1/help-requests/{id}/claim"),
            &w.other_vol,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(claimed.body["status"], "accepted");
    assert_eq!(claimed.body["assignee_id"], w.other_vol_id.as_str());
    // One without the skills may report but not claim.
    let r = w
        .app
        .post(
            "/api/v1/help-requests",
            &w.party,
            json!({"resident_id": sun, "service_type_id": w.service_type,
                   "description": "需要有人帮忙代购", "origin": "proactive"}),
        )
        .await
        .expect(201);
    w.app
        .post(
            &format!("/api/v1/help-requests/{}/claim", r.id()),
            &w.party,
            json!({}),
        )
        .await
        .problem(409, "missing_skills");
}

#[tokio::test]
async fn open_visits_follow_a_move_and_end_with_the_resident() {
    let w = v_world().await;
    let (sun, plan) = w.sun_with_plan().await;
    let first = w.first_visit(&w.gw).await;
    w.act(&first, "complete", &w.gw, complete_body("well"))
        .await
        .expect(200);
    let grid2 = w.app.grid(&w.c, "第二网格", &[]).await;
    let r = w
        .app
        .get(&format!("/api/v1/residents/{sun}"), &w.dispatcher)
        .await
        .expect(200);
    let moved = w
        .app
        .patch(
            &format!("/api/v1/residents/{sun}"),
            &w.dispatcher,
            &r.etag(),
            json!({"grid_id": grid2}),
        )
        .await
        .expect(200);
    let open = w.visits_of(&sun, "scheduled").await;
    assert_eq!(open.len(), 4);
    assert!(open.iter().all(|v| v["grid_id"] == grid2.as_str()));
    // What was done stays with the grid it was done in.
    let done = w
        .app
        .get(&format!("/api/v1/visits/{first}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(done.body["grid_id"], w.grid.as_str());

    w.app
        .send(
            w.app
                .req(reqwest::Method::DELETE, &format!("/api/v1/residents/{sun}"))
                .bearer_auth(&w.dispatcher)
                .header("if-match", moved.etag()),
        )
        .await
        .expect(204);
    let p = w
        .app
        .get(&format!("/api/v1/visit-plans/{plan}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(p.body["active"], false);
    let cancelled = w.visits_of(&sun, "cancelled").await;
    assert_eq!(cancelled.len(), 4);
    assert!(
        cancelled
            .iter()
            .all(|v| v["cancel_reason"] == "resident_inactive")
    );
    // Generation leaves an ended plan alone.
    let g = generation::generate(&w.app.state, Utc::now() + Duration::days(30))
        .await
        .unwrap();
    assert_eq!(g.created, 0);
}

#[tokio::test]
async fn bad_queries_plan_changes_and_out_of_order_requests_are_refused() {
    let w = v_world().await;
    let sun = w.resident(json!(["advanced_age", "living_alone"])).await;
    let plan = w.plan(&sun, json!({})).await.expect(201);
    let plan_path = format!("/api/v1/visit-plans/{}", plan.id());

    // Lists and reports: bad filters, cursors and limits.
    for q in [
        "status=bogus",
        "due_from=2026-12-01T00:00:00Z&due_to=2026-11-01T00:00:00Z",
        "due_from=1900-01-01T00:00:00Z",
        "cursor=not-a-cursor",
        "limit=0",
    ] {
        w.app
            .get(&format!("/api/v1/visits?{q}"), &w.gw)
            .await
            .problem(422, "validation_failed");
    }
    for q in ["mine=perhaps", "due_from=yesterday", "resident_id=x"] {
        w.app
            .get(&format!("/api/v1/visits?{q}"), &w.gw)
            .await
            .problem(400, "invalid_query");
    }
    w.app
        .get(
            &format!("/api/v1/communities/{}/visit-plans?active=maybe", w.c),
            &w.gw,
        )
        .await
        .problem(400, "invalid_query");
    for path in [
        format!("/api/v1/residents/{sun}/grade-changes?cursor=zzz"),
        format!("/api/v1/residents/{sun}/assessments?limit=1000"),
    ] {
        w.app
            .get(&path, &w.gw)
            .await
            .problem(422, "validation_failed");
    }
    // Residents and volunteers on no team list no plans and no visits.
    let (_, resident_tok) = w.app.user("resident", Some(&w.c)).await;
    for path in [
        format!("/api/v1/communities/{}/visit-plans", w.c),
        format!("/api/v1/visits?community_id={}", w.c),
    ] {
        w.app
            .get(&path, &resident_tok)
            .await
            .problem(403, "forbidden");
    }
    // Only staff and grid workers plan; a doctor may not.
    let other = w.resident(json!(["disabled"])).await;
    w.app
        .post(
            &format!("/api/v1/communities/{}/visit-plans", w.c),
            &w.doctor,
            json!({"resident_id": other,
                   "team": [{"user_id": w.doctor_user, "role": "doctor"}]}),
        )
        .await
        .problem(403, "forbidden");

    // Plan changes are checked like a creation; nothing is written on a refusal.
    let etag = plan.etag();
    for (body, field, code) in [
        (
            json!({"frequency_days": 0}),
            "frequency_days",
            "out_of_range",
        ),
        (
            json!({"contact_kinds": ["fax"]}),
            "contact_kinds[0]",
            "unknown_value",
        ),
        (json!({"team": []}), "team", "out_of_range"),
        (json!({"resident_id": other}), "resident_id", "immutable"),
        (json!({"colour": "red"}), "colour", "unknown_field"),
    ] {
        let r = w
            .app
            .patch(&plan_path, &w.gw, &etag, body.clone())
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.field_codes(), [(field.into(), code.into())], "{body}");
    }
    let unchanged = w.app.get(&plan_path, &w.gw).await.expect(200);
    assert_eq!(unchanged.etag(), etag);
    assert_eq!(unchanged.body["epoch"], 1);

    // An ended plan cannot change; a major change for someone no longer here is refused.
    w.app.delete(&plan_path, &w.gw).await.expect(204);
    let ended = w.app.get(&plan_path, &w.gw).await.expect(200);
    w.app
        .patch(&plan_path, &w.gw, &ended.etag(), json!({"notes": "继续"}))
        .await
        .problem(409, "plan_ended");
    let r = w
        .app
        .get(&format!("/api/v1/residents/{other}"), &w.dispatcher)
        .await
        .expect(200);
    w.app
        .send(
            w.app
                .req(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/residents/{other}"),
                )
                .bearer_auth(&w.dispatcher)
                .header("if-match", r.etag()),
        )
        .await
        .expect(204);
    w.app
        .post(
            &format!("/api/v1/residents/{other}/major-changes"),
            &w.gw,
            json!({"kind": "fall"}),
        )
        .await
        .problem(409, "resident_inactive");
}
