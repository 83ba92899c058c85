//! PostgreSQL: every pool connection is opened at start-up and kept (`connect_with` opens the
//! first ones, `fill_pool` the rest on the caller's runtime), so none is opened inside an HTTP
//! worker's runtime, which dies with the worker in a graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use pi_domain::user::{Email, UserRepo};
use pi_store::SeaOrmUserRepo;
use pi_store::testing::TestDatabase;
use pi_store::{Engine, connect_with};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

#[tokio::test]
async fn the_postgres_pool_opens_every_connection_up_front() {
    let Some(test_db) = TestDatabase::new(Engine::Postgres).await else {
        return;
    };
    let db = connect_with(test_db.url(), Some(5)).await.unwrap();
    db.fill_pool();
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

/// A request that finds every connection busy for the whole acquire timeout fails as
/// unavailable and counts in `pi_db_pool_acquire_timeouts_total`, the exhausted-pool alert.
#[tokio::test]
async fn an_exhausted_pool_counts_acquire_timeouts() {
    let Some(test_db) = TestDatabase::new(Engine::Postgres).await else {
        return;
    };
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let migrator = connect_with(test_db.url(), Some(2)).await.unwrap();
    migrator.migrate().await.unwrap();
    migrator.close().await.unwrap();
    let db = connect_with(test_db.url(), Some(1)).await.unwrap();
    let busy = db.connection().begin().await.unwrap();
    let users = SeaOrmUserRepo::new(db.clone());
    let email = Email::parse("nobody@example.com").unwrap();
    assert!(users.find_by_email(&email).await.is_err());
    busy.rollback().await.unwrap();
    assert!(users.find_by_email(&email).await.unwrap().is_none());
    let timeouts: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "pi_db_pool_acquire_timeouts_total")
        .map(|(.., value)| value)
        .collect();
    assert_eq!(timeouts, vec![DebugValue::Counter(1)]);
    db.close().await.unwrap();
    test_db.destroy().await;
}

/// SQLite: a pooled connection is handed out without a ping first (a ping is a hop to the
/// connection's worker thread that proves nothing about a local file, paid on every query).
#[tokio::test]
async fn the_sqlite_pool_does_not_ping_before_each_acquire() {
    let Some(test_db) = TestDatabase::new(Engine::Sqlite).await else {
        return;
    };
    let db = connect_with(test_db.url(), None).await.unwrap();
    let pool = db.connection().get_sqlite_connection_pool();
    assert!(!pool.options().get_test_before_acquire());
    db.close().await.unwrap();
    test_db.destroy().await;
}
