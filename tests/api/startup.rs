//! Starting up: any number of instances on one database, at once.

use huying::startup::Application;

use crate::helpers::{TestDb, test_config};

#[tokio::test]
async fn three_instances_started_at_once_on_an_empty_database_all_come_up_with_one_admin() {
    let db = TestDb::empty().await;
    let (a, b, c) = tokio::join!(
        Application::build(test_config(&db.url)),
        Application::build(test_config(&db.url)),
        Application::build(test_config(&db.url)),
    );
    let apps = [a, b, c].map(|r| r.expect("every instance starts"));
    let state = apps[0].state();
    let admins: i64 = match &state.db {
        huying::store::Db::Sqlite(p) => {
            sqlx::query_scalar("select count(*) from users where username = 'admin'")
                .fetch_one(p)
                .await
        }
        huying::store::Db::Postgres(p) => {
            sqlx::query_scalar("select count(*) from users where username = 'admin'")
                .fetch_one(p)
                .await
        }
    }
    .unwrap();
    assert_eq!(admins, 1);
    for app in &apps {
        app.state().db.close().await;
    }
}

#[tokio::test]
async fn an_instance_with_another_data_key_or_jwt_secret_refuses_to_start_and_says_which() {
    let db = TestDb::new().await;
    let first = Application::build(test_config(&db.url))
        .await
        .expect("the first instance starts");
    let mut other_key = test_config(&db.url);
    other_key.data_key = Some("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=".into());
    let e = Application::build(other_key).await.err().expect("refused");
    assert!(e.to_string().contains("HUYING_DATA_KEY"), "{e}");
    let mut other_secret = test_config(&db.url);
    other_secret.jwt_secret = Some("another-secret-of-enough-length-0123456789".into());
    let e = Application::build(other_secret)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("HUYING_JWT_SECRET"), "{e}");
    // The same keys start as often as wanted; a deliberate rotation is accepted once recorded.
    let again = Application::build(test_config(&db.url))
        .await
        .expect("same keys");
    let mut rotated = test_config(&db.url);
    rotated.jwt_secret = Some("another-secret-of-enough-length-0123456789".into());
    huying::startup::accept_jwt_secret(&rotated).await.unwrap();
    let after = Application::build(rotated).await.expect("rotated secret");
    for app in [first, again, after] {
        app.state().db.close().await;
    }
}

#[tokio::test]
async fn a_start_without_a_database_retries_then_says_where_it_tried_and_why() {
    let mut config = test_config("postgres://postgres@127.0.0.1:1/huying");
    config.db_connect_wait = std::time::Duration::from_millis(600);
    config.db_acquire_timeout = std::time::Duration::from_millis(300);
    let started = std::time::Instant::now();
    let e = Application::build(config).await.err().expect("no database");
    let said = e.to_string();
    assert!(said.contains("127.0.0.1:1"), "{said}");
    assert!(said.contains("cannot reach the database"), "{said}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn a_stop_lets_the_sweeper_finish_its_step_then_closes_the_database() {
    let db = TestDb::new().await;
    let mut config = test_config(&db.url);
    config.sweep_interval = std::time::Duration::from_millis(20);
    let app = Application::build(config).await.expect("starts");
    let (handle, state, port) = (app.handle(), app.state().clone(), app.port());
    let running = tokio::spawn(app.run_until_stopped());
    let health = format!("http://127.0.0.1:{port}/healthz");
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    handle.stop(true).await;
    let served = tokio::time::timeout(std::time::Duration::from_secs(20), running)
        .await
        .expect("stops in time")
        .expect("no panic");
    assert!(served.is_ok());
    let closed = match &state.db {
        huying::store::Db::Sqlite(p) => p.is_closed(),
        huying::store::Db::Postgres(p) => p.is_closed(),
    };
    assert!(closed, "the pool is closed once the sweeper stopped");
    assert!(reqwest::get(&health).await.is_err(), "no longer listening");
}
