//! Logs: a client's malformed request is the client's fault, never logged at ERROR (that is
//! for our faults), whether the app sees it or the HTTP parser refuses it first.

use std::sync::{Mutex, Once};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

/// Log lines of the whole test binary that concern `logtest-` requests, are errors, or hold a
/// `wechat-leak-` secret (which none may).
pub static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut logs = LOGS.lock().unwrap();
        for line in text.lines() {
            if line.contains("logtest-")
                || line.contains("\"ERROR\"")
                || line.contains("wechat-leak-")
            {
                logs.push(line.to_string());
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The server's own logger (JSON lines), writing to `LOGS`; once for the test binary.
pub fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::new("info");
        huying::telemetry::init_with(true, filter, || Capture)
            .expect("no other logger in the api tests")
    });
}

/// Sends raw bytes (what reqwest refuses to send) and returns the status line.
async fn send_raw(app: &TestApp, request: &[u8]) -> String {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn malformed_client_headers_are_not_logged_as_errors() {
    capture_logs();
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let bytes = |b: &[u8]| HeaderValue::from_bytes(b).unwrap();
    let cases: Vec<(Method, String, &str, HeaderValue, u16)> = vec![
        (
            Method::GET,
            "/api/v1/me".into(),
            "authorization",
            bytes(b"Bearer not-a-token"),
            401,
        ),
        (
            Method::GET,
            "/api/v1/me".into(),
            "authorization",
            bytes(b"Basic Zm9vOmJhcg=="),
            401,
        ),
        (
            Method::GET,
            "/api/v1/me".into(),
            "authorization",
            bytes(b"Bearer \xff\xfe"),
            401,
        ),
        (
            Method::GET,
            "/api/v1/me".into(),
            "accept-language",
            bytes(b"\xff\xfe"),
            200,
        ),
        (
            Method::GET,
            "/api/v1/me".into(),
            "accept-language",
            bytes(b"en;q=x,,;;q"),
            200,
        ),
        (
            Method::PATCH,
            format!("/api/v1/communities/{c}"),
            "if-match",
            bytes(b"\"\xff\""),
            400,
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{c}/grids"),
            "idempotency-key",
            bytes(b"\xff"),
            400,
        ),
        (
            Method::POST,
            format!("/api/v1/communities/{c}/grids"),
            "content-type",
            bytes(b"\xff"),
            415,
        ),
    ];
    let mut ids = Vec::new();
    for (i, (method, path, name, value, status)) in cases.into_iter().enumerate() {
        let id = format!("logtest-{}-{i}", Uuid::now_v7().simple());
        let mut rb = app
            .req(method, &path)
            .header("x-request-id", &id)
            .header(name, value);
        if name != "authorization" {
            rb = rb.bearer_auth(&app.admin);
        }
        let res = rb.body("{}").send().await.unwrap();
        assert_eq!(res.status(), status, "{name}");
        ids.push(id);
    }
    // Requests the HTTP parser refuses before the app sees them.
    for request in [
        &b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}"[..],
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    ] {
        let status = send_raw(&app, request).await;
        assert!(status.starts_with("HTTP/1.1 400"), "{status}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logs: Vec<Value> = LOGS
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for id in &ids {
        let mine: Vec<&Value> = logs
            .iter()
            .filter(|l| l["span"]["request_id"] == id.as_str())
            .collect();
        assert!(
            mine.iter().any(|l| l["message"] == "request finished"),
            "{id} was not logged: the capture does not work"
        );
        for l in mine {
            assert!(
                ["INFO", "DEBUG", "TRACE"].contains(&l["level"].as_str().unwrap()),
                "{l}"
            );
        }
    }
    let parse_errors: Vec<&Value> = logs
        .iter()
        .filter(|l| l["level"] == "ERROR" && l.to_string().contains("parse error"))
        .collect();
    assert!(parse_errors.is_empty(), "{parse_errors:?}");
}
