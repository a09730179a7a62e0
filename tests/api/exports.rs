//! Reports as spreadsheets: the three rates, visit coverage, a volunteer's hours and record as
//! CSV and XLSX, by `?format=` and by `Accept`, carrying the numbers of the JSON of the same
//! moment (the XLSX read back with calamine); unknown formats refused; outsiders kept out.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Utc};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::help_requests::{World, world};
use crate::helpers::{TestApp, on_test_db};
use crate::spec::check_response;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct Download {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Download {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    #[track_caller]
    fn csv(&self) -> Csv {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.bytes));
        assert_eq!(self.header("content-type"), "text/csv; charset=utf-8");
        assert!(
            self.header("content-disposition")
                .starts_with("attachment; filename=\""),
            "{}",
            self.header("content-disposition")
        );
        assert!(self.header("content-disposition").ends_with(".csv"));
        Csv::parse(&self.bytes)
    }

    #[track_caller]
    fn xlsx(&self) -> Book {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.bytes));
        assert_eq!(self.header("content-type"), XLSX);
        assert!(self.header("content-disposition").ends_with(".xlsx"));
        Book::parse(&self.bytes)
    }
}

/// Sends, checks the answer against `openapi.yaml`, and keeps the bytes.
async fn download(app: &TestApp, rb: reqwest::RequestBuilder) -> Download {
    let req = rb.build().unwrap();
    let (method, path) = (req.method().to_string(), req.url().path().to_string());
    let res = app.client.execute(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap().to_vec();
    check_response(
        &method,
        &path,
        status,
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        &bytes,
    );
    Download {
        status,
        headers,
        bytes,
    }
}

async fn get_as(app: &TestApp, path: &str, token: &str, accept: Option<&str>) -> Download {
    let mut rb = app.req(Method::GET, path).bearer_auth(token);
    if let Some(a) = accept {
        rb = rb.header("accept", a);
    }
    download(app, rb).await
}

/// A CSV's tables by name (the only table of a one-table CSV is named `""`): header and rows.
struct Csv(BTreeMap<String, Vec<Vec<String>>>);

impl Csv {
    fn parse(bytes: &[u8]) -> Self {
        let text = std::str::from_utf8(bytes).unwrap();
        let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
        assert!(!text.contains("\n\n") && text.contains("\r\n"));
        let records: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        let mut tables = BTreeMap::new();
        for section in records.split(|r| r.len() == 1 && r[0].is_empty()) {
            let (name, rows) = match section {
                [title, rest @ ..] if title.len() == 1 => (title[0].clone(), rest.to_vec()),
                all => (String::new(), all.to_vec()),
            };
            tables.insert(name, rows);
        }
        Csv(tables)
    }

    fn table(&self, name: &str) -> &Vec<Vec<String>> {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no table {name}: {:?}", self.0.keys()))
    }

    /// The rows of a table as maps from header to cell.
    fn rows(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let t = self.table(name);
        t[1..]
            .iter()
            .map(|r| t[0].iter().cloned().zip(r.iter().cloned()).collect())
            .collect()
    }

    /// A two-column table of labelled values.
    fn pairs(&self, name: &str) -> BTreeMap<String, String> {
        self.table(name)[1..]
            .iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect()
    }
}

/// An XLSX's sheets: header and rows.
struct Book(BTreeMap<String, Vec<Vec<Data>>>, Vec<String>);

impl Book {
    fn parse(bytes: &[u8]) -> Self {
        let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
        let names = book.sheet_names();
        let mut sheets = BTreeMap::new();
        for n in &names {
            let range = book.worksheet_range(n).unwrap();
            sheets.insert(n.clone(), range.rows().map(<[Data]>::to_vec).collect());
        }
        Book(sheets, names)
    }

    fn rows(&self, name: &str) -> Vec<BTreeMap<String, Data>> {
        let t = self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("no sheet {name}: {:?}", self.1));
        let header: Vec<String> = t[0].iter().map(|d| d.to_string()).collect();
        t[1..]
            .iter()
            .map(|r| header.iter().cloned().zip(r.iter().cloned()).collect())
            .collect()
    }

    fn pairs(&self, name: &str) -> BTreeMap<String, Data> {
        self.0[name][1..]
            .iter()
            .map(|r| (r[0].to_string(), r.get(1).cloned().unwrap_or(Data::Empty)))
            .collect()
    }
}

