//! Contract tests: the adapter against wiremock replaying requests/responses recorded from a real
//! Letta 0.16.8 server (`tests/recordings`; see docs/LETTA.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pi_domain::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentSpec, AgentStep, BlockId, BlockSpec,
    BlockStore, PiAgentTemplate, ToolSchema,
};
use pi_domain::tools::{Tool, ToolContext, ToolOutput, ToolRegistry};
use pi_domain::user::DisplayName;
use pi_letta::{LettaBackend, LettaBlockStore, LettaConfig};
use pi_testkit::letta::stream_response;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AGENT: &str = "agent-d26d8461-5990-4a41-ae5e-27a808bc572b";

/// (method, path without query, status, response body) of a recording.
fn recording(name: &str) -> (String, String, u16, Value) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recordings");
    let req: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}.req.json")).unwrap())
            .unwrap();
    let raw = std::fs::read_to_string(format!("{dir}/{name}.resp.json")).unwrap();
    let (first, body) = raw.split_once('\n').unwrap();
    let status: u16 = first.split_whitespace().nth(2).unwrap().parse().unwrap();
    let path = req["path"]
        .as_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    (
        req["method"].as_str().unwrap().to_owned(),
        path,
        status,
        serde_json::from_str(body).unwrap(),
    )
}

/// Replays a recording; a message send is answered on the streaming route, as a stream.
async fn replay(server: &MockServer, name: &str) {
    let (m, p, status, body) = recording(name);
    let (p, answer) = match (p.ends_with("/messages") && m == "POST", status) {
        (true, 200) => (format!("{p}/stream"), stream_response(&body)),
        (true, _) => (
            format!("{p}/stream"),
            ResponseTemplate::new(status).set_body_json(body),
        ),
        (false, _) => (p, ResponseTemplate::new(status).set_body_json(body)),
    };
    Mock::given(method(m.as_str()))
        .and(path(p))
        .and(header("authorization", "Bearer testpass"))
        .and(header("x-stainless-package-version", "1.0.0"))
        .respond_with(answer)
        .mount(server)
        .await;
}

fn config(server: &MockServer) -> LettaConfig {
    LettaConfig {
        base_url: server.uri(),
        password: Some("testpass".into()),
        timeout: Duration::from_millis(500),
        model: "openai-proxy/gpt-4o-mini".into(),
        embedding: "openai/text-embedding-3-small".into(),
    }
}

fn backend(server: &MockServer) -> LettaBackend {
    LettaBackend::new(config(server), Arc::new(ToolRegistry::new())).unwrap()
}

fn block_store(server: &MockServer) -> LettaBlockStore {
    LettaBlockStore::new(config(server)).unwrap()
}

fn spec() -> AgentSpec {
    PiAgentTemplate::builtin().unwrap().spec_for(
        &DisplayName::parse("Alice").unwrap(),
        None,
        vec![BlockId("block-1".into())],
        &[],
    )
}

fn msg(text: &str) -> AgentMessage {
    AgentMessage {
        content: text.into(),
        on_behalf_of: None,
    }
}

#[tokio::test]
async fn create_agent_sends_the_spec_and_returns_the_id() {
    let server = MockServer::start().await;
    replay(&server, "create_agent").await;
    let id = backend(&server).create_agent(spec()).await.unwrap();
    assert_eq!(id.0, AGENT);
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["model"], "openai-proxy/gpt-4o-mini");
    assert_eq!(sent["block_ids"], json!(["block-1"]));
    let labels: Vec<&str> = sent["memory_blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["agent_persona", "human", "user_persona_profile"]);
}

#[tokio::test]
async fn a_plain_reply_is_the_assistant_text() {
    let server = MockServer::start().await;
    replay(&server, "send_message").await;
    let reply = backend(&server)
        .send_message(&AgentId(AGENT.into()), msg("Hi, plan a day in Paris"))
        .await
        .unwrap();
    assert_eq!(reply.assistant_text(), "Hello from the fake LLM!");
    assert_eq!(reply.usage.total_tokens, 110);
}

struct FindRestaurants;

