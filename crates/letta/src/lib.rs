//! Letta adapter: the domain's `AgentGateway` and `BlockStore` over Letta's v1 REST API.
//!
//! Wire facts (observed on Letta 0.16.8, `../shared/letta/README.md`): collection routes end in
//! `/`; every request carries `Authorization: Bearer <password>` and
//! `X-Stainless-Package-Version: 1.0.0`; our tools run here as Letta *client-side tools*: each
//! message carries their schemas, a `requires_approval` stop is answered with a `tool_return`,
//! and a `409 PENDING_APPROVAL` left by a crash is resolved before resending.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pi_domain::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentReply, AgentSpec, AgentStep,
    AgentSummary, Block, BlockId, BlockSpec, BlockStore, Page, Passage, StepLog, StepObserver,
    Usage,
};
use pi_domain::health::HealthProbe;
use pi_domain::tools::{ToolContext, ToolRegistry};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Most approval round trips per user message.
const MAX_APPROVALS: usize = 8;

/// Settings of the adapter.
#[derive(Clone)]
pub struct LettaConfig {
    /// e.g. `http://localhost:8283`.
    pub base_url: String,
    /// `LETTA_SERVER_PASSWORD` (or a Letta Cloud key).
    pub password: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Model handle for new agents.
    pub model: String,
    /// Embedding handle for new agents.
    pub embedding: String,
}

impl std::fmt::Debug for LettaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LettaConfig")
            .field("base_url", &self.base_url)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// The adapter.
pub struct LettaBackend {
    http: reqwest::Client,
    config: LettaConfig,
    tools: OnceLock<Arc<ToolRegistry>>,
}

impl std::fmt::Debug for LettaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LettaBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn parse_time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(Utc::now, |d| d.with_timezone(&Utc))
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn block_of(v: &Value) -> Block {
    Block {
        id: BlockId(str_of(v, "id")),
        label: str_of(v, "label"),
        value: str_of(v, "value"),
        limit: v.get("limit").and_then(Value::as_u64).unwrap_or(0) as usize,
        description: str_of(v, "description"),
        read_only: v.get("read_only").and_then(Value::as_bool).unwrap_or(false),
    }
}

