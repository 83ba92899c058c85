//! Each turn offers the model exactly its agent's tools plus the memory tools, also when agents
//! with different tool lists take turns (the runtime reuses the schemas of the last list seen).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pi_agent::{EmbeddedAgentBackend, RuntimeConfig};
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LanguageModel};
use pi_domain::agent::{AgentError, AgentGateway, AgentMessage, AgentSpec, PiAgentTemplate};
use pi_domain::tools::ToolRegistry;
use pi_domain::user::DisplayName;
use pi_places::{PlacesData, Scale};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmAgentStore};

/// Records the tool names each request offers; always answers with text.
#[derive(Default)]
struct Recorder(Mutex<Vec<Vec<String>>>);

#[async_trait]
impl LanguageModel for Recorder {
    fn describe(&self) -> String {
        "recorder".into()
    }
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, AgentError> {
        let names = request.tools.iter().map(|t| t.name.clone()).collect();
        self.0.lock().unwrap().push(names);
        Ok(ChatResponse {
            content: Some("ok".into()),
            ..Default::default()
        })
    }
}

fn spec(name: &str, registry: &ToolRegistry, keep: Option<&[&str]>) -> AgentSpec {
    let mut spec = PiAgentTemplate::builtin().unwrap().spec_for(
        &DisplayName::parse(name).unwrap(),
        None,
        vec![],
        &registry.schemas(),
    );
    if let Some(keep) = keep {
        spec.tools.retain(|t| keep.contains(&t.name.as_str()));
    }
    spec
}

#[tokio::test]
async fn each_turn_offers_its_own_agents_tools() {
    let test_db = TestDatabase::new(Engine::Sqlite).await.unwrap();
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let mut registry = ToolRegistry::new();
    pi_places::register_tools(&mut registry, &PlacesData::new(Scale::Small, 1));
    let (full, narrow) = (
        spec("Ada", &registry, None),
        spec("Bob", &registry, Some(&["search_places"])),
    );
    let llm = Arc::new(Recorder::default());
    let runtime = EmbeddedAgentBackend::new(
        Arc::new(SeaOrmAgentStore::new(db)),
        llm.clone(),
        Arc::new(registry),
        RuntimeConfig::default(),
    );
    let full = runtime.create_agent(full).await.unwrap();
    let narrow = runtime.create_agent(narrow).await.unwrap();

    for agent in [&full, &narrow, &full, &narrow] {
        let message = AgentMessage {
            content: "hello".into(),
            on_behalf_of: None,
        };
        runtime.send_message(agent, message).await.unwrap();
    }

    let memory: Vec<String> = pi_agent::memory_tool_schemas()
        .into_iter()
        .map(|s| s.name)
        .collect();
    let offered = llm.0.lock().unwrap().clone();
    assert_eq!(offered.len(), 4);
    let narrow_offer: Vec<String> = std::iter::once("search_places".to_owned())
        .chain(memory.iter().cloned())
        .collect();
    assert_eq!(offered[1], narrow_offer);
    assert_eq!(offered[3], narrow_offer);
    assert_eq!(offered[0], offered[2]);
    assert!(offered[0].len() > narrow_offer.len(), "{offered:?}");
    assert!(offered[0].contains(&"search_places".to_owned()));
    assert!(offered[0].ends_with(&memory));
    test_db.destroy().await;
}
