//! Issue 30: safe retries of a send with `Idempotency-Key`, and storage failures as 503
//! `storage_unavailable`, on both engines, through the real app and the embedded agent with a
//! scripted LLM.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pi_store::Engine;
use pi_testkit::{LlmStep, ScriptedLlm};
use serde_json::{Value, json};

use crate::helpers::{AgentMode, TestApp, error_body, run_configured, run_on, sse_events};

async fn with_llm<F, Fut>(engine: Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp, Arc<ScriptedLlm>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let llm = Arc::new(ScriptedLlm::start().await);
    let mode = AgentMode::Embedded {
        llm_base_url: Some(llm.base_url()),
    };
    run_configured(
        engine,
        mode,
        |s| {
            s.agent_turn_timeout_secs = 10;
            s.llm_timeout_secs = 30;
        },
        move |app| test(app, llm),
    )
    .await;
}

pi_store::engine_tests!(super::with_llm => [
    a_retry_after_a_failed_turn_completes_it_without_a_second_user_message,
    a_retry_while_the_first_attempt_runs_is_409_then_gets_its_result,
    a_key_is_per_user_and_per_request,
    a_malformed_key_is_422_naming_the_header,
    storage_down_is_503_storage_unavailable_with_retry_after,
]);

async fn send_keyed(
    app: &TestApp,
    token: &str,
    conv: &str,
    key: &str,
    text: &str,
) -> reqwest::Response {
    post_keyed(
        app,
        &format!("/chat/conversations/{conv}/messages"),
        token,
        key,
        text,
    )
    .await
}

async fn stream_keyed(
    app: &TestApp,
    token: &str,
    conv: &str,
    key: &str,
    text: &str,
) -> reqwest::Response {
    post_keyed(
        app,
        &format!("/chat/conversations/{conv}/messages/stream"),
        token,
        key,
        text,
    )
    .await
}

async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    text: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "content": text }))
        .send()
        .await
        .unwrap()
}

async fn stored(app: &TestApp, token: &str, conv: &str) -> Vec<Value> {
    let body: Value = app.messages(token, conv).await.json().await.unwrap();
    body["messages"].as_array().unwrap().clone()
}

/// The first attempt stores the user message, then the LLM fails (502). The retry with the same
/// key completes that turn: one user message, one reply; a third try and a streamed retry
/// replay the stored exchange without asking the LLM again.
async fn a_retry_after_a_failed_turn_completes_it_without_a_second_user_message(
    app: TestApp,
    llm: Arc<ScriptedLlm>,
) {
    let token = app.signup_token("retry@example.com").await;
    let conv = app.conversation_id(&token).await;
    llm.push(std::iter::repeat_n(LlmStep::Status(500), 4));
    let first = send_keyed(&app, &token, &conv, "key-1", "How busy is Austin?").await;
    error_body(first, 502, "agent_unavailable").await;
    let after_failure = stored(&app, &token, &conv).await;
    assert_eq!(after_failure.len(), 1);
    let user_id = after_failure[0]["id"].clone();

    llm.push([LlmStep::Text("Busy enough.".into())]);
    let retry = send_keyed(&app, &token, &conv, "key-1", "How busy is Austin?").await;
    assert_eq!(retry.status(), 201);
    let exchange: Value = retry.json().await.unwrap();
    assert_eq!(
        exchange["user_message"]["id"], user_id,
        "the stored message, completed"
    );
    assert_eq!(exchange["assistant_message"]["content"], "Busy enough.");
    let messages = stored(&app, &token, &conv).await;
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "agent"]);
    let asked = llm.requests().await.len();

    let again = send_keyed(&app, &token, &conv, "key-1", "How busy is Austin?").await;
    assert_eq!(again.status(), 201);
    let replayed: Value = again.json().await.unwrap();
    assert_eq!(replayed, exchange, "the first result, as it was");

    let streamed =
        sse_events(stream_keyed(&app, &token, &conv, "key-1", "How busy is Austin?").await).await;
    let names: Vec<&str> = streamed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"user_message"));
    assert_eq!(names.last(), Some(&"done"));
    assert_eq!(streamed[0].1["id"], user_id);
    let done = &streamed.last().unwrap().1;
    assert_eq!(
        done["assistant_message_id"],
        exchange["assistant_message"]["id"]
    );
    assert_eq!(
        llm.requests().await.len(),
        asked,
        "replays do not ask the model"
    );
    assert_eq!(stored(&app, &token, &conv).await.len(), 2);
}

