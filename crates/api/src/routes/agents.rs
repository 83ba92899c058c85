//! The agent admin API: `/letta/agents…` (the path is kept for the existing UI; it
//! works the same on every agent backend).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use pi_domain::admin::{AgentOverview, OwnedAgent};
use pi_domain::agent::{AgentId, AgentStep, Block, Passage};
use pi_domain::user::{User, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::extractors::AdminWith;
use crate::extractors::QueryParams;
use crate::{AdminUser, ApiError, AppState, AuthUser, ErrorBody, JsonBody};

/// The agent a path names; an id no agent can have is a 404 like any unknown agent.
fn agent_in_path(raw: String) -> Result<AgentId, ApiError> {
    AgentId::parse(&raw).ok_or_else(ApiError::agent_not_found)
}

/// The owner of an agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentUserResponse {
    /// User id.
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
}

impl From<&User> for AgentUserResponse {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.0,
            email: u.email.as_str().to_owned(),
            display_name: u.display_name.as_str().to_owned(),
        }
    }
}

/// An agent and its owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentSummaryResponse {
    /// Agent id.
    pub id: String,
    pub name: String,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    /// Owner, if any.
    pub user: Option<AgentUserResponse>,
}

impl From<&OwnedAgent> for AgentSummaryResponse {
    fn from(a: &OwnedAgent) -> Self {
        Self {
            id: a.agent.id.0.clone(),
            name: a.agent.name.clone(),
            created_at: a.agent.created_at,
            user: a.user.as_ref().map(Into::into),
        }
    }
}

/// All agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentListResponse {
    pub agents: Vec<AgentSummaryResponse>,
}

/// A memory block.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockResponse {
    /// Block id (the same id under several agents means the block is shared).
    pub id: String,
    pub label: String,
    pub description: String,
    pub value: String,
    /// Maximum length.
    pub limit: usize,
    /// Whether the agent may edit it.
    pub read_only: bool,
}

impl From<Block> for BlockResponse {
    fn from(b: Block) -> Self {
        Self {
            id: b.id.0,
            label: b.label,
            description: b.description,
            value: b.value,
            limit: b.limit,
            read_only: b.read_only,
        }
    }
}

/// An agent with owner and blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentOverviewResponse {
    /// Agent id.
    pub id: String,
    pub name: String,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last update, when known.
    pub updated_at: Option<DateTime<Utc>>,
    /// Owner, if any.
    pub user: Option<AgentUserResponse>,
    /// Core memory blocks.
    pub memory_blocks: Vec<BlockResponse>,
}

impl From<AgentOverview> for AgentOverviewResponse {
    fn from(a: AgentOverview) -> Self {
        Self {
            id: a.agent.agent.id.0.clone(),
            name: a.agent.agent.name.clone(),
            created_at: a.agent.agent.created_at,
            updated_at: a.agent.agent.updated_at,
            user: a.agent.user.as_ref().map(Into::into),
            memory_blocks: a.blocks.into_iter().map(Into::into).collect(),
        }
    }
}

/// The agent explorer's view.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewResponse {
    /// Agents (all for admins, the caller's own otherwise).
    pub agents: Vec<AgentOverviewResponse>,
    /// Number of agents.
    pub agent_count: usize,
    /// Number of distinct blocks.
    pub block_count: usize,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub generated_at: DateTime<Utc>,
}

/// `POST /letta/agents` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateAgentBody {
    /// Name for the `human` block (defaults to the user's display name), 1–255 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub display_name: Option<String>,
    /// Link the agent to this user (who must not have one yet): a UUID.
    #[serde(default)]
    #[schema(
        value_type = Option<String>,
        format = Uuid,
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub user_id: Option<String>,
}

/// `POST /letta/agents/{id}/messages` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentMessageBody {
    /// 1–16000 characters; no control characters but tab, line feed and carriage return.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 16000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub content: String,
}

/// One step of an agent turn.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentStepResponse {
    /// Private reasoning.
    Reasoning { text: String },
    ToolCall {
        /// Pairs with the return.
        call_id: String,
        /// Tool.
        name: String,
        /// JSON arguments (as text).
        arguments: String,
    },
    /// A tool's result.
    ToolReturn {
        /// Pairs with the call.
        call_id: String,
        /// Tool.
        name: String,
        /// JSON output (as text).
        output: String,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// Text for the user.
    Assistant { text: String },
}

