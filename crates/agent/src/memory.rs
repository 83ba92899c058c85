//! The built-in memory tools every embedded agent has.

use chrono::Utc;
use pi_domain::agent::store::AgentStore;
use pi_domain::agent::{AgentId, Passage, ToolSchema};
use serde::Deserialize;
use serde_json::{Value, json};

/// Names of the built-in tools.
pub const MEMORY_TOOLS: [&str; 5] = [
    "core_memory_append",
    "core_memory_replace",
    "archival_memory_insert",
    "archival_memory_search",
    "conversation_search",
];

/// Schemas of the built-in tools.
pub fn schemas() -> Vec<ToolSchema> {
    let tool = |name: &str, description: &str, parameters: Value| ToolSchema {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters,
    };
    vec![
        tool(
            "core_memory_append",
            "Append text to one of your core memory blocks (by label). Read-only blocks and values over the block's limit are refused.",
            json!({"type": "object", "properties": {
                "label": {"type": "string", "description": "Block label, e.g. human"},
                "content": {"type": "string", "description": "Text to append"}
            }, "required": ["label", "content"], "additionalProperties": false}),
        ),
        tool(
            "core_memory_replace",
            "Replace text in one of your core memory blocks: old_content must appear in the block; new_content may be empty to delete it.",
            json!({"type": "object", "properties": {
                "label": {"type": "string"},
                "old_content": {"type": "string"},
                "new_content": {"type": "string"}
            }, "required": ["label", "old_content", "new_content"], "additionalProperties": false}),
        ),
        tool(
            "archival_memory_insert",
            "Store a passage in your long-term archival memory.",
            json!({"type": "object", "properties": {
                "content": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}}
            }, "required": ["content"], "additionalProperties": false}),
        ),
        tool(
            "archival_memory_search",
            "Search your archival memory (full-text ranking).",
            json!({"type": "object", "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50}
            }, "required": ["query"], "additionalProperties": false}),
        ),
        tool(
            "conversation_search",
            "Search earlier messages of your conversation with this user.",
            json!({"type": "object", "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50}
            }, "required": ["query"], "additionalProperties": false}),
        ),
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Append {
    label: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Replace {
    label: String,
    old_content: String,
    new_content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Insert {
    content: String,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    query: String,
    #[serde(default)]
    limit: Option<u64>,
}

/// An edit of a core memory block.
enum Edit {
    /// Append a line.
    Append(String),
    /// Replace the first occurrence of the old text with the new.
    Replace(String, String),
}

impl Edit {
    fn apply(&self, value: &str) -> Result<String, String> {
        match self {
            Self::Append(content) if value.is_empty() => Ok(content.clone()),
            Self::Append(content) => Ok(format!("{value}\n{content}")),
            Self::Replace(old, new) => {
                if old.is_empty() || !value.contains(old.as_str()) {
                    return Err("old_content was not found in the block; copy it exactly".into());
                }
                Ok(value.replacen(old.as_str(), new, 1))
            }
        }
    }
}

fn args<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("invalid arguments: {e}"))
}

/// Runs a built-in tool for `agent`; `Ok(json)` or `Err(message)` for the model.
pub async fn run(
    store: &dyn AgentStore,
    agent: &AgentId,
    name: &str,
    arguments: Value,
) -> Result<Value, String> {
    let fail = |e: pi_domain::agent::AgentError| e.to_string();
    match name {
        "core_memory_append" | "core_memory_replace" => {
            let (label, edit) = if name == "core_memory_append" {
                let a: Append = args(arguments)?;
                (a.label, Edit::Append(a.content))
            } else {
                let r: Replace = args(arguments)?;
                (r.label, Edit::Replace(r.old_content, r.new_content))
            };
            let blocks = store.agent_blocks(agent).await.map_err(fail)?;
            let block = blocks.iter().find(|b| b.label == label).ok_or_else(|| {
                format!(
                    "no memory block labelled {label:?}; your blocks are: {}",
                    blocks
                        .iter()
                        .map(|b| b.label.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if block.read_only {
                return Err(format!("block {label:?} is read-only and cannot be edited"));
            }
            let value = edit.apply(&block.value)?;
            let chars = value.chars().count();
            if chars > block.limit {
                return Err(format!(
                    "the new value of {label:?} would be {chars} characters, over its limit of {}; shorten it or replace older text",
                    block.limit
                ));
            }
            store
                .set_block_value(&block.id, &value)
                .await
                .map_err(fail)?
                .ok_or_else(|| format!("block {label:?} no longer exists"))?;
            Ok(json!({"ok": true, "label": label, "value": value}))
        }
        "archival_memory_insert" => {
            let a: Insert = args(arguments)?;
            if a.content.trim().is_empty() {
                return Err("content must not be empty".into());
            }
            let passage = Passage {
                id: format!("passage-{}", uuid::Uuid::now_v7()),
                content: a.content,
                tags: a.tags,
                created_at: Utc::now(),
            };
            let id = passage.id.clone();
            store.insert_passage(agent, passage).await.map_err(fail)?;
            Ok(json!({"ok": true, "id": id}))
        }
        "archival_memory_search" | "conversation_search" => {
            let s: Search = args(arguments)?;
            let limit = s.limit.unwrap_or(5).clamp(1, 50);
            if name == "archival_memory_search" {
                let hits = store
                    .search_passages(agent, &s.query, limit)
                    .await
                    .map_err(fail)?;
                Ok(json!({"results": hits.iter().map(|p| json!({
                    "id": p.id, "content": p.content, "tags": p.tags, "created_at": p.created_at.to_rfc3339(),
                })).collect::<Vec<_>>()}))
            } else {
                let hits = store
                    .search_history(agent, &s.query, limit)
                    .await
                    .map_err(fail)?;
                Ok(json!({"results": hits.iter().map(|m| json!({
                    "role": m.role.as_str(), "content": m.content, "created_at": m.created_at.to_rfc3339(),
                })).collect::<Vec<_>>()}))
            }
        }
        other => Err(format!("unknown memory tool {other:?}")),
    }
}
