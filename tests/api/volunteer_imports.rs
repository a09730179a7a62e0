//! Volunteers imported from spreadsheets over HTTP: each row is a person found by phone; the
//! import updates the community's volunteers, links accounts the community may link, creates
//! the rest, writes all rows or none, and can be repeated; only those who may grant the
//! volunteer role import.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Resp, TestApp, spawn_app};
use crate::imports::{csv, time_three_runs, upload_to, xlsx};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn upload(
    app: &TestApp,
    community: &str,
    token: &str,
    dry_run: bool,
    content_type: &str,
    body: Vec<u8>,
) -> Resp {
    let path = format!("/api/v1/communities/{community}/imports/volunteers?dry_run={dry_run}");
    upload_to(app, &path, token, content_type, body).await
}

async fn volunteers(app: &TestApp, community: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/communities/{community}/volunteers?limit=100"),
        &app.admin,
    )
    .await
    .expect(200)
    .items()
}

/// An account with a phone and one role; returns its id.
async fn account(app: &TestApp, phone: &str, role: &str, community: &str) -> String {
    app.post(
        "/api/v1/users",
        &app.admin,
        json!({"phone": phone, "display_name": "已有账号", "password": PASSWORD,
               "roles": [{"role": role, "community_id": community}]}),
    )
    .await
    .expect(201)
    .id()
}

fn counts(r: &Resp) -> [i64; 6] {
    [
        "rows",
        "created",
        "updated",
        "unchanged",
        "accounts_created",
        "accounts_linked",
    ]
    .map(|k| r.body[k].as_i64().unwrap_or(-1))
}