#[async_trait]
impl Tool for FindRestaurants {
    fn schema(&self) -> ToolSchema {
        ToolSchema {
            name: "find_restaurants".into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        }
    }
    async fn call(&self, _: &ToolContext, args: Value) -> ToolOutput {
        assert_eq!(args["query"], "vegan near Louvre");
        ToolOutput::from_json(r#"[{"name":"Le Potager","rating":4.6}]"#.into())
    }
}

#[tokio::test]
async fn client_tools_run_here_through_the_approval_loop() {
    let server = MockServer::start().await;
    let (_, p, _, b1) = recording("client_tool_1");
    let (_, _, _, b2) = recording("client_tool_2");
    let p = format!("{p}/stream");
    Mock::given(method("POST"))
        .and(path(p.clone()))
        .and(body_string_contains("tool_returns"))
        .respond_with(stream_response(&b2))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(p))
        .and(body_string_contains("CALL:"))
        .respond_with(stream_response(&b1))
        .mount(&server)
        .await;
    let mut registry = ToolRegistry::new();
    registry.register(Arc::new(FindRestaurants));
    let letta = block_store(&server).gateway(Arc::new(registry));
    let reply = letta
        .send_message(
            &AgentId(AGENT.into()),
            msg("CALL:find_restaurants vegan near Louvre"),
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = reply
        .steps
        .iter()
        .map(|s| match s {
            AgentStep::Reasoning { .. } => "reasoning",
            AgentStep::ToolCall { .. } => "tool_call",
            AgentStep::ToolReturn { .. } => "tool_return",
            AgentStep::Assistant { .. } => "assistant",
        })
        .collect();
    assert_eq!(kinds, ["tool_call", "tool_return", "assistant"]);
    assert!(reply.assistant_text().starts_with("Done. Tool said"));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let second: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(
        second["messages"][0]["tool_returns"][0]["tool_call_id"],
        "call_d9c19119bf95"
    );
    assert_eq!(
        second["messages"][0]["tool_returns"][0]["status"],
        "success"
    );
    assert_eq!(second["client_tools"][0]["name"], "find_restaurants");
}

#[tokio::test]
async fn error_shapes_map_to_typed_errors() {
    let server = MockServer::start().await;
    replay(&server, "agent_not_found").await;
    let letta = backend(&server);
    let missing = AgentId("agent-00000000-0000-4000-8000-000000000000".into());
    assert!(matches!(
        letta.get_agent(&missing).await,
        Err(AgentError::NotFound(_))
    ));

    for (name, kind) in [
        ("llm_fail_v1_500", "llm_error"),
        ("llm_fail_v1_429", "llm_rate_limit"),
    ] {
        let server = MockServer::start().await;
        replay(&server, name).await;
        let err = backend(&server)
            .send_message(&AgentId(AGENT.into()), msg("FAIL"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::Unavailable(m) if m.contains(kind)),
            "{err:?}"
        );
        // The same failure reported inside a stream Letta already answered 200 to.
        let (_, p, _, body) = recording(name);
        let server = MockServer::start().await;
        let sse = format!(
            "data: {}\n\nevent: error\ndata: {body}\n\n",
            json!({"message_type": "ping", "id": "ping-1"})
        );
        Mock::given(method("POST"))
            .and(path(format!("{p}/stream")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
            .mount(&server)
            .await;
        let err = backend(&server)
            .send_message(&AgentId(AGENT.into()), msg("FAIL"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::Unavailable(m) if m.contains(kind)),
            "{err:?}"
        );
    }

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "Unauthorized"})))
        .mount(&server)
        .await;
    let err = backend(&server)
        .get_agent(&AgentId(AGENT.into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AgentError::Unavailable(m) if m.contains("LETTA_SERVER_PASSWORD")),
        "{err:?}"
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    assert_eq!(
        backend(&server)
            .get_agent(&AgentId(AGENT.into()))
            .await
            .unwrap_err(),
        AgentError::Timeout
    );

    let closed = LettaBackend::new(
        LettaConfig {
            base_url: "http://127.0.0.1:9".into(),
            password: None,
            timeout: Duration::from_millis(500),
            model: "m".into(),
            embedding: "e".into(),
        },
        Arc::new(ToolRegistry::new()),
    )
    .unwrap();
    assert!(matches!(
        closed.get_agent(&AgentId(AGENT.into())).await,
        Err(AgentError::Unavailable(_))
    ));
}

