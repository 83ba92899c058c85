//! The tool registry (SPEC §7.2): tools the agents call, run in this service.
//!
//! A tool has a name, a description, a JSON Schema of its arguments and an async handler that
//! receives a [`ToolContext`] naming the user it acts for (the owner of the calling agent — never
//! an argument the model could forge). Tool failures are returned to the model as
//! `{"error": "..."}` JSON, not as Rust errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::agent::{AgentId, ToolSchema};
use crate::user::UserId;

/// Who a tool call acts for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolContext {
    /// The owner of the calling agent (or the admin running the tool directly).
    pub user_id: Option<UserId>,
    /// The calling agent, if any.
    pub agent_id: Option<AgentId>,
}

/// One tool.
#[async_trait]
pub trait Tool: Send + Sync {
    /// Name, description and argument schema.
    fn schema(&self) -> ToolSchema;

    /// Runs the tool. Failures are JSON `{"error": "..."}` naming the problem.
    async fn call(&self, ctx: &ToolContext, args: Value) -> Value;
}

/// The tool asked for does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tool {0:?}")]
pub struct UnknownTool(pub String);

/// Builds `{"error": message}`.
pub fn tool_error(message: impl std::fmt::Display) -> Value {
    json!({ "error": message.to_string() })
}

/// Whether a tool result is an error result.
pub fn is_tool_error(value: &Value) -> bool {
    value.get("error").is_some_and(Value::is_string)
}

/// Every tool, by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a tool under its schema's name.
    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.schema().name, tool);
    }

    /// Schemas of every tool, sorted by name.
    pub fn schemas(&self) -> Vec<ToolSchema> {
        self.tools.values().map(|t| t.schema()).collect()
    }

    /// Whether a tool exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    /// Runs a tool by name.
    ///
    /// # Errors
    /// [`UnknownTool`] when no tool has this name.
    pub async fn call(
        &self,
        name: &str,
        ctx: &ToolContext,
        args: Value,
    ) -> Result<Value, UnknownTool> {
        let tool = self
            .tools
            .get(name)
            .ok_or_else(|| UnknownTool(name.to_owned()))?;
        Ok(tool.call(ctx, args).await)
    }
}
