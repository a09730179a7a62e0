//! Live streams at scale: one release server holding `BENCH_STREAMS` (10,000) streams of as many
//! users; its resident memory per stream, and the time from an offer's hand-over by the relay to
//! its arrival on the volunteer's stream while all are open (p50/p99), on SQLite and PostgreSQL.
//!
//! ```sh
//! cargo bench --bench streams
//! BENCH_STREAMS=2000 BENCH_OFFERS=100 BENCH_BACKENDS=sqlite cargo bench --bench streams
//! ```
//!
//! The server is the release binary Cargo builds beside this bench, started with `serve` on a
//! fresh database (a SQLite file; a PostgreSQL database on `BENCH_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432`, dropped afterwards) with the relay at its default 200 ms.
//! The users are inserted in bulk and their access tokens signed here with the server's JWT
//! secret: 10,000 logins would measure Argon2, not streams. Each stream is a raw HTTP/1.1
//! connection. Both processes need a file descriptor per stream: this bench raises its soft
//! limit to the hard one (`ulimit -Hn`), which the server inherits.
//!
//! Figures: the server's `VmRSS` before and after the streams open (and `VmHWM`), per stream;
//! the server's CPU while they idle (heartbeats every 15 s); then `BENCH_OFFERS` help requests
//! placed one by one over HTTP, each offered to one of 50 volunteers among the stream holders:
//! for each offer, the time from the hand-over (the notification id's UUIDv7 time, taken just
//! before the relay's hand-over transaction) to the arrival of its event, and from the answer to
//! the `POST` to the arrival (which adds the relay's interval); and how long the server takes
//! to stop (SIGTERM) with every stream open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::QueryBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;

use common::{Api, SECRET, Server, percentile, setting};
use huying::auth::JwtKeys;
use huying::store::Db;

const VOLUNTEERS: usize = 50;
const OPENING_AT_ONCE: usize = 64;

/// Raises the soft limit on open files to the hard one; the new limit.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}

/// Inserts `n` active users straight into the database; their ids.
async fn seed_users(url: &str, n: usize) -> Vec<Uuid> {
    let db = Db::connect(url, 2, Duration::from_secs(30)).await.unwrap();
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let now = Utc::now();
    macro_rules! insert {
        ($pool:expr, $db:ty) => {
            for chunk in ids.chunks(1000) {
                let mut q = QueryBuilder::<$db>::new(
                    "insert into users (id, username, phone, display_name, password_hash, active, version, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut b, id| {
                    b.push_bind(*id)
                        .push_bind(format!("stream-{}", id.simple()))
                        .push_bind(None::<String>)
                        .push_bind("志愿者")
                        .push_bind("x")
                        .push_bind(true)
                        .push_bind(1i64)
                        .push_bind(now)
                        .push_bind(now);
                });
                q.build().execute($pool).await.unwrap();
            }
        };
    }
    match &db {
        Db::Sqlite(p) => insert!(p, sqlx::Sqlite),
        Db::Postgres(p) => insert!(p, sqlx::Postgres),
    }
    db.close().await;
    ids
}

