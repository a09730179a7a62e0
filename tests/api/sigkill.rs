//! kill -9: the server runs as a child process and is killed with SIGKILL while clients place
//! help requests under `Idempotency-Key`s, at a moment when its sweeper holds timers and a write
//! has committed without its answer being stored; then it is started again on the same database.
//! Every acknowledged request is there with its timeline; every key left without an answer
//! resolves on a retry as its state says (the stored answer, a 303 to what the first attempt
//! wrote, or the one run it never had), so no request is placed twice; and the timers the dead
//! process left, held or due, run once in the new one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

use crate::help_requests::world;
use crate::helpers::{ADMIN_PASSWORD, DATA_KEY, on_test_db};
use crate::spec::check_response;

/// How long a request holds its key (`HUYING_IDEMPOTENCY_LEASE_SECS`): a key held by a request
/// the kill cut short is free again after this.
const LEASE: Duration = Duration::from_secs(2);
const CLIENTS: usize = 6;
/// Load before the kill, so that requests are acknowledged and their first timers fall due.
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1200);
/// After that, the kill waits at most this long for a moment that holds every case.
const WAIT_FOR_THE_MOMENT: Duration = Duration::from_secs(3);
/// From the restarted server being ready until every timer left due has run.
const TIMERS_BOUND: Duration = Duration::from_secs(8);
const PATH: &str = "/api/v1/help-requests";

/// The server's output, shown when the test fails, removed otherwise.
struct Log(PathBuf);

