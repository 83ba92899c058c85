//! The persona tools. They act for the owner of the calling agent, never for a user
//! named in the arguments.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PersonaService;
use crate::agent::ToolSchema;
use crate::tools::{Tool, ToolContext, ToolOutput};

/// `list_available_personas()`.
#[derive(Debug)]
pub struct ListPersonasTool(pub Arc<PersonaService>);

/// `update_user_persona_profile_in_db(persona_handle, confidence_score = 1.0)`.
#[derive(Debug)]
pub struct UpdateUserPersonaTool(pub Arc<PersonaService>);

#[async_trait]
impl Tool for ListPersonasTool {
    fn schema(&self) -> ToolSchema {
        ToolSchema {
            name: "list_available_personas".into(),
            description: "List the professional personas Pi knows (handle, industry, role, description, KPIs). Call it before update_user_persona_profile_in_db.".into(),
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        }
    }

    async fn call(&self, _ctx: &ToolContext, _args: Value) -> ToolOutput {
        match self.0.list().await {
            Ok(personas) => ToolOutput::from_value(&json!({
                "personas": personas.iter().map(|p| json!({
                    "persona_handle": p.def.persona_handle.as_str(),
                    "industry": p.def.industry,
                    "professional_role": p.def.professional_role,
                    "description": p.def.description,
                    "typical_kpis": p.def.typical_kpis,
                })).collect::<Vec<_>>(),
            })),
            Err(e) => ToolOutput::error(format!("could not list personas: {e}")),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateArgs {
    persona_handle: String,
    #[serde(default = "one")]
    confidence_score: f64,
}

fn one() -> f64 {
    1.0
}

#[async_trait]
impl Tool for UpdateUserPersonaTool {
    fn schema(&self) -> ToolSchema {
        ToolSchema {
            name: "update_user_persona_profile_in_db".into(),
            description: "Record the professional persona of the user you are serving (the owner of this agent), with your confidence. Creates the persona if it is new (handle: industry_role, e.g. qsr_real_estate) and gives you the persona's shared memory block.".into(),
            parameters: json!({"type": "object", "properties": {
                "persona_handle": {"type": "string", "pattern": "^[a-z0-9]+(_[a-z0-9]+)+$", "description": "e.g. qsr_real_estate"},
                "confidence_score": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0}
            }, "required": ["persona_handle"], "additionalProperties": false}),
        }
    }

    async fn call(&self, ctx: &ToolContext, args: Value) -> ToolOutput {
        let Some(user) = ctx.user_id else {
            return ToolOutput::error("this tool must be called by a user's agent");
        };
        let args: UpdateArgs = match serde_json::from_value(args) {
            Ok(a) => a,
            Err(e) => return ToolOutput::error(format!("invalid arguments: {e}")),
        };
        match self
            .0
            .assign(user, &args.persona_handle, args.confidence_score)
            .await
        {
            Ok(out) => ToolOutput::from_value(&json!({
                "success": true,
                "persona_handle": out.persona.def.persona_handle.as_str(),
                "industry": out.persona.def.industry,
                "professional_role": out.persona.def.professional_role,
                "confidence_score": out.confidence_score,
                "shared_block_id": out.report.block_id.0,
                "agents_attached": out.report.attached.len(),
                "agents_already_attached": out.report.already_attached,
                "agents_failed": out.report.failed.len(),
            })),
            Err(e) => ToolOutput::error(e.to_string()),
        }
    }
}
