//! Archival and conversation search through each engine's full-text index: the same results
//! and order on SQLite (FTS5) and PostgreSQL (tsvector + GIN), and the index follows inserts and
//! deletes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use pi_domain::agent::store::{AgentHistoryMessage, AgentRecord, AgentStore, MessageRole};
use pi_domain::agent::{AgentId, Passage};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmAgentStore};

fn agent(id: &str) -> AgentRecord {
    AgentRecord {
        id: AgentId(id.into()),
        name: id.into(),
        system_prompt: "s".into(),
        model: "m".into(),
        tools: Vec::new(),
        tags: Vec::new(),
        metadata: serde_json::Map::new(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn passage(n: usize, text: &str) -> Passage {
    Passage {
        id: format!("passage-{n:04}"),
        content: text.into(),
        tags: Vec::new(),
        created_at: Utc::now(),
    }
}

fn said(role: MessageRole, text: &str) -> AgentHistoryMessage {
    AgentHistoryMessage {
        role,
        content: text.into(),
        tool_calls: Vec::new(),
        tool_call_id: None,
        tool_name: None,
        created_at: Utc::now(),
    }
}

pi_store::engine_tests!(pi_store::testing::on_engine => [search_story]);

async fn search_story(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let store = SeaOrmAgentStore::new(db.clone());
    let (a, b) = (agent("agent-a"), agent("agent-b"));
    store
        .insert_agent(a.clone(), Vec::new(), Vec::new())
        .await
        .unwrap();
    store
        .insert_agent(b.clone(), Vec::new(), Vec::new())
        .await
        .unwrap();
    let texts = [
        "Prefers drive-thru QSR sites near highway exits",
        "Quarterly review of grocery anchors",
        "QSR QSR drive-thru pipeline in Dallas",
        "nothing relevant",
        "Café visits in Zürich grew", // non-ASCII terms are indexed as words
    ];
    for (n, text) in texts.iter().enumerate() {
        store.insert_passage(&a.id, passage(n, text)).await.unwrap();
    }
    store
        .insert_passage(&b.id, passage(99, "QSR drive-thru notes of another agent"))
        .await
        .unwrap();

    let found = store
        .search_passages(&a.id, "drive-thru QSR", 10)
        .await
        .unwrap();
    let order: Vec<&str> = found.iter().map(|p| p.content.as_str()).collect();
    assert_eq!(order, [texts[2], texts[0]], "BM25 order, this agent only");
    assert_eq!(
        store
            .search_passages(&a.id, "drive-thru QSR", 1)
            .await
            .unwrap()
            .len(),
        1
    );
    let cafe = store
        .search_passages(&a.id, "café zürich", 5)
        .await
        .unwrap();
    assert_eq!(cafe.len(), 1, "{cafe:?}");
    // Whole words, not substrings; nothing for nothing.
    assert!(
        store
            .search_passages(&a.id, "thr", 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .search_passages(&a.id, "", 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .search_passages(&a.id, "!!", 5)
            .await
            .unwrap()
            .is_empty()
    );
    // Query syntax of either engine is plain text here.
    assert!(
        store
            .search_passages(&a.id, "\"QSR\" OR NOT * ' | & :*", 5)
            .await
            .unwrap()
            .len()
            >= 2
    );

    store
        .append_history(
            &a.id,
            vec![
                said(
                    MessageRole::User,
                    "Where should the next Dunkin go in Boston?",
                ),
                said(
                    MessageRole::Assistant,
                    "Boston's Back Bay has the busiest Dunkin.",
                ),
                said(
                    MessageRole::Tool,
                    "{\"dunkin\": \"tool output is not searched\"}",
                ),
            ],
        )
        .await
        .unwrap();
    let history = store
        .search_history(&a.id, "dunkin boston", 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history.iter().all(|m| m.role != MessageRole::Tool));

    // Deleting the agent empties the index of its rows: a new agent reusing row slots sees none.
    assert!(store.delete_agent(&a.id).await.unwrap());
    let c = agent("agent-c");
    store
        .insert_agent(c.clone(), Vec::new(), Vec::new())
        .await
        .unwrap();
    store
        .insert_passage(&c.id, passage(200, "unrelated words only"))
        .await
        .unwrap();
    assert!(
        store
            .search_passages(&c.id, "QSR", 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.search_passages(&b.id, "QSR", 5).await.unwrap().len(),
        1
    );
    db.close().await.unwrap();
    test_db.destroy().await;
}
