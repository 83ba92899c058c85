//! The persona lock under a burst: waiters in one process must not hold the pool's
//! connections while they wait, or the holder cannot finish its work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pi_domain::persona::{PersonaHandle, PersonaLock};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, PersonaLocks, connect_with};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Five waiters queue for a handle held on a pool of two connections; the holder still gets a
/// connection for its own statement (before the fix each waiter sat in `pg_advisory_lock` on a
/// connection, and the holder's statement waited out the 10 s acquire timeout), and then every
/// waiter takes the lock in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_leave_the_pool_to_the_holder() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(test_db) = TestDatabase::new(engine).await else {
            continue;
        };
        let db = connect_with(test_db.url(), Some(2)).await.unwrap();
        let locks = PersonaLocks::new(db.clone());
        let handle = PersonaHandle::parse("qsr_real_estate").unwrap();
        let held = locks.lock(&handle).await.unwrap();
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let locks = locks.clone();
                let handle = handle.clone();
                tokio::spawn(async move {
                    let guard = locks.lock(&handle).await.unwrap();
                    guard.release().await;
                })
            })
            .collect();
        // Give the waiters time to queue (and, before the fix, to take the pool).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let backend = match engine {
            Engine::Sqlite => DbBackend::Sqlite,
            Engine::Postgres => DbBackend::Postgres,
        };
        let statement = db
            .connection()
            .query_one_raw(Statement::from_string(backend, "SELECT 1 AS one"));
        let answered = tokio::time::timeout(Duration::from_secs(5), statement)
            .await
            .expect("the holder got a connection while five waiters queued")
            .unwrap();
        assert!(answered.is_some(), "{engine:?}");
        assert!(
            waiters.iter().all(|w| !w.is_finished()),
            "{engine:?}: the lock excludes"
        );
        held.release().await;
        for waiter in waiters {
            tokio::time::timeout(Duration::from_secs(10), waiter)
                .await
                .expect("every waiter takes the lock in turn")
                .unwrap();
        }
        db.close().await.unwrap();
        test_db.destroy().await;
    }
}

/// A call that stops waiting for the lock (its client went away) while another replica holds
/// it does not leave a pooled session that is later granted the lock and never releases it:
/// once the holder releases, the lock can be taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_stops_waiting_leaves_no_lock_behind() {
    let Some(test_db) = TestDatabase::new(Engine::Postgres).await else {
        return;
    };
    let handle = PersonaHandle::parse("mall_leasing").unwrap();
    let replica_a = connect_with(test_db.url(), Some(2)).await.unwrap();
    let replica_b = connect_with(test_db.url(), Some(2)).await.unwrap();
    let (a, b) = (
        PersonaLocks::new(replica_a.clone()),
        PersonaLocks::new(replica_b.clone()),
    );
    let held = a.lock(&handle).await.unwrap();
    let gave_up = tokio::time::timeout(Duration::from_millis(300), b.lock(&handle)).await;
    assert!(gave_up.is_err(), "B waits while A holds the lock");
    held.release().await;
    // B's pool keeps working, and the lock is free for A and then for B.
    let again = tokio::time::timeout(Duration::from_secs(5), a.lock(&handle))
        .await
        .expect("the lock is free once A released it")
        .unwrap();
    again.release().await;
    let from_b = tokio::time::timeout(Duration::from_secs(5), b.lock(&handle))
        .await
        .expect("B can take it too")
        .unwrap();
    from_b.release().await;
    replica_a.close().await.unwrap();
    replica_b.close().await.unwrap();
    test_db.destroy().await;
}
