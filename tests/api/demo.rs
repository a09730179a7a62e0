use crate::helpers::spawn_app;

#[tokio::test]
async fn the_demo_community_is_seeded_once_and_usable() {
    let app = spawn_app().await;
    let report = huying::demo::seed(&app.state).await.unwrap();
    assert!(report.contains("50 residents"), "{report}");
    let again = huying::demo::seed(&app.state).await.unwrap();
    assert!(again.contains("already there"), "{again}");
    let gw = app.login("grid1", huying::demo::DEMO_PASSWORD).await;
    let me = app.get("/api/v1/me", &gw).await.expect(200);
    let c = me.body["roles"][0]["community_id"]
        .as_str()
        .unwrap()
        .to_string();
    let residents = app
        .get(
            &format!("/api/v1/communities/{c}/residents?limit=200"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(residents.items().len(), 50);
    let mine = app
        .get(&format!("/api/v1/communities/{c}/residents?limit=200"), &gw)
        .await
        .expect(200);
    assert!(
        (15..=18).contains(&mine.items().len()),
        "a third of them: {}",
        mine.items().len()
    );
    let alone = app
        .get(
            &format!("/api/v1/communities/{c}/residents?care_category=living_alone&limit=200"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(alone.items().len(), 10);
    let vols = app
        .get(
            &format!("/api/v1/communities/{c}/volunteers?limit=200"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(vols.items().len(), 30);
    let types = app
        .get(
            &format!("/api/v1/communities/{c}/service-types"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(types.items().len(), 10);
    app.login("13930000007", huying::demo::DEMO_PASSWORD).await;
    // Graded residents have visit plans with their grid worker and the doctor, and visits.
    assert!(report.contains("with visit plans"), "{report}");
    let plans = app
        .get(
            &format!("/api/v1/communities/{c}/visit-plans?limit=200"),
            &app.admin,
        )
        .await
        .expect(200);
    assert!(plans.items().len() >= 15, "{}", plans.items().len());
    let doctor = app.login("doctor", huying::demo::DEMO_PASSWORD).await;
    let visits = app
        .get("/api/v1/visits?mine=true&limit=200", &doctor)
        .await
        .expect(200);
    assert!(!visits.items().is_empty());
    let grid1 = app
        .get("/api/v1/visits?mine=true&limit=200", &gw)
        .await
        .expect(200);
    assert!(!grid1.items().is_empty() && grid1.items().len() < visits.items().len());
}

#[tokio::test]
async fn the_demo_has_an_upcoming_call_out_with_sign_ups() {
    let app = spawn_app().await;
    let report = huying::demo::seed(&app.state).await.unwrap();
    assert!(report.contains("防汛巡查"), "{report}");
    let dispatcher = app.login("dispatcher", huying::demo::DEMO_PASSWORD).await;
    let me = app.get("/api/v1/me", &dispatcher).await.expect(200);
    let c = me.body["roles"][0]["community_id"].as_str().unwrap();
    let list = app
        .get(
            &format!("/api/v1/communities/{c}/mobilisations"),
            &dispatcher,
        )
        .await
        .expect(200)
        .items();
    let m = list.iter().find(|m| m["title"] == "防汛巡查").unwrap();
    assert_eq!(m["status"], "published");
    assert_eq!(m["kind"], "event");
    let starts: chrono::DateTime<chrono::Utc> = m["starts_at"].as_str().unwrap().parse().unwrap();
    assert!(starts > chrono::Utc::now());
    let id = m["id"].as_str().unwrap();
    let counts = app
        .get(&format!("/api/v1/mobilisations/{id}/counts"), &dispatcher)
        .await
        .expect(200);
    assert_eq!(counts.body["slots"].as_array().unwrap().len(), 2);
    assert!(
        counts.body["coming"].as_i64().unwrap() >= 5,
        "{}",
        counts.body
    );
    // A volunteer sees it in their list.
    let vol = app.login("13930000001", huying::demo::DEMO_PASSWORD).await;
    let theirs = app
        .get(&format!("/api/v1/communities/{c}/mobilisations"), &vol)
        .await
        .expect(200);
    assert!(theirs.item_ids().contains(&id.to_string()));
}

#[tokio::test]
async fn the_demo_board_shows_its_notices_to_anyone_with_a_corrected_finance_one() {
    let app = spawn_app().await;
    let report = huying::demo::seed(&app.state).await.unwrap();
    assert!(report.contains("dianli"), "{report}");
    let board = "/api/v1/public/communities/dianli/notices";
    let list = app
        .send(app.req(reqwest::Method::GET, board))
        .await
        .expect(200)
        .items();
    // Three notices, and the decision of the demo's 议事 topic.
    assert_eq!(list.len(), 4, "{list:?}");
    // The board shows its pinned notices above the others: it asks for them apart.
    let pinned = app
        .send(app.req(reqwest::Method::GET, &format!("{board}?pinned=true")))
        .await
        .expect(200)
        .items();
    assert_eq!(pinned.len(), 1);
    assert_eq!(pinned[0]["category"], "party");
    let finance = list.iter().find(|n| n["category"] == "finance").unwrap();
    let one = app
        .send(app.req(
            reqwest::Method::GET,
            &format!("{board}/{}", finance["id"].as_str().unwrap()),
        ))
        .await
        .expect(200);
    assert_eq!(one.body["total_fen"], 1_391_950);
    let versions = one.body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["total_fen"], 1_397_950);
}

#[tokio::test]
async fn the_demo_has_a_decided_topic_with_a_closed_vote_and_a_scheduled_one() {
    let app = spawn_app().await;
    huying::demo::seed(&app.state).await.unwrap();
    let dispatcher = app.login("dispatcher", huying::demo::DEMO_PASSWORD).await;
    let me = app.get("/api/v1/me", &dispatcher).await.expect(200);
    let c = me.body["roles"][0]["community_id"].as_str().unwrap();
    // 议事: a topic with a closed vote and a decision published as a notice; 孙大娘 reads it.
    let sun = app.login("sun-daniang", huying::demo::DEMO_PASSWORD).await;
    let decided = app
        .get(
            &format!("/api/v1/communities/{c}/topics?status=decided"),
            &sun,
        )
        .await
        .expect(200)
        .items();
    assert_eq!(decided.len(), 1);
    let t = &decided[0];
    assert_eq!(t["vote"]["state"], "closed");
    assert!(t["vote"]["ballot_count"].as_i64().unwrap() >= 1);
    let topic = t["id"].as_str().unwrap();
    let results = app
        .get(&format!("/api/v1/topics/{topic}/results"), &sun)
        .await
        .expect(200);
    assert_eq!(results.body["ballot_count"], t["vote"]["ballot_count"]);
    let notice = t["decision_notice_id"].as_str().unwrap();
    let n = app
        .get(&format!("/api/v1/notices/{notice}"), &sun)
        .await
        .expect(200);
    assert!(n.body["title"].as_str().unwrap().starts_with("议事决定："));
    let scheduled = app
        .get(
            &format!("/api/v1/communities/{c}/topics?status=scheduled"),
            &sun,
        )
        .await
        .expect(200)
        .items();
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0]["vote"]["state"], "open");
}
