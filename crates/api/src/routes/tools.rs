//! Admin access to the tool registry: list schemas, run one tool.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::extractors::AdminWith;
use crate::extractors::OptionalJsonBody;
use crate::{AdminUser, ApiError, AppState, ErrorBody};

/// A tool's schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolResponse {
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
    let tools = state.tools.list(&user.0)?;
    Ok(web::Json(ToolListResponse {
        tools: tools
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
    // The admin check comes before the body is read: a non-admin learns nothing about it.
    AdminWith(user, body): AdminWith<OptionalJsonBody<Value>>,
) -> Result<HttpResponse, ApiError> {
    let output = state.tools.run(&user.0, &name, body.0).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(output.json().to_owned()))
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tools").route(web::get().to(list_tools)))
        .service(web::resource("/tools/{name}").route(web::post().to(run_tool)));
}
