//! The dispatch engine seen from outside: triage, 退单, 重办, 寻单, exclusions, the explanation,
//! batch assignment, the three rates, and every bad input refused with nothing written.

use serde_json::{Value, json};

use crate::help_requests::{World, world};

async fn count_requests(w: &World) -> i64 {
    w.scalar(
        "select count(*) from help_requests where community_id = $1",
        &w.c,
    )
    .await
}

/// Drives a fresh request to `completed` by its first offered volunteer; returns (id, volunteer).
async fn completed(w: &World) -> (String, String) {
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let offer = w.open_offers(&id).await.remove(0);
    let v = offer["volunteer_id"].as_str().unwrap().to_string();
    w.accept(&offer).await.expect(200);
    let t = w.token_of(&v).to_string();
    w.act(&id, "start", &t, json!({})).await.expect(200);
    w.act(&id, "complete", &t, json!({"resolution_note": "已处理"}))
        .await
        .expect(200);
    (id, v)
}

#[tokio::test]
async fn triage_accepts_into_dispatch_or_closes_duplicates() {
    let w = world(2, json!({"triage": true})).await;
    let a = w
        .place(&w.dispatcher, json!({"placed_as": "relative", "caller_name": "孙大娘的女儿", "caller_phone": "13700001234"}))
        .await
        .expect(201);
    assert_eq!(a.body["status"], "submitted");
    assert_eq!(a.body["channel"], "phone");
    assert_eq!(a.body["placed_as"], "relative");
    assert_eq!(a.body["caller_phone"], "137****1234");
    let b = w.place(&w.resident_token, json!({})).await.expect(201).id();
    // Only staff triage: the resident is refused, a volunteer cannot even see it.
    w.act(
        &b,
        "triage",
        &w.resident_token,
        json!({"decision": "accept"}),
    )
    .await
    .problem(403, "forbidden");
    w.act(&b, "triage", &w.vols[0].1, json!({"decision": "accept"}))
        .await
        .problem(404, "not_found");
    w.act(&b, "triage", &w.dispatcher, json!({"decision": "maybe"}))
        .await
        .problem(422, "validation_failed");
    w.act(
        &b,
        "triage",
        &w.dispatcher,
        json!({"decision": "duplicate"}),
    )
    .await
    .problem(422, "validation_failed");
    let closed = w
        .act(
            &b,
            "triage",
            &w.dispatcher,
            json!({"decision": "duplicate", "duplicate_of": a.id()}),
        )
        .await
        .expect(200);
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(closed.body["close_reason"], "duplicate");
    let accepted = w
        .act(
            &a.id(),
            "triage",
            &w.dispatcher,
            json!({"decision": "accept"}),
        )
        .await
        .expect(200);
    assert_eq!(accepted.body["status"], "offered");
    // Triage is only for submitted requests.
    w.act(
        &a.id(),
        "triage",
        &w.dispatcher,
        json!({"decision": "accept"}),
    )
    .await
    .problem(409, "invalid_transition");
    assert_eq!(
        w.kinds(&a.id()).await,
        ["placed", "triage_accepted", "offered"]
    );
}

