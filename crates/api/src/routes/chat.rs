//! Conversations and messages.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use std::sync::Arc;

use futures::StreamExt as _;
use pi_domain::agent::{AgentStep, ReplyText};
use pi_domain::chat::{
    ChatError, ChatEvent, ChatObserver, Conversation, ConversationId, Exchange, Message,
    MessageContent,
};
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::agents::AgentStepResponse;
use crate::extractors::{IdempotencyKeyHeader, OptionalJsonBody, QueryParams};
use crate::{ApiError, AppState, AuthUser, ErrorBody, JsonBody};

/// A conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationResponse {
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Title (set from the first message when not given).
    pub title: Option<String>,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last activity, RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
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
    /// Title, 1–255 characters, no control characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: Option<String>,
}

/// `PATCH /chat/conversations/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameConversationBody {
    /// New title, 1–255 characters, no control characters.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: String,
}

/// Paging of `GET /chat/conversations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListConversationsQuery {
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Cursor from the previous page's `next_cursor`.
    #[param(pattern = r"^([0-9]{1,17}_[0-9a-fA-F]{32})?$")]
    pub before: Option<String>,
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// `user`, `agent` or `system`.
    #[schema(example = "user")]
    pub role: &'static str,
    /// Text.
    pub content: String,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
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
    /// 1–16000 characters; no control characters but tab, line feed and carriage return.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 16000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$",
        example = "Which coffee chains are busiest in Austin?"
    )]
    pub content: String,
}

/// One server-sent event of `…/messages/stream` (the schema of each event in the stream).
#[derive(Debug, Serialize, ToSchema)]
pub struct SseEvent {
    /// `user_message`, `reasoning`, `tool_call`, `tool_return`, `assistant_delta`,
    /// `assistant_message`, `done` or `error`.
    pub event: String,
    /// The event's JSON payload, as text.
    pub data: String,
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
    /// Text, 1–16000 characters; no control characters but tab, line feed and carriage return.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 16000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub message: String,
}

/// Legacy echo reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyReply {
    /// The message, echoed.
    pub reply: String,
}

