//! PostgreSQL: every pool connection is opened at start-up and kept (`connect_with`), so none
//! is opened inside an HTTP worker's runtime, which dies with the worker in a graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pi_store::testing::TestDatabase;
use pi_store::{Engine, connect_with};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[tokio::test]
async fn the_postgres_pool_opens_every_connection_up_front() {
    let Some(test_db) = TestDatabase::new(Engine::Postgres).await else {
        return;
    };
    let db = connect_with(test_db.url(), Some(5)).await.unwrap();
    let open = || async {
        let row = db
            .connection()
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    let mut n = 0;
    for _ in 0..100 {
        n = open().await;
        if n >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(n, 5, "five connections open with no load at all");
    db.close().await.unwrap();
    test_db.destroy().await;
}
