//! The Pi agent template: an asset file loaded and validated at start-up.

use serde::Deserialize;

use super::{AgentSpec, BlockId, BlockSpec, ToolSchema};
use crate::user::{DisplayName, UserId};

/// The built-in template, compiled into the binary.
const BUILTIN: &str = include_str!("../../assets/pi_agent.af");

/// Placeholder in the `human` block replaced by the user's display name.
const DISPLAY_NAME_PLACEHOLDER: &str = "{display_name}";

/// Labels every Pi agent must have.
pub const REQUIRED_BLOCKS: [&str; 3] = ["agent_persona", "human", "user_persona_profile"];

/// Why a template is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Not valid JSON of the expected shape.
    #[error("agent template is not valid: {0}")]
    Parse(String),
    /// Valid JSON that breaks a rule.
    #[error("agent template is inconsistent: {0}")]
    Invalid(String),
}

/// A validated Pi agent template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PiAgentTemplate {
    /// Agent name prefix.
    pub name: String,
    pub system_prompt: String,
    /// Model handle.
    pub model: String,
    /// Embedding handle.
    pub embedding: String,
    /// Tags given to every Pi agent.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The three core blocks.
    pub memory_blocks: Vec<BlockSpec>,
    /// Names of the tools every Pi agent gets.
    pub tools: Vec<String>,
}

impl PiAgentTemplate {
    /// The template shipped with the binary.
    ///
    /// # Errors
    /// [`TemplateError`] if the asset is broken (caught by tests and at start-up).
    pub fn builtin() -> Result<Self, TemplateError> {
        Self::parse(BUILTIN)
    }

    /// Parses and validates a template.
    ///
    /// # Errors
    /// [`TemplateError::Parse`] or [`TemplateError::Invalid`].
    pub fn parse(json: &str) -> Result<Self, TemplateError> {
        let template: Self =
            serde_json::from_str(json).map_err(|e| TemplateError::Parse(e.to_string()))?;
        template.validate()?;
        Ok(template)
    }

    fn validate(&self) -> Result<(), TemplateError> {
        let invalid = |m: String| Err(TemplateError::Invalid(m));
        if self.system_prompt.trim().is_empty() {
            return invalid("system_prompt is empty".into());
        }
        if self.name.trim().is_empty() || self.model.trim().is_empty() {
            return invalid("name and model are required".into());
        }
        for label in REQUIRED_BLOCKS {
            if !self.memory_blocks.iter().any(|b| b.label == label) {
                return invalid(format!("block {label:?} is missing"));
            }
        }
        for block in &self.memory_blocks {
            if block.value.chars().count() > block.limit {
                return invalid(format!("block {:?} is longer than its limit", block.label));
            }
            if block.description.trim().is_empty() {
                return invalid(format!("block {:?} has no description", block.label));
            }
        }
        if !self
            .memory_blocks
            .iter()
            .any(|b| b.label == "agent_persona" && b.read_only)
        {
            return invalid("agent_persona must be read-only".into());
        }
        if !self
            .memory_blocks
            .iter()
            .any(|b| b.label == "human" && b.value.contains(DISPLAY_NAME_PLACEHOLDER))
        {
            return invalid(format!("human must contain {DISPLAY_NAME_PLACEHOLDER}"));
        }
        if self.tools.is_empty() || self.tools.iter().any(|t| t.trim().is_empty()) {
            return invalid("tools must list tool names".into());
        }
        Ok(())
    }

    /// The spec of a new Pi agent for a user: `human` filled with their name, the given shared
    /// blocks attached, and the schemas of the template's tools among `available_tools`.
    pub fn spec_for(
        &self,
        display_name: &DisplayName,
        owner: Option<UserId>,
        shared_blocks: Vec<BlockId>,
        available_tools: &[ToolSchema],
    ) -> AgentSpec {
        let memory_blocks = self
            .memory_blocks
            .iter()
            .map(|b| {
                let mut block = b.clone();
                if block.label == "human" {
                    block.value = block
                        .value
                        .replace(DISPLAY_NAME_PLACEHOLDER, display_name.as_str());
                    // A display name is at most 255 characters; keep within the limit anyway.
                    if block.value.chars().count() > block.limit {
                        block.value = block.value.chars().take(block.limit).collect();
                    }
                }
                block
            })
            .collect();
        let tools = available_tools
            .iter()
            .filter(|t| self.tools.contains(&t.name))
            .cloned()
            .collect();
        let mut metadata = serde_json::Map::new();
        if let Some(owner) = owner {
            metadata.insert("pi_user_id".into(), owner.to_string().into());
        }
        AgentSpec {
            name: format!("{}-{}", self.name, slug(display_name.as_str())),
            system_prompt: self.system_prompt.clone(),
            memory_blocks,
            block_ids: shared_blocks,
            tools,
            model: self.model.clone(),
            embedding: Some(self.embedding.clone()),
            tags: self.tags.clone(),
            metadata,
        }
    }
}

