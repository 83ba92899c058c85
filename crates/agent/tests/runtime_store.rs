//! The embedded runtime over the real store (SQLite and PostgreSQL): shared blocks, archival
//! ranking, deletion. The LLM is a small in-test script (the only fake).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pi_agent::{EmbeddedAgentBackend, EmbeddedBlockStore, RuntimeConfig};
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LanguageModel, ToolCall};
use pi_domain::agent::{
    AgentError, AgentGateway, AgentMessage, AgentSpec, BlockSpec, BlockStore, PiAgentTemplate,
};
use pi_domain::tools::ToolRegistry;
use pi_domain::user::DisplayName;
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmAgentStore};
use serde_json::json;

/// Answers from a queue of responses; a final text when empty.
#[derive(Default)]
struct Script(Mutex<VecDeque<ChatResponse>>);

#[async_trait]
impl LanguageModel for Script {
    fn describe(&self) -> String {
        "script".into()
    }
    async fn complete(&self, _: ChatRequest) -> Result<ChatResponse, AgentError> {
        Ok(self.0.lock().unwrap().pop_front().unwrap_or(ChatResponse {
            content: Some("done".into()),
            ..Default::default()
        }))
    }
}

fn tool(name: &str, args: serde_json::Value) -> ChatResponse {
    ChatResponse {
        tool_calls: vec![ToolCall {
            id: format!("c-{name}"),
            name: name.into(),
            arguments: args.to_string(),
        }],
        ..Default::default()
    }
}

fn spec(name: &str, shared: Vec<pi_domain::agent::BlockId>) -> AgentSpec {
    PiAgentTemplate::builtin().unwrap().spec_for(
        &DisplayName::parse(name).unwrap(),
        None,
        shared,
        &[],
    )
}

pi_store::engine_tests!(pi_store::testing::on_engine => [runtime_story]);

