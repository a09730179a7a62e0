//! Issue 4's speed section: generating four weeks of visits for 10,000 residents, and the
//! visit coverage report (one month, and a twelve-month range) over a year of visits for
//! 10,000 residents, on SQLite and on PostgreSQL.
//!
//! `cargo bench --bench visits`. PostgreSQL is used when `BENCH_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) answers; each backend gets a fresh database.
//! `BENCH_BACKENDS=postgres` runs one backend; `BENCH_KEEP_DB=1` keeps the databases (with the
//! year of visits) for a look at the query plans.
//!
//! One community with the default policy (high every 7 days, priority 30, general 90), 20 grids
//! of 500 residents with one grid worker each, 20 % high, 30 % priority, 50 % general, one
//! active plan per resident (care team: the grid worker, and one of 5 doctors for the high).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, Utc};
use chrono_tz::Tz;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::QueryBuilder;
use uuid::Uuid;

use huying::auth::principal::{Grant, Principal};
use huying::domain::role::Role;
use huying::domain::visit::{day_start, local_day};
use huying::services::visits::coverage::{self, CoverageQuery};
use huying::services::visits::generation;
use huying::state::AppState;
use huying::store::Db;
use huying::store::visits::plans::PlanRow;

const RESIDENTS: usize = 10_000;
const GRIDS: usize = 20;
const DOCTORS: usize = 5;
const TZ: Tz = chrono_tz::Asia::Shanghai;
/// The plans of the year of visits start over 90 days (a general resident's period) from this
/// many days ago, so that the first month of a twelve-month range ending this month is covered
/// whole.
const HISTORY_DAYS: i64 = 460;
const SPREAD_DAYS: i64 = 90;

struct Fixture {
    ctx: AppState,
    community: Uuid,
    /// Each grid with its worker.
    grids: Vec<(Uuid, Uuid)>,
    dir: Option<std::path::PathBuf>,
    pg_url: Option<String>,
}

fn config(url: &str) -> huying::config::Config {
    let mut c = huying::config::Config::from_env().expect("config");
    c.database_url = url.to_string();
    c.data_key = Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into());
    c.db_max_connections = 4;
    c
}

/// The grade of the `i`-th resident: 20 % high, 30 % priority, 50 % general.
fn grade(i: usize) -> &'static str {
    match i % 10 {
        0 | 1 => "high",
        2..=4 => "priority",
        _ => "general",
    }
}

struct Resident {
    id: Uuid,
    grid: usize,
    grade: &'static str,
}

