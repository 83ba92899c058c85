//! Admin access to the tool registry (SPEC §7.2): list schemas, run one tool.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use pi_domain::tools::ToolContext;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::extractors::AdminWith;
use crate::extractors::OptionalJsonBody;
use crate::{AdminUser, ApiError, AppState, ErrorBody};

/// A tool's schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolResponse {
    /// Name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its arguments.
    pub parameters: Value,
}

/// Every tool.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolListResponse {
    /// Tools, by name.
    pub tools: Vec<ToolResponse>,
}

/// Lists every tool with its argument schema (admin).
#[utoipa::path(
    get,
    path = "/tools",
    tag = "tools",
    security(("bearer" = [])),
    responses((status = 200, body = ToolListResponse), (status = 403, body = ErrorBody))
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn list_tools(
    state: web::Data<AppState>,
    user: AdminUser,
) -> Result<web::Json<ToolListResponse>, ApiError> {
    Ok(web::Json(ToolListResponse {
        tools: state
            .tools
            .schemas()
            .into_iter()
            .map(|t| ToolResponse {
                name: t.name,
                description: t.description,
                parameters: t.parameters,
            })
            .collect(),
    }))
}

/// Runs one tool with the JSON body as its arguments (admin) and returns the tool's JSON.
/// A tool error (bad ids, dates, limits…) is a 422 whose `detail` is the tool's message.
#[utoipa::path(
    post,
    path = "/tools/{name}",
    tag = "tools",
    params(("name" = String, Path, description = "Tool name")),
    request_body(content = Option<Object>, description = "The tool's arguments"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tool's JSON result", body = Object),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`tool_not_found`"),
        (status = 422, body = ErrorBody, description = "`tool_error`"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id, tool = %name))]
pub(crate) async fn run_tool(
    state: web::Data<AppState>,
    name: web::Path<String>,
    AdminWith(user, body): AdminWith<OptionalJsonBody<Value>>,
) -> Result<HttpResponse, ApiError> {
    let ctx = ToolContext {
        user_id: Some(user.0.id),
        agent_id: None,
    };
    // No body or `null`: no arguments.
    let args = body.0.unwrap_or_else(|| Value::Object(Default::default()));
    if !args.is_object() {
        return Err(ApiError::validation(&pi_domain::ValidationErrors::single(
            "body",
            "tool arguments must be a JSON object",
        )));
    }
    let result = state.tools.call(&name, &ctx, args).await.map_err(|e| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "tool_not_found",
            format!("{}.", capitalise(&e.to_string())),
        )
    })?;
    if let Some(message) = result.error_message() {
        return Err(ApiError::tool_error(message));
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(result.json().to_owned()))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tools").route(web::get().to(list_tools)))
        .service(web::resource("/tools/{name}").route(web::post().to(run_tool)));
}
