//! Readiness of the SQLite database: a read-only database is reported, not only a dead one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pi_domain::health::HealthProbe;
use pi_store::testing::TestDatabase;
use pi_store::{DatabaseProbe, Engine};

/// Issue 11 (9): a SQLite database the server can only read (e.g. the file belongs to another
/// user) answered `SELECT 1`, so readiness said 200 while every write failed.
#[tokio::test]
async fn a_read_only_sqlite_database_is_not_ready() {
    let test_db = TestDatabase::new(Engine::Sqlite).await.unwrap();
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    assert!(DatabaseProbe::new(db.clone()).check().await.is_ok());
    db.close().await.unwrap();

    let read_only = test_db.url().replace("mode=rwc", "mode=ro");
    let db = pi_store::connect(&read_only).await.unwrap();
    let problem = DatabaseProbe::new(db.clone()).check().await.unwrap_err();
    assert!(problem.contains("read-only"), "{problem}");
    db.close().await.unwrap();
    test_db.destroy().await;
}
