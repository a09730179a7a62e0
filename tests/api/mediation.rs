//! 调解 mediation over HTTP: staff open a case, the mediator records sessions and closes it with
//! its outcome, whose follow-up date becomes visits for the grid worker; only the parties, the
//! mediator and staff read a case (audited); counts for reports; bad input writes nothing.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A community with a grid (and its worker), two residents (one with an account), a third
/// resident with an account who is no party, and a volunteer to mediate.
pub struct World {
    pub app: TestApp,
    pub c: String,
    pub worker: String,
    pub worker_token: String,
    pub party_resident: String,
    pub party_token: String,
    pub other_resident: String,
    pub bystander_token: String,
    pub mediator: String,
    pub mediator_token: String,
}

pub async fn world() -> World {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let (worker, worker_token) = app.user("grid_worker", Some(&c)).await;
    let g = app.grid(&c, "第一网格", &[&worker]).await;
    let (party_user, party_token) = app.user("resident", Some(&c)).await;
    let party_resident = app
        .resident(
            &c,
            json!({"name": "张大爷", "grid_id": g, "user_id": party_user, "phone": "13811112222"}),
        )
        .await
        .expect(201)
        .id();
    let other_resident = app
        .resident(&c, json!({"name": "李阿姨", "grid_id": g}))
        .await
        .expect(201)
        .id();
    let (bystander, bystander_token) = app.user("resident", Some(&c)).await;
    app.resident(&c, json!({"name": "王邻居", "user_id": bystander}))
        .await
        .expect(201);
    let (mediator, mediator_token) = app.user("volunteer", Some(&c)).await;
    World {
        app,
        c,
        worker,
        worker_token,
        party_resident,
        party_token,
        other_resident,
        bystander_token,
        mediator,
        mediator_token,
    }
}

impl World {
    pub fn case(&self) -> Value {
        json!({"kind": "neighbour", "summary": "楼上装修噪音纠纷",
               "mediator_id": self.mediator,
               "parties": [{"resident_id": self.party_resident},
                           {"resident_id": self.other_resident},
                           {"name": "赵师傅", "phone": "13987654321"}]})
    }

    /// Opens the case as the admin; its id.
    pub async fn open(&self) -> String {
        self.app
            .post(
                &format!("/api/v1/communities/{}/mediations", self.c),
                &self.app.admin,
                self.case(),
            )
            .await
            .expect(201)
            .id()
    }

    async fn count(&self, sql: &'static str, id: &str) -> i64 {
        self.app.scalar(sql, id).await
    }
}

/// Today in the community's zone (Asia/Shanghai by default).
fn today() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

