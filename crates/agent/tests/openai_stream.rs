//! The OpenAI-compatible client streams: text reaches the listener while the model is still
//! writing, tool calls are put together from their pieces, and a server that ignores `stream`
//! still works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pi_agent::openai::{OpenAiClient, OpenAiConfig};
use pi_domain::agent::runtime::{ChatRequest, LanguageModel, LlmMessage, TextSink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A one-shot OpenAI-compatible server answering with `chunks` (SSE `data:` payloads), `gap`
/// apart. Returns its base URL.
async fn streaming_server(chunks: Vec<String>, gap: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 64 * 1024];
        let mut read = 0;
        // Headers, then the JSON body (its length from Content-Length).
        loop {
            read += socket.read(&mut request[read..]).await.unwrap();
            let text = String::from_utf8_lossy(&request[..read]);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length: usize = text
                    .lines()
                    .find_map(|l| {
                        l.to_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if read >= head_end + 4 + length {
                    assert!(text.contains("\"stream\":true"), "{text}");
                    break;
                }
            }
        }
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        for chunk in chunks {
            let event = format!("data: {chunk}\n\n");
            socket
                .write_all(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes())
                .await
                .unwrap();
            socket.flush().await.unwrap();
            tokio::time::sleep(gap).await;
        }
        socket.write_all(b"0\r\n\r\n").await.unwrap();
    });
    format!("http://{addr}/v1")
}

fn client(base_url: String) -> OpenAiClient {
    OpenAiClient::new(OpenAiConfig {
        base_url,
        api_key: None,
        model: "m".into(),
        timeout: Duration::from_secs(10),
        max_retries: 0,
        backoff: Duration::from_millis(10),
    })
    .unwrap()
}

fn request(sink: TextSink) -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![LlmMessage::User("hi".into())],
        tools: Vec::new().into(),
        deadline: None,
        on_text: Some(sink),
    }
}

#[tokio::test]
async fn text_arrives_while_the_model_is_still_writing() {
    let words: Vec<String> = (0..10).map(|i| format!("word{i} ")).collect();
    let mut chunks: Vec<String> = words
        .iter()
        .map(|w| {
            serde_json::json!({"choices": [{"index": 0, "delta": {"content": w}}]}).to_string()
        })
        .collect();
    chunks.push(
        serde_json::json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 10, "total_tokens": 15}})
            .to_string(),
    );
    chunks.push("[DONE]".into());
    let base = streaming_server(chunks, Duration::from_millis(40)).await;
    let seen: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let sink =
        TextSink::new(move |piece| log.lock().unwrap().push((Instant::now(), piece.to_owned())));
    let response = client(base).complete(request(sink)).await.unwrap();
    let done = Instant::now();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 10);
    let first = seen[0].0;
    assert!(
        done.duration_since(first) >= Duration::from_millis(300),
        "the first words came {:?} before the end, not as it was written",
        done.duration_since(first)
    );
    let streamed: String = seen.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(Some(streamed), response.content);
    assert_eq!(response.usage.total_tokens, 15);
}

#[tokio::test]
async fn tool_calls_are_assembled_from_their_pieces() {
    let delta = |d: serde_json::Value| {
        serde_json::json!({"choices": [{"index": 0, "delta": d}]}).to_string()
    };
    let chunks = vec![
        delta(serde_json::json!({"role": "assistant", "content": "Let me look. "})),
        delta(
            serde_json::json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "search_places", "arguments": ""}}]}),
        ),
        delta(
            serde_json::json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"metro\":"}}]}),
        ),
        delta(
            serde_json::json!({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "list_metros", "arguments": "{}"}}]}),
        ),
        delta(
            serde_json::json!({"tool_calls": [{"index": 0, "function": {"arguments": " \"metro:austin\"}"}}]}),
        ),
        delta(serde_json::json!({"reasoning_content": "Austin first."})),
        "[DONE]".into(),
    ];
    let base = streaming_server(chunks, Duration::from_millis(1)).await;
    let pieces: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&pieces);
    let sink = TextSink::new(move |p| log.lock().unwrap().push(p.to_owned()));
    let response = client(base).complete(request(sink)).await.unwrap();
    assert_eq!(response.content.as_deref(), Some("Let me look. "));
    assert_eq!(response.reasoning.as_deref(), Some("Austin first."));
    assert_eq!(response.tool_calls.len(), 2);
    assert_eq!(response.tool_calls[0].id, "call_a");
    assert_eq!(response.tool_calls[0].name, "search_places");
    let args: serde_json::Value = serde_json::from_str(&response.tool_calls[0].arguments).unwrap();
    assert_eq!(args["metro"], "metro:austin");
    assert_eq!(response.tool_calls[1].name, "list_metros");
    assert_eq!(*pieces.lock().unwrap(), ["Let me look. "]);
}

#[tokio::test]
async fn a_server_that_does_not_stream_still_answers_and_the_listener_gets_the_text() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Whole answer."}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
        })))
        .mount(&server)
        .await;
    let pieces: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&pieces);
    let sink = TextSink::new(move |p| log.lock().unwrap().push(p.to_owned()));
    let response = client(format!("{}/v1", server.uri()))
        .complete(request(sink))
        .await
        .unwrap();
    assert_eq!(response.content.as_deref(), Some("Whole answer."));
    assert_eq!(*pieces.lock().unwrap(), ["Whole answer."]);
}
