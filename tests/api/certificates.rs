//! Volunteer records (志愿服务记录) and certificates over HTTP: the record of a served request
//! and of a source the record knows nothing of, issuing and numbering, public verification,
//! revocation, concurrent issues, bad input and outsiders.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::help_requests::{World, world};
use crate::helpers::{TestApp, id_card, on_test_db, spawn_with};

/// Credits `minutes` to a volunteer at `at` as a source of its own, as later capabilities will.
async fn credit(app: &TestApp, c: &str, v: &str, source: &str, minutes: i64, at: DateTime<Utc>) {
    const INSERT: &str = "insert into service_hours (id, community_id, volunteer_id, source_type,
        source_id, minutes, verified_by, note, at) values ($1, $2, $3, $4, $5, $6, null, $7, $8)";
    let (c, v) = (Uuid::parse_str(c).unwrap(), Uuid::parse_str(v).unwrap());
    on_test_db!(app, p => sqlx::query(INSERT).bind(Uuid::now_v7()).bind(c).bind(v).bind(source)
        .bind(Uuid::now_v7()).bind(minutes).bind("防汛巡查").bind(at).execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
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

fn last_year_june() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(Utc::now().year() - 1, 6, 1, 4, 0, 0)
        .unwrap()
}

async fn certificates_stored(app: &TestApp) -> i64 {
    on_test_db!(app, p => sqlx::query_scalar::<_, i64>("select count(*) from certificates")
        .fetch_one(p).await)
    .unwrap()
}

#[tokio::test]
async fn the_record_lists_every_entry_with_content_recorder_evaluation_and_totals() {
    let w = world(1, json!({})).await;
    let (v, vt) = &w.vols[0];
    let request = served(&w).await;
    credit(&w.app, &w.c, v, "mobilisation", 150, last_year_june()).await;
    // The volunteer's own resident record holds their ID number.
    let user = w
        .app
        .get(&format!("/api/v1/volunteers/{v}"), &w.app.admin)
        .await
        .expect(200);
    let card = id_card("19900307", 5);
    w.app
        .resident(
            &w.c,
            json!({"name": "志愿者小王", "user_id": user.body["user_id"], "id_card_number": card}),
        )
        .await
        .expect(201);

    let r = w
        .app
        .get(&format!("/api/v1/volunteers/{v}/record"), vt)
        .await
        .expect(200);
    let who = &r.body["volunteer"];
    assert_eq!(who["name"], "志愿者小王");
    assert_eq!(who["phone"], "139****1111");
    assert_eq!(who["id_card"], format!("140***********{}", &card[14..]));
    let entries = r.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    // Oldest first: a source the record knows nothing of appears with its note as content.
    assert_eq!(entries[0]["source_type"], "mobilisation");
    assert_eq!(entries[0]["content"], "防汛巡查");
    assert_eq!(entries[0]["minutes"], 150);
    assert_eq!(entries[0]["hours"], 2.5);
    assert!(entries[0]["evaluation"].is_null() && entries[0]["recorded_by"].is_null());
    assert_eq!(entries[1]["source_type"], "help_request");
    assert_eq!(entries[1]["source_id"], request.as_str());
    assert_eq!(entries[1]["content"], "代购");
    assert_eq!(entries[1]["evaluation"]["rating"], 5);
    assert_eq!(entries[1]["evaluation"]["comment"], "很及时");
    let served_minutes = entries[1]["minutes"].as_i64().unwrap();
    let totals = &r.body["totals"];
    assert_eq!(totals["minutes"], 150 + served_minutes);
    let years: Vec<i64> = totals["by_year"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y["year"].as_i64().unwrap())
        .collect();
    assert_eq!(years.len(), 2);
    assert_eq!(totals["by_year"][0]["minutes"], 150);
    let sources: Vec<(&str, i64)> = totals["by_source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source_type"].as_str().unwrap(),
                s["minutes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [("help_request", served_minutes), ("mobilisation", 150)]
    );
    assert_eq!(r.body["truncated"], false);

    // Staff of the community see it too.
    w.app
        .get(&format!("/api/v1/volunteers/{v}/record"), &w.dispatcher)
        .await
        .expect(200);
}

