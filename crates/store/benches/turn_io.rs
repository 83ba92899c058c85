//! The store round trips one embedded-runtime turn makes (`cargo xtask bench turn_io`), each on
//! its own, on SQLite and PostgreSQL: reading the agent, its recent history and its blocks (the
//! three are issued together), and appending the turn's four messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use pi_domain::agent::AgentId;
use pi_domain::agent::store::{AgentHistoryMessage, AgentRecord, AgentStore, MessageRole};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmAgentStore};

const AGENT: &str = "agent-bench";

fn message(role: MessageRole, content: &str) -> AgentHistoryMessage {
    let tool = role == MessageRole::Tool;
    AgentHistoryMessage {
        role,
        content: content.into(),
        tool_calls: Vec::new(),
        tool_call_id: tool.then(|| "call-1".into()),
        tool_name: tool.then(|| "search_places".into()),
        created_at: Utc::now(),
    }
}

/// A turn as the runtime stores it: the question, a tool call, its result, the answer.
fn turn() -> Vec<AgentHistoryMessage> {
    let result = format!(
        "{{\"places\": [{}]}}",
        vec!["{\"name\": \"Cafe\", \"visits\": 1234}"; 20].join(",")
    );
    vec![
        message(
            MessageRole::User,
            "How busy was the Starbucks on Main Street last week?",
        ),
        message(MessageRole::Assistant, ""),
        message(MessageRole::Tool, &result),
        message(
            MessageRole::Assistant,
            "About 12,300 visits, 8% more than the week before.",
        ),
    ]
}

fn turn_io(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(test_db) = rt.block_on(TestDatabase::new(engine)) else {
            eprintln!("SKIP {}: database unavailable", engine.as_str());
            continue;
        };
        let db = rt.block_on(pi_store::connect(test_db.url())).unwrap();
        rt.block_on(db.migrate()).unwrap();
        let store = SeaOrmAgentStore::new(db.clone());
        let agent = AgentId(AGENT.into());
        let now = Utc::now();
        let record = AgentRecord {
            id: agent.clone(),
            name: "bench".into(),
            system_prompt: "You are Pi.".repeat(200),
            model: "m".into(),
            tools: vec!["search_places".into(); 9],
            tags: Vec::new(),
            metadata: serde_json::Map::new(),
            created_at: now,
            updated_at: now,
        };
        rt.block_on(store.insert_agent(record, Vec::new(), Vec::new()))
            .unwrap();
        for _ in 0..50 {
            rt.block_on(store.append_history(&agent, turn())).unwrap();
        }
        let mut group = c.benchmark_group(format!("turn_io/{}", engine.as_str()));
        group.sample_size(50);
        group.bench_function("get_agent", |b| {
            b.to_async(&rt).iter(|| store.get_agent(&agent));
        });
        group.bench_function("recent_history_40", |b| {
            b.to_async(&rt).iter(|| store.recent_history(&agent, 40));
        });
        group.bench_function("agent_blocks", |b| {
            b.to_async(&rt).iter(|| store.agent_blocks(&agent));
        });
        group.bench_function("three_reads_together", |b| {
            b.to_async(&rt).iter(|| async {
                tokio::try_join!(
                    store.get_agent(&agent),
                    store.recent_history(&agent, 40),
                    store.agent_blocks(&agent),
                )
                .unwrap()
            });
        });
        group.bench_function("append_turn", |b| {
            b.to_async(&rt)
                .iter(|| async { store.append_history(&agent, turn()).await.unwrap() });
        });
        group.finish();
        rt.block_on(async {
            db.close().await.unwrap();
            test_db.destroy().await;
        });
    }
}

criterion_group!(benches, turn_io);
criterion_main!(benches);