#[tokio::test]
async fn blocks_and_archival_round_trip() {
    let server = MockServer::start().await;
    for name in [
        "create_block",
        "list_blocks",
        "block_agents",
        "attach_block_legacy",
        "detach_block",
        "agent_blocks",
        "modify_block",
        "archival_search",
        "archival_insert",
    ] {
        replay(&server, name).await;
    }
    let letta = backend(&server);
    let blocks = block_store(&server);
    let agent = AgentId(AGENT.into());
    let block = blocks
        .create_block(BlockSpec {
            label: "trip_plan".into(),
            value: "Day 1: Louvre".into(),
            limit: 5000,
            description: "Current trip plan shared between agents".into(),
            read_only: false,
        })
        .await
        .unwrap();
    assert_eq!(block.id.0, "block-91211844-496b-4a1d-82f5-683fe9d48437");
    assert_eq!(block.limit, 5000);
    assert_eq!(
        blocks.find_blocks_by_label("trip_plan").await.unwrap()[0].label,
        "trip_plan"
    );
    assert_eq!(
        blocks.agents_of_block(&block.id).await.unwrap(),
        vec![agent.clone()]
    );
    blocks.attach_block(&agent, &block.id).await.unwrap();
    blocks.detach_block(&agent, &block.id).await.unwrap();
    assert_eq!(
        blocks
            .update_block_value(&block.id, "Day 1: Louvre, Day 2: Orsay")
            .await
            .unwrap()
            .value,
        "Day 1: Louvre, Day 2: Orsay"
    );
    let blocks = letta.agent_blocks(&agent).await.unwrap();
    assert!(blocks.iter().any(|b| b.label == "persona" && b.read_only));
    let found = letta
        .archival_search(&agent, "vegan food", 2)
        .await
        .unwrap();
    assert_eq!(
        found[0].content,
        "Alice prefers vegan restaurants near museums"
    );
    assert_eq!(found[0].tags, vec!["prefs".to_owned()]);
    let inserted = letta
        .archival_insert(
            &agent,
            "Alice prefers vegan restaurants near museums",
            vec!["prefs".into()],
        )
        .await
        .unwrap();
    assert!(inserted.id.starts_with("passage-"));
    assert_eq!(
        inserted.content,
        "Alice prefers vegan restaurants near museums"
    );
}

/// Letta's streaming route reports the pending approval inside a 200 stream
/// (`stream_pending_conflict.sse`, recorded); its plain route answers 409 (`pending_conflict`).
/// Either way the approval is answered and the message sent again.
#[tokio::test]
async fn a_pending_approval_left_behind_is_answered_and_the_message_resent() {
    let (_, _, conflict_status, conflict) = recording("pending_conflict");
    let in_stream = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/recordings/stream_pending_conflict.sse"
    ))
    .unwrap();
    for refusal in [
        ResponseTemplate::new(200).set_body_raw(in_stream, "text/event-stream"),
        ResponseTemplate::new(conflict_status).set_body_json(conflict),
    ] {
        resends_after_answering_the_pending_approval(refusal).await;
    }
}

async fn resends_after_answering_the_pending_approval(refusal: ResponseTemplate) {
    let server = MockServer::start().await;
    let (_, p, _, _) = recording("pending_conflict");
    let (_, _, _, approval) = recording("client_tool_1");
    let (_, _, _, closed) = recording("client_tool_2");
    let (_, _, _, ok) = recording("send_message");
    let stream = format!("{p}/stream");
    Mock::given(method("POST"))
        .and(path(stream.clone()))
        .and(body_string_contains("hello while pending"))
        .respond_with(refusal)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(stream.clone()))
        .and(body_string_contains("hello while pending"))
        .respond_with(stream_response(&ok))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(stream))
        .and(body_string_contains("tool_returns"))
        .respond_with(stream_response(&closed))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([approval["messages"][0]])))
        .mount(&server)
        .await;
    let reply = backend(&server)
        .send_message(&AgentId(AGENT.into()), msg("hello while pending"))
        .await
        .unwrap();
    assert_eq!(reply.assistant_text(), "Hello from the fake LLM!");
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies.len(),
        3,
        "user message, error tool_return for the pending call, user message again"
    );
    assert_eq!(
        bodies[1]["messages"][0]["tool_returns"][0]["tool_call_id"],
        "call_d9c19119bf95"
    );
    assert_eq!(
        bodies[1]["messages"][0]["tool_returns"][0]["status"],
        "error"
    );
}

