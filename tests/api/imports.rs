//! Residents imported from spreadsheets over HTTP: a dry run reports every bad cell by row and
//! column and writes nothing; a real run writes all rows or none and can be repeated; bad files
//! are clear 4xx problems; only the community's staff import.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, id_card, spawn_app};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn import_path(community: &str, dry_run: bool) -> String {
    format!("/api/v1/communities/{community}/imports/residents?dry_run={dry_run}")
}

async fn upload(
    app: &TestApp,
    community: &str,
    token: &str,
    dry_run: bool,
    content_type: &str,
    body: Vec<u8>,
) -> Resp {
    let path = import_path(community, dry_run);
    upload_to(app, &path, token, content_type, body).await
}

/// A sheet POSTed as its raw body, as `curl --data-binary` sends it.
pub(crate) async fn upload_to(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Resp {
    app.send(
        app.req(Method::POST, path)
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

/// An XLSX with these rows (the first is the header), written as grid workers would: text,
/// with the phone of the second data row typed as a number.
pub(crate) fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match v.parse::<f64>() {
                Ok(n) if r == 2 && v.len() == 11 => ws.write_number(r, c, n).map(|_| ()),
                _ => ws.write_string(r, c, *v).map(|_| ()),
            }
            .unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

pub(crate) fn csv(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut s = String::new();
    for r in rows {
        s.push_str(&r.join(","));
        s.push('\n');
    }
    s.into_bytes()
}

const HEADER: [&str; 8] = [
    "姓名",
    "性别",
    "身份证号",
    "手机",
    "楼栋",
    "门牌",
    "网格",
    "类别",
];

async fn residents(app: &TestApp, community: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/communities/{community}/residents?limit=100"),
        &app.admin,
    )
    .await
    .expect(200)
    .items()
}

fn issues(r: &Resp) -> Vec<(i64, String, String)> {
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Six residents, the sixth (row 7) with an ID number whose check digit is wrong.
fn six_with_bad_id_in_row_7() -> Vec<Vec<String>> {
    let mut rows = vec![HEADER.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for i in 0..6u32 {
        let mut id = id_card("19450101", i + 1);
        if i == 5 {
            let last = if id.ends_with('0') { '1' } else { '0' };
            id.pop();
            id.push(last);
        }
        rows.push(vec![
            format!("居民{i}"),
            if i % 2 == 0 { "男" } else { "女" }.to_string(),
            id,
            format!("1380013800{i}"),
            "3".into(),
            format!("{}01", i + 1),
            String::new(),
            "独居、高龄".into(),
        ]);
    }
    rows
}

fn borrow(rows: &[Vec<String>]) -> Vec<Vec<&str>> {
    rows.iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect()
}

#[tokio::test]
async fn a_dry_run_names_the_bad_id_number_in_row_7_and_writes_nothing() {
    let app = spawn_app().await;
    let c = app.community("导入社区").await;
    let file = xlsx(&borrow(&six_with_bad_id_in_row_7()));
    let r = upload(&app, &c, &app.admin, true, XLSX, file.clone())
        .await
        .expect(200);
    assert_eq!(
        (
            &r.body["dry_run"],
            &r.body["rows"],
            &r.body["created"],
            &r.body["updated"]
        ),
        (&json!(true), &json!(6), &json!(5), &json!(0))
    );
    assert_eq!(
        issues(&r),
        [(7, "身份证号".to_string(), "invalid_id_card".to_string())]
    );
    assert_eq!(r.body["errors"][0]["field"], "id_card_number");
    assert!(
        residents(&app, &c).await.is_empty(),
        "a dry run writes nothing"
    );

    // The real run refuses the whole sheet with the same errors.
    let r = upload(&app, &c, &app.admin, false, XLSX, file)
        .await
        .problem(422, "import_invalid");
    assert_eq!(
        issues(&r),
        [(7, "身份证号".to_string(), "invalid_id_card".to_string())]
    );
    assert!(
        r.body["message"].as_str().unwrap().contains("第 7 行"),
        "{}",
        r.body
    );
    assert!(residents(&app, &c).await.is_empty(), "all or nothing");
}

#[tokio::test]
async fn a_real_run_writes_every_row_and_a_second_run_creates_nothing_twice() {
    let app = spawn_app().await;
    let c = app.community("导入社区").await;
    let g = app.grid(&c, "第一网格", &[]).await;
    // Already registered by hand, without her ID number: found again by phone.
    let known = app
        .resident(&c, json!({"name": "孙大娘", "phone": "13912345678"}))
        .await
        .expect(201)
        .id();
    let id1 = id_card("19400202", 1);
    let id2 = id_card("19420303", 2);
    let rows = vec![
        HEADER.to_vec(),
        vec![
            "王大爷",
            "男",
            &id1,
            "13800000001",
            "1",
            "101",
            "第一网格",
            "独居、高龄",
        ],
        vec!["李奶奶", "女", &id2, "13800000002", "2", "202", "", "空巢"],
        vec![
            "孙大娘",
            "女",
            "",
            "13912345678",
            "5",
            "503",
            "第一网格",
            "",
        ],
    ];
    let r = upload(&app, &c, &app.admin, false, XLSX, xlsx(&rows))
        .await
        .expect(200);
    assert_eq!(
        (
            &r.body["rows"],
            &r.body["created"],
            &r.body["updated"],
            &r.body["unchanged"]
        ),
        (&json!(3), &json!(2), &json!(1), &json!(0)),
        "{}",
        r.body
    );
    assert_eq!(r.body["errors"], json!([]));
    let all = residents(&app, &c).await;
    assert_eq!(all.len(), 3);
    let wang = all.iter().find(|r| r["name"] == "王大爷").unwrap();
    assert_eq!(wang["grid_id"], json!(g));
    assert_eq!(wang["gender"], "male");
    assert_eq!(wang["birth_date"], "1940-02-02", "from the ID number");
    assert_eq!(
        wang["care_categories"],
        json!(["advanced_age", "living_alone"])
    );
    let sun = all.iter().find(|r| r["id"] == json!(known)).unwrap();
    assert_eq!((&sun["room"], &sun["version"]), (&json!("503"), &json!(2)));
    // One audit entry counts the import.
    let audit = app
        .get(
            &format!("/api/v1/communities/{c}/audit-log?action=residents.imported"),
            &app.admin,
        )
        .await
        .expect(200)
        .items();
    assert_eq!(audit.len(), 1);

    let version_of = |all: &[Value], name: &str| {
        all.iter().find(|r| r["name"] == name).unwrap()["version"]
            .as_i64()
            .unwrap()
    };
    let li_before = version_of(&all, "李奶奶");
    let wang_before = version_of(&all, "王大爷");
    // The same sheet again (as CSV this time): nothing created, nothing changed.
    let again = upload(&app, &c, &app.admin, false, "text/csv", csv(&rows))
        .await
        .expect(200);
    assert_eq!(
        (
            &again.body["created"],
            &again.body["updated"],
            &again.body["unchanged"]
        ),
        (&json!(0), &json!(0), &json!(3))
    );
    // One change: one update; an empty cell keeps what the record has.
    let mut changed = rows.clone();
    changed[2][5] = "302";
    changed[1][7] = "";
    let r = upload(&app, &c, &app.admin, false, "text/csv", csv(&changed))
        .await
        .expect(200);
    assert_eq!(
        (&r.body["created"], &r.body["updated"], &r.body["unchanged"]),
        (&json!(0), &json!(1), &json!(2))
    );
    let all = residents(&app, &c).await;
    assert_eq!(all.len(), 3);
    let li = all.iter().find(|r| r["name"] == "李奶奶").unwrap();
    assert_eq!(li["room"], "302");
    assert_eq!(version_of(&all, "李奶奶"), li_before + 1);
    assert_eq!(
        version_of(&all, "王大爷"),
        wang_before,
        "an empty cell changes nothing"
    );
    let wang = all.iter().find(|r| r["name"] == "王大爷").unwrap();
    assert_eq!(
        wang["care_categories"],
        json!(["advanced_age", "living_alone"])
    );
}

#[tokio::test]
async fn rows_that_cannot_be_matched_or_repeat_a_person_are_errors() {
    let app = spawn_app().await;
    let c = app.community("导入社区").await;
    for name in ["甲", "乙"] {
        app.resident(&c, json!({"name": name, "phone": "03511234567"}))
            .await
            .expect(201);
    }
    let id = id_card("19500505", 5);
    let rows = vec![
        HEADER.to_vec(),
        vec!["赵一", "男", &id, "", "", "", "", ""],
        vec!["赵一", "男", &id, "", "", "", "", ""],
        vec!["钱二", "", "", "", "", "", "", ""],
        vec!["孙三", "", "", "0351-1234567", "", "", "", ""],
        vec![
            "李四",
            "未知",
            "",
            "13800000009",
            "",
            "",
            "第九网格",
            "孤寡",
        ],
        vec!["", "", "", "13800000010", "", "", "", ""],
    ];
    let r = upload(&app, &c, &app.admin, true, "text/csv", csv(&rows))
        .await
        .expect(200);
    let mut got = issues(&r);
    got.sort();
    let want: Vec<(i64, String, String)> = [
        (3, "身份证号", "duplicate"),
        (4, "身份证号", "id_or_phone_required"),
        (5, "手机", "ambiguous_match"),
        (6, "性别", "unknown_value"),
        (6, "类别", "unknown_value"),
        (6, "网格", "unknown_reference"),
        (7, "姓名", "required"),
    ]
    .iter()
    .map(|(r, c, k)| (*r, c.to_string(), k.to_string()))
    .collect();
    assert_eq!(got, want, "{}", r.body);
    assert_eq!(r.body["created"], 1);
}

#[tokio::test]
async fn bad_files_are_clear_problems_and_write_nothing() {
    let app = spawn_app().await;
    let c = app.community("导入社区").await;
    // A wrong header: 名字 is not 姓名.
    let r = upload(
        &app,
        &c,
        &app.admin,
        false,
        "text/csv",
        csv(&[vec!["名字", "电话"], vec!["张三", "13800138000"]]),
    )
    .await
    .problem(422, "missing_header");
    assert_eq!(
        issues(&r),
        [(1, "姓名".to_string(), "missing_header".to_string())]
    );
    assert!(r.body["message"].as_str().unwrap().contains("姓名"));
    // Neither an ID number nor a phone column: rows could never be found again.
    let r = upload(
        &app,
        &c,
        &app.admin,
        true,
        XLSX,
        xlsx(&[vec!["姓名", "性别"], vec!["张三", "男"]]),
    )
    .await
    .problem(422, "missing_header");
    assert_eq!(issues(&r)[0].1, "身份证号");
    // Not a spreadsheet at all.
    upload(
        &app,
        &c,
        &app.admin,
        false,
        XLSX,
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
    )
    .await
    .problem(422, "not_a_spreadsheet");
    upload(
        &app,
        &c,
        &app.admin,
        false,
        XLSX,
        b"PK\x03\x04broken".to_vec(),
    )
    .await
    .problem(422, "not_a_spreadsheet");
    // A CSV saved in GBK.
    upload(
        &app,
        &c,
        &app.admin,
        false,
        "text/csv",
        vec![0xd0, 0xd5, 0xc3, 0xfb],
    )
    .await
    .problem(422, "csv_not_utf8");
    // Over 5 MB.
    let mut big = csv(&[HEADER.to_vec()]);
    big.resize(5 * 1024 * 1024 + 1, b' ');
    upload(&app, &c, &app.admin, false, "text/csv", big)
        .await
        .problem(413, "file_too_large");
    // A JSON body is not a sheet.
    app.send(
        app.req(Method::POST, &import_path(&c, false))
            .bearer_auth(&app.admin)
            .json(&json!({"name": "张三"})),
    )
    .await
    .problem(415, "unsupported_media_type");
    assert!(residents(&app, &c).await.is_empty());
}

#[tokio::test]
async fn the_template_has_the_headers_an_example_and_imports_as_nothing() {
    let app = spawn_app().await;
    let c = app.community("导入社区").await;
    app.grid(&c, "第一网格", &[]).await;
    let path = format!("/api/v1/communities/{c}/imports/residents/template.xlsx");
    let res = app
        .client
        .get(format!("{}{}", app.base, path))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], XLSX);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let bytes = res.bytes().await.unwrap().to_vec();
    let sheet = huying::domain::import_sheet::read(&bytes).unwrap();
    assert_eq!(
        &sheet.headers[..4],
        ["姓名", "性别", "出生日期", "身份证号"]
    );
    assert_eq!(sheet.rows.len(), 1, "one example row");
    assert!(sheet.rows[0].cells.contains(&"第一网格".to_string()));
    // Uploaded as it is, the example row is skipped.
    let r = upload(&app, &c, &app.admin, false, XLSX, bytes)
        .await
        .expect(200);
    assert_eq!(
        (&r.body["rows"], &r.body["created"]),
        (&json!(0), &json!(0))
    );
    // And it is checked against the contract like every answer.
    app.send(app.req(Method::GET, &path).bearer_auth(&app.admin))
        .await
        .expect(200);
}

#[tokio::test]
async fn only_the_communitys_staff_import_or_fetch_the_template() {
    let app = spawn_app().await;
    let (a, b) = (app.community("甲社区").await, app.community("乙社区").await);
    let (_, admin_b) = app.user("community_admin", Some(&b)).await;
    let (_, resident_a) = app.user("resident", Some(&a)).await;
    let (_, worker_a) = app.user("grid_worker", Some(&a)).await;
    let (_, dispatcher_a) = app.user("dispatcher", Some(&a)).await;
    let file = csv(&[vec!["姓名", "电话"], vec!["张三", "13800138000"]]);
    let template = format!("/api/v1/communities/{a}/imports/residents/template.xlsx");
    for (token, status) in [(&admin_b, 404), (&resident_a, 403), (&worker_a, 403)] {
        for dry_run in [true, false] {
            let r = upload(&app, &a, token, dry_run, "text/csv", file.clone()).await;
            assert_eq!(r.status, status, "{}", r.body);
        }
        let r = app.get(&template, token).await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    assert!(residents(&app, &a).await.is_empty());
    // A dispatcher is staff.
    let r = upload(&app, &a, &dispatcher_a, false, "text/csv", file)
        .await
        .expect(200);
    assert_eq!(r.body["created"], 1);
}

/// 10,000 generated residents through the API, timed: the dry run, the real run, and the same
/// sheet again (all unchanged). Run by `bench/imports.sh` on SQLite and PostgreSQL:
/// `cargo test --test api imports::bench_ten_thousand_rows -- --exact --ignored --nocapture`.
#[tokio::test]
#[ignore = "a bench: run it with bench/imports.sh"]
async fn bench_ten_thousand_rows() {
    let n: u32 = std::env::var("BENCH_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let app = spawn_app().await;
    let c = app.community("导入压测社区").await;
    for g in ["第一网格", "第二网格", "第三网格"] {
        app.grid(&c, g, &[]).await;
    }
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|s| s.to_string()).collect()];
    for i in 0..n {
        let birth = format!("19{:02}0{}1{}", 30 + i % 60, 1 + i % 9, i % 10);
        rows.push(vec![
            format!("居民{i}"),
            if i % 2 == 0 { "男" } else { "女" }.into(),
            {
                let body = format!("14{:04}{birth}{:03}", i / 1000, i % 1000);
                let check = huying::domain::id_card::check_character(&body).unwrap();
                format!("{body}{check}")
            },
            format!("139{:08}", i),
            format!("{}", 1 + i % 30),
            format!("{}", 101 + i % 600),
            ["第一网格", "第二网格", "第三网格"][(i % 3) as usize].into(),
            ["独居、高龄", "空巢", "", "低保、慢病"][(i % 4) as usize].into(),
        ]);
    }
    let file = xlsx(&borrow(&rows));
    let line = time_three_runs(&app, &c, "residents", &file, n).await;
    println!("BENCH {line}");
}

/// The bench line of one sheet of `kind` (`residents`, `volunteers`): the dry run, the real run
/// and the same sheet again, each timed through the API and checked for what it created.
pub(crate) async fn time_three_runs(
    app: &TestApp,
    community: &str,
    kind: &str,
    file: &[u8],
    n: u32,
) -> String {
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let backend = if app.db_url().starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let mut line = format!(
        "| {kind} | {backend} ({build} build) | {n} | {:.1} MB |",
        file.len() as f64 / 1e6
    );
    // The test client gives up after 30 s; a bench waits.
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(600))
        .build()
        .unwrap();
    for (run, dry_run, want_created, want_unchanged) in [
        ("dry run", true, n, 0),
        ("import", false, n, 0),
        ("again", false, 0, n),
    ] {
        let t = std::time::Instant::now();
        let res = client
            .post(format!(
                "{}/api/v1/communities/{community}/imports/{kind}?dry_run={dry_run}",
                app.base
            ))
            .bearer_auth(&app.admin)
            .header("content-type", XLSX)
            .body(file.to_vec())
            .send()
            .await
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(res.status(), 200, "{run}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["created"], want_created, "{run}");
        assert_eq!(body["unchanged"], want_unchanged, "{run}");
        line.push_str(&format!(" {secs:.2} |"));
    }
    line
}

#[tokio::test]
async fn a_keyed_import_of_a_large_sheet_is_answered_once_and_replayed() {
    let app = spawn_app().await;
    let c = app.community("导入社区").await;
    // Over the 64 KiB JSON body limit, well under the 5 MB file limit.
    let mut rows = vec![HEADER.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for i in 0..1500u32 {
        let mut row = vec![String::new(); HEADER.len()];
        row[0] = format!("居民{i}");
        row[3] = format!("137{:08}", i);
        row[4] = "幸福小区东区第十二号楼".into();
        row[7] = "独居".into();
        rows.push(row);
    }
    let file = csv(&borrow(&rows));
    assert!(file.len() > 64 * 1024);
    let send = || {
        app.send(
            app.req(Method::POST, &import_path(&c, false))
                .bearer_auth(&app.admin)
                .header("content-type", "text/csv")
                .header("idempotency-key", "import-once")
                .body(file.clone()),
        )
    };
    let first = send().await.expect(200);
    assert_eq!(first.body["created"], 1500);
    let again = send().await.expect(200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(
        app.scalar("select count(*) from residents where community_id = $1", &c)
            .await,
        1500
    );
}