impl Drop for Log {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.0).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "server log (last 60 lines of {}):\n{}",
                lines.len(),
                lines[lines.len().saturating_sub(60)..].join("\n")
            );
        }
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The `huying` binary serving one database; killed when dropped, so that no process outlives
/// the test.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts it on a free port with fixed keys (a restart must share them) and waits until it
    /// is ready.
    async fn start(db_url: &str, log: &Log) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log.0)
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_huying"));
        for (name, _) in std::env::vars() {
            if name.starts_with("HUYING_") || name == "DATABASE_URL" {
                cmd.env_remove(name);
            }
        }
        let data_dir = std::env::temp_dir().join("huying-tests");
        cmd.arg("serve")
            .env("HUYING_DATABASE_URL", db_url)
            .env("HUYING_HOST", "127.0.0.1")
            .env("HUYING_PORT", port.to_string())
            .env("HUYING_WORKERS", "2")
            .env("HUYING_DATA_DIR", &data_dir)
            // The JWT secret is derived from the data key, as in the in-process test server that
            // set the database up: its tokens hold here.
            .env("HUYING_DATA_KEY", DATA_KEY)
            .env("HUYING_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HUYING_DB_MAX_CONNECTIONS", "8")
            // A busy two-core machine is not an outage: no 503 for a slow connection.
            .env("HUYING_DB_ACQUIRE_TIMEOUT_MS", "10000")
            .env("HUYING_SWEEP_INTERVAL_MS", "100")
            .env("HUYING_IDEMPOTENCY_LEASE_SECS", LEASE.as_secs().to_string())
            .env("HUYING_LOG_FORMAT", "text")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out);
        let mut server = Self {
            child: cmd.spawn().expect("the server starts"),
            base: format!("http://127.0.0.1:{port}"),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited while starting: {status}");
            }
            let ready = client.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "the server is not ready in 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `sig` to the server (not yet reaped, so the pid is still its own).
    fn signal(&self, sig: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) on a pid we own; it touches no memory of ours.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "signal {sig}: {}", std::io::Error::last_os_error());
    }

    fn kill(&mut self) {
        // `Child::kill` is SIGKILL on Unix: no shutdown, no flush, sockets closed by the kernel.
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A POST as its client saw it; no status when no answer came.
#[derive(Debug, Clone)]
struct Posted {
    key: String,
    status: Option<u16>,
    code: String,
    body: Value,
    replayed: bool,
    location: Option<String>,
}

/// Places the order under `key`; any answer is checked against `openapi.yaml`.
async fn post(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    order: &Value,
) -> Posted {
    let mut p = Posted {
        key: key.to_string(),
        status: None,
        code: String::new(),
        body: Value::Null,
        replayed: false,
        location: None,
    };
    let sent = client
        .post(format!("{base}{PATH}"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(order)
        .send()
        .await;
    let Ok(res) = sent else { return p };
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let Ok(bytes) = res.bytes().await else {
        return p;
    };
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    check_response("POST", PATH, status, content_type, &bytes);
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    p.status = Some(status);
    p.replayed = header("idempotent-replayed") == Some("true");
    p.location = header("location").map(str::to_string);
    p.body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    p.code = p.body["code"].as_str().unwrap_or("").to_string();
    p
}

/// How a key left without an answer resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// The first attempt's answer was stored: replayed.
    Replayed,
    /// The first attempt's write committed, its answer was lost: `303` to what it wrote.
    SeeOther,
    /// The first attempt never committed (or never arrived): this retry ran it.
    RanNow,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_with_sigkill_under_load_loses_nothing_and_doubles_nothing_on_restart() {
    // A respond deadline of one minute and its 催办 reminder at 1 % of it: every request gets a
    // timer due 0.6 s after it is placed, so the sweeper is busy while clients place requests.
    let sla = json!({"respond_minutes": 1, "resolve_hours": 1});
    let policy = json!({"sla": {"emergency": sla, "urgent": sla, "normal": sla},
                        "deadlines": {"remind_at_percent": 1}});
    // Set up in process; that server stays up with its sweeper off, serving nothing more: from
    // here on the helpers talk to the child.
    let mut w = world(2, policy).await;
    let db_url = w.app.db_url().to_string();
    let log =
        Log(std::env::temp_dir().join(format!("huying-sigkill-{}.log", Uuid::now_v7().simple())));
    let mut server = Server::start(&db_url, &log).await;
    w.app.base = server.base.clone();
    let order = json!({"resident_id": w.resident, "service_type_id": w.service_type,
                       "description": "帮忙买药和米面"});
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Clients placing requests, each under a new key, until told to stop.
    let posted: Arc<Mutex<Vec<Posted>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, base, posted, stop) = (
            client.clone(),
            server.base.clone(),
            posted.clone(),
            stop.clone(),
        );
        let (token, order) = (w.dispatcher.clone(), order.clone());
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let key = format!("kill9-{c}-{n}");
                let p = post(&client, &base, &token, &key, &order).await;
                posted.lock().unwrap().push(p);
            }
        }));
    }
    tokio::time::sleep(LOAD_BEFORE_KILL).await;
    // Killed at a moment that holds every case: the server is frozen (SIGSTOP) and looked at,
    // and killed if its sweeper holds timers and a request has committed its write but not yet
    // stored its answer; thawed and looked at again a moment later otherwise. Frozen, nothing it
    // holds changes before the kill.
    const HELD: &str = "select count(*) from timers where locked_until > $1";
    const ANSWER_PENDING: &str = "select key from idempotency_keys
        where key like 'kill9-%' and committed_at is not null and status_code is null";
    // A frozen SQLite writer may hold a lock a reader needs (its WAL index) until the busy
    // timeout: a look that fails or takes long is a look that found nothing.
    // A statement the server sent just before it froze still runs in PostgreSQL: a key is taken
    // as caught only if it is still without its answer a moment later.
    let caught = || async {
        let t = huying::store::now();
        let look = async {
            on_test_db!(w.app, p => {
                let held: i64 = sqlx::query_scalar(HELD).bind(t).fetch_one(p).await?;
                let pending: Vec<String> = sqlx::query_scalar(ANSWER_PENDING).fetch_all(p).await?;
                if held == 0 || pending.is_empty() {
                    return Ok(false);
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
                let still: Vec<String> = sqlx::query_scalar(ANSWER_PENDING).fetch_all(p).await?;
                Ok::<_, sqlx::Error>(pending.iter().any(|k| still.contains(k)))
            })
        };
        match tokio::time::timeout(Duration::from_millis(300), look).await {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                eprintln!("sigkill: a look at the frozen server failed: {e}");
                false
            }
            Err(_) => {
                eprintln!("sigkill: a look at the frozen server took over 300 ms");
                false
            }
        }
    };
    let waited = Instant::now();
    let mut looks = 0;
    while waited.elapsed() < WAIT_FOR_THE_MOMENT {
        server.signal(libc::SIGSTOP);
        looks += 1;
        if caught().await {
            break;
        }
        server.signal(libc::SIGCONT);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let kill_after = waited.elapsed();
    stop.store(true, Ordering::Relaxed);
    server.kill();
    let killed_at = huying::store::now();
    for c in clients {
        c.await
            .expect("a client panicked (an answer off the contract?)");
    }
    let posted = std::mem::take(&mut *posted.lock().unwrap());
    let odd: Vec<&Posted> = posted
        .iter()
        .filter(|p| p.status.is_some_and(|s| s != 201))
        .collect();
    assert!(
        odd.is_empty(),
        "answers before the kill other than 201: {odd:#?}"
    );
    let acked: Vec<&Value> = posted
        .iter()
        .filter(|p| p.status == Some(201))
        .map(|p| &p.body)
        .collect();
    let unanswered: Vec<&str> = posted
        .iter()
        .filter(|p| p.status.is_none())
        .map(|p| p.key.as_str())
        .collect();
    assert!(
        !acked.is_empty(),
        "nothing was acknowledged before the kill"
    );
    assert!(
        !unanswered.is_empty(),
        "no request was cut short by the kill"
    );

    // Timers the dead process had leased: their lease, far longer than this test, is made to end
    // now (time passing); the new process must take them and run them.
    const HELD_IDS: &str = "select id from timers where locked_until > $1";
    const LAPSE: &str = "update timers set locked_until = $1 where locked_until > $1";
    let held: Vec<Uuid> =
        on_test_db!(w.app, p => sqlx::query_scalar(HELD_IDS).bind(killed_at).fetch_all(p).await)
            .unwrap();
    // The kill is timed for a moment when the sweeper holds a lease, but with small leases the
    // steps may finish and the lease clear in the instant before the signal lands; then only the
    // due timers below show that timers resume.
    if held.is_empty() {
        eprintln!("sigkill: the sweeper held no timer at the kill; checking the due ones only");
    }
    on_test_db!(w.app, p => sqlx::query(LAPSE).bind(killed_at).execute(p).await.map(|r| r.rows_affected())).unwrap();
    const DUE: &str = "select count(*) from timers where due_at <= $1";
    let due_at_kill: i64 =
        on_test_db!(w.app, p => sqlx::query_scalar(DUE).bind(killed_at).fetch_one(p).await)
            .unwrap();

    // Started again on the same database.
    let restart = Instant::now();
    drop(server);
    let server = Server::start(&db_url, &log).await;
    let restart_took = restart.elapsed();
    w.app.base = server.base.clone();

    // What the dead process left under each key decides what a retry must get: no key or an
    // attempt that never committed, a run now; a committed write without its stored answer, a
    // 303 to it; a stored answer, that answer.
    const KEYS: &str = "select key, committed_at is not null, status_code is not null
        from idempotency_keys where key like 'kill9-%'";
    let left: Vec<(String, bool, bool)> =
        on_test_db!(w.app, p => sqlx::query_as(KEYS).fetch_all(p).await).unwrap();
    let left: BTreeMap<String, (bool, bool)> =
        left.into_iter().map(|(k, c, s)| (k, (c, s))).collect();
    let expected = |key: &str| match left.get(key) {
        None | Some((false, false)) => Outcome::RanNow,
        Some((true, false)) => Outcome::SeeOther,
        Some((_, true)) => Outcome::Replayed,
    };

    // Every key without an answer resolves on a retry with the same body; while the key is held
    // by the killed attempt's lease the answer is 409 `idempotency_in_progress`.
    let mut pending = unanswered.clone();
    let mut resolved: BTreeMap<&str, (Outcome, String)> = BTreeMap::new();
    let mut waits = 0;
    let retried_from = Instant::now();
    let deadline = retried_from + LEASE + Duration::from_secs(5);
    loop {
        let mut still = Vec::new();
        for key in pending {
            let p = post(&client, &server.base, &w.dispatcher, key, &order).await;
            match (p.status, p.code.as_str()) {
                (Some(201), _) => {
                    let outcome = if p.replayed {
                        Outcome::Replayed
                    } else {
                        Outcome::RanNow
                    };
                    let id = p.body["id"].as_str().expect("201 with an id").to_string();
                    resolved.insert(key, (outcome, id));
                }
                (Some(303), _) => {
                    assert!(p.replayed, "303 without Idempotent-Replayed: {p:?}");
                    let location = p.location.as_deref().expect("303 with a Location");
                    let id = location
                        .strip_prefix("/api/v1/help-requests/")
                        .unwrap_or_else(|| panic!("303 to {location}"));
                    resolved.insert(key, (Outcome::SeeOther, id.to_string()));
                }
                (Some(409), "idempotency_in_progress") => {
                    waits += 1;
                    still.push(key);
                }
                _ => panic!("a retry answered {p:?}"),
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} keys still held {:?} after the restart (lease {LEASE:?}): {pending:?}",
            pending.len(),
            retried_from.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let retries_took = retried_from.elapsed();
    let off: Vec<(&str, Outcome, Outcome)> = resolved
        .iter()
        .filter(|(key, (got, _))| expected(key) != *got)
        .map(|(key, (got, _))| (*key, expected(key), *got))
        .collect();
    assert!(
        off.is_empty(),
        "retries answered otherwise than their key's state says (key, expected, got): {off:?}"
    );
    assert!(
        resolved.values().any(|(o, _)| *o == Outcome::SeeOther),
        "no write was caught committed with its answer lost ({looks} looks in {kill_after:?})"
    );

    // One key, one request: the ids answered are distinct, and they are exactly the requests
    // stored for the resident.
    let mut ids: Vec<String> = acked
        .iter()
        .map(|body| body["id"].as_str().expect("201 with an id").to_string())
        .collect();
    ids.extend(resolved.values().map(|(_, id)| id.clone()));
    let answered: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(
        answered.len(),
        ids.len(),
        "two keys answered with the same request"
    );
    const STORED: &str = "select id from help_requests where resident_id = $1";
    let resident = Uuid::parse_str(&w.resident).unwrap();
    let stored: Vec<Uuid> =
        on_test_db!(w.app, p => sqlx::query_scalar(STORED).bind(resident).fetch_all(p).await)
            .unwrap();
    let stored: BTreeSet<String> = stored.iter().map(Uuid::to_string).collect();
    assert_eq!(
        stored.difference(&answered).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "requests stored that no key answered with (a retry ran twice, or a lost key ran again)"
    );
    assert_eq!(
        answered.difference(&stored).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "requests answered that are not stored (an acknowledged write lost)"
    );

    // Timers resume: every request's respond reminder runs (those left due or held by the dead
    // process included), and the held timers are done.
    const UNREMINDED: &str =
        "select count(*) from help_requests where resident_id = $1 and not respond_reminded";
    const LEFT: &str = "select count(*) from timers where id = $1";
    let timers_from = Instant::now();
    loop {
        let unreminded: i64 = on_test_db!(w.app, p => sqlx::query_scalar(UNREMINDED).bind(resident).fetch_one(p).await).unwrap();
        let mut held_left = 0;
        for id in &held {
            let n: i64 =
                on_test_db!(w.app, p => sqlx::query_scalar(LEFT).bind(id).fetch_one(p).await)
                    .unwrap();
            held_left += n;
        }
        if unreminded == 0 && held_left == 0 {
            break;
        }
        assert!(
            timers_from.elapsed() < TIMERS_BOUND,
            "after {TIMERS_BOUND:?}: {unreminded} requests without their reminder, \
             {held_left} of the {} timers the dead process held not done",
            held.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let timers_took = timers_from.elapsed();

    // Every request readable, as acknowledged, with its timeline: placed first, its last move
    // into the state it is in, and exactly one respond reminder.
    let acked_status: BTreeMap<&str, &str> = acked
        .iter()
        .map(|b| (b["id"].as_str().unwrap(), b["status"].as_str().unwrap()))
        .collect();
    for id in &answered {
        let r = w
            .app
            .get(&format!("{PATH}/{id}"), &w.dispatcher)
            .await
            .expect(200);
        let status = r.body["status"].as_str().unwrap().to_string();
        if let Some(was) = acked_status.get(id.as_str()) {
            assert_eq!(&status, was, "request {id} is not as acknowledged");
        }
        let events = w
            .app
            .get(&format!("{PATH}/{id}/timeline?limit=200"), &w.dispatcher)
            .await
            .expect(200)
            .items();
        let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds.first(), Some(&"placed"), "{id}: {kinds:?}");
        let last_status = events
            .iter()
            .filter_map(|e| e["to_status"].as_str())
            .next_back();
        assert_eq!(last_status, Some(status.as_str()), "{id}: {kinds:?}");
        let reminders = events
            .iter()
            .filter(|e| e["kind"] == "reminder" && e["data"]["deadline"] == "respond")
            .count();
        assert_eq!(reminders, 1, "{id}: respond reminders in {kinds:?}");
    }

    let mut outcomes: BTreeMap<Outcome, usize> = BTreeMap::new();
    for (outcome, _) in resolved.values() {
        *outcomes.entry(*outcome).or_default() += 1;
    }
    eprintln!(
        "sigkill: killed after {looks} looks in {kill_after:?}; {} POSTs before the kill, {} acknowledged, {} unanswered; restart ready in {restart_took:?}; \
         unanswered keys resolved in {retries_took:?} ({waits} answers 409 while held): {outcomes:?}; \
         {} requests stored = {} keys; timers: {} held by the dead process, {due_at_kill} due at the kill, \
         all run {timers_took:?} after the retries ended",
        posted.len(),
        acked.len(),
        unanswered.len(),
        stored.len(),
        ids.len(),
        held.len(),
    );
    drop(server);
    drop(log);
}