#[tokio::test]
async fn a_returned_request_goes_to_another_volunteer_and_an_unsatisfied_one_is_redone() {
    let w = world(3, json!({})).await;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let offer = w.open_offers(&id).await.remove(0);
    let v0 = offer["volunteer_id"].as_str().unwrap().to_string();
    w.accept(&offer).await.expect(200);
    let t0 = w.token_of(&v0).to_string();
    // Only the assignee acts on it; 退单 needs a reason.
    w.act(&id, "start", &w.vols[2].1, json!({}))
        .await
        .problem(404, "not_found");
    w.act(&id, "return", &t0, json!({}))
        .await
        .problem(422, "validation_failed");
    let back = w
        .act(&id, "return", &t0, json!({"reason": "临时有事"}))
        .await
        .expect(200);
    assert_eq!(back.body["status"], "offered");
    assert!(back.body["assignee_id"].is_null());
    assert_eq!(w.load_of(&v0).await, 0);
    let next = w.open_offers(&id).await.remove(0);
    assert_ne!(next["volunteer_id"], v0.as_str());

    // 重办: unsatisfied and unsolved reopens, and the next offer goes to someone new.
    let v1 = next["volunteer_id"].as_str().unwrap().to_string();
    w.accept(&next).await.expect(200);
    let t1 = w.token_of(&v1).to_string();
    w.act(&id, "start", &t1, json!({})).await.expect(200);
    w.act(&id, "complete", &t1, json!({"resolution_note": "买了"}))
        .await
        .expect(200);
    let redo = w
        .rate(
            &id,
            json!({"rating": 2, "solved": false, "comment": "买错了"}),
        )
        .await
        .expect(200);
    assert_eq!(redo.body["status"], "offered");
    assert_eq!(redo.body["reopen_count"], 1);
    let third = w.open_offers(&id).await.remove(0);
    assert_ne!(third["volunteer_id"], v0.as_str());
    assert_ne!(third["volunteer_id"], v1.as_str());
    let kinds = w.kinds(&id).await;
    assert!(kinds.contains(&"returned".into()) && kinds.contains(&"reopened".into()));
    // The low rating counts against the volunteer who did the work.
    assert_eq!(
        w.scalar("select rating_sum from volunteers where id = $1", &v1)
            .await,
        2
    );

    // 回访: the grid worker may rate on the resident's behalf; unsatisfied but solved closes.
    let (id2, _) = completed(&w).await;
    let r = w
        .act(&id2, "rating", &w.gw, json!({"rating": 3, "solved": true}))
        .await
        .expect(200);
    assert_eq!(r.body["status"], "closed");
}

#[tokio::test]
async fn volunteers_claim_proactive_needs_they_have_the_skills_for() {
    let w = world(1, json!({})).await;
    // A grid worker reports a need found on a visit (寻单): proactive.
    let need = w
        .place(&w.gw, json!({"origin": "proactive", "channel": "visit"}))
        .await
        .expect(201);
    assert_eq!(need.body["placed_as"], "grid_worker");
    let id = need.id();
    // A volunteer without the skill may see it but not take it.
    let (_, other) = w
        .app
        .volunteer_account(&w.c, json!({"skills": ["cooking"], "availability": []}))
        .await;
    w.act(&id, "claim", &other, json!({}))
        .await
        .problem(409, "missing_skills");
    // One with the skill claims it: accepted at once, other offers withdrawn.
    let (v, t) = &w.vols[0];
    let claimed = w.act(&id, "claim", t, json!({})).await.expect(200);
    assert_eq!(claimed.body["status"], "accepted");
    assert_eq!(claimed.body["dispatch_mode"], "claim");
    assert_eq!(claimed.body["assignee_id"], v.as_str());
    assert!(w.open_offers(&id).await.is_empty());
    // A call (not proactive) cannot be claimed.
    let call = w.place(&w.resident_token, json!({})).await.expect(201).id();
    w.act(&call, "claim", t, json!({}))
        .await
        .problem(409, "not_claimable");
}

