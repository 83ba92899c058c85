//! Appending history is one `INSERT`; a trigger keeps the agent's `updated_at` at its newest
//! message on both engines, and touches no other agent. Only the messages conversation search
//! reads (user and assistant) are full-text indexed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, SubsecRound, Utc};
use pi_domain::agent::runtime::ToolCall;
use pi_domain::agent::store::{AgentHistoryMessage, AgentRecord, AgentStore, MessageRole};
use pi_domain::agent::{AgentId, Block, BlockId};
use pi_migration::{Migrator, MigratorTrait};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmAgentStore};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

fn agent(id: &str, at: chrono::DateTime<Utc>) -> AgentRecord {
    AgentRecord {
        id: AgentId(id.into()),
        name: id.into(),
        system_prompt: "s".into(),
        model: "m".into(),
        tools: Vec::new(),
        tags: Vec::new(),
        metadata: serde_json::Map::new(),
        created_at: at,
        updated_at: at,
    }
}

fn said(text: &str, at: chrono::DateTime<Utc>) -> AgentHistoryMessage {
    AgentHistoryMessage {
        role: MessageRole::User,
        content: text.into(),
        tool_calls: Vec::new(),
        tool_call_id: None,
        tool_name: None,
        created_at: at,
    }
}

pi_store::engine_tests!(pi_store::testing::on_engine => [
    updated_at_follows_the_newest_message,
    only_searchable_messages_are_indexed,
    turn_context_is_one_statement_equal_to_three_reads,
]);

async fn updated_at_follows_the_newest_message(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let store = SeaOrmAgentStore::new(db.clone());
    // Whole seconds: PostgreSQL keeps microseconds.
    let start = Utc::now().trunc_subsecs(0) - Duration::hours(1);
    let (a, b) = (agent("agent-a", start), agent("agent-b", start));
    for x in [&a, &b] {
        store
            .insert_agent(x.clone(), Vec::new(), Vec::new())
            .await
            .unwrap();
    }
    let updated = |id: AgentId| {
        let store = &store;
        async move { store.get_agent(&id).await.unwrap().unwrap().updated_at }
    };
    assert_eq!(updated(a.id.clone()).await, start);

    let later = start + Duration::minutes(30);
    store
        .append_history(
            &a.id,
            vec![
                said("first", later - Duration::seconds(1)),
                said("second", later),
            ],
        )
        .await
        .unwrap();
    assert_eq!(updated(a.id.clone()).await, later);
    assert_eq!(
        updated(b.id.clone()).await,
        start,
        "another agent is untouched"
    );

    // A message older than the agent's last change does not move it back.
    store
        .append_history(&a.id, vec![said("late arrival", start)])
        .await
        .unwrap();
    assert_eq!(updated(a.id.clone()).await, later);
    assert_eq!(store.recent_history(&a.id, 10).await.unwrap().len(), 3);

    db.close().await.unwrap();
    test_db.destroy().await;
}

async fn only_searchable_messages_are_indexed(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let store = SeaOrmAgentStore::new(db.clone());
    let now = Utc::now().trunc_subsecs(0);
    let a = agent("agent-a", now);
    store
        .insert_agent(a.clone(), Vec::new(), Vec::new())
        .await
        .unwrap();
    let tool = AgentHistoryMessage {
        role: MessageRole::Tool,
        content: r#"{"zebrafish": "tool result"}"#.into(),
        tool_call_id: Some("c1".into()),
        tool_name: Some("search_places".into()),
        ..said("", now)
    };
    store
        .append_history(&a.id, vec![said("zebrafish from the user", now), tool])
        .await
        .unwrap();

    // How many rows the engine's index finds for the term, whatever their role.
    let indexed = || async {
        let (backend, sql) = match engine {
            Engine::Sqlite => (
                DbBackend::Sqlite,
                "SELECT count(*) AS n FROM runtime_messages_fts \
                 WHERE runtime_messages_fts MATCH '\"zebrafish\"'",
            ),
            Engine::Postgres => (
                DbBackend::Postgres,
                "SELECT count(*) AS n FROM runtime_messages \
                 WHERE content_tsv @@ to_tsquery('simple', 'zebrafish')",
            ),
        };
        let row = db
            .connection()
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    assert_eq!(indexed().await, 1, "only the user's message");

    // The migration rolls back (everything indexed again) and forward, with those after it.
    let back = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261205_000009_index_searchable_history")
        .unwrap()
        + 1;
    Migrator::down(db.connection(), Some(back as u32))
        .await
        .unwrap();
    assert_eq!(indexed().await, 2);
    Migrator::up(db.connection(), None).await.unwrap();
    assert_eq!(indexed().await, 1);

    let found = store.search_history(&a.id, "zebrafish", 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].role, MessageRole::User);

    db.close().await.unwrap();
    test_db.destroy().await;
}

