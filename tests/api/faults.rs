//! When the database is away: a fast 503 with `Retry-After`, never a 500 or a long wait.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn with_the_database_away_requests_get_a_fast_503_and_liveness_stays_up() {
    let app = spawn_app().await;
    let c = app.community("甲").await;
    app.state.db.close().await;

    let started = Instant::now();
    let r = app
        .get(&format!("/api/v1/communities/{c}"), &app.admin)
        .await
        .problem(503, "database_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    let r = app
        .post(
            &format!("/api/v1/communities/{c}/grids"),
            &app.admin,
            json!({"name": "一网格"}),
        )
        .await
        .problem(503, "database_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    app.login_resp("admin", crate::helpers::ADMIN_PASSWORD)
        .await
        .problem(503, "database_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let ready = app.get("/readyz", "").await;
    assert_eq!(ready.status, 503);
    app.get("/healthz", "").await.expect(200);
}
