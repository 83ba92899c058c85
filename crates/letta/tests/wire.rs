//! The typed wire: what Letta must send is required, what it adds is ignored, and what we send
//! is encoded where it goes (ids as path segments, values as query pairs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use pi_domain::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, BlockId, BlockSpec, BlockStore,
};
use pi_domain::health::HealthProbe;
use pi_domain::tools::ToolRegistry;
use pi_letta::{LettaBackend, LettaBlockStore, LettaConfig};
use pi_testkit::letta::stream_response;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(server: &MockServer) -> LettaConfig {
    LettaConfig {
        base_url: server.uri(),
        password: Some("testpass".into()),
        timeout: Duration::from_millis(500),
        model: "m".into(),
        embedding: "e".into(),
    }
}

fn backend(server: &MockServer) -> LettaBackend {
    LettaBackend::new(config(server), Arc::new(ToolRegistry::new())).unwrap()
}

fn block_store(server: &MockServer) -> LettaBlockStore {
    LettaBlockStore::new(config(server)).unwrap()
}

/// Answers `route` with `body`; a message send is answered on the streaming route, as a stream.
async fn answering(verb: &str, route: &str, body: Value) -> MockServer {
    let server = MockServer::start().await;
    let (route, answer) = match route.strip_suffix("/messages") {
        Some(agent) if verb == "POST" => {
            (format!("{agent}/messages/stream"), stream_response(&body))
        }
        _ => (
            route.to_owned(),
            ResponseTemplate::new(200).set_body_json(body),
        ),
    };
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn agent_json(id: &str) -> Value {
    json!({"id": id, "name": "planner", "created_at": "2026-11-25T17:37:28.203644Z",
           "updated_at": "2026-11-25T17:37:28.203644Z", "tags": ["pi"]})
}

fn block_json(id: &str) -> Value {
    json!({"id": id, "label": "human", "value": "v", "limit": 2000, "description": "d",
           "read_only": false, "tags": []})
}

fn passage_json() -> Value {
    json!({"id": "passage-1", "text": "Alice likes museums", "tags": ["prefs"],
           "created_at": "2026-11-25T17:44:18.849599Z"})
}

fn reply_json(messages: Value) -> Value {
    json!({"messages": messages, "stop_reason": {"stop_reason": "end_turn"},
           "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "step_count": 1}})
}

fn malformed(result: Result<impl std::fmt::Debug, AgentError>, expected: &str) {
    match result {
        Err(AgentError::Unavailable(m)) => assert!(m.contains(expected), "{m}"),
        other => panic!("expected a malformed-answer error naming {expected:?}, got {other:?}"),
    }
}

const AGENT: &str = "agent-1";

/// Before: a missing `id` became `""`, an agent (or block) nobody could address again.
#[tokio::test]
async fn an_answer_without_an_id_is_an_error_not_an_empty_id() {
    let mut no_id = agent_json(AGENT);
    no_id.as_object_mut().unwrap().remove("id");

    let server = answering("GET", "/v1/agents/agent-1", no_id.clone()).await;
    malformed(
        backend(&server).get_agent(&AgentId(AGENT.into())).await,
        "missing field `id`",
    );

    let server = answering("GET", "/v1/agents/", json!([agent_json("agent-2"), no_id])).await;
    malformed(
        backend(&server).list_agents(10, None, None).await,
        "missing field `id`",
    );

    let server = answering("POST", "/v1/agents/", json!({"name": "planner"})).await;
    let spec = pi_domain::agent::PiAgentTemplate::builtin()
        .unwrap()
        .spec_for(
            &pi_domain::user::DisplayName::parse("Alice").unwrap(),
            None,
            vec![],
            &[],
        );
    malformed(
        backend(&server).create_agent(spec).await,
        "missing field `id`",
    );

    let server = answering("GET", "/v1/blocks/block-1/agents", json!([{"name": "x"}])).await;
    malformed(
        block_store(&server)
            .agents_of_block(&BlockId("block-1".into()))
            .await,
        "missing field `id`",
    );

    let mut no_id = block_json("block-1");
    no_id.as_object_mut().unwrap().remove("id");
    let server = answering("POST", "/v1/blocks/", no_id).await;
    let spec = BlockSpec {
        label: "l".into(),
        value: "v".into(),
        limit: 10,
        description: "d".into(),
        read_only: false,
    };
    malformed(
        block_store(&server).create_block(spec).await,
        "missing field `id`",
    );
}

/// Before: a timestamp that did not parse became "now".
#[tokio::test]
async fn a_bad_timestamp_is_an_error_not_now() {
    let agent = AgentId(AGENT.into());

    let mut bad = agent_json(AGENT);
    bad["created_at"] = json!("yesterday");
    let server = answering("GET", "/v1/agents/agent-1", bad).await;
    malformed(backend(&server).get_agent(&agent).await, "RFC 3339");

    let mut bad = agent_json(AGENT);
    bad["updated_at"] = json!("2026-11-25 17:37");
    let server = answering("GET", "/v1/agents/agent-1", bad).await;
    malformed(backend(&server).get_agent(&agent).await, "RFC 3339");

    let mut bad = passage_json();
    bad["created_at"] = json!("2026-13-45T00:00:00Z");
    let server = answering("GET", "/v1/agents/agent-1/archival-memory", json!([bad])).await;
    malformed(backend(&server).archival_list(&agent, 5).await, "RFC 3339");

    let mut missing = passage_json();
    missing.as_object_mut().unwrap().remove("created_at");
    let server = answering(
        "POST",
        "/v1/agents/agent-1/archival-memory",
        json!([missing]),
    )
    .await;
    malformed(
        backend(&server).archival_insert(&agent, "t", vec![]).await,
        "missing field `created_at`",
    );

    let hit = json!({"id": "passage-1", "content": "c", "tags": [], "timestamp": "Tuesday"});
    let server = answering(
        "GET",
        "/v1/agents/agent-1/archival-memory/search",
        json!({"results": [hit], "count": 1}),
    )
    .await;
    malformed(
        backend(&server).archival_search(&agent, "q", 2).await,
        "RFC 3339",
    );
}

/// Message dates are never read: a turn Letta completed is not thrown away over one.
#[tokio::test]
async fn a_turn_is_not_lost_over_a_message_date_the_adapter_does_not_read() {
    let server = answering(
        "POST",
        "/v1/agents/agent-1/messages",
        reply_json(
            json!([{"message_type": "assistant_message", "date": "later", "content": "Hi"}]),
        ),
    )
    .await;
    let reply = backend(&server)
        .send_message(&AgentId(AGENT.into()), message("hello"))
        .await
        .unwrap();
    assert_eq!(reply.assistant_text(), "Hi");
}

/// Before: a turn without the fields the approval loop reads ended as an empty reply.
#[tokio::test]
async fn a_turn_missing_what_the_loop_reads_is_an_error() {
    for (body, field) in [
        (json!({"messages": [], "usage": {}}), "stop_reason"),
        (
            reply_json(json!([{"message_type": "assistant_message"}])),
            "content",
        ),
        (
            reply_json(json!([{"message_type": "tool_return_message", "tool_return": "{}"}])),
            "tool_call_id",
        ),
    ] {
        let server = answering("POST", "/v1/agents/agent-1/messages", body).await;
        malformed(
            backend(&server)
                .send_message(&AgentId(AGENT.into()), message("hello"))
                .await,
            field,
        );
    }
}

fn message(text: &str) -> AgentMessage {
    AgentMessage {
        content: text.into(),
        on_behalf_of: None,
    }
}

/// Before: ids were pasted into the path as they were (`/` and `?` split it) and dot ids were
/// resolved away by the URL parser.
#[tokio::test]
async fn ids_go_as_path_segments_and_values_as_query_pairs() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/agents/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([agent_json(AGENT)])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/blocks/block-a%2Fb%20c%3Fd%23e"))
        .respond_with(ResponseTemplate::new(200).set_body_json(block_json("block-a/b c?d#e")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/agents/agent%201%2F..%2Fx/archival-memory"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([passage_json()])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(
            "/v1/agents/agent-1/core-memory/blocks/attach/block%2Fx%25y",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent_json(AGENT)))
        .mount(&server)
        .await;
    let letta = backend(&server);
    let blocks = block_store(&server);

    let tag = "persona:qsr real/estate&x=1";
    let page = letta
        .list_agents(10, Some("agent-0&order=asc".into()), Some(tag.into()))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let block = blocks
        .get_block(&BlockId("block-a/b c?d#e".into()))
        .await
        .unwrap();
    assert_eq!(block.id.0, "block-a/b c?d#e");
    let odd = AgentId("agent 1/../x".into());
    assert_eq!(letta.archival_list(&odd, 5).await.unwrap().len(), 1);
    blocks
        .attach_block(&AgentId(AGENT.into()), &BlockId("block/x%y".into()))
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let list = &requests[0];
    let pairs: Vec<(String, String)> = list.url.query_pairs().into_owned().collect();
    let value = |key: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(value("tags"), [tag]);
    assert_eq!(value("after"), ["agent-0&order=asc"]);
    assert_eq!(value("order"), ["desc"]);
    assert!(value("x").is_empty(), "{:?}", list.url);
    let paths: Vec<&str> = requests.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/v1/agents/",
            "/v1/blocks/block-a%2Fb%20c%3Fd%23e",
            "/v1/agents/agent%201%2F..%2Fx/archival-memory",
            "/v1/agents/agent-1/core-memory/blocks/attach/block%2Fx%25y",
        ]
    );

    // A dot segment cannot be sent as an id at all: it names no agent, and nothing is sent.
    for dots in [".", ".."] {
        assert!(matches!(
            letta.get_agent(&AgentId(dots.into())).await,
            Err(AgentError::NotFound(_))
        ));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

/// Letta adds fields in every release: none of them breaks the adapter.
#[tokio::test]
async fn unknown_fields_and_message_types_are_ignored() {
    let extra = json!({"brand_new": {"nested": [1, 2]}, "another": null});
    let with_extra = |mut v: Value| {
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let server = MockServer::start().await;
    let routes = [
        ("GET", "/v1/agents/agent-1", with_extra(agent_json(AGENT))),
        (
            "GET",
            "/v1/health/",
            with_extra(json!({"version": "0.17.0", "status": "ok"})),
        ),
        ("GET", "/v1/agents/", json!([])),
        (
            "GET",
            "/v1/blocks/block-1",
            with_extra(block_json("block-1")),
        ),
        (
            "GET",
            "/v1/agents/agent-1/archival-memory",
            json!([with_extra(passage_json())]),
        ),
        (
            "GET",
            "/v1/agents/agent-1/archival-memory/search",
            with_extra(json!({"results": [with_extra(json!({"id": "passage-1",
                "content": "c", "timestamp": "2026-11-25T17:44:18+02:00"}))], "count": 1})),
        ),
        (
            "POST",
            "/v1/agents/agent-1/messages",
            with_extra(json!({
                "messages": [
                    with_extra(json!({"message_type": "hidden_reasoning_message", "state": "x"})),
                    with_extra(json!({"message_type": "reasoning_message", "reasoning": "r"})),
                    with_extra(json!({"message_type": "assistant_message",
                        "content": [with_extra(json!({"type": "text", "text": "Hi"}))]})),
                    {"message_type": "some_future_message"},
                ],
                "stop_reason": with_extra(json!({"stop_reason": "end_turn"})),
                "usage": with_extra(json!({"total_tokens": 7})),
            })),
        ),
    ];
    for (verb, route, body) in routes {
        let (route, answer) = match route.strip_suffix("/messages") {
            Some(agent) => (format!("{agent}/messages/stream"), stream_response(&body)),
            None => (
                route.to_owned(),
                ResponseTemplate::new(200).set_body_json(body),
            ),
        };
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    let letta = backend(&server);
    let blocks = block_store(&server);
    let agent = AgentId(AGENT.into());
    assert_eq!(letta.get_agent(&agent).await.unwrap().tags, ["pi"]);
    assert!(letta.check().await.unwrap().contains("letta 0.17.0"));
    assert_eq!(
        blocks
            .get_block(&BlockId("block-1".into()))
            .await
            .unwrap()
            .limit,
        2000
    );
    assert_eq!(
        letta.archival_list(&agent, 5).await.unwrap()[0].tags,
        ["prefs"]
    );
    let found = letta.archival_search(&agent, "c", 1).await.unwrap();
    assert!(found[0].tags.is_empty());
    assert_eq!(
        found[0].created_at.to_rfc3339(),
        "2026-11-25T15:44:18+00:00"
    );
    let reply = letta.send_message(&agent, message("hello")).await.unwrap();
    assert_eq!(reply.assistant_text(), "Hi");
    assert_eq!(reply.steps.len(), 2, "{:?}", reply.steps);
    assert_eq!(reply.usage.total_tokens, 7);
}

fn approval_request(round: usize) -> Value {
    json!({
        "messages": [{
            "id": format!("message-{round}"),
            "message_type": "approval_request_message",
            "tool_call": {"name": "no_such_tool", "arguments": "{}", "tool_call_id": format!("call-{round}")},
        }],
        "stop_reason": {"message_type": "stop_reason", "stop_reason": "requires_approval"},
        "usage": {"message_type": "usage_statistics", "completion_tokens": 1, "prompt_tokens": 1, "total_tokens": 2, "step_count": 1},
    })
}

#[tokio::test]
async fn an_agent_that_never_stops_calling_tools_is_not_left_waiting() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/agents/{AGENT}/messages/stream")))
        .respond_with(stream_response(&approval_request(0)))
        .mount(&server)
        .await;
    let reply = backend(&server)
        .send_message(
            &AgentId(AGENT.into()),
            AgentMessage {
                content: "loop forever".into(),
                on_behalf_of: None,
            },
        )
        .await
        .unwrap();
    assert!(
        reply
            .assistant_text()
            .starts_with("I stopped after 8 tool rounds"),
        "{reply:?}"
    );
    let posts = server.received_requests().await.unwrap();
    // The message, 8 rounds of tool results, then the last call refused so Letta stops waiting.
    assert_eq!(posts.len(), 10);
    let last: Value = serde_json::from_slice(&posts[9].body).unwrap();
    assert_eq!(last["messages"][0]["tool_returns"][0]["status"], "error");
    assert!(
        last["messages"][0]["tool_returns"][0]["tool_return"]
            .as_str()
            .unwrap()
            .contains("too many tool rounds")
    );
}

#[tokio::test]
async fn only_a_409_means_a_pending_approval() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/agents/{AGENT}/messages/stream")))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"detail": "run-409 is not valid"})),
        )
        .mount(&server)
        .await;
    let err = backend(&server)
        .send_message(
            &AgentId(AGENT.into()),
            AgentMessage {
                content: "hi".into(),
                on_behalf_of: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AgentError::Rejected(_)), "{err:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "no pending-approval recovery for a 400");
}

#[tokio::test]
async fn a_connection_error_does_not_carry_the_users_search_text() {
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
    let err = closed
        .archival_search(&AgentId(AGENT.into()), "private dentist appointment", 3)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, AgentError::Unavailable(_)), "{text}");
    assert!(!text.contains("dentist"), "{text}");
}
