//! Running tools on an administrator's behalf (`GET /tools`, `POST /tools/{name}`).

use std::sync::Arc;

use serde_json::Value;

use super::{ToolContext, ToolOutput, ToolRegistry};
use crate::ValidationErrors;
use crate::agent::ToolSchema;
use crate::user::User;

/// Errors of [`ToolService`].
#[derive(Debug, thiserror::Error)]
pub enum ToolServiceError {
    /// The caller is not an administrator.
    #[error("tools are for administrators")]
    Forbidden,
    /// No tool has this name.
    #[error("unknown tool {0:?}")]
    NotFound(String),
    /// The arguments are not a JSON object.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The tool ran and refused the arguments (bad ids, dates, limits…); its own message.
    #[error("tool failed: {0}")]
    Failed(String),
}

/// The tool registry as a use case: who may list and run tools, and what a failure is.
#[derive(Debug, Clone)]
pub struct ToolService {
    registry: Arc<ToolRegistry>,
}

impl ToolService {
    /// Serves `registry`.
    pub fn new(registry: Arc<ToolRegistry>) -> Self {
        Self { registry }
    }

    /// Every tool's schema, sorted by name.
    ///
    /// # Errors
    /// [`ToolServiceError::Forbidden`] for a non-administrator.
    pub fn list(&self, caller: &User) -> Result<Vec<ToolSchema>, ToolServiceError> {
        require_admin(caller)?;
        Ok(self.registry.schemas())
    }

    /// Runs tool `name` with `args` (absent: no arguments) acting for `caller`; the tool's JSON.
    ///
    /// # Errors
    /// [`ToolServiceError::Forbidden`], [`ToolServiceError::NotFound`],
    /// [`ToolServiceError::Invalid`] (arguments not an object), [`ToolServiceError::Failed`].
    pub async fn run(
        &self,
        caller: &User,
        name: &str,
        args: Option<Value>,
    ) -> Result<ToolOutput, ToolServiceError> {
        require_admin(caller)?;
        let args = args.unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        if !args.is_object() {
            return Err(ToolServiceError::Invalid(ValidationErrors::single(
                "body",
                "tool arguments must be a JSON object",
            )));
        }
        let ctx = ToolContext {
            user_id: Some(caller.id),
            agent_id: None,
        };
        let output = self
            .registry
            .call(name, &ctx, args)
            .await
            .map_err(|e| ToolServiceError::NotFound(e.0))?;
        match output.error_message() {
            Some(message) => Err(ToolServiceError::Failed(message)),
            None if output.is_error() => Err(ToolServiceError::Failed(
                "the tool failed without saying why".to_owned(),
            )),
            None => Ok(output),
        }
    }
}

fn require_admin(caller: &User) -> Result<(), ToolServiceError> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(ToolServiceError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::tools::Tool;
    use crate::user::{DisplayName, Email, PasswordHash, UserId};

    struct Strict;

    #[async_trait]
    impl Tool for Strict {
        fn schema(&self) -> ToolSchema {
            ToolSchema {
                name: "strict".into(),
                description: "Needs `x`.".into(),
                parameters: json!({"type": "object"}),
            }
        }

        async fn call(&self, ctx: &ToolContext, args: Value) -> ToolOutput {
            match args.get("x") {
                Some(x) => ToolOutput::from_value(
                    &json!({"x": x, "user": ctx.user_id.map(|u| u.to_string())}),
                ),
                None => ToolOutput::error("x is required"),
            }
        }
    }

    fn user(is_admin: bool) -> User {
        User {
            id: UserId::new(),
            email: Email::parse("a@example.com").unwrap(),
            display_name: DisplayName::parse("A").unwrap(),
            password_hash: PasswordHash::new("h"),
            agent_id: None,
            is_admin,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn service() -> ToolService {
        let mut registry = ToolRegistry::new();
        registry.register(Arc::new(Strict));
        ToolService::new(Arc::new(registry))
    }

    #[tokio::test]
    async fn only_administrators_list_and_run_tools() {
        let tools = service();
        let member = user(false);
        assert!(matches!(
            tools.list(&member),
            Err(ToolServiceError::Forbidden)
        ));
        assert!(matches!(
            tools.run(&member, "strict", Some(json!({"x": 1}))).await,
            Err(ToolServiceError::Forbidden)
        ));
        assert_eq!(tools.list(&user(true)).unwrap()[0].name, "strict");
    }

    #[tokio::test]
    async fn a_run_acts_for_the_caller_and_names_each_failure() {
        let tools = service();
        let admin = user(true);
        let out = tools
            .run(&admin, "strict", Some(json!({"x": 1})))
            .await
            .unwrap();
        assert_eq!(out.to_value()["user"], admin.id.to_string());
        assert!(matches!(
            tools.run(&admin, "nope", None).await,
            Err(ToolServiceError::NotFound(name)) if name == "nope"
        ));
        assert!(matches!(
            tools.run(&admin, "strict", Some(json!([1]))).await,
            Err(ToolServiceError::Invalid(_))
        ));
        assert!(matches!(
            tools.run(&admin, "strict", None).await,
            Err(ToolServiceError::Failed(m)) if m == "x is required"
        ));
    }
}