impl From<AgentStep> for AgentStepResponse {
    fn from(s: AgentStep) -> Self {
        match s {
            AgentStep::Reasoning { text } => Self::Reasoning { text },
            AgentStep::ToolCall {
                call_id,
                name,
                arguments,
            } => Self::ToolCall {
                call_id,
                name,
                arguments,
            },
            AgentStep::ToolReturn {
                call_id,
                name,
                output,
                is_error,
            } => Self::ToolReturn {
                call_id,
                name,
                output,
                is_error,
            },
            AgentStep::Assistant { text } => Self::Assistant { text },
        }
    }
}

/// An agent's turn.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentStepsResponse {
    /// Steps in order.
    pub messages: Vec<AgentStepResponse>,
}

/// An agent's memory.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemoryResponse {
    pub agent_id: String,
    /// Core memory blocks.
    pub blocks: Vec<BlockResponse>,
}

/// Archival query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArchivalQuery {
    /// 1–200, default 7.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
    /// Optional search text (ranked results instead of newest first); no control characters.
    #[param(max_length = 1000, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub query: Option<String>,
}

/// An archival passage.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArchivalEntry {
    /// Passage id.
    pub id: String,
    /// Text.
    pub content: String,
    pub tags: Vec<String>,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
}

impl From<Passage> for ArchivalEntry {
    fn from(p: Passage) -> Self {
        Self {
            id: p.id,
            content: p.content,
            tags: p.tags,
            created_at: p.created_at,
        }
    }
}

/// Archival passages of an agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArchivalResponse {
    pub agent_id: String,
    /// Passages.
    pub entries: Vec<ArchivalEntry>,
    /// The limit asked for.
    pub requested_limit: usize,
    /// How many came back.
    pub returned_count: usize,
}

/// `POST /letta/agents/cleanup` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CleanupBody {
    /// `true` deletes; by default the cleanup only reports what it would delete.
    #[serde(default)]
    pub delete: bool,
}

/// Result of a cleanup. Only this deployment's agents (tagged `pi-deployment:<id>`) count.
#[derive(Debug, Serialize, ToSchema)]
pub struct CleanupResponse {
    /// `true` when nothing was deleted (the default): `agent_ids` is what would be deleted.
    pub dry_run: bool,
    /// Agents deleted, or that would be (linked to no user).
    pub deleted_count: usize,
    /// Their ids.
    pub agent_ids: Vec<String>,
    /// Agents kept (linked to a user).
    pub kept_count: usize,
}

