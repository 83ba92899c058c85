//! Conversations and messages (SPEC §5, §5.1).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use pi_domain::chat::{Conversation, ConversationId, Exchange, Message};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::agents::AgentStepResponse;
use crate::extractors::OptionalJsonBody;
use crate::{ApiError, AppState, AuthUser, ErrorBody, JsonBody};

/// A conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationResponse {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Title (set from the first message when not given).
    pub title: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: DateTime<Utc>,
    /// Last activity, RFC 3339, UTC.
    pub updated_at: DateTime<Utc>,
}

impl From<Conversation> for ConversationResponse {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id.0,
            user_id: c.user_id.0,
            title: c.title,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A page of conversations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationListResponse {
    /// Newest activity first.
    pub conversations: Vec<ConversationResponse>,
    /// Pass as `before` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /chat/conversations` body (optional; an empty body is fine).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateConversationBody {
    /// Title, 1–255 characters.
    #[serde(default)]
    pub title: Option<String>,
}

/// `PATCH /chat/conversations/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameConversationBody {
    /// New title, 1–255 characters.
    #[serde(default)]
    #[schema(required = true)]
    pub title: String,
}

/// Paging of `GET /chat/conversations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListConversationsQuery {
    /// 1–100, default 50.
    pub limit: Option<u64>,
    /// Cursor from the previous page's `next_cursor`.
    pub before: Option<String>,
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    /// Id.
    pub id: Uuid,
    /// Conversation.
    pub conversation_id: Uuid,
    /// `user`, `agent` or `system`.
    #[schema(example = "user")]
    pub role: &'static str,
    /// Text.
    pub content: String,
    /// RFC 3339, UTC.
    pub created_at: DateTime<Utc>,
}

impl From<Message> for MessageResponse {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.0,
            conversation_id: m.conversation_id.0,
            role: m.role.as_str(),
            content: m.content,
            created_at: m.created_at,
        }
    }
}

/// A conversation's messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagesResponse {
    /// Oldest first.
    pub messages: Vec<MessageResponse>,
}

/// `POST /chat/conversations/{id}/messages` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendMessageBody {
    /// 1–16000 characters.
    #[serde(default)]
    #[schema(
        required = true,
        example = "Which coffee chains are busiest in Austin?"
    )]
    pub content: String,
}

/// The stored exchange.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeResponse {
    /// The user's message.
    pub user_message: MessageResponse,
    /// The agent's reply.
    pub assistant_message: MessageResponse,
    /// The agent's steps (reasoning, tool calls and returns, text), for debugging views.
    pub steps: Vec<AgentStepResponse>,
}

impl From<Exchange> for ExchangeResponse {
    fn from(e: Exchange) -> Self {
        Self {
            user_message: e.user_message.into(),
            assistant_message: e.assistant_message.into(),
            steps: e.steps.into_iter().map(Into::into).collect(),
        }
    }
}

/// Legacy echo body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LegacyMessageBody {
    /// Text, 1–16000 characters.
    #[serde(default)]
    #[schema(required = true)]
    pub message: String,
}

/// Legacy echo reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyReply {
    /// The message, echoed.
    pub reply: String,
}

/// Legacy echo, kept for old clients: answers `{reply: message}`. Use conversations instead.
#[utoipa::path(
    post,
    path = "/chat/messages",
    tag = "chat",
    request_body = LegacyMessageBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = LegacyReply),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[deprecated(note = "use POST /chat/conversations/{id}/messages")]
pub(crate) async fn legacy_message(
    _user: AuthUser,
    body: JsonBody<LegacyMessageBody>,
) -> Result<web::Json<LegacyReply>, ApiError> {
    let message = body.0.message;
    let chars = message.chars().count();
    if message.trim().is_empty() || chars > 16_000 {
        return Err(ApiError::validation(&pi_domain::ValidationErrors::single(
            "message",
            "message must be 1–16000 characters",
        )));
    }
    Ok(web::Json(LegacyReply { reply: message }))
}