#[tokio::test]
async fn reads_are_retried_but_message_sends_are_not() {
    let server = MockServer::start().await;
    let (_, _, _, agent) = recording("create_agent");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"detail": "busy"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"detail": "busy"})))
        .mount(&server)
        .await;
    let letta = backend(&server);
    assert_eq!(
        letta.get_agent(&AgentId(AGENT.into())).await.unwrap().name,
        "planner-test"
    );
    assert!(matches!(
        letta.send_message(&AgentId(AGENT.into()), msg("hi")).await,
        Err(AgentError::Unavailable(_))
    ));
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 1, "a failed send is not repeated");
}

#[tokio::test]
async fn assistant_content_as_parts_is_joined() {
    let server = MockServer::start().await;
    let (_, p, _, mut body) = recording("send_message");
    for m in body["messages"].as_array_mut().unwrap() {
        if m["message_type"] == "assistant_message" {
            m["content"] = json!([{"type": "text", "text": "Hello from "}, {"type": "text", "text": "parts!"}]);
        }
    }
    Mock::given(method("POST"))
        .and(path(format!("{p}/stream")))
        .respond_with(stream_response(&body))
        .mount(&server)
        .await;
    let reply = backend(&server)
        .send_message(&AgentId(AGENT.into()), msg("Hi"))
        .await
        .unwrap();
    assert_eq!(reply.assistant_text(), "Hello from parts!");
}

fn agent_json(id: &str) -> Value {
    json!({"id": id, "name": id, "created_at": "2026-11-25T17:37:28.203644Z",
           "updated_at": "2026-11-25T17:37:28.203644Z", "tags": ["pi"]})
}

