//! What the end-to-end benches share: the release server started as a child process on a fresh
//! database, a small JSON client, the databases to run on, and percentiles.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

pub const SECRET: &str = "bench-streams-jwt-secret-0123456789abcdef";
pub const DATA_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
pub const ADMIN_PASSWORD: &str = "bench-admin-password-1";

pub fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub port: u16,
}

impl Server {
    /// The release binary with `serve` on `url`, listening on a port of its choice; `env` adds
    /// to (or overrides) the bench's settings.
    pub fn start(url: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_huying"));
        cmd.arg("serve")
            .env("HUYING_DATABASE_URL", url)
            .env("HUYING_DATA_DIR", dir)
            .env("HUYING_HOST", "127.0.0.1")
            .env("HUYING_PORT", "0")
            .env("HUYING_JWT_SECRET", SECRET)
            .env("HUYING_DATA_KEY", DATA_KEY)
            .env("HUYING_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HUYING_ACCESS_TOKEN_MINUTES", "120")
            .env("HUYING_LOG_FORMAT", "text")
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the server starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("the server says where it listens")
                .unwrap();
            if let Some(rest) = line.strip_prefix("Huying is listening on http://127.0.0.1:") {
                break rest.split(' ').next().unwrap().parse().unwrap();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
        }
    }

    pub fn status_kb(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// User and system CPU time so far, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// SIGTERM; how long it took to exit.
    pub fn stop(mut self) -> Duration {
        let t = Instant::now();
        // SAFETY: signals our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap();
        t.elapsed()
    }
}

pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    /// Signed in as the deployment's admin.
    pub async fn admin(base: &str) -> Api {
        huying::tls::install_provider();
        let client = reqwest::Client::new();
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"login": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            client,
            base: base.to_string(),
            token: login["access_token"].as_str().unwrap().to_string(),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .client
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    /// The `id` of what a POST created.
    pub async fn create(&self, path: &str, body: Value) -> String {
        self.post(path, body).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn pg_answers(url: &str) -> bool {
    tokio::time::timeout(
        Duration::from_secs(3),
        sqlx::PgPool::connect(&format!("{url}/postgres")),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

/// Runs `run(name, url)` on a fresh database of each backend in `BENCH_BACKENDS` (default
/// `default`): a SQLite file in a temporary folder, a PostgreSQL database on `BENCH_PG_URL`
/// (dropped afterwards); the rows it returns.
pub async fn on_each_backend<F, Fut>(default: &str, bench: &str, mut run: F) -> Vec<String>
where
    F: FnMut(&'static str, String) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let backends = setting("BENCH_BACKENDS", default);
    let pg = setting("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432");
    let mut rows = Vec::new();
    for b in backends.split_whitespace() {
        match b {
            "sqlite" => {
                let dir = std::env::temp_dir().join(format!("huying-bench-db-{}", Uuid::now_v7()));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}/huying.db", dir.display());
                rows.push(run("SQLite", url).await);
                let _ = std::fs::remove_dir_all(&dir);
            }
            "postgres" => {
                if !pg_answers(&pg).await {
                    eprintln!("PostgreSQL at {pg} does not answer: skipped");
                    continue;
                }
                let name = format!("huying_bench_{bench}_{}", Uuid::now_v7().simple());
                let url = format!("{pg}/{name}");
                use sqlx::migrate::MigrateDatabase;
                sqlx::Postgres::create_database(&url).await.unwrap();
                rows.push(run("PostgreSQL", url.clone()).await);
                let _ = sqlx::Postgres::force_drop_database(&url).await;
            }
            other => panic!("unknown backend {other}"),
        }
    }
    rows
}
