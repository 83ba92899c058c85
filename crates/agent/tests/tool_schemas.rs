//! Every tool an agent can be given (analytics, persona and memory tools) has a schema OpenAI's
//! function calling accepts, and the Pi template names only tools that exist.

use std::sync::Arc;

use pi_agent::EmbeddedBlockStore;
use pi_agent::openai::schema::problems;
use pi_domain::agent::PiAgentTemplate;
use pi_domain::persona::PersonaService;
use pi_domain::persona::tools::{ListPersonasTool, UpdateUserPersonaTool};
use pi_domain::tools::ToolRegistry;
use pi_places::{PlacesData, Scale};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, PersonaLocks, SeaOrmAgentStore, SeaOrmPersonaRepo};

#[tokio::test]
async fn every_tool_schema_is_one_openai_accepts() {
    let test_db = TestDatabase::new(Engine::Sqlite).await.unwrap();
    let db = pi_store::connect(test_db.url()).await.unwrap();
    let personas = Arc::new(PersonaService::new(
        Arc::new(SeaOrmPersonaRepo::new(db.clone())),
        Arc::new(EmbeddedBlockStore::new(Arc::new(SeaOrmAgentStore::new(
            db.clone(),
        )))),
        Arc::new(PersonaLocks::new(db)),
        1,
    ));
    let mut registry = ToolRegistry::new();
    pi_places::register_tools(&mut registry, &PlacesData::new(Scale::Small, 1));
    registry.register(Arc::new(ListPersonasTool(Arc::clone(&personas))));
    registry.register(Arc::new(UpdateUserPersonaTool(personas)));
    let mut schemas = registry.schemas();
    schemas.extend(pi_agent::memory_tool_schemas());
    assert_eq!(schemas.len(), 9 + 2 + 5);
    let found: Vec<String> = schemas.iter().flat_map(problems).collect();
    assert!(found.is_empty(), "{found:#?}");

    let template = PiAgentTemplate::builtin().unwrap();
    for tool in &template.tools {
        assert!(
            registry.contains(tool),
            "the template names unknown tool {tool}"
        );
    }
    test_db.destroy().await;
}