/// (row, field, code) of every error.
fn issues(r: &Resp) -> Vec<(i64, String, String)> {
    r.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {}", r.body))
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const HEADER: [&str; 6] = ["姓名", "手机", "网格", "技能", "政治面貌", "状态"];

#[tokio::test]
async fn a_real_run_creates_links_and_updates_by_phone_and_a_second_run_creates_nothing() {
    let app = spawn_app().await;
    let c = app.community("志愿者导入社区").await;
    let g = app.grid(&c, "第一网格", &[]).await;
    // A volunteer registered by hand, whose account has no phone: found by the profile's.
    let (known, _) = app
        .volunteer_account(&c, json!({"phone": "13900002222", "name": "老志愿者"}))
        .await;
    // A resident of the community with an account: linked.
    let resident = account(&app, "13800000003", "resident", &c).await;
    let rows = vec![
        HEADER.to_vec(),
        vec![
            "新志愿者",
            "13800000001",
            "第一网格",
            "陪诊、维修",
            "中共党员",
            "在岗",
        ],
        vec!["老志愿者", "13900002222", "", "急救", "", "暂停"],
        vec!["居民志愿者", "13800000003", "", "", "群众", ""],
    ];
    let dry = upload(&app, &c, &app.admin, true, XLSX, xlsx(&rows))
        .await
        .expect(200);
    assert_eq!(counts(&dry), [3, 2, 1, 0, 1, 1], "{}", dry.body);
    assert_eq!(
        volunteers(&app, &c).await.len(),
        1,
        "a dry run writes nothing"
    );

    let r = upload(&app, &c, &app.admin, false, XLSX, xlsx(&rows))
        .await
        .expect(200);
    assert_eq!(counts(&r), [3, 2, 1, 0, 1, 1], "{}", r.body);
    assert_eq!(r.body["errors"], json!([]));
    assert_eq!(r.body["errors_total"], 0);
    let all = volunteers(&app, &c).await;
    assert_eq!(all.len(), 3);
    let by_name = |n: &str| all.iter().find(|v| v["name"] == n).unwrap().clone();
    let new = by_name("新志愿者");
    assert_eq!(new["skills"], json!(["escort", "repairs"]));
    assert_eq!(
        (&new["party_member"], &new["status"], &new["home_grid_id"]),
        (&json!(true), &json!("active"), &json!(g))
    );
    assert_eq!(new["phone"], "13800000001");
    // The new account has the phone and the volunteer role here, and no password anyone knows.
    let user = app
        .get(
            &format!("/api/v1/users/{}", new["user_id"].as_str().unwrap()),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(user.body["phone"], "13800000001");
    assert_eq!(user.body["display_name"], "新志愿者");
    assert_eq!(
        user.body["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (
                g["role"].as_str().unwrap(),
                g["community_id"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("volunteer", c.as_str())]
    );
    app.login_resp("13800000001", PASSWORD).await.expect(401);
    // The hand-registered volunteer: updated where the sheet speaks, kept elsewhere.
    let old = by_name("老志愿者");
    assert_eq!(old["id"], json!(known));
    assert_eq!(
        (&old["skills"], &old["status"], &old["version"]),
        (&json!(["first_aid"]), &json!("paused"), &json!(2))
    );
    assert_eq!(old["availability"].as_array().unwrap().len(), 1, "kept");
    // The resident's account is linked: it gains the volunteer role and keeps its own.
    let linked = by_name("居民志愿者");
    assert_eq!(linked["user_id"], json!(resident));
    let roles: Vec<String> = app
        .get(&format!("/api/v1/users/{resident}"), &app.admin)
        .await
        .expect(200)
        .body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["role"].as_str().unwrap().to_string())
        .collect();
    assert!(roles.contains(&"resident".into()) && roles.contains(&"volunteer".into()));

    // The same sheet again, as CSV: nothing created, nothing changed.
    let again = upload(&app, &c, &app.admin, false, "text/csv", csv(&rows))
        .await
        .expect(200);
    assert_eq!(counts(&again), [3, 0, 0, 3, 0, 0], "{}", again.body);
    assert_eq!(by_name("新志愿者")["version"], 1);
    // One change: one update.
    let mut changed = rows.clone();
    changed[1][3] = "陪诊";
    let r = upload(&app, &c, &app.admin, false, "text/csv", csv(&changed))
        .await
        .expect(200);
    assert_eq!(counts(&r), [3, 0, 1, 2, 0, 0], "{}", r.body);
    let all = volunteers(&app, &c).await;
    let new = all.iter().find(|v| v["name"] == "新志愿者").unwrap();
    assert_eq!(
        (&new["skills"], &new["version"]),
        (&json!(["escort"]), &json!(2))
    );
    // The skill filter of dispatch sees the imported skills.
    let by_skill = app
        .get(
            &format!("/api/v1/communities/{c}/volunteers?skill=first_aid"),
            &app.admin,
        )
        .await
        .expect(200)
        .items();
    assert_eq!(by_skill.len(), 1);
    // One audit entry per real run.
    let audit = app
        .get(
            &format!("/api/v1/communities/{c}/audit-log?action=volunteers.imported"),
            &app.admin,
        )
        .await
        .expect(200)
        .items();
    assert_eq!(audit.len(), 3);
}

#[tokio::test]
async fn bad_rows_are_named_by_row_and_a_real_run_with_them_writes_nothing() {
    let app = spawn_app().await;
    let (c, other) = (app.community("甲社区").await, app.community("乙社区").await);
    let (_, admin_c) = app.user("community_admin", Some(&c)).await;
    app.grid(&c, "第一网格", &[]).await;
    account(&app, "13700000009", "volunteer", &other).await;
    let rows = vec![
        vec![
            "姓名",
            "电话",
            "网格",
            "技能",
            "党员",
            "同时接单上限",
            "状态",
        ],
        vec!["好的", "13800000001", "第一网格", "陪诊", "是", "3", "在岗"],
        vec!["没电话", "", "", "", "", "", ""],
        vec!["坏电话", "12345", "", "", "", "", ""],
        vec!["重复", "13800000001", "", "", "", "", ""],
        vec!["怪技能", "13800000005", "", "会飞", "", "", ""],
        vec!["党员不明", "13800000006", "", "", "也许", "", ""],
        vec!["无网格", "13800000007", "第九网格", "", "", "", ""],
        vec!["太忙", "13800000008", "", "", "", "99", ""],
        vec!["别社区", "13700000009", "", "", "", "", ""],
        vec!["乱状态", "13800000010", "", "", "", "", "随便"],
    ];
    let r = upload(&app, &c, &admin_c, true, "text/csv", csv(&rows))
        .await
        .expect(200);
    let mut found = issues(&r);
    found.sort();
    let want = [
        (3, "phone", "required"),
        (4, "phone", "invalid_phone"),
        (5, "phone", "duplicate"),
        (6, "skills", "unknown_value"),
        (7, "party_member", "invalid_value"),
        (8, "home_grid_id", "unknown_reference"),
        (9, "max_concurrent", "out_of_range"),
        (10, "phone", "phone_taken"),
        (11, "status", "unknown_value"),
    ];
    let want: Vec<(i64, String, String)> = want
        .iter()
        .map(|(r, f, c)| (*r, f.to_string(), c.to_string()))
        .collect();
    assert_eq!(found, want, "{}", r.body);
    assert_eq!(r.body["errors"][0]["column"], "电话");
    // The real run refuses the sheet with the same errors, and writes nothing.
    let refused = upload(&app, &c, &admin_c, false, "text/csv", csv(&rows))
        .await
        .problem(422, "import_invalid");
    assert_eq!(refused.body["errors"].as_array().unwrap().len(), want.len());
    assert!(volunteers(&app, &c).await.is_empty());
    app.login_resp("13800000001", PASSWORD).await.expect(401);
    let audit = app
        .get(
            &format!("/api/v1/communities/{c}/audit-log?action=volunteers.imported"),
            &app.admin,
        )
        .await
        .expect(200)
        .items();
    assert!(audit.is_empty());
    // The other community's account is linked by an admin only.
    let by_admin = upload(
        &app,
        &c,
        &app.admin,
        true,
        "text/csv",
        csv(&[vec!["姓名", "电话"], vec!["别社区", "13700000009"]]),
    )
    .await
    .expect(200);
    assert_eq!(counts(&by_admin), [1, 1, 0, 0, 0, 1], "{}", by_admin.body);
    // A sheet without 电话 cannot find anyone again.
    upload(
        &app,
        &c,
        &admin_c,
        true,
        "text/csv",
        csv(&[vec!["姓名", "技能"], vec!["张三", "陪诊"]]),
    )
    .await
    .problem(422, "missing_header");
    upload(
        &app,
        &c,
        &admin_c,
        true,
        "text/csv",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
    )
    .await
    .problem(422, "not_a_spreadsheet");
    // An Excel 97-2003 file: its reader would lay a crafted sheet out unbounded in memory.
    upload(
        &app,
        &c,
        &admin_c,
        true,
        "application/vnd.ms-excel",
        vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0],
    )
    .await
    .problem(422, "xls_not_supported");
    // Two cells a million rows and 16,000 columns apart are two rows, not a sheet that size.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (col, h) in ["姓名", "电话"].iter().enumerate() {
        ws.write_string(0, col as u16, *h).unwrap();
    }
    ws.write_string(1_048_575, 0, "远处").unwrap();
    ws.write_string(1_048_575, 1, "13800000099").unwrap();
    ws.write_string(1_048_575, 16_383, "最远处").unwrap();
    let far = upload(&app, &c, &admin_c, true, XLSX, wb.save_to_buffer().unwrap())
        .await
        .expect(200);
    assert_eq!(counts(&far), [1, 1, 0, 0, 1, 0], "{}", far.body);
    // After all of it the server still answers.
    app.send(app.req(Method::GET, "/healthz")).await.expect(200);
}

