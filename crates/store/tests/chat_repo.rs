//! One story through `ConversationRepo` + `MessageRepo`, run against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pi_domain::chat::{ConversationCursor, ConversationId, ConversationRepo, MessageRepo, Role};
use pi_domain::user::{DisplayName, Email, NewUser, PasswordHash, UserId, UserRepo};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmChatRepo, SeaOrmUserRepo};

async fn user(repo: &SeaOrmUserRepo, email: &str) -> UserId {
    repo.create(NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("U").unwrap(),
        password_hash: PasswordHash::new("h"),
        is_admin: false,
    })
    .await
    .unwrap()
    .id
}

pi_store::engine_tests!(pi_store::testing::on_engine => [chat_story]);

async fn chat_story(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let users = SeaOrmUserRepo::new(db.clone());
    let chat = SeaOrmChatRepo::new(db.clone());
    let ada = user(&users, "ada@example.com").await;
    let bob = user(&users, "bob@example.com").await;

    let conv = chat.create(ConversationId::new(), ada, None).await.unwrap();
    assert_eq!(conv.title, None);

    // Another user can neither see nor write to it, and nothing is written.
    assert!(
        ConversationRepo::get(&chat, bob, conv.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        chat.append(bob, conv.id, Role::User, "hi".into(), Some("t".into()))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        MessageRepo::list(&chat, ada, conv.id).await.unwrap(),
        Some(Vec::new()),
        "an empty conversation of the owner's"
    );
    assert_eq!(
        MessageRepo::list(&chat, bob, conv.id).await.unwrap(),
        None,
        "another user's conversation"
    );

    let (m1, c1) = chat
        .append(
            ada,
            conv.id,
            Role::User,
            "first".into(),
            Some("First title".into()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c1.title.as_deref(), Some("First title"));
    assert!(c1.updated_at >= conv.updated_at);
    let (m2, c2) = chat
        .append(
            ada,
            conv.id,
            Role::Agent,
            "reply".into(),
            Some("Other".into()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c2.title.as_deref(),
        Some("First title"),
        "title is set once"
    );
    let listed = MessageRepo::list(&chat, ada, conv.id).await.unwrap();
    assert_eq!(listed, Some(vec![m1, m2]));
    assert_eq!(
        MessageRepo::list(&chat, bob, conv.id).await.unwrap(),
        None,
        "messages are only listed for the owner"
    );

    // Pagination: 5 more conversations; newest activity first; cursor pages cover all once.
    for _ in 0..5 {
        chat.create(ConversationId::new(), ada, None).await.unwrap();
    }
    // Touch the first one: it becomes the most recent.
    chat.append(ada, conv.id, Role::User, "again".into(), None)
        .await
        .unwrap();
    let page1 = ConversationRepo::list(&chat, ada, 4, None).await.unwrap();
    assert_eq!(page1.len(), 4);
    assert_eq!(page1[0].id, conv.id);
    let last = page1.last().unwrap();
    let cursor = ConversationCursor {
        updated_at: last.updated_at,
        id: last.id,
    };
    let page2 = ConversationRepo::list(&chat, ada, 4, Some(cursor))
        .await
        .unwrap();
    assert_eq!(page2.len(), 2);
    let mut all: Vec<_> = page1.iter().chain(&page2).map(|c| c.id).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6);
    for pair in page1.iter().chain(&page2).collect::<Vec<_>>().windows(2) {
        assert!((pair[0].updated_at, pair[0].id) > (pair[1].updated_at, pair[1].id));
    }
    assert!(
        ConversationRepo::list(&chat, bob, 10, None)
            .await
            .unwrap()
            .is_empty()
    );

    // Rename and delete are owner-scoped; delete cascades to messages.
    assert!(
        chat.rename(bob, conv.id, "x".into())
            .await
            .unwrap()
            .is_none()
    );
    let renamed = chat
        .rename(ada, conv.id, "Renamed".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.title.as_deref(), Some("Renamed"));
    assert!(!chat.delete(bob, conv.id).await.unwrap());
    assert!(chat.delete(ada, conv.id).await.unwrap());
    assert_eq!(MessageRepo::list(&chat, ada, conv.id).await.unwrap(), None);
    assert!(!chat.delete(ada, conv.id).await.unwrap());

    // Agent ids: set once, conditional; owners found by agent id.
    assert_eq!(
        users
            .set_agent_id_if_unset(ada, "agent-1")
            .await
            .unwrap()
            .as_deref(),
        Some("agent-1")
    );
    assert_eq!(
        users
            .set_agent_id_if_unset(ada, "agent-2")
            .await
            .unwrap()
            .as_deref(),
        Some("agent-1")
    );
    let owners = users
        .find_by_agent_ids(&["agent-1".into(), "agent-x".into()])
        .await
        .unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].id, ada);
    users.clear_agent_id(ada, "agent-other").await.unwrap();
    assert_eq!(
        users
            .find_by_id(ada)
            .await
            .unwrap()
            .unwrap()
            .agent_id
            .as_deref(),
        Some("agent-1")
    );
    users.clear_agent_id(ada, "agent-1").await.unwrap();
    assert_eq!(users.find_by_id(ada).await.unwrap().unwrap().agent_id, None);

    db.close().await.unwrap();
    test_db.destroy().await;
}
