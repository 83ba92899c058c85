//! A fake OpenAI-compatible server for a real Letta server in tests (`pi-fake-llm`).
//!
//! Letta talks to it exactly as to OpenAI: `GET /v1/models`, `POST /v1/chat/completions`
//! (plain or `stream: true`, text streamed word by word; [`SLOW_MODEL_ID`] pauses before each
//! word, [`TOKENS_MODEL_ID`] streams a fixed 200-word answer for benchmarks) and `POST /v1/embeddings` (floats or `encoding_format: base64`).
//! Chat answers come from Pi's [`OfflineModel`]: it reads the latest user message (unwrapping
//! Letta's `{"type":"user_message","message":…}` packaging), calls the offered tools an analytics
//! question needs (`search_places`, …) and phrases the tools' results. Embeddings are a
//! deterministic hashed bag of words (1536 dimensions, unit length), so texts sharing words are
//! near each other and archival search finds them.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine as _;
use futures::StreamExt as _;
use pi_agent::offline::OfflineModel;
use pi_domain::agent::ToolSchema;
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LlmMessage, ToolCall};
use serde_json::{Value, json};

/// Dimensions of the fake embeddings (those of `text-embedding-3-small`).
pub const EMBEDDING_DIM: usize = 1536;

/// The model id served at `/v1/models` (Letta handle `openai-proxy/pi-fake`).
pub const MODEL_ID: &str = "pi-fake";

/// A deterministic embedding: words hashed into buckets, normalised to unit length.
pub fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; EMBEDDING_DIM];
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        let mut h = DefaultHasher::new();
        word.hash(&mut h);
        let bucket = (h.finish() % EMBEDDING_DIM as u64) as usize;
        v[bucket] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        v[0] = 1.0;
    } else {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Letta packages user messages and tool results as JSON with a `message` field.
fn unwrap_packaged(text: String) -> String {
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(o)) => match o.get("message") {
            Some(Value::String(inner)) => inner.clone(),
            _ => text,
        },
        _ => text,
    }
}

/// An OpenAI chat-completions body as the runtime's request.
pub fn chat_request(body: &Value) -> ChatRequest {
    let mut names: HashMap<String, String> = HashMap::new();
    let mut messages = Vec::new();
    for m in body["messages"].as_array().into_iter().flatten() {
        let content = text_of(&m["content"]);
        match m["role"].as_str().unwrap_or("") {
            "system" | "developer" => messages.push(LlmMessage::System(content)),
            "user" => messages.push(LlmMessage::User(unwrap_packaged(content))),
            "assistant" => {
                let tool_calls: Vec<ToolCall> = m["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| ToolCall {
                        id: c["id"].as_str().unwrap_or_default().to_owned(),
                        name: c["function"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        arguments: c["function"]["arguments"]
                            .as_str()
                            .unwrap_or("{}")
                            .to_owned(),
                    })
                    .collect();
                for c in &tool_calls {
                    names.insert(c.id.clone(), c.name.clone());
                }
                messages.push(LlmMessage::Assistant {
                    content: (!content.is_empty()).then_some(content),
                    tool_calls,
                });
            }
            "tool" | "function" => {
                let call_id = m["tool_call_id"].as_str().unwrap_or_default().to_owned();
                messages.push(LlmMessage::Tool {
                    name: m["name"]
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| names.get(&call_id).cloned())
                        .unwrap_or_default(),
                    call_id,
                    content: unwrap_packaged(content),
                });
            }
            _ => {}
        }
    }
    let tools: Vec<ToolSchema> = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| ToolSchema {
            name: t["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            description: t["function"]["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            parameters: t["function"]["parameters"].clone(),
        })
        .collect();
    ChatRequest {
        model: body["model"].as_str().unwrap_or(MODEL_ID).to_owned(),
        messages,
        tools: tools.into(),
        deadline: None,
        on_text: None,
    }
}

