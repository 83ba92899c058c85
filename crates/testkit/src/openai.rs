//! A fake OpenAI-compatible server for a real Letta server in tests (`pi-fake-llm`).
//!
//! Letta talks to it exactly as to OpenAI: `GET /v1/models`, `POST /v1/chat/completions`
//! (plain or `stream: true`) and `POST /v1/embeddings` (floats or `encoding_format: base64`).
//! Chat answers come from Pi's [`OfflineModel`]: it reads the latest user message (unwrapping
//! Letta's `{"type":"user_message","message":…}` packaging), calls the offered tools an analytics
//! question needs (`search_places`, …) and phrases the tools' results. Embeddings are a
//! deterministic hashed bag of words (1536 dimensions, unit length), so texts sharing words are
//! near each other and archival search finds them.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use pi_agent::offline::OfflineModel;
use pi_domain::agent::ToolSchema;
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LlmMessage, ToolCall};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

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
    let tools = body["tools"]
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
        tools,
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
    request.tools.push(ToolSchema {
        name: "core_memory_append".into(),
        description: "alias of memory_insert".into(),
        parameters: json!({"type": "object"}),
    });
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

#[derive(Default)]
struct Completions {
    counter: AtomicU64,
}

impl Completions {
    fn message(answer: &ChatResponse, n: u64) -> Value {
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
}

impl Respond for Completions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": {"message": "invalid JSON", "type": "invalid_request_error"}}),
            );
        };
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let answer = answer_for(&chat_request(&body));
        let message = Self::message(&answer, n);
        let finish = if answer.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        let prompt_tokens = request.body.len() as u64 / 4;
        let completion_tokens = message.to_string().len() as u64 / 4;
        let usage = json!({
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        });
        let model = body["model"].as_str().unwrap_or(MODEL_ID);
        if body["stream"] == json!(true) {
            // One chunk with the whole delta, one with the finish reason, then usage and [DONE].
            let mut delta = message.clone();
            if let Some(calls) = delta["tool_calls"].as_array_mut() {
                for (i, c) in calls.iter_mut().enumerate() {
                    c["index"] = json!(i);
                }
            }
            let chunk = |choices: Value, usage: Value| {
                json!({"id": format!("chatcmpl-{n}"), "object": "chat.completion.chunk",
                       "created": 0, "model": model, "choices": choices, "usage": usage})
            };
            let events = [
                chunk(
                    json!([{"index": 0, "delta": delta, "finish_reason": null}]),
                    Value::Null,
                ),
                chunk(
                    json!([{"index": 0, "delta": {}, "finish_reason": finish}]),
                    Value::Null,
                ),
                chunk(json!([]), usage),
            ];
            let mut sse: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
            sse.push_str("data: [DONE]\n\n");
            return ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream");
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("chatcmpl-{n}"),
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }))
    }
}

struct Embeddings;

impl Respond for Embeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": {"message": "invalid JSON", "type": "invalid_request_error"}}),
            );
        };
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
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }))
    }
}

/// Mounts the fake OpenAI API on `server`.
pub async fn mount(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [
                {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "pi"},
                {"id": "text-embedding-3-small", "object": "model", "created": 0, "owned_by": "pi"},
            ],
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Completions::default())
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(Embeddings)
        .mount(server)
        .await;
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
            tools: vec![tool("memory_insert"), tool("memory_replace")],
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
        let server = MockServer::start().await;
        mount(&server).await;
        let http = reqwest::Client::new();
        let models: Value = http
            .get(format!("{}/v1/models", server.uri()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(models["data"][0]["id"], MODEL_ID);
        let completion: Value = http
            .post(format!("{}/v1/chat/completions", server.uri()))
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
            .post(format!("{}/v1/embeddings", server.uri()))
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