async fn runtime_story(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let script = Arc::new(Script::default());
    let store = Arc::new(SeaOrmAgentStore::new(db.clone()));
    let blocks = EmbeddedBlockStore::new(store.clone());
    let runtime = EmbeddedAgentBackend::new(
        store,
        script.clone(),
        Arc::new(ToolRegistry::new()),
        RuntimeConfig::default(),
    );

    // A shared block attached to two agents at creation and to a third later.
    let shared = blocks
        .create_block(BlockSpec {
            label: "qsr_real_estate_service_experience".into(),
            value: String::new(),
            limit: 8000,
            description: "Anonymised lessons shared by every agent serving this persona.".into(),
            read_only: false,
        })
        .await
        .unwrap();
    let a = runtime
        .create_agent(spec("Ada", vec![shared.id.clone()]))
        .await
        .unwrap();
    let b = runtime
        .create_agent(spec("Bob", vec![shared.id.clone()]))
        .await
        .unwrap();
    let c = runtime.create_agent(spec("Cy", vec![])).await.unwrap();
    blocks.attach_block(&c, &shared.id).await.unwrap();
    blocks.attach_block(&c, &shared.id).await.unwrap(); // idempotent
    let mut holders = blocks.agents_of_block(&shared.id).await.unwrap();
    holders.sort();
    let mut expected = vec![a.clone(), b.clone(), c.clone()];
    expected.sort();
    assert_eq!(holders, expected);
    assert_eq!(
        blocks
            .find_blocks_by_label("qsr_real_estate_service_experience")
            .await
            .unwrap()
            .len(),
        1
    );

    // A plain turn costs two statements: what it starts from (one read), what it adds (one
    // insert).
    let before = db.statements_executed();
    let reply = runtime
        .send_message(
            &b,
            AgentMessage {
                content: "hello".into(),
                on_behalf_of: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(reply.assistant_text(), "done");
    assert_eq!(db.statements_executed() - before, 2, "on {engine:?}");

    // Agent A edits the shared block with a memory tool; B and C see the edit.
    script.0.lock().unwrap().push_back(tool(
        "core_memory_append",
        json!({"label": "qsr_real_estate_service_experience", "content": "Lead with drive-thru stacking data."}),
    ));
    let reply = runtime
        .send_message(
            &a,
            AgentMessage {
                content: "remember this lesson".into(),
                on_behalf_of: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(reply.assistant_text(), "done");
    for agent in [&b, &c] {
        let blocks = runtime.agent_blocks(agent).await.unwrap();
        let s = blocks.iter().find(|x| x.id == shared.id).unwrap();
        assert_eq!(s.value, "Lead with drive-thru stacking data.");
    }
    // Own blocks are distinct per agent.
    let human_a = runtime
        .agent_blocks(&a)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.label == "human")
        .unwrap();
    let human_b = runtime
        .agent_blocks(&b)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.label == "human")
        .unwrap();
    assert_ne!(human_a.id, human_b.id);
    assert!(human_a.value.contains("Ada"));

    // Updating over the limit is rejected; detach removes only the link.
    assert!(matches!(
        blocks
            .update_block_value(&shared.id, &"x".repeat(8001))
            .await,
        Err(AgentError::Rejected(_))
    ));
    blocks.detach_block(&c, &shared.id).await.unwrap();
    assert_eq!(blocks.agents_of_block(&shared.id).await.unwrap().len(), 2);

    // Archival: insert, list newest first, ranked search.
    for text in [
        "Ada's team reviews QSR pads in Dallas every Monday",
        "Prefers drive-thru QSR sites near highway exits; drive-thru is a must",
        "Grocery anchors matter for inline tenants",
    ] {
        runtime
            .archival_insert(&a, text, vec!["note".into()])
            .await
            .unwrap();
    }
    let listed = runtime.archival_list(&a, 2).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0].content.starts_with("Grocery"));
    let found = runtime
        .archival_search(&a, "drive-thru highway", 5)
        .await
        .unwrap();
    assert!(
        found[0].content.starts_with("Prefers drive-thru"),
        "{found:?}"
    );
    assert!(
        runtime
            .archival_search(&b, "drive-thru", 5)
            .await
            .unwrap()
            .is_empty(),
        "passages are per agent"
    );

    // Conversation search finds the earlier user message.
    script
        .0
        .lock()
        .unwrap()
        .push_back(tool("conversation_search", json!({"query": "lesson"})));
    let reply = runtime
        .send_message(
            &a,
            AgentMessage {
                content: "what did I tell you?".into(),
                on_behalf_of: None,
            },
        )
        .await
        .unwrap();
    let out = reply
        .steps
        .iter()
        .find_map(|s| match s {
            pi_domain::agent::AgentStep::ToolReturn { output, .. } => Some(output.clone()),
            _ => None,
        })
        .unwrap();
    assert!(out.contains("remember this lesson"), "{out}");

    // Deleting an agent removes it and its own blocks, never the shared one.
    runtime.delete_agent(&a).await.unwrap();
    assert!(matches!(
        runtime.get_agent(&a).await,
        Err(AgentError::NotFound(_))
    ));
    assert!(matches!(
        blocks.get_block(&human_a.id).await,
        Err(AgentError::NotFound(_))
    ));
    assert_eq!(
        blocks.agents_of_block(&shared.id).await.unwrap(),
        vec![b.clone()]
    );
    assert!(matches!(
        runtime.delete_agent(&a).await,
        Err(AgentError::NotFound(_))
    ));

    // Paging lists every agent once.
    let first = runtime.list_agents(1, None, None).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let second = runtime
        .list_agents(1, first.next_cursor.clone(), None)
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(second.next_cursor.is_none());
    assert_ne!(first.items[0].id, second.items[0].id);

    // A tag filters the list; adding it (twice) brings the agent in once.
    let tag = "pi-deployment:story".to_owned();
    let tagged = |page: pi_domain::agent::Page<pi_domain::agent::AgentSummary>| {
        page.items.into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    assert!(
        tagged(
            runtime
                .list_agents(10, None, Some(tag.clone()))
                .await
                .unwrap()
        )
        .is_empty()
    );
    let some = first.items[0].id.clone();
    runtime.add_tag(&some, &tag).await.unwrap();
    runtime.add_tag(&some, &tag).await.unwrap();
    assert_eq!(
        tagged(
            runtime
                .list_agents(10, None, Some(tag.clone()))
                .await
                .unwrap()
        ),
        vec![some.clone()]
    );
    let agent = runtime.get_agent(&some).await.unwrap();
    assert_eq!(agent.tags.iter().filter(|t| **t == tag).count(), 1);
    // A tag that only starts like ours does not match.
    assert!(
        tagged(
            runtime
                .list_agents(10, None, Some("pi-deployment:sto".into()))
                .await
                .unwrap()
        )
        .is_empty()
    );
    assert!(matches!(
        runtime.add_tag(&a, &tag).await,
        Err(AgentError::NotFound(_))
    ));

    db.close().await.unwrap();
    test_db.destroy().await;
}
