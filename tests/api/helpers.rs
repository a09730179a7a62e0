//! Spawning the app on a fresh database, and a client that checks every response against
//! the contract.

use std::time::Duration;

use huying::config::Config;
use huying::startup::Application;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::migrate::MigrateDatabase;
use uuid::Uuid;

use crate::spec::check_response;

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "password-123";
/// Every test server's data key: a server started on a test's database must share it.
pub const DATA_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Runs the same sqlx expression on whichever backend the test app uses.
macro_rules! on_test_db {
    ($app:expr, $pool:ident => $body:expr) => {
        match &$app.state.db {
            huying::store::Db::Sqlite($pool) => $body,
            huying::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_test_db;

/// A throwaway database; dropped (PostgreSQL) or deleted (SQLite) with the app.
pub struct TestDb {
    pub url: String,
}

impl TestDb {
    /// A database with every migration applied (on PostgreSQL a copy of a migrated template).
    pub async fn new() -> Self {
        Self::create(true).await
    }

    /// A database with nothing in it, for the tests of migrating itself.
    pub async fn empty() -> Self {
        Self::create(false).await
    }

    async fn create(migrated: bool) -> Self {
        let name = format!("huying_test_{}", Uuid::now_v7().simple());
        let url = match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(base) if base.starts_with("postgres") => {
                let cut = base
                    .rfind('/')
                    .filter(|i| *i > "postgres://".len())
                    .unwrap_or(base.len());
                let url = format!("{}/{name}", &base[..cut]);
                if migrated {
                    let template = pg_template(&base, &base[..cut]).await;
                    let create = format!("create database \"{name}\" template \"{template}\"");
                    let mut admin = sqlx::PgConnection::connect(&base).await.expect("connect");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                        .execute(&mut admin)
                        .await
                        .expect("create test database from the template");
                } else {
                    sqlx::Postgres::create_database(&url)
                        .await
                        .expect("create test database");
                }
                url
            }
            Some(other) => panic!("TEST_DATABASE_URL must be a postgres:// URL, got {other}"),
            None => {
                let dir = std::env::temp_dir().join("huying-tests");
                std::fs::create_dir_all(&dir).unwrap();
                format!("sqlite://{}/{name}.db", dir.display())
            }
        };
        Self { url }
    }
}

/// The migrated template every PostgreSQL test database is copied from (~0.2 s, where running
/// the migrations takes ~1.5 s a test). Named by the migrations' checksums, so a changed or new
/// migration builds a new one; built under another name and renamed, so test processes starting
/// together never copy a half-built one; closed to connections, which a copy requires.
static PG_TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

async fn pg_template(base: &str, server: &str) -> String {
    PG_TEMPLATE
        .get_or_init(|| async {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            for m in sqlx::migrate!("./migrations/postgres").iter() {
                h.update(m.version.to_le_bytes());
                h.update(&*m.checksum);
            }
            let name = format!("huying_tmpl_{}", &hex::encode(h.finalize())[..16]);
            let mut admin = sqlx::PgConnection::connect(base).await.expect("connect");
            let exists: i64 =
                sqlx::query_scalar("select count(*) from pg_database where datname = $1")
                    .bind(&name)
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            if exists > 0 {
                return name;
            }
            let building = format!("huying_tmpl_building_{}", Uuid::now_v7().simple());
            let url = format!("{server}/{building}");
            sqlx::Postgres::create_database(&url).await.unwrap();
            let db = huying::store::Db::connect(&url, 2, Duration::from_secs(30))
                .await
                .unwrap();
            db.migrate().await.expect("migrate the template");
            db.close().await;
            let rename = format!("alter database \"{building}\" rename to \"{name}\"");
            match sqlx::raw_sql(sqlx::AssertSqlSafe(rename))
                .execute(&mut admin)
                .await
            {
                Ok(_) => {
                    let close = format!("alter database \"{name}\" allow_connections false");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(close))
                        .execute(&mut admin)
                        .await
                        .unwrap();
                }
                // Another test process built it first.
                Err(_) => {
                    let _ = sqlx::Postgres::force_drop_database(&url).await;
                }
            }
            name
        })
        .await
        .clone()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let url = self.url.clone();
        if let Some(path) = url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm", ".migrate-lock"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
            return;
        }
        // Dropping needs a runtime of its own: the test's runtime is shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _ = rt.block_on(sqlx::Postgres::force_drop_database(&url));
        })
        .join();
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn etag(&self) -> String {
        self.header("etag").expect("ETag header").to_string()
    }

    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a problem document with this status and code.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Self {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.body
        );
        assert!(
            self.header("content-type")
                .unwrap_or("")
                .starts_with("application/problem+json"),
            "problem content type"
        );
        self
    }

    pub fn field_codes(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or("").to_string(),
                            e["code"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn items(&self) -> Vec<Value> {
        self.body["items"].as_array().cloned().unwrap_or_default()
    }

    pub fn item_ids(&self) -> Vec<String> {
        self.items()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub state: huying::state::AppState,
    _db: TestDb,
}

pub fn test_config(url: &str) -> Config {
    let mut c = Config::from_env().expect("config");
    c.database_url = url.to_string();
    c.host = "127.0.0.1".into();
    c.port = 0;
    c.workers = 2;
    c.data_key = Some(DATA_KEY.into());
    c.jwt_secret = None;
    c.admin_password = Some(ADMIN_PASSWORD.into());
    c.db_max_connections = 5;
    // Admission as in production (four turns a connection), but a loaded machine waits for its
    // turn rather than answering 503: the busy path has its own test.
    c.request_concurrency = 20;
    c.request_queue_wait = Duration::from_secs(60);
    // A loaded CI machine may keep a connection busy for a while; 503s are tested on purpose.
    c.db_acquire_timeout = std::time::Duration::from_secs(10);
    c.body_limit_bytes = 64 * 1024;
    c.login_max_failures_per_account = 5;
    c.login_max_failures_per_address = 50;
    // A loaded machine must not turn a test's logins into 503s; the busy path has its own tests.
    c.password_hash_wait = Duration::from_secs(60);
    // Tests make time pass by calling the sweeper themselves; a background one would race them.
    c.sweep_interval = std::time::Duration::ZERO;
    c.relay_interval = std::time::Duration::ZERO;
    // Webhook receivers are the tests' own, on 127.0.0.1 over plain HTTP; tests send what is due
    // themselves (`worker::deliver`), with the time they choose.
    c.webhook_allow_private = true;
    c.webhook_allow_http = true;
    c.webhook_interval = std::time::Duration::ZERO;
    c.wechat_send_interval = std::time::Duration::ZERO;
    // Nothing calls the internet: a test that sends to WeChat starts a stand-in.
    c.wechat_api_base = "http://127.0.0.1:9".into();
    c
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_on(TestDb::new().await, tweak).await
}

/// The app on a database the test made itself (dropped with the app like any other).
pub async fn spawn_on(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config(&db.url);
    tweak(&mut config);
    let app = Application::build(config).await.expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut t = TestApp {
        base,
        client,
        admin: String::new(),
        state,
        _db: db,
    };
    t.admin = t.login("admin", ADMIN_PASSWORD).await;
    t
}

impl TestApp {
    /// The test database, for a second instance on the same data.
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
    }

    /// Sends and checks the response against `openapi.yaml`.
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let req = rb.build().expect("request builds");
        let method = req.method().to_string();
        let path = req.url().path().to_string();
        let res = self.client.execute(req).await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        check_response(
            &method,
            &path,
            status,
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            &bytes,
        );
        assert!(
            headers.get("x-request-id").is_some(),
            "{method} {path}: no X-Request-Id"
        );
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A plain-text endpoint (`/metrics`, `/openapi.yaml`), unchecked.
    pub async fn text(&self, path: &str) -> String {
        let res = self
            .client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.text().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(self.req(Method::GET, path).bearer_auth(token))
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(self.req(Method::POST, path).bearer_auth(token).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, etag: &str, body: Value) -> Resp {
        self.send(
            self.req(Method::PATCH, path)
                .bearer_auth(token)
                .header("if-match", etag)
                .header("content-type", "application/merge-patch+json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(self.req(Method::PUT, path).bearer_auth(token).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.send(self.req(Method::DELETE, path).bearer_auth(token))
            .await
    }

    pub async fn login_resp(&self, login: &str, password: &str) -> Resp {
        self.send(
            self.req(Method::POST, "/api/v1/auth/login")
                .json(&json!({"login": login, "password": password})),
        )
        .await
    }

    pub async fn login(&self, login: &str, password: &str) -> String {
        let r = self.login_resp(login, password).await.expect(200);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    /// Creates as the admin; the new object's id.
    pub async fn created(&self, path: &str, body: Value) -> String {
        self.post(path, &self.admin, body).await.expect(201).id()
    }

    /// A community with a unique code.
    pub async fn community(&self, name: &str) -> String {
        let code = format!("c{}", &Uuid::now_v7().simple().to_string()[20..]);
        self.created("/api/v1/communities", json!({"code": code, "name": name}))
            .await
    }

    /// A user holding `role` in `community`; returns (user id, access token).
    pub async fn user(&self, role: &str, community: Option<&str>) -> (String, String) {
        let username = format!("u{}", &Uuid::now_v7().simple().to_string()[16..]);
        let r = self
            .post(
                "/api/v1/users",
                &self.admin,
                json!({"username": username, "display_name": "测试用户", "password": PASSWORD,
                       "roles": [{"role": role, "community_id": community}]}),
            )
            .await
            .expect(201);
        let token = self.login(&username, PASSWORD).await;
        (r.id(), token)
    }

    pub async fn grid(&self, community: &str, name: &str, workers: &[&str]) -> String {
        let path = format!("/api/v1/communities/{community}/grids");
        self.created(&path, json!({"name": name, "grid_worker_ids": workers}))
            .await
    }

    /// A team of volunteers.
    pub async fn team(&self, community: &str, name: &str, members: &[&str]) -> String {
        let path = format!("/api/v1/communities/{community}/teams");
        self.created(&path, json!({"name": name, "member_ids": members}))
            .await
    }

    /// A service type needing `skills`, with the deadlines of the community's policy.
    pub async fn service_type(
        &self,
        community: &str,
        code: &str,
        name: &str,
        skills: &[&str],
    ) -> String {
        let path = format!("/api/v1/communities/{community}/service-types");
        self.created(
            &path,
            json!({"code": code, "name": name, "required_skills": skills}),
        )
        .await
    }

    pub async fn resident(&self, community: &str, body: Value) -> Resp {
        self.post(
            &format!("/api/v1/communities/{community}/residents"),
            &self.admin,
            body,
        )
        .await
    }

    pub async fn volunteer(&self, community: &str, user_id: &str, extra: Value) -> Resp {
        let mut body = json!({"user_id": user_id, "name": "志愿者小王", "phone": "13900001111", "skills": ["smartphone_help"],
                              "availability": [{"weekday": 1, "start": "09:00", "end": "11:00"}]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post(
            &format!("/api/v1/communities/{community}/volunteers"),
            &self.admin,
            body,
        )
        .await
    }

    /// A volunteer's account and profile (`extra` as in [`Self::volunteer`]); returns
    /// (volunteer id, access token).
    pub async fn volunteer_account(&self, community: &str, extra: Value) -> (String, String) {
        let (user_id, token) = self.user("volunteer", Some(community)).await;
        let id = self
            .volunteer(community, &user_id, extra)
            .await
            .expect(201)
            .id();
        (id, token)
    }

    /// One number the database holds about row `id` (`$1` in `sql`): what the API does not show.
    pub async fn scalar(&self, sql: &'static str, id: &str) -> i64 {
        let id = Uuid::parse_str(id).unwrap();
        on_test_db!(self, p => sqlx::query_scalar(sql).bind(id).fetch_one(p).await).unwrap()
    }
}

/// A valid ID-card number (GB 11643 check digit) for a birth date `yyyymmdd` and sequence.
pub fn id_card(birth: &str, seq: u32) -> String {
    let body = format!("140402{birth}{:03}", seq % 1000);
    format!(
        "{body}{}",
        huying::domain::id_card::check_character(&body).expect("17 digits")
    )
}

/// `n` instances started at once on one fresh database, each with its own server (and, if the
/// tweak sets an interval, its own sweeper).
pub async fn spawn_instances(n: usize, tweak: impl Fn(&mut Config)) -> Vec<TestApp> {
    let db = TestDb::new().await;
    let builds = (0..n).map(|_| {
        let mut config = test_config(&db.url);
        tweak(&mut config);
        Application::build(config)
    });
    let built = futures_util::future::join_all(builds).await;
    let mut apps = Vec::new();
    // The first instance owns the database; dropping it again from the others does nothing.
    let mut owner = Some(db);
    for app in built {
        let app = app.expect("every instance starts");
        let db = owner.take().unwrap_or_else(|| TestDb {
            url: apps
                .first()
                .map_or(String::new(), |a: &TestApp| a.db_url().to_string()),
        });
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped());
        let mut t = TestApp {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            admin: String::new(),
            state,
            _db: db,
        };
        t.admin = t.login("admin", ADMIN_PASSWORD).await;
        apps.push(t);
    }
    apps
}
