//! 一呼百应 under load, through the release server: 2,000 volunteers signing up for one
//! call-out at once (sign-ups a second, p50/p99; a 503 or 429 is tried again after its
//! `Retry-After`, as the app does), and an emergency published to 10,000
//! matching volunteers (time from the publish response until each has its inbox item); on
//! PostgreSQL and SQLite (`BENCH_BACKENDS`).
//!
//! ```sh
//! cargo bench --bench mobilisations
//! BENCH_SIGNUPS=2000 BENCH_CALLED=10000 BENCH_PARTS="signups emergency" \
//!   BENCH_BACKENDS="postgres sqlite" cargo bench --bench mobilisations
//! ```
//!
//! The volunteers are written straight into the database (accounts without a usable password,
//! profiles, weekly hours on Monday mornings) and their access tokens minted with the server's
//! secret: creating 10,000 accounts over HTTP would time password hashing, not this. Everything
//! else goes through the API. The sign-up call-out has 20 slots of 50 places, so half the
//! volunteers are confirmed and half wait; each volunteer signs up for a slot of their own
//! choosing, all at once. The emergency falls on a Sunday, outside everyone's declared hours:
//! it reaches them all only because it is an emergency. `bench/signups.sh` sets the sign-ups
//! beside pgbench running the same SQL (`bench/sql/signup.sql`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;

use common::{Api, SECRET, Server, percentile, setting};
use huying::auth::jwt::JwtKeys;
use huying::store::Db;

/// Inserts `n` active volunteers of `community` with accounts `{prefix}{i}`, free on Monday
/// mornings; their account ids, in order.
async fn crowd(db: &Db, community: Uuid, n: usize, prefix: &str) -> Vec<Uuid> {
    let now = huying::store::now();
    let users: Vec<(Uuid, Uuid, String)> = (0..n)
        .map(|i| (Uuid::now_v7(), Uuid::now_v7(), format!("{prefix}{i}")))
        .collect();
    macro_rules! fill {
        ($pool:expr, $db:ty) => {{
            let mut tx = $pool.begin().await.unwrap();
            for chunk in users.chunks(500) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "insert into users (id, username, phone, display_name, password_hash, active, version, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut b, (u, _, name)| {
                    b.push_bind(*u).push_bind(name.clone()).push_bind(None::<String>)
                        .push_bind("志愿者").push_bind("!").push_bind(true).push_bind(1i64)
                        .push_bind(now).push_bind(now);
                });
                q.build().execute(&mut *tx).await.unwrap();
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "insert into role_grants (id, user_id, role, community_id, granted_by, created_at) ",
                );
                q.push_values(chunk, |mut b, (u, _, _)| {
                    b.push_bind(Uuid::now_v7()).push_bind(*u).push_bind("volunteer")
                        .push_bind(community).push_bind(None::<Uuid>).push_bind(now);
                });
                q.build().execute(&mut *tx).await.unwrap();
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "insert into volunteers (id, community_id, user_id, name, phone, home_grid_id, lat, lng,
                     max_concurrent, skills, availability, party_member, status, version, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut b, (u, v, name)| {
                    b.push_bind(*v).push_bind(community).push_bind(*u).push_bind(name.clone())
                        .push_bind(None::<String>).push_bind(None::<Uuid>).push_bind(None::<f64>)
                        .push_bind(None::<f64>).push_bind(3i64).push_bind("")
                        .push_bind(sqlx::types::Json(json!([{"weekday": 1, "start": "09:00", "end": "11:00"}])))
                        .push_bind(false).push_bind("active").push_bind(1i64).push_bind(now).push_bind(now);
                });
                q.build().execute(&mut *tx).await.unwrap();
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "insert into volunteer_availability (volunteer_id, weekday, start_minute, end_minute) ",
                );
                q.push_values(chunk, |mut b, (_, v, _)| {
                    b.push_bind(*v).push_bind(1i64).push_bind(540i64).push_bind(660i64);
                });
                q.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }};
    }
    match db {
        Db::Sqlite(p) => fill!(p, sqlx::Sqlite),
        Db::Postgres(p) => fill!(p, sqlx::Postgres),
    }
    users.into_iter().map(|(u, _, _)| u).collect()
}

