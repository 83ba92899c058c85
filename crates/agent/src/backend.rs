//! `EmbeddedAgentBackend`: the agent ports in-process, and the agent loop.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::Utc;
use pi_domain::agent::runtime::{ChatRequest, LanguageModel, LlmMessage, ToolCall};
use pi_domain::agent::store::{AgentHistoryMessage, AgentRecord, AgentStore, MessageRole};
use pi_domain::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentReply, AgentSpec, AgentStep,
    AgentSummary, Block, BlockId, BlockSpec, BlockStore, Page, Passage, StepLog, StepObserver,
    ToolSchema, Usage,
};
use pi_domain::health::HealthProbe;
use pi_domain::tools::{ToolContext, ToolRegistry};
use pi_domain::user::UserId;
use serde_json::Value;

use crate::memory::{self, MEMORY_TOOLS};

/// Limits of the agent loop.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeConfig {
    /// Most LLM calls per user message.
    pub max_steps: usize,
    /// History messages loaded into the context.
    pub history_messages: u64,
    /// Character budget of the context (≈ 4 characters per token).
    pub context_chars: usize,
    /// Longest a whole turn may take (every LLM call, retry, wait and tool).
    pub turn_deadline: std::time::Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            max_steps: 8,
            history_messages: 60,
            context_chars: 48_000,
            turn_deadline: std::time::Duration::from_secs(120),
        }
    }
}

/// Pi agents in-process, persisted through an [`AgentStore`].
pub struct EmbeddedAgentBackend {
    store: Arc<dyn AgentStore>,
    llm: Arc<dyn LanguageModel>,
    tools: OnceLock<Arc<ToolRegistry>>,
    config: RuntimeConfig,
}

impl std::fmt::Debug for EmbeddedAgentBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedAgentBackend")
            .field("llm", &self.llm.describe())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

fn summary(r: &AgentRecord) -> AgentSummary {
    AgentSummary {
        id: r.id.clone(),
        name: r.name.clone(),
        created_at: r.created_at,
        updated_at: Some(r.updated_at),
        tags: r.tags.clone(),
    }
}

fn check_block(spec: &BlockSpec) -> Result<(), AgentError> {
    if spec.label.trim().is_empty() {
        return Err(AgentError::Rejected("block label must not be empty".into()));
    }
    if spec.value.chars().count() > spec.limit {
        return Err(AgentError::Rejected(format!(
            "value of block {:?} exceeds its limit of {} characters",
            spec.label, spec.limit
        )));
    }
    Ok(())
}

/// Renders the system prompt with the agent's core memory.
fn render_system(agent: &AgentRecord, blocks: &[Block]) -> String {
    let mut out = agent.system_prompt.clone();
    out.push_str("\n\n### Core memory\nThese blocks are always in your context. Edit them with core_memory_append / core_memory_replace.\n");
    for b in blocks {
        out.push_str(&format!(
            "\n<{label} characters=\"{used}/{limit}\" read_only=\"{ro}\">\n<description>{desc}</description>\n<value>\n{value}\n</value>\n</{label}>\n",
            label = b.label,
            used = b.value.chars().count(),
            limit = b.limit,
            ro = b.read_only,
            desc = b.description,
            value = b.value,
        ));
    }
    out.push_str(&format!(
        "\nCurrent date: {}.\n",
        Utc::now().format("%Y-%m-%d")
    ));
    out
}

fn to_llm(m: &AgentHistoryMessage) -> LlmMessage {
    match m.role {
        MessageRole::User => LlmMessage::User(m.content.clone()),
        MessageRole::Assistant => LlmMessage::Assistant {
            content: (!m.content.is_empty()).then(|| m.content.clone()),
            tool_calls: m.tool_calls.clone(),
        },
        MessageRole::Tool => LlmMessage::Tool {
            call_id: m.tool_call_id.clone().unwrap_or_default(),
            name: m.tool_name.clone().unwrap_or_default(),
            content: m.content.clone(),
        },
    }
}

fn chars(m: &LlmMessage) -> usize {
    match m {
        LlmMessage::System(t) | LlmMessage::User(t) => t.len(),
        LlmMessage::Assistant {
            content,
            tool_calls,
        } => {
            content.as_ref().map_or(0, String::len)
                + tool_calls
                    .iter()
                    .map(|c| c.arguments.len() + c.name.len())
                    .sum::<usize>()
        }
        LlmMessage::Tool { content, .. } => content.len(),
    }
}

