//! The two migration folders describe one schema.

use std::collections::{BTreeMap, BTreeSet};

use huying::store::Db;

fn names(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn both_folders_hold_the_same_migrations() {
    assert_eq!(names("sqlite"), names("postgres"));
    assert!(!names("sqlite").is_empty());
}

type Tables = BTreeMap<String, BTreeSet<String>>;

async fn sqlite_tables() -> Tables {
    let path = std::env::temp_dir().join(format!("huying-schema-{}.db", uuid::Uuid::now_v7()));
    let db = Db::connect(
        &format!("sqlite://{}", path.display()),
        1,
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let Db::Sqlite(pool) = &db else {
        unreachable!()
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select m.name, p.name from sqlite_master m join pragma_table_info(m.name) p
         where m.type = 'table' and m.name not like 'sqlite_%' and m.name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    db.close().await;
    let _ = std::fs::remove_file(&path);
    group(rows)
}

fn group(rows: Vec<(String, String)>) -> Tables {
    let mut t = Tables::new();
    for (table, col) in rows {
        t.entry(table).or_default().insert(col);
    }
    t
}

/// Columns of the PostgreSQL DDL, read from the files (used when no PostgreSQL is at hand).
fn postgres_tables_from_files() -> Tables {
    let mut rows = Vec::new();
    for name in names("postgres") {
        let sql = std::fs::read_to_string(format!(
            "{}/migrations/postgres/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut current: Option<String> = None;
        for line in sql.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("alter table ") {
                let mut words = rest.split_whitespace();
                if let (Some(t), Some("add"), Some("column"), Some(c)) =
                    (words.next(), words.next(), words.next(), words.next())
                {
                    rows.push((t.to_string(), c.to_string()));
                }
            } else if let Some(rest) = line.strip_prefix("create table ") {
                current = Some(rest.trim_end_matches(" (").trim().to_string());
            } else if line.starts_with(')') {
                current = None;
            } else if let Some(t) = &current {
                let first = line.split_whitespace().next().unwrap_or("");
                if !["primary", "unique", "check", "foreign", "constraint", ""].contains(&first)
                    && !first.starts_with("--")
                {
                    rows.push((t.clone(), first.to_string()));
                }
            }
        }
    }
    group(rows)
}

async fn postgres_tables(base: &str) -> Tables {
    use sqlx::migrate::MigrateDatabase;
    let cut = base.rfind('/').unwrap();
    let url = format!(
        "{}/huying_schema_{}",
        &base[..cut],
        uuid::Uuid::now_v7().simple()
    );
    sqlx::Postgres::create_database(&url).await.unwrap();
    let db = Db::connect(&url, 1, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let Db::Postgres(pool) = &db else {
        unreachable!()
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public' and table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    db.close().await;
    sqlx::Postgres::force_drop_database(&url).await.unwrap();
    group(rows)
}

#[tokio::test]
async fn both_databases_end_up_with_the_same_tables_and_columns() {
    let sqlite = sqlite_tables().await;
    let postgres = match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    {
        Some(url) => postgres_tables(&url).await,
        None => postgres_tables_from_files(),
    };
    assert!(sqlite.contains_key("residents") && sqlite["residents"].contains("id_card_cipher"));
    assert_eq!(sqlite, postgres);
}

/// The last migration before communities kept their visit horizon beside the policy.
const BEFORE_HORIZON: i64 = 20261128000003;

macro_rules! horizons_after_migration {
    ($pool:expr, $migrator:expr, $db:expr) => {{
        let pool = $pool;
        $migrator.run_to(BEFORE_HORIZON, pool).await.unwrap();
        let policies = [
            serde_json::json!({"visit": {"horizon_days": 60}}),
            serde_json::json!({"visit": {"horizon_days": 90, "default_grade": null}}),
            serde_json::json!({"visit": {}}),
            serde_json::json!({}),
        ];
        let mut ids = Vec::new();
        for (i, policy) in policies.iter().enumerate() {
            let id = uuid::Uuid::now_v7();
            sqlx::query(
                "insert into communities (id, code, name, time_zone, policy, active, version, created_at, updated_at)
                 values ($1, $2, '社区', 'Asia/Shanghai', $3, true, 1, $4, $4)",
            )
            .bind(id)
            .bind(format!("c{i}"))
            .bind(sqlx::types::Json(policy))
            .bind(chrono::Utc::now())
            .execute(pool)
            .await
            .unwrap();
            ids.push(id);
        }
        $db.migrate().await.unwrap();
        let mut got = Vec::new();
        for id in ids {
            let h: i32 = sqlx::query_scalar("select visit_horizon_days from communities where id = $1")
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap();
            got.push(h);
        }
        got
    }};
}

/// Existing communities take their horizon from their policy (28, the default, where it says
/// none), on both databases.
#[tokio::test]
async fn existing_communities_keep_their_visit_horizon_when_it_moves_beside_the_policy() {
    let want = [60, 90, 28, 28];
    let path = std::env::temp_dir().join(format!("huying-horizon-{}.db", uuid::Uuid::now_v7()));
    let db = Db::connect(
        &format!("sqlite://{}", path.display()),
        1,
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    let Db::Sqlite(pool) = &db else {
        unreachable!()
    };
    let got = horizons_after_migration!(pool, sqlx::migrate!("./migrations/sqlite"), db);
    assert_eq!(got, want, "sqlite");
    db.close().await;
    let _ = std::fs::remove_file(&path);

    let Some(base) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    else {
        return;
    };
    use sqlx::migrate::MigrateDatabase;
    let cut = base.rfind('/').unwrap();
    let url = format!(
        "{}/huying_horizon_{}",
        &base[..cut],
        uuid::Uuid::now_v7().simple()
    );
    sqlx::Postgres::create_database(&url).await.unwrap();
    let db = Db::connect(&url, 1, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let Db::Postgres(pool) = &db else {
        unreachable!()
    };
    let got = horizons_after_migration!(pool, sqlx::migrate!("./migrations/postgres"), db);
    db.close().await;
    sqlx::Postgres::force_drop_database(&url).await.unwrap();
    assert_eq!(got, want, "postgres");
}