macro_rules! seed_rows {
    ($pool:expr, $db:ty, $community:expr, $grids:expr, $doctors:expr, $residents:expr) => {{
        let pool = $pool;
        let now = Utc::now();
        sqlx::query(
            "insert into communities (id, code, name, time_zone, policy, active, version, created_at, updated_at)
             values ($1, $2, '基准社区', 'Asia/Shanghai', $3, true, 1, $4, $4)",
        )
        .bind($community)
        .bind(format!("v{}", &$community.simple().to_string()[20..]))
        .bind(sqlx::types::Json(serde_json::json!({})))
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        let users: Vec<Uuid> = $grids.iter().map(|(_, w)| *w).chain($doctors.iter().copied()).collect();
        let mut q = QueryBuilder::<$db>::new(
            "insert into users (id, username, phone, display_name, password_hash, active, version, created_at, updated_at) ",
        );
        q.push_values(&users, |mut b, u| {
            b.push_bind(*u).push_bind(format!("bench-{}", u.simple())).push_bind(None::<String>)
                .push_bind("网格员").push_bind("x").push_bind(true).push_bind(1i64).push_bind(now).push_bind(now);
        });
        q.build().execute(pool).await.unwrap();
        let mut q = QueryBuilder::<$db>::new(
            "insert into grids (id, community_id, name, description, centre_lat, centre_lng, active, version, created_at, updated_at) ",
        );
        q.push_values($grids.iter().enumerate(), |mut b, (n, (g, _))| {
            b.push_bind(*g).push_bind($community).push_bind(format!("第{:02}网格", n + 1)).push_bind(None::<String>)
                .push_bind(None::<f64>).push_bind(None::<f64>).push_bind(true).push_bind(1i64).push_bind(now).push_bind(now);
        });
        q.build().execute(pool).await.unwrap();
        let mut q = QueryBuilder::<$db>::new("insert into grid_workers (grid_id, user_id) ");
        q.push_values($grids.iter(), |mut b, (g, w)| {
            b.push_bind(*g).push_bind(*w);
        });
        q.build().execute(pool).await.unwrap();
        for chunk in $residents.chunks(1000) {
            let mut q = QueryBuilder::<$db>::new(
                "insert into residents (id, community_id, grid_id, user_id, name, gender, birth_date, phone,
                 id_card_cipher, id_card_hash, id_card_masked, building, unit, room, address, lat, lng, care_categories,
                 emergency_contacts, care_level, consent, notes, active, version, created_at, updated_at, grade_source) ",
            );
            q.push_values(chunk, |mut b, r: &Resident| {
                b.push_bind(r.id).push_bind($community).push_bind($grids[r.grid].0).push_bind(None::<Uuid>)
                    .push_bind("居民").push_bind(None::<String>).push_bind(None::<NaiveDate>).push_bind(None::<String>)
                    .push_bind(None::<Vec<u8>>).push_bind(None::<String>).push_bind(None::<String>)
                    .push_bind(None::<String>).push_bind(None::<String>).push_bind(None::<String>)
                    .push_bind(None::<String>).push_bind(None::<f64>).push_bind(None::<f64>).push_bind("living_alone")
                    .push_bind(sqlx::types::Json(serde_json::json!([]))).push_bind(r.grade)
                    .push_bind(sqlx::types::Json(serde_json::json!({}))).push_bind(None::<String>).push_bind(true)
                    .push_bind(1i64).push_bind(now).push_bind(now).push_bind("manual");
            });
            q.build().execute(pool).await.unwrap();
        }
        sqlx::query("analyze").execute(pool).await.unwrap();
    }};
}

