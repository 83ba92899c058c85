//! `EmbeddedAgentBackend`: the agent gateway in-process, and the agent loop.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::Utc;
use pi_domain::agent::runtime::{LanguageModel, ToolCall};
use pi_domain::agent::store::{AgentRecord, AgentStore, TurnContext};
use pi_domain::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentReply, AgentSpec, AgentSummary, Block,
    BlockId, Page, Passage, StepObserver, ToolSchema,
};
use pi_domain::health::HealthProbe;
use pi_domain::tools::{ToolContext, ToolRegistry};
use pi_domain::user::UserId;
use serde_json::Value;

use crate::blocks::{check_block, existing_agent, new_id};
use crate::memory::{self, MEMORY_TOOLS};
use crate::turn::Turn;

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
    tools: Arc<ToolRegistry>,
    config: RuntimeConfig,
    /// The built-in memory tools' schemas, built once.
    memory_schemas: Vec<ToolSchema>,
    /// The schemas offered for the last tool list seen (every Pi agent has the same list):
    /// a turn shares them instead of building them again.
    offered: std::sync::Mutex<Option<OfferedTools>>,
}

/// A tool list (by name) and the schemas offered for it.
type OfferedTools = (Vec<String>, Arc<[ToolSchema]>);

impl std::fmt::Debug for EmbeddedAgentBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedAgentBackend")
            .field("llm", &self.llm.describe())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
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

impl EmbeddedAgentBackend {
    /// Agents kept in `store`, thinking with `llm`, able to call the tools of `tools` that
    /// their spec names (plus the built-in memory tools).
    pub fn new(
        store: Arc<dyn AgentStore>,
        llm: Arc<dyn LanguageModel>,
        tools: Arc<ToolRegistry>,
        config: RuntimeConfig,
    ) -> Self {
        Self {
            store,
            llm,
            tools,
            config,
            memory_schemas: memory::schemas(),
            offered: std::sync::Mutex::new(None),
        }
    }

    /// What model the agents think with.
    pub fn llm_description(&self) -> String {
        self.llm.describe()
    }

    async fn agent(&self, id: &AgentId) -> Result<AgentRecord, AgentError> {
        existing_agent(self.store.as_ref(), id).await
    }

    /// Tool schemas the agent may call: its registry tools plus the memory tools.
    fn tool_schemas(&self, agent: &AgentRecord) -> Arc<[ToolSchema]> {
        let mut offered = self
            .offered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((names, schemas)) = offered.as_ref()
            && *names == agent.tools
        {
            return schemas.clone();
        }
        let schemas: Arc<[ToolSchema]> = self
            .tools
            .schemas_iter()
            .filter(|s| agent.tools.contains(&s.name))
            .chain(&self.memory_schemas)
            .cloned()
            .collect();
        *offered = Some((agent.tools.clone(), schemas.clone()));
        schemas
    }

    /// Runs one tool call; the JSON text for the model and whether it failed.
    async fn run_tool(
        &self,
        agent: &AgentRecord,
        owner: Option<UserId>,
        call: &ToolCall,
    ) -> (String, bool) {
        let failed = |message: String| (serde_json::json!({ "error": message }).to_string(), true);
        let raw = if call.arguments.trim().is_empty() {
            "{}"
        } else {
            &call.arguments
        };
        let arguments: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) => return failed(format!("arguments are not valid JSON: {e}")),
        };
        if MEMORY_TOOLS.contains(&call.name.as_str()) {
            return match memory::run(self.store.as_ref(), &agent.id, &call.name, arguments).await {
                Ok(v) => (v.to_string(), false),
                Err(message) => failed(message),
            };
        }
        if !agent.tools.contains(&call.name) {
            return failed(format!(
                "tool {:?} is not available to this agent",
                call.name
            ));
        }
        let ctx = ToolContext {
            user_id: owner,
            agent_id: Some(agent.id.clone()),
        };
        match self.tools.call(&call.name, &ctx, arguments).await {
            Ok(out) => (out.json().to_owned(), out.is_error()),
            Err(e) => failed(e.to_string()),
        }
    }

    /// The agent loop: context → model → tools → … → answer, bounded by `max_steps` and the
    /// turn deadline; the turn's history is stored once it is over.
    async fn turn(
        &self,
        id: &AgentId,
        message: AgentMessage,
        observer: Option<StepObserver>,
    ) -> Result<AgentReply, AgentError> {
        // What the turn starts from, in one round trip.
        let TurnContext {
            agent,
            blocks,
            history,
        } = self
            .store
            .turn_context(id, self.config.history_messages)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("agent {id}")))?;
        let agent = &agent;

        let owner = message.on_behalf_of.or_else(|| owner_of(agent));
        let deadline = Instant::now() + self.config.turn_deadline;
        let mut turn = Turn::begin(
            agent,
            message.content,
            self.tool_schemas(agent),
            &history,
            observer,
            deadline,
        );
        let mut blocks = Some(blocks);
        for _ in 0..self.config.max_steps {
            turn.check_deadline()?;
            // Tools may have edited memory since the last step: read the blocks afresh.
            let blocks = match blocks.take() {
                Some(first) => first,
                None => self.store.agent_blocks(&agent.id).await?,
            };
            let request = turn.request(&blocks, self.config.context_chars);
            let calls = turn.respond(self.llm.complete(request).await?);
            if calls.is_empty() {
                break;
            }
            for call in &calls {
                turn.calling(call);
                let (output, is_error) = self.run_tool(agent, owner, call).await;
                turn.returned(call, output, is_error);
            }
        }
        turn.give_up_after(self.config.max_steps);
        let (history, reply) = turn.finish();
        self.store.append_history(&agent.id, history).await?;
        Ok(reply)
    }
}

/// The user an agent serves, from its creation metadata.
fn owner_of(agent: &AgentRecord) -> Option<UserId> {
    agent
        .metadata
        .get("pi_user_id")
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .map(UserId)
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
        let started = std::time::Instant::now();
        let result = self.turn(agent, message, None).await;
        pi_domain::agent::record_turn("embedded", started, &result);
        result
    }

    /// Tool calls and returns are reported as the loop runs them.
    async fn send_message_observed(
        &self,
        agent: &AgentId,
        message: AgentMessage,
        observer: StepObserver,
    ) -> Result<AgentReply, AgentError> {
        let started = std::time::Instant::now();
        let result = self.turn(agent, message, Some(observer)).await;
        pi_domain::agent::record_turn("embedded", started, &result);
        result
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
