//! An OpenAI-compatible chat-completions client (OpenAI, vLLM, Ollama, llama.cpp, …) with
//! function calling, token streaming (when the request has a listener), timeouts, and retries
//! with backoff on 429 and 5xx.

pub mod schema;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use pi_domain::agent::runtime::{
    ChatRequest, ChatResponse, LanguageModel, LlmMessage, TextSink, ToolCall,
};
use pi_domain::agent::{AgentError, Usage};
use serde::Serialize;
use serde_json::Value;

/// Settings of [`OpenAiClient`].
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL, e.g. `https://api.openai.com/v1` (`/chat/completions` is appended).
    pub base_url: String,
    /// Bearer key, if the endpoint needs one.
    pub api_key: Option<String>,
    /// Model name sent with every request.
    pub model: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts after the first on 429/5xx/connection errors.
    pub max_retries: u32,
    /// First backoff delay (doubles each retry).
    pub backoff: Duration,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The client.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    config: OpenAiConfig,
}

impl OpenAiClient {
    /// Builds the client.
    ///
    /// # Errors
    /// `Unavailable` when the HTTP client cannot be built.
    pub fn new(config: OpenAiConfig) -> Result<Self, AgentError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(5).min(config.timeout))
            .build()
            .map_err(|e| AgentError::Unavailable(format!("cannot build the LLM client: {e}")))?;
        Ok(Self { http, config })
    }

    fn url(&self) -> String {
        format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        )
    }
}

/// The wire form of a chat request, borrowed from it: serialised straight to bytes once per
/// completion (no intermediate `Value` tree of the whole context).
#[derive(Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum WireMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: &'a str,
    },
    Assistant {
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        name: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
struct WireCall<'a> {
    id: &'a str,
    r#type: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct WireTool<'a> {
    r#type: &'static str,
    function: WireToolFunction<'a>,
}

#[derive(Serialize)]
struct WireToolFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

fn wire_message(m: &LlmMessage) -> WireMessage<'_> {
    match m {
        LlmMessage::System(t) => WireMessage::System { content: t },
        LlmMessage::User(t) => WireMessage::User { content: t },
        LlmMessage::Assistant {
            content,
            tool_calls,
        } => WireMessage::Assistant {
            content: content.as_deref(),
            tool_calls: tool_calls
                .iter()
                .map(|c| WireCall {
                    id: &c.id,
                    r#type: "function",
                    function: WireFunction {
                        name: &c.name,
                        arguments: &c.arguments,
                    },
                })
                .collect(),
        },
        LlmMessage::Tool {
            call_id,
            name,
            content,
        } => WireMessage::Tool {
            tool_call_id: call_id,
            name,
            content,
        },
    }
}

/// The JSON request body for a chat request.
pub fn request_body(model: &str, request: &ChatRequest) -> Result<Vec<u8>, AgentError> {
    let with_tools = !request.tools.is_empty();
    let streamed = request.on_text.is_some();
    let body = RequestBody {
        model,
        messages: request.messages.iter().map(wire_message).collect(),
        tools: request
            .tools
            .iter()
            .map(|t| WireTool {
                r#type: "function",
                function: WireToolFunction {
                    name: &t.name,
                    description: &t.description,
                    parameters: &t.parameters,
                },
            })
            .collect(),
        tool_choice: with_tools.then_some("auto"),
        stream: streamed.then_some(true),
        stream_options: streamed.then_some(StreamOptions {
            include_usage: true,
        }),
    };
    serde_json::to_vec(&body)
        .map_err(|e| AgentError::Unavailable(format!("cannot encode the LLM request: {e}")))
}

/// A completion assembled from a streamed answer (`data: {chunk}` lines, then `data: [DONE]`):
/// text pieces are told to `sink` as they arrive; tool calls are put together from their
/// pieces (by `index`) before anyone runs them.
#[derive(Debug, Default)]
pub struct StreamedCompletion {
    content: String,
    reasoning: String,
    calls: Vec<(String, String, String)>,
    usage: Usage,
    done: bool,
    pending: Vec<u8>,
}