#[tokio::test]
async fn only_those_who_may_grant_the_volunteer_role_import_or_fetch_the_template() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲社区").await, app.community("乙社区").await);
    app.grid(&a, "第一网格", &[]).await;
    let (_, admin_b) = app.user("community_admin", Some(&b)).await;
    let (_, admin_a) = app.user("community_admin", Some(&a)).await;
    let (_, resident_a) = app.user("resident", Some(&a)).await;
    let (_, dispatcher_a) = app.user("dispatcher", Some(&a)).await;
    let (_, volunteer_a) = app.volunteer_account(&a, json!({})).await;
    let file = csv(&[vec!["姓名", "电话"], vec!["张三", "13800138000"]]);
    let template = format!("/api/v1/communities/{a}/imports/volunteers/template.xlsx");
    for (token, status) in [
        (&admin_b, 404),
        (&resident_a, 403),
        (&dispatcher_a, 403),
        (&volunteer_a, 403),
    ] {
        for dry_run in [true, false] {
            let r = upload(&app, &a, token, dry_run, "text/csv", file.clone()).await;
            assert_eq!(r.status, status, "{}", r.body);
        }
        let r = app.get(&template, token).await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    assert_eq!(volunteers(&app, &a).await.len(), 1);
    // The community's admin imports; the template's example row is skipped.
    let res = app
        .client
        .get(format!("{}{}", app.base, template))
        .bearer_auth(&admin_a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], XLSX);
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"volunteers-template.xlsx\"; \
         filename*=UTF-8''%E5%BF%97%E6%84%BF%E8%80%85%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"
    );
    let bytes = res.bytes().await.unwrap().to_vec();
    let sheet = huying::domain::import_sheet::read(&bytes).unwrap();
    assert_eq!(&sheet.headers[..3], ["姓名", "电话", "网格"]);
    assert!(sheet.rows[0].cells.contains(&"第一网格".to_string()));
    let r = upload(&app, &a, &admin_a, false, XLSX, bytes)
        .await
        .expect(200);
    assert_eq!(counts(&r), [0, 0, 0, 0, 0, 0]);
    let r = upload(&app, &a, &admin_a, false, "text/csv", file)
        .await
        .expect(200);
    assert_eq!(r.body["created"], 1);
    app.send(app.req(Method::GET, &template).bearer_auth(&admin_a))
        .await
        .expect(200);
}