fn summary_of(v: &Value) -> AgentSummary {
    AgentSummary {
        id: AgentId(str_of(v, "id")),
        name: str_of(v, "name"),
        created_at: parse_time(&v["created_at"]),
        updated_at: v.get("updated_at").map(parse_time),
        tags: v
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn passage_of(v: &Value) -> Passage {
    Passage {
        id: str_of(v, "id"),
        content: v
            .get("content")
            .or_else(|| v.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        tags: v
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        created_at: parse_time(
            v.get("timestamp")
                .or_else(|| v.get("created_at"))
                .unwrap_or(&Value::Null),
        ),
    }
}

/// Assistant text from a string or a list of `{type: "text", text}` parts.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// Percent-encodes a query-string value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn agent_id_of(v: &Value) -> AgentId {
    AgentId(str_of(v, "id"))
}

/// Maps a Letta error response to the port's typed errors.
fn error_of(status: StatusCode, body: &Value) -> AgentError {
    let detail = match &body["detail"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => String::new(),
    };
    if let Some(llm) = body.get("error").filter(|e| e.get("type").is_some()) {
        return AgentError::Unavailable(format!(
            "Letta's LLM failed ({}): {}",
            str_of(llm, "type"),
            str_of(llm, "message")
        ));
    }
    match status {
        StatusCode::NOT_FOUND => AgentError::NotFound(detail),
        // A path id that cannot be a Letta id (`agent-<uuid4>`) names no agent.
        StatusCode::UNPROCESSABLE_ENTITY if detail.contains("('path',") => {
            AgentError::NotFound(detail)
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => AgentError::Unavailable(
            "Letta refused the credentials: check LETTA_SERVER_PASSWORD".into(),
        ),
        s if s.is_server_error() => {
            AgentError::Unavailable(format!("Letta failed ({s}): {detail}"))
        }
        s => AgentError::Rejected(format!("Letta refused the request ({s}): {detail}")),
    }
}

impl LettaBackend {
    /// Builds the adapter.
    ///
    /// # Errors
    /// `Unavailable` when the HTTP client cannot be built.
    pub fn new(config: LettaConfig) -> Result<Self, AgentError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| AgentError::Unavailable(format!("cannot build the Letta client: {e}")))?;
        Ok(Self {
            http,
            config,
            tools: OnceLock::new(),
        })
    }

    /// Provides the tools Letta agents call as client-side tools.
    pub fn set_tools(&self, tools: Arc<ToolRegistry>) {
        if self.tools.set(tools).is_err() {
            tracing::warn!("the Letta adapter's tools were already set");
        }
    }

    /// One request, retried (twice, with backoff) only where repeating is safe: reads and the
    /// idempotent attach. A failed message send is never repeated blindly.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, AgentError> {
        let safe = method == Method::GET || path.contains("/core-memory/blocks/attach/");
        let mut attempt = 0u32;
        loop {
            match self.call_once(method.clone(), path, body).await {
                Err(AgentError::Unavailable(reason)) if safe && attempt < 2 => {
                    tracing::warn!(%reason, attempt, path, "Letta call failed; retrying");
                    tokio::time::sleep(Duration::from_millis(150 * 2u64.pow(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn call_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, AgentError> {
        let url = format!("{}{}", self.config.base_url.trim_end_matches('/'), path);
        let mut request = self
            .http
            .request(method, url)
            .header("X-Stainless-Package-Version", "1.0.0");
        if let Some(password) = &self.config.password {
            request = request.bearer_auth(password);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                AgentError::Timeout
            } else {
                AgentError::Unavailable(format!(
                    "cannot reach Letta at {}: {e}",
                    self.config.base_url
                ))
            }
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            if e.is_timeout() {
                AgentError::Timeout
            } else {
                AgentError::Unavailable(e.to_string())
            }
        })?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            Ok(json)
        } else {
            Err(error_of(status, &json))
        }
    }

    /// Letta answers `200 []` for the archival memory of an agent that does not exist: an empty
    /// answer is only trusted once the agent is known to exist (`NotFound` otherwise).
    async fn known_if_empty(
        &self,
        agent: &AgentId,
        passages: Vec<Passage>,
    ) -> Result<Vec<Passage>, AgentError> {
        if passages.is_empty() {
            self.call(Method::GET, &format!("/v1/agents/{agent}"), None)
                .await?;
        }
        Ok(passages)
    }

    /// `GET path`, a JSON array mapped item by item.
    async fn get_list<T>(&self, path: &str, item: fn(&Value) -> T) -> Result<Vec<T>, AgentError> {
        let list = self.call(Method::GET, path, None).await?;
        Ok(list
            .as_array()
            .map(|a| a.iter().map(item).collect())
            .unwrap_or_default())
    }

    fn client_tools(&self) -> Vec<Value> {
        self.tools
            .get()
            .map(|r| {
                r.schemas()
                    .into_iter()
                    .map(|t| json!({"name": t.name, "description": t.description, "parameters": t.parameters}))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn post_messages(&self, agent: &AgentId, messages: Value) -> Result<Value, AgentError> {
        let body = json!({"messages": messages, "client_tools": self.client_tools()});
        self.call(
            Method::POST,
            &format!("/v1/agents/{agent}/messages"),
            Some(&body),
        )
        .await
    }

    async fn run_client_tool(
        &self,
        owner: Option<pi_domain::user::UserId>,
        agent: &AgentId,
        name: &str,
        arguments: &str,
    ) -> (String, bool) {
        let args: Value = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
        match self.tools.get() {
            None => (
                json!({"error": "no tools are configured"}).to_string(),
                true,
            ),
            Some(registry) => {
                let ctx = ToolContext {
                    user_id: owner,
                    agent_id: Some(agent.clone()),
                };
                match registry.call(name, &ctx, args).await {
                    Ok(out) => (out.json().to_owned(), out.is_error()),
                    Err(e) => (json!({"error": e.to_string()}).to_string(), true),
                }
            }
        }
    }
}

/// Steps and the pending approvals of one Letta response.
fn steps_of(
    response: &Value,
    steps: &mut StepLog,
    usage: &mut Usage,
) -> Vec<(String, String, String)> {
    let mut approvals = Vec::new();
    for m in response["messages"].as_array().cloned().unwrap_or_default() {
        match m["message_type"].as_str().unwrap_or("") {
            "reasoning_message" => steps.push(AgentStep::Reasoning {
                text: str_of(&m, "reasoning"),
            }),
            "assistant_message" => steps.push(AgentStep::Assistant {
                text: content_text(&m["content"]),
            }),
            "tool_call_message" => steps.push(AgentStep::ToolCall {
                call_id: str_of(&m["tool_call"], "tool_call_id"),
                name: str_of(&m["tool_call"], "name"),
                arguments: str_of(&m["tool_call"], "arguments"),
            }),
            // Letta echoes the returns we posted: keep the one we recorded.
            "tool_return_message"
                if steps.steps().iter().any(|s| matches!(s, AgentStep::ToolReturn { call_id, .. } if *call_id == str_of(&m, "tool_call_id"))) => {}
            "tool_return_message" => steps.push(AgentStep::ToolReturn {
                call_id: str_of(&m, "tool_call_id"),
                name: str_of(&m, "name"),
                output: str_of(&m, "tool_return"),
                is_error: m["status"].as_str() == Some("error"),
            }),
            "approval_request_message" => {
                let calls = m["tool_calls"]
                    .as_array()
                    .cloned()
                    .unwrap_or_else(|| vec![m["tool_call"].clone()]);
                for c in calls {
                    let call = (
                        str_of(&c, "tool_call_id"),
                        str_of(&c, "name"),
                        str_of(&c, "arguments"),
                    );
                    steps.push(AgentStep::ToolCall {
                        call_id: call.0.clone(),
                        name: call.1.clone(),
                        arguments: call.2.clone(),
                    });
                    approvals.push(call);
                }
            }
            _ => {}
        }
    }
    let u = &response["usage"];
    usage.prompt_tokens += u["prompt_tokens"].as_u64().unwrap_or(0);
    usage.completion_tokens += u["completion_tokens"].as_u64().unwrap_or(0);
    usage.total_tokens += u["total_tokens"].as_u64().unwrap_or(0);
    usage.step_count += u["step_count"].as_u64().unwrap_or(0) as u32;
    approvals
}

#[async_trait]
impl AgentGateway for LettaBackend {
    async fn create_agent(&self, spec: AgentSpec) -> Result<AgentId, AgentError> {
        let body = json!({
            "name": spec.name,
            "system": spec.system_prompt,
            "memory_blocks": spec.memory_blocks.iter().map(|b| json!({
                "label": b.label, "value": b.value, "limit": b.limit, "description": b.description, "read_only": b.read_only,
            })).collect::<Vec<_>>(),
            "block_ids": spec.block_ids.iter().map(|b| b.0.clone()).collect::<Vec<_>>(),
            "tags": spec.tags,
            "metadata": spec.metadata,
            "model": self.config.model,
            "embedding": self.config.embedding,
            "include_base_tools": true,
        });
        let created = self.call(Method::POST, "/v1/agents/", Some(&body)).await?;
        Ok(AgentId(str_of(&created, "id")))
    }

    async fn send_message(
        &self,
        agent: &AgentId,
        message: AgentMessage,
    ) -> Result<AgentReply, AgentError> {
        self.send_message_observed(agent, message, StepObserver::new(|_| {}))
            .await
    }

    /// Steps are reported per Letta round trip: tool calls as Letta asks for approval, their
    /// returns as soon as the tool ran here.
    async fn send_message_observed(
        &self,
        agent: &AgentId,
        message: AgentMessage,
        observer: StepObserver,
    ) -> Result<AgentReply, AgentError> {
        let user = json!([{"role": "user", "content": message.content}]);
        let mut response = match self.post_messages(agent, user.clone()).await {
            // A pending approval left behind (e.g. by a crash): answer it with an error, resend.
            Err(AgentError::Rejected(m)) if m.contains("409") => {
                tracing::warn!(agent_id = %agent, "resolving a pending approval before sending");
                let pending = self
                    .call(
                        Method::GET,
                        &format!("/v1/agents/{agent}/messages?limit=1&order=desc"),
                        None,
                    )
                    .await
                    .unwrap_or(Value::Null);
                let call_id = pending
                    .as_array()
                    .and_then(|a| a.first())
                    .map(|m| str_of(&m["tool_call"], "tool_call_id"))
                    .unwrap_or_default();
                let _ = self
                    .post_messages(agent, json!([{"type": "tool_return", "tool_returns": [{"tool_call_id": call_id, "tool_return": "{\"error\":\"interrupted\"}", "status": "error"}]}]))
                    .await;
                self.post_messages(agent, user).await?
            }
            other => other?,
        };
        let mut steps = StepLog::new(Some(observer));
        let mut usage = Usage::default();
        for _ in 0..MAX_APPROVALS {
            let approvals = steps_of(&response, &mut steps, &mut usage);
            if approvals.is_empty() || response["stop_reason"]["stop_reason"] != "requires_approval"
            {
                return Ok(AgentReply {
                    steps: steps.into_steps(),
                    usage,
                });
            }
            let mut returns = Vec::new();
            for (call_id, name, arguments) in approvals {
                let (output, is_error) = self
                    .run_client_tool(message.on_behalf_of, agent, &name, &arguments)
                    .await;
                steps.push(AgentStep::ToolReturn {
                    call_id: call_id.clone(),
                    name,
                    output: output.clone(),
                    is_error,
                });
                returns.push(json!({"tool_call_id": call_id, "tool_return": output, "status": if is_error { "error" } else { "success" }}));
            }
            response = self
                .post_messages(
                    agent,
                    json!([{"type": "tool_return", "tool_returns": returns}]),
                )
                .await?;
        }
        steps.push(AgentStep::Assistant {
            text: format!("I stopped after {MAX_APPROVALS} tool rounds without a final answer."),
        });
        Ok(AgentReply {
            steps: steps.into_steps(),
            usage,
        })
    }

    async fn get_agent(&self, agent: &AgentId) -> Result<AgentSummary, AgentError> {
        Ok(summary_of(
            &self
                .call(
                    Method::GET,
                    &format!("/v1/agents/{agent}?include=agent.tags"),
                    None,
                )
                .await?,
        ))
    }

    async fn list_agents(
        &self,
        limit: usize,
        cursor: Option<String>,
        tag: Option<String>,
    ) -> Result<Page<AgentSummary>, AgentError> {
        // Newest first, explicitly: `after` then continues in that order.
        let mut path = format!(
            "/v1/agents/?limit={}&order=desc&include=agent.tags",
            limit + 1
        );
        if let Some(tag) = &tag {
            path.push_str(&format!("&tags={}&match_all_tags=true", encode(tag)));
        }
        if let Some(after) = &cursor {
            path.push_str(&format!("&after={}", encode(after)));
        }
        let list = self.call(Method::GET, &path, None).await?;
        let mut items: Vec<AgentSummary> = list
            .as_array()
            .map(|a| a.iter().map(summary_of).collect())
            .unwrap_or_default();
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Page {
            next_cursor: if more {
                items.last().map(|a| a.id.0.clone())
            } else {
                None
            },
            items,
        })
    }

    async fn add_tag(&self, agent: &AgentId, tag: &str) -> Result<(), AgentError> {
        let current = self.get_agent(agent).await?;
        if current.tags.iter().any(|t| t == tag) {
            return Ok(());
        }
        let mut tags = current.tags;
        tags.push(tag.to_owned());
        self.call(
            Method::PATCH,
            &format!("/v1/agents/{agent}"),
            Some(&json!({ "tags": tags })),
        )
        .await
        .map(|_| ())
    }

    async fn delete_agent(&self, agent: &AgentId) -> Result<(), AgentError> {
        self.call(Method::DELETE, &format!("/v1/agents/{agent}"), None)
            .await
            .map(|_| ())
    }

    async fn agent_blocks(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        self.get_list(&format!("/v1/agents/{agent}/core-memory/blocks"), block_of)
            .await
    }

    async fn archival_list(
        &self,
        agent: &AgentId,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError> {
        let passages = self
            .get_list(
                &format!("/v1/agents/{agent}/archival-memory?limit={limit}"),
                passage_of,
            )
            .await?;
        self.known_if_empty(agent, passages).await
    }

    async fn archival_search(
        &self,
        agent: &AgentId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError> {
        let q = encode(query);
        let found = self
            .call(
                Method::GET,
                &format!("/v1/agents/{agent}/archival-memory/search?query={q}&top_k={limit}"),
                None,
            )
            .await?;
        let passages = found["results"]
            .as_array()
            .map(|a| a.iter().map(passage_of).collect())
            .unwrap_or_default();
        self.known_if_empty(agent, passages).await
    }

    async fn archival_insert(
        &self,
        agent: &AgentId,
        content: &str,
        tags: Vec<String>,
    ) -> Result<Passage, AgentError> {
        let created = self
            .call(
                Method::POST,
                &format!("/v1/agents/{agent}/archival-memory"),
                Some(&json!({"text": content, "tags": tags})),
            )
            .await?;
        // The response carries the embedding vector: keep only what our clients see.
        let first = created
            .as_array()
            .and_then(|a| a.first())
            .cloned()
            .unwrap_or(created);
        Ok(passage_of(&first))
    }
}

#[async_trait]
impl BlockStore for LettaBackend {
    async fn blocks_of_agent(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        AgentGateway::agent_blocks(self, agent).await
    }

    async fn create_block(&self, spec: BlockSpec) -> Result<Block, AgentError> {
        let body = json!({"label": spec.label, "value": spec.value, "limit": spec.limit, "description": spec.description, "read_only": spec.read_only});
        Ok(block_of(
            &self.call(Method::POST, "/v1/blocks/", Some(&body)).await?,
        ))
    }

    async fn get_block(&self, block: &BlockId) -> Result<Block, AgentError> {
        Ok(block_of(
            &self
                .call(Method::GET, &format!("/v1/blocks/{block}"), None)
                .await?,
        ))
    }

    async fn find_blocks_by_label(&self, label: &str) -> Result<Vec<Block>, AgentError> {
        self.get_list(&format!("/v1/blocks/?label={}", encode(label)), block_of)
            .await
    }

    async fn update_block_value(&self, block: &BlockId, value: &str) -> Result<Block, AgentError> {
        Ok(block_of(
            &self
                .call(
                    Method::PATCH,
                    &format!("/v1/blocks/{block}"),
                    Some(&json!({"value": value})),
                )
                .await?,
        ))
    }

    async fn attach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        self.call(
            Method::PATCH,
            &format!("/v1/agents/{agent}/core-memory/blocks/attach/{block}"),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn detach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        self.call(
            Method::PATCH,
            &format!("/v1/agents/{agent}/core-memory/blocks/detach/{block}"),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn agents_of_block(&self, block: &BlockId) -> Result<Vec<AgentId>, AgentError> {
        self.get_list(&format!("/v1/blocks/{block}/agents"), agent_id_of)
            .await
    }
}

#[async_trait]
impl HealthProbe for LettaBackend {
    fn name(&self) -> &'static str {
        "agent_backend"
    }

    /// Reachable (`GET /v1/health/`, which Letta leaves open) and the password accepted (an
    /// authenticated one-item listing).
    async fn check(&self) -> Result<String, String> {
        let health = self
            .call(Method::GET, "/v1/health/", None)
            .await
            .map_err(|e| e.to_string())?;
        self.call(Method::GET, "/v1/agents/?limit=1", None)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "letta {} at {}",
            str_of(&health, "version"),
            self.config.base_url
        ))
    }
}
