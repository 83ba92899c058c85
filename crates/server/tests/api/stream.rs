//! `POST /chat/conversations/{id}/messages/stream`: the exchange as Server-Sent Events.

use pi_domain::agent::{AgentError, AgentReply, AgentStep, Usage};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_body, sse_events};

pi_store::engine_tests!(crate::helpers::run_named => [
    steps_stream_in_order_then_the_stored_reply,
    failures_before_anything_is_stored_are_plain_json_errors,
    an_agent_failure_is_an_error_event_and_the_user_message_stays,
], crate::helpers::run_offline => [the_embedded_runtime_streams_tool_steps_and_words],
    super::with_quick_keep_alive => [a_long_quiet_turn_is_kept_alive],
    super::with_a_slow_llm => [an_llm_reply_streams_while_the_model_writes]);

/// The embedded runtime over the fake OpenAI-compatible LLM, whose model pauses before each word.
async fn with_a_slow_llm<F, Fut>(engine: pi_store::Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let llm = pi_testkit::openai::FakeLlm::start().unwrap();
    crate::helpers::run_configured(
        engine,
        crate::helpers::AgentMode::Embedded {
            llm_base_url: Some(llm.base_url().to_owned()),
        },
        |s| s.llm_model = pi_testkit::openai::SLOW_MODEL_ID.into(),
        test,
    )
    .await;
    llm.stop().await;
}

/// Through the HTTP API: the reply's words reach the client while the LLM is still writing
/// (timestamps), after the tool round, and add up to the stored reply.
async fn an_llm_reply_streams_while_the_model_writes(app: TestApp) {
    let token = app.signup_token("words@example.com").await;
    let conv = app.conversation_id(&token).await;
    let events = crate::helpers::timed_sse_events(
        app.stream_message(&token, &conv, "Which coffee chains are busiest in Austin?")
            .await,
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(_, e, _)| e.as_str()).collect();
    let ret = names.iter().position(|e| *e == "tool_return").unwrap();
    let delta = names.iter().position(|e| *e == "assistant_delta").unwrap();
    assert!(ret < delta, "{names:?}");
    let (deltas, first, done) = crate::helpers::assert_streamed_as_written(&events);
    eprintln!("embedded: {deltas} deltas, first at {first:?}, done at {done:?}");
}

async fn with_quick_keep_alive<F, Fut>(engine: pi_store::Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    crate::helpers::run_configured(
        engine,
        crate::helpers::AgentMode::Fake,
        |s| s.sse_keep_alive_secs = 1,
        test,
    )
    .await;
}

/// A turn that stays quiet (a long tool run) gets `: keep-alive` comments, then its events.
async fn a_long_quiet_turn_is_kept_alive(app: TestApp) {
    app.agents
        .set_latency(std::time::Duration::from_millis(2_600));
    let token = app.signup_token("slow@example.com").await;
    let conv = app.conversation_id(&token).await;
    let response = app.stream_message(&token, &conv, "take your time").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let comments = text.matches(": keep-alive\n\n").count();
    assert!(comments >= 2, "{text}");
    assert!(
        text.trim_end().ends_with('}') && text.contains("event: done"),
        "{text}"
    );
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(e, _)| e.as_str()).collect()
}