#[tokio::test]
async fn a_certificate_is_numbered_verified_by_anyone_and_revoked_once() {
    let w = world(1, json!({})).await;
    let (v, vt) = &w.vols[0];
    credit(&w.app, &w.c, v, "mobilisation", 90, last_year_june()).await;
    credit(&w.app, &w.c, v, "visit", 45, Utc::now() - Duration::days(1)).await;
    let code = w
        .app
        .get(&format!("/api/v1/communities/{}", w.c), &w.app.admin)
        .await
        .body["code"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let year = Utc::now().year() - 1;
    // The community's day (Asia/Shanghai): from 16:00 UTC it is already tomorrow there.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let path = format!("/api/v1/volunteers/{v}/certificates");

    let c1 = w
        .app
        .post(
            &path,
            &w.dispatcher,
            json!({"from": format!("{year}-01-01"), "to": format!("{year}-12-31")}),
        )
        .await
        .expect(201);
    let this_year = Utc::now().year();
    let n1 = format!("{code}-{this_year}-000001");
    assert_eq!(c1.body["number"], n1.as_str());
    assert_eq!(
        c1.header("location"),
        Some(format!("/api/v1/certificates/{n1}").as_str())
    );
    assert_eq!(c1.body["minutes"], 90);
    assert_eq!(c1.body["hours"], 1.5);
    assert_eq!(c1.body["issuer"], "电力社区");
    assert_eq!(c1.body["revoked"], false);
    // The whole of the record: both entries.
    let c2 = w
        .app
        .post(
            &path,
            &w.dispatcher,
            json!({"from": format!("{year}-01-01"), "to": today.to_string()}),
        )
        .await
        .expect(201);
    assert_eq!(c2.body["number"], format!("{code}-{this_year}-000002"));
    assert_eq!(c2.body["minutes"], 135);

    // Anyone verifies without signing in, in any letter case; the name is partly masked.
    let verify = |n: String| {
        w.app
            .send(w.app.req(Method::GET, &format!("/api/v1/certificates/{n}")))
    };
    let seen = verify(n1.to_lowercase()).await.expect(200);
    assert_eq!(seen.body["number"], n1.as_str());
    assert_eq!(seen.body["volunteer_name"], "志***王");
    assert_eq!(seen.body["minutes"], 90);
    assert_eq!(seen.body["issuer"], "电力社区");
    assert_eq!(seen.body["revoked"], false);
    assert!(seen.body.get("volunteer_id").is_none());

    // The volunteer lists their certificates, newest first.
    let mine = w.app.get(&path, vt).await.expect(200);
    assert_eq!(mine.items().len(), 2);
    assert_eq!(mine.items()[0]["number"], c2.body["number"]);

    // Revoked once, with a reason; the verification says so.
    let revoke = format!("/api/v1/certificates/{n1}/revoke");
    w.app
        .post(&revoke, &w.dispatcher, json!({}))
        .await
        .problem(422, "validation_failed");
    w.app
        .post(&revoke, vt, json!({"reason": "自己撤销"}))
        .await
        .problem(403, "forbidden");
    let r = w
        .app
        .post(&revoke, &w.dispatcher, json!({"reason": "时长登记有误"}))
        .await
        .expect(200);
    assert_eq!(r.body["revoked"], true);
    assert_eq!(r.body["revoke_reason"], "时长登记有误");
    let again = w
        .app
        .post(&revoke, &w.dispatcher, json!({"reason": "再撤一次"}))
        .await;
    again.problem(409, "already_revoked");
    // Issued and revoked once, each in the audit log.
    let audited = "select count(*) from audit_log where object_id = $1";
    assert_eq!(w.app.scalar(audited, &c1.id()).await, 2);
    let seen = verify(n1.clone()).await.expect(200);
    assert_eq!(seen.body["revoked"], true);
    assert!(seen.body["revoked_at"].is_string());
    let stored = w.app.get(&path, vt).await.expect(200);
    assert_eq!(stored.items()[1]["revoke_reason"], "时长登记有误");
}

#[tokio::test]
async fn bad_periods_and_unknown_numbers_are_refused_and_nothing_is_written() {
    let w = world(1, json!({})).await;
    let (v, vt) = &w.vols[0];
    credit(&w.app, &w.c, v, "visit", 60, last_year_june()).await;
    let path = format!("/api/v1/volunteers/{v}/certificates");
    // The community's day (Asia/Shanghai): from 16:00 UTC it is already tomorrow there.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"from": "2025-03-02", "to": "2025-03-01"}),
            "to",
            "before_from",
        ),
        (json!({"from": "2025-03-01"}), "to", "required"),
        (json!({"to": "2025-03-01"}), "from", "required"),
        (
            json!({"from": "2025-3-x", "to": "2025-03-01"}),
            "from",
            "invalid_date",
        ),
        (
            json!({"from": "1899-01-01", "to": "2025-03-01"}),
            "from",
            "invalid_date",
        ),
        (
            json!({"from": today.to_string(), "to": tomorrow.to_string()}),
            "to",
            "in_future",
        ),
    ];
    for (body, field, code) in cases {
        let r = w.app.post(&path, &w.dispatcher, body.clone()).await;
        let r = r.problem(422, "validation_failed");
        assert!(
            r.field_codes()
                .contains(&(field.to_string(), code.to_string())),
            "{body}: {:?}",
            r.field_codes()
        );
    }
    let unknown = w
        .app
        .post(
            &path,
            &w.dispatcher,
            json!({"from": "2025-01-01", "to": "2025-01-02", "extra": 1}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        unknown.field_codes(),
        [("extra".into(), "unknown_field".into())]
    );
    // A period with no hours: no certificate, and no number used up.
    w.app
        .post(
            &path,
            &w.dispatcher,
            json!({"from": today.to_string(), "to": today.to_string()}),
        )
        .await
        .problem(422, "no_hours");
    assert_eq!(certificates_stored(&w.app).await, 0);
    let first = w
        .app
        .post(
            &path,
            &w.dispatcher,
            json!({"from": "2000-01-01", "to": today.to_string()}),
        )
        .await
        .expect(201);
    assert!(first.body["number"].as_str().unwrap().ends_with("-000001"));

    // Unknown and impossible numbers: 404 with a stable code.
    for n in [
        "NOPE-2026-000001",
        "nope",
        "X-2026-999999",
        "%E7%94%B5-2026-000001",
    ] {
        w.app
            .send(w.app.req(Method::GET, &format!("/api/v1/certificates/{n}")))
            .await
            .problem(404, "not_found");
    }
    w.app
        .post(
            "/api/v1/certificates/NOPE-2026-000001/revoke",
            &w.dispatcher,
            json!({"reason": "x"}),
        )
        .await
        .problem(404, "not_found");
    let _ = vt;
}