fn history_message(
    role: MessageRole,
    content: String,
    tool_calls: Vec<ToolCall>,
    call: Option<(&str, &str)>,
) -> AgentHistoryMessage {
    AgentHistoryMessage {
        role,
        content,
        tool_calls,
        tool_call_id: call.map(|c| c.0.to_owned()),
        tool_name: call.map(|c| c.1.to_owned()),
        created_at: Utc::now(),
    }
}

impl EmbeddedAgentBackend {
    /// A backend on `store` thinking with `llm`.
    pub fn new(
        store: Arc<dyn AgentStore>,
        llm: Arc<dyn LanguageModel>,
        config: RuntimeConfig,
    ) -> Self {
        Self {
            store,
            llm,
            tools: OnceLock::new(),
            config,
        }
    }

    /// Provides the tool registry (set once, after the services the tools need exist).
    pub fn set_tools(&self, tools: Arc<ToolRegistry>) {
        if self.tools.set(tools).is_err() {
            tracing::warn!("the embedded runtime's tools were already set");
        }
    }

    /// What model the agents think with.
    pub fn llm_description(&self) -> String {
        self.llm.describe()
    }

    fn registry(&self) -> Option<&Arc<ToolRegistry>> {
        self.tools.get()
    }

    async fn agent(&self, id: &AgentId) -> Result<AgentRecord, AgentError> {
        self.store
            .get_agent(id)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("agent {id}")))
    }

    /// Tool schemas the agent may call: its registry tools plus the memory tools.
    fn tool_schemas(&self, agent: &AgentRecord) -> Vec<ToolSchema> {
        let mut schemas: Vec<ToolSchema> = self
            .registry()
            .map(|r| {
                r.schemas()
                    .into_iter()
                    .filter(|s| agent.tools.contains(&s.name))
                    .collect()
            })
            .unwrap_or_default();
        schemas.extend(memory::schemas());
        schemas
    }

    async fn run_tool(
        &self,
        agent: &AgentRecord,
        owner: Option<UserId>,
        call: &ToolCall,
    ) -> (String, bool) {
        let arguments: Value = match serde_json::from_str(if call.arguments.trim().is_empty() {
            "{}"
        } else {
            &call.arguments
        }) {
            Ok(v) => v,
            Err(e) => {
                return (
                    serde_json::json!({"error": format!("arguments are not valid JSON: {e}")})
                        .to_string(),
                    true,
                );
            }
        };
        if MEMORY_TOOLS.contains(&call.name.as_str()) {
            return match memory::run(self.store.as_ref(), &agent.id, &call.name, arguments).await {
                Ok(v) => (v.to_string(), false),
                Err(message) => (serde_json::json!({"error": message}).to_string(), true),
            };
        }
        let allowed = agent.tools.contains(&call.name);
        match self.registry() {
            Some(registry) if allowed => {
                let ctx = ToolContext {
                    user_id: owner,
                    agent_id: Some(agent.id.clone()),
                };
                match registry.call(&call.name, &ctx, arguments).await {
                    Ok(out) => (out.json().to_owned(), out.is_error()),
                    Err(e) => (serde_json::json!({"error": e.to_string()}).to_string(), true),
                }
            }
            _ => (
                serde_json::json!({"error": format!("tool {:?} is not available to this agent", call.name)}).to_string(),
                true,
            ),
        }
    }

    /// The agent loop: context → LLM → tools → … → final answer, bounded by `max_steps`.
    async fn turn(
        &self,
        agent: &AgentRecord,
        message: AgentMessage,
        observer: Option<StepObserver>,
    ) -> Result<AgentReply, AgentError> {
        let owner = message.on_behalf_of.or_else(|| {
            agent
                .metadata
                .get("pi_user_id")
                .and_then(Value::as_str)
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .map(UserId)
        });
        let tools = self.tool_schemas(agent);
        let history = self
            .store
            .recent_history(&agent.id, self.config.history_messages)
            .await?;
        // Start the window at a user message so no tool result is orphaned.
        let start = history
            .iter()
            .position(|m| m.role == MessageRole::User)
            .unwrap_or(history.len());
        let mut past: Vec<LlmMessage> = history[start..].iter().map(to_llm).collect();
        let mut new_history = vec![history_message(
            MessageRole::User,
            message.content.clone(),
            Vec::new(),
            None,
        )];
        let mut steps = StepLog::new(observer);
        let mut usage = Usage::default();
        let mut turn_messages: Vec<LlmMessage> = vec![LlmMessage::User(message.content.clone())];
        let mut final_text = None;
        let deadline = std::time::Instant::now() + self.config.turn_deadline;
        for _ in 0..self.config.max_steps {
            if std::time::Instant::now() >= deadline {
                tracing::warn!(agent_id = %agent.id, "agent turn passed its deadline");
                return Err(AgentError::Timeout);
            }
            // Memory may change during the turn: render it fresh for every call.
            let blocks = self.store.agent_blocks(&agent.id).await?;
            let system = LlmMessage::System(render_system(agent, &blocks));
            let budget = self
                .config
                .context_chars
                .saturating_sub(chars(&system) + turn_messages.iter().map(chars).sum::<usize>());
            // Drop the oldest exchanges until the history fits the budget.
            while past.iter().map(chars).sum::<usize>() > budget && !past.is_empty() {
                let next_user = past
                    .iter()
                    .skip(1)
                    .position(|m| matches!(m, LlmMessage::User(_)))
                    .map_or(past.len(), |p| p + 1);
                past.drain(..next_user);
            }
            let mut messages = Vec::with_capacity(past.len() + turn_messages.len() + 1);
            messages.push(system);
            messages.extend(past.iter().cloned());
            messages.extend(turn_messages.iter().cloned());
            let response = self
                .llm
                .complete(ChatRequest {
                    model: agent.model.clone(),
                    messages,
                    tools: tools.clone(),
                    deadline: Some(deadline),
                })
                .await?;
            usage.prompt_tokens += response.usage.prompt_tokens;
            usage.completion_tokens += response.usage.completion_tokens;
            usage.total_tokens += response.usage.total_tokens;
            usage.step_count += 1;
            if let Some(reasoning) = response.reasoning.filter(|r| !r.trim().is_empty()) {
                steps.push(AgentStep::Reasoning { text: reasoning });
            }
            let text = response.content.unwrap_or_default();
            if response.tool_calls.is_empty() {
                steps.push(AgentStep::Assistant { text: text.clone() });
                new_history.push(history_message(
                    MessageRole::Assistant,
                    text.clone(),
                    Vec::new(),
                    None,
                ));
                final_text = Some(text);
                break;
            }
            if !text.trim().is_empty() {
                steps.push(AgentStep::Reasoning { text: text.clone() });
            }
            turn_messages.push(LlmMessage::Assistant {
                content: (!text.is_empty()).then(|| text.clone()),
                tool_calls: response.tool_calls.clone(),
            });
            new_history.push(history_message(
                MessageRole::Assistant,
                text,
                response.tool_calls.clone(),
                None,
            ));
            for call in &response.tool_calls {
                steps.push(AgentStep::ToolCall {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                });
                let (output, is_error) = self.run_tool(agent, owner, call).await;
                tracing::info!(agent_id = %agent.id, tool = %call.name, is_error, "tool call");
                steps.push(AgentStep::ToolReturn {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    output: output.clone(),
                    is_error,
                });
                turn_messages.push(LlmMessage::Tool {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    content: output.clone(),
                });
                new_history.push(history_message(
                    MessageRole::Tool,
                    output,
                    Vec::new(),
                    Some((&call.id, &call.name)),
                ));
            }
        }
        if final_text.is_none() {
            let text = format!(
                "I stopped after {} steps without reaching a final answer. Please narrow the question and ask again.",
                self.config.max_steps
            );
            steps.push(AgentStep::Assistant { text: text.clone() });
            new_history.push(history_message(
                MessageRole::Assistant,
                text,
                Vec::new(),
                None,
            ));
        }
        self.store.append_history(&agent.id, new_history).await?;
        Ok(AgentReply {
            steps: steps.into_steps(),
            usage,
        })
    }
}