/// A JSON number or null as the CSV writes it: the shortest text of the number, or nothing.
fn csv_num(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().unwrap().to_string(),
        },
        other => panic!("not a number: {other}"),
    }
}

/// A JSON number or null as the XLSX holds it.
fn xlsx_num(v: &Value) -> Data {
    match v {
        Value::Null => Data::Empty,
        Value::Number(n) => Data::Float(n.as_f64().unwrap()),
        other => panic!("not a number: {other}"),
    }
}

/// An Excel serial day-and-time as UTC (calamine reads numbers, whatever the format).
fn excel_time(d: &Data) -> DateTime<Utc> {
    let Data::DateTime(x) = d else {
        panic!("not a date: {d:?}")
    };
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    base + Duration::milliseconds((x.as_f64() * 86_400_000.0).round() as i64)
}

fn json_time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Excel keeps times to the millisecond.
#[track_caller]
fn same_time(excel: &Data, json: &Value) {
    let (x, j) = (excel_time(excel), json_time(json));
    assert!(
        (x - j).num_microseconds().unwrap().abs() < 1000,
        "{x} ≠ {j}"
    );
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("not text: {other:?}"),
    }
}

/// A request of the world's resident served by its first volunteer and rated 5.
async fn served(w: &World) -> String {
    let id = w.place(&w.resident_token, json!({})).await.expect(201).id();
    let offer = w.offers(&id).await.remove(0);
    w.accept(&offer).await.expect(200);
    let t0 = &w.vols[0].1;
    w.act(&id, "start", t0, json!({})).await.expect(200);
    w.act(&id, "complete", t0, json!({"resolution_note": "已送到家"}))
        .await
        .expect(200);
    w.rate(
        &id,
        json!({"rating": 5, "solved": true, "comment": "很及时"}),
    )
    .await
    .expect(200);
    id
}

/// Credits `minutes` with `note` to a volunteer at `at`, as a source of its own.
async fn credit(app: &TestApp, c: &str, v: &str, minutes: i64, note: &str, at: DateTime<Utc>) {
    const INSERT: &str = "insert into service_hours (id, community_id, volunteer_id, source_type,
        source_id, minutes, verified_by, note, at) values ($1, $2, $3, $4, $5, $6, null, $7, $8)";
    let (c, v) = (Uuid::parse_str(c).unwrap(), Uuid::parse_str(v).unwrap());
    let at = chrono::SubsecRound::trunc_subsecs(at, 6);
    on_test_db!(app, p => sqlx::query(INSERT).bind(Uuid::now_v7()).bind(c).bind(v)
        .bind("mobilisation").bind(Uuid::now_v7()).bind(minutes).bind(note).bind(at)
        .execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
}

const RATE_COLUMNS: [(&str, &str); 15] = [
    ("诉求总数", "total"),
    ("已取消", "cancelled"),
    ("计入数", "counted"),
    ("待响应", "awaiting_response"),
    ("按时响应", "responded_on_time"),
    ("已解决", "resolved"),
    ("已评价", "rated"),
    ("满意", "satisfied"),
    ("响应率", "response_rate"),
    ("解决率", "resolution_rate"),
    ("满意率", "satisfaction_rate"),
    ("响应时长中位数(分钟)", "/response_minutes/median"),
    ("响应时长P90(分钟)", "/response_minutes/p90"),
    ("解决时长中位数(分钟)", "/resolution_minutes/median"),
    ("解决时长P90(分钟)", "/resolution_minutes/p90"),
];

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    match name.strip_prefix('/') {
        Some(_) => v.pointer(name).unwrap(),
        None => &v[name],
    }
}

