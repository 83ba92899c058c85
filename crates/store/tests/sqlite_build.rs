//! The bundled SQLite is compiled as `.cargo/config.toml` asks (`LIBSQLITE3_FLAGS`): without
//! memory statistics, whose process-wide mutex every SQLite allocation would take, and with the
//! query planner's stability guarantee, without which a statement with a bound `LIMIT` is
//! re-prepared on every execution. And each connection is opened as `pi_store::connect` says:
//! a 1 MiB page cache, and no more connections than two per core.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// A fresh SQLite file through pi-store's own pool (and so its connection options).
async fn open(name: &str) -> (pi_store::Database, PathBuf) {
    let path = std::env::temp_dir().join(format!("pi-sqlite-{name}-{}.db", std::process::id()));
    let db = pi_store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    (db, path)
}

async fn close(db: pi_store::Database, path: PathBuf) {
    db.close().await.unwrap();
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn sqlite_is_built_without_memory_statistics() {
    let (db, path) = open("build").await;
    let rows = db
        .connection()
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA compile_options",
        ))
        .await
        .unwrap();
    let options: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "compile_options").unwrap())
        .collect();
    close(db, path).await;
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "compile options: {options:?}"
    );
}

/// sea-orm binds every limit (`LIMIT ?`, `.one()` included). Without `SQLITE_ENABLE_QPSG`,
/// SQLite plans `LIMIT ?` from the bound value, so each new bind expires the statement and the
/// next step parses and plans it again (`sqlite_stmt.reprep` counts those).
#[tokio::test]
async fn a_bound_limit_does_not_re_prepare_the_statement() {
    use sea_orm::sqlx::{self, Row};

    let (db, path) = open("reprep").await;
    db.migrate().await.unwrap();
    let mut conn = db
        .connection()
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .unwrap();
    let sql = "SELECT id FROM users WHERE email = ? LIMIT ?";
    let stats = "SELECT run, reprep FROM sqlite_stmt WHERE sql = ?";
    // The first run may re-prepare once: this connection may have read the schema before the
    // migrations changed it. Count from there.
    let mut counts = Vec::new();
    for n in 1..=5_i64 {
        let rows = sqlx::query(sql)
            .bind("nobody@example.com")
            .bind(n)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert!(rows.is_empty());
        let row = sqlx::query(stats)
            .bind(sql)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        counts.push((row.get::<i64, _>("run"), row.get::<i64, _>("reprep")));
    }
    let (first, last) = (counts[0], counts[4]);
    drop(conn);
    close(db, path).await;
    assert!(
        last.0 - first.0 >= 4,
        "one cached statement ran them all: {counts:?}"
    );
    assert_eq!(
        last.1, first.1,
        "re-prepared on a new LIMIT: (run, reprep) {counts:?}"
    );
}

/// SQLite's default page cache is 2 MiB per connection; pi-store asks for 1 MiB, on every
/// connection the pool opens.
#[tokio::test]
async fn every_connection_caches_at_most_one_mebibyte_of_pages() {
    use sea_orm::sqlx;

    let (db, path) = open("cache").await;
    let pool = db.connection().get_sqlite_connection_pool();
    let most = pi_store::sqlite_pool();
    assert_eq!(pool.options().get_max_connections(), most);
    let mut held = Vec::new();
    for _ in 0..most {
        held.push(pool.acquire().await.unwrap());
    }
    for conn in &mut held {
        let size: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(size, -1024);
    }
    drop(held);
    close(db, path).await;
}