#[tokio::test]
async fn list_agents_pages_with_the_after_cursor() {
    let server = MockServer::start().await;
    // Page 1: asked for limit+1 to learn whether there is more.
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .and(query_param("limit", "3"))
        .and(query_param("order", "desc"))
        .and(query_param("include", "agent.tags"))
        .and(wiremock::matchers::query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            agent_json("agent-3"),
            agent_json("agent-2"),
            agent_json("agent-1")
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .and(query_param("after", "agent-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([agent_json("agent-1")])))
        .mount(&server)
        .await;
    let letta = backend(&server);
    let first = letta.list_agents(2, None, None).await.unwrap();
    let ids: Vec<&str> = first.items.iter().map(|a| a.id.0.as_str()).collect();
    assert_eq!(ids, ["agent-3", "agent-2"]);
    assert_eq!(first.items[0].tags, ["pi"]);
    let cursor = first.next_cursor.clone().unwrap();
    assert!(cursor.ends_with("|agent-2"), "{cursor}");
    let second = letta.list_agents(2, first.next_cursor, None).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_cursor, None);
}

#[tokio::test]
async fn delete_agent_then_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/agents/{AGENT}")))
        .and(header("authorization", "Bearer testpass"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(null)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    replay(&server, "agent_not_found").await;
    Mock::given(method("DELETE"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"detail": "Agent not found"})),
        )
        .mount(&server)
        .await;
    let letta = backend(&server);
    letta.delete_agent(&AgentId(AGENT.into())).await.unwrap();
    assert!(matches!(
        letta.delete_agent(&AgentId(AGENT.into())).await,
        Err(AgentError::NotFound(_))
    ));
}

#[tokio::test]
async fn readiness_checks_the_password_not_only_health() {
    use pi_domain::health::HealthProbe;
    let server = MockServer::start().await;
    // Letta leaves /v1/health/ open even in --secure mode.
    Mock::given(method("GET"))
        .and(path("/v1/health/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": "0.16.8", "status": "ok"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .and(header("authorization", "Bearer testpass"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "Unauthorized"})))
        .mount(&server)
        .await;
    let ok = backend(&server).check().await.unwrap();
    assert!(ok.contains("letta 0.16.8"), "{ok}");
    let wrong = LettaBackend::new(
        LettaConfig {
            base_url: server.uri(),
            password: Some("wrong".into()),
            timeout: Duration::from_millis(500),
            model: "m".into(),
            embedding: "e".into(),
        },
        Arc::new(ToolRegistry::new()),
    )
    .unwrap();
    let err = wrong.check().await.unwrap_err();
    assert!(err.contains("LETTA_SERVER_PASSWORD"), "{err}");
}

/// A shared Letta holds other deployments' agents: listing asks Letta for ours only, and
/// adoption adds our tag to the tags an agent has.
#[tokio::test]
async fn list_filters_by_the_deployment_tag_and_adoption_adds_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .and(query_param("tags", "pi-deployment:ours"))
        .and(query_param("match_all_tags", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([agent_json("agent-1")])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/agents/agent-9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent_json("agent-9")))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/agents/agent-9"))
        .and(body_string_contains(
            r#""tags":["pi","pi-deployment:ours"]"#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent_json("agent-9")))
        .expect(1)
        .mount(&server)
        .await;
    let letta = backend(&server);
    let page = letta
        .list_agents(10, None, Some("pi-deployment:ours".into()))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    letta
        .add_tag(&AgentId("agent-9".into()), "pi-deployment:ours")
        .await
        .unwrap();
}

/// Messages go to the streaming route with token streaming; the recorded token stream of a real
/// Letta reaches the observer piece by piece, before the whole part, and adds up to it.
#[tokio::test]
async fn token_pieces_reach_the_observer_before_the_whole_text() {
    let server = MockServer::start().await;
    let sse = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/recordings/stream_tokens.sse"
    ))
    .unwrap();
    Mock::given(method("POST"))
        .and(path(format!("/v1/agents/{AGENT}/messages/stream")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .mount(&server)
        .await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (steps, texts) = (seen.clone(), seen.clone());
    let observer = pi_domain::agent::StepObserver::new(move |s| {
        if let AgentStep::Assistant { text } = s {
            steps.lock().unwrap().push(format!("whole:{text}"));
        }
    })
    .with_text(move |piece| texts.lock().unwrap().push(format!("piece:{piece}")));
    let reply = backend(&server)
        .send_message_observed(&AgentId(AGENT.into()), msg("Hi"), observer)
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "piece:Hello fr",
            "piece:om the f",
            "piece:ake LLM!",
            "whole:Hello from the fake LLM!"
        ]
    );
    assert_eq!(reply.assistant_text(), "Hello from the fake LLM!");
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["stream_tokens"], true);
    assert_eq!(sent["messages"][0]["content"], "Hi");
}

fn agent_at(id: &str, created_at: &str) -> Value {
    let mut agent = agent_json(id);
    agent["created_at"] = json!(created_at);
    agent
}

/// Letta's `after` starts over from the newest agent when the agent it names was deleted
/// meanwhile: the next page skips what was listed already instead of repeating it.
#[tokio::test]
async fn a_cursor_agent_deleted_between_pages_lists_no_agent_twice() {
    let server = MockServer::start().await;
    let a = agent_at("agent-a", "2026-11-25T17:00:05Z");
    let b = agent_at("agent-b", "2026-11-25T17:00:04Z");
    let c = agent_at("agent-c", "2026-11-25T17:00:03Z");
    let d = agent_at("agent-d", "2026-11-25T17:00:02Z");
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .and(wiremock::matchers::query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([a, b, c])))
        .mount(&server)
        .await;
    // agent-b is gone: Letta answers from the top again.
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .and(query_param("after", "agent-b"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([a, c, d])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .and(query_param("after", "agent-d"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let letta = backend(&server);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = letta.list_agents(2, cursor, None).await.unwrap();
        seen.extend(page.items.into_iter().map(|a| a.id.0));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["agent-a", "agent-b", "agent-c", "agent-d"]);
}