const INBOX: &str = "select count(*) from notifications where object_id = $1";

async fn told(db: &Db, mobilisation: Uuid) -> i64 {
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(INBOX)
            .bind(mobilisation)
            .fetch_one(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(INBOX)
            .bind(mobilisation)
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

fn plan(kind: &str, starts: &str, ends: &str, slots: usize, each: i64) -> Value {
    let slots: Vec<Value> = (0..slots)
        .map(|i| json!({"title": format!("第{}组", i + 1), "count": each}))
        .collect();
    json!({"title": "防汛巡查", "kind": kind, "starts_at": starts, "ends_at": ends, "slots": slots})
}

struct Setup {
    server: Server,
    dir: std::path::PathBuf,
    api: Api,
    db: Db,
    community: String,
}

async fn setup(url: &str, what: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("huying-bench-{what}-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start(url, &dir, &[]);
    let api = Api::admin(&server.base).await;
    let code = format!("m{}", &Uuid::now_v7().simple().to_string()[24..]);
    let community = api
        .create("/communities", json!({"code": code, "name": "压测社区"}))
        .await;
    let db = Db::connect(url, 2, Duration::from_secs(30)).await.unwrap();
    Setup {
        server,
        dir,
        api,
        db,
        community,
    }
}

async fn teardown(s: Setup) {
    s.db.close().await;
    s.server.stop();
    let _ = std::fs::remove_dir_all(&s.dir);
}

async fn publish(api: &Api, community: &str, body: Value) -> String {
    let id = api
        .create(&format!("/communities/{community}/mobilisations"), body)
        .await;
    api.post(&format!("/mobilisations/{id}/publish"), json!({}))
        .await;
    id
}

/// `n` volunteers sign up at once, each for one of the 20 slots.
async fn signups(name: &'static str, url: String, n: usize) -> String {
    let s = setup(&url, "signups").await;
    let c = Uuid::parse_str(&s.community).unwrap();
    let users = crowd(&s.db, c, n, "bv").await;
    let keys = JwtKeys::new(
        SECRET.as_bytes(),
        "huying",
        "huying-api",
        Duration::from_secs(7200),
    );
    let id = publish(
        &s.api,
        &s.community,
        plan(
            "emergency",
            "2030-07-07T06:00:00Z",
            "2030-07-07T08:00:00Z",
            20,
            (n / 40).max(1) as i64,
        ),
    )
    .await;
    let m: Value = s
        .api
        .client
        .get(format!("{}/api/v1/mobilisations/{id}", s.server.base))
        .bearer_auth(&s.api.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slots: Vec<String> = m["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let path = format!("{}/api/v1/mobilisations/{id}/signups", s.server.base);
    let t0 = Instant::now();
    let calls = users.iter().enumerate().map(|(i, u)| {
        let token = keys.issue(*u);
        let body = json!({"slot_id": slots[i % slots.len()]});
        let (client, path) = (&client, &path);
        // As the app does: a refusal for load (503, 429) is tried again after its Retry-After.
        async move {
            let t = Instant::now();
            let mut first = 0;
            for attempt in 0u32.. {
                let sent = client
                    .post(path)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                let (status, wait) = match sent {
                    Ok(r) => {
                        let wait = r
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<f64>().ok())
                            .unwrap_or(1.0);
                        (r.status().as_u16(), wait)
                    }
                    Err(_) => (0, 1.0),
                };
                if attempt == 0 {
                    first = status;
                }
                if !matches!(status, 503 | 429) || attempt >= 20 {
                    return (first, status, attempt, t.elapsed().as_secs_f64() * 1000.0);
                }
                tokio::time::sleep(Duration::from_secs_f64(wait.min(5.0))).await;
            }
            unreachable!()
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let wall = t0.elapsed().as_secs_f64();
    let ok = results.iter().filter(|r| r.1 == 201).count();
    let shed_first = results.iter().filter(|r| r.0 != 201).count();
    let retries: u32 = results.iter().map(|r| r.2).sum();
    let mut other: Vec<u16> = results.iter().map(|r| r.1).filter(|s| *s != 201).collect();
    other.sort_unstable();
    other.dedup();
    let mut ms: Vec<f64> = results.iter().map(|r| r.3).collect();
    ms.sort_by(f64::total_cmp);
    let counted: Value = s
        .api
        .client
        .get(format!(
            "{}/api/v1/mobilisations/{id}/counts",
            s.server.base
        ))
        .bearer_auth(&s.api.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let confirmed: i64 = counted["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["confirmed"].as_i64().unwrap())
        .sum();
    let rate = ok as f64 / wall;
    let (p50, p99) = (percentile(&ms, 0.5), percentile(&ms, 0.99));
    println!(
        "== {name}: {ok}/{n} sign-ups in {wall:.2} s: {rate:.0}/s, p50 {p50:.0} ms, p99 {p99:.0} ms; \
         {shed_first} refused for load at first ({retries} retries), final statuses other than 201: \
         {other:?}; {confirmed} confirmed, {} coming",
        counted["coming"]
    );
    teardown(s).await;
    format!(
        "| {name} | {n} | {ok} | {shed_first} | {retries} | {confirmed} | {wall:.2} | {rate:.0} | {p50:.0} | {p99:.0} |"
    )
}

/// An emergency published to `n` volunteers: publish response → the last inbox row.
async fn emergency(name: &'static str, url: String, n: usize) -> String {
    let s = setup(&url, "emergency").await;
    let c = Uuid::parse_str(&s.community).unwrap();
    crowd(&s.db, c, n, "ev").await;
    let id = s
        .api
        .create(
            &format!("/communities/{}/mobilisations", s.community),
            plan(
                "emergency",
                "2030-07-07T06:00:00Z",
                "2030-07-07T08:00:00Z",
                1,
                50,
            ),
        )
        .await;
    let m = Uuid::parse_str(&id).unwrap();
    s.api
        .post(&format!("/mobilisations/{id}/publish"), json!({}))
        .await;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(120);
    let mut got = 0;
    let mut first = None;
    while Instant::now() < deadline {
        got = told(&s.db, m).await;
        if got > 0 && first.is_none() {
            first = Some(t0.elapsed().as_secs_f64());
        }
        if got >= n as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all = t0.elapsed().as_secs_f64();
    let first = first.unwrap_or(f64::NAN);
    println!(
        "== {name}: {got}/{n} volunteers told; first inbox rows after {first:.3} s, all after {all:.3} s"
    );
    teardown(s).await;
    format!("| {name} | {n} | {got} | {first:.3} | {all:.3} |")
}

fn main() {
    let n_signups: usize = setting("BENCH_SIGNUPS", "2000").parse().unwrap();
    let n_called: usize = setting("BENCH_CALLED", "10000").parse().unwrap();
    let parts = setting("BENCH_PARTS", "signups emergency");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if parts.contains("signups") {
            let rows = common::on_each_backend("postgres sqlite", "signups", |name, url| {
                signups(name, url, n_signups)
            })
            .await;
            println!();
            println!(
                "| backend | volunteers | signed up (201) | refused at first | retries | confirmed | wall (s) | sign-ups/s | p50 (ms) | p99 (ms) |"
            );
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for r in rows {
                println!("{r}");
            }
        }
        if parts.contains("emergency") {
            let rows = common::on_each_backend("postgres sqlite", "emergency", |name, url| {
                emergency(name, url, n_called)
            })
            .await;
            println!();
            println!(
                "| backend | volunteers called | told | publish → first inbox rows (s) | publish → all told (s) |"
            );
            println!("|---|---:|---:|---:|---:|");
            for r in rows {
                println!("{r}");
            }
        }
    });
}