async fn steps_stream_in_order_then_the_stored_reply(app: TestApp) {
    app.agents.set_reply(|_, _| AgentReply {
        steps: vec![
            AgentStep::Reasoning {
                text: "Look up Austin coffee.".into(),
            },
            AgentStep::ToolCall {
                call_id: "c1".into(),
                name: "search_places".into(),
                arguments: "{}".into(),
            },
            AgentStep::ToolReturn {
                call_id: "c1".into(),
                name: "search_places".into(),
                output: "{\"places\":[]}".into(),
                is_error: false,
            },
            AgentStep::Assistant {
                text: "Part one.".into(),
            },
            AgentStep::Assistant {
                text: "  Part two. ".into(),
            },
        ],
        usage: Usage::default(),
    });
    let token = app.signup_token("sse@example.com").await;
    let conv = app.conversation_id(&token).await;
    let events = sse_events(app.stream_message(&token, &conv, "Coffee in Austin?").await).await;
    assert_eq!(
        names(&events),
        [
            "user_message",
            "reasoning",
            "tool_call",
            "tool_return",
            "assistant_delta",
            "assistant_delta",
            "assistant_message",
            "done"
        ]
    );
    assert_eq!(events[0].1["content"], "Coffee in Austin?");
    assert_eq!(events[0].1["role"], "user");
    assert_eq!(events[2].1["name"], "search_places");
    assert_eq!(events[3].1["output"], "{\"places\":[]}");
    // The deltas add up to the stored reply.
    let streamed: String = events
        .iter()
        .filter(|(e, _)| e == "assistant_delta")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, "Part one.\n\nPart two.");
    assert_eq!(events[6].1["content"], streamed);
    // Both messages are stored, with the ids `done` names.
    let stored = app
        .get_json(&format!("/chat/conversations/{conv}/messages"), &token)
        .await;
    let stored = stored["messages"].as_array().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(events[7].1["user_message_id"], stored[0]["id"]);
    assert_eq!(events[7].1["assistant_message_id"], stored[1]["id"]);
    assert_eq!(stored[1]["content"], streamed);
}

async fn failures_before_anything_is_stored_are_plain_json_errors(app: TestApp) {
    let owner = app.signup_token("owner@example.com").await;
    let conv = app.conversation_id(&owner).await;
    let other = app.signup_token("other@example.com").await;
    error_body(
        app.stream_message(&other, &conv, "hi").await,
        404,
        "conversation_not_found",
    )
    .await;
    let body = error_body(
        app.stream_message(&owner, &conv, "").await,
        422,
        "validation_error",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "content");
    let anonymous = app
        .client
        .post(app.url(&format!("/chat/conversations/{conv}/messages/stream")))
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.agents.sent_count(), 0);
}

async fn an_agent_failure_is_an_error_event_and_the_user_message_stays(app: TestApp) {
    let token = app.signup_token("fail@example.com").await;
    let conv = app.conversation_id(&token).await;
    app.agents
        .fail_next([AgentError::Unavailable("the LLM is down".into())]);
    let events = sse_events(app.stream_message(&token, &conv, "hello").await).await;
    assert_eq!(names(&events), ["user_message", "error"]);
    assert_eq!(events[1].1["code"], "agent_unavailable");
    assert_eq!(events[1].1["status"], 502);
    assert!(events[1].1["detail"].as_str().unwrap().len() > 10);
    let stored = app
        .get_json(&format!("/chat/conversations/{conv}/messages"), &token)
        .await;
    assert_eq!(stored["messages"].as_array().unwrap().len(), 1);
    // Re-sending works.
    let events = sse_events(app.stream_message(&token, &conv, "hello again").await).await;
    assert_eq!(events.last().unwrap().0, "done");
}

/// The embedded runtime reports tool calls as its loop runs them, and the reply word by word
/// as the (offline) model writes it: the deltas concatenate to the stored reply.
async fn the_embedded_runtime_streams_tool_steps_and_words(app: TestApp) {
    let token = app.signup_token("rt@example.com").await;
    let conv = app.conversation_id(&token).await;
    let events = sse_events(
        app.stream_message(&token, &conv, "Which coffee chains are busiest in Austin?")
            .await,
    )
    .await;
    let n = names(&events);
    assert_eq!(n.first(), Some(&"user_message"));
    assert_eq!(n.last(), Some(&"done"));
    let call = n.iter().position(|e| *e == "tool_call").unwrap();
    let ret = n.iter().position(|e| *e == "tool_return").unwrap();
    let delta = n.iter().position(|e| *e == "assistant_delta").unwrap();
    assert!(call < ret && ret < delta, "{n:?}");
    assert_eq!(events[call].1["name"], "search_places");
    let deltas: Vec<&str> = events
        .iter()
        .filter(|(e, _)| e == "assistant_delta")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert!(deltas.len() > 10, "word by word, not one block: {deltas:?}");
    let reply = &events[n.len() - 2].1;
    let stored = reply["content"].as_str().unwrap();
    assert!(stored.contains("Austin"));
    assert_eq!(deltas.concat(), stored);
    let listed: Value = app.messages(&token, &conv).await.json().await.unwrap();
    let texts: Vec<&str> = listed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&stored), "{texts:?}");
}
