//! Faults at the boundaries, end to end: a rate-limited, hung, failing or garbled LLM, and a
//! Letta that is slow, failing or refusing. Every case answers a JSON error the client can act
//! on, keeps the user's message, and stays within the agent turn's deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pi_server::Settings;
use pi_store::Engine;
use pi_testkit::{LlmStep, ScriptedLlm};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{AgentMode, TestApp, error_body, letta_answering, run_configured};

/// The turn deadline of these apps (`AGENT_TURN_TIMEOUT_SECS`).
const TURN_SECS: u64 = 3;

/// A short turn deadline and a long per-request LLM timeout: what ends a slow turn here is the
/// turn's deadline.
fn short_turns(settings: &mut Settings) {
    settings.agent_turn_timeout_secs = TURN_SECS;
    settings.llm_timeout_secs = 60;
}

async fn with_faulty_llm<F, Fut>(engine: Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp, Arc<ScriptedLlm>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let llm = Arc::new(ScriptedLlm::start().await);
    let mode = AgentMode::Embedded {
        llm_base_url: Some(llm.base_url()),
    };
    run_configured(engine, mode, short_turns, move |app| test(app, llm)).await;
}

pi_store::engine_tests!(super::with_faulty_llm => [
    retry_after_past_the_deadline_fails_fast_with_503_and_retry_after,
    retry_after_within_the_deadline_is_waited_out,
    a_hung_llm_ends_at_the_turn_deadline_with_504,
    a_failing_llm_is_retried_then_502,
    a_garbled_llm_answer_is_502,
]);

/// Sends one message; returns the response and how long it took.
async fn timed_send(app: &TestApp, text: &str) -> (reqwest::Response, Duration, String, String) {
    let token = app.signup_token("fault@example.com").await;
    let conv = app.conversation_id(&token).await;
    let started = Instant::now();
    let response = app.send_message(&token, &conv, text).await;
    (response, started.elapsed(), token, conv)
}

