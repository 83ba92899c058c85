//! The OpenAPI 3.1 document, generated from the handlers and DTOs.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{agents, auth, chat, health, personas, tools};
use crate::{ErrorBody, FieldErrorBody};

/// Pi's API description; served at `/openapi.json` and browsable at `/docs/`.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Pi backend",
        description = "Pi: an AI assistant for location-analytics professionals. \
            Errors are JSON `{detail, code}`; validation errors add `errors: [{field, message}]`.",
    ),
    paths(
        health::health,
        health::healthz,
        health::ready,
        auth::signup,
        auth::register,
        auth::login,
        auth::me,
        chat::legacy_message,
        chat::create_conversation,
        chat::list_conversations,
        chat::rename_conversation,
        chat::delete_conversation,
        chat::list_messages,
        chat::send_message,
        chat::stream_message,
        crate::metrics::metrics,
        agents::create_agent,
        agents::list_agents,
        agents::overview,
        agents::message_agent,
        agents::memory,
        agents::archival,
        agents::cleanup,
        agents::adopt,
        tools::list_tools,
        tools::run_tool,
        personas::list_personas,
    ),
    components(schemas(ErrorBody, FieldErrorBody)),
    modifiers(&BearerScheme),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts and access tokens"),
        (name = "chat", description = "Conversations with the user's Pi agent"),
        (name = "agents", description = "Agent admin API (any agent backend)"),
        (name = "tools", description = "The agents' tools, for admins"),
        (name = "personas", description = "Professional personas and their shared memory"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