/// `Ada Lovelace` → `ada-lovelace` (for readable agent names).
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "user".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_template_is_valid_and_complete() {
        let t = PiAgentTemplate::builtin().unwrap();
        assert_eq!(t.model, "openai/gpt-4o");
        assert_eq!(t.embedding, "openai/text-embedding-3-small");
        let limits: Vec<(String, usize, bool)> = t
            .memory_blocks
            .iter()
            .map(|b| (b.label.clone(), b.limit, b.read_only))
            .collect();
        assert!(limits.contains(&("agent_persona".into(), 2000, true)));
        assert!(limits.contains(&("human".into(), 3000, false)));
        assert!(limits.contains(&("user_persona_profile".into(), 5000, false)));
        for tool in [
            "search_places",
            "list_available_personas",
            "update_user_persona_profile_in_db",
        ] {
            assert!(t.tools.iter().any(|n| n == tool), "{tool}");
        }
    }

    #[test]
    fn the_prompt_says_what_every_tool_is_for_and_when_to_ask() {
        let t = PiAgentTemplate::builtin().unwrap();
        for tool in &t.tools {
            assert!(
                t.system_prompt.contains(&format!("- {tool}:"))
                    || t.system_prompt.contains(&format!("{tool} and "))
                    || t.system_prompt.contains(&format!(" and {tool}:")),
                "the system prompt does not describe {tool}"
            );
        }
        assert!(t.system_prompt.contains("clarifying question"));
        assert!(
            t.system_prompt
                .contains("never answer with results for somewhere else")
        );
    }

    #[test]
    fn spec_fills_human_with_the_display_name() {
        let t = PiAgentTemplate::builtin().unwrap();
        let name = DisplayName::parse("Ada Lovelace").unwrap();
        let owner = UserId::new();
        let tools = vec![
            ToolSchema {
                name: "search_places".into(),
                description: "d".into(),
                parameters: serde_json::json!({"type": "object"}),
            },
            ToolSchema {
                name: "not_in_template".into(),
                description: "d".into(),
                parameters: serde_json::json!({"type": "object"}),
            },
        ];
        let spec = t.spec_for(&name, Some(owner), vec![BlockId("block-1".into())], &tools);
        let human = spec
            .memory_blocks
            .iter()
            .find(|b| b.label == "human")
            .unwrap();
        assert!(human.value.starts_with("User name: Ada Lovelace\n"));
        assert_eq!(spec.name, "pi-ada-lovelace");
        assert_eq!(spec.block_ids, vec![BlockId("block-1".into())]);
        assert_eq!(spec.tools.len(), 1);
        assert_eq!(spec.metadata["pi_user_id"], owner.to_string());
    }

    #[test]
    fn broken_templates_are_refused() {
        assert!(matches!(
            PiAgentTemplate::parse("{"),
            Err(TemplateError::Parse(_))
        ));
        let mut v: serde_json::Value = serde_json::from_str(BUILTIN).unwrap();
        v["memory_blocks"]
            .as_array_mut()
            .unwrap()
            .retain(|b| b["label"] != "human");
        assert!(matches!(
            PiAgentTemplate::parse(&v.to_string()),
            Err(TemplateError::Invalid(_))
        ));
        let mut v: serde_json::Value = serde_json::from_str(BUILTIN).unwrap();
        v["memory_blocks"][0]["limit"] = 3.into();
        assert!(PiAgentTemplate::parse(&v.to_string()).is_err());
    }
}