/// A community with a resident, an errands service and `VOLUNTEERS` volunteers (the first of
/// `users`); (resident, service type).
async fn world(api: &Api, users: &[Uuid]) -> (String, String) {
    let code = format!("s{}", &Uuid::now_v7().simple().to_string()[20..]);
    let c = api
        .post("/communities", json!({"code": code, "name": "压测社区"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let service = api
        .post(
            &format!("/communities/{c}/service-types"),
            json!({"code": "errands", "name": "代购", "required_skills": ["errands"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resident = api
        .post(
            &format!("/communities/{c}/residents"),
            json!({"name": "孙大娘", "address": "电力小区3号楼2单元501",
                   "location": {"lat": 36.0, "lng": 113.0}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, user) in users.iter().take(VOLUNTEERS).enumerate() {
        api.post(
            &format!("/communities/{c}/volunteers"),
            json!({"user_id": user, "name": format!("志愿者{i}"), "skills": ["errands"],
                   "availability": [], "max_concurrent": 5,
                   "location": {"lat": 36.0 + 0.001 * i as f64, "lng": 113.0}}),
        )
        .await;
    }
    (resident, service)
}

/// What a stream saw: the offer's request, and the milliseconds from hand-over to arrival.
struct Arrival {
    request: String,
    at: Instant,
    handover_ms: i64,
}

fn millis_of(id: Uuid) -> i64 {
    let b = id.as_bytes();
    i64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
}

/// Opens a stream; once its first bytes (`retry:`) have come, reads it until it ends, reporting
/// every notification.
async fn open(
    port: u16,
    token: String,
    seen: tokio::sync::mpsc::UnboundedSender<Arrival>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!(
        "GET /api/v1/me/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed before the stream began"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(7).any(|w| w == b"retry: ") {
            break;
        }
    }
    if !buf.starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other(
            String::from_utf8_lossy(&buf).into_owned(),
        ));
    }
    buf.clear();
    Ok(tokio::spawn(async move {
        let mut chunk = [0u8; 2048];
        loop {
            let n = match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let at = Instant::now();
            let arrived_ms = Utc::now().timestamp_millis();
            buf.extend_from_slice(&chunk[..n]);
            // Events are whole lines; chunked encoding's size lines never start with "data: ".
            while let Some(end) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=end).collect();
                let Some(data) = line.strip_prefix(b"data: ") else {
                    continue;
                };
                let Ok(n) = serde_json::from_slice::<Value>(data) else {
                    continue;
                };
                let (Some(id), Some(request)) = (
                    n["id"].as_str().and_then(|i| i.parse::<Uuid>().ok()),
                    n["object"]["id"].as_str(),
                ) else {
                    continue;
                };
                if n["kind"] == "help_request.offered" {
                    let _ = seen.send(Arrival {
                        request: request.to_string(),
                        at,
                        handover_ms: arrived_ms - millis_of(id),
                    });
                }
            }
        }
    }))
}

async fn run_backend(name: &str, url: &str, streams: usize, offers: usize) -> String {
    let dir = std::env::temp_dir().join(format!("huying-bench-streams-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start(url, &dir, &[]);
    let users = seed_users(url, streams).await;
    let api = Api::admin(&server.base).await;
    let (resident, service) = world(&api, &users).await;
    let keys = JwtKeys::new(
        SECRET.as_bytes(),
        "huying",
        "huying-api",
        Duration::from_secs(7200),
    );
    // The login's Argon2 buffers are unmapped after 2 s idle.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let rss_before = server.status_kb("VmRSS:");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let t_open = Instant::now();
    let port = server.port;
    let opened: Vec<_> = futures_util::stream::iter(users.iter().map(|u| {
        let (token, tx) = (keys.issue(*u), tx.clone());
        async move { open(port, token, tx).await }
    }))
    .buffer_unordered(OPENING_AT_ONCE)
    .collect()
    .await;
    let open_secs = t_open.elapsed().as_secs_f64();
    let failed: Vec<String> = opened
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    let readers: Vec<_> = opened.into_iter().filter_map(Result::ok).collect();
    if let Some(e) = failed.first() {
        eprintln!(
            "{name}: {} streams failed to open, first: {e}",
            failed.len()
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let gauge = api
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("huying_streams_open "))
        .unwrap_or("?")
        .to_string();
    let rss_open = server.status_kb("VmRSS:");
    let per_stream_kb = (rss_open.saturating_sub(rss_before)) as f64 / readers.len().max(1) as f64;

    // Idle: heartbeats only.
    let idle = Duration::from_secs(15);
    let (cpu0, t0) = (server.cpu_ticks(), Instant::now());
    tokio::time::sleep(idle).await;
    let ticks = server.cpu_ticks() - cpu0;
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let idle_cpu = ticks as f64 / hz / t0.elapsed().as_secs_f64() * 100.0;

    // Offers while every stream is open: one request at a time, 20 a second.
    let placed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    for _ in 0..offers {
        let r = api
            .post(
                "/help-requests",
                json!({"resident_id": resident, "service_type_id": service,
                       "description": "帮忙买药和米面"}),
            )
            .await;
        placed
            .lock()
            .unwrap()
            .insert(r["id"].as_str().unwrap().to_string(), Instant::now());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut handover = Vec::new();
    let mut since_post = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while handover.len() < offers {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(a)) => {
                handover.push(a.handover_ms as f64);
                if let Some(p) = placed.lock().unwrap().get(&a.request) {
                    since_post.push(a.at.saturating_duration_since(*p).as_secs_f64() * 1000.0);
                }
            }
            _ => break,
        }
    }
    handover.sort_by(f64::total_cmp);
    since_post.sort_by(f64::total_cmp);
    let rss_after = server.status_kb("VmRSS:");
    let hwm = server.status_kb("VmHWM:");
    let stop = server.stop();
    for r in readers.iter() {
        r.abort();
    }
    let _ = std::fs::remove_dir_all(&dir);

    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "== {name}: {} streams open ({} failed) in {open_secs:.1} s; server gauge {gauge}",
        readers.len(),
        failed.len()
    );
    println!(
        "   RSS MB: before {:.1}, streams open {:.1} ({per_stream_kb:.1} KB a stream), after the offers {:.1}, VmHWM {:.1}",
        mb(rss_before),
        mb(rss_open),
        mb(rss_after),
        mb(hwm)
    );
    println!("   server CPU while idle: {idle_cpu:.1} % of one core");
    println!(
        "   offers: {}/{offers} arrived; hand-over → stream p50 {:.0} ms p99 {:.0} ms max {:.0} ms; POST answered → stream p50 {:.0} ms p99 {:.0} ms",
        handover.len(),
        percentile(&handover, 0.5),
        percentile(&handover, 0.99),
        handover.last().copied().unwrap_or(f64::NAN),
        percentile(&since_post, 0.5),
        percentile(&since_post, 0.99),
    );
    println!("   SIGTERM with every stream open: stopped in {stop:.2?}");
    format!(
        "| {name} | {} | {:.1} | {:.1} | {per_stream_kb:.1} | {:.1} | {idle_cpu:.1} % | {}/{offers} | {:.0} | {:.0} | {:.0} | {:.0} / {:.0} | {:.2} s |",
        readers.len(),
        mb(rss_before),
        mb(rss_open),
        mb(hwm),
        handover.len(),
        percentile(&handover, 0.5),
        percentile(&handover, 0.99),
        handover.last().copied().unwrap_or(f64::NAN),
        percentile(&since_post, 0.5),
        percentile(&since_post, 0.99),
        stop.as_secs_f64()
    )
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let limit = raise_fd_limit();
    let streams: usize = setting("BENCH_STREAMS", "10000").parse().unwrap();
    let offers: usize = setting("BENCH_OFFERS", "300").parse().unwrap();
    if (limit as usize) < streams + 200 {
        eprintln!(
            "open files limited to {limit}: {streams} streams need more (raise the hard limit, `ulimit -Hn`)"
        );
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let rows = common::on_each_backend("sqlite postgres", "streams", |name, url| async move {
            run_backend(name, &url, streams, offers).await
        })
        .await;
        println!();
        println!(
            "| backend | streams | RSS before (MB) | RSS open (MB) | KB a stream | VmHWM (MB) | idle CPU | offers arrived | hand-over → stream p50 (ms) | p99 (ms) | max (ms) | POST → stream p50 / p99 (ms) | SIGTERM → exit |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in rows {
            println!("{r}");
        }
    });
}
