//! Archival search over one agent with 100,000 passages (`cargo xtask bench search`): the
//! full-text path the store uses (FTS5 / tsvector + GIN, then BM25 over the candidates) beside
//! the `LIKE '%term%'` scan it replaced, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use pi_domain::agent::AgentId;
use pi_domain::agent::store::{AgentRecord, AgentStore};
use pi_domain::search::rank_bm25;
use pi_store::entities::runtime::passages;
use pi_store::testing::TestDatabase;
use pi_store::{Database, Engine, SeaOrmAgentStore};
use sea_orm::{ConnectionTrait, EntityTrait, Set, Statement};

const PASSAGES: usize = 100_000;
const AGENT: &str = "agent-bench";
/// Two words: one in about 1% of passages, one in about 0.1%.
const QUERY: &str = "w0042 rare0007";

/// A deterministic passage of 12 words from a 5,000-word vocabulary (plus rare marker words).
fn text(n: usize) -> String {
    let mut x = (n as u64)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1);
    let mut words = Vec::with_capacity(13);
    for _ in 0..12 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Zipf-ish: low word numbers are common.
        let w = (x % 5000) * (x % 5000) / 5000;
        words.push(format!("w{w:04}"));
    }
    if n % 1000 == 7 {
        words.push(format!("rare{:04}", n % 10_000 / 1000 + 7));
    }
    words.join(" ")
}

async fn fill(engine: Engine) -> Option<(TestDatabase, Database, SeaOrmAgentStore)> {
    let test_db = TestDatabase::new(engine).await?;
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let store = SeaOrmAgentStore::new(db.clone());
    let now = Utc::now();
    store
        .insert_agent(
            AgentRecord {
                id: AgentId(AGENT.into()),
                name: "bench".into(),
                system_prompt: String::new(),
                model: "m".into(),
                tools: Vec::new(),
                tags: Vec::new(),
                metadata: serde_json::Map::new(),
                created_at: now,
                updated_at: now,
            },
            Vec::new(),
            Vec::new(),
        )
        .await
        .unwrap();
    for chunk in (0..PASSAGES).collect::<Vec<_>>().chunks(2_000) {
        let rows = chunk.iter().map(|&n| passages::ActiveModel {
            id: Set(format!("passage-{n:06}")),
            agent_id: Set(AGENT.into()),
            content: Set(text(n)),
            tags: Set("[]".into()),
            created_at: Set(now),
        });
        passages::Entity::insert_many(rows)
            .exec_without_returning(db.connection())
            .await
            .unwrap();
    }
    if engine == Engine::Postgres {
        db.connection()
            .execute_unprepared("ANALYZE runtime_passages")
            .await
            .unwrap();
    }
    Some((test_db, db, store))
}

/// The replaced path: `LOWER(content) LIKE '%term%'` candidates, then BM25.
async fn like_search(db: &Database, engine: Engine) -> usize {
    let (cond, agent) = match engine {
        Engine::Sqlite => (
            "(LOWER(content) LIKE '%w0042%' OR LOWER(content) LIKE '%rare0007%')",
            "agent_id = ?",
        ),
        Engine::Postgres => (
            "(LOWER(content) LIKE '%w0042%' OR LOWER(content) LIKE '%rare0007%')",
            "agent_id = $1",
        ),
    };
    let sql = format!(
        "SELECT content FROM runtime_passages WHERE {agent} AND {cond} ORDER BY id DESC LIMIT 500"
    );
    let rows = db
        .connection()
        .query_all_raw(Statement::from_sql_and_values(
            db.connection().get_database_backend(),
            sql,
            [AGENT.into()],
        ))
        .await
        .unwrap();
    let docs: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "content").unwrap())
        .collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    rank_bm25(QUERY, &refs).into_iter().take(10).count()
}

fn search(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some((test_db, db, store)) = rt.block_on(fill(engine)) else {
            eprintln!("SKIP {}: database unavailable", engine.as_str());
            continue;
        };
        let agent = AgentId(AGENT.into());
        let hits = rt
            .block_on(store.search_passages(&agent, QUERY, 10))
            .unwrap();
        assert_eq!(hits.len(), 10, "the query finds passages");
        assert_eq!(rt.block_on(like_search(&db, engine)), 10);
        let mut group = c.benchmark_group(format!("archival_search_100k/{}", engine.as_str()));
        group.sample_size(30);
        group.bench_function("full_text", |b| {
            b.to_async(&rt)
                .iter(|| async { store.search_passages(&agent, QUERY, 10).await.unwrap() });
        });
        group.bench_function("like_baseline", |b| {
            b.to_async(&rt).iter(|| like_search(&db, engine));
        });
        group.finish();
        rt.block_on(async {
            db.close().await.unwrap();
            test_db.destroy().await;
        });
    }
}

criterion_group!(benches, search);
criterion_main!(benches);