async fn only_the_user_message_is_stored(app: &TestApp, token: &str, conv: &str) {
    let messages: Value = app.messages(token, conv).await.json().await.unwrap();
    let messages = messages["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["role"], "user");
}

/// Issue 11 (5): a 429 with `Retry-After: 30` used to hold a turn for 90 s (three waits).
/// Waiting 30 s would pass the 3 s turn deadline, so the turn fails at once: 503
/// `agent_unavailable` with the LLM's `Retry-After`, one LLM request, the message kept.
async fn retry_after_past_the_deadline_fails_fast_with_503_and_retry_after(
    app: TestApp,
    llm: Arc<ScriptedLlm>,
) {
    llm.repeat(LlmStep::RateLimited(30));
    let (response, took, token, conv) = timed_send(&app, "hello").await;
    assert_eq!(response.headers()["retry-after"], "30");
    error_body(response, 503, "agent_unavailable").await;
    assert!(took < Duration::from_secs(TURN_SECS), "took {took:?}");
    assert_eq!(llm.requests().await.len(), 1, "no retry that cannot finish");
    only_the_user_message_is_stored(&app, &token, &conv).await;
}

/// A short `Retry-After` fits in the turn: waited out, then the answer.
async fn retry_after_within_the_deadline_is_waited_out(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.push([
        LlmStep::RateLimited(1),
        LlmStep::Text("After the wait.".into()),
    ]);
    let (response, _, _, _) = timed_send(&app, "hello").await;
    assert_eq!(response.status(), 201);
    let exchange: Value = response.json().await.unwrap();
    assert_eq!(exchange["assistant_message"]["content"], "After the wait.");
    assert_eq!(llm.requests().await.len(), 2);
}

/// An LLM that never answers: the turn ends at its 3 s deadline (504), not at the LLM's 60 s
/// timeout.
async fn a_hung_llm_ends_at_the_turn_deadline_with_504(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.repeat(LlmStep::Delayed(
        Duration::from_secs(60),
        Box::new(LlmStep::Text("too late".into())),
    ));
    let (response, took, token, conv) = timed_send(&app, "hello").await;
    error_body(response, 504, "agent_timeout").await;
    assert!(took < Duration::from_secs(TURN_SECS + 2), "took {took:?}");
    only_the_user_message_is_stored(&app, &token, &conv).await;
}

/// 500s are retried with backoff (3 retries), then 502; nothing invented.
async fn a_failing_llm_is_retried_then_502(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.repeat(LlmStep::Status(500));
    let (response, _, token, conv) = timed_send(&app, "hello").await;
    let body = error_body(response, 502, "agent_unavailable").await;
    assert!(
        !body["detail"].as_str().unwrap().contains("scripted"),
        "{body}"
    );
    assert_eq!(llm.requests().await.len(), 4);
    only_the_user_message_is_stored(&app, &token, &conv).await;
}

/// A 200 whose body is not JSON: 502, the LLM's text never reaches the client.
async fn a_garbled_llm_answer_is_502(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.repeat(LlmStep::Malformed);
    let (response, _, token, conv) = timed_send(&app, "hello").await;
    let body = error_body(response, 502, "agent_unavailable").await;
    assert!(
        !body["detail"].as_str().unwrap().contains("not json"),
        "{body}"
    );
    only_the_user_message_is_stored(&app, &token, &conv).await;
}

// ---- Letta ----------------------------------------------------------------------------------

async fn on_letta<F, Fut>(letta: &MockServer, configure: fn(&mut Settings), test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mode = AgentMode::Letta {
        base_url: letta.uri(),
    };
    run_configured(Engine::Sqlite, mode, configure, test).await;
}

/// Letta slower than `LETTA_TIMEOUT_SECS`: 504, message kept.
#[tokio::test]
async fn slow_letta_is_504_with_the_message_kept() {
    let letta = letta_answering(
        ResponseTemplate::new(200)
            .set_delay(Duration::from_secs(30))
            .set_body_json(json!({"messages": []})),
    )
    .await;
    on_letta(
        &letta,
        |s| {
            s.letta_timeout_secs = 1;
            s.agent_turn_timeout_secs = 5;
        },
        |app| async move {
            let (response, took, token, conv) = timed_send(&app, "hello").await;
            error_body(response, 504, "agent_timeout").await;
            assert!(took < Duration::from_secs(5), "took {took:?}");
            only_the_user_message_is_stored(&app, &token, &conv).await;
        },
    )
    .await;
}

/// Letta failing (500) or refusing the message (422): 502, and Letta's own words stay out of
/// the response.
#[tokio::test]
async fn failing_or_refusing_letta_is_502_without_its_text() {
    for status in [500, 422] {
        let letta = letta_answering(
            ResponseTemplate::new(status)
                .set_body_json(json!({"detail": "Traceback: secret internals"})),
        )
        .await;
        on_letta(
            &letta,
            |_| {},
            |app| async move {
                let (response, _, token, conv) = timed_send(&app, "hello").await;
                let body = error_body(response, 502, "agent_unavailable").await;
                assert!(!body.to_string().contains("Traceback"), "{body}");
                only_the_user_message_is_stored(&app, &token, &conv).await;
            },
        )
        .await;
    }
}

/// Issue 11 (7, 8): Letta answers 422 with its validation text for an id that is not
/// `agent-<uuid>`, and `200 []` for the archival memory of an unknown agent. Both are 404
/// `agent_not_found` for admins and users alike; no Letta text reaches the client.
#[tokio::test]
async fn unknown_letta_agents_are_404_for_admins_and_users() {
    let letta = letta_answering(ResponseTemplate::new(500)).await;
    let bad_id = json!({
        "trace_id": "",
        "detail": "[{'type': 'string_pattern_mismatch', 'loc': ('path', 'agent_id'), 'msg': \"String should match pattern 'agent-{uuid4}'\", 'input': 'not-an-agent'}]",
    });
    Mock::given(method("GET"))
        .and(path_regex("^/v1/agents/not-an-agent(/.*)?$"))
        .respond_with(ResponseTemplate::new(422).set_body_json(bad_id))
        .mount(&letta)
        .await;
    let unknown = "agent-11111111-1111-4111-8111-111111111111";
    Mock::given(method("GET"))
        .and(path_regex(format!(
            "^/v1/agents/{unknown}/archival-memory.*$"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&letta)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/agents/{unknown}")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"detail": format!("Agent {unknown} not found")})),
        )
        .mount(&letta)
        .await;
    on_letta(
        &letta,
        |_| {},
        move |app| async move {
            let admin = app.admin_token().await;
            let user = app.signup_token("someone@example.com").await;
            for token in [&admin, &user] {
                for route in [
                    "/letta/agents/not-an-agent/memory".to_owned(),
                    "/letta/agents/not-an-agent/archival".to_owned(),
                    format!("/letta/agents/{unknown}/archival?limit=7"),
                    "/letta/agents/agent-%00x/memory".to_owned(),
                ] {
                    let body =
                        error_body(app.get_authed(&route, token).await, 404, "agent_not_found")
                            .await;
                    assert!(!body.to_string().contains("pattern"), "{route}: {body}");
                }
            }
        },
    )
    .await;
}
