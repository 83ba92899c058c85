//! Persona shared blocks under concurrency, over the real store and the embedded runtime.
//! PostgreSQL: two independent pools (as two server processes would have) assign the same new
//! persona to 20 users at once. SQLite: the same within one process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use async_trait::async_trait;
use pi_agent::{EmbeddedAgentBackend, EmbeddedBlockStore, RuntimeConfig};
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LanguageModel};
use pi_domain::agent::{AgentError, AgentGateway, BlockStore, PiAgentTemplate};
use pi_domain::persona::{PersonaHandle, PersonaService};
use pi_domain::tools::ToolRegistry;
use pi_domain::user::{DisplayName, Email, NewUser, PasswordHash, UserId, UserRepo};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, PersonaLocks, SeaOrmAgentStore, SeaOrmPersonaRepo, SeaOrmUserRepo};

struct Silent;

#[async_trait]
impl LanguageModel for Silent {
    fn describe(&self) -> String {
        "silent".into()
    }
    async fn complete(&self, _: ChatRequest) -> Result<ChatResponse, AgentError> {
        Ok(ChatResponse {
            content: Some("ok".into()),
            ..Default::default()
        })
    }
}

struct Node {
    runtime: Arc<EmbeddedAgentBackend>,
    blocks: Arc<EmbeddedBlockStore>,
    personas: Arc<PersonaService>,
}

async fn node(url: &str) -> Node {
    let db = pi_store::connect(url).await.unwrap();
    let store = Arc::new(SeaOrmAgentStore::new(db.clone()));
    let blocks = Arc::new(EmbeddedBlockStore::new(store.clone()));
    let runtime = Arc::new(EmbeddedAgentBackend::new(
        store,
        Arc::new(Silent),
        Arc::new(ToolRegistry::new()),
        RuntimeConfig::default(),
    ));
    let personas = Arc::new(PersonaService::new(
        Arc::new(SeaOrmPersonaRepo::new(db.clone())),
        blocks.clone(),
        Arc::new(PersonaLocks::new(db)),
        8,
    ));
    Node {
        runtime,
        blocks,
        personas,
    }
}

pi_store::engine_tests!(pi_store::testing::on_engine => [one_shared_block_for_twenty_concurrent_assignments]);

async fn one_shared_block_for_twenty_concurrent_assignments(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let users = SeaOrmUserRepo::new(db.clone());
    // Two independent pools on PostgreSQL; one process (one lock table) on SQLite.
    let a = Arc::new(node(test_db.url()).await);
    let b = if engine == Engine::Postgres {
        Arc::new(node(test_db.url()).await)
    } else {
        Arc::clone(&a)
    };

    let template = PiAgentTemplate::builtin().unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        let user = users
            .create(NewUser {
                id: UserId::new(),
                email: Email::parse(&format!("u{i}@example.com")).unwrap(),
                display_name: DisplayName::parse("U").unwrap(),
                password_hash: PasswordHash::new("h"),
                is_admin: false,
            })
            .await
            .unwrap();
        let spec = template.spec_for(&user.display_name, Some(user.id), Vec::new(), &[]);
        let agent = a.runtime.create_agent(spec).await.unwrap();
        users
            .set_agent_id_if_unset(user.id, &agent.0)
            .await
            .unwrap();
        ids.push((user.id, agent));
    }

    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, (user, _))| {
            let node = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            let user = *user;
            tokio::spawn(async move {
                node.personas
                    .assign(user, "drone_delivery_real_estate", 0.8)
                    .await
            })
        })
        .collect();
    for t in tasks {
        let outcome = t.await.unwrap().unwrap();
        assert!(outcome.report.failed.is_empty());
    }

    let handle = PersonaHandle::parse("drone_delivery_real_estate").unwrap();
    let blocks = a
        .blocks
        .find_blocks_by_label(&handle.shared_block_label())
        .await
        .unwrap();
    assert_eq!(blocks.len(), 1, "exactly one shared block");
    let mut holders = a.blocks.agents_of_block(&blocks[0].id).await.unwrap();
    holders.sort();
    let mut expected: Vec<_> = ids.iter().map(|(_, agent)| agent.clone()).collect();
    expected.sort();
    assert_eq!(holders, expected, "attached to all 20 agents");
    let persona = a
        .personas
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.def.persona_handle == handle)
        .unwrap();
    assert_eq!(persona.shared_block_id, Some(blocks[0].id.clone()));
    assert_eq!(persona.def.industry, "drone");
    assert_eq!(persona.def.professional_role, "delivery_real_estate");
    let mine = a.personas.personas_of(ids[0].0).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert!((mine[0].confidence_score - 0.8).abs() < 1e-9);

    // Re-assigning updates the link, never duplicates it; attaching again changes nothing.
    let again = b
        .personas
        .assign(ids[0].0, "drone_delivery_real_estate", 0.95)
        .await
        .unwrap();
    assert!(again.report.attached.is_empty());
    assert_eq!(again.report.already_attached, 20);
    let mine = a.personas.personas_of(ids[0].0).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert!((mine[0].confidence_score - 0.95).abs() < 1e-9);

    test_db.destroy().await;
}