impl StreamedCompletion {
    /// Takes in the next bytes of the body.
    ///
    /// # Errors
    /// `Unavailable` when a chunk is not JSON or carries an error.
    pub fn feed(&mut self, bytes: &[u8], sink: Option<&TextSink>) -> Result<(), AgentError> {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let Some(data) = line.trim().strip_prefix("data:") else {
                continue;
            };
            let data = data.trim();
            if data == "[DONE]" {
                self.done = true;
                continue;
            }
            let chunk: Value = serde_json::from_str(data).map_err(|e| {
                AgentError::Unavailable(format!("the LLM streamed a chunk that is not JSON: {e}"))
            })?;
            self.chunk(&chunk, sink)?;
        }
        Ok(())
    }

    fn chunk(&mut self, chunk: &Value, sink: Option<&TextSink>) -> Result<(), AgentError> {
        if let Some(error) = chunk.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            return Err(AgentError::Unavailable(format!(
                "the LLM failed while streaming: {message}"
            )));
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            let number = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Usage {
                prompt_tokens: number("prompt_tokens"),
                completion_tokens: number("completion_tokens"),
                total_tokens: number("total_tokens"),
                step_count: 1,
            };
        }
        let Some(delta) = chunk.pointer("/choices/0/delta") else {
            return Ok(());
        };
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            self.content.push_str(text);
            if let Some(sink) = sink {
                sink.send(text);
            }
        }
        if let Some(text) = delta
            .get("reasoning_content")
            .or_else(|| delta.get("reasoning"))
            .and_then(Value::as_str)
        {
            self.reasoning.push_str(text);
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = call
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(self.calls.len());
            if index > 64 {
                return Err(AgentError::Unavailable(
                    "the LLM streamed a tool call index over 64".into(),
                ));
            }
            while self.calls.len() <= index {
                self.calls.push(Default::default());
            }
            let slot = &mut self.calls[index];
            if let Some(id) = call.get("id").and_then(Value::as_str) {
                slot.0.push_str(id);
            }
            if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                slot.1.push_str(name);
            }
            if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str) {
                slot.2.push_str(args);
            }
        }
        Ok(())
    }

    /// The completion, once the body has ended.
    ///
    /// # Errors
    /// `Unavailable` when the stream ended before `[DONE]` with nothing in it.
    pub fn finish(mut self, sink: Option<&TextSink>) -> Result<ChatResponse, AgentError> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.feed(&rest, sink)?;
            self.feed(b"\n", sink)?;
        }
        if !self.done && self.content.is_empty() && self.calls.is_empty() {
            return Err(AgentError::Unavailable(
                "the LLM stream ended without an answer".into(),
            ));
        }
        Ok(ChatResponse {
            content: Some(self.content).filter(|c| !c.is_empty()),
            reasoning: Some(self.reasoning).filter(|r| !r.is_empty()),
            tool_calls: self
                .calls
                .into_iter()
                .enumerate()
                .filter(|(_, (_, name, _))| !name.is_empty())
                .map(|(i, (id, name, arguments))| ToolCall {
                    id: if id.is_empty() {
                        format!("call_{i}")
                    } else {
                        id
                    },
                    name,
                    arguments: if arguments.trim().is_empty() {
                        "{}".into()
                    } else {
                        arguments
                    },
                })
                .collect(),
            usage: Usage {
                step_count: 1,
                ..self.usage
            },
        })
    }
}