#[tokio::test]
async fn residents_exclude_volunteers_and_the_explanation_says_why_each_was_left_out() {
    let w = world(3, json!({})).await;
    let nearest = w.vols[0].0.clone();
    // The resident excludes the nearest volunteer.
    let ex = w
        .app
        .send(
            w.app
                .req(
                    reqwest::Method::PUT,
                    &format!("/api/v1/residents/{}/exclusions/{nearest}", w.resident),
                )
                .bearer_auth(&w.resident_token),
        )
        .await
        .expect(200);
    assert_eq!(ex.body["volunteer_ids"], json!([nearest]));
    // A volunteer without the skill and one paused.
    let (cook, _) = w
        .app
        .volunteer_account(
            &w.c,
            json!({"skills": ["cooking"], "availability": [], "home_grid_id": w.grid}),
        )
        .await;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let first = w.open_offers(&id).await.remove(0);
    assert_eq!(first["volunteer_id"], w.vols[1].0.as_str());
    let t1 = w.token_of(&w.vols[1].0).to_string();
    w.app
        .post(
            &format!("/api/v1/offers/{}/decline", first["id"].as_str().unwrap()),
            &t1,
            json!({"reason": "没空"}),
        )
        .await
        .expect(200);
    let why = w
        .app
        .get(
            &format!("/api/v1/help-requests/{id}/candidates"),
            &w.dispatcher,
        )
        .await
        .expect(200);
    let reasons = |v: &str| -> Vec<String> {
        why.body["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["volunteer_id"] == v)
            .map(|e| {
                e["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(reasons(&nearest), ["excluded_by_resident"]);
    assert_eq!(reasons(&cook), ["missing_skills"]);
    assert_eq!(reasons(&w.vols[1].0), ["declined"]);
    assert_eq!(reasons(&w.vols[2].0), ["already_offered"]);
    assert_eq!(why.body["required_skills"], json!(["errands"]));
    // Only staff see the explanation and the offers' scores.
    for path in ["candidates", "offers"] {
        w.app
            .get(
                &format!("/api/v1/help-requests/{id}/{path}"),
                &w.resident_token,
            )
            .await
            .problem(403, "forbidden");
    }
    // Removing the exclusion, twice: the second is 404.
    let del = format!("/api/v1/residents/{}/exclusions/{nearest}", w.resident);
    w.app.delete(&del, &w.resident_token).await.expect(204);
    w.app
        .delete(&del, &w.resident_token)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn batch_assignment_offers_the_waiting_requests_in_one_step() {
    let w = world(3, json!({"dispatch": {"max_attempts": 1}})).await;
    // Make three escalated requests: the only offered volunteer declines each.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
        let o = w.open_offers(&id).await.remove(0);
        let t = w.token_of(o["volunteer_id"].as_str().unwrap()).to_string();
        w.app
            .post(
                &format!("/api/v1/offers/{}/decline", o["id"].as_str().unwrap()),
                &t,
                json!({"reason": "忙"}),
            )
            .await
            .expect(200);
        assert_eq!(w.get(&id).await["status"], "escalated");
        ids.push(id);
    }
    let path = format!("/api/v1/communities/{}/dispatch/batch", w.c);
    w.app
        .post(&path, &w.vols[0].1, json!({}))
        .await
        .problem(403, "forbidden");
    w.app
        .post(&path, &w.dispatcher, json!({"request_ids": []}))
        .await
        .problem(422, "validation_failed");
    let r = w
        .app
        .post(&path, &w.dispatcher, json!({}))
        .await
        .expect(200);
    let assigned = r.body["assigned"].as_array().unwrap();
    assert_eq!(
        assigned.len() + r.body["unassigned"].as_array().unwrap().len(),
        3
    );
    assert!(!assigned.is_empty());
    let total: f64 = assigned.iter().map(|a| a["score"].as_f64().unwrap()).sum();
    assert!((total - r.body["total_score"].as_f64().unwrap()).abs() < 1e-9);
    for a in assigned {
        let id = a["request_id"].as_str().unwrap();
        assert_eq!(w.get(id).await["status"], "offered");
        let open = w.open_offers(id).await;
        assert_eq!(open.len(), 1);
        assert_eq!(open[0]["mode"], "batch");
        assert_eq!(open[0]["volunteer_id"], a["volunteer_id"]);
    }
    // Requests that are not waiting are refused.
    w.app
        .post(
            &path,
            &w.dispatcher,
            json!({"request_ids": [assigned[0]["request_id"]]}),
        )
        .await
        .problem(409, "request_not_waiting");
}

#[tokio::test]
async fn the_three_rates_are_reported_by_community_grid_service_type_team_and_period() {
    let w = world(2, json!({})).await;
    let (a, _) = completed(&w).await;
    w.rate(&a, json!({"rating": 5, "solved": true}))
        .await
        .expect(200);
    let (b, _) = completed(&w).await;
    w.rate(&b, json!({"rating": 3, "solved": true}))
        .await
        .expect(200);
    let c = w.place(&w.resident_token, json!({})).await.expect(201).id();
    w.act(&c, "cancel", &w.resident_token, json!({"reason": "不用了"}))
        .await
        .expect(200);
    let _open = w.place(&w.resident_token, json!({})).await.expect(201);
    let base = format!("/api/v1/communities/{}/reports/three-rates", w.c);
    let r = w.app.get(&base, &w.dispatcher).await.expect(200);
    let g = &r.body["groups"][0];
    assert_eq!(g["key"], "all");
    assert_eq!(g["total"], 4);
    assert_eq!(g["cancelled"], 1);
    assert_eq!(g["counted"], 3);
    // The open request is not yet due for a response: left out of 响应率.
    assert_eq!(g["awaiting_response"], 1);
    assert_eq!(g["response_rate"], 1.0);
    assert_eq!(g["responded_on_time"], 2);
    assert_eq!(g["resolved"], 2);
    assert_eq!(g["rated"], 2);
    assert_eq!(g["satisfied"], 1);
    assert_eq!(g["satisfaction_rate"], 0.5);
    assert!(g["response_minutes"]["median"].is_number());
    for (by, key) in [
        ("grid", w.grid.clone()),
        ("service_type", w.service_type.clone()),
        ("team", "none".to_string()),
    ] {
        let r = w
            .app
            .get(&format!("{base}?group_by={by}"), &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(r.body["groups"][0]["key"], key.as_str(), "{by}");
        assert_eq!(r.body["groups"][0]["total"], 4, "{by}");
        // Named for people to read, but for the requests of no team.
        assert_eq!(
            r.body["groups"][0]["name"].is_string(),
            by != "team",
            "{by}"
        );
    }
    let monthly = w
        .app
        .get(&format!("{base}?group_by=month"), &w.dispatcher)
        .await
        .expect(200);
    assert!(
        monthly.body["groups"][0]["key"]
            .as_str()
            .unwrap()
            .ends_with("-01")
    );
    w.app
        .get(&format!("{base}?group_by=colour"), &w.dispatcher)
        .await
        .problem(422, "validation_failed");
    w.app
        .get(
            &format!("{base}?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z"),
            &w.dispatcher,
        )
        .await
        .problem(422, "validation_failed");
    w.app
        .get(&base, &w.resident_token)
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_problem_and_nothing_written() {
    let w = world(2, json!({})).await;
    let before = count_requests(&w).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"service_type_id": uuid::Uuid::now_v7()}),
            "service_type_id",
        ),
        (
            json!({"window_start": "2030-01-02T10:00:00Z", "window_end": "2030-01-02T09:00:00Z"}),
            "window_end",
        ),
        (json!({"urgency": "whenever"}), "urgency"),
        (json!({"description": ""}), "description"),
        (json!({"channel": "pigeon"}), "channel"),
        (json!({"location": {"lat": 91.0, "lng": 0.0}}), "location"),
        (json!({"placed_as": "staff"}), "placed_as"),
        (json!({"mode": "claim"}), "mode"),
    ];
    for (extra, field) in cases {
        let r = w
            .place(&w.resident_token, extra.clone())
            .await
            .problem(422, "validation_failed");
        assert!(
            r.field_codes().iter().any(|(f, _)| f == field),
            "{extra}: {:?}",
            r.field_codes()
        );
    }
    // Unknown fields and malformed bodies.
    w.place(&w.resident_token, json!({"priority": 1}))
        .await
        .problem(422, "validation_failed");
    let raw = w
        .app
        .send(
            w.app
                .req(reqwest::Method::POST, "/api/v1/help-requests")
                .bearer_auth(&w.resident_token)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(raw.status, 400);
    // A resident of another community, or one the caller may not act for.
    let other = w.app.community("乙社区").await;
    let (_, outsider) = w.app.user("resident", Some(&other)).await;
    w.place(&outsider, json!({}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(count_requests(&w).await, before);

    // On an existing request: a rating of 6, someone else's offer, someone else's request.
    let (id, _) = completed(&w).await;
    let version = w.get(&id).await["version"].clone();
    w.rate(&id, json!({"rating": 6, "solved": true}))
        .await
        .problem(422, "validation_failed");
    w.rate(&id, json!({"rating": 4}))
        .await
        .problem(422, "validation_failed");
    let (other_res_user, other_res) = w.app.user("resident", Some(&w.c)).await;
    w.app
        .resident(&w.c, json!({"name": "李大爷", "user_id": other_res_user}))
        .await
        .expect(201);
    w.act(
        &id,
        "rating",
        &other_res,
        json!({"rating": 5, "solved": true}),
    )
    .await
    .problem(404, "not_found");
    w.act(&id, "cancel", &w.resident_token, json!({"reason": "x"}))
        .await
        .problem(409, "invalid_transition");
    assert_eq!(w.get(&id).await["version"], version);

    let id2 = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let offer = w.open_offers(&id2).await.remove(0);
    let not_mine = w
        .vols
        .iter()
        .find(|(v, _)| v != offer["volunteer_id"].as_str().unwrap())
        .unwrap();
    w.app
        .post(
            &format!("/api/v1/offers/{}/accept", offer["id"].as_str().unwrap()),
            &not_mine.1,
            json!({}),
        )
        .await
        .problem(404, "not_found");
    // Dispatch by hand to a volunteer of another community.
    let (stranger, _) = w.app.volunteer_account(&other, json!({})).await;
    w.act(
        &id2,
        "dispatch",
        &w.dispatcher,
        json!({"mode": "manual", "volunteer_id": stranger}),
    )
    .await
    .problem(422, "validation_failed");
    w.act(&id2, "dispatch", &w.dispatcher, json!({"mode": "manual"}))
        .await
        .problem(422, "validation_failed");
    // Out of order: start and complete before accepting.
    let t = w
        .token_of(offer["volunteer_id"].as_str().unwrap())
        .to_string();
    w.act(&id2, "start", &t, json!({}))
        .await
        .problem(403, "not_assignee");
    let after = w.get(&id2).await;
    assert_eq!(after["status"], "offered");
    assert_eq!(w.open_offers(&id2).await.len(), 1);
    assert_eq!(w.kinds(&id2).await, ["placed", "offered"]);
}

#[tokio::test]
async fn a_volunteer_at_their_load_cap_cannot_accept_more() {
    let w = world(1, json!({})).await;
    let (v, t) = w.vols[0].clone();
    w.app
        .patch(
            &format!("/api/v1/volunteers/{v}"),
            &t,
            "\"1\"",
            json!({"max_concurrent": 1}),
        )
        .await
        .expect(200);
    let first = w.place(&w.resident_token, json!({})).await.expect(201).id();
    w.accept(&w.open_offers(&first).await.remove(0))
        .await
        .expect(200);
    // At the cap the engine offers them nothing more: the next request is escalated.
    let second = w.place(&w.resident_token, json!({})).await.expect(201).id();
    assert_eq!(w.get(&second).await["status"], "escalated");
    // A dispatcher may still offer it by hand, but accepting it would pass the cap.
    w.act(
        &second,
        "dispatch",
        &w.dispatcher,
        json!({"mode": "manual", "volunteer_id": v}),
    )
    .await
    .expect(200);
    let offer = w.open_offers(&second).await.remove(0);
    w.accept(&offer).await.problem(409, "load_cap_reached");
    assert_eq!(w.get(&second).await["status"], "offered");
    assert_eq!(w.load_of(&v).await, 1);
}

#[tokio::test]
async fn what_volunteers_and_residents_see_is_limited_and_full_reads_are_audited() {
    let w = world(2, json!({})).await;
    let id = w
        .place(&w.resident_token, json!({"mode": "broadcast"}))
        .await
        .expect(201)
        .id();
    let offers = w.open_offers(&id).await;
    assert_eq!(offers.len(), 2);
    // A volunteer sees that an offer was made, not to whom else or with what score.
    let tl = w
        .app
        .get(
            &format!("/api/v1/help-requests/{id}/timeline"),
            &w.vols[0].1,
        )
        .await
        .expect(200);
    let offered = tl
        .items()
        .into_iter()
        .find(|e| e["kind"] == "offered")
        .unwrap();
    assert_eq!(offered["data"], json!({}));
    let staff_tl = w
        .app
        .get(
            &format!("/api/v1/help-requests/{id}/timeline"),
            &w.dispatcher,
        )
        .await
        .expect(200);
    let staff_offered = staff_tl
        .items()
        .into_iter()
        .find(|e| e["kind"] == "offered")
        .unwrap();
    assert_eq!(staff_offered["data"]["offers"].as_array().unwrap().len(), 2);
    // The assignee's full read of the resident's phone is written to the audit log.
    const AUDITS: &str = "select count(*) from audit_log where object_id = $1 and action = 'resident.read_for_service'";
    assert_eq!(w.scalar(AUDITS, &w.resident).await, 0);
    let accepted = w.accept(&offers[0]).await.expect(200);
    assert_eq!(accepted.body["resident"]["phone"], "13812345678");
    assert!(w.scalar(AUDITS, &w.resident).await >= 1);

    // Needs found proactively are listed for volunteers to claim (寻单) ...
    let need = w
        .place(&w.gw, json!({"origin": "proactive"}))
        .await
        .expect(201)
        .id();
    let listed = w
        .app
        .get(
            &format!("/api/v1/help-requests?community_id={}", w.c),
            &w.vols[1].1,
        )
        .await
        .expect(200);
    assert!(listed.item_ids().contains(&need));
    // ... but not by a volunteer the resident has excluded, nor offered to one by hand.
    w.app
        .send(
            w.app
                .req(
                    reqwest::Method::PUT,
                    &format!(
                        "/api/v1/residents/{}/exclusions/{}",
                        w.resident, w.vols[1].0
                    ),
                )
                .bearer_auth(&w.dispatcher),
        )
        .await
        .expect(200);
    w.act(&need, "claim", &w.vols[1].1, json!({}))
        .await
        .problem(409, "excluded_by_resident");
    let escalated = w.place(&w.dispatcher, json!({})).await.expect(201).id();
    w.app
        .post(
            &format!(
                "/api/v1/offers/{}/decline",
                w.open_offers(&escalated).await[0]["id"].as_str().unwrap()
            ),
            &w.vols[0].1,
            json!({"reason": "忙"}),
        )
        .await;
    let r = w
        .act(
            &escalated,
            "dispatch",
            &w.dispatcher,
            json!({"mode": "manual", "volunteer_id": w.vols[1].0}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes()[0].1, "excluded_by_resident");

    // Times far outside this century are refused, not stored.
    w.place(
        &w.resident_token,
        json!({"window_start": "1000-01-01T00:00:00Z"}),
    )
    .await
    .problem(422, "validation_failed");
    w.app
        .get(
            &format!(
                "/api/v1/communities/{}/reports/three-rates?to=0999-01-01T00:00:00Z",
                w.c
            ),
            &w.dispatcher,
        )
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn every_help_request_body_refuses_malformed_foreign_and_oversized_input_untouched() {
    use reqwest::Method;
    let w = world(2, json!({})).await;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let offer = w.open_offers(&id).await.remove(0);
    let o = offer["id"].as_str().unwrap().to_string();
    let vt = w
        .token_of(offer["volunteer_id"].as_str().unwrap())
        .to_string();
    let before = (
        w.get(&id).await["version"].clone(),
        w.kinds(&id).await,
        count_requests(&w).await,
    );
    let c = &w.c;
    // (path, caller) of every endpoint that takes a JSON body.
    let endpoints: Vec<(String, &str)> = vec![
        ("/api/v1/help-requests".into(), w.dispatcher.as_str()),
        (format!("/api/v1/help-requests/{id}/triage"), &w.dispatcher),
        (
            format!("/api/v1/help-requests/{id}/dispatch"),
            &w.dispatcher,
        ),
        (format!("/api/v1/help-requests/{id}/return"), &vt),
        (format!("/api/v1/help-requests/{id}/complete"), &vt),
        (
            format!("/api/v1/help-requests/{id}/rating"),
            &w.resident_token,
        ),
        (format!("/api/v1/help-requests/{id}/cancel"), &w.dispatcher),
        (format!("/api/v1/offers/{o}/decline"), &vt),
        (
            format!("/api/v1/communities/{c}/dispatch/batch"),
            &w.dispatcher,
        ),
    ];
    let huge = format!("{{\"reason\": \"{}\"}}", "忙".repeat(40_000));
    for (path, token) in &endpoints {
        let raw = |body: String, ct: &'static str| {
            w.app
                .req(Method::POST, path)
                .bearer_auth(token)
                .header("content-type", ct)
                .body(body)
        };
        w.app
            .send(raw("{".into(), "application/json"))
            .await
            .problem(400, "malformed_json");
        w.app
            .send(raw("reason=x".into(), "application/x-www-form-urlencoded"))
            .await
            .problem(415, "unsupported_media_type");
        w.app
            .send(raw("[]".into(), "application/json"))
            .await
            .problem(422, "validation_failed");
        w.app
            .send(raw("{\"colour\": \"red\"}".into(), "application/json"))
            .await
            .problem(422, "validation_failed");
        w.app
            .send(raw(huge.clone(), "application/json"))
            .await
            .problem(413, "payload_too_large");
    }
    // Ids that are not UUIDs, or name nothing.
    for action in ["start", "claim", "cancel"] {
        w.act("not-a-uuid", action, &w.dispatcher, json!({"reason": "x"}))
            .await
            .problem(400, "invalid_path");
        w.act(
            &uuid::Uuid::now_v7().to_string(),
            action,
            &w.dispatcher,
            json!({"reason": "x"}),
        )
        .await
        .problem(404, "not_found");
    }
    w.app
        .post(
            &format!("/api/v1/offers/{}/accept", uuid::Uuid::now_v7()),
            &vt,
            json!({}),
        )
        .await
        .problem(404, "not_found");
    w.app
        .get("/api/v1/help-requests?community_id=nope", &w.dispatcher)
        .await
        .problem(400, "invalid_query");
    w.app
        .get(
            &format!("/api/v1/help-requests?community_id={c}&status=lost"),
            &w.dispatcher,
        )
        .await
        .problem(422, "validation_failed");
    w.app
        .get(
            &format!("/api/v1/help-requests?community_id={c}&limit=1000"),
            &w.dispatcher,
        )
        .await
        .problem(422, "validation_failed");
    let after = (
        w.get(&id).await["version"].clone(),
        w.kinds(&id).await,
        count_requests(&w).await,
    );
    assert_eq!(before, after, "nothing was written");
}

#[tokio::test]
async fn actions_out_of_order_are_409_and_bad_ids_are_refused_on_every_new_path() {
    let w = world(2, json!({})).await;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let offer = w.open_offers(&id).await.remove(0);
    let v = offer["volunteer_id"].as_str().unwrap().to_string();
    let t = w.token_of(&v).to_string();
    w.accept(&offer).await.expect(200);
    // Accepted: completing before starting, dispatching, claiming, accepting again.
    w.act(&id, "complete", &t, json!({"resolution_note": "好了"}))
        .await
        .problem(409, "invalid_transition");
    w.act(&id, "dispatch", &w.dispatcher, json!({"mode": "auto"}))
        .await
        .problem(409, "invalid_transition");
    w.act(&id, "claim", &t, json!({}))
        .await
        .problem(409, "not_claimable");
    w.accept(&offer).await.problem(409, "offer_not_open");
    w.act(&id, "start", &t, json!({})).await.expect(200);
    // In progress: starting twice, rating before completion.
    w.act(&id, "start", &t, json!({}))
        .await
        .problem(409, "invalid_transition");
    w.rate(&id, json!({"rating": 5, "solved": true}))
        .await
        .problem(409, "invalid_transition");
    assert_eq!(
        w.kinds(&id).await,
        ["placed", "offered", "accepted", "started"]
    );

    // Ids that are not UUIDs, or name nothing, on the other new paths.
    for path in [
        "/api/v1/volunteers/nope/hours",
        "/api/v1/residents/nope/exclusions",
        "/api/v1/help-requests/nope/timeline",
        "/api/v1/help-requests/nope/candidates",
    ] {
        w.app
            .get(path, &w.dispatcher)
            .await
            .problem(400, "invalid_path");
    }
    let ghost = uuid::Uuid::now_v7();
    for path in [
        format!("/api/v1/volunteers/{ghost}/hours"),
        format!("/api/v1/residents/{ghost}/exclusions"),
        format!("/api/v1/help-requests/{ghost}/offers"),
    ] {
        w.app
            .get(&path, &w.dispatcher)
            .await
            .problem(404, "not_found");
    }
    // Excluding a volunteer of another community, or nobody at all: 404, nothing stored.
    let other = w.app.community("乙社区").await;
    let (stranger, _) = w.app.volunteer_account(&other, json!({})).await;
    for v in [stranger, ghost.to_string()] {
        w.app
            .send(
                w.app
                    .req(
                        reqwest::Method::PUT,
                        &format!("/api/v1/residents/{}/exclusions/{v}", w.resident),
                    )
                    .bearer_auth(&w.dispatcher),
            )
            .await
            .problem(404, "not_found");
    }
    let list = w
        .app
        .get(
            &format!("/api/v1/residents/{}/exclusions", w.resident),
            &w.dispatcher,
        )
        .await
        .expect(200);
    assert_eq!(list.body["volunteer_ids"], json!([]));
}

#[tokio::test]
async fn offers_say_what_a_volunteer_needs_and_the_resident_sees_who_is_coming() {
    let w = world(1, json!({})).await;
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let mine = w.app.get("/api/v1/offers", &w.vols[0].1).await.expect(200);
    let offer = mine.items()[0].clone();
    assert_eq!(offer["request_id"], id.as_str());
    assert!(offer["expires_at"].is_string());
    let r = &offer["request"];
    assert_eq!(
        r["service_type"],
        json!({"code": "errands", "name": "代购"})
    );
    assert_eq!(r["description"], "帮忙买药和米面");
    assert_eq!(r["urgency"], "normal");
    assert_eq!(r["area"], "第一网格");
    let d = r["distance_m"].as_i64().unwrap();
    assert!((100..=125).contains(&d), "about 111 m north, got {d}");
    assert!(
        r.get("address").is_none(),
        "the address comes with accepting"
    );
    // Staff's view of the offers carries no such summary.
    let staff = w.offers(&id).await;
    assert!(staff[0].get("request").is_none());

    let path = format!("/api/v1/help-requests/{id}");
    let before = w.app.get(&path, &w.resident_token).await.expect(200);
    assert_eq!(before.body["assignee"], Value::Null);
    w.accept(&offer).await.expect(200);
    let seen = w.app.get(&path, &w.resident_token).await.expect(200);
    assert_eq!(seen.body["assignee_id"], w.vols[0].0.as_str());
    assert_eq!(
        seen.body["assignee"],
        json!({"id": w.vols[0].0, "name": "志愿者小王", "phone": "139****1111"})
    );
    let listed = w
        .app
        .get(
            &format!("/api/v1/help-requests?community_id={}", w.c),
            &w.dispatcher,
        )
        .await
        .expect(200);
    assert_eq!(listed.items()[0]["assignee"]["name"], "志愿者小王");

    w.act(
        &id,
        "cancel",
        &w.resident_token,
        json!({"reason": "不需要了"}),
    )
    .await
    .expect(200);
    let after = w.app.get(&path, &w.resident_token).await.expect(200);
    assert_eq!(after.body["status"], "cancelled");
    assert_eq!(after.body["assignee_id"], Value::Null);
    assert_eq!(after.body["assignee"], Value::Null);
}
