//! Webhook throughput: how many signed deliveries a second one release server hands to local
//! receivers, end to end (the relay fans events out, the worker signs, sends and records each
//! attempt), with one endpoint and with eight; on PostgreSQL by default (`BENCH_BACKENDS`).
//!
//! ```sh
//! cargo bench --bench webhooks
//! BENCH_EVENTS=2000 BENCH_BACKENDS="sqlite postgres" cargo bench --bench webhooks
//! ```
//!
//! A community with a resident and no volunteers gets one real help request over HTTP; its
//! `help_request.placed` outbox row is then copied `BENCH_EVENTS` times (new ids, pending) in
//! one transaction, and the clock starts. The receivers — an actix-web server in this process, on
//! 127.0.0.1 — check every `webhook-signature` with the secret the API showed at creation, the way
//! a third party would (HMAC-SHA256 of `id.timestamp.body`), and count distinct `webhook-id`s.
//! The figure: events × endpoints delivered, divided by the time from the insert to the last
//! arrival; and the time until every delivery is recorded `succeeded` in the database. The
//! baseline beside it is `bench/webhooks.sh`: pgbench running the worker's own statements.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;

use common::{Api, Server, setting};
use huying::store::Db;

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    requests: u64,
    bad_signatures: u64,
    last: Option<Instant>,
}

/// Receivers on one port, at `/hook/{n}`; `keys[n]` checks endpoint n's signatures.
#[derive(Clone)]
struct Receivers {
    keys: Arc<Mutex<Vec<Vec<u8>>>>,
    seen: Arc<Mutex<Seen>>,
}

async fn receive(
    req: HttpRequest,
    path: web::Path<usize>,
    body: web::Bytes,
    r: web::Data<Receivers>,
) -> HttpResponse {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (id, ts, sig) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    );
    let key = r
        .keys
        .lock()
        .unwrap()
        .get(*path)
        .cloned()
        .unwrap_or_default();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let good = sig.split(' ').any(|s| s == expected);
    let mut seen = r.seen.lock().unwrap();
    seen.requests += 1;
    if !good {
        seen.bad_signatures += 1;
        return HttpResponse::Unauthorized().finish();
    }
    seen.ids.insert(id);
    seen.last = Some(Instant::now());
    HttpResponse::NoContent().finish()
}

fn start_receivers() -> (String, Receivers) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let r = Receivers {
        keys: Arc::default(),
        seen: Arc::default(),
    };
    let shared = web::Data::new(r.clone());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(shared.clone())
                    .route("/hook/{n}", web::post().to(receive))
            })
            .workers(1)
            .backlog(4096)
            .max_connections(10_000)
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    (base, r)
}

const CREATED_EVENT: &str = "select community_id, topic, aggregate_type, aggregate_id, payload
    from outbox where topic = 'help_request.placed' limit 1";
const SUCCEEDED: &str = "select count(*) from webhook_deliveries where status = 'succeeded'";

type Event = (Uuid, String, String, Uuid, serde_json::Value);

/// Copies the help request's `created` event `times` times, pending, in one transaction.
async fn copy_event(db: &Db, times: usize) {
    let now = huying::store::now();
    let ids: Vec<Uuid> = (0..times).map(|_| Uuid::now_v7()).collect();
    macro_rules! copy {
        ($pool:expr, $db:ty) => {{
            let e: Event = sqlx::query_as(CREATED_EVENT).fetch_one($pool).await.unwrap();
            let mut tx = $pool.begin().await.unwrap();
            for chunk in ids.chunks(1000) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "insert into outbox (id, community_id, topic, aggregate_type, aggregate_id, payload, created_at, delivered_at) ",
                );
                q.push_values(chunk, |mut b, id| {
                    b.push_bind(*id)
                        .push_bind(e.0)
                        .push_bind(e.1.clone())
                        .push_bind(e.2.clone())
                        .push_bind(e.3)
                        .push_bind(e.4.clone())
                        .push_bind(now)
                        .push_bind(None::<chrono::DateTime<chrono::Utc>>);
                });
                q.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }};
    }
    match db {
        Db::Sqlite(p) => copy!(p, sqlx::Sqlite),
        Db::Postgres(p) => copy!(p, sqlx::Postgres),
    }
}

