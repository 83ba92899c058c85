//! Several `pi-server` processes on one PostgreSQL behave as one service (issue 14): migrations
//! applied once when they start together, one agent per user, one shared block per persona,
//! login throttling counted across replicas. Processes, not threads.

use std::time::Duration;

use futures::future::join_all;
use pi_store::Engine;
use pi_store::testing::TestDatabase;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::process::{binary, free_port, start_server};

/// Runs `sql` (one `count(*) AS n` row) on the test database.
async fn count(url: &str, sql: &str) -> i64 {
    let db = pi_store::connect(url).await.unwrap();
    let row = db
        .connection()
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap();
    let n = row.try_get::<i64>("", "n").unwrap();
    db.close().await.unwrap();
    n
}

/// `pi-server migrate` on `url`: its exit status and stderr.
async fn migrate(url: &str) -> (bool, String) {
    let output = binary()
        .env("DATABASE_URL", url)
        .env("ENVIRONMENT", "test")
        .env("RUST_LOG", "error")
        .arg("migrate")
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Three replicas and two `migrate` jobs start at once on an empty database: every one
/// succeeds, each migration is recorded once and nothing is left pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_apply_migrations_once() {
    let Some(test_db) = TestDatabase::new(Engine::Postgres).await else {
        return;
    };
    let url = test_db.url();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let (mut servers, jobs) = tokio::join!(
        join_all(ports.iter().map(|p| start_server(url, *p))),
        join_all((0..2).map(|_| migrate(url))),
    );
    for (ok, stderr) in &jobs {
        assert!(ok, "a migrate job failed: {stderr}");
    }
    let client = reqwest::Client::new();
    for port in &ports {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), StatusCode::OK, "replica on {port}");
    }
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/src"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with('m') && name.ends_with(".rs")
        })
        .count();
    assert_eq!(
        count(url, "SELECT count(*) AS n FROM seaql_migrations").await,
        i64::try_from(files).unwrap()
    );
    let (ok, stderr) = migrate(url).await;
    assert!(ok, "{stderr}");
    for server in &mut servers {
        server.kill().await.unwrap();
    }
    test_db.destroy().await;
}

/// Three replicas behind no balancer at all (requests spread by hand): a user's first
/// messages to all three at once make one agent; twenty users stating the same role through
/// them make one shared persona block attached to all twenty agents; failed logins are counted
/// across replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_one_postgres_behave_as_one() {
    let Some(test_db) = TestDatabase::new(Engine::Postgres).await else {
        return;
    };
    let url = test_db.url();
    let (ok, stderr) = migrate(url).await;
    assert!(ok, "{stderr}");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers = join_all(ports.iter().map(|p| start_server(url, *p))).await;
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let signup = |base: String, email: String| {
        let client = client.clone();
        async move {
            let body: Value = client
                .post(format!("{base}/auth/signup"))
                .json(&json!({"email": email, "password": "password123", "display_name": "Rep"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let conversation = |base: String, token: String| {
        let client = client.clone();
        async move {
            let body: Value = client
                .post(format!("{base}/chat/conversations"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["id"].as_str().unwrap().to_owned()
        }
    };
    let say = |base: String, token: String, conv: String, text: &'static str| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/chat/conversations/{conv}/messages"))
                .bearer_auth(token)
                .json(&json!({ "content": text }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    // One user's first messages, one per replica, at once: one agent.
    let token = signup(bases[0].clone(), "first@example.com".into()).await;
    let mut sends = Vec::new();
    for base in &bases {
        let conv = conversation(base.clone(), token.clone()).await;
        sends.push(say(base.clone(), token.clone(), conv, "hello"));
    }
    for status in join_all(sends).await {
        assert_eq!(status, StatusCode::CREATED);
    }
    assert_eq!(
        count(url, "SELECT count(*) AS n FROM runtime_agents").await,
        1,
        "one agent for the user"
    );
    assert_eq!(
        count(
            url,
            "SELECT count(*) AS n FROM users u JOIN runtime_agents a ON a.id = u.agent_id"
        )
        .await,
        1
    );

    // Twenty users state the same role through the three replicas at once.
    let mut people = Vec::new();
    for i in 0..20 {
        let base = bases[i % 3].clone();
        let token = signup(base.clone(), format!("qsr{i}@example.com")).await;
        let conv = conversation(base.clone(), token.clone()).await;
        people.push((base, token, conv));
    }
    let statuses =
        join_all(people.into_iter().map(|(base, token, conv)| {
            say(base, token, conv, "I lead real estate for a QSR chain")
        }))
        .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(
        count(
            url,
            "SELECT count(*) AS n FROM runtime_blocks \
             WHERE label = 'qsr_real_estate_service_experience'"
        )
        .await,
        1,
        "one shared block for the persona"
    );
    assert_eq!(
        count(
            url,
            "SELECT count(*) AS n FROM runtime_agent_blocks l JOIN runtime_blocks b \
             ON b.id = l.block_id WHERE b.label = 'qsr_real_estate_service_experience'"
        )
        .await,
        20,
        "attached to all twenty agents"
    );
    assert_eq!(
        count(url, "SELECT count(*) AS n FROM runtime_agents").await,
        21
    );

    // Failed logins for one account, spread over the replicas: the fifth is the last let
    // through (LOGIN_MAX_ATTEMPTS_PER_ACCOUNT = 5 in all), not the fifteenth.
    signup(bases[0].clone(), "locked@example.com".into()).await;
    for attempt in 0..6 {
        let status = client
            .post(format!("{}/auth/login", bases[attempt % 3]))
            .json(&json!({"email": "locked@example.com", "password": "wrong-password"}))
            .send()
            .await
            .unwrap()
            .status();
        let expected = if attempt < 5 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, expected, "attempt {}", attempt + 1);
    }

    for server in &mut servers {
        server.kill().await.unwrap();
    }
    test_db.destroy().await;
}