/// Parses a chat-completions response.
///
/// # Errors
/// `Unavailable` when the body is not a completion.
pub fn parse_response(body: &Value) -> Result<ChatResponse, AgentError> {
    let message = body.pointer("/choices/0/message").ok_or_else(|| {
        AgentError::Unavailable("the LLM answered without choices[0].message".into())
    })?;
    let content = message
        .get("content")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|c| !c.is_empty());
    let reasoning = message
        .get("reasoning_content")
        .or_else(|| message.get("reasoning"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| ToolCall {
                    id: c
                        .get("id")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("call_{i}"), str::to_owned),
                    name: c
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    arguments: match c.pointer("/function/arguments") {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => "{}".into(),
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let number = |p: &str| body.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    Ok(ChatResponse {
        content,
        reasoning,
        tool_calls,
        usage: Usage {
            prompt_tokens: number("/usage/prompt_tokens"),
            completion_tokens: number("/usage/completion_tokens"),
            total_tokens: number("/usage/total_tokens"),
            step_count: 1,
        },
    })
}

/// Reads a streamed completion to its end.
async fn read_stream(
    mut response: reqwest::Response,
    sink: Option<&TextSink>,
) -> Result<ChatResponse, AgentError> {
    let mut completion = StreamedCompletion::default();
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => completion.feed(&bytes, sink)?,
            Ok(None) => return completion.finish(sink),
            Err(e) if e.is_timeout() => return Err(AgentError::Timeout),
            Err(e) => {
                return Err(AgentError::Unavailable(format!(
                    "the LLM stream broke: {}",
                    e.without_url()
                )));
            }
        }
    }
}

/// Longest `Retry-After` honoured when a request carries no deadline.
const MAX_WAIT_WITHOUT_DEADLINE: Duration = Duration::from_secs(30);

/// Records one request to the LLM: its time (to the end of a stream) and its HTTP status,
/// `timeout` or `error`.
fn observe(started: Instant, status: &str) {
    metrics::histogram!("pi_llm_request_duration_seconds", "status" => status.to_owned())
        .record(started.elapsed().as_secs_f64());
}

