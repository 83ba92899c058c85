//! Agents: the `AgentGateway` and `BlockStore` ports, their types, and the Pi agent template.
//!
//! The ports are shaped for both backends: the embedded runtime (in-process) and a Letta server
//! (REST). Ids are opaque strings chosen by the backend (`agent-…`, `block-…` on Letta).

mod deployment;
mod provision;
pub mod runtime;
pub mod store;
mod template;

#[cfg(any(test, feature = "mocks"))]
pub use deployment::MockDeploymentRepo;
pub use deployment::{DeploymentId, DeploymentRepo};
#[cfg(any(test, feature = "mocks"))]
pub use provision::MockPersonaMemory;
pub use provision::{
    AgentProvisioner, PROFILE_BLOCK, PersonaMemory, PersonaMemorySeed, ProvisionError, Provisioned,
};
pub use template::{PiAgentTemplate, TemplateError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::user::UserId;

/// An agent's id, as the backend assigned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub String);

impl AgentId {
    /// Longest id accepted from a client.
    pub const MAX_LEN: usize = 128;

    /// An id a client sent (a URL path segment): `None` when it cannot name any agent, i.e.
    /// empty, longer than [`AgentId::MAX_LEN`], or with characters other than ASCII letters,
    /// digits, `-`, `_`, `.` and `:` (so no control character or NUL ever reaches a backend).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        ok.then(|| Self(raw.to_owned()))
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A memory block's id, as the backend assigned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlockId(pub String);

impl std::fmt::Display for BlockId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A core memory block to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSpec {
    /// Label the agent sees (`human`, `agent_persona`, `qsr_real_estate_service_experience`).
    pub label: String,
    /// Initial value.
    pub value: String,
    /// Maximum value length, in characters.
    pub limit: usize,
    /// What the block is for; shown to the agent.
    pub description: String,
    /// The agent cannot edit a read-only block.
    #[serde(default)]
    pub read_only: bool,
}

/// A core memory block as stored by the backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Backend id.
    pub id: BlockId,
    pub label: String,
    /// Current value.
    pub value: String,
    /// Maximum value length, in characters.
    pub limit: usize,
    /// Description shown to the agent.
    pub description: String,
    /// Whether the agent may edit it.
    pub read_only: bool,
}

/// The JSON schema of a tool the agent may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSchema {
    /// Tool name (`search_places`).
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// Everything needed to create an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSpec {
    /// Agent name.
    pub name: String,
    pub system_prompt: String,
    /// Blocks created for (and owned by) this agent.
    pub memory_blocks: Vec<BlockSpec>,
    /// Existing blocks to attach (shared persona blocks).
    pub block_ids: Vec<BlockId>,
    /// Tools the agent may call.
    pub tools: Vec<ToolSchema>,
    /// Model handle (`openai/gpt-4o`).
    pub model: String,
    /// Embedding handle, for backends that embed archival memory.
    pub embedding: Option<String>,
    /// Tags for filtering.
    pub tags: Vec<String>,
    /// Free-form metadata (e.g. `pi_user_id`).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// An agent as listed by the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSummary {
    /// Backend id.
    pub id: AgentId,
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update, when the backend reports one.
    pub updated_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
}

/// One step of an agent's turn, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentStep {
    /// The model's private reasoning.
    Reasoning {
        /// Reasoning text.
        text: String,
    },
    /// The model asked for a tool.
    ToolCall {
        /// Call id, pairs with the return.
        call_id: String,
        /// Tool name.
        name: String,
        /// Arguments as a JSON string.
        arguments: String,
    },
    /// A tool's result.
    ToolReturn {
        call_id: String,
        /// Tool name.
        name: String,
        /// Output (JSON text).
        output: String,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// Text for the user.
    Assistant {
        /// Message text.
        text: String,
    },
}

/// Token usage of one turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    /// LLM calls made.
    pub step_count: u32,
}

/// The agent's answer to one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentReply {
    /// Every step, in order.
    pub steps: Vec<AgentStep>,
    pub usage: Usage,
}

impl AgentReply {
    /// All assistant texts as the user sees them (see [`ReplyText`]).
    pub fn assistant_text(&self) -> String {
        let mut text = ReplyText::default();
        for step in &self.steps {
            if let AgentStep::Assistant { text: part } = step {
                text.push(part);
            }
        }
        text.into_string()
    }
}

/// The one rule for a reply's text, used by the stored reply and by streaming alike: the
/// assistant parts, trimmed, empty ones skipped, separated by a blank line. The deltas
/// [`ReplyText::stream`] and [`ReplyText::push`] return concatenate to
/// [`ReplyText::into_string`]: a part may arrive piece by piece (`stream`, whitespace at its
/// edges held back until it is known not to be the edge) and is then closed whole (`push`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyText {
    text: String,
    /// The part being streamed, raw.
    open: String,
    /// How much of `open` (after its leading whitespace) has been sent.
    sent: usize,
}

