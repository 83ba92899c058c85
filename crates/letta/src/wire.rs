//! Letta's v1 wire format: the bodies this adapter sends and the answers it reads.
//!
//! Answers are strict about what the adapter relies on (a missing `id`, or a timestamp that is
//! not RFC 3339, fails to decode) and ignore every other field: each Letta release adds some.

use chrono::{DateTime, Utc};
use pi_domain::agent::{AgentId, AgentSummary, Block, BlockId, BlockSpec, Passage, ToolSchema};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

// ---- Requests -------------------------------------------------------------------------------

/// `POST /v1/agents/`.
#[derive(Debug, Serialize)]
pub(crate) struct CreateAgent<'a> {
    pub name: &'a str,
    pub system: &'a str,
    pub memory_blocks: Vec<CreateBlock<'a>>,
    pub block_ids: Vec<&'a str>,
    pub tags: &'a [String],
    pub metadata: &'a Map<String, Value>,
    /// Model handle (`provider/model`).
    pub model: &'a str,
    pub embedding: &'a str,
    /// Letta's own memory tools.
    pub include_base_tools: bool,
}

/// `POST /v1/blocks/`, and each of an agent's `memory_blocks`.
#[derive(Debug, Serialize)]
pub(crate) struct CreateBlock<'a> {
    pub label: &'a str,
    pub value: &'a str,
    pub limit: usize,
    pub description: &'a str,
    pub read_only: bool,
}

impl<'a> From<&'a BlockSpec> for CreateBlock<'a> {
    fn from(spec: &'a BlockSpec) -> Self {
        Self {
            label: &spec.label,
            value: &spec.value,
            limit: spec.limit,
            description: &spec.description,
            read_only: spec.read_only,
        }
    }
}

/// `PATCH /v1/agents/{id}`: the agent's whole tag list.
#[derive(Debug, Serialize)]
pub(crate) struct UpdateAgentTags<'a> {
    pub tags: &'a [String],
}

/// `PATCH /v1/blocks/{id}`.
#[derive(Debug, Serialize)]
pub(crate) struct UpdateBlockValue<'a> {
    pub value: &'a str,
}

/// `POST /v1/agents/{id}/archival-memory`.
#[derive(Debug, Serialize)]
pub(crate) struct CreatePassage<'a> {
    pub text: &'a str,
    pub tags: &'a [String],
}

/// `POST /v1/agents/{id}/messages/stream`: input messages, with the schemas of the tools that
/// run here, answered token by token.
#[derive(Debug, Serialize)]
pub(crate) struct SendMessages<'a> {
    pub messages: Vec<MessageCreate<'a>>,
    pub client_tools: Vec<ToolSchema>,
    /// Always `true`: pieces of text as the model writes them, not whole steps.
    pub stream_tokens: bool,
    /// Always `true`: pings keep the connection busy while Letta runs its own tools.
    pub include_pings: bool,
}

/// One input message.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum MessageCreate<'a> {
    User(UserMessage<'a>),
    ToolReturns(ToolReturns),
}

/// `{"role": "user", "content": …}`.
#[derive(Debug, Serialize)]
#[serde(tag = "role", rename = "user")]
pub(crate) struct UserMessage<'a> {
    pub content: &'a str,
}

/// `{"type": "tool_return", "tool_returns": […]}`: the answer to an approval request.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "tool_return")]
pub(crate) struct ToolReturns {
    pub tool_returns: Vec<ToolReturn>,
}

/// The result of one client-side tool call.
#[derive(Debug, Serialize)]
pub(crate) struct ToolReturn {
    pub tool_call_id: String,
    /// The tool's output (JSON text).
    pub tool_return: String,
    pub status: ToolStatus,
}

/// Whether a tool call succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ToolStatus {
    Success,
    Error,
}

impl ToolStatus {
    pub(crate) fn of(is_error: bool) -> Self {
        if is_error { Self::Error } else { Self::Success }
    }
}

// ---- Answers --------------------------------------------------------------------------------

/// An RFC 3339 timestamp; anything else fails to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Self(t.with_timezone(&Utc)))
            .map_err(|_| D::Error::custom("a timestamp that is not RFC 3339"))
    }
}

/// Tags of an agent or a passage: a list of strings, where `null` or a missing field means none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "Option<Vec<String>>")]
pub(crate) struct Tags(pub Vec<String>);

impl From<Option<Vec<String>>> for Tags {
    fn from(tags: Option<Vec<String>>) -> Self {
        Self(tags.unwrap_or_default())
    }
}

/// An agent (`AgentState`), as far as listings need it.
#[derive(Debug, Deserialize)]
pub(crate) struct AgentState {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Sent only with `include=agent.tags`.
    #[serde(default)]
    pub tags: Tags,
}

impl From<AgentState> for AgentSummary {
    fn from(agent: AgentState) -> Self {
        Self {
            id: AgentId(agent.id),
            name: agent.name,
            created_at: agent.created_at.0,
            updated_at: agent.updated_at.map(|t| t.0),
            tags: agent.tags.0,
        }
    }
}

/// An agent where only its id matters (creation, a block's agents).
#[derive(Debug, Deserialize)]
pub(crate) struct AgentRef {
    pub id: String,
}

/// A memory block (`BlockResponse`).
#[derive(Debug, Deserialize)]
pub(crate) struct BlockResponse {
    pub id: String,
    pub value: String,
    pub limit: usize,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Deprecated by Letta: absent means writable.
    #[serde(default)]
    pub read_only: bool,
}