/// Creates a Pi agent from the template (admin).
#[utoipa::path(
    post,
    path = "/letta/agents",
    tag = "agents",
    request_body(content = Option<CreateAgentBody>, description = "Optional"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = AgentSummaryResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`user_not_found`"),
        (status = 409, body = ErrorBody, description = "`agent_exists`"),
        (status = 502, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn create_agent(
    state: web::Data<AppState>,
    AdminWith(user, body): AdminWith<crate::extractors::OptionalJsonBody<CreateAgentBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0.unwrap_or_default();
    let user_id = body
        .user_id
        .map(|raw| {
            Uuid::parse_str(raw.trim()).map(UserId).map_err(|_| {
                ApiError::validation(&pi_domain::ValidationErrors::single(
                    "user_id",
                    "user_id must be a UUID",
                ))
            })
        })
        .transpose()?;
    let agent = state
        .admin
        .create_agent(&user.0, body.display_name, user_id)
        .await?;
    Ok(HttpResponse::Created().json(AgentSummaryResponse::from(&agent)))
}

/// Every agent with its owner (admin).
#[utoipa::path(
    get,
    path = "/letta/agents",
    tag = "agents",
    security(("bearer" = [])),
    responses((status = 200, body = AgentListResponse), (status = 403, body = ErrorBody))
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn list_agents(
    state: web::Data<AppState>,
    user: AdminUser,
) -> Result<web::Json<AgentListResponse>, ApiError> {
    let agents = state.admin.list_agents(&user.0).await?;
    Ok(web::Json(AgentListResponse {
        agents: agents.iter().map(Into::into).collect(),
    }))
}

/// Agents with their memory blocks: all for admins, the caller's own otherwise.
#[utoipa::path(
    get,
    path = "/letta/agents/overview",
    tag = "agents",
    security(("bearer" = [])),
    responses((status = 200, body = OverviewResponse), (status = 401, body = ErrorBody))
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn overview(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<OverviewResponse>, ApiError> {
    let overview = state.admin.overview(&user.0).await?;
    Ok(web::Json(OverviewResponse {
        agent_count: overview.agent_count,
        block_count: overview.block_count,
        generated_at: overview.generated_at,
        agents: overview.agents.into_iter().map(Into::into).collect(),
    }))
}

/// Sends a message to any agent and returns every step (admin).
#[utoipa::path(
    post,
    path = "/letta/agents/{id}/messages",
    tag = "agents",
    request_body = AgentMessageBody,
    params(("id" = String, Path, description = "Agent id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AgentStepsResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 502, body = ErrorBody),
        (status = 504, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn message_agent(
    state: web::Data<AppState>,
    id: web::Path<String>,
    AdminWith(user, body): AdminWith<JsonBody<AgentMessageBody>>,
) -> Result<web::Json<AgentStepsResponse>, ApiError> {
    let reply = state
        .admin
        .message(&user.0, &agent_in_path(id.into_inner())?, body.0.content)
        .await?;
    Ok(web::Json(AgentStepsResponse {
        messages: reply.steps.into_iter().map(Into::into).collect(),
    }))
}

/// An agent's core memory blocks (admin, or the agent's owner).
#[utoipa::path(
    get,
    path = "/letta/agents/{id}/memory",
    tag = "agents",
    params(("id" = String, Path, description = "Agent id")),
    security(("bearer" = [])),
    responses((status = 200, body = MemoryResponse), (status = 404, body = ErrorBody))
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn memory(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<web::Json<MemoryResponse>, ApiError> {
    let agent = agent_in_path(id.into_inner())?;
    let blocks = state.admin.memory(&user.0, &agent).await?;
    Ok(web::Json(MemoryResponse {
        agent_id: agent.0,
        blocks: blocks.into_iter().map(Into::into).collect(),
    }))
}

/// An agent's archival memory (admin, or the agent's owner).
#[utoipa::path(
    get,
    path = "/letta/agents/{id}/archival",
    tag = "agents",
    params(("id" = String, Path, description = "Agent id"), ArchivalQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ArchivalResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn archival(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: QueryParams<ArchivalQuery>,
) -> Result<web::Json<ArchivalResponse>, ApiError> {
    let agent = agent_in_path(id.into_inner())?;
    let query = query.0;
    let limit = query.limit.unwrap_or(7);
    let entries = state
        .admin
        .archival(&user.0, &agent, limit, query.query.as_deref())
        .await?;
    Ok(web::Json(ArchivalResponse {
        agent_id: agent.0,
        requested_limit: limit,
        returned_count: entries.len(),
        entries: entries.into_iter().map(Into::into).collect(),
    }))
}

/// This deployment's agents that belong to no user (admin): reported, or deleted with
/// `{"delete": true}`. Agents of other deployments on a shared Letta are never touched.
#[utoipa::path(
    post,
    path = "/letta/agents/cleanup",
    tag = "agents",
    request_body(content = Option<CleanupBody>, description = "Optional"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CleanupResponse),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn cleanup(
    state: web::Data<AppState>,
    AdminWith(user, body): AdminWith<crate::extractors::OptionalJsonBody<CleanupBody>>,
) -> Result<web::Json<CleanupResponse>, ApiError> {
    let delete = body.0.unwrap_or_default().delete;
    let report = state.admin.cleanup(&user.0, delete).await?;
    Ok(web::Json(CleanupResponse {
        dry_run: report.dry_run,
        deleted_count: report.unowned.len(),
        agent_ids: report.unowned.into_iter().map(|a| a.0).collect(),
        kept_count: report.kept,
    }))
}

/// Adopts an agent created before this deployment tagged its agents (admin): it is tagged
/// `pi-deployment:<id>` and appears in the list, the overview and cleanup from then on.
#[utoipa::path(
    post,
    path = "/letta/agents/{id}/adopt",
    tag = "agents",
    params(("id" = String, Path, description = "Agent id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AgentSummaryResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn adopt(
    state: web::Data<AppState>,
    user: AdminUser,
    id: web::Path<String>,
) -> Result<web::Json<AgentSummaryResponse>, ApiError> {
    let agent = agent_in_path(id.into_inner())?;
    let adopted = state.admin.adopt(&user.0, &agent).await?;
    Ok(web::Json(AgentSummaryResponse::from(&adopted)))
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/letta/agents")
            .route(web::post().to(create_agent))
            .route(web::get().to(list_agents)),
    )
    .service(web::resource("/letta/agents/overview").route(web::get().to(overview)))
    .service(web::resource("/letta/agents/cleanup").route(web::post().to(cleanup)))
    .service(web::resource("/letta/agents/{id}/messages").route(web::post().to(message_agent)))
    .service(web::resource("/letta/agents/{id}/adopt").route(web::post().to(adopt)))
    .service(web::resource("/letta/agents/{id}/memory").route(web::get().to(memory)))
    .service(web::resource("/letta/agents/{id}/archival").route(web::get().to(archival)));
}
