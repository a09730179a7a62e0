//! Starting up: any number of instances on one database, at once.

use huying::startup::Application;

use crate::helpers::{TestDb, test_config};

#[tokio::test]
async fn three_instances_started_at_once_on_an_empty_database_all_come_up_with_one_admin() {
    let db = TestDb::new().await;
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