/// A turn's first read (agent, blocks, last messages) is one statement and answers exactly
/// what the three separate reads answer: attachment order, the newest `limit` messages oldest
/// first, tool calls, read-only flags and times intact; `None` for an unknown agent.
async fn turn_context_is_one_statement_equal_to_three_reads(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let store = SeaOrmAgentStore::new(db.clone());
    // Microseconds: what both engines keep.
    let now = Utc::now().trunc_subsecs(6);
    let block = |id: &str, label: &str, read_only: bool| Block {
        id: BlockId(id.into()),
        label: label.into(),
        value: format!("{label} value with \"quotes\" and ünïcode"),
        limit: 5000,
        description: format!("about {label}"),
        read_only,
    };
    let shared = block("block-a-shared", "qsr_shared", true);
    store.insert_block(shared.clone()).await.unwrap();
    // Own blocks first (ids sort against their attachment order), the shared one after.
    let own = vec![
        block("block-z-persona", "persona", false),
        block("block-m-human", "human", false),
    ];
    let mut a = agent("agent-a", now);
    a.tools = vec!["search_places".into()];
    a.metadata.insert("pi_user_id".into(), "u-1".into());
    store
        .insert_agent(a.clone(), own, vec![shared.id.clone()])
        .await
        .unwrap();
    store
        .insert_agent(agent("agent-b", now), Vec::new(), Vec::new())
        .await
        .unwrap();
    let call = AgentHistoryMessage {
        role: MessageRole::Assistant,
        content: String::new(),
        tool_calls: vec![ToolCall {
            id: "c1".into(),
            name: "search_places".into(),
            arguments: r#"{"query":"Costco"}"#.into(),
        }],
        ..said("", now)
    };
    let result = AgentHistoryMessage {
        role: MessageRole::Tool,
        content: r#"{"places": []}"#.into(),
        tool_call_id: Some("c1".into()),
        tool_name: Some("search_places".into()),
        ..said("", now)
    };
    let mut batch = vec![said("oldest, beyond the limit", now - Duration::seconds(9))];
    batch.extend([call, result]);
    batch.extend((0..6).map(|i| said(&format!("message {i}"), now + Duration::milliseconds(i))));
    store.append_history(&a.id, batch).await.unwrap();
    store
        .append_history(&AgentId("agent-b".into()), vec![said("b's own", now)])
        .await
        .unwrap();

    let before = db.statements_executed();
    let context = store.turn_context(&a.id, 8).await.unwrap().unwrap();
    assert_eq!(
        db.statements_executed() - before,
        1,
        "one statement on {engine:?}"
    );
    assert_eq!(
        context.agent,
        store.get_agent(&a.id).await.unwrap().unwrap()
    );
    assert_eq!(context.blocks, store.agent_blocks(&a.id).await.unwrap());
    assert_eq!(
        context
            .blocks
            .iter()
            .map(|b| b.label.as_str())
            .collect::<Vec<_>>(),
        ["persona", "human", "qsr_shared"]
    );
    assert!(context.blocks[2].read_only && !context.blocks[0].read_only);
    assert_eq!(
        context.history,
        store.recent_history(&a.id, 8).await.unwrap()
    );
    assert_eq!(context.history.len(), 8);
    assert_eq!(context.history[0].tool_calls[0].name, "search_places");
    assert_eq!(
        context.history[1].tool_name.as_deref(),
        Some("search_places")
    );
    assert_eq!(context.history[7].content, "message 5");
    assert_eq!(
        context.history[7].created_at,
        now + Duration::milliseconds(5)
    );

    // An agent with no blocks or messages yet, and one that does not exist.
    let fresh = store
        .turn_context(&AgentId("agent-b".into()), 0)
        .await
        .unwrap()
        .unwrap();
    assert!(fresh.blocks.is_empty() && fresh.history.is_empty());
    assert!(
        store
            .turn_context(&AgentId("agent-none".into()), 8)
            .await
            .unwrap()
            .is_none()
    );

    db.close().await.unwrap();
    test_db.destroy().await;
}
