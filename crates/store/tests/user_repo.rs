//! One story through the `UserRepo` port, run against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pi_domain::user::{
    CreateUserError, DisplayName, Email, NewUser, PasswordHash, UserId, UserRepo,
};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmUserRepo};

fn new_user(email: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Ada Lovelace").unwrap(),
        password_hash: PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu"),
        is_admin: false,
    }
}

pi_store::engine_tests!(pi_store::testing::on_engine => [user_story]);

async fn user_story(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let db = pi_store::connect(test_db.url()).await.unwrap();
    assert_eq!(db.engine(), engine);
    db.migrate().await.unwrap();
    // Migrating twice is a no-op.
    db.migrate().await.unwrap();
    let repo = SeaOrmUserRepo::new(db.clone());

    let created = repo.create(new_user("ada@example.com")).await.unwrap();
    assert_eq!(created.email.as_str(), "ada@example.com");
    assert!(!created.is_admin);
    assert_eq!(created.agent_id, None);

    let by_email = repo
        .find_by_email(&Email::parse("ADA@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email, created, "what we read back equals what we wrote");
    let by_id = repo.find_by_id(created.id).await.unwrap().unwrap();
    assert_eq!(by_id, created);

    assert!(repo.find_by_id(UserId::new()).await.unwrap().is_none());
    assert!(
        repo.find_by_email(&Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let dup = repo.create(new_user("ada@example.com")).await.unwrap_err();
    assert!(matches!(dup, CreateUserError::Duplicate), "{dup:?}");

    let admin = repo.set_admin(created.id, true).await.unwrap().unwrap();
    assert!(admin.is_admin);
    assert!(admin.updated_at >= created.updated_at);
    assert!(repo.set_admin(UserId::new(), true).await.unwrap().is_none());

    db.close().await.unwrap();
    test_db.destroy().await;
}

#[tokio::test]
async fn unsupported_url_is_refused() {
    let err = pi_store::connect("mysql://localhost/x").await.unwrap_err();
    assert!(matches!(err, pi_store::StoreError::UnsupportedUrl));
}
