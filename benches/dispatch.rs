//! The dispatch decision for one request (candidate search + score) in communities of 1k, 10k
//! and 100k volunteers, on SQLite and on PostgreSQL.
//!
//! `cargo bench --bench dispatch`. PostgreSQL is used when `BENCH_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) answers; `BENCH_SIZES=1000,10000` picks sizes.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::QueryBuilder;
use uuid::Uuid;

use huying::domain::help_request::{Channel, DispatchMode, Origin, PlacedAs, Status};
use huying::domain::urgency::Urgency;
use huying::services::requests::dispatch;
use huying::state::AppState;
use huying::store::Db;
use huying::store::requests::help_requests::HelpRequestRow;

const CENTRE: (f64, f64) = (36.0, 113.0);

struct Fixture {
    ctx: AppState,
    rules: dispatch::Rules,
    request: HelpRequestRow,
    skills: Vec<String>,
    now: DateTime<Utc>,
    _dir: Option<std::path::PathBuf>,
    pg_db: Option<(String, String)>,
}

fn config(url: &str) -> huying::config::Config {
    let mut c = huying::config::Config::from_env().expect("config");
    c.database_url = url.to_string();
    c.data_key = Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into());
    c.db_max_connections = 4;
    c
}

struct Vol {
    id: Uuid,
    user: Uuid,
    lat: f64,
    lng: f64,
    skills: Vec<&'static str>,
    all_day: bool,
    load: i64,
}

fn volunteers(n: usize) -> Vec<Vol> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..n)
        .map(|_| {
            let mut skills = Vec::new();
            if rng.gen_bool(0.4) {
                skills.push("errands");
            }
            if rng.gen_bool(0.3) {
                skills.push("cooking");
            }
            if rng.gen_bool(0.2) {
                skills.push("medical_escort");
            }
            Vol {
                id: Uuid::now_v7(),
                user: Uuid::now_v7(),
                // A district of about 5.5 km × 5.5 km.
                lat: CENTRE.0 + rng.gen_range(-0.025..0.025),
                lng: CENTRE.1 + rng.gen_range(-0.03..0.03),
                skills,
                all_day: rng.gen_bool(0.5),
                load: rng.gen_range(0..=3),
            }
        })
        .collect()
}

macro_rules! seed_rows {
    ($pool:expr, $db:ty, $community:expr, $vols:expr) => {{
        let pool = $pool;
        let now = Utc::now();
        for chunk in $vols.chunks(1000) {
            let mut tx = pool.begin().await.unwrap();
            let mut q = QueryBuilder::<$db>::new(
                "insert into users (id, username, phone, display_name, password_hash, active, version, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, v| {
                b.push_bind(v.user).push_bind(format!("bench-{}", v.user.simple())).push_bind(None::<String>)
                    .push_bind("志愿者").push_bind("x").push_bind(true).push_bind(1i64).push_bind(now).push_bind(now);
            });
            q.build().execute(&mut *tx).await.unwrap();
            let mut q = QueryBuilder::<$db>::new(
                "insert into volunteers (id, community_id, user_id, name, phone, home_grid_id, lat, lng, max_concurrent,
                 skills, availability, party_member, status, version, created_at, updated_at, cell_y, cell_x, active_load,
                 offers_made, offers_accepted, rating_sum, rating_count, month_key, month_minutes) ",
            );
            q.push_values(chunk, |mut b, v| {
                let (cy, cx) = huying::domain::score::cell(v.lat, v.lng);
                b.push_bind(v.id).push_bind($community).push_bind(v.user).push_bind("志愿者").push_bind(None::<String>)
                    .push_bind(None::<Uuid>).push_bind(v.lat).push_bind(v.lng).push_bind(3i64).push_bind(v.skills.join(","))
                    .push_bind(sqlx::types::Json(serde_json::json!([]))).push_bind(false).push_bind("active").push_bind(1i64)
                    .push_bind(now).push_bind(now).push_bind(cy).push_bind(cx).push_bind(v.load).push_bind(10i64)
                    .push_bind(8i64).push_bind(20i64).push_bind(5i64).push_bind("").push_bind(0i64);
            });
            q.build().execute(&mut *tx).await.unwrap();
            let skills: Vec<(Uuid, &str)> = chunk.iter().flat_map(|v| v.skills.iter().map(move |s| (v.id, *s))).collect();
            if !skills.is_empty() {
                let mut q = QueryBuilder::<$db>::new("insert into volunteer_skills (volunteer_id, skill) ");
                q.push_values(&skills, |mut b, (v, s)| {
                    b.push_bind(*v).push_bind(*s);
                });
                q.build().execute(&mut *tx).await.unwrap();
            }
            // Half give no availability (any time); half give 08:00–20:00 every day.
            let slots: Vec<(Uuid, i64)> = chunk
                .iter()
                .filter(|v| v.all_day)
                .flat_map(|v| (1..=7).map(move |d| (v.id, d)))
                .collect();
            if !slots.is_empty() {
                let mut q = QueryBuilder::<$db>::new(
                    "insert into volunteer_availability (volunteer_id, weekday, start_minute, end_minute) ",
                );
                q.push_values(&slots, |mut b, (v, d)| {
                    b.push_bind(*v).push_bind(*d).push_bind(480i64).push_bind(1200i64);
                });
                q.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
    }};
}