/// The offline model's answer. Letta agents edit memory with `memory_insert(label, new_string)`
/// where Pi's runtime has `core_memory_append(label, content)`: the fake maps one onto the other,
/// so personal facts land in a Letta agent's `human` block too.
pub fn answer_for(request: &ChatRequest) -> ChatResponse {
    let offered = |name: &str| request.tools.iter().any(|t| t.name == name);
    if !offered("memory_insert") || offered("core_memory_append") {
        return OfflineModel.answer(request);
    }
    let mut request = request.clone();
    let mut tools = request.tools.to_vec();
    tools.push(ToolSchema {
        name: "core_memory_append".into(),
        description: "alias of memory_insert".into(),
        parameters: json!({"type": "object"}),
    });
    request.tools = tools.into();
    for m in &mut request.messages {
        if let LlmMessage::Tool { name, .. } = m
            && name == "memory_insert"
        {
            *name = "core_memory_append".into();
        }
    }
    let mut answer = OfflineModel.answer(&request);
    for call in &mut answer.tool_calls {
        if call.name == "core_memory_append" {
            let args: Value = serde_json::from_str(&call.arguments).unwrap_or_default();
            call.name = "memory_insert".into();
            call.arguments =
                json!({"label": args["label"], "new_string": args["content"]}).to_string();
        }
    }
    answer
}

/// The model id whose streamed answers pause [`SLOW_PIECE`] before each piece of text, like a
/// real model writing (Letta handle `openai-proxy/pi-fake-slow`).
pub const SLOW_MODEL_ID: &str = "pi-fake-slow";

/// The pause before each streamed piece of text of [`SLOW_MODEL_ID`] and [`TOKENS_MODEL_ID`].
pub const SLOW_PIECE: Duration = Duration::from_millis(20);

/// The model id that answers every request with [`TOKENS`] pieces of text (`token1 token2 …`),
/// [`SLOW_PIECE`] apart, calling no tool: the benchmarks' model.
pub const TOKENS_MODEL_ID: &str = "pi-fake-tokens";

/// Pieces of a [`TOKENS_MODEL_ID`] answer.
pub const TOKENS: usize = 200;

/// When the fake received a streamed completion request and sent its first and last piece.
#[derive(Debug, Clone, Copy)]
pub struct StreamTiming {
    pub received: Instant,
    pub first_piece: Instant,
    pub last_piece: Instant,
}

/// Timings of the streams served, in the order they finished.
type Timings = std::sync::Arc<std::sync::Mutex<Vec<StreamTiming>>>;

/// The assistant message of a completion.
fn assistant_message(answer: &ChatResponse, n: u64) -> Value {
    let tool_calls: Vec<Value> = answer
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": format!("call_{n}_{i}"),
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            })
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": answer.content});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    message
}