/// Legacy echo, kept for old clients: answers `{reply: message}`. Use conversations instead.
/// It stores nothing, so a retry is always safe; an `Idempotency-Key` is accepted (and
/// validated) as on every send.
#[utoipa::path(
    post,
    path = "/chat/messages",
    tag = "chat",
    request_body = LegacyMessageBody,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Accepted for symmetry with the other sends: 1–255 printable ASCII characters.", min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$"),
    ),
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
    _key: IdempotencyKeyHeader,
    body: JsonBody<LegacyMessageBody>,
) -> Result<web::Json<LegacyReply>, ApiError> {
    let message = MessageContent::parse("message", body.0.message)
        .map_err(|e| ApiError::validation(&e.into()))?;
    Ok(web::Json(LegacyReply {
        reply: message.into_inner(),
    }))
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
    query: QueryParams<ListConversationsQuery>,
) -> Result<web::Json<ConversationListResponse>, ApiError> {
    let query = query.0;
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
///
/// Send an `Idempotency-Key` (a fresh UUID per message) to retry safely after a network error,
/// a 5xx or a 409: a retry with the same key and body returns the first attempt's exchange
/// when it finished, 409 `idempotency_key_in_use` while it runs, and completes the turn when
/// the first attempt failed after storing the user message. The user message is never stored
/// twice. Keys are per user and kept at least 24 hours; the same key with another body is 422
/// `idempotency_key_reused`.
#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/messages",
    tag = "chat",
    request_body = SendMessageBody,
    params(
        ("id" = Uuid, Path, description = "Conversation id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1–255 printable ASCII characters, unique per message (a UUID). See the operation's description.", min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ExchangeResponse),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`idempotency_key_in_use`: an attempt with this key is still running; retry after `Retry-After`"),
        (status = 422, body = ErrorBody, description = "`validation_error`, or `idempotency_key_reused`"),
        (status = 502, body = ErrorBody, description = "`agent_unavailable`"),
        (status = 503, body = ErrorBody, description = "`storage_unavailable` or `agent_unavailable` (busy), with `Retry-After`"),
        (status = 504, body = ErrorBody, description = "`agent_timeout`"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn send_message(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    key: IdempotencyKeyHeader,
    body: JsonBody<SendMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let exchange = state
        .chat
        .send_message(
            &user.0,
            ConversationId(id.into_inner()),
            body.0.content,
            key.0,
        )
        .await?;
    Ok(HttpResponse::Created().json(ExchangeResponse::from(exchange)))
}

/// One item of a streamed exchange, as the service reports it.
enum StreamItem {
    Event(ChatEvent),
    Finished(Result<Exchange, ChatError>),
    /// Nothing happened for a while (a long tool run): a comment keeps the connection alive.
    Quiet,
}

/// How long a stream may stay silent before a `: keep-alive` comment is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SseKeepAlive(pub(crate) std::time::Duration);

fn sse(event: &str, data: &impl Serialize) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    format!("event: {event}\ndata: {json}\n\n")
}

/// Turns items into Server-Sent Events; the `assistant_delta` texts concatenate to the stored
/// reply ([`ReplyText`]).
#[derive(Default)]
struct SseWriter {
    reply: ReplyText,
    finished: bool,
}

impl SseWriter {
    fn write(&mut self, item: StreamItem) -> String {
        match item {
            StreamItem::Event(ChatEvent::UserMessage(m)) => {
                sse("user_message", &MessageResponse::from(m))
            }
            StreamItem::Event(ChatEvent::Text(piece)) => {
                self.reply.stream(&piece).map_or_else(String::new, |delta| {
                    sse("assistant_delta", &serde_json::json!({ "text": delta }))
                })
            }
            StreamItem::Event(ChatEvent::Step(step)) => {
                let name = match &step {
                    AgentStep::Assistant { text } => {
                        return self.reply.push(text).map_or_else(String::new, |delta| {
                            sse("assistant_delta", &serde_json::json!({ "text": delta }))
                        });
                    }
                    AgentStep::Reasoning { .. } => "reasoning",
                    AgentStep::ToolCall { .. } => "tool_call",
                    AgentStep::ToolReturn { .. } => "tool_return",
                };
                sse(name, &AgentStepResponse::from(step))
            }
            StreamItem::Finished(Ok(exchange)) => {
                self.finished = true;
                let done = serde_json::json!({
                    "user_message_id": exchange.user_message.id.0,
                    "assistant_message_id": exchange.assistant_message.id.0,
                });
                let mut out = sse(
                    "assistant_message",
                    &MessageResponse::from(exchange.assistant_message),
                );
                out.push_str(&sse("done", &done));
                out
            }
            StreamItem::Quiet => ": keep-alive\n\n".to_owned(),
            StreamItem::Finished(Err(e)) => {
                self.finished = true;
                let error = ApiError::from(e);
                let mut body = serde_json::to_value(error.body()).unwrap_or_default();
                body["status"] = actix_web::ResponseError::status_code(&error)
                    .as_u16()
                    .into();
                sse("error", &body)
            }
        }
    }
}

/// The same exchange as `POST …/messages`, as Server-Sent Events: `user_message` (stored), then
/// the agent's `reasoning`, `tool_call` and `tool_return` steps as they happen, `assistant_delta`
/// chunks of the reply, `assistant_message` (stored) and `done` — or `error` with the JSON error
/// body (`detail`, `code`, `status`) after which the stream ends; the user message stays stored.
/// Errors found before anything is stored (401, 404, 422) are ordinary JSON responses. A client
/// that disconnects does not cancel the turn: both messages are still stored.
///
/// `Idempotency-Key` works as on `POST …/messages`: a retry of a finished send streams the
/// stored exchange again, one of a send that failed after storing its user message streams the
/// completed turn, and the user message is never stored twice.
#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/messages/stream",
    tag = "chat",
    request_body = SendMessageBody,
    params(
        ("id" = Uuid, Path, description = "Conversation id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1–255 printable ASCII characters, unique per message (a UUID).", min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/event-stream", body = SseEvent,
         description = "Server-sent events, each `event: <name>` + `data: <JSON>`: `user_message` (a `MessageResponse`), then per agent step `reasoning` / `tool_call` / `tool_return` (an `AgentStepResponse`) and `assistant_delta` (`{\"text\"}`), then `assistant_message` (a `MessageResponse`) and `done` (`{\"user_message_id\", \"assistant_message_id\"}`), or `error` (an `ErrorBody` with the HTTP `status` it stands for).",
         example = json!({"event": "assistant_delta", "data": "{\"text\":\"Hello\"}"})),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`idempotency_key_in_use`"),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "`storage_unavailable`, with `Retry-After`"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn stream_message(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    key: IdempotencyKeyHeader,
    body: JsonBody<SendMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let (tx, mut rx) = futures::channel::mpsc::unbounded::<StreamItem>();
    let events = tx.clone();
    let observer = ChatObserver::new(move |event| {
        // A receiver gone means the client left; the turn still completes and is stored.
        let _ = events.unbounded_send(StreamItem::Event(event));
    });
    let chat = Arc::clone(&state.chat);
    let caller = user.0;
    let conversation = ConversationId(id.into_inner());
    let content = body.0.content;
    let key = key.0;
    actix_web::rt::spawn(
        async move {
            let result = chat
                .send_message_streaming(&caller, conversation, content, observer, key)
                .await;
            let _ = tx.unbounded_send(StreamItem::Finished(result));
        }
        .in_current_span(),
    );
    // Nothing is streamed until the user message is stored: earlier failures are plain errors.
    let first = match rx.next().await {
        Some(StreamItem::Finished(Err(e))) => return Err(e.into()),
        Some(first) => first,
        None => {
            return Err(ApiError::new(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the streamed exchange ended without a result",
            ));
        }
    };
    let quiet = req
        .app_data::<SseKeepAlive>()
        .map_or(std::time::Duration::from_secs(15), |k| k.0);
    let items = futures::stream::once(async { first }).chain(with_keep_alive(rx, quiet));
    // Stop after the final item even if a stray sender is still alive.
    let body = items
        .scan(SseWriter::default(), |writer, item| {
            futures::future::ready((!writer.finished).then(|| writer.write(item)))
        })
        .filter(|text| futures::future::ready(!text.is_empty()))
        .map(|text| Ok::<_, std::convert::Infallible>(web::Bytes::from(text)));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// `rx`'s items, with [`StreamItem::Quiet`] after each `quiet` without one.
fn with_keep_alive(
    rx: futures::channel::mpsc::UnboundedReceiver<StreamItem>,
    quiet: std::time::Duration,
) -> impl futures::Stream<Item = StreamItem> {
    futures::stream::unfold(rx, move |mut rx| async move {
        let next = rx.next();
        let tick = actix_web::rt::time::sleep(quiet);
        futures::pin_mut!(tick);
        match futures::future::select(next, tick).await {
            futures::future::Either::Left((Some(item), _)) => Some((item, rx)),
            futures::future::Either::Left((None, _)) => None,
            // Receiving is cancel-safe: nothing is lost by dropping `next`.
            futures::future::Either::Right(_) => Some((StreamItem::Quiet, rx)),
        }
    })
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
        )
        .service(
            web::resource("/chat/conversations/{id}/messages/stream")
                .route(web::post().to(stream_message)),
        );
}
