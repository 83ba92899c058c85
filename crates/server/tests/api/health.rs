//! `/health`, `/healthz`, `/health/ready`.

use serde_json::Value;

use crate::helpers::TestApp;

pi_store::engine_tests!(crate::helpers::run_named => [
    health_reports_service_facts,
    healthz_is_an_alias,
    ready_checks_the_database,
    ready_is_503_when_the_database_is_down,
]);

async fn health_reports_service_facts(app: TestApp) {
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"], "pi-backend");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["environment"], "test");
}

async fn healthz_is_an_alias(app: TestApp) {
    let a: Value = app.get("/health").await.json().await.unwrap();
    let b: Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(a, b);
}

async fn ready_checks_the_database(app: TestApp) {
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"]["status"], "ok");
    let detail = body["checks"]["database"]["detail"].as_str().unwrap();
    assert!(detail.contains(app.engine.as_str()), "{detail}");
}

async fn ready_is_503_when_the_database_is_down(app: TestApp) {
    app.take_database_down().await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"]["status"], "error");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/health").await.status(), 200);
}

/// Issue 11 (9): the SQLite file deleted (or its directory) while the server runs. Writes
/// would go to an unlinked file and vanish at restart; readiness says so within one probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_when_the_sqlite_file_is_gone() {
    crate::helpers::run_on(pi_store::Engine::Sqlite, |app| async move {
        assert_eq!(app.get("/health/ready").await.status(), 200);
        let url = app.settings.database_url.expose().to_owned();
        let file = url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{file}{suffix}"));
        }
        let response = app.get("/health/ready").await;
        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["checks"]["database"]["status"], "error");
        let detail = body["checks"]["database"]["detail"].as_str().unwrap();
        // Gone, or already recreated empty by a new pool connection: either way not ready.
        assert!(
            detail.contains("is gone") || detail.contains("was replaced by another file"),
            "{detail}"
        );
    })
    .await;
}