#[tokio::test]
async fn a_case_is_opened_held_and_closed_and_its_follow_up_becomes_visits_for_the_grid_worker() {
    let w = world().await;
    let app = &w.app;
    let created = app
        .post(
            &format!("/api/v1/communities/{}/mediations", w.c),
            &app.admin,
            w.case(),
        )
        .await
        .expect(201);
    let id = created.id();
    assert!(
        created
            .header("location")
            .unwrap()
            .ends_with(&format!("/api/v1/mediations/{id}"))
    );
    assert_eq!(created.body["status"], "open");
    assert_eq!(created.body["mediator"]["id"], w.mediator.as_str());
    let parties = created.body["parties"].as_array().unwrap().clone();
    assert_eq!(parties.len(), 3);
    assert_eq!(parties[0]["name"], "张大爷");
    assert_eq!(
        parties[0]["phone"],
        Value::Null,
        "a resident's number stays in the registry"
    );
    assert_eq!(parties[2]["resident_id"], Value::Null);
    assert_eq!(parties[2]["phone"], "13987654321");

    // The mediator and staff see the outsider's number; a party sees it masked.
    let path = format!("/api/v1/mediations/{id}");
    let m = app.get(&path, &w.mediator_token).await.expect(200);
    assert_eq!(m.body["parties"][2]["phone"], "13987654321");
    let party = app.get(&path, &w.party_token).await.expect(200);
    assert_eq!(party.body["parties"][2]["phone"], "139****4321");
    // Each read is in the audit log, with why the reader could read it.
    assert_eq!(
        w.count(
            "select count(*) from audit_log where object_id = $1 and action = 'mediation.read'",
            &id
        )
        .await,
        2
    );

    // The mediator records a session; the parties read it.
    let held = (Utc::now() - Duration::hours(2)).to_rfc3339();
    let s = app
        .post(
            &format!("{path}/sessions"),
            &w.mediator_token,
            json!({"held_at": held, "place": "调解室", "notes": "双方陈述，约定装修时间"}),
        )
        .await
        .expect(201);
    assert!(
        s.header("location")
            .unwrap()
            .ends_with(&format!("{path}/sessions"))
    );
    assert_eq!(s.body["recorded_by"], w.mediator.as_str());
    let sessions = app
        .get(&format!("{path}/sessions"), &w.party_token)
        .await
        .expect(200);
    assert_eq!(sessions.items().len(), 1);
    assert_eq!(sessions.items()[0]["notes"], "双方陈述，约定装修时间");

    // Staff edit it while open.
    let e = app
        .patch(
            &path,
            &app.admin,
            &created.etag(),
            json!({"summary": "装修噪音及漏水纠纷", "kind": "property"}),
        )
        .await
        .expect(200);
    assert_eq!(e.body["kind"], "property");
    assert_eq!(e.body["version"], 2);

    // The mediator closes it with an agreement and a follow-up in a week.
    let on = today() + Duration::days(7);
    let closed = app
        .post(
            &format!("{path}/outcome"),
            &w.mediator_token,
            json!({"outcome": "agreement", "agreement_text": "工作日 8:00-18:00 施工，修复漏水",
                   "follow_up_on": on}),
        )
        .await
        .expect(200);
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(closed.body["outcome"], "agreement");
    assert_eq!(closed.body["closed_by"], w.mediator.as_str());
    assert_eq!(closed.body["follow_up_on"], on.to_string());
    let visits: Vec<String> = closed.body["follow_up_visit_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(visits.len(), 2, "one per resident party");
    // The grid worker has them among their visits, due that day.
    let mine = app
        .get("/api/v1/visits?mine=true&limit=200", &w.worker_token)
        .await
        .expect(200);
    let ids = mine.item_ids();
    assert!(visits.iter().all(|v| ids.contains(v)), "{ids:?}");
    let v = app
        .get(&format!("/api/v1/visits/{}", visits[0]), &w.worker_token)
        .await
        .expect(200);
    assert_eq!(v.body["reason"], "follow_up");
    assert_eq!(v.body["status"], "scheduled");
    assert_eq!(v.body["plan_id"], Value::Null);
    let start: chrono::DateTime<Utc> = v.body["window_start"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        start.with_timezone(&chrono_tz::Asia::Shanghai).date_naive(),
        on
    );

    // Closed once: again, a session, an edit are refused and nothing changes.
    app.post(
        &format!("{path}/outcome"),
        &app.admin,
        json!({"outcome": "no_agreement"}),
    )
    .await
    .problem(409, "mediation_closed");
    app.post(
        &format!("{path}/sessions"),
        &w.mediator_token,
        json!({"held_at": held, "notes": "再谈"}),
    )
    .await
    .problem(409, "mediation_closed");
    app.patch(&path, &app.admin, &closed.etag(), json!({"summary": "改"}))
        .await
        .problem(409, "mediation_closed");
    let after = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(after.body["outcome"], "agreement");
    assert_eq!(after.body["version"], closed.body["version"]);
    assert_eq!(
        w.count(
            "select count(*) from mediation_sessions where mediation_id = $1",
            &id
        )
        .await,
        1
    );
    assert_eq!(
        w.count(
            "select count(*) from mediation_visits where mediation_id = $1",
            &id
        )
        .await,
        2
    );
    // Every change wrote its event, carrying no content.
    assert_eq!(
        w.count(
            "select count(*) from outbox where aggregate_id = $1 and aggregate_type = 'mediation'",
            &id
        )
        .await,
        4
    );
}

#[tokio::test]
async fn only_the_parties_the_mediator_and_staff_read_a_case_and_lists_show_each_their_own() {
    let w = world().await;
    let app = &w.app;
    let id = w.open().await;
    let path = format!("/api/v1/mediations/{id}");
    // Someone else of the community, its grid worker, staff of another community: 404.
    let b = app.community("乙社区").await;
    let (_, other_admin) = app.user("community_admin", Some(&b)).await;
    let (_, other_vol) = app.user("volunteer", Some(&w.c)).await;
    for (who, token) in [
        ("a resident who is no party", &w.bystander_token),
        ("the grid worker", &w.worker_token),
        ("another volunteer", &other_vol),
        ("staff of another community", &other_admin),
    ] {
        let r = app.get(&path, token).await;
        assert_eq!(r.status, 404, "{who}: {}", r.body);
        r.problem(404, "not_found");
        let s = app.get(&format!("{path}/sessions"), token).await;
        assert_eq!(s.status, 404, "{who}");
    }
    // Nobody's read was audited but the allowed ones.
    assert_eq!(
        w.count("select count(*) from audit_log where object_id = $1", &id)
            .await,
        0
    );
    let list = format!("/api/v1/communities/{}/mediations", w.c);
    assert_eq!(
        app.get(&list, &app.admin).await.expect(200).item_ids(),
        std::slice::from_ref(&id)
    );
    assert_eq!(
        app.get(&list, &w.party_token).await.expect(200).item_ids(),
        std::slice::from_ref(&id)
    );
    assert_eq!(
        app.get(&list, &w.mediator_token)
            .await
            .expect(200)
            .item_ids(),
        std::slice::from_ref(&id)
    );
    for token in [&w.bystander_token, &w.worker_token, &other_vol] {
        assert!(app.get(&list, token).await.expect(200).items().is_empty());
    }
    app.get(&list, &other_admin).await.problem(404, "not_found");
    // Filters.
    assert_eq!(
        app.get(&format!("{list}?status=open&kind=neighbour"), &app.admin)
            .await
            .expect(200)
            .item_ids(),
        std::slice::from_ref(&id)
    );
    assert!(
        app.get(&format!("{list}?status=closed"), &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
    assert!(
        app.get(&format!("{list}?kind=family"), &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
    let bad = app
        .get(&format!("{list}?status=done&kind=war"), &app.admin)
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes()[0],
        ("status".into(), "unknown_value".into())
    );

    // A party reads but may not act: 403, and nothing is written.
    let etag = app.get(&path, &app.admin).await.etag();
    app.patch(&path, &w.party_token, &etag, json!({"summary": "x"}))
        .await
        .problem(403, "forbidden");
    app.post(
        &format!("{path}/sessions"),
        &w.party_token,
        json!({"held_at": Utc::now().to_rfc3339(), "notes": "x"}),
    )
    .await
    .problem(403, "forbidden");
    app.post(
        &format!("{path}/outcome"),
        &w.party_token,
        json!({"outcome": "no_agreement"}),
    )
    .await
    .problem(403, "forbidden");
    // The mediator records and closes, but edits nothing of the case.
    app.patch(&path, &w.mediator_token, &etag, json!({"summary": "x"}))
        .await
        .problem(403, "forbidden");
    // Only staff open a case.
    app.post(&list, &w.mediator_token, w.case())
        .await
        .problem(403, "forbidden");
    app.post(&list, &other_admin, w.case())
        .await
        .problem(404, "not_found");
    let after = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(
        (
            after.body["version"].as_i64(),
            after.body["status"].as_str()
        ),
        (Some(1), Some("open"))
    );
    assert_eq!(
        w.count(
            "select count(*) from mediations where community_id = $1",
            &w.c
        )
        .await,
        1
    );
    // A case that does not exist is as absent as one that is not yours.
    app.get(
        &format!("/api/v1/mediations/{}", uuid::Uuid::now_v7()),
        &app.admin,
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn bad_cases_are_refused_field_by_field_and_nothing_is_written() {
    let w = world().await;
    let app = &w.app;
    let list = format!("/api/v1/communities/{}/mediations", w.c);
    let b = app.community("乙社区").await;
    let stranger = app
        .resident(&b, json!({"name": "外社区居民"}))
        .await
        .expect(201)
        .id();
    let (resident_user, _) = app.user("resident", Some(&w.c)).await;
    let (other_mediator, _) = app.user("volunteer", Some(&b)).await;
    let r = w.party_resident.clone();
    let o = w.other_resident.clone();
    let ok_parties = json!([{"resident_id": r}, {"resident_id": o}]);
    let case = |kind: Value, summary: Value, mediator: Value, parties: Value| {
        let mut v =
            json!({"kind": kind, "summary": summary, "mediator_id": mediator, "parties": parties});
        let m = v.as_object_mut().unwrap();
        m.retain(|_, v| !v.is_null());
        v
    };
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (
            json!({}),
            vec![
                ("kind", "required"),
                ("summary", "required"),
                ("mediator_id", "required"),
                ("parties", "required"),
            ],
        ),
        (
            case(
                json!("war"),
                json!(" "),
                json!(w.mediator),
                ok_parties.clone(),
            ),
            vec![("kind", "unknown_value"), ("summary", "required")],
        ),
        (
            case(
                json!("family"),
                json!("家事"),
                json!(resident_user),
                ok_parties.clone(),
            ),
            vec![("mediator_id", "not_eligible")],
        ),
        (
            case(
                json!("family"),
                json!("家事"),
                json!(other_mediator),
                ok_parties.clone(),
            ),
            vec![("mediator_id", "not_eligible")],
        ),
        (
            case(
                json!("family"),
                json!("家事"),
                json!(w.mediator),
                json!([{"resident_id": r}]),
            ),
            vec![("parties", "too_few")],
        ),
        (
            case(
                json!("family"),
                json!("家事"),
                json!(w.mediator),
                json!([{"resident_id": r}, {"resident_id": r}]),
            ),
            vec![("parties[1].resident_id", "duplicate")],
        ),
        (
            case(
                json!("family"),
                json!("家事"),
                json!(w.mediator),
                json!([{"resident_id": r}, {"resident_id": stranger}]),
            ),
            vec![("parties[1].resident_id", "unknown_reference")],
        ),
        (
            case(
                json!("family"),
                json!("家事"),
                json!(w.mediator),
                json!([{"resident_id": r}, {"name": "赵", "phone": "12345"},
                        {"resident_id": o, "name": "李"}, {}, {"resident_id": o, "phone": "13800000000"}]),
            ),
            vec![
                ("parties[1].phone", "invalid_phone"),
                ("parties[2].name", "not_allowed"),
                ("parties[3].resident_id", "required"),
                ("parties[4].phone", "not_allowed"),
            ],
        ),
        (
            case(
                json!("family"),
                json!("家事"),
                json!(w.mediator),
                json!(
                    (0..11)
                        .map(|n| json!({"name": format!("人{n}")}))
                        .collect::<Vec<_>>()
                ),
            ),
            vec![("parties", "too_many")],
        ),
        (
            case(
                json!("family"),
                json!("x".repeat(2001)),
                json!(w.mediator),
                ok_parties.clone(),
            ),
            vec![("summary", "too_long")],
        ),
    ];
    for (body, want) in cases {
        let r = app.post(&list, &app.admin, body.clone()).await;
        let r = r.problem(422, "validation_failed");
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect();
        assert_eq!(r.field_codes(), want, "{body}");
    }
    // Wrong types and unknown fields are field errors too; a broken body is 400.
    let r = app
        .post(&list, &app.admin, json!({"kind": 1, "extra": true}))
        .await
        .problem(422, "validation_failed");
    assert!(!r.field_codes().is_empty());
    let broken = app
        .req(reqwest::Method::POST, &list)
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body("{");
    app.send(broken).await.problem(400, "malformed_json");
    assert_eq!(
        w.count(
            "select count(*) from mediations where community_id = $1",
            &w.c
        )
        .await,
        0
    );
    assert_eq!(
        w.count(
            "select count(*) from outbox where community_id = $1 and aggregate_type = 'mediation'",
            &w.c
        )
        .await,
        0
    );
}

#[tokio::test]
async fn bad_sessions_outcomes_and_edits_are_refused_and_the_case_stays_open() {
    let w = world().await;
    let app = &w.app;
    let id = w.open().await;
    let path = format!("/api/v1/mediations/{id}");
    let future = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let sessions: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (
            json!({}),
            vec![("held_at", "required"), ("notes", "required")],
        ),
        (
            json!({"held_at": future, "notes": "x"}),
            vec![("held_at", "out_of_range")],
        ),
        (
            json!({"held_at": "1900-01-01T00:00:00Z", "notes": " ", "place": "p".repeat(201)}),
            vec![
                ("held_at", "out_of_range"),
                ("place", "too_long"),
                ("notes", "required"),
            ],
        ),
    ];
    for (body, want) in sessions {
        let r = app
            .post(&format!("{path}/sessions"), &w.mediator_token, body.clone())
            .await
            .problem(422, "validation_failed");
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(f, c)| (f.into(), c.into()))
            .collect();
        assert_eq!(r.field_codes(), want, "{body}");
    }
    let yesterday = today() - Duration::days(1);
    let far = today() + Duration::days(400);
    let outcomes: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (json!({}), vec![("outcome", "required")]),
        (
            json!({"outcome": "settled"}),
            vec![("outcome", "unknown_value")],
        ),
        (
            json!({"outcome": "agreement"}),
            vec![("agreement_text", "required")],
        ),
        (
            json!({"outcome": "no_agreement", "agreement_text": "x", "referred_to": "法院"}),
            vec![
                ("agreement_text", "not_allowed"),
                ("referred_to", "not_allowed"),
            ],
        ),
        (
            json!({"outcome": "referred", "follow_up_on": today()}),
            vec![("referred_to", "required"), ("follow_up_on", "not_allowed")],
        ),
        (
            json!({"outcome": "no_agreement", "follow_up_on": yesterday}),
            vec![("follow_up_on", "in_the_past")],
        ),
        (
            json!({"outcome": "no_agreement", "follow_up_on": far}),
            vec![("follow_up_on", "too_far")],
        ),
    ];
    for (body, want) in outcomes {
        let r = app
            .post(&format!("{path}/outcome"), &w.mediator_token, body.clone())
            .await
            .problem(422, "validation_failed");
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(f, c)| (f.into(), c.into()))
            .collect();
        assert_eq!(r.field_codes(), want, "{body}");
    }
    let r = app
        .post(
            &format!("{path}/outcome"),
            &w.mediator_token,
            json!({"outcome": "no_agreement", "follow_up_on": "2026-13-01"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes()[0].0, "follow_up_on");

    // Edits: checked as on opening; parties fixed; the version guards.
    let current = app.get(&path, &app.admin).await.expect(200);
    let etag = current.etag();
    let r = app
        .patch(
            &path,
            &app.admin,
            &etag,
            json!({"kind": "war", "mediator_id": w.worker}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [
            ("kind".to_string(), "unknown_value".to_string()),
            ("mediator_id".to_string(), "not_eligible".to_string())
        ]
    );
    app.patch(&path, &app.admin, &etag, json!({"parties": []}))
        .await
        .problem(422, "validation_failed");
    app.patch(&path, &app.admin, &etag, json!({"summary": null}))
        .await
        .problem(422, "validation_failed");
    app.patch(&path, &app.admin, "\"7\"", json!({"summary": "新"}))
        .await
        .problem(412, "stale_version");
    let no_etag = app
        .req(reqwest::Method::PATCH, &path)
        .bearer_auth(&app.admin)
        .json(&json!({"summary": "新"}));
    app.send(no_etag)
        .await
        .problem(428, "precondition_required");

    let after = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(after.body["status"], "open");
    assert_eq!(after.body["version"], 1);
    assert_eq!(
        w.count(
            "select count(*) from mediation_sessions where mediation_id = $1",
            &id
        )
        .await,
        0
    );
    assert_eq!(
        w.count(
            "select count(*) from visits where community_id = (select community_id from mediations where id = $1)",
            &id
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_referral_brings_no_visit_and_reports_count_cases_by_kind_and_outcome() {
    let w = world().await;
    let app = &w.app;
    let open_case = |kind: &str| {
        let mut c = w.case();
        c["kind"] = json!(kind);
        c
    };
    let list = format!("/api/v1/communities/{}/mediations", w.c);
    let mut ids = Vec::new();
    for kind in ["neighbour", "neighbour", "family", "labour", "tenancy"] {
        ids.push(
            app.post(&list, &app.admin, open_case(kind))
                .await
                .expect(201)
                .id(),
        );
    }
    let close = |id: &str, body: Value| {
        let path = format!("/api/v1/mediations/{id}/outcome");
        async move { app.post(&path, &app.admin, body).await }
    };
    let referred = close(
        &ids[0],
        json!({"outcome": "referred", "referred_to": "区人民法院"}),
    )
    .await
    .expect(200);
    assert_eq!(referred.body["referred_to"], "区人民法院");
    assert_eq!(referred.body["follow_up_visit_ids"], json!([]));
    let none = close(&ids[1], json!({"outcome": "no_agreement"}))
        .await
        .expect(200);
    assert_eq!(none.body["follow_up_visit_ids"], json!([]));
    // No agreement, but a look in on them today.
    let today_visit = close(
        &ids[2],
        json!({"outcome": "no_agreement", "follow_up_on": today()}),
    )
    .await
    .expect(200);
    assert_eq!(
        today_visit.body["follow_up_visit_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    close(
        &ids[3],
        json!({"outcome": "agreement", "agreement_text": "补发工资"}),
    )
    .await
    .expect(200);

    let report = format!("/api/v1/communities/{}/reports/mediations", w.c);
    let r = app.get(&report, &app.admin).await.expect(200);
    let by_kind: Vec<(String, i64, i64, i64, i64, i64)> = r.body["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kind"].as_str().unwrap().to_string(),
                k["open"].as_i64().unwrap(),
                k["agreement"].as_i64().unwrap(),
                k["no_agreement"].as_i64().unwrap(),
                k["referred"].as_i64().unwrap(),
                k["total"].as_i64().unwrap(),
            )
        })
        .collect();
    let row = |k: &str, o, a, n, r, t| (k.to_string(), o, a, n, r, t);
    assert_eq!(
        by_kind,
        [
            row("neighbour", 0, 0, 1, 1, 2),
            row("family", 0, 0, 1, 0, 1),
            row("property", 0, 0, 0, 0, 0),
            row("tenancy", 1, 0, 0, 0, 1),
            row("labour", 0, 1, 0, 0, 1),
            row("other", 0, 0, 0, 0, 0),
        ]
    );
    assert_eq!(
        r.body["by_outcome"],
        json!({"open": 1, "agreement": 1, "no_agreement": 2, "referred": 1, "total": 5})
    );
    // A period before any case counts none.
    let past = app
        .get(
            &format!("{report}?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(past.body["by_outcome"]["total"], 0);
    // Staff only; the period must make sense.
    app.get(&report, &w.mediator_token)
        .await
        .problem(403, "forbidden");
    app.get(&report, &w.party_token)
        .await
        .problem(403, "forbidden");
    let b = app.community("乙社区").await;
    let (_, other_admin) = app.user("community_admin", Some(&b)).await;
    app.get(&report, &other_admin)
        .await
        .problem(404, "not_found");
    for (query, field, code) in [
        (
            "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "to",
            "before_start",
        ),
        (
            "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "to",
            "too_long",
        ),
        ("from=1900-01-01T00:00:00Z", "from", "out_of_range"),
    ] {
        let r = app
            .get(&format!("{report}?{query}"), &app.admin)
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            [(field.to_string(), code.to_string())],
            "{query}"
        );
    }
    app.get(&format!("{report}?from=yesterday"), &app.admin)
        .await
        .problem(400, "invalid_query");
}

#[tokio::test]
async fn the_demo_holds_a_closed_mediation() {
    let app = spawn_app().await;
    huying::demo::seed(&app.state).await.unwrap();
    let admin = app.login("dianli-admin", huying::demo::DEMO_PASSWORD).await;
    let me = app.get("/api/v1/me", &admin).await.expect(200);
    let c = me.body["roles"][0]["community_id"]
        .as_str()
        .unwrap()
        .to_string();
    let closed = app
        .get(
            &format!("/api/v1/communities/{c}/mediations?status=closed"),
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(closed.items().len(), 1);
    let id = closed.item_ids().remove(0);
    let m = app
        .get(&format!("/api/v1/mediations/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(m.body["outcome"], "agreement");
    assert!(!m.body["follow_up_visit_ids"].as_array().unwrap().is_empty());
    let sessions = app
        .get(&format!("/api/v1/mediations/{id}/sessions"), &admin)
        .await
        .expect(200);
    assert!(!sessions.items().is_empty());
}
