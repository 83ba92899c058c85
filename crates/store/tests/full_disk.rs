//! Issue 30: SQLite on a full disk. Every failed write is reported as "storage unavailable"
//! (not a bug), readiness says so, and once space is back writes work again without a restart:
//! no connection goes back to the pool inside a transaction holding the write lock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use pi_domain::chat::{ConversationId, ConversationRepo, MessageRepo, Role};
use pi_domain::health::HealthProbe;
use pi_domain::user::{DisplayName, Email, NewUser, PasswordHash, UserId, UserRepo};
use pi_store::testing::SmallDisk;
use pi_store::{DatabaseProbe, SeaOrmChatRepo, SeaOrmUserRepo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_unavailable_and_writes_recover_once_space_is_back() {
    let Some(disk) = SmallDisk::mount(4) else {
        return;
    };
    let url = format!("sqlite://{}/pi.db?mode=rwc", disk.path().display());
    let db = pi_store::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let users = SeaOrmUserRepo::new(db.clone());
    let chat = SeaOrmChatRepo::new(db.clone());
    let probe = DatabaseProbe::new(db.clone());
    let owner = users
        .create(NewUser {
            id: UserId::new(),
            email: Email::parse("disk@example.com").unwrap(),
            display_name: DisplayName::parse("D").unwrap(),
            password_hash: PasswordHash::new("h"),
            is_admin: false,
        })
        .await
        .unwrap()
        .id;
    let conv = chat
        .create(ConversationId::new(), owner, None)
        .await
        .unwrap();
    probe.check().await.unwrap();

    disk.fill();
    // Messages big enough that each needs new pages; more failures than the pool has
    // connections, so every connection has failed inside a transaction at least once.
    let big = "x".repeat(20_000);
    let (mut failures, mut stored_big) = (0, 0);
    for _ in 0..(pi_store::sqlite_pool() * 3) {
        match chat
            .append(owner, conv.id, Role::User, big.clone(), None)
            .await
        {
            Ok(_) => stored_big += 1,
            Err(e) => {
                assert!(e.is_unavailable(), "a full disk is not a bug: {e:#}");
                failures += 1;
            }
        }
    }
    assert!(
        failures >= 8,
        "only {failures} writes failed on a full disk"
    );
    let problem = probe.check().await.unwrap_err();
    assert!(problem.contains("refuses writes"), "{problem}");

    disk.free();
    let freed = Instant::now();
    // Readiness turns back by itself, and every write works within seconds.
    loop {
        if probe.check().await.is_ok() {
            break;
        }
        assert!(freed.elapsed() < Duration::from_secs(5), "still not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..(pi_store::sqlite_pool() * 4) {
        let started = Instant::now();
        chat.append(owner, conv.id, Role::User, format!("after {i}"), None)
            .await
            .unwrap_or_else(|e| panic!("write {i} after freeing space: {e:#}"));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "write {i} waited for a lock"
        );
    }
    let stored = MessageRepo::list(&chat, owner, conv.id)
        .await
        .unwrap()
        .unwrap();
    let big_rows = stored.iter().filter(|m| m.content == big).count();
    assert_eq!(big_rows, stored_big, "a failed write left a row");
    db.close().await.unwrap();
}
