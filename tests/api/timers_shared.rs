//! Several instances on one database, each running its sweeper: offers expiring across them are
//! expired once each, rounds stop at the policy's attempts, and every timer step runs once.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_test_db, spawn_instances};

const REQUESTS: usize = 24;
const BROADCAST_EVERY: usize = 4;
const MAX_ATTEMPTS: i64 = 2;

/// Makes the open offers' time run out now: first the offers, then the expiry timers of requests
/// whose open offers have all expired (a timer due before its offers would find nothing to do).
async fn expire_open_offers(app: &TestApp) {
    const OFFERS: &str =
        "update dispatch_offers set expires_at = $1 where answer is null and expires_at > $1";
    const TIMERS: &str = "update timers set due_at = $1
        where kind = 'offer_expiry' and due_at > $1 and not exists (
            select 1 from dispatch_offers o
            where o.request_id = timers.request_id and o.answer is null and o.expires_at > $1)";
    let now = huying::store::now();
    on_test_db!(app, p => {
        sqlx::query(OFFERS).bind(now).execute(p).await.unwrap();
        sqlx::query(TIMERS).bind(now).execute(p).await.unwrap();
    });
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    on_test_db!(app, p => sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

/// Waits until `sql` counts `want`, or fails saying what it counted.
async fn wait_for(app: &TestApp, sql: &'static str, want: i64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = count(app, sql).await;
        if n == want {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {n} of {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The instance's count of finished timer steps of `kind`, from `/metrics`.
async fn steps(app: &TestApp, kind: &str) -> u64 {
    let label = format!("huying_timer_steps_total{{kind=\"{kind}\"}} ");
    app.text("/metrics")
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&label))
        .map_or(0, |n| n.trim().parse().unwrap())
}

#[tokio::test]
async fn three_instances_share_expiring_offers_and_every_timer_runs_once() {
    let apps = spawn_instances(3, |c| {
        c.sweep_interval = Duration::from_millis(25);
        // Small leases and two steps at a time, so that the instances take turns within a burst.
        c.timer_batch = 3;
        c.timer_concurrency = 2;
        c.db_max_connections = 6;
    })
    .await;
    let a = &apps[0];
    let c = a.community("三实例社区").await;
    a.patch(
        &format!("/api/v1/communities/{c}"),
        &a.admin,
        "\"1\"",
        json!({"policy": {"dispatch": {"max_attempts": MAX_ATTEMPTS, "broadcast_k": 2}}}),
    )
    .await
    .expect(200);
    let st = a.service_type(&c, "errands", "代购", &["errands"]).await;
    let resident = a
        .resident(
            &c,
            json!({"name": "孙大娘", "address": "电力小区3号楼", "location": {"lat": 36.0, "lng": 113.0}}),
        )
        .await
        .expect(201)
        .id();
    for i in 0..4 {
        a.volunteer_account(
            &c,
            json!({"skills": ["errands"], "availability": [],
                   "location": {"lat": 36.0 + 0.001 * f64::from(i + 1), "lng": 113.0}}),
        )
        .await;
    }
    let (_, dispatcher) = a.user("dispatcher", Some(&c)).await;

    // Placed through every instance; one in four is offered to two volunteers at once.
    let mut ids = Vec::new();
    for i in 0..REQUESTS {
        let mut body =
            json!({"resident_id": resident, "service_type_id": st, "description": "帮忙买药"});
        if i % BROADCAST_EVERY == 0 {
            body["mode"] = json!("broadcast");
        }
        let r = apps[i % 3]
            .post("/api/v1/help-requests", &dispatcher, body)
            .await
            .expect(201);
        assert_eq!(r.body["status"], "offered");
        ids.push(r.id());
    }

    // Nobody answers. The first offers run out together: every request gets its second round.
    expire_open_offers(a).await;
    wait_for(
        a,
        "select count(*) from help_requests where status = 'offered' and attempts = 2",
        REQUESTS as i64,
        "requests offered a second time",
    )
    .await;
    // The second offers run out: the attempts are spent, so every request is escalated.
    expire_open_offers(a).await;
    wait_for(
        a,
        "select count(*) from help_requests where status = 'escalated'",
        REQUESTS as i64,
        "requests escalated",
    )
    .await;
    // Let any step still under way finish before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut rounds = 0;
    for id in &ids {
        let offers = a
            .get(&format!("/api/v1/help-requests/{id}/offers"), &dispatcher)
            .await
            .expect(200)
            .items();
        let events = a
            .get(
                &format!("/api/v1/help-requests/{id}/timeline?limit=200"),
                &dispatcher,
            )
            .await
            .expect(200)
            .items();
        let of_kind =
            |k: &str| -> Vec<&Value> { events.iter().filter(|e| e["kind"] == k).collect() };
        let offered = of_kind("offered").len();
        assert_eq!(
            offered as i64, MAX_ATTEMPTS,
            "{id}: offered {offered} times"
        );
        rounds += offered;
        assert_eq!(of_kind("escalated").len(), 1, "{id}: one escalation");
        assert_eq!(
            of_kind("escalated")[0]["data"]["reason"],
            "attempts_exhausted"
        );
        let expired = of_kind("offer_expired");
        assert_eq!(expired.len(), offers.len(), "{id}: one expiry per offer");
        for o in &offers {
            assert_eq!(o["answer"], "expired", "{id}: {o}");
            assert!(o["attempt"].as_i64().unwrap() <= MAX_ATTEMPTS, "{o}");
            let named = expired
                .iter()
                .filter(|e| e["data"]["offer_id"] == o["id"])
                .count();
            assert_eq!(named, 1, "{id}: offer {} expired {named} times", o["id"]);
        }
    }

    // Each round left one expiry timer; each ran once, on one instance or another.
    let mut per_instance = Vec::new();
    for app in &apps {
        per_instance.push(steps(app, "offer_expiry").await);
    }
    assert_eq!(
        per_instance.iter().sum::<u64>(),
        rounds as u64,
        "offer expiry steps per instance: {per_instance:?} for {rounds} rounds"
    );
    assert!(
        per_instance.iter().filter(|n| **n > 0).count() >= 2,
        "the burst was shared: {per_instance:?}"
    );
    assert_eq!(
        count(a, "select count(*) from timers where kind = 'offer_expiry'").await,
        0
    );
}
