//! Types shared by agent runtimes and language models: the `LanguageModel` port, chat messages,
//! tool calls.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{AgentError, ToolSchema, Usage};

/// A tool call requested by the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id (pairs the result with the call).
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as JSON text.
    pub arguments: String,
}

/// One message sent to a chat-completions model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmMessage {
    /// System prompt (with memory rendered in).
    System(String),
    /// User text.
    User(String),
    /// The model's earlier output.
    Assistant {
        /// Text, if any.
        content: Option<String>,
        /// Tool calls, if any.
        tool_calls: Vec<ToolCall>,
    },
    /// A tool's result.
    Tool {
        /// The call it answers.
        call_id: String,
        /// Tool name.
        name: String,
        /// Result JSON text.
        content: String,
    },
}

/// A completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// Model name.
    pub model: String,
    /// Conversation so far.
    pub messages: Vec<LlmMessage>,
    /// Tools the model may call (shared: every step of a turn offers the same ones).
    pub tools: std::sync::Arc<[ToolSchema]>,
    /// When the whole agent turn must be over: the model's timeouts, retries and waits stay
    /// within it (`None`: only the model's own timeout applies).
    pub deadline: Option<std::time::Instant>,
    /// Told the answer's text as it is generated (`None`: nobody is listening). A model that
    /// cannot stream tells it once, whole. Together the pieces are the response's `content`.
    pub on_text: Option<TextSink>,
}

/// Where a model sends its text as it is generated.
#[derive(Clone)]
pub struct TextSink(std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl TextSink {
    /// Wraps a callback.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(f))
    }

    /// Sends one piece (empty pieces are dropped).
    pub fn send(&self, text: &str) {
        if !text.is_empty() {
            (self.0)(text);
        }
    }
}

impl std::fmt::Debug for TextSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextSink")
    }
}

impl PartialEq for TextSink {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A completion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatResponse {
    /// Text for the user, if any.
    pub content: Option<String>,
    /// Reasoning the model exposed, if any.
    pub reasoning: Option<String>,
    /// Tool calls to run before the model continues.
    pub tool_calls: Vec<ToolCall>,
    /// Token usage of this call.
    pub usage: Usage,
}

/// A chat-completions model with function calling.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// Short description for logs and `/health/ready` (`offline`, `openai-compatible (gpt-4o)`).
    fn describe(&self) -> String;

    /// One completion.
    ///
    /// # Errors
    /// `Unavailable` (connection, 5xx, malformed answer), `Timeout`, `Rejected` (4xx).
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, AgentError>;
}
