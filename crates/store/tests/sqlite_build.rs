//! The bundled SQLite is compiled as `.cargo/config.toml` asks (`LIBSQLITE3_FLAGS`): without
//! memory statistics, whose process-wide mutex every SQLite allocation would take.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[tokio::test]
async fn sqlite_is_built_without_memory_statistics() {
    let path = std::env::temp_dir().join(format!("pi-sqlite-build-{}.db", std::process::id()));
    let db = pi_store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
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
    db.close().await.unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "compile options: {options:?}"
    );
}
