//! The OpenAPI 3.1 document, generated from the handlers and DTOs.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{agents, auth, chat, datasets, health, personas, tools};
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
        datasets::list_datasets,
        datasets::activate_dataset,
        datasets::drop_dataset,
        datasets::list_imports,
        datasets::upload_import,
        datasets::get_import,
    ),
    components(schemas(ErrorBody, FieldErrorBody)),
    modifiers(&BearerScheme, &CommonErrors),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts and access tokens"),
        (name = "chat", description = "Conversations with the user's Pi agent"),
        (name = "agents", description = "Agent admin API (any agent backend)"),
        (name = "tools", description = "The agents' tools, for admins"),
        (name = "personas", description = "Professional personas and their shared memory"),
        (name = "datasets", description = "The data sets the tools answer from, for admins (docs/DATA.md)"),
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

/// Documents the errors every operation can answer, so clients (and API fuzzers) know them:
/// 401 on authenticated operations, 400/413/415/422 where a JSON body is read, 422 where query
/// parameters are parsed, 404 where a path names something, 500 everywhere.
struct CommonErrors;

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{Operation, ParameterIn};
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations: [Option<&mut Operation>; 4] = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = operation.request_body.is_some();
                let has_query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Query));
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(description));
                };
                if secured {
                    add(
                        "401",
                        "`not_authenticated`: missing, invalid or expired token",
                    );
                }
                if has_body {
                    add("400", "`invalid_json`: the body is not valid JSON");
                    add(
                        "413",
                        "`payload_too_large`: the body is over the size limit",
                    );
                    add(
                        "415",
                        "`unsupported_media_type`: send `Content-Type: application/json`",
                    );
                }
                if has_body || has_query {
                    add(
                        "422",
                        "`validation_error`: `errors` names each invalid field",
                    );
                }
                if path.contains('{') {
                    add("404", "Nothing found at this path");
                }
                add("500", "`internal_error`: an unexpected failure (logged)");
            }
        }
    }
}
