//! Admission: API requests beyond `request_concurrency` wait their turn, and past
//! `request_queue_wait` are refused with 503 `server_busy`; health and the live stream never wait.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_with;

#[tokio::test]
async fn a_request_beyond_the_turns_is_refused_busy_and_health_still_answers() {
    let app = spawn_with(|c| {
        c.request_concurrency = 1;
        c.request_queue_wait = Duration::from_millis(200);
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // A request that holds the only turn: its body is promised and not yet sent.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let body = r#"{"login":"admin","password":"nope-nope-nope"}"#;
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let busy = app
        .get("/api/v1/me", &app.admin)
        .await
        .problem(503, "server_busy");
    assert!(busy.header("retry-after").is_some(), "Retry-After");
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // The turn comes back when the slow request ends.
    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut answer = vec![0u8; 12];
    slow.read_exact(&mut answer).await.unwrap();
    assert_eq!(
        &answer,
        b"HTTP/1.1 401",
        "{}",
        String::from_utf8_lossy(&answer)
    );
    app.get("/api/v1/me", &app.admin).await.expect(200);
}