async fn succeeded(db: &Db) -> i64 {
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(SUCCEEDED).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(SUCCEEDED).fetch_one(p).await.unwrap(),
    }
}

/// One run: `endpoints` webhooks following `help_request.*`, `events` events.
async fn run(name: &str, url: &str, endpoints: usize, events: usize) -> String {
    let dir = std::env::temp_dir().join(format!("huying-bench-webhooks-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start(
        url,
        &dir,
        &[
            ("HUYING_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("HUYING_WEBHOOK_ALLOW_HTTP", "true"),
        ],
    );
    let (base, receivers) = start_receivers();
    let api = Api::admin(&server.base).await;
    let c = api
        .create("/communities", json!({"code": format!("w{}", &Uuid::now_v7().simple().to_string()[24..]), "name": "压测社区"}))
        .await;
    let service = api
        .create(
            &format!("/communities/{c}/service-types"),
            json!({"code": "errands", "name": "代购", "required_skills": ["errands"]}),
        )
        .await;
    let resident = api
        .create(
            &format!("/communities/{c}/residents"),
            json!({"name": "孙大娘", "address": "电力小区3号楼2单元501",
                   "location": {"lat": 36.0, "lng": 113.0}}),
        )
        .await;
    for n in 0..endpoints {
        let w = api
            .post(
                &format!("/communities/{c}/webhooks"),
                json!({"url": format!("{base}/hook/{n}"), "event_kinds": ["help_request.*"]}),
            )
            .await;
        let secret = w["secret"].as_str().unwrap();
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        receivers.keys.lock().unwrap().push(key);
    }
    api.post(
        "/help-requests",
        json!({"resident_id": resident, "service_type_id": service, "description": "帮忙买药"}),
    )
    .await;
    // The request's own events go out first.
    let warm = Instant::now();
    while receivers.seen.lock().unwrap().ids.is_empty() && warm.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = receivers.seen.lock().unwrap().ids.len();
    let db = Db::connect(url, 2, Duration::from_secs(30)).await.unwrap();
    let succeeded_before = succeeded(&db).await;

    let want = before + endpoints * events;
    let t0 = Instant::now();
    copy_event(&db, events).await;
    let deadline = t0 + Duration::from_secs(600);
    loop {
        if receivers.seen.lock().unwrap().ids.len() >= want || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (arrived, last, requests, bad) = {
        let s = receivers.seen.lock().unwrap();
        (
            s.ids.len() - before,
            s.last.unwrap_or(t0),
            s.requests,
            s.bad_signatures,
        )
    };
    let to_last = last.saturating_duration_since(t0).as_secs_f64();
    let want_recorded = succeeded_before + (endpoints * events) as i64;
    while succeeded(&db).await < want_recorded && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let recorded = t0.elapsed().as_secs_f64();
    db.close().await;
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let rate = arrived as f64 / to_last;
    println!(
        "== {name}, {endpoints} endpoint(s): {arrived}/{} deliveries arrived, signatures checked \
         ({bad} bad, {requests} requests in all), the last after {to_last:.2} s: {rate:.0}/s; \
         all recorded succeeded after {recorded:.2} s",
        endpoints * events
    );
    format!(
        "| {name} | {endpoints} | {events} | {arrived} | {bad} | {to_last:.2} | {rate:.0} | {recorded:.2} | {:.0} |",
        arrived as f64 / recorded
    )
}

fn main() {
    let events: usize = setting("BENCH_EVENTS", "5000").parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The same number of deliveries with one endpoint and with eight.
        let mut rows = Vec::new();
        for endpoints in [1, 8] {
            rows.extend(
                common::on_each_backend("postgres", "webhooks", |name, url| async move {
                    run(name, &url, endpoints, events / endpoints).await
                })
                .await,
            );
        }
        println!();
        println!(
            "| backend | endpoints | events | deliveries arrived | bad signatures | insert → last arrival (s) | deliveries/s | insert → all recorded (s) | recorded/s |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in rows {
            println!("{r}");
        }
    });
}