impl ReplyText {
    /// Adds a piece of the part being written; returns the text to append on the client.
    pub fn stream(&mut self, piece: &str) -> Option<String> {
        self.open.push_str(piece);
        let visible = self.open.trim_start();
        let ready = visible.trim_end().len();
        if ready <= self.sent {
            return None;
        }
        let mut delta = String::new();
        if self.sent == 0 && !self.text.is_empty() {
            delta.push_str("\n\n");
        }
        delta.push_str(&visible[self.sent..ready]);
        self.sent = ready;
        self.text.push_str(&delta);
        Some(delta)
    }

    /// Closes a part with its whole text; returns what the client has not seen of it (`None` if
    /// nothing). A part streamed before is completed, never repeated.
    pub fn push(&mut self, part: &str) -> Option<String> {
        let part = part.trim();
        let streamed = std::mem::take(&mut self.open);
        let sent = std::mem::take(&mut self.sent);
        let already = &streamed.trim_start()[..sent];
        if sent > 0 {
            // The part's text extends what was streamed of it.
            let rest = part.strip_prefix(already).unwrap_or_default();
            if rest.is_empty() {
                return None;
            }
            self.text.push_str(rest);
            return Some(rest.to_owned());
        }
        if part.is_empty() {
            return None;
        }
        let delta = if self.text.is_empty() {
            part.to_owned()
        } else {
            format!("\n\n{part}")
        };
        self.text.push_str(&delta);
        Some(delta)
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The whole text.
    pub fn into_string(self) -> String {
        self.text
    }
}

/// A message for an agent, with the user it is sent on behalf of (tools act for that user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMessage {
    /// Text.
    pub content: String,
    /// The agent's owner, when known.
    pub on_behalf_of: Option<UserId>,
}

/// An archival memory passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// Backend id.
    pub id: String,
    /// Text.
    pub content: String,
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// One page of a listing; `next_cursor` continues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Cursor of the next page, if any.
    pub next_cursor: Option<String>,
}

/// Errors of every agent-backend operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// The agent, block or passage does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend cannot be reached or failed (connection refused, 5xx, LLM failure).
    #[error("agent backend unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer in time.
    #[error("agent backend timed out")]
    Timeout,
    /// The backend refused the request (e.g. invalid model, value over a block's limit).
    #[error("agent backend rejected the request: {0}")]
    Rejected(String),
    /// The embedded runtime's own database failed: a fault of this service, not of the agent.
    #[error("agent store failed: {0}")]
    Store(String),
    /// The embedded runtime's database cannot serve right now (restarting, disk full): not a
    /// bug, the same request may succeed shortly.
    #[error("agent store unavailable: {0}")]
    StorageUnavailable(#[source] crate::StorageUnavailable),
    /// The backend (or its LLM) is rate-limited and asked to wait longer than the turn has
    /// left: failing now beats waiting past the deadline.
    #[error("agent backend busy; retry after {}s", retry_after.as_secs())]
    Busy {
        /// How long the backend asked to wait.
        retry_after: std::time::Duration,
    },
}

impl AgentError {
    /// A short, stable name of the variant (a metrics label).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Unavailable(_) => "unavailable",
            Self::Timeout => "timeout",
            Self::Rejected(_) => "rejected",
            Self::Store(_) => "store",
            Self::StorageUnavailable(_) => "storage_unavailable",
            Self::Busy { .. } => "busy",
        }
    }
}

/// Records one agent turn of `backend` (`embedded`, `letta`) in the process's metrics: its
/// duration by outcome and, when it failed, the failure's kind.
pub fn record_turn<T>(
    backend: &'static str,
    started: std::time::Instant,
    result: &Result<T, AgentError>,
) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(e) => {
            metrics::counter!("pi_agent_turn_failures_total", "backend" => backend, "kind" => e.kind())
                .increment(1);
            "failed"
        }
    };
    metrics::histogram!("pi_agent_turn_duration_seconds", "backend" => backend, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
}

/// Told about each step of an agent's turn as soon as it is known, and (when a backend can) of
/// the reply's text as it is written (for streaming replies).
#[derive(Clone)]
pub struct StepObserver {
    step: std::sync::Arc<dyn Fn(&AgentStep) + Send + Sync>,
    text: Option<runtime::TextSink>,
}

impl StepObserver {
    /// Wraps a callback for steps.
    pub fn new(f: impl Fn(&AgentStep) + Send + Sync + 'static) -> Self {
        Self {
            step: std::sync::Arc::new(f),
            text: None,
        }
    }