fn retryable(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

#[async_trait]
impl LanguageModel for OpenAiClient {
    fn describe(&self) -> String {
        format!(
            "openai-compatible ({} at {})",
            self.config.model, self.config.base_url
        )
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, AgentError> {
        let body = request_body(&self.config.model, &request)?;

        let deadline = request.deadline;
        // Time left in the turn; `None` without a deadline.
        let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let mut attempt = 0;
        loop {
            let timeout = match left() {
                Some(left) if left.is_zero() => return Err(AgentError::Timeout),
                Some(left) => left.min(self.config.timeout),
                None => self.config.timeout,
            };
            let mut call = self
                .http
                .post(self.url())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .timeout(timeout);
            if let Some(key) = &self.config.api_key {
                call = call.bearer_auth(key);
            }
            let started = Instant::now();
            let (failure, retry_after) = match call.send().await {
                Err(e) if e.is_timeout() => {
                    observe(started, "timeout");
                    return Err(AgentError::Timeout);
                }
                Err(e) => {
                    observe(started, "error");
                    (
                        format!("cannot reach the LLM at {}: {e}", self.config.base_url),
                        None,
                    )
                }
                Ok(response) => {
                    let status = response.status();
                    let streamed = response
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with("text/event-stream"));
                    if status.is_success() && streamed {
                        // Nothing is retried once text may have reached the listener.
                        let read = read_stream(response, request.on_text.as_ref()).await;
                        observe(
                            started,
                            if read.is_ok() {
                                status.as_str()
                            } else {
                                "error"
                            },
                        );
                        return read;
                    }
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = match response.text().await {
                        Ok(t) => {
                            observe(started, status.as_str());
                            t
                        }
                        Err(e) if e.is_timeout() => {
                            observe(started, "timeout");
                            return Err(AgentError::Timeout);
                        }
                        Err(e) => {
                            observe(started, "error");
                            return Err(AgentError::Unavailable(format!(
                                "LLM response unreadable: {e}"
                            )));
                        }
                    };
                    if status.is_success() {
                        let json: Value = serde_json::from_str(&text).map_err(|e| {
                            AgentError::Unavailable(format!(
                                "the LLM answered with invalid JSON: {e}"
                            ))
                        })?;
                        let parsed = parse_response(&json)?;
                        // A server that does not stream: the text, whole, to the listener.
                        if let (Some(sink), Some(text)) = (&request.on_text, &parsed.content) {
                            sink.send(text);
                        }
                        return Ok(parsed);
                    }
                    let detail = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| {
                            v.pointer("/error/message")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        })
                        .unwrap_or_else(|| text.chars().take(300).collect());
                    if !retryable(status) {
                        return Err(AgentError::Rejected(format!(
                            "LLM refused the request ({status}): {detail}"
                        )));
                    }
                    (format!("LLM failed ({status}): {detail}"), retry_after)
                }
            };
            if attempt >= self.config.max_retries {
                return Err(match retry_after {
                    Some(retry_after) => AgentError::Busy { retry_after },
                    None => AgentError::Unavailable(failure),
                });
            }
            let wait = retry_after.unwrap_or(self.config.backoff * 2u32.pow(attempt));
            if left().map_or(wait > MAX_WAIT_WITHOUT_DEADLINE, |left| wait >= left) {
                // Waiting would pass the turn's deadline: fail now, say when to come back.
                tracing::warn!(
                    wait_ms = wait.as_millis() as u64,
                    "LLM asks to wait past the turn's deadline; giving up"
                );
                return Err(match retry_after {
                    Some(retry_after) => AgentError::Busy { retry_after },
                    None => AgentError::Unavailable(failure),
                });
            }
            tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, reason = %failure, "LLM call failed; retrying");
            metrics::counter!("pi_llm_retries_total").increment(1);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use pi_domain::agent::ToolSchema;
    use serde_json::json;

    fn request(tools: Vec<ToolSchema>, on_text: Option<TextSink>) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![
                LlmMessage::System("memory".into()),
                LlmMessage::User("busiest Dunkin?".into()),
                LlmMessage::Assistant {
                    content: None,
                    tool_calls: vec![ToolCall {
                        id: "call_1".into(),
                        name: "search_places".into(),
                        arguments: "{\"q\":\"Dunkin\"}".into(),
                    }],
                },
                LlmMessage::Tool {
                    call_id: "call_1".into(),
                    name: "search_places".into(),
                    content: "[]".into(),
                },
                LlmMessage::Assistant {
                    content: Some("None found.".into()),
                    tool_calls: Vec::new(),
                },
            ],
            tools: tools.into(),
            deadline: None,
            on_text,
        }
    }

    /// The OpenAI chat-completions wire form, field by field.
    #[test]
    fn the_request_body_is_the_openai_wire_form() {
        let tool = ToolSchema {
            name: "search_places".into(),
            description: "Find places".into(),
            parameters: json!({"type": "object"}),
        };
        let sink = TextSink::new(|_| {});
        let body: Value =
            serde_json::from_slice(&request_body("gpt", &request(vec![tool], Some(sink))).unwrap())
                .unwrap();
        assert_eq!(
            body,
            json!({
                "model": "gpt",
                "messages": [
                    {"role": "system", "content": "memory"},
                    {"role": "user", "content": "busiest Dunkin?"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_1", "type": "function",
                         "function": {"name": "search_places", "arguments": "{\"q\":\"Dunkin\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "name": "search_places", "content": "[]"},
                    {"role": "assistant", "content": "None found."}
                ],
                "tools": [{"type": "function", "function": {
                    "name": "search_places", "description": "Find places",
                    "parameters": {"type": "object"}}}],
                "tool_choice": "auto",
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );

        // Without tools or a listener, neither appears.
        let plain: Value =
            serde_json::from_slice(&request_body("gpt", &request(Vec::new(), None)).unwrap())
                .unwrap();
        let keys: Vec<&str> = plain
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["messages", "model"]);
    }
}
