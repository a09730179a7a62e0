//! A PostgreSQL outage under load, on a throwaway cluster of the test's own (so it runs in both
//! passes): stopped with `-m immediate` for ten seconds while clients keep calling. While it is
//! away every API answer is a fast 503 `database_unavailable` and never another 5xx, liveness
//! stays up and readiness says no; once it is back the same instance serves again within
//! seconds, nothing acknowledged is lost, and every POST left without an answer resolves on a
//! retry under its `Idempotency-Key`, exactly once.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::migrate::MigrateDatabase;
use uuid::Uuid;

use crate::helpers::{TestDb, spawn_on};
use crate::spec::check_response;

/// How long a request waits for a connection (`HUYING_DB_ACQUIRE_TIMEOUT_MS`).
const ACQUIRE: Duration = Duration::from_secs(1);
/// A 503 is due within the acquire timeout plus a margin for a busy two-core machine.
const BOUND_503: Duration = Duration::from_secs(2);
/// A POST that claimed its key just before the cluster stopped waits twice: for the connection
/// its write needs, then for the one that gives the key back.
const BOUND_503_IN_FLIGHT: Duration = Duration::from_secs(3);
/// Readiness runs one query under the same timeout; it has less to do than an API request.
const BOUND_READY: Duration = Duration::from_millis(1500);
/// A key held by a request that lost the database may be taken over after this.
const LEASE: Duration = Duration::from_secs(2);
const BEFORE: Duration = Duration::from_secs(2);
const DOWN_FOR: Duration = Duration::from_secs(10);
/// From the cluster accepting connections again to the app's first success.
const RECOVERY: Duration = Duration::from_secs(5);
/// Load kept after recovery, to see that it holds.
const AFTER: Duration = Duration::from_secs(2);

/// A cluster in a temp folder owned by the `postgres` user (CI runs as root, and PostgreSQL
/// refuses to run as root); stopped and removed when dropped, also when the test panics.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Root runs the tools through `runuser -u postgres`; the postgres user runs them itself.
    via_runuser: bool,
}