    /// Also told each piece of assistant text as it is written, before the
    /// [`AgentStep::Assistant`] that holds the whole part.
    pub fn with_text(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.text = Some(runtime::TextSink::new(f));
        self
    }

    /// Reports one step.
    pub fn step(&self, step: &AgentStep) {
        (self.step)(step);
    }

    /// Reports a piece of assistant text.
    pub fn text(&self, piece: &str) {
        if let Some(sink) = &self.text {
            sink.send(piece);
        }
    }

    /// Where text goes as it is written, if anyone listens.
    pub fn text_sink(&self) -> Option<runtime::TextSink> {
        self.text.clone()
    }
}

impl std::fmt::Debug for StepObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepObserver")
    }
}

/// The steps of a turn being built, each reported to the observer (if any) as it is added.
#[derive(Debug, Default)]
pub struct StepLog {
    steps: Vec<AgentStep>,
    observer: Option<StepObserver>,
}

impl StepLog {
    /// An empty log reporting to `observer`.
    pub fn new(observer: Option<StepObserver>) -> Self {
        Self {
            steps: Vec::new(),
            observer,
        }
    }

    /// Adds (and reports) a step.
    pub fn push(&mut self, step: AgentStep) {
        if let Some(o) = &self.observer {
            o.step(&step);
        }
        self.steps.push(step);
    }

    /// Where assistant text goes as it is written, if anyone listens.
    pub fn text_sink(&self) -> Option<runtime::TextSink> {
        self.observer.as_ref()?.text_sink()
    }

    /// The steps so far.
    pub fn steps(&self) -> &[AgentStep] {
        &self.steps
    }

    /// The steps, in order.
    pub fn into_steps(self) -> Vec<AgentStep> {
        self.steps
    }
}