/// Text split into pieces as a model streams it: each word with the space before it.
pub fn pieces(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, word) in text.split(' ').enumerate() {
        if i == 0 {
            out.push(word.to_owned());
        } else {
            out.push(format!(" {word}"));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// A completion for an OpenAI chat-completions body: the whole JSON answer, or (`stream: true`)
/// the `data:` payloads of its stream — text piece by piece, the tool calls, the finish reason,
/// usage, `[DONE]`.
enum Completion {
    Whole(Value),
    Stream(Vec<String>),
}

fn complete(body: &Value, raw_len: usize, n: u64) -> Completion {
    let answer = if body["model"] == json!(TOKENS_MODEL_ID) {
        ChatResponse {
            content: Some(
                (1..=TOKENS)
                    .map(|i| format!("token{i}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            ..ChatResponse::default()
        }
    } else {
        answer_for(&chat_request(body))
    };
    let message = assistant_message(&answer, n);
    let finish = if answer.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    let prompt_tokens = raw_len as u64 / 4;
    let completion_tokens = message.to_string().len() as u64 / 4;
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    });
    let model = body["model"].as_str().unwrap_or(MODEL_ID);
    if body["stream"] != json!(true) {
        return Completion::Whole(json!({
            "id": format!("chatcmpl-{n}"),
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }));
    }
    let chunk = |delta: Value, finish: Value, usage: Value| {
        let choices = if delta.is_null() {
            json!([])
        } else {
            json!([{"index": 0, "delta": delta, "finish_reason": finish}])
        };
        json!({"id": format!("chatcmpl-{n}"), "object": "chat.completion.chunk",
               "created": 0, "model": model, "choices": choices, "usage": usage})
        .to_string()
    };
    let mut events = Vec::new();
    for piece in pieces(answer.content.as_deref().unwrap_or_default()) {
        events.push(chunk(
            json!({"role": "assistant", "content": piece}),
            Value::Null,
            Value::Null,
        ));
    }
    if let Some(calls) = message["tool_calls"].as_array() {
        let calls: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut c = c.clone();
                c["index"] = json!(i);
                c
            })
            .collect();
        events.push(chunk(
            json!({"role": "assistant", "tool_calls": calls}),
            Value::Null,
            Value::Null,
        ));
    }
    events.push(chunk(json!({}), json!(finish), Value::Null));
    events.push(chunk(Value::Null, Value::Null, usage));
    events.push("[DONE]".into());
    Completion::Stream(events)
}

fn embeddings(body: &Value) -> Value {
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        other => vec![other.to_string()],
    };
    let base64 = body["encoding_format"] == json!("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let v = embed(text);
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let tokens: usize = inputs.iter().map(|t| t.len() / 4 + 1).sum();
    json!({
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })
}

fn bad_json() -> HttpResponse {
    HttpResponse::BadRequest()
        .json(json!({"error": {"message": "invalid JSON", "type": "invalid_request_error"}}))
}

async fn models() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "object": "list",
        "data": [
            {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "pi"},
            {"id": SLOW_MODEL_ID, "object": "model", "created": 0, "owned_by": "pi"},
            {"id": TOKENS_MODEL_ID, "object": "model", "created": 0, "owned_by": "pi"},
            {"id": "text-embedding-3-small", "object": "model", "created": 0, "owned_by": "pi"},
        ],
    }))
}

async fn completions(
    counter: web::Data<AtomicU64>,
    timings: web::Data<Timings>,
    raw: web::Bytes,
) -> HttpResponse {
    let received = Instant::now();
    let Ok(body) = serde_json::from_slice::<Value>(&raw) else {
        return bad_json();
    };
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    match complete(&body, raw.len(), n) {
        Completion::Whole(answer) => HttpResponse::Ok().json(answer),
        Completion::Stream(events) => {
            let pause = if body["model"] == json!(MODEL_ID) {
                Duration::ZERO
            } else {
                SLOW_PIECE
            };
            let last = events.len() - 1;
            let timings = timings.get_ref().clone();
            let first_piece = std::sync::Arc::new(std::sync::Mutex::new(received));
            let stream =
                futures::stream::iter(events.into_iter().enumerate()).then(move |(i, event)| {
                    let (timings, first_piece) = (timings.clone(), first_piece.clone());
                    async move {
                        if i > 0 && !pause.is_zero() {
                            tokio::time::sleep(pause).await;
                        }
                        let now = Instant::now();
                        if let Ok(mut first) = first_piece.lock() {
                            if i == 0 {
                                *first = now;
                            } else if i == last
                                && let Ok(mut all) = timings.lock()
                            {
                                all.push(StreamTiming {
                                    received,
                                    first_piece: *first,
                                    last_piece: now,
                                });
                            }
                        }
                        Ok::<_, std::convert::Infallible>(web::Bytes::from(format!(
                            "data: {event}\n\n"
                        )))
                    }
                });
            HttpResponse::Ok()
                .content_type("text/event-stream")
                .streaming(stream)
        }
    }
}

async fn embeddings_route(raw: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<Value>(&raw) {
        Ok(body) => HttpResponse::Ok().json(embeddings(&body)),
        Err(_) => bad_json(),
    }
}

/// The fake OpenAI API, serving on a port of loopback until dropped.
#[derive(Debug)]
pub struct FakeLlm {
    base_url: String,
    handle: actix_web::dev::ServerHandle,
    timings: Timings,
}

