use serde_json::{Value, json};

use crate::helpers::{id_card, spawn_app};

fn sun(grid: &str, id: &str) -> Value {
    json!({
        "name": "孙大娘", "gender": "female", "phone": "13812345678", "id_card_number": id,
        "grid_id": grid, "building": "3号楼", "unit": "2单元", "room": "401", "address": "太东街道电力社区3号楼",
        "location": {"lat": 36.19, "lng": 113.12},
        "emergency_contacts": [{"name": "孙小明", "relation": "儿子", "phone": "13987654321"}],
        "care_categories": ["living_alone", "advanced_age"], "care_level": "high",
        "consent": {"data_processing": true}
    })
}

#[tokio::test]
async fn residents_are_registered_with_numbers_masked_and_encrypted_at_rest() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let g = app.grid(&c, "第一网格", &[]).await;
    let id = id_card("19400312", 21);
    let r = app.resident(&c, sun(&g, &id)).await.expect(201);
    assert_eq!(r.body["phone"], "138****5678");
    assert_eq!(
        r.body["id_card_number"],
        format!("140***********{}", &id[14..])
    );
    assert_eq!(r.body["emergency_contacts"][0]["phone"], "139****4321");
    assert_eq!(
        r.body["birth_date"], "1940-03-12",
        "taken from the ID number"
    );
    assert_eq!(
        r.body["care_categories"],
        json!(["advanced_age", "living_alone"])
    );
    assert_eq!(r.body["revealed"], false);
    // At rest: no plaintext ID number anywhere in the row.
    let rid = uuid::Uuid::parse_str(&r.id()).unwrap();
    let row = huying::store::registry::residents::get(&app.state.db, rid)
        .await
        .unwrap();
    let cipher = row.id_card_cipher.unwrap();
    assert!(!String::from_utf8_lossy(&cipher).contains(&id[..14]));
    assert_eq!(app.state.vault.decrypt(&cipher).unwrap(), id);
    // The same ID twice in a community is a duplicate.
    app.resident(&c, sun(&g, &id))
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn a_full_read_needs_staff_or_the_grid_worker_and_a_reason_and_is_audited() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (w, wt) = app.user("grid_worker", Some(&c)).await;
    let g = app.grid(&c, "第一网格", &[&w]).await;
    let (rid_user, rt) = app.user("resident", Some(&c)).await;
    let mut body = sun(&g, &id_card("19400312", 22));
    body["user_id"] = json!(rid_user);
    let r = app.resident(&c, body).await.expect(201);
    let path = format!("/api/v1/residents/{}", r.id());
    app.get(&format!("{path}?reveal=true"), &wt)
        .await
        .problem(422, "validation_failed");
    let full = app
        .get(
            &format!("{path}?reveal=true&reason=%E5%9B%9E%E8%AE%BF%E7%94%B5%E8%AF%9D"),
            &wt,
        )
        .await
        .expect(200);
    assert_eq!(full.body["phone"], "13812345678");
    assert_eq!(full.body["emergency_contacts"][0]["phone"], "13987654321");
    assert_eq!(full.body["revealed"], true);
    // The resident sees their own record, masked, and may not reveal.
    let own = app.get(&path, &rt).await.expect(200);
    assert_eq!(own.body["phone"], "138****5678");
    app.get(&format!("{path}?reveal=true&reason=x"), &rt)
        .await
        .problem(403, "reveal_not_allowed");
    let audit = app
        .get(
            &format!("/api/v1/communities/{c}/audit-log?object_id={}", r.id()),
            &app.admin,
        )
        .await
        .expect(200);
    let items = audit.items();
    assert_eq!(items.len(), 1, "one full read, one entry: {items:?}");
    assert_eq!(items[0]["action"], "resident.reveal");
    assert_eq!(items[0]["actor_id"], json!(w));
    assert_eq!(items[0]["reason"], "回访电话");
    assert_eq!(items[0]["request_id"].as_str(), full.header("x-request-id"));
}

