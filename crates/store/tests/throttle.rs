//! The login-attempt counter on both databases: atomic under concurrency, shared by two pools
//! (two replicas), windows that end, reset and forgive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use pi_domain::auth::{AttemptCounter, ThrottleKey};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmAttemptCounter};

const WINDOW: Duration = Duration::from_secs(900);

pi_store::engine_tests!(pi_store::testing::on_engine => [counter_story]);

async fn counter_story(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let first = pi_store::connect(test_db.url()).await.unwrap();
    first.migrate().await.unwrap();
    let second = pi_store::connect(test_db.url()).await.unwrap();
    let replicas = [
        Arc::new(SeaOrmAttemptCounter::new(first.clone())),
        Arc::new(SeaOrmAttemptCounter::new(second.clone())),
    ];
    let key = ThrottleKey::account("Ada@Example.com");

    // 24 concurrent attempts through two pools: every count from 1 to 24 exactly once.
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let counter = Arc::clone(&replicas[i % 2]);
            let key = key.clone();
            tokio::spawn(async move { counter.record(&key, WINDOW).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    let mut attempts: Vec<u32> = counts.iter().map(|c| c.attempts).collect();
    attempts.sort_unstable();
    assert_eq!(attempts, (1..=24).collect::<Vec<_>>());
    let ends = counts[0].window_ends_at;
    assert!(counts.iter().all(|c| c.window_ends_at == ends));
    assert!(ends > chrono::Utc::now() + chrono::Duration::seconds(890));

    // Forgive takes one back; reset forgets the key.
    replicas[1].forgive(&key).await.unwrap();
    assert_eq!(replicas[0].record(&key, WINDOW).await.unwrap().attempts, 24);
    replicas[0].reset(&key).await.unwrap();
    assert_eq!(replicas[1].record(&key, WINDOW).await.unwrap().attempts, 1);

    // A window that has ended starts over.
    let client = ThrottleKey::client("203.0.113.9");
    for _ in 0..3 {
        replicas[0].record(&client, WINDOW).await.unwrap();
    }
    assert_eq!(
        replicas[0]
            .record(&client, Duration::ZERO)
            .await
            .unwrap()
            .attempts,
        1
    );
    first.close().await.unwrap();
    second.close().await.unwrap();
    test_db.destroy().await;
}