impl FakeLlm {
    /// Serves on `listener` (spawned on the current Tokio runtime).
    pub fn serve(listener: std::net::TcpListener) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let counter = web::Data::new(AtomicU64::new(0));
        let timings = Timings::default();
        let shared = web::Data::new(timings.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(counter.clone())
                .app_data(shared.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/v1/models", web::get().to(models))
                .route("/v1/chat/completions", web::post().to(completions))
                .route("/v1/embeddings", web::post().to(embeddings_route))
        })
        .workers(1)
        .disable_signals()
        .on_connect(|connection, _| {
            if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
                // Each piece leaves at once, as from a real model's server.
                drop(tcp.set_nodelay(true));
            }
        })
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            handle,
            timings,
        })
    }

    /// Serves on a free port of loopback.
    pub fn start() -> std::io::Result<Self> {
        Self::serve(std::net::TcpListener::bind(("127.0.0.1", 0))?)
    }

    /// `http://127.0.0.1:PORT/v1`: the OpenAI base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Timings of the streamed completions served so far.
    pub fn timings(&self) -> Vec<StreamTiming> {
        self.timings.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Stops serving (open streams are cut).
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        // Stopping is asynchronous; the server task ends on its own once told.
        drop(self.handle.stop(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_unit_vectors_close_for_shared_words() {
        let a = embed("The client prefers drive-thru coffee sites");
        let b = embed("coffee sites with a drive-thru");
        let c = embed("quarterly mall occupancy report");
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert_eq!(a.len(), EMBEDDING_DIM);
        assert!((dot(&a, &a) - 1.0).abs() < 1e-4);
        assert!(dot(&a, &b) > dot(&a, &c) + 0.3);
    }

    #[test]
    fn letta_packaging_is_unwrapped_and_tool_names_recovered() {
        let body = json!({
            "model": "pi-fake",
            "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "{\"type\": \"user_message\", \"message\": \"Which coffee chains are busiest in Austin?\", \"time\": \"now\"}"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search_places", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "{\"places\": []}"}]},
            ],
            "tools": [{"type": "function", "function": {"name": "search_places", "description": "d", "parameters": {}}}],
        });
        let r = chat_request(&body);
        assert_eq!(
            r.messages[1],
            LlmMessage::User("Which coffee chains are busiest in Austin?".into())
        );
        assert!(
            matches!(&r.messages[3], LlmMessage::Tool { name, content, .. } if name == "search_places" && content == "{\"places\": []}")
        );
        assert_eq!(r.tools[0].name, "search_places");
    }

    #[test]
    fn letta_memory_insert_stands_in_for_core_memory_append() {
        let tool = |name: &str| ToolSchema {
            name: name.into(),
            description: String::new(),
            parameters: json!({}),
        };
        let answer = answer_for(&ChatRequest {
            model: MODEL_ID.into(),
            messages: vec![LlmMessage::User("My name is Ana and I like malls".into())],
            tools: vec![tool("memory_insert"), tool("memory_replace")].into(),
            deadline: None,
            on_text: None,
        });
        assert_eq!(answer.tool_calls.len(), 1);
        assert_eq!(answer.tool_calls[0].name, "memory_insert");
        let args: Value = serde_json::from_str(&answer.tool_calls[0].arguments).unwrap();
        assert_eq!(args["label"], "human");
        assert!(args["new_string"].as_str().unwrap().contains("Ana"));
    }

    #[tokio::test]
    async fn serves_models_completions_with_tool_calls_and_base64_embeddings() {
        let server = FakeLlm::start().unwrap();
        let http = reqwest::Client::new();
        let models: Value = http
            .get(format!("{}/models", server.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(models["data"][0]["id"], MODEL_ID);
        let completion: Value = http
            .post(format!("{}/chat/completions", server.base_url()))
            .json(&json!({
                "model": "pi-fake",
                "messages": [{"role": "user", "content": "Which coffee chains are busiest in Austin?"}],
                "tools": [{"type": "function", "function": {"name": "search_places", "description": "d", "parameters": {}}}],
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let call = &completion["choices"][0]["message"]["tool_calls"][0]["function"];
        assert_eq!(call["name"], "search_places");
        assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
        let emb: Value = http
            .post(format!("{}/embeddings", server.base_url()))
            .json(&json!({"model": "text-embedding-3-small", "input": ["a b c", "coffee"], "encoding_format": "base64"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(emb["data"][1]["embedding"].as_str().unwrap())
            .unwrap();
        assert_eq!(raw.len(), EMBEDDING_DIM * 4);
    }
}