/// While the first attempt runs, a retry is 409 `idempotency_key_in_use` with `Retry-After`;
/// once it finished, the retry gets its exchange.
async fn a_retry_while_the_first_attempt_runs_is_409_then_gets_its_result(
    app: TestApp,
    llm: Arc<ScriptedLlm>,
) {
    let app = Arc::new(app);
    let token = app.signup_token("busy@example.com").await;
    let conv = app.conversation_id(&token).await;
    llm.push([LlmStep::Delayed(
        Duration::from_millis(1500),
        Box::new(LlmStep::Text("Slow answer.".into())),
    )]);
    let first = {
        let app = Arc::clone(&app);
        let (token, conv) = (token.clone(), conv.clone());
        tokio::spawn(async move { send_keyed(&app, &token, &conv, "slow", "hello").await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = send_keyed(&app, &token, &conv, "slow", "hello").await;
    assert!(during.headers().contains_key("retry-after"));
    error_body(during, 409, "idempotency_key_in_use").await;
    let first = first.await.unwrap();
    assert_eq!(first.status(), 201);
    let exchange: Value = first.json().await.unwrap();
    let retry = send_keyed(&app, &token, &conv, "slow", "hello").await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.json::<Value>().await.unwrap(), exchange);
    assert_eq!(stored(&app, &token, &conv).await.len(), 2);
}

/// The same key with other content is 422 naming the header; another user's identical key is
/// theirs alone.
async fn a_key_is_per_user_and_per_request(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.repeat(LlmStep::Text("Noted.".into()));
    let ada = app.signup_token("ada@example.com").await;
    let bob = app.signup_token("bob@example.com").await;
    let ada_conv = app.conversation_id(&ada).await;
    let bob_conv = app.conversation_id(&bob).await;
    assert_eq!(
        send_keyed(&app, &ada, &ada_conv, "shared", "one")
            .await
            .status(),
        201
    );
    let reused = send_keyed(&app, &ada, &ada_conv, "shared", "two").await;
    let body = error_body(reused, 422, "idempotency_key_reused").await;
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
    let other_conv = app.conversation_id(&ada).await;
    error_body(
        send_keyed(&app, &ada, &other_conv, "shared", "one").await,
        422,
        "idempotency_key_reused",
    )
    .await;
    let theirs = send_keyed(&app, &bob, &bob_conv, "shared", "one").await;
    assert_eq!(theirs.status(), 201);
    assert_eq!(stored(&app, &ada, &ada_conv).await.len(), 2);
    assert_eq!(stored(&app, &bob, &bob_conv).await.len(), 2);
    // Without a key, sends are as before: each one is new.
    assert_eq!(app.send_message(&ada, &ada_conv, "one").await.status(), 201);
    assert_eq!(stored(&app, &ada, &ada_conv).await.len(), 4);
}

async fn a_malformed_key_is_422_naming_the_header(app: TestApp, _llm: Arc<ScriptedLlm>) {
    let token = app.signup_token("bad-key@example.com").await;
    let conv = app.conversation_id(&token).await;
    for bad in ["has space", &"k".repeat(256), "tab\there"] {
        let response = send_keyed(&app, &token, &conv, bad, "hello").await;
        let body = error_body(response, 422, "validation_error").await;
        assert_eq!(body["errors"][0]["field"], "Idempotency-Key", "{bad:?}");
    }
    assert!(
        stored(&app, &token, &conv).await.is_empty(),
        "nothing stored"
    );
}

/// A database that is gone answers 503 `storage_unavailable` with `Retry-After`, not 500.
async fn storage_down_is_503_storage_unavailable_with_retry_after(
    app: TestApp,
    _llm: Arc<ScriptedLlm>,
) {
    let token = app.signup_token("down@example.com").await;
    let conv = app.conversation_id(&token).await;
    app.take_database_down().await;
    // Past the auth cache's bound, so the user is read from the database too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for response in [
        send_keyed(&app, &token, &conv, "down-1", "hello").await,
        app.get_authed("/chat/conversations", &token).await,
        app.login("down@example.com", "correct horse battery").await,
    ] {
        assert_eq!(response.headers()["retry-after"], "2");
        error_body(response, 503, "storage_unavailable").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_is_documented_on_every_send() {
    run_on(Engine::Sqlite, |app| async move {
        let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
        for path in [
            "/chat/conversations/{id}/messages",
            "/chat/conversations/{id}/messages/stream",
            "/chat/messages",
        ] {
            let params = doc["paths"][path]["post"]["parameters"].as_array().unwrap();
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                "{path}"
            );
        }
    })
    .await;
}