async fn fixture(rt_url: Option<&str>, n: usize) -> Option<Fixture> {
    let (url, dir, pg_db) = match rt_url {
        None => {
            let dir =
                std::env::temp_dir().join(format!("huying-bench-{}", Uuid::now_v7().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            (
                format!("sqlite://{}/bench.db", dir.display()),
                Some(dir),
                None,
            )
        }
        Some(base) => {
            use sqlx::migrate::MigrateDatabase;
            let cut = base.rfind('/').unwrap();
            let name = format!("huying_bench_{}", Uuid::now_v7().simple());
            let url = format!("{}/{name}", &base[..cut]);
            if sqlx::Postgres::create_database(&url).await.is_err() {
                return None;
            }
            (url.clone(), None, Some((url, name)))
        }
    };
    let ctx = huying::startup::prepare(config(&url))
        .await
        .expect("prepare");
    let community = Uuid::now_v7();
    let now = Utc::now();
    let policy = serde_json::json!({});
    let st = Uuid::now_v7();
    let resident = Uuid::now_v7();
    macro_rules! base_rows {
        ($pool:expr) => {{
            let pool = $pool;
            sqlx::query("insert into communities (id, code, name, time_zone, policy, active, version, created_at, updated_at)
                values ($1, $2, '基准社区', 'Asia/Shanghai', $3, true, 1, $4, $4)")
                .bind(community).bind(format!("b{}", &community.simple().to_string()[20..]))
                .bind(sqlx::types::Json(&policy)).bind(now).execute(pool).await.unwrap();
            sqlx::query("insert into service_types (id, community_id, code, name, description, required_skills, default_urgency,
                respond_minutes, resolve_hours, active, version, created_at, updated_at)
                values ($1, $2, 'errands', '代购', null, $3, 'normal', 240, 72, true, 1, $4, $4)")
                .bind(st).bind(community).bind(sqlx::types::Json(vec!["errands"])).bind(now).execute(pool).await.unwrap();
            sqlx::query("insert into residents (id, community_id, grid_id, user_id, name, gender, birth_date, phone,
                id_card_cipher, id_card_hash, id_card_masked, building, unit, room, address, lat, lng, care_categories,
                emergency_contacts, care_level, consent, notes, active, version, created_at, updated_at)
                values ($1, $2, null, null, '孙大娘', null, null, null, null, null, null, null, null, null, null, $3, $4, '',
                $5, null, $5, null, true, 1, $6, $6)")
                .bind(resident).bind(community).bind(CENTRE.0).bind(CENTRE.1)
                .bind(sqlx::types::Json(serde_json::json!({}))).bind(now).execute(pool).await.unwrap();
        }};
    }
    let vols = volunteers(n);
    match &ctx.db {
        Db::Sqlite(p) => {
            base_rows!(p);
            seed_rows!(p, sqlx::Sqlite, community, vols);
            sqlx::query("analyze").execute(p).await.unwrap();
        }
        Db::Postgres(p) => {
            base_rows!(p);
            seed_rows!(p, sqlx::Postgres, community, vols);
            sqlx::query("analyze").execute(p).await.unwrap();
        }
    }
    let rules = dispatch::rules(&ctx, community).await.unwrap();
    // Monday 10:00 in Shanghai.
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
    let request = HelpRequestRow {
        id: Uuid::now_v7(),
        community_id: community,
        resident_id: resident,
        grid_id: None,
        service_type_id: st,
        placed_by: None,
        placed_as: PlacedAs::Resident,
        caller_name: None,
        caller_phone: None,
        channel: Channel::App,
        origin: Origin::Call,
        urgency: Urgency::Normal,
        description: "代购".into(),
        address: None,
        lat: Some(CENTRE.0),
        lng: Some(CENTRE.1),
        window_start: None,
        window_end: None,
        status: Status::Dispatching,
        dispatch_mode: DispatchMode::Auto,
        attempts: 0,
        assignee_id: None,
        respond_by: at,
        resolve_by: at,
        resolve_from: at,
        responded_at: None,
        started_at: None,
        completed_at: None,
        closed_at: None,
        resolution_note: None,
        close_reason: None,
        respond_reminded: false,
        resolve_reminded: false,
        respond_overdue: false,
        resolve_overdue: false,
        rating: None,
        solved: None,
        reopen_count: 0,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    Some(Fixture {
        ctx,
        rules,
        request,
        skills: vec!["errands".into()],
        now: at,
        _dir: dir,
        pg_db,
    })
}

fn sizes() -> Vec<usize> {
    std::env::var("BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000])
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pg = std::env::var("BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    for (backend, url) in [("sqlite", None), ("postgres", Some(pg.as_str()))] {
        let mut group = c.benchmark_group(format!("dispatch_decision/{backend}"));
        group
            .sample_size(50)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        for n in sizes() {
            let Some(f) = rt.block_on(fixture(url, n)) else {
                eprintln!("{backend}: not reachable, skipped");
                break;
            };
            // First call fills the cached community median, as in steady state.
            let first = rt
                .block_on(dispatch::rank(
                    &f.ctx, &f.rules, &f.request, &f.skills, 1, f.now,
                ))
                .unwrap();
            assert_eq!(first.len(), 1, "a candidate exists");
            group.bench_function(format!("{n}_volunteers"), |b| {
                b.iter(|| {
                    rt.block_on(dispatch::rank(
                        &f.ctx,
                        &f.rules,
                        black_box(&f.request),
                        &f.skills,
                        1,
                        f.now,
                    ))
                    .unwrap()
                })
            });
            rt.block_on(async {
                f.ctx.db.close().await;
                if let Some((url, _)) = &f.pg_db {
                    use sqlx::migrate::MigrateDatabase;
                    let _ = sqlx::Postgres::force_drop_database(url).await;
                }
            });
            if let Some(d) = &f._dir {
                let _ = std::fs::remove_dir_all(d);
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