#[tokio::test]
async fn two_imports_of_one_new_person_at_once_make_one_account_and_a_bad_query_is_refused() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let file = csv(&[vec!["姓名", "电话"], vec!["赵志愿", "13700000001"]]);
    let (a, b) = tokio::join!(
        upload(&app, &c, &app.admin, false, "text/csv", file.clone()),
        upload(&app, &c, &app.admin, false, "text/csv", file.clone()),
    );
    for r in [&a, &b] {
        // Either it wrote (or found it written), or the other one took the phone between its
        // plan and its write: then nothing of it was written, and it says to run it again.
        assert!(
            r.status == 200 || (r.status == 409 && r.body["code"] == "import_conflict"),
            "{} {}",
            r.status,
            r.body
        );
    }
    let all = volunteers(&app, &c).await;
    assert_eq!(all.len(), 1, "one person, one profile");
    let again = upload(&app, &c, &app.admin, false, "text/csv", file.clone())
        .await
        .expect(200);
    assert_eq!(counts(&again), [1, 0, 0, 1, 0, 0]);
    let path = format!("/api/v1/communities/{c}/imports/volunteers?dry_run=perhaps");
    upload_to(&app, &path, &app.admin, "text/csv", file)
        .await
        .problem(400, "invalid_query");
    assert_eq!(volunteers(&app, &c).await.len(), 1);
}

#[tokio::test]
async fn a_sheet_wrong_everywhere_lists_its_first_thousand_bad_cells_and_counts_them_all() {
    let app = spawn_app().await;
    let c = app.community("甲社区").await;
    let mut rows = vec![vec!["姓名".to_string(), "电话".to_string()]];
    rows.extend((0..1500).map(|i| vec![format!("志愿者{i}"), "12345".to_string()]));
    let borrowed: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let dry = upload(&app, &c, &app.admin, true, "text/csv", csv(&borrowed))
        .await
        .expect(200);
    let listed = issues(&dry);
    assert_eq!(
        (listed.len(), &dry.body["errors_total"]),
        (1000, &json!(1500))
    );
    assert_eq!(listed[0], (2, "phone".into(), "invalid_phone".into()));
    assert_eq!(listed[999].0, 1001, "the first thousand, in row order");
    let refused = upload(&app, &c, &app.admin, false, "text/csv", csv(&borrowed))
        .await
        .problem(422, "import_invalid");
    assert_eq!(refused.body["errors"].as_array().unwrap().len(), 1000);
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains("1499"),
        "the message counts the rest: {message}"
    );
    assert!(volunteers(&app, &c).await.is_empty());
}

/// 10,000 generated volunteers (every account new) through the API, timed: the dry run, the
/// real run, and the same sheet again (all unchanged). Run by `bench/imports.sh` on SQLite and
/// PostgreSQL: `cargo test --test api volunteer_imports::bench_ten_thousand_volunteers -- --exact --ignored --nocapture`.
#[tokio::test]
#[ignore = "a bench: run it with bench/imports.sh"]
async fn bench_ten_thousand_volunteers() {
    let n: u32 = std::env::var("BENCH_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let app = spawn_app().await;
    let c = app.community("导入压测社区").await;
    let grids = ["第一网格", "第二网格", "第三网格"];
    for g in grids {
        app.grid(&c, g, &[]).await;
    }
    let mut rows: Vec<Vec<String>> = vec![
        ["姓名", "电话", "网格", "技能", "党员", "状态"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    ];
    for i in 0..n {
        rows.push(vec![
            format!("志愿者{i}"),
            format!("137{:08}", i),
            grids[(i % 3) as usize].into(),
            ["陪诊、维修", "急救", "", "助餐、陪伴、代办"][(i % 4) as usize].into(),
            if i % 5 == 0 { "是" } else { "否" }.into(),
            if i % 10 == 0 { "暂停" } else { "在岗" }.into(),
        ]);
    }
    let borrowed: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let file = xlsx(&borrowed);
    let line = time_three_runs(&app, &c, "volunteers", &file, n).await;
    println!("BENCH {line}");
}