#[tokio::test]
async fn the_three_rates_as_csv_and_xlsx_carry_the_numbers_of_the_json() {
    let w = world(2, json!({})).await;
    let app = &w.app;
    served(&w).await;
    served(&w).await;
    let cancelled = w.place(&w.resident_token, json!({})).await.expect(201).id();
    w.act(
        &cancelled,
        "cancel",
        &w.resident_token,
        json!({"reason": "不需要了"}),
    )
    .await
    .expect(200);
    w.place(&w.resident_token, json!({})).await.expect(201);

    let now = Utc::now();
    let from = (now - Duration::days(2)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let to = (now + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    for group_by in ["community", "grid"] {
        let path = format!(
            "/api/v1/communities/{}/reports/three-rates?from={from}&to={to}&group_by={group_by}",
            w.c
        );
        let json = app.get(&path, &w.dispatcher).await.expect(200).body;
        let groups = json["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 1, "{json}");
        let g = &groups[0];
        assert_eq!(g["total"], 4, "{json}");
        assert_eq!(g["cancelled"], 1);
        assert_eq!(g["satisfied"], 2);

        let csv = get_as(app, &format!("{path}&format=csv"), &w.dispatcher, None)
            .await
            .csv();
        let by_accept = get_as(app, &path, &w.dispatcher, Some("text/csv")).await;
        assert_eq!(by_accept.csv().0, csv.0, "Accept gives the same CSV");
        let xlsx = get_as(app, &path, &w.dispatcher, Some(XLSX)).await.xlsx();
        let by_format = get_as(app, &format!("{path}&format=xlsx"), &w.dispatcher, None)
            .await
            .xlsx();
        assert_eq!(by_format.0, xlsx.0);
        assert_eq!(
            xlsx.1,
            ["三率", "说明"],
            "the report first, then its period"
        );

        let rows = csv.rows("三率");
        let sheet = xlsx.rows("三率");
        assert_eq!((rows.len(), sheet.len()), (1, 1));
        let label = match group_by {
            "community" => "全社区".to_string(),
            _ => {
                assert_eq!(g["key"], w.grid.as_str());
                g["name"].as_str().expect("the grid's name").to_string()
            }
        };
        assert_eq!(rows[0]["分组"], label);
        assert_eq!(sheet[0]["分组"], Data::String(label));
        for (header, name) in RATE_COLUMNS {
            let v = field(g, name);
            assert_eq!(rows[0][header], csv_num(v), "{header} in CSV");
            assert_eq!(sheet[0][header], xlsx_num(v), "{header} in XLSX");
        }
        let about = xlsx.pairs("说明");
        same_time(&about["开始时间(UTC)"], &json["from"]);
        same_time(&about["结束时间(UTC)"], &json["to"]);
        assert_eq!(text(&about["社区ID"]), w.c);
        let about = csv.pairs("说明");
        assert_eq!(
            about["开始时间(UTC)"],
            json_time(&json["from"])
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        );
    }
}

#[tokio::test]
async fn the_export_is_named_for_the_report_and_the_day_and_json_stays_the_default() {
    let w = world(1, json!({})).await;
    let app = &w.app;
    let path = format!("/api/v1/communities/{}/reports/three-rates", w.c);
    let x = get_as(app, &format!("{path}?format=xlsx"), &w.dispatcher, None).await;
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let d = x.header("content-disposition");
    assert!(
        d.starts_with(&format!(
            "attachment; filename=\"three-rates-{today}.xlsx\"; filename*=UTF-8''"
        )),
        "{d}"
    );
    let encoded = d.split("filename*=UTF-8''").nth(1).unwrap();
    let decoded = url::form_urlencoded::parse(format!("x={encoded}").as_bytes())
        .next()
        .unwrap()
        .1
        .to_string();
    assert_eq!(decoded, format!("三率报表-{today}.xlsx"));
    assert_eq!(x.header("vary"), "Accept");
    // JSON when nothing says otherwise, when asked, and when `Accept` names nothing we make.
    for (query, accept) in [
        ("", None),
        ("?format=json", Some("text/csv")),
        ("", Some("application/pdf")),
        ("", Some("text/html,application/xhtml+xml,*/*;q=0.8")),
        ("", Some("text/csv;q=0.5, application/json")),
    ] {
        let r = get_as(app, &format!("{path}{query}"), &w.dispatcher, accept).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-type"),
            "application/json",
            "{query} {accept:?}"
        );
        assert!(r.json()["groups"].is_array());
        assert_eq!(r.header("content-disposition"), "");
    }
    // HEAD answers as GET would.
    let head = download(
        app,
        app.req(Method::HEAD, &format!("{path}?format=csv"))
            .bearer_auth(&w.dispatcher),
    )
    .await;
    assert_eq!(head.status, 200);
    assert!(head.bytes.is_empty());
    assert_eq!(head.header("content-type"), "text/csv; charset=utf-8");
}

#[tokio::test]
async fn the_volunteer_record_and_hours_export_every_number_with_the_identity_masked() {
    let w = world(1, json!({})).await;
    let app = &w.app;
    let (v, vt) = &w.vols[0];
    served(&w).await;
    let earlier = Utc::now() - Duration::days(400);
    credit(app, &w.c, v, 150, "=HYPERLINK(\"http://x\")", earlier).await;
    credit(app, &w.c, v, 45, "防汛巡查", Utc::now() - Duration::days(3)).await;

    let path = format!("/api/v1/volunteers/{v}/record");
    let json = app.get(&path, vt).await.expect(200).body;
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{json}");
    let csv_bytes = get_as(app, &format!("{path}?format=csv"), vt, None).await;
    let csv = csv_bytes.csv();
    let xlsx = get_as(app, &path, &app.admin, Some(XLSX)).await.xlsx();
    assert_eq!(xlsx.1, ["服务记录", "志愿者", "按年度", "按来源"]);

    // One row per entry, oldest first as in the JSON.
    let rows = csv.rows("服务记录");
    let sheet = xlsx.rows("服务记录");
    assert_eq!((rows.len(), sheet.len()), (3, 3));
    for ((e, row), cells) in entries.iter().zip(&rows).zip(&sheet) {
        assert_eq!(row["记录ID"], e["id"].as_str().unwrap());
        assert_eq!(row["服务日期"], e["date"].as_str().unwrap());
        assert_eq!(row["时长(分钟)"], csv_num(&e["minutes"]));
        assert_eq!(row["时长(小时)"], csv_num(&e["hours"]));
        assert_eq!(row["评价(分)"], csv_num(&e["evaluation"]["rating"]));
        assert_eq!(text(&cells["记录ID"]), e["id"].as_str().unwrap());
        assert_eq!(cells["时长(分钟)"], xlsx_num(&e["minutes"]));
        assert_eq!(cells["时长(小时)"], xlsx_num(&e["hours"]));
        assert_eq!(
            excel_time(&cells["服务日期"]).date_naive().to_string(),
            e["date"].as_str().unwrap()
        );
        same_time(&cells["时间(UTC)"], &e["at"]);
        assert_eq!(text(&cells["服务内容"]), e["content"].as_str().unwrap());
        assert_eq!(
            text(&cells["评价内容"]),
            e["evaluation"]["comment"].as_str().unwrap_or("")
        );
    }
    // A note a spreadsheet would run is text: quoted in CSV, a string cell in XLSX.
    assert_eq!(rows[0]["备注"], "'=HYPERLINK(\"http://x\")");
    assert_eq!(text(&sheet[0]["备注"]), "=HYPERLINK(\"http://x\")");

    // The identity as masked in the JSON; the full phone number appears nowhere.
    let who = csv.pairs("志愿者");
    assert_eq!(who["电话"], json["volunteer"]["phone"].as_str().unwrap());
    assert!(who["电话"].contains('*'), "{who:?}");
    assert!(!String::from_utf8_lossy(&csv_bytes.bytes).contains("13900001111"));
    let who = xlsx.pairs("志愿者");
    assert_eq!(
        text(&who["电话"]),
        json["volunteer"]["phone"].as_str().unwrap()
    );
    assert_eq!(who["累计时长(分钟)"], xlsx_num(&json["totals"]["minutes"]));
    assert_eq!(who["累计时长(小时)"], xlsx_num(&json["totals"]["hours"]));

    // Totals by year and by source.
    for (sheet, key, list) in [
        ("按年度", "年度", "by_year"),
        ("按来源", "来源类型", "by_source"),
    ] {
        let want = json["totals"][list].as_array().unwrap();
        let rows = csv.rows(sheet);
        let cells = xlsx.rows(sheet);
        assert_eq!(
            (rows.len(), cells.len()),
            (want.len(), want.len()),
            "{sheet}"
        );
        for ((t, row), cell) in want.iter().zip(&rows).zip(&cells) {
            let k = if list == "by_year" {
                t["year"].to_string()
            } else {
                t["source_type"].as_str().unwrap().to_string()
            };
            assert_eq!(row[key], k);
            assert_eq!(row["时长(分钟)"], csv_num(&t["minutes"]));
            assert_eq!(cell["时长(分钟)"], xlsx_num(&t["minutes"]));
            assert_eq!(cell["时长(小时)"], xlsx_num(&t["hours"]));
        }
    }

    // The hours: the totals and the page the JSON holds.
    let path = format!("/api/v1/volunteers/{v}/hours?limit=2");
    let json = app.get(&path, vt).await.expect(200).body;
    let csv = get_as(app, &format!("{path}&format=csv"), vt, None)
        .await
        .csv();
    let xlsx = get_as(app, &format!("{path}&format=xlsx"), vt, None)
        .await
        .xlsx();
    let sum = xlsx.pairs("汇总");
    assert_eq!(sum["累计时长(分钟)"], xlsx_num(&json["total_minutes"]));
    assert_eq!(sum["累计时长(小时)"], xlsx_num(&json["total_hours"]));
    assert_eq!(sum["本月时长(分钟)"], xlsx_num(&json["this_month_minutes"]));
    assert_eq!(
        text(&sum["下一页游标"]),
        json["next_cursor"].as_str().unwrap()
    );
    let sum = csv.pairs("汇总");
    assert_eq!(sum["累计时长(分钟)"], csv_num(&json["total_minutes"]));
    assert_eq!(sum["本月时长(分钟)"], csv_num(&json["this_month_minutes"]));
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let rows = csv.rows("明细");
    let cells = xlsx.rows("明细");
    assert_eq!((rows.len(), cells.len()), (2, 2));
    for ((e, row), cell) in entries.iter().zip(&rows).zip(&cells) {
        assert_eq!(row["记录ID"], e["id"].as_str().unwrap());
        assert_eq!(row["时长(分钟)"], csv_num(&e["minutes"]));
        assert_eq!(row["时长(小时)"], csv_num(&e["hours"]));
        assert_eq!(cell["时长(分钟)"], xlsx_num(&e["minutes"]));
        assert_eq!(cell["时长(小时)"], xlsx_num(&e["hours"]));
        same_time(&cell["时间(UTC)"], &e["at"]);
    }
}

#[tokio::test]
async fn visit_coverage_as_csv_and_xlsx_carries_the_numbers_of_the_json() {
    let w = crate::visits::v_world().await;
    let app = &w.app;
    let (_sun, _) = w.sun_with_plan().await;
    let mine = app
        .get("/api/v1/visits?limit=200&mine=true", &w.gw)
        .await
        .expect(200)
        .items();
    let first = mine[0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/visits/{first}/complete"),
        &w.gw,
        json!({"contact_kind": "home_visit", "duration_minutes": 30, "condition": "well",
               "observations": "精神不错"}),
    )
    .await
    .expect(200);
    let now = Utc::now();
    let from = (now - Duration::days(40)).format("%Y-%m").to_string();
    let to = (now + Duration::days(20)).format("%Y-%m").to_string();
    let path = format!(
        "/api/v1/communities/{}/reports/visit-coverage?from={from}&to={to}",
        w.c
    );
    let json = app.get(&path, &w.dispatcher).await.expect(200).body;
    assert!(json["community"]["due"].as_i64().unwrap() >= 1, "{json}");
    assert!(
        json["community"]["on_time"].as_i64().unwrap() >= 1,
        "{json}"
    );
    let csv = get_as(app, &path, &w.dispatcher, Some("text/csv"))
        .await
        .csv();
    let xlsx = get_as(app, &format!("{path}&format=xlsx"), &w.dispatcher, None)
        .await
        .xlsx();
    assert_eq!(xlsx.1, ["按网格", "按人员", "漏访居民", "说明"]);
    let tally = [
        ("应访", "due"),
        ("按时完成", "on_time"),
        ("逾期完成", "late"),
        ("漏访", "missed"),
        ("未完成", "open"),
        ("月探访率", "rate"),
    ];
    let grids = json["grids"].as_array().unwrap();
    let rows = csv.rows("按网格");
    let cells = xlsx.rows("按网格");
    assert_eq!(rows.len(), grids.len() + 1, "the community, then each grid");
    assert_eq!(rows[0]["网格"], "全社区");
    assert_eq!(rows[1]["网格ID"], w.grid);
    let wanted = std::iter::once(&json["community"]).chain(grids);
    for ((t, row), cell) in wanted.zip(&rows).zip(&cells) {
        for (header, name) in tally {
            assert_eq!(row[header], csv_num(&t[name]), "{header}");
            assert_eq!(cell[header], xlsx_num(&t[name]), "{header}");
        }
    }
    let people = json["assignees"].as_array().unwrap();
    assert!(!people.is_empty());
    let rows = csv.rows("按人员");
    let cells = xlsx.rows("按人员");
    assert_eq!((rows.len(), cells.len()), (people.len(), people.len()));
    for ((a, row), cell) in people.iter().zip(&rows).zip(&cells) {
        assert_eq!(row["用户ID"], a["user_id"].as_str().unwrap());
        for (header, name) in tally
            .into_iter()
            .chain([("本人完成", "done_by_them"), ("七日内待访", "upcoming")])
        {
            assert_eq!(row[header], csv_num(&a[name]), "{header}");
            assert_eq!(cell[header], xlsx_num(&a[name]), "{header}");
        }
    }
    let about = xlsx.pairs("说明");
    assert_eq!(text(&about["起始月份"]), from);
    assert_eq!(text(&about["结束月份"]), to);
    assert_eq!(
        about["漏访居民总数"],
        xlsx_num(&json["missed_residents_total"])
    );
    // Each answer is as of its own moment.
    let as_of = excel_time(&about["统计时间(UTC)"]) - json_time(&json["as_of"]);
    assert!(as_of.num_seconds().abs() < 60, "{as_of}");
}

#[tokio::test]
async fn unknown_formats_are_406_and_outsiders_are_kept_out_of_exports_too() {
    let w = world(2, json!({})).await;
    let app = &w.app;
    served(&w).await;
    let (v, vt) = &w.vols[0];
    let (_, other_vt) = &w.vols[1];
    let c = &w.c;
    let reports = [
        format!("/api/v1/communities/{c}/reports/three-rates"),
        format!("/api/v1/communities/{c}/reports/visit-coverage"),
        format!("/api/v1/volunteers/{v}/hours"),
        format!("/api/v1/volunteers/{v}/record"),
    ];
    for path in &reports {
        for bad in ["pdf", "", "CSV", "csv&format=xlsx", "x%00"] {
            let r = app.get(&format!("{path}?format={bad}"), &app.admin).await;
            let want = if bad == "x%00" {
                (400, "invalid_query")
            } else {
                (406, "unsupported_format")
            };
            assert_eq!(
                (r.status, r.code()),
                want,
                "{path}?format={bad}: {}",
                r.body
            );
        }
        // Nothing is told before the caller is known.
        let anonymous = download(app, app.req(Method::GET, &format!("{path}?format=xlsx"))).await;
        assert_eq!(anonymous.status, 401);
    }

    let b = app.community("乙社区").await;
    let (_, other_admin) = app.user("community_admin", Some(&b)).await;
    for path in &reports {
        for (format, accept) in [("?format=xlsx", None), ("", Some("text/csv"))] {
            let r = get_as(app, &format!("{path}{format}"), &other_admin, accept).await;
            assert_eq!(r.status, 404, "another community's admin: {path}{format}");
            assert_eq!(r.json()["code"], "not_found");
        }
    }
    // Another volunteer reaches for this one's hours and record; a volunteer for the reports.
    for path in &reports[2..] {
        let r = get_as(app, &format!("{path}?format=csv"), other_vt, None).await;
        assert_eq!(r.status, 404, "another volunteer: {path}");
        get_as(app, &format!("{path}?format=csv"), vt, None)
            .await
            .csv();
    }
    for path in &reports[..2] {
        let r = get_as(app, &format!("{path}?format=xlsx"), vt, None).await;
        assert_eq!(r.status, 403, "a volunteer: {path}");
        assert_eq!(r.json()["code"], "forbidden");
    }
    // The report's own refusals come first in any format.
    let r = get_as(
        app,
        &format!("/api/v1/communities/{c}/reports/three-rates?group_by=x&format=csv"),
        &w.dispatcher,
        None,
    )
    .await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn the_communitys_hours_by_volunteer_as_json_csv_and_xlsx() {
    let w = world(2, json!({})).await;
    let app = &w.app;
    let (a, b) = (&w.vols[0].0, &w.vols[1].0);
    let now = Utc::now();
    credit(app, &w.c, a, 90, "防汛巡查", now - Duration::hours(2)).await;
    credit(app, &w.c, a, 30, "敬老院", now - Duration::hours(1)).await;
    credit(app, &w.c, b, 200, "防汛巡查", now - Duration::hours(3)).await;
    // Outside the period, and in another community: not counted.
    credit(app, &w.c, b, 999, "去年", now - Duration::days(400)).await;
    let other = app.community("乙社区").await;
    let (ov, _) = app.volunteer_account(&other, json!({})).await;
    credit(app, &other, &ov, 77, "别处", now - Duration::hours(1)).await;

    let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let from = today - Duration::days(7);
    let path = format!(
        "/api/v1/communities/{}/reports/volunteer-hours?from={from}&to={today}",
        w.c
    );
    let json = app.get(&path, &w.dispatcher).await.expect(200).body;
    assert_eq!(json["total_minutes"], 320, "{json}");
    let vols = json["volunteers"].as_array().unwrap();
    assert_eq!(vols.len(), 2);
    assert_eq!(vols[0]["volunteer_id"], b.as_str(), "most first");
    assert_eq!(
        (&vols[0]["minutes"], &vols[0]["entries"]),
        (&json!(200), &json!(1))
    );
    assert_eq!(
        (&vols[1]["minutes"], &vols[1]["entries"]),
        (&json!(120), &json!(2))
    );
    assert_eq!(vols[1]["hours"], 2.0);

    let csv = get_as(app, &format!("{path}&format=csv"), &w.dispatcher, None)
        .await
        .csv();
    let xlsx = get_as(app, &path, &w.dispatcher, Some(XLSX)).await.xlsx();
    assert_eq!(xlsx.1, ["志愿服务时长", "说明"]);
    let rows = csv.rows("志愿服务时长");
    let cells = xlsx.rows("志愿服务时长");
    assert_eq!((rows.len(), cells.len()), (2, 2));
    for ((v, row), cell) in vols.iter().zip(&rows).zip(&cells) {
        assert_eq!(row["志愿者ID"], v["volunteer_id"].as_str().unwrap());
        assert_eq!(row["姓名"], v["name"].as_str().unwrap());
        for (header, name) in [
            ("时长(分钟)", "minutes"),
            ("时长(小时)", "hours"),
            ("记录条数", "entries"),
        ] {
            assert_eq!(row[header], csv_num(&v[name]), "{header}");
            assert_eq!(cell[header], xlsx_num(&v[name]), "{header}");
        }
    }
    let about = xlsx.pairs("说明");
    assert_eq!(about["合计时长(分钟)"], xlsx_num(&json["total_minutes"]));
    assert_eq!(about["合计时长(小时)"], xlsx_num(&json["total_hours"]));
    assert_eq!(
        excel_time(&about["起始日期"]).date_naive(),
        from,
        "a date cell"
    );
    assert_eq!(csv.pairs("说明")["结束日期"], today.to_string());

    // Bad periods, and who may read it.
    let base = format!("/api/v1/communities/{}/reports/volunteer-hours", w.c);
    for (q, field, code) in [
        ("from=2026-13-01", "from", "invalid_date"),
        ("to=yesterday", "to", "invalid_date"),
        ("from=2026-02-01&to=2026-01-31", "to", "before_start"),
        ("from=2020-01-01&to=2026-01-01", "to", "too_long"),
    ] {
        let r = app
            .get(&format!("{base}?{q}&format=xlsx"), &w.dispatcher)
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.field_codes(), [(field.into(), code.into())], "{q}");
    }
    app.get(&format!("{base}?format=ods"), &w.dispatcher)
        .await
        .problem(406, "unsupported_format");
    let (_, other_admin) = app.user("community_admin", Some(&other)).await;
    app.get(&format!("{base}?format=csv"), &other_admin)
        .await
        .problem(404, "not_found");
    app.get(&format!("{base}?format=csv"), &w.vols[0].1)
        .await
        .problem(403, "forbidden");
    app.get(&format!("{base}?format=csv"), &w.gw)
        .await
        .problem(403, "forbidden");
    // By default this month so far.
    let r = app.get(&base, &app.admin).await.expect(200).body;
    assert_eq!(r["to"], today.to_string());
    assert_eq!(r["from"], today.with_day(1).unwrap().to_string());
}

#[tokio::test]
async fn the_mediation_counts_as_csv_and_xlsx_carry_the_numbers_of_the_json() {
    let w = crate::mediation::world().await;
    let app = &w.app;
    let (open, closed) = (w.open().await, w.open().await);
    app.post(
        &format!("/api/v1/mediations/{closed}/outcome"),
        &app.admin,
        json!({"outcome": "no_agreement"}),
    )
    .await
    .expect(200);
    let path = format!("/api/v1/communities/{}/reports/mediations", w.c);
    let json = app.get(&path, &app.admin).await.expect(200).body;
    assert_eq!(json["by_outcome"]["total"], 2, "{json}");
    let csv = get_as(app, &format!("{path}?format=csv"), &app.admin, None)
        .await
        .csv();
    let xlsx = get_as(app, &path, &app.admin, Some(XLSX)).await.xlsx();
    assert_eq!(xlsx.1, ["调解统计", "说明"]);
    let rows = csv.rows("调解统计");
    let cells = xlsx.rows("调解统计");
    let kinds = json["by_kind"].as_array().unwrap();
    assert_eq!(
        (rows.len(), cells.len()),
        (kinds.len() + 1, kinds.len() + 1)
    );
    let columns = [
        ("调解中", "open"),
        ("调解成功", "agreement"),
        ("调解不成", "no_agreement"),
        ("转交处理", "referred"),
        ("合计", "total"),
    ];
    for ((k, row), cell) in kinds.iter().zip(&rows).zip(&cells) {
        assert_eq!(row["类型代码"], k["kind"].as_str().unwrap());
        for (header, name) in columns {
            assert_eq!(row[header], csv_num(&k[name]), "{header}");
            assert_eq!(cell[header], xlsx_num(&k[name]), "{header}");
        }
    }
    let (row, cell) = (&rows[kinds.len()], &cells[kinds.len()]);
    assert_eq!(row["纠纷类型"], "合计");
    for (header, name) in columns {
        assert_eq!(row[header], csv_num(&json["by_outcome"][name]), "{header}");
        assert_eq!(
            cell[header],
            xlsx_num(&json["by_outcome"][name]),
            "{header}"
        );
    }
    let neighbour = rows.iter().find(|r| r["类型代码"] == "neighbour").unwrap();
    assert_eq!(
        (&neighbour["调解中"][..], &neighbour["调解不成"][..]),
        ("1", "1")
    );
    // The export is the report's: a party, the mediator and another community see no counts.
    let _ = open;
    for token in [&w.party_token, &w.mediator_token] {
        assert_eq!(
            get_as(app, &format!("{path}?format=xlsx"), token, None)
                .await
                .status,
            403
        );
    }
    let other = app.community("乙社区").await;
    let (_, outsider) = app.user("community_admin", Some(&other)).await;
    assert_eq!(
        get_as(app, &format!("{path}?format=csv"), &outsider, None)
            .await
            .status,
        404
    );
    assert_eq!(
        get_as(app, &format!("{path}?format=pdf"), &app.admin, None)
            .await
            .status,
        406
    );
}
