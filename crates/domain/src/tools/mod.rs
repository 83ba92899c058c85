//! The tool registry: tools the agents call, run in this service.
//!
//! A tool has a name, a description, a JSON Schema of its arguments and an async handler that
//! receives a [`ToolContext`] naming the user it acts for (the owner of the calling agent — never
//! an argument the model could forge). Tool failures are returned to the model as
//! `{"error": "..."}` JSON, not as Rust errors.

mod service;

pub use service::{ToolService, ToolServiceError};

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

/// A tool's result: JSON text, and whether it is an error (`{"error": "..."}`).
///
/// Tools hand back serialised JSON because every consumer wants text (the model's tool message,
/// the HTTP body) and because large results serialise much faster from typed structs than
/// through a `serde_json::Value` tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    json: String,
    is_error: bool,
}

impl ToolOutput {
    /// A successful result from JSON text the tool produced itself.
    pub fn from_json(json: String) -> Self {
        Self {
            json,
            is_error: false,
        }
    }

    /// A successful result from a JSON value.
    pub fn from_value(value: &Value) -> Self {
        Self::from_json(value.to_string())
    }

    /// An error result, `{"error": message}`.
    pub fn error(message: impl std::fmt::Display) -> Self {
        Self {
            json: tool_error(message).to_string(),
            is_error: true,
        }
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Whether the tool failed.
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// The error message, if the tool failed.
    pub fn error_message(&self) -> Option<String> {
        if !self.is_error {
            return None;
        }
        serde_json::from_str::<Value>(&self.json)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
    }

    /// The result parsed as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or_else(tool_error)
    }
}

/// One tool.
#[async_trait]
pub trait Tool: Send + Sync {
    /// Name, description and argument schema.
    fn schema(&self) -> ToolSchema;

    /// Runs the tool. Failures are `{"error": "..."}` naming the problem, never panics.
    async fn call(&self, ctx: &ToolContext, args: Value) -> ToolOutput;
}

/// The tool asked for does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tool {0:?}")]
pub struct UnknownTool(pub String);

/// Builds `{"error": message}`.
pub fn tool_error(message: impl std::fmt::Display) -> Value {
    json!({ "error": message.to_string() })
}

/// Every tool, by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
    /// Each tool's schema, built once at registration (schemas are derived, not cheap).
    schemas: BTreeMap<String, ToolSchema>,
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
        let schema = tool.schema();
        self.tools.insert(schema.name.clone(), tool);
        self.schemas.insert(schema.name.clone(), schema);
    }

    /// Schemas of every tool, sorted by name.
    pub fn schemas(&self) -> Vec<ToolSchema> {
        self.schemas.values().cloned().collect()
    }

    /// The tools' schemas, sorted by name, without copying them.
    pub fn schemas_iter(&self) -> impl Iterator<Item = &ToolSchema> {
        self.schemas.values()
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
    ) -> Result<ToolOutput, UnknownTool> {
        let tool = self
            .tools
            .get(name)
            .ok_or_else(|| UnknownTool(name.to_owned()))?;
        let started = std::time::Instant::now();
        let output = tool.call(ctx, args).await;
        let outcome = if output.is_error() { "error" } else { "ok" };
        metrics::histogram!(
            "pi_tool_call_duration_seconds",
            "tool" => name.to_owned(),
            "outcome" => outcome
        )
        .record(started.elapsed().as_secs_f64());
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    #[async_trait]
    impl Tool for Echo {
        fn schema(&self) -> ToolSchema {
            ToolSchema {
                name: "echo".into(),
                description: "Echoes its arguments.".into(),
                parameters: json!({"type": "object"}),
            }
        }

        async fn call(&self, ctx: &ToolContext, args: Value) -> ToolOutput {
            if args.get("fail").is_some() {
                return ToolOutput::error("asked to fail");
            }
            ToolOutput::from_value(
                &json!({"args": args, "user": ctx.user_id.map(|u| u.to_string())}),
            )
        }
    }

    #[tokio::test]
    async fn registry_runs_tools_by_name_and_reports_unknown_ones() {
        let mut registry = ToolRegistry::new();
        registry.register(Arc::new(Echo));
        assert!(registry.contains("echo"));
        assert_eq!(registry.schemas()[0].name, "echo");
        let user = UserId::new();
        let ctx = ToolContext {
            user_id: Some(user),
            agent_id: None,
        };
        let out = registry.call("echo", &ctx, json!({"x": 1})).await.unwrap();
        assert!(!out.is_error());
        assert_eq!(out.to_value()["user"], user.to_string());
        let failed = registry
            .call("echo", &ctx, json!({"fail": true}))
            .await
            .unwrap();
        assert!(failed.is_error());
        assert_eq!(failed.error_message().as_deref(), Some("asked to fail"));
        assert_eq!(
            registry.call("nope", &ctx, json!({})).await.unwrap_err(),
            UnknownTool("nope".into())
        );
    }
}
