//! A scripted OpenAI-compatible chat-completions server (wiremock) for runtime tests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum LlmStep {
    /// The model calls these tools: `(name, arguments)`.
    ToolCalls(Vec<(String, Value)>),
    /// The model answers with text.
    Text(String),
    /// The endpoint fails with this HTTP status.
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// A completion, delivered after this long (a hung LLM, when longer than the timeouts).
    Delayed(std::time::Duration, Box<LlmStep>),
    /// 200 whose body is not JSON.
    Malformed,
}

#[derive(Clone, Default)]
struct Script {
    queue: Arc<Mutex<VecDeque<LlmStep>>>,
    repeat: Arc<Mutex<Option<LlmStep>>>,
    counter: Arc<Mutex<u64>>,
}

impl Respond for Script {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        self.answer(None)
    }
}

impl Script {
    fn answer(&self, forced: Option<LlmStep>) -> ResponseTemplate {
        let step = forced
            .or_else(|| {
                self.queue
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop_front()
            })
            .or_else(|| {
                self.repeat
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone()
            })
            .unwrap_or_else(|| LlmStep::Text("(script exhausted)".into()));
        let n = {
            let mut c = self.counter.lock().unwrap_or_else(|p| p.into_inner());
            *c += 1;
            *c
        };
        let message = match step {
            LlmStep::Delayed(delay, step) => {
                return self.answer(Some(*step)).set_delay(delay);
            }
            LlmStep::RateLimited(secs) => {
                return ResponseTemplate::new(429)
                    .insert_header("retry-after", secs.to_string().as_str())
                    .set_body_json(json!({"error": {"message": "rate limited"}}));
            }
            LlmStep::Malformed => {
                return ResponseTemplate::new(200)
                    .insert_header("content-type", "application/json")
                    .set_body_string("{\"choices\": [ this is not json");
            }
            LlmStep::Status(code) => {
                return ResponseTemplate::new(code).set_body_json(
                    json!({"error": {"message": format!("scripted status {code}")}}),
                );
            }
            LlmStep::Text(text) => json!({"role": "assistant", "content": text}),
            LlmStep::ToolCalls(calls) => json!({
                "role": "assistant",
                "content": null,
                "tool_calls": calls.iter().enumerate().map(|(i, (name, args))| json!({
                    "id": format!("call_{n}_{i}"),
                    "type": "function",
                    "function": {"name": name, "arguments": args.to_string()},
                })).collect::<Vec<_>>(),
            }),
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("chatcmpl-{n}"),
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }))
    }
}

/// A fake LLM endpoint answering from a script.
pub struct ScriptedLlm {
    server: MockServer,
    script: Script,
}

impl std::fmt::Debug for ScriptedLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedLlm")
            .field("uri", &self.server.uri())
            .finish()
    }
}

impl ScriptedLlm {
    /// Starts the server on a random port.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let script = Script::default();
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(script.clone())
            .mount(&server)
            .await;
        Self { server, script }
    }

    /// The base URL to configure as `LLM_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// Queues answers, in order.
    pub fn push(&self, steps: impl IntoIterator<Item = LlmStep>) {
        self.script
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(steps);
    }

    /// The answer given whenever the queue is empty.
    pub fn repeat(&self, step: LlmStep) {
        *self.script.repeat.lock().unwrap_or_else(|p| p.into_inner()) = Some(step);
    }

    /// Bodies of every request received so far.
    pub async fn requests(&self) -> Vec<Value> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|r| serde_json::from_slice(&r.body).ok())
            .collect()
    }
}
