//! The persistence port of the embedded agent runtime (implemented in `store`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{AgentError, AgentId, Block, BlockId, Passage};

/// An agent as the embedded runtime stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRecord {
    /// Id (`agent-<uuid>`).
    pub id: AgentId,
    pub name: String,
    pub system_prompt: String,
    /// Model handle.
    pub model: String,
    /// Tool names the agent may call.
    pub tools: Vec<String>,
    pub tags: Vec<String>,
    /// Metadata (e.g. `pi_user_id`).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub updated_at: DateTime<Utc>,
}

/// Who wrote a stored agent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRole {
    User,
    /// The model (text and/or tool calls).
    Assistant,
    /// A tool's result.
    Tool,
}

impl MessageRole {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "assistant" => Some(Self::Assistant),
            "tool" => Some(Self::Tool),
            _ => None,
        }
    }
}

/// One message of an agent's history (the model's view of the conversation).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentHistoryMessage {
    pub role: MessageRole,
    /// Text (assistant text, user text, or tool output).
    pub content: String,
    /// Assistant tool calls: `[{id, name, arguments}]`.
    pub tool_calls: Vec<super::runtime::ToolCall>,
    /// For tool results: the call id and tool name.
    pub tool_call_id: Option<String>,
    /// For tool results: the tool name.
    pub tool_name: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// What a turn starts from: the agent, its blocks and its recent history.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnContext {
    pub agent: AgentRecord,
    /// Attached blocks, in attachment order.
    pub blocks: Vec<Block>,
    /// The last messages, oldest first.
    pub history: Vec<AgentHistoryMessage>,
}

/// Persistence of embedded agents, blocks, links, histories and archival passages.
///
/// Every method fails with [`AgentError::Store`] when the database fails.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Inserts an agent, its own blocks and its links (own blocks first, then `attach`), in one
    /// transaction.
    ///
    /// # Errors
    /// `NotFound` when a block of `attach` does not exist (nothing is written).
    async fn insert_agent(
        &self,
        agent: AgentRecord,
        own_blocks: Vec<Block>,
        attach: Vec<BlockId>,
    ) -> Result<(), AgentError>;

    /// One agent.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn get_agent(&self, id: &AgentId) -> Result<Option<AgentRecord>, AgentError>;

    /// Agents ordered by id, after `after`, carrying `tag` when one is given.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn list_agents(
        &self,
        limit: u64,
        after: Option<String>,
        tag: Option<String>,
    ) -> Result<Vec<AgentRecord>, AgentError>;

    /// Replaces the agent's tags; `false` if it does not exist.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn set_tags(&self, id: &AgentId, tags: Vec<String>) -> Result<bool, AgentError>;

    /// Deletes an agent with its history, passages and own blocks; `false` if it did not exist.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn delete_agent(&self, id: &AgentId) -> Result<bool, AgentError>;

    /// Blocks attached to the agent, in attachment order.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn agent_blocks(&self, id: &AgentId) -> Result<Vec<Block>, AgentError>;

    /// Inserts a standalone block.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn insert_block(&self, block: Block) -> Result<(), AgentError>;

    /// One block.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn get_block(&self, id: &BlockId) -> Result<Option<Block>, AgentError>;

    /// Blocks with a label.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn blocks_by_label(&self, label: &str) -> Result<Vec<Block>, AgentError>;

    /// Sets a block's value; `None` if it does not exist. The caller checks limits.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn set_block_value(&self, id: &BlockId, value: &str)
    -> Result<Option<Block>, AgentError>;

    /// Links a block to an agent (idempotent).
    ///
    /// # Errors
    /// `NotFound` for an unknown agent or block.
    async fn attach(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError>;

    /// Unlinks a block from an agent (idempotent).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn detach(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError>;

    /// Agents a block is attached to.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn block_agents(&self, block: &BlockId) -> Result<Vec<AgentId>, AgentError>;

    /// Appends messages to an agent's history and bumps its `updated_at`.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn append_history(
        &self,
        agent: &AgentId,
        messages: Vec<AgentHistoryMessage>,
    ) -> Result<(), AgentError>;

    /// The last `limit` history messages, oldest first.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn recent_history(
        &self,
        agent: &AgentId,
        limit: u64,
    ) -> Result<Vec<AgentHistoryMessage>, AgentError>;

    /// The agent, its blocks and its last `history` messages (`None` when there is no such
    /// agent). The same as [`Self::get_agent`], [`Self::agent_blocks`] and
    /// [`Self::recent_history`]; a store may answer it in one round trip.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn turn_context(
        &self,
        id: &AgentId,
        history: u64,
    ) -> Result<Option<TurnContext>, AgentError> {
        let Some(agent) = self.get_agent(id).await? else {
            return Ok(None);
        };
        Ok(Some(TurnContext {
            agent,
            blocks: self.agent_blocks(id).await?,
            history: self.recent_history(id, history).await?,
        }))
    }

    /// User and assistant messages matching `query`, best first.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn search_history(
        &self,
        agent: &AgentId,
        query: &str,
        limit: u64,
    ) -> Result<Vec<AgentHistoryMessage>, AgentError>;

    /// Stores a passage.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn insert_passage(&self, agent: &AgentId, passage: Passage) -> Result<(), AgentError>;

    /// Passages, newest first.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn list_passages(&self, agent: &AgentId, limit: u64) -> Result<Vec<Passage>, AgentError>;

    /// Passages ranked by relevance to `query` (full-text, both backends).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn search_passages(
        &self,
        agent: &AgentId,
        query: &str,
        limit: u64,
    ) -> Result<Vec<Passage>, AgentError>;
}