#[tokio::test]
async fn an_oversized_reason_is_refused_even_without_reveal() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let g = app.grid(&c, "第一网格", &[]).await;
    let r = app
        .resident(&c, sun(&g, &id_card("19400312", 23)))
        .await
        .expect(201);
    let path = format!("/api/v1/residents/{}", r.id());
    let long = "x".repeat(201);
    for query in [
        format!("reason={long}"),
        format!("reveal=true&reason={long}"),
    ] {
        let p = app
            .get(&format!("{path}?{query}"), &app.admin)
            .await
            .problem(422, "validation_failed");
        assert_eq!(p.body["errors"][0]["field"], "reason", "{query}");
        assert_eq!(p.body["errors"][0]["code"], "too_long", "{query}");
    }
    // 200 characters, or a reason without `reveal`, is fine, and reveals nothing.
    let ok = app
        .get(&format!("{path}?reason={}", "x".repeat(200)), &app.admin)
        .await
        .expect(200);
    assert_eq!(ok.body["revealed"], false);
    assert_eq!(ok.body["phone"], "138****5678");
}

#[tokio::test]
async fn invalid_personal_data_is_reported_per_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let mut body = sun(&uuid::Uuid::now_v7().to_string(), "110105194912310021");
    body["phone"] = json!("1381234");
    body["care_categories"] = json!(["lonely"]);
    body["care_level"] = json!("red");
    body["birth_date"] = json!("2999-01-01");
    body["emergency_contacts"][0]["phone"] = json!("abc");
    let r = app
        .resident(&c, body)
        .await
        .problem(422, "validation_failed");
    let mut got = r.field_codes();
    got.sort();
    assert_eq!(
        got,
        [
            ("birth_date".into(), "invalid_date".into()),
            ("care_categories".into(), "unknown_value".into()),
            ("care_level".into(), "unknown_grade".into()),
            ("emergency_contacts[0].phone".into(), "invalid_phone".into()),
            ("grid_id".into(), "unknown_reference".into()),
            ("id_card_number".into(), "invalid_id_card".into()),
            ("phone".into(), "invalid_phone".into()),
        ]
    );
    let r = app
        .resident(&c, json!({"name": "张三", "gender": "other"}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("gender".into(), "unknown_value".into())]);
    let r = app
        .resident(&c, json!({"name": "张三", "age": 80}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("age".into(), "unknown_field".into())]);
    let r = app
        .resident(&c, json!({"name": ["张三"]}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("name".into(), "invalid_value".into())]);
    assert!(
        app.get(&format!("/api/v1/communities/{c}/residents"), &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
}

#[tokio::test]
async fn residents_are_searched_filtered_and_paged_within_scope() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (w1, t1) = app.user("grid_worker", Some(&c)).await;
    let g1 = app.grid(&c, "第一网格", &[&w1]).await;
    let g2 = app.grid(&c, "第二网格", &[]).await;
    let mut ids = Vec::new();
    for (i, (name, grid, cats)) in [
        ("孙大娘", &g1, json!(["living_alone"])),
        ("李大爷", &g1, json!(["empty_nest"])),
        ("王奶奶", &g2, json!(["living_alone"])),
        ("赵小朋友", &g2, json!(["child_in_difficulty"])),
        ("孙悟空", &g2, json!([])),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"name": name, "grid_id": grid, "care_categories": cats, "phone": format!("1380000000{i}"), "address": format!("{}号楼", i + 1)});
        ids.push(app.resident(&c, body).await.expect(201).id());
    }
    let base = format!("/api/v1/communities/{c}/residents");
    let names = |r: &crate::helpers::Resp| {
        r.items()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(
            &app.get(&format!("{base}?q=%E5%AD%99"), &app.admin)
                .await
                .expect(200)
        ),
        ["孙大娘", "孙悟空"]
    );
    assert_eq!(
        names(
            &app.get(&format!("{base}?q=13800000003"), &app.admin)
                .await
                .expect(200)
        ),
        ["赵小朋友"]
    );
    assert_eq!(
        names(
            &app.get(&format!("{base}?q=3%E5%8F%B7%E6%A5%BC"), &app.admin)
                .await
                .expect(200)
        ),
        ["王奶奶"]
    );
    assert_eq!(
        names(
            &app.get(&format!("{base}?care_category=living_alone"), &app.admin)
                .await
                .expect(200)
        ),
        ["孙大娘", "王奶奶"]
    );
    assert_eq!(
        names(
            &app.get(&format!("{base}?grid_id={g1}"), &app.admin)
                .await
                .expect(200)
        ),
        ["孙大娘", "李大爷"]
    );
    app.get(&format!("{base}?care_category=lonely"), &app.admin)
        .await
        .problem(422, "validation_failed");
    // The grid worker of the first grid sees only its residents, whatever they ask for.
    assert_eq!(
        names(&app.get(&base, &t1).await.expect(200)),
        ["孙大娘", "李大爷"]
    );
    assert!(
        app.get(&format!("{base}?grid_id={g2}"), &t1)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
    app.get(&format!("/api/v1/residents/{}", ids[2]), &t1)
        .await
        .problem(404, "not_found");
    // Pages of two, following the cursor, visit everyone once.
    let mut seen = Vec::new();
    let mut url = format!("{base}?limit=2");
    loop {
        let page = app.get(&url, &app.admin).await.expect(200);
        assert!(page.items().len() <= 2);
        seen.extend(page.item_ids());
        match page.body["next_cursor"].as_str() {
            Some(cur) => url = format!("{base}?limit=2&cursor={cur}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    app.get(&format!("{base}?limit=500"), &app.admin)
        .await
        .problem(422, "validation_failed");
    app.get(&format!("{base}?cursor=nonsense!"), &app.admin)
        .await
        .problem(422, "validation_failed");
    app.get(&format!("{base}?limit=abc"), &app.admin)
        .await
        .problem(400, "invalid_query");
}

#[tokio::test]
async fn grid_workers_register_and_update_residents_of_their_own_grids() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (w1, t1) = app.user("grid_worker", Some(&c)).await;
    let g1 = app.grid(&c, "第一网格", &[&w1]).await;
    let g2 = app.grid(&c, "第二网格", &[]).await;
    let path = format!("/api/v1/communities/{c}/residents");
    let r = app
        .post(&path, &t1, json!({"name": "李大爷", "grid_id": g1}))
        .await
        .expect(201);
    app.post(&path, &t1, json!({"name": "王奶奶", "grid_id": g2}))
        .await
        .problem(403, "forbidden");
    app.post(&path, &t1, json!({"name": "王奶奶"}))
        .await
        .problem(422, "validation_failed");
    let rp = format!("/api/v1/residents/{}", r.id());
    let up = app
        .patch(
            &rp,
            &t1,
            &r.etag(),
            json!({"phone": "13800001111", "care_categories": ["empty_nest"]}),
        )
        .await
        .expect(200);
    assert_eq!(up.body["phone"], "138****1111");
    app.patch(&rp, &t1, &up.etag(), json!({"grid_id": g2}))
        .await
        .problem(403, "forbidden_field");
    app.delete(&rp, &t1).await.problem(403, "forbidden");
    // A merge patch with null clears a field.
    let cleared = app
        .patch(&rp, &app.admin, &up.etag(), json!({"phone": null}))
        .await
        .expect(200);
    assert_eq!(cleared.body["phone"], Value::Null);
    app.delete(&rp, &app.admin).await.expect(204);
    assert!(
        app.get(&path, &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
    assert_eq!(
        app.get(&format!("{path}?include_inactive=true"), &app.admin)
            .await
            .expect(200)
            .items()
            .len(),
        1
    );
}

#[tokio::test]
async fn search_folds_case_in_every_script_on_both_backends() {
    let app = crate::helpers::spawn_app().await;
    let a = app.community("甲").await;
    let r = app
        .resident(
            &a,
            serde_json::json!({"name": "ÉMILE Dupont", "address": "Ülmenstraße 5"}),
        )
        .await
        .expect(201)
        .id();
    app.resident(&a, serde_json::json!({"name": "王大爷"}))
        .await
        .expect(201);
    for q in ["émile", "%C3%A9MILE", "ülmen", "dupont"] {
        let found = app
            .get(
                &format!("/api/v1/communities/{a}/residents?q={q}"),
                &app.admin,
            )
            .await
            .expect(200);
        assert_eq!(found.item_ids(), std::slice::from_ref(&r), "q={q}");
    }
    let (vu, _) = app.user("volunteer", Some(&a)).await;
    let v = app
        .volunteer(&a, &vu, serde_json::json!({"name": "ÅSA Öberg"}))
        .await
        .expect(201)
        .id();
    let found = app
        .get(
            &format!("/api/v1/communities/{a}/volunteers?q=åsa"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(found.item_ids(), [v]);
    let renamed = app
        .get(&format!("/api/v1/users/{vu}"), &app.admin)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/users/{vu}"),
        &app.admin,
        &renamed.etag(),
        serde_json::json!({"display_name": "ÐÓRA Jónsdóttir"}),
    )
    .await
    .expect(200);
    let users = app
        .get(
            &format!("/api/v1/users?community_id={a}&q=%C3%B0%C3%B3ra"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(users.item_ids(), [vu]);
}