impl Cluster {
    /// The newest PostgreSQL's binaries and whether `runuser` is needed, or why there is no
    /// way to run a cluster here.
    fn prerequisites() -> Result<(PathBuf, bool, (u32, u32)), String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no /usr/lib/postgresql ({e})"))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let version: u32 = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
                    .then_some((version, bin))
            })
            .max()
            .map(|(_, bin)| bin)
            .ok_or("no initdb and pg_ctl under /usr/lib/postgresql/*/bin")?;
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let ids = passwd
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 3 && f[0] == "postgres")
                    .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                    .flatten()
            })
            .ok_or("no postgres user")?;
        let me = std::fs::metadata("/proc/self")
            .map_err(|e| format!("cannot tell who runs the test ({e})"))?
            .uid();
        match me {
            0 => Ok((bin, true, ids)),
            uid if uid == ids.0 => Ok((bin, false, ids)),
            uid => Err(format!(
                "running as uid {uid}, neither root nor postgres: cannot run a cluster"
            )),
        }
    }

    fn create(bin: PathBuf, via_runuser: bool, (uid, gid): (u32, u32)) -> Self {
        let dir = std::env::temp_dir().join(format!("huying-outage-{}", Uuid::now_v7().simple()));
        std::fs::create_dir(&dir).expect("cluster folder");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Self {
            bin,
            dir,
            port,
            via_runuser,
        };
        if via_runuser {
            std::os::unix::fs::chown(&cluster.dir, Some(uid), Some(gid)).expect("chown");
        }
        let data = cluster.data();
        cluster.ok(
            "initdb",
            &[
                "-D",
                &data,
                "--auth=trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.via_runuser {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        // The postgres user may not be allowed into the test's working folder.
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
    }

    #[track_caller]
    fn ok(&self, tool: &str, args: &[&str]) {
        let out = self.run(tool, args);
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}\n{}\n{}\nserver log:\n{log}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        let data = self.data();
        self.ok(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
    }

    fn stop_immediately(&self) -> Output {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if Path::new(&self.data()).join("postmaster.pid").exists() {
            let _ = self.stop_immediately();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Post,
    Read,
    Health,
    Ready,
}

/// One call as a client saw it; status 0 when no answer came.
#[derive(Debug)]
struct Hit {
    kind: Kind,
    path: String,
    key: Option<String>,
    started: Instant,
    took: Duration,
    status: u16,
    code: String,
    retry_after: bool,
    replayed: bool,
    id: Option<String>,
}

impl Hit {
    fn ended(&self) -> Instant {
        self.started + self.took
    }

    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn is_db_503(&self) -> bool {
        self.status == 503 && self.code == "database_unavailable" && self.retry_after
    }
}

#[derive(Clone)]
struct Caller {
    client: reqwest::Client,
    base: String,
}

impl Caller {
    /// Calls and checks any answer against `openapi.yaml`.
    async fn call(
        &self,
        kind: Kind,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Hit {
        let mut rb = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(k) = key {
            rb = rb.header("idempotency-key", k);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let started = Instant::now();
        let mut hit = Hit {
            kind,
            path: path.to_string(),
            key: key.map(str::to_string),
            started,
            took: Duration::ZERO,
            status: 0,
            code: String::new(),
            retry_after: false,
            replayed: false,
            id: None,
        };
        let Ok(res) = rb.send().await else {
            hit.took = started.elapsed();
            return hit;
        };
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let Ok(bytes) = res.bytes().await else {
            hit.took = started.elapsed();
            return hit;
        };
        hit.took = started.elapsed();
        let template_path = path.split('?').next().unwrap_or(path);
        check_response(
            method.as_str(),
            template_path,
            status,
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            &bytes,
        );
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        hit.status = status;
        hit.code = body["code"].as_str().unwrap_or("").to_string();
        hit.retry_after = headers.contains_key("retry-after");
        hit.replayed = headers.contains_key("idempotent-replayed");
        hit.id = body["id"].as_str().map(str::to_string).or_else(|| {
            let location = headers.get("location")?.to_str().ok()?;
            (status == 303).then(|| location.rsplit('/').next().unwrap_or("").to_string())
        });
        hit
    }
}

fn show(h: &Hit, t0: Instant) -> String {
    format!(
        "{:?} {} key={:?} at {:?} took {:?}: {} {}",
        h.kind,
        h.path,
        h.key,
        h.started - t0,
        h.took,
        h.status,
        h.code
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_outage_under_load_gives_fast_503s_then_recovers_losing_nothing() {
    let (bin, via_runuser, ids) = match Cluster::prerequisites() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("outage test skipped: {why}");
            return;
        }
    };
    let cluster = Arc::new(Cluster::create(bin, via_runuser, ids));
    cluster.start();
    let url = cluster.url("huying");
    sqlx::Postgres::create_database(&url)
        .await
        .expect("create the database");
    let app = spawn_on(TestDb { url }, |c| {
        c.db_acquire_timeout = ACQUIRE;
        // More connections than concurrent clients: with the database up no call waits for one.
        c.db_max_connections = 10;
        c.idempotency_lease = LEASE;
    })
    .await;

    let c = app.community("停电社区").await;
    let grid = app.grid(&c, "第一网格", &[]).await;
    let (res_user, resident_token) = app.user("resident", Some(&c)).await;
    let resident = app
        .resident(
            &c,
            json!({"name": "孙大娘", "grid_id": grid, "user_id": res_user, "phone": "13812345678",
                   "address": "电力小区3号楼2单元501", "location": {"lat": 36.0, "lng": 113.0}}),
        )
        .await
        .expect(201)
        .id();
    let service_type = app.service_type(&c, "errands", "代购", &["errands"]).await;
    let (_, dispatcher) = app.user("dispatcher", Some(&c)).await;
    let order = json!({"resident_id": resident, "service_type_id": service_type,
                       "description": "帮忙买药和米面"});
    let first = app
        .post("/api/v1/help-requests", &resident_token, order.clone())
        .await
        .expect(201)
        .id();

    let caller = Caller {
        // A 303 (the write committed, its answer was lost) is an answer to check, not to follow.
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: app.base.clone(),
    };
    let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    let t0 = Instant::now();
    // Two clients placing requests, each under a new key.
    for _ in 0..2 {
        let (caller, hits, stop) = (caller.clone(), hits.clone(), stop.clone());
        let (token, order) = (resident_token.clone(), order.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let key = format!("outage-{}", Uuid::now_v7().simple());
                let h = caller
                    .call(
                        Kind::Post,
                        Method::POST,
                        "/api/v1/help-requests",
                        Some(&token),
                        Some(&key),
                        Some(&order),
                    )
                    .await;
                hits.lock().unwrap().push(h);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    // Two clients reading lists and single objects.
    let reads = [
        format!("/api/v1/help-requests?community_id={c}"),
        format!("/api/v1/help-requests/{first}"),
        format!("/api/v1/communities/{c}/residents"),
        format!("/api/v1/residents/{resident}"),
    ];
    for start in [0, 1] {
        let (caller, hits, stop) = (caller.clone(), hits.clone(), stop.clone());
        let (token, reads) = (dispatcher.clone(), reads.clone());
        load.push(tokio::spawn(async move {
            for path in reads.iter().cycle().skip(start) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let h = caller
                    .call(Kind::Read, Method::GET, path, Some(&token), None, None)
                    .await;
                hits.lock().unwrap().push(h);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    // An orchestrator asking for liveness and readiness.
    {
        let (caller, hits, stop) = (caller.clone(), hits.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for (kind, path) in [(Kind::Health, "/healthz"), (Kind::Ready, "/readyz")] {
                    let h = caller.call(kind, Method::GET, path, None, None, None).await;
                    hits.lock().unwrap().push(h);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }

    tokio::time::sleep(BEFORE).await;
    let stop_sent = Instant::now();
    let stopped = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.stop_immediately())
            .await
            .unwrap()
    };
    let down_at = Instant::now();
    assert!(stopped.status.success(), "pg_ctl stop: {stopped:?}");
    tokio::time::sleep(DOWN_FOR).await;
    let start_sent = Instant::now();
    {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.start())
            .await
            .unwrap();
    }
    let back_at = Instant::now();
    let first_success = loop {
        let found = hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| matches!(h.kind, Kind::Post | Kind::Read))
            .filter(|h| h.is_success() && h.ended() > start_sent)
            .map(Hit::ended)
            .min();
        if let Some(at) = found {
            break Some(at);
        }
        if back_at.elapsed() > RECOVERY + Duration::from_secs(3) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(AFTER).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await
            .expect("a load client panicked (an answer off the contract?)");
    }
    let hits = std::mem::take(&mut *hits.lock().unwrap());

    // What every answer must be, by when it was asked.
    let first_success = first_success.unwrap_or_else(|| {
        panic!(
            "no successful answer within {:?} of the cluster being back",
            RECOVERY + Duration::from_secs(3)
        )
    });
    let steady_again = first_success + Duration::from_secs(1);
    let mut problems = Vec::new();
    for h in &hits {
        let bound = match h.kind {
            Kind::Ready => BOUND_READY,
            Kind::Post if h.started < down_at => BOUND_503_IN_FLIGHT,
            _ => BOUND_503,
        };
        let away = h.started >= down_at && h.started + bound <= start_sent;
        let fault = match h.kind {
            Kind::Health if h.status != 200 => Some("liveness not 200"),
            Kind::Ready if !matches!(h.status, 200 | 503) => Some("readiness neither 200 nor 503"),
            Kind::Ready if away && h.status != 503 => Some("ready while the database is away"),
            Kind::Post | Kind::Read if !h.is_success() && !h.is_db_503() => {
                Some("neither a success nor a 503 database_unavailable with Retry-After")
            }
            Kind::Post | Kind::Read if away && !h.is_db_503() => {
                Some("not a 503 while the database is away")
            }
            _ if h.status == 503 && h.took > bound => Some("503 too slow"),
            _ if away && h.took > bound => Some("too slow while the database is away"),
            _ if h.status != 200 && h.status != 201 && h.ended() < stop_sent => {
                Some("not a success before the outage")
            }
            _ if h.status != 200 && h.status != 201 && h.started >= steady_again => {
                Some("not a success after recovery")
            }
            _ => None,
        };
        if let Some(f) = fault {
            problems.push(format!("{f}: {}", show(h, t0)));
        }
    }
    let max_took = |pred: &dyn Fn(&Hit) -> bool| {
        hits.iter()
            .filter(|h| pred(h))
            .map(|h| h.took)
            .max()
            .unwrap_or_default()
    };
    let api_503s = hits
        .iter()
        .filter(|h| h.kind != Kind::Ready && h.status == 503)
        .count();
    let away_calls = hits
        .iter()
        .filter(|h| h.kind != Kind::Health && h.started >= down_at && h.started < start_sent)
        .count();
    eprintln!(
        "outage: stop took {:?}, start took {:?}; {} calls, {away_calls} while away, {api_503s} API 503s \
         (slowest {:?} asked while away, bound {BOUND_503:?}; {:?} in flight at the stop, \
         bound {BOUND_503_IN_FLIGHT:?}); readiness 503 slowest {:?} (bound {BOUND_READY:?}); \
         liveness slowest {:?}; first success {:?} after the cluster was back ({:?} after the start command)",
        down_at - stop_sent,
        back_at - start_sent,
        hits.len(),
        max_took(&|h| h.kind != Kind::Ready && h.status == 503 && h.started >= down_at),
        max_took(&|h| h.kind != Kind::Ready && h.status == 503 && h.started < down_at),
        max_took(&|h| h.kind == Kind::Ready && h.status == 503),
        max_took(&|h| h.kind == Kind::Health),
        first_success.saturating_duration_since(back_at),
        first_success - start_sent,
    );
    assert!(
        api_503s > 0 && away_calls > 0,
        "the outage was not seen: {api_503s} 503s"
    );
    assert!(
        problems.is_empty(),
        "{} answers off the mark, e.g.:\n{}",
        problems.len(),
        problems[..problems.len().min(20)].join("\n")
    );
    assert!(
        first_success.saturating_duration_since(back_at) < RECOVERY,
        "recovered after {:?}",
        first_success.saturating_duration_since(back_at)
    );

    // Nothing acknowledged is lost.
    let acknowledged: Vec<(&str, &str)> = hits
        .iter()
        .filter(|h| h.kind == Kind::Post && h.status == 201)
        .map(|h| {
            (
                h.key.as_deref().unwrap(),
                h.id.as_deref().expect("201 with an id"),
            )
        })
        .collect();
    assert!(!acknowledged.is_empty());
    for (_, id) in &acknowledged {
        app.get(&format!("/api/v1/help-requests/{id}"), &dispatcher)
            .await
            .expect(200);
    }

    // Every POST left without a success resolves under its key: a replay of what was done, or
    // the one run it never had. A key held by a request that lost the database answers 409
    // `idempotency_in_progress` until its lease runs out.
    let mut pending: Vec<&str> = hits
        .iter()
        .filter(|h| h.kind == Kind::Post && h.status != 201)
        .map(|h| h.key.as_deref().unwrap())
        .collect();
    let unanswered = pending.len();
    let mut resolved: Vec<(String, String, bool)> = Vec::new();
    let mut refused = Vec::new();
    let mut last = std::collections::HashMap::new();
    let retried_from = Instant::now();
    let deadline = retried_from + LEASE + Duration::from_secs(5);
    while !pending.is_empty() {
        let mut still = Vec::new();
        for key in pending {
            let h = caller
                .call(
                    Kind::Post,
                    Method::POST,
                    "/api/v1/help-requests",
                    Some(&resident_token),
                    Some(key),
                    Some(&order),
                )
                .await;
            match (h.status, h.code.as_str()) {
                (201 | 303, _) => resolved.push((key.to_string(), h.id.unwrap(), h.replayed)),
                (409, "idempotency_in_progress") | (503, _) | (0, _) => {
                    last.insert(key, format!("{} {}", h.status, h.code));
                    still.push(key);
                }
                _ => refused.push(show(&h, t0)),
            }
        }
        pending = still;
        if pending.is_empty() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for (_, id, _) in &resolved {
        app.get(&format!("/api/v1/help-requests/{id}"), &dispatcher)
            .await
            .expect(200);
    }
    let replays = resolved.iter().filter(|r| r.2).count();
    let placed = app
        .scalar(
            "select count(*) from help_requests where resident_id = $1",
            &resident,
        )
        .await;
    let mut ids: Vec<&str> = acknowledged.iter().map(|a| a.1).collect();
    ids.extend(resolved.iter().map(|r| r.1.as_str()));
    ids.push(&first);
    let listed = ids.len();
    ids.sort_unstable();
    ids.dedup();
    eprintln!(
        "outage: {} acknowledged, {unanswered} unanswered: {} resolved on retry ({replays} replays), \
         {} still held, {} refused; {placed} requests stored for the resident, {} ids answered (the first one's included)",
        acknowledged.len(),
        resolved.len(),
        pending.len(),
        refused.len(),
        listed,
    );
    assert_eq!(ids.len(), listed, "one key, one request: an id came twice");
    assert!(refused.is_empty(), "retries refused: {refused:#?}");
    let held: Vec<(&str, &String)> = pending.iter().map(|k| (*k, &last[k])).collect();
    assert!(
        held.is_empty(),
        "{} keys still held after {:?} of retries, their lease being {LEASE:?}: {held:?}",
        held.len(),
        deadline - retried_from,
    );
    assert_eq!(
        placed as usize, listed,
        "requests stored for the resident versus keys that succeeded (a retry ran twice?)"
    );
}