#[async_trait]
impl HealthProbe for EmbeddedAgentBackend {
    fn name(&self) -> &'static str {
        "agent_backend"
    }

    async fn check(&self) -> Result<String, String> {
        Ok(format!("embedded runtime; LLM: {}", self.llm.describe()))
    }
}

#[async_trait]
impl AgentGateway for EmbeddedAgentBackend {
    async fn create_agent(&self, spec: AgentSpec) -> Result<AgentId, AgentError> {
        for b in &spec.memory_blocks {
            check_block(b)?;
        }
        let now = Utc::now();
        let id = AgentId(new_id("agent"));
        let own: Vec<Block> = spec
            .memory_blocks
            .into_iter()
            .map(|b| Block {
                id: BlockId(new_id("block")),
                label: b.label,
                value: b.value,
                limit: b.limit,
                description: b.description,
                read_only: b.read_only,
            })
            .collect();
        let record = AgentRecord {
            id: id.clone(),
            name: spec.name,
            system_prompt: spec.system_prompt,
            model: spec.model,
            tools: spec.tools.into_iter().map(|t| t.name).collect(),
            tags: spec.tags,
            metadata: spec.metadata,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_agent(record, own, spec.block_ids).await?;
        Ok(id)
    }

    async fn send_message(
        &self,
        agent: &AgentId,
        message: AgentMessage,
    ) -> Result<AgentReply, AgentError> {
        let record = self.agent(agent).await?;
        self.turn(&record, message, None).await
    }

    /// Tool calls and returns are reported as the loop runs them.
    async fn send_message_observed(
        &self,
        agent: &AgentId,
        message: AgentMessage,
        observer: StepObserver,
    ) -> Result<AgentReply, AgentError> {
        let record = self.agent(agent).await?;
        self.turn(&record, message, Some(observer)).await
    }

    async fn get_agent(&self, agent: &AgentId) -> Result<AgentSummary, AgentError> {
        Ok(summary(&self.agent(agent).await?))
    }

    async fn list_agents(
        &self,
        limit: usize,
        cursor: Option<String>,
        tag: Option<String>,
    ) -> Result<Page<AgentSummary>, AgentError> {
        let limit = limit.clamp(1, 1000) as u64;
        let mut rows = self.store.list_agents(limit + 1, cursor, tag).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok(Page {
            next_cursor: if more {
                rows.last().map(|r| r.id.0.clone())
            } else {
                None
            },
            items: rows.iter().map(summary).collect(),
        })
    }

    async fn add_tag(&self, agent: &AgentId, tag: &str) -> Result<(), AgentError> {
        let record = self
            .store
            .get_agent(agent)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("agent {agent}")))?;
        if record.tags.iter().any(|t| t == tag) {
            return Ok(());
        }
        let mut tags = record.tags;
        tags.push(tag.to_owned());
        if self.store.set_tags(agent, tags).await? {
            Ok(())
        } else {
            Err(AgentError::NotFound(format!("agent {agent}")))
        }
    }

    async fn delete_agent(&self, agent: &AgentId) -> Result<(), AgentError> {
        if self.store.delete_agent(agent).await? {
            Ok(())
        } else {
            Err(AgentError::NotFound(format!("agent {agent}")))
        }
    }

    async fn agent_blocks(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        self.agent(agent).await?;
        self.store.agent_blocks(agent).await
    }

    async fn archival_list(
        &self,
        agent: &AgentId,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError> {
        self.agent(agent).await?;
        self.store.list_passages(agent, limit as u64).await
    }

    async fn archival_search(
        &self,
        agent: &AgentId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError> {
        self.agent(agent).await?;
        self.store.search_passages(agent, query, limit as u64).await
    }

    async fn archival_insert(
        &self,
        agent: &AgentId,
        content: &str,
        tags: Vec<String>,
    ) -> Result<Passage, AgentError> {
        self.agent(agent).await?;
        if content.trim().is_empty() {
            return Err(AgentError::Rejected("passage content is empty".into()));
        }
        let passage = Passage {
            id: format!("passage-{}", uuid::Uuid::now_v7()),
            content: content.to_owned(),
            tags,
            created_at: Utc::now(),
        };
        self.store.insert_passage(agent, passage.clone()).await?;
        Ok(passage)
    }
}

#[async_trait]
impl BlockStore for EmbeddedAgentBackend {
    async fn blocks_of_agent(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        AgentGateway::agent_blocks(self, agent).await
    }

    async fn create_block(&self, spec: BlockSpec) -> Result<Block, AgentError> {
        check_block(&spec)?;
        let block = Block {
            id: BlockId(new_id("block")),
            label: spec.label,
            value: spec.value,
            limit: spec.limit,
            description: spec.description,
            read_only: spec.read_only,
        };
        self.store.insert_block(block.clone()).await?;
        Ok(block)
    }

    async fn get_block(&self, block: &BlockId) -> Result<Block, AgentError> {
        self.store
            .get_block(block)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("block {block}")))
    }

    async fn find_blocks_by_label(&self, label: &str) -> Result<Vec<Block>, AgentError> {
        self.store.blocks_by_label(label).await
    }

    async fn update_block_value(&self, block: &BlockId, value: &str) -> Result<Block, AgentError> {
        let current = self.get_block(block).await?;
        if value.chars().count() > current.limit {
            return Err(AgentError::Rejected(format!(
                "value exceeds the limit of {} characters",
                current.limit
            )));
        }
        self.store
            .set_block_value(block, value)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("block {block}")))
    }

    async fn attach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        self.store.attach(agent, block).await
    }

    async fn detach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        self.agent(agent).await?;
        self.store.detach(agent, block).await
    }

    async fn agents_of_block(&self, block: &BlockId) -> Result<Vec<AgentId>, AgentError> {
        self.get_block(block).await?;
        self.store.block_agents(block).await
    }
}