impl From<BlockResponse> for Block {
    fn from(block: BlockResponse) -> Self {
        Self {
            id: BlockId(block.id),
            label: block.label.unwrap_or_default(),
            value: block.value,
            limit: block.limit,
            description: block.description.unwrap_or_default(),
            read_only: block.read_only,
        }
    }
}

/// An archival passage as listed or created (the embedding vector it carries is skipped).
#[derive(Debug, Deserialize)]
pub(crate) struct PassageResponse {
    pub id: String,
    pub text: String,
    pub created_at: Timestamp,
    #[serde(default)]
    pub tags: Tags,
}

impl From<PassageResponse> for Passage {
    fn from(p: PassageResponse) -> Self {
        Self {
            id: p.id,
            content: p.text,
            tags: p.tags.0,
            created_at: p.created_at.0,
        }
    }
}

/// `GET /v1/agents/{id}/archival-memory/search`.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchResponse {
    pub results: Vec<SearchResult>,
}

/// One search hit; its timestamp is in the agent's time zone.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchResult {
    pub id: String,
    pub content: String,
    pub timestamp: Timestamp,
    #[serde(default)]
    pub tags: Tags,
}

impl From<SearchResult> for Passage {
    fn from(r: SearchResult) -> Self {
        Self {
            id: r.id,
            content: r.content,
            tags: r.tags.0,
            created_at: r.timestamp.0,
        }
    }
}

/// `GET /v1/health/`.
#[derive(Debug, Deserialize)]
pub(crate) struct Health {
    pub version: String,
}

/// One `data:` event of a streamed answer, by `message_type`. With token streaming, messages
/// arrive in pieces: events with the same `message_type` and `id` are one message.
#[derive(Debug, Deserialize)]
#[serde(tag = "message_type")]
pub(crate) enum StreamEvent {
    #[serde(rename = "reasoning_message")]
    Reasoning { id: String, reasoning: String },
    #[serde(rename = "assistant_message")]
    Assistant { id: String, content: Content },
    /// A call of one of Letta's own tools (it runs there).
    #[serde(rename = "tool_call_message")]
    ToolCall {
        id: String,
        tool_call: ToolCallDelta,
    },
    /// A result of one of Letta's own tools (or an echo of one we posted).
    #[serde(rename = "tool_return_message")]
    ToolReturn {
        tool_call_id: String,
        #[serde(default)]
        name: Option<String>,
        tool_return: String,
        #[serde(default)]
        status: Option<ToolStatus>,
    },
    /// Client-side tool calls Letta wants run (and answered) here.
    #[serde(rename = "approval_request_message")]
    ApprovalRequest {
        id: String,
        /// Deprecated by Letta for `tool_calls`.
        #[serde(default)]
        tool_call: Option<ToolCallDelta>,
        #[serde(default)]
        tool_calls: Option<ToolCallDeltas>,
    },
    /// Why Letta ended the round (`end_turn`, `requires_approval`, …).
    #[serde(rename = "stop_reason")]
    StopReason { stop_reason: String },
    #[serde(rename = "usage_statistics")]
    Usage(UsageStatistics),
    /// A failure reported inside the stream (read as an error body).
    #[serde(rename = "error_message")]
    Error,
    /// `ping` and types the adapter has no use for.
    #[serde(other)]
    Other,
}

/// A piece of a tool call: the first names it, later ones add to its arguments.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ToolCallDelta {
    #[serde(default)]
    pub tool_call_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

/// `tool_calls` of an approval request: a list, or one piece while streaming.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ToolCallDeltas {
    Many(Vec<ToolCallDelta>),
    One(ToolCallDelta),
}

impl ToolCallDeltas {
    pub(crate) fn into_vec(self) -> Vec<ToolCallDelta> {
        match self {
            Self::Many(calls) => calls,
            Self::One(call) => vec![call],
        }
    }
}

/// Token counts of one round; Letta omits none, but each defaults to 0.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UsageStatistics {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub step_count: u32,
}

/// A stored message of an agent (`GET …/messages`), as far as the adapter reads one: the
/// approval request a crash may have left unanswered.
#[derive(Debug, Deserialize)]
#[serde(tag = "message_type")]
pub(crate) enum LettaMessage {
    /// Client-side tool calls Letta wants run (and answered) here.
    #[serde(rename = "approval_request_message")]
    ApprovalRequest {
        /// Deprecated by Letta for `tool_calls`.
        #[serde(default)]
        tool_call: Option<ToolCall>,
        #[serde(default)]
        tool_calls: Option<Vec<ToolCall>>,
    },
    #[serde(other)]
    Other,
}

impl LettaMessage {
    /// The calls of an approval request (none for other messages).
    pub(crate) fn approval_calls(self) -> Vec<ToolCall> {
        match self {
            Self::ApprovalRequest {
                tool_calls: Some(calls),
                ..
            } => calls,
            Self::ApprovalRequest {
                tool_call: Some(call),
                ..
            } => vec![call],
            _ => Vec::new(),
        }
    }
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ToolCall {
    pub tool_call_id: String,
    pub name: String,
    /// The arguments object, as JSON text.
    pub arguments: String,
}

/// Assistant text: a string or a list of `{type: "text", text}` parts.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A part of [`Content`]; parts without text add nothing.
#[derive(Debug, Deserialize)]
pub(crate) struct ContentPart {
    #[serde(default)]
    pub text: Option<String>,
}

impl Content {
    pub(crate) fn text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Parts(parts) => parts.into_iter().filter_map(|p| p.text).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