/// Agents: create, message, inspect, delete; archival memory.
///
/// Besides the errors each method lists, any may fail with [`AgentError::Store`] when the
/// embedded runtime's own database fails.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AgentGateway: Send + Sync {
    /// Creates an agent with its blocks, attaches `spec.block_ids`, and returns its id.
    ///
    /// # Errors
    /// `Unavailable`/`Timeout` on backend failure; `Rejected` for an invalid spec; `NotFound`
    /// when an attached block does not exist.
    async fn create_agent(&self, spec: AgentSpec) -> Result<AgentId, AgentError>;

    /// Sends a user message and returns the agent's whole turn.
    ///
    /// # Errors
    /// `NotFound` for an unknown agent; `Unavailable`/`Timeout`/`Rejected` otherwise.
    async fn send_message(
        &self,
        agent: &AgentId,
        message: AgentMessage,
    ) -> Result<AgentReply, AgentError>;

    /// [`send_message`](Self::send_message), reporting each step to `observer` as soon as it is
    /// known. The default reports them all once the turn is complete; backends that can do better
    /// (tool calls as they run) override it.
    ///
    /// # Errors
    /// As `send_message`.
    async fn send_message_observed(
        &self,
        agent: &AgentId,
        message: AgentMessage,
        observer: StepObserver,
    ) -> Result<AgentReply, AgentError> {
        let reply = self.send_message(agent, message).await?;
        for step in &reply.steps {
            observer.step(step);
        }
        Ok(reply)
    }

    /// One agent.
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`.
    async fn get_agent(&self, agent: &AgentId) -> Result<AgentSummary, AgentError>;

    /// Agents, `limit` per page, continuing after `cursor`; only those carrying `tag` when
    /// one is given (the backend filters: a shared Letta holds other deployments' agents).
    ///
    /// # Errors
    /// `Unavailable`, `Timeout`.
    async fn list_agents(
        &self,
        limit: usize,
        cursor: Option<String>,
        tag: Option<String>,
    ) -> Result<Page<AgentSummary>, AgentError>;

    /// Adds `tag` to the agent's tags (no change if it has it).
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`.
    async fn add_tag(&self, agent: &AgentId, tag: &str) -> Result<(), AgentError>;

    /// Deletes an agent (its own blocks go with it; shared blocks stay).
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`.
    async fn delete_agent(&self, agent: &AgentId) -> Result<(), AgentError>;

    /// The agent's core memory blocks.
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`.
    async fn agent_blocks(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError>;

    /// Archival passages, newest first.
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`.
    async fn archival_list(
        &self,
        agent: &AgentId,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError>;

    /// Archival passages ranked by relevance to `query`.
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`.
    async fn archival_search(
        &self,
        agent: &AgentId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError>;

    /// Stores a passage.
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`, `Rejected` (empty content).
    async fn archival_insert(
        &self,
        agent: &AgentId,
        content: &str,
        tags: Vec<String>,
    ) -> Result<Passage, AgentError>;
}

/// Memory blocks, including blocks shared by several agents.
///
/// Besides the errors each method lists, any may fail with [`AgentError::Store`] when the
/// embedded runtime's own database fails.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BlockStore: Send + Sync {
    /// Creates a standalone block (not attached to any agent).
    ///
    /// # Errors
    /// `Rejected` (value over its limit), `Unavailable`, `Timeout`.
    async fn create_block(&self, spec: BlockSpec) -> Result<Block, AgentError>;

    /// One block.
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`.
    async fn get_block(&self, block: &BlockId) -> Result<Block, AgentError>;

    /// Blocks with this label.
    ///
    /// # Errors
    /// `Unavailable`, `Timeout`.
    async fn find_blocks_by_label(&self, label: &str) -> Result<Vec<Block>, AgentError>;

    /// Replaces a block's value.
    ///
    /// # Errors
    /// `NotFound`, `Rejected` (over the limit), `Unavailable`, `Timeout`.
    async fn update_block_value(&self, block: &BlockId, value: &str) -> Result<Block, AgentError>;

    /// Attaches a block to an agent; attaching twice is not an error.
    ///
    /// # Errors
    /// `NotFound` (agent or block), `Unavailable`, `Timeout`.
    async fn attach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError>;

    /// Detaches a block from an agent; detaching a block that is not attached is not an error.
    ///
    /// # Errors
    /// `NotFound` (agent or block), `Unavailable`, `Timeout`.
    async fn detach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError>;

    /// Agents the block is attached to.
    ///
    /// # Errors
    /// `NotFound`, `Unavailable`, `Timeout`.
    async fn agents_of_block(&self, block: &BlockId) -> Result<Vec<AgentId>, AgentError>;

    /// Blocks attached to the agent (what [`AgentGateway::agent_blocks`] answers).
    ///
    /// # Errors
    /// `NotFound` for an unknown agent, `Unavailable`, `Timeout`.
    async fn blocks_of_agent(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError>;
}

#[cfg(test)]
mod tests {
    use super::{AgentId, AgentReply, AgentStep, ReplyText};

    #[test]
    fn streamed_deltas_concatenate_to_the_stored_reply() {
        let parts = ["  First part. ", "", "   ", "Second\npart", " Third "];
        let mut text = ReplyText::default();
        let deltas: Vec<String> = parts.iter().filter_map(|p| text.push(p)).collect();
        assert_eq!(deltas, ["First part.", "\n\nSecond\npart", "\n\nThird"]);
        let reply = AgentReply {
            steps: parts
                .iter()
                .map(|p| AgentStep::Assistant {
                    text: (*p).to_owned(),
                })
                .chain([AgentStep::Reasoning {
                    text: "not shown".into(),
                }])
                .collect(),
            usage: Default::default(),
        };
        assert_eq!(deltas.concat(), reply.assistant_text());
        assert_eq!(text.as_str(), "First part.\n\nSecond\npart\n\nThird");
    }

    #[test]
    fn a_part_streamed_piece_by_piece_ends_as_the_stored_text() {
        let mut text = ReplyText::default();
        let mut deltas = Vec::new();
        deltas.extend(text.push("Intro."));
        for piece in [
            "  ",
            "Costco ",
            "in",
            " Dallas",
            ":  ",
            "\n",
            "12,345 visits. ",
            " ",
        ] {
            deltas.extend(text.stream(piece));
        }
        // The whole part arrives after its pieces: only what was held back is added.
        deltas.extend(text.push("  Costco in Dallas:  \n12,345 visits.  "));
        deltas.extend(text.stream("Tail"));
        deltas.extend(text.push("Tail"));
        let stored = AgentReply {
            steps: ["Intro.", "  Costco in Dallas:  \n12,345 visits.  ", "Tail"]
                .iter()
                .map(|t| AgentStep::Assistant {
                    text: (*t).to_owned(),
                })
                .collect(),
            usage: Default::default(),
        }
        .assistant_text();
        assert_eq!(deltas.concat(), stored);
        assert!(deltas.len() >= 5, "{deltas:?}");
        assert_eq!(
            deltas[1], "\n\nCostco",
            "a separator only once a part shows text"
        );
    }

    #[test]
    fn client_agent_ids_are_plain_tokens() {
        for ok in [
            "agent-11111111-1111-4111-8111-111111111111",
            "not-an-agent",
            "a.b:c_d",
        ] {
            assert_eq!(AgentId::parse(ok), Some(AgentId(ok.to_owned())));
        }
        let long = "a".repeat(129);
        for bad in ["", "agent-\u{0}x", "a b", "a/b", "a%00", "é", long.as_str()] {
            assert_eq!(AgentId::parse(bad), None, "{bad:?}");
        }
    }
}
