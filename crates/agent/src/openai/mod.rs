//! An OpenAI-compatible chat-completions client (OpenAI, vLLM, Ollama, llama.cpp, …) with
//! function calling, timeouts, and retries with backoff on 429 and 5xx.

pub mod schema;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LanguageModel, LlmMessage, ToolCall};
use pi_domain::agent::{AgentError, Usage};
use serde_json::{Value, json};

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

fn message_json(m: &LlmMessage) -> Value {
    match m {
        LlmMessage::System(t) => json!({"role": "system", "content": t}),
        LlmMessage::User(t) => json!({"role": "user", "content": t}),
        LlmMessage::Assistant {
            content,
            tool_calls,
        } => {
            let mut v = json!({"role": "assistant", "content": content});
            if !tool_calls.is_empty() {
                v["tool_calls"] = tool_calls
                    .iter()
                    .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                    .collect();
            }
            v
        }
        LlmMessage::Tool {
            call_id,
            name,
            content,
        } => {
            json!({"role": "tool", "tool_call_id": call_id, "name": name, "content": content})
        }
    }
}

/// The request body for a chat request.
pub fn request_body(model: &str, request: &ChatRequest) -> Value {
    let mut body = json!({
        "model": model,
        "messages": request.messages.iter().map(message_json).collect::<Vec<_>>(),
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
            .collect();
        body["tool_choice"] = json!("auto");
    }
    body
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

/// Longest `Retry-After` honoured when a request carries no deadline.
const MAX_WAIT_WITHOUT_DEADLINE: Duration = Duration::from_secs(30);

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
        let body = request_body(&self.config.model, &request);
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
            let mut call = self.http.post(self.url()).json(&body).timeout(timeout);
            if let Some(key) = &self.config.api_key {
                call = call.bearer_auth(key);
            }
            let (failure, retry_after) = match call.send().await {
                Err(e) if e.is_timeout() => return Err(AgentError::Timeout),
                Err(e) => (
                    format!("cannot reach the LLM at {}: {e}", self.config.base_url),
                    None,
                ),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = match response.text().await {
                        Ok(t) => t,
                        Err(e) if e.is_timeout() => return Err(AgentError::Timeout),
                        Err(e) => {
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
                        return parse_response(&json);
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
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}