#[tokio::test]
async fn outsiders_see_no_record_and_no_certificate_and_change_nothing() {
    let w = world(2, json!({})).await;
    let (v, vt) = &w.vols[0];
    let (_, other_vol) = &w.vols[1];
    credit(&w.app, &w.c, v, "visit", 60, last_year_june()).await;
    let path = format!("/api/v1/volunteers/{v}/certificates");
    let body = json!({"from": "2000-01-01", "to": Utc::now().date_naive().to_string()});
    let n = w
        .app
        .post(&path, &w.dispatcher, body.clone())
        .await
        .expect(201)
        .body["number"]
        .as_str()
        .unwrap()
        .to_string();
    let b = w.app.community("乙社区").await;
    let (_, admin_b) = w.app.user("community_admin", Some(&b)).await;
    let (_, doctor) = w.app.user("doctor", Some(&w.c)).await;
    let reason = json!({"reason": "x"});
    // (caller, [record, list, issue, revoke])
    let outsiders: [(&str, &str, [u16; 4]); 5] = [
        ("admin of another community", &admin_b, [404, 404, 404, 404]),
        ("another volunteer", other_vol, [404, 404, 404, 404]),
        ("a resident", &w.resident_token, [404, 404, 404, 404]),
        ("a grid worker", &w.gw, [404, 404, 404, 404]),
        ("a doctor", &doctor, [404, 404, 404, 404]),
    ];
    for (who, token, expected) in outsiders {
        let got = [
            w.app
                .get(&format!("/api/v1/volunteers/{v}/record"), token)
                .await
                .status,
            w.app.get(&path, token).await.status,
            w.app.post(&path, token, body.clone()).await.status,
            w.app
                .post(
                    &format!("/api/v1/certificates/{n}/revoke"),
                    token,
                    reason.clone(),
                )
                .await
                .status,
        ];
        assert_eq!(got, expected, "{who}");
    }
    // The volunteer themself reads but neither issues nor revokes.
    w.app
        .post(&path, vt, body.clone())
        .await
        .problem(403, "forbidden");
    // Without signing in: only the verification.
    for (m, p) in [
        (Method::GET, format!("/api/v1/volunteers/{v}/record")),
        (Method::GET, path.clone()),
    ] {
        assert_eq!(w.app.send(w.app.req(m, &p)).await.status, 401);
    }
    assert_eq!(certificates_stored(&w.app).await, 1);
    let seen = w
        .app
        .send(w.app.req(Method::GET, &format!("/api/v1/certificates/{n}")))
        .await
        .expect(200);
    assert_eq!(seen.body["revoked"], false);
}

#[tokio::test]
async fn concurrent_issues_get_every_sequence_number_once() {
    let w = world(1, json!({})).await;
    let (v, _) = &w.vols[0];
    credit(&w.app, &w.c, v, "visit", 60, last_year_june()).await;
    let path = format!("/api/v1/volunteers/{v}/certificates");
    let body = json!({"from": "2000-01-01", "to": Utc::now().date_naive().to_string()});
    let issues = (0..20).map(|_| w.app.post(&path, &w.dispatcher, body.clone()));
    let mut seqs: Vec<i64> = futures_util::future::join_all(issues)
        .await
        .into_iter()
        .map(|r| {
            let n = r.expect(201).body["number"].as_str().unwrap().to_string();
            n.rsplit('-').next().unwrap().parse().unwrap()
        })
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<i64>>());
    assert_eq!(certificates_stored(&w.app).await, 20);
}

#[tokio::test]
async fn verification_is_limited_per_address() {
    let app = spawn_with(|c| {
        c.address_rate_burst = 2;
        c.address_rate_per_minute = 1;
    })
    .await;
    let get = || app.send(app.req(Method::GET, "/api/v1/certificates/NOPE-2026-000001"));
    get().await.problem(404, "not_found");
    get().await.problem(404, "not_found");
    let limited = get().await.problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
}