/// Starts a conversation. The body is optional (the chat UI sends none).
#[utoipa::path(
    post,
    path = "/chat/conversations",
    tag = "chat",
    request_body(content = Option<CreateConversationBody>, description = "Optional"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ConversationResponse),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn create_conversation(
    state: web::Data<AppState>,
    user: AuthUser,
    body: OptionalJsonBody<CreateConversationBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0.unwrap_or_default();
    let conversation = state.chat.create_conversation(&user.0, body.title).await?;
    Ok(HttpResponse::Created().json(ConversationResponse::from(conversation)))
}

/// The caller's conversations, newest activity first, with cursor pagination.
#[utoipa::path(
    get,
    path = "/chat/conversations",
    tag = "chat",
    params(ListConversationsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConversationListResponse),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn list_conversations(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListConversationsQuery>,
) -> Result<web::Json<ConversationListResponse>, ApiError> {
    let query = query.into_inner();
    let (conversations, next_cursor) = state
        .chat
        .list_conversations(&user.0, query.limit.unwrap_or(50), query.before.as_deref())
        .await?;
    Ok(web::Json(ConversationListResponse {
        conversations: conversations.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Renames a conversation.
#[utoipa::path(
    patch,
    path = "/chat/conversations/{id}",
    tag = "chat",
    request_body = RenameConversationBody,
    params(("id" = Uuid, Path, description = "Conversation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConversationResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn rename_conversation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<RenameConversationBody>,
) -> Result<web::Json<ConversationResponse>, ApiError> {
    let conversation = state
        .chat
        .rename_conversation(&user.0, ConversationId(id.into_inner()), &body.0.title)
        .await?;
    Ok(web::Json(conversation.into()))
}

/// Deletes a conversation and its messages.
#[utoipa::path(
    delete,
    path = "/chat/conversations/{id}",
    tag = "chat",
    params(("id" = Uuid, Path, description = "Conversation id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody))
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn delete_conversation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .chat
        .delete_conversation(&user.0, ConversationId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A conversation's messages, oldest first.
#[utoipa::path(
    get,
    path = "/chat/conversations/{id}/messages",
    tag = "chat",
    params(("id" = Uuid, Path, description = "Conversation id")),
    security(("bearer" = [])),
    responses((status = 200, body = MessagesResponse), (status = 404, body = ErrorBody))
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn list_messages(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<MessagesResponse>, ApiError> {
    let messages = state
        .chat
        .messages(&user.0, ConversationId(id.into_inner()))
        .await?;
    Ok(web::Json(MessagesResponse {
        messages: messages.into_iter().map(Into::into).collect(),
    }))
}

/// Sends a message to the caller's agent (created on first use) and stores both sides.
/// On agent failure the user message stays stored and no reply is invented.
#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/messages",
    tag = "chat",
    request_body = SendMessageBody,
    params(("id" = Uuid, Path, description = "Conversation id")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ExchangeResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "`agent_unavailable`"),
        (status = 504, body = ErrorBody, description = "`agent_timeout`"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn send_message(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<SendMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let exchange = state
        .chat
        .send_message(&user.0, ConversationId(id.into_inner()), body.0.content)
        .await?;
    Ok(HttpResponse::Created().json(ExchangeResponse::from(exchange)))
}

#[allow(deprecated, reason = "the legacy route is still served")]
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/chat/messages").route(web::post().to(legacy_message)))
        .service(
            web::resource("/chat/conversations")
                .route(web::post().to(create_conversation))
                .route(web::get().to(list_conversations)),
        )
        .service(
            web::resource("/chat/conversations/{id}")
                .route(web::patch().to(rename_conversation))
                .route(web::delete().to(delete_conversation)),
        )
        .service(
            web::resource("/chat/conversations/{id}/messages")
                .route(web::get().to(list_messages))
                .route(web::post().to(send_message)),
        );
}