async fn fixture(pg_base: Option<&str>) -> Option<Fixture> {
    let (url, dir, pg_url) = match pg_base {
        None => {
            let dir = std::env::temp_dir()
                .join(format!("huying-bench-visits-{}", Uuid::now_v7().simple()));
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
            let name = format!("huying_bench_visits_{}", Uuid::now_v7().simple());
            let url = format!("{}/{name}", &base[..cut]);
            if sqlx::Postgres::create_database(&url).await.is_err() {
                return None;
            }
            (url.clone(), None, Some(url))
        }
    };
    let ctx = huying::startup::prepare(config(&url))
        .await
        .expect("prepare");
    let community = Uuid::now_v7();
    let grids: Vec<(Uuid, Uuid)> = (0..GRIDS)
        .map(|_| (Uuid::now_v7(), Uuid::now_v7()))
        .collect();
    let doctors: Vec<Uuid> = (0..DOCTORS).map(|_| Uuid::now_v7()).collect();
    let residents: Vec<Resident> = (0..RESIDENTS)
        .map(|i| Resident {
            id: Uuid::now_v7(),
            grid: i % GRIDS,
            grade: grade(i),
        })
        .collect();
    match &ctx.db {
        Db::Sqlite(p) => seed_rows!(p, sqlx::Sqlite, community, grids, doctors, residents),
        Db::Postgres(p) => seed_rows!(p, sqlx::Postgres, community, grids, doctors, residents),
    }
    // One active plan per resident, through the store as the service makes them; anchored
    // today (generation resets and re-anchors them).
    let today = local_day(Utc::now(), TZ);
    let now = Utc::now();
    let plans = residents.iter().enumerate().map(|(i, r)| {
        let mut team = vec![(grids[r.grid].1, "grid_worker".to_string())];
        if r.grade == "high" {
            team.push((doctors[i % DOCTORS], "doctor".to_string()));
        }
        let row = PlanRow {
            id: Uuid::now_v7(),
            community_id: community,
            resident_id: r.id,
            frequency_days: None,
            contact_kinds: "home_visit,phone".into(),
            starts_on: today,
            ends_on: None,
            notes: None,
            active: true,
            epoch: 1,
            anchor_on: today,
            next_seq: 0,
            next_start: Some(day_start(today, TZ)),
            created_by: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        (row, team)
    });
    let db = &ctx.db;
    futures_util::stream::iter(plans)
        .map(|(row, team)| async move {
            huying::store::visits::plans::create_plan(db, &row, &team)
                .await
                .expect("create plan");
        })
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
    analyze(&ctx.db).await;
    Some(Fixture {
        ctx,
        community,
        grids,
        dir,
        pg_url,
    })
}

async fn analyze(db: &Db) {
    match db {
        Db::Sqlite(p) => {
            sqlx::query("analyze").execute(p).await.unwrap();
        }
        Db::Postgres(p) => {
            sqlx::raw_sql("vacuum analyze").execute(p).await.unwrap();
        }
    }
}

/// Every plan back to nothing generated, its first window starting on `anchor_on` or, with a
/// `spread` of n days, on one of the n days from `anchor_on` (plans made over time).
async fn reset(f: &Fixture, anchor_on: NaiveDate, spread: i64) {
    macro_rules! reset_on {
        ($pool:expr, $clear:expr) => {{
            let pool = $pool;
            sqlx::query($clear).execute(pool).await.unwrap();
            if spread <= 1 {
                sqlx::query(
                    "update visit_plans set epoch = 1, anchor_on = $1, next_seq = 0, next_start = $2",
                )
                .bind(anchor_on)
                .bind(day_start(anchor_on, TZ))
                .execute(pool)
                .await
                .unwrap();
            } else {
                let mut rng = StdRng::seed_from_u64(90);
                let ids: Vec<Uuid> = sqlx::query_scalar("select id from visit_plans order by id")
                    .fetch_all(pool)
                    .await
                    .unwrap();
                let mut tx = pool.begin().await.unwrap();
                for id in ids {
                    let day = anchor_on + Days::days(rng.gen_range(0..spread));
                    sqlx::query(
                        "update visit_plans set epoch = 1, anchor_on = $2, next_seq = 0,
                         next_start = $3 where id = $1",
                    )
                    .bind(id)
                    .bind(day)
                    .bind(day_start(day, TZ))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                }
                tx.commit().await.unwrap();
            }
        }};
    }
    match &f.ctx.db {
        Db::Sqlite(p) => reset_on!(p, "delete from visits"),
        Db::Postgres(p) => {
            // Empty, as `delete` leaves it once vacuumed; nothing else refers to these visits.
            reset_on!(p, "truncate visits cascade");
            sqlx::raw_sql("vacuum analyze visit_plans")
                .execute(p)
                .await
                .unwrap();
        }
    }
}

/// The generation job for the community at `now`.
async fn generate(f: &Fixture, now: DateTime<Utc>) -> (usize, u64) {
    let g = generation::generate_in(&f.ctx, f.community, now)
        .await
        .expect("generate");
    (g.plans, g.created)
}

/// How the visits of the past went: 90 % done within their window, 4 % done late, 6 % missed;
/// half of the windows open now already done. Done by the grid worker.
const MARK: &str = "update visits set status = m.status, completed_at = m.completed_at,
    completed_by = m.completed_by, performed_contact_kind = case when m.status = 'completed'
    then visits.contact_kind end, duration_minutes = case when m.status = 'completed' then 30 end,
    condition = case when m.status = 'completed' then 'well' end, version = visits.version + 1
    from bench_marks m where visits.id = m.id";

async fn mark_history(f: &Fixture, now: DateTime<Utc>) -> usize {
    let mut rng = StdRng::seed_from_u64(4);
    let worker = |g: Option<Uuid>| {
        g.and_then(|g| f.grids.iter().find(|(id, _)| *id == g))
            .map(|(_, w)| *w)
    };
    macro_rules! run {
        ($pool:expr, $db:ty, $table:expr) => {{
            let pool = $pool;
            let rows: Vec<(Uuid, Option<Uuid>, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "select id, grid_id, window_start, window_end from visits where window_start < $1",
            )
            .bind(now)
            .fetch_all(pool)
            .await
            .unwrap();
            let marks: Vec<(Uuid, &str, Option<DateTime<Utc>>, Option<Uuid>)> = rows
                .iter()
                .filter_map(|(id, grid, start, end)| {
                    let within = |rng: &mut StdRng, to: DateTime<Utc>| {
                        let span = (to - *start).num_seconds().max(1);
                        *start + Days::seconds(rng.gen_range(0..span))
                    };
                    if *end > now {
                        return rng.gen_bool(0.5).then(|| {
                            (*id, "completed", Some(within(&mut rng, now)), worker(*grid))
                        });
                    }
                    let x: f64 = rng.r#gen();
                    let late = *end + Days::hours(rng.gen_range(1..72));
                    Some(if x < 0.90 || (x < 0.94 && late >= now) {
                        (
                            *id,
                            "completed",
                            Some(within(&mut rng, *end)),
                            worker(*grid),
                        )
                    } else if x < 0.94 {
                        (*id, "completed", Some(late), worker(*grid))
                    } else {
                        (*id, "missed", None, None)
                    })
                })
                .collect();
            sqlx::query($table).execute(pool).await.unwrap();
            for chunk in marks.chunks(1000) {
                let mut q = QueryBuilder::<$db>::new(
                    "insert into bench_marks (id, status, completed_at, completed_by) ",
                );
                q.push_values(chunk, |mut b, (id, s, at, by)| {
                    b.push_bind(*id).push_bind(*s).push_bind(*at).push_bind(*by);
                });
                q.build().execute(pool).await.unwrap();
            }
            sqlx::query(MARK).execute(pool).await.unwrap();
            sqlx::query("drop table bench_marks")
                .execute(pool)
                .await
                .unwrap();
            marks.len()
        }};
    }
    let n = match &f.ctx.db {
        Db::Sqlite(p) => run!(
            p,
            sqlx::Sqlite,
            "create table bench_marks (id blob primary key, status text, completed_at text, completed_by blob)"
        ),
        Db::Postgres(p) => run!(
            p,
            sqlx::Postgres,
            "create table bench_marks (id uuid primary key, status text, completed_at timestamptz, completed_by uuid)"
        ),
    };
    analyze(&f.ctx.db).await;
    n
}

async fn count_visits(db: &Db) -> i64 {
    match db {
        Db::Sqlite(p) => sqlx::query_scalar("select count(*) from visits")
            .fetch_one(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar("select count(*) from visits")
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

fn month_before(d: NaiveDate, months: u32) -> NaiveDate {
    let m = d.year() * 12 + d.month0() as i32 - months as i32;
    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pg = std::env::var("BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let keep = std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1");
    for (backend, url) in [("sqlite", None), ("postgres", Some(pg.as_str()))] {
        if !backends.split(',').any(|b| b.trim() == backend) {
            continue;
        }
        let t = Instant::now();
        let Some(f) = rt.block_on(fixture(url)) else {
            eprintln!("{backend}: not reachable, skipped");
            continue;
        };
        eprintln!(
            "{backend}: {RESIDENTS} residents and plans seeded in {:.1} s",
            t.elapsed().as_secs_f64()
        );

        // 1. Four weeks of visits (the default horizon) for every plan, from nothing generated.
        let today = local_day(Utc::now(), TZ);
        let gen_now = day_start(today, TZ) + Days::hours(10);
        rt.block_on(reset(&f, today, 1));
        let (plans, created) = rt.block_on(generate(&f, gen_now));
        eprintln!("{backend}: one generation run takes {plans} plans and creates {created} visits");
        assert_eq!(plans, RESIDENTS);
        let mut group = c.benchmark_group(format!("visit_generation/{backend}"));
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        group.bench_function(format!("{RESIDENTS}_residents_28_days"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    rt.block_on(reset(&f, today, 1));
                    let t = Instant::now();
                    let (_, n) = rt.block_on(generate(&f, black_box(gen_now)));
                    total += t.elapsed();
                    assert_eq!(n, created);
                }
                total
            })
        });
        group.finish();

        // 2. A year of visits (and four weeks ahead), most of them done, then the report.
        let t = Instant::now();
        let first = today - Days::days(HISTORY_DAYS);
        rt.block_on(reset(&f, first, SPREAD_DAYS));
        let real_now = Utc::now();
        let mut at = day_start(first, TZ) + Days::hours(1);
        while at < real_now {
            rt.block_on(generate(&f, at));
            at += Days::days(28);
        }
        rt.block_on(generate(&f, real_now));
        let total = rt.block_on(count_visits(&f.ctx.db));
        let marked = rt.block_on(mark_history(&f, real_now));
        eprintln!(
            "{backend}: a year of visits: {total} visits ({marked} done or missed) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let p = Principal::user(
            Uuid::now_v7(),
            vec![Grant {
                id: Uuid::now_v7(),
                role: Role::CommunityAdmin,
                community_id: Some(f.community),
            }],
        );
        let this_month = month_before(local_day(Utc::now(), TZ), 0);
        let last_month = month_before(this_month, 1).format("%Y-%m").to_string();
        let year = (
            month_before(this_month, 11).format("%Y-%m").to_string(),
            this_month.format("%Y-%m").to_string(),
        );
        let one_month = || CoverageQuery {
            month: Some(last_month.clone()),
            from: None,
            to: None,
        };
        let twelve_months = || CoverageQuery {
            month: None,
            from: Some(year.0.clone()),
            to: Some(year.1.clone()),
        };
        for (what, q) in [("month", one_month()), ("year", twelve_months())] {
            let r = rt
                .block_on(coverage::report(&f.ctx, &p, f.community, q))
                .expect("report");
            eprintln!(
                "{backend}: {what} {}..{}: due {}, on time {}, late {}, missed {}, open {}, {} grids, {} assignees, {} residents missed",
                r.from_month,
                r.to_month,
                r.community.due,
                r.community.on_time,
                r.community.late,
                r.community.missed,
                r.community.open,
                r.grids.len(),
                r.assignees.len(),
                r.missed_residents_total
            );
        }
        let mut group = c.benchmark_group(format!("coverage_report/{backend}"));
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        group.bench_function("one_month", |b| {
            b.iter(|| {
                rt.block_on(coverage::report(&f.ctx, &p, f.community, one_month()))
                    .unwrap()
            })
        });
        group.bench_function("twelve_months", |b| {
            b.iter(|| {
                rt.block_on(coverage::report(&f.ctx, &p, f.community, twelve_months()))
                    .unwrap()
            })
        });
        group.finish();

        if keep {
            eprintln!(
                "{backend}: kept {}",
                f.pg_url
                    .clone()
                    .or_else(|| f.dir.as_ref().map(|d| d.display().to_string()))
                    .unwrap_or_default()
            );
            continue;
        }
        rt.block_on(async {
            f.ctx.db.close().await;
            if let Some(url) = &f.pg_url {
                use sqlx::migrate::MigrateDatabase;
                let _ = sqlx::Postgres::force_drop_database(url).await;
            }
        });
        if let Some(d) = &f.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
