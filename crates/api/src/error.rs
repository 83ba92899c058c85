//! The one HTTP error type, and the mapping of every domain error onto it.
//!
//! Every error body is `{"detail": "...", "code": "..."}` (plus `errors` on 422). Mappings from
//! domain errors are exhaustive `match`es, so a new variant fails to compile until it is mapped.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use pi_domain::admin::AdminError;
use pi_domain::agent::AgentError;
use pi_domain::auth::{AuthenticateError, LoginError, SignupError};
use pi_domain::chat::ChatError;
use pi_domain::persona::PersonaError;
use pi_domain::tools::ToolServiceError;
use pi_domain::{StorageUnavailable, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;

/// `Retry-After` of a 503 `storage_unavailable`: about what a PostgreSQL restart takes.
const STORAGE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// One invalid field in a 422 response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// The field as the client named it.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence for humans (the chat UI shows it as is).
    pub detail: String,
    /// A stable snake_case code for programs.
    pub code: String,
    /// Present on 422: every invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldErrorBody>>,
}

/// An HTTP error: status, code, detail and optional field errors.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Option<Vec<FieldErrorBody>>,
    /// Seconds for a `Retry-After` header (429, 503).
    retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.code)
    }
}

impl ApiError {
    /// An error with a status, a code and a detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: None,
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` header (whole seconds, at least 1).
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.retry_after = Some(secs.max(1));
        self
    }

    /// 401 `not_authenticated`.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "not_authenticated", detail)
    }

    /// 422 `validation_error` listing the invalid fields.
    pub fn validation(errors: &ValidationErrors) -> Self {
        let fields: Vec<FieldErrorBody> = errors
            .errors()
            .iter()
            .map(|e| FieldErrorBody {
                field: e.field.clone(),
                message: e.message.clone(),
            })
            .collect();
        let detail = if fields.is_empty() {
            "The request is invalid.".to_owned()
        } else {
            format!("Invalid input: {errors}.")
        };
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_error",
            detail,
            errors: Some(fields),
            retry_after: None,
        }
    }

    /// 422 `tool_error`: the tool refused its arguments; `detail` is the tool's message and
    /// `errors` carries it against the field `arguments`, like every other 422.
    pub fn tool_error(message: String) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "tool_error",
            errors: Some(vec![FieldErrorBody {
                field: "arguments".to_owned(),
                message: message.clone(),
            }]),
            detail: message,
            retry_after: None,
        }
    }

    /// 404 `agent_not_found`.
    pub fn agent_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "agent_not_found", "Agent not found.")
    }

    /// 500 `internal_error`; logs the whole cause chain, answers an opaque message. A cause
    /// that is [`StorageUnavailable`] is not a bug: 503 `storage_unavailable` instead.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        if let Some(unavailable) = StorageUnavailable::find(cause) {
            return Self::storage_unavailable(unavailable);
        }
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "request failed with an internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "An internal error occurred. Please try again later.",
        )
    }

    /// 503 `storage_unavailable` with `Retry-After`: the database cannot serve right now (down,
    /// restarting, disk full); what failed was rolled back, so the client may retry the same
    /// request (with its `Idempotency-Key` for a send).
    pub fn storage_unavailable(cause: &StorageUnavailable) -> Self {
        tracing::warn!(reason = %cause.reason, "storage unavailable");
        metrics::counter!("pi_storage_unavailable_total").increment(1);
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "Storage is temporarily unavailable; please retry shortly (a message with the same Idempotency-Key).",
        )
        .with_retry_after(STORAGE_RETRY_AFTER)
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs));
        }
        response.json(self.body())
    }
}

impl From<SignupError> for ApiError {
    fn from(e: SignupError) -> Self {
        match e {
            SignupError::Invalid(errors) => Self::validation(&errors),
            SignupError::EmailTaken => Self::new(
                StatusCode::CONFLICT,
                "email_taken",
                "An account with this email already exists.",
            ),
            SignupError::Unexpected(_) => Self::internal(&e),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Incorrect email or password.",
            ),
            LoginError::Throttled { retry_after } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many sign-in attempts. Please wait before trying again.",
            )
            .with_retry_after(retry_after),
            LoginError::Unexpected(_) => Self::internal(&e),
        }
    }
}

impl From<AuthenticateError> for ApiError {
    fn from(e: AuthenticateError) -> Self {
        match e {
            AuthenticateError::Unauthenticated(reason) => {
                Self::unauthenticated(format!("Not authenticated: {reason}."))
            }
            AuthenticateError::Unexpected(_) => Self::internal(&e),
        }
    }
}

fn agent_unavailable() -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "agent_unavailable",
        "The assistant is unavailable right now. Your message was saved; please try again shortly.",
    )
}

/// 503: the backend asked to wait longer than the turn had left.
fn agent_busy(retry_after: std::time::Duration) -> ApiError {
    tracing::warn!(
        retry_after_secs = retry_after.as_secs(),
        "agent backend busy"
    );
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "agent_unavailable",
        "The assistant is busy right now. Your message was saved; please try again shortly.",
    )
    .with_retry_after(retry_after)
}

fn agent_timeout() -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "agent_timeout",
        "The assistant took too long to answer. Your message was saved; please try again.",
    )
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Invalid(errors) => Self::validation(&errors),
            ChatError::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "conversation_not_found",
                "Conversation not found.",
            ),
            ChatError::UserGone => {
                Self::unauthenticated("Not authenticated: the account no longer exists.")
            }
            ChatError::AgentUnavailable(reason) => {
                tracing::warn!(%reason, "agent unavailable");
                agent_unavailable()
            }
            ChatError::AgentTimeout => {
                tracing::warn!("agent timed out");
                agent_timeout()
            }
            ChatError::AgentBusy { retry_after } => agent_busy(retry_after),
            ChatError::KeyReused => Self {
                errors: Some(vec![FieldErrorBody {
                    field: "Idempotency-Key".to_owned(),
                    message: "was used for a different request".to_owned(),
                }]),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for a different request (another conversation or content); use a new key for a new message.",
                )
            },
            ChatError::KeyInUse { retry_after } => Self::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "A send with this Idempotency-Key is still running; retry with the same key shortly.",
            )
            .with_retry_after(retry_after),
            ChatError::Unexpected(_) => Self::internal(&e),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Forbidden => forbidden(),
            AdminError::NotFound => Self::agent_not_found(),
            AdminError::UserNotFound => {
                Self::new(StatusCode::NOT_FOUND, "user_not_found", "User not found.")
            }
            AdminError::AgentExists => Self::new(
                StatusCode::CONFLICT,
                "agent_exists",
                "This user already has an agent.",
            ),
            AdminError::Invalid(errors) => Self::validation(&errors),
            AdminError::Agent(agent) => agent_error(agent),
            AdminError::Unexpected(_) => Self::internal(&e),
        }
    }
}

/// An agent backend failure outside a chat turn (admin and persona routes).
fn agent_error(e: AgentError) -> ApiError {
    match e {
        AgentError::Timeout => agent_timeout(),
        AgentError::Busy { retry_after } => agent_busy(retry_after),
        AgentError::Rejected(reason) => {
            // The backend's own words stay in the log; clients get a stable sentence.
            tracing::warn!(%reason, "agent backend refused the request");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "agent_rejected",
                "The agent backend refused the request.",
            )
        }
        AgentError::Unavailable(reason) | AgentError::NotFound(reason) => {
            tracing::warn!(%reason, "agent backend unavailable");
            agent_unavailable()
        }
        AgentError::StorageUnavailable(ref cause) => ApiError::storage_unavailable(cause),
        AgentError::Store(_) => ApiError::internal(&e),
    }
}

impl From<PersonaError> for ApiError {
    fn from(e: PersonaError) -> Self {
        match e {
            PersonaError::Invalid(message) => {
                Self::validation(&ValidationErrors::single("persona_handle", message))
            }
            PersonaError::NotFound(handle) => Self::new(
                StatusCode::NOT_FOUND,
                "persona_not_found",
                format!("Unknown persona {handle:?}."),
            ),
            PersonaError::Agent(agent) => agent_error(agent),
            PersonaError::Unexpected(_) => Self::internal(&e),
        }
    }
}

impl From<ToolServiceError> for ApiError {
    fn from(e: ToolServiceError) -> Self {
        match e {
            ToolServiceError::Forbidden => forbidden(),
            ToolServiceError::NotFound(name) => Self::new(
                StatusCode::NOT_FOUND,
                "tool_not_found",
                format!("Unknown tool {name:?}."),
            ),
            ToolServiceError::Invalid(errors) => Self::validation(&errors),
            ToolServiceError::Failed(message) => Self::tool_error(message),
        }
    }
}

/// 403: the caller is not an administrator.
pub(crate) fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "This action requires an administrator.",
    )
}

/// The canonical code and detail for a bare status (used to convert actix's own plain-text
/// errors into JSON).
pub(crate) fn canonical(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("bad_request", "The request is malformed."),
        401 => ("not_authenticated", "Not authenticated."),
        403 => ("forbidden", "You are not allowed to do this."),
        404 => ("not_found", "Not found."),
        405 => ("method_not_allowed", "Method not allowed on this path."),
        408 => ("request_timeout", "The request took too long to arrive."),
        409 => ("conflict", "The request conflicts with the current state."),
        413 => ("payload_too_large", "The request body is too large."),
        415 => (
            "unsupported_media_type",
            "Unsupported media type: send JSON with Content-Type: application/json.",
        ),
        422 => ("validation_error", "The request is invalid."),
        429 => ("too_many_requests", "Too many requests."),
        502 => ("bad_gateway", "An upstream service failed."),
        503 => (
            "service_unavailable",
            "The service is temporarily unavailable.",
        ),
        504 => ("gateway_timeout", "An upstream service timed out."),
        s if s >= 500 => (
            "internal_error",
            "An internal error occurred. Please try again later.",
        ),
        _ => ("error", "The request could not be processed."),
    }
}

impl From<pi_domain::data::DataError> for ApiError {
    fn from(e: pi_domain::data::DataError) -> Self {
        use pi_domain::data::DataError;
        match e {
            DataError::Invalid(field) => Self::validation(&field.into()),
            DataError::Builtin => Self::new(
                StatusCode::CONFLICT,
                "builtin_dataset",
                "The built-in data set `synthetic` cannot be imported into or dropped.",
            ),
            DataError::NotFound(name) => Self::new(
                StatusCode::NOT_FOUND,
                "dataset_not_found",
                format!("No data set named `{name}`."),
            ),
            DataError::WrongKind { .. }
            | DataError::TooManyErrors { .. }
            | DataError::Unreadable { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "import_failed",
                e.to_string(),
            ),
            DataError::Repo(_) => Self::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(e: impl Into<ApiError>) -> (u16, &'static str) {
        let e = e.into();
        (e.status.as_u16(), e.code)
    }

    #[test]
    fn our_own_failures_are_500s_and_never_blame_the_agent() {
        let store_failed = || AgentError::Store("read history".into());
        assert_eq!(
            status(AdminError::from(store_failed())),
            (500, "internal_error")
        );
        assert_eq!(
            status(PersonaError::Agent(store_failed())),
            (500, "internal_error")
        );
        assert_eq!(
            status(ChatError::Unexpected(anyhow::anyhow!("agent store: x"))),
            (500, "internal_error")
        );
        assert_eq!(
            status(ChatError::AgentUnavailable("down".into())),
            (502, "agent_unavailable")
        );
    }

    #[test]
    fn an_unavailable_store_is_a_503_with_retry_after_everywhere() {
        let repo = || pi_domain::RepoError::unavailable("database or disk is full", "insert");
        let unavailable = StorageUnavailable::new("connection refused");
        let all: Vec<ApiError> = vec![
            ChatError::from(repo()).into(),
            AdminError::from(repo()).into(),
            PersonaError::from(repo()).into(),
            AdminError::from(AgentError::StorageUnavailable(unavailable.clone())).into(),
            PersonaError::Agent(AgentError::StorageUnavailable(unavailable.clone())).into(),
            ChatError::Unexpected(anyhow::Error::new(unavailable).context("agent store")).into(),
            LoginError::Unexpected(repo().0).into(),
            SignupError::Unexpected(repo().0).into(),
            AuthenticateError::Unexpected(repo().0).into(),
        ];
        for e in all {
            assert_eq!((e.status.as_u16(), e.code), (503, "storage_unavailable"));
            assert_eq!(e.retry_after, Some(2));
        }
    }

    #[test]
    fn a_deleted_user_is_unauthenticated_not_a_missing_conversation() {
        assert_eq!(status(ChatError::UserGone), (401, "not_authenticated"));
        assert_eq!(status(ChatError::NotFound), (404, "conversation_not_found"));
    }

    #[test]
    fn tool_and_persona_errors_map_like_the_others() {
        assert_eq!(status(ToolServiceError::Forbidden), (403, "forbidden"));
        assert_eq!(
            status(ToolServiceError::NotFound("x".into())),
            (404, "tool_not_found")
        );
        assert_eq!(
            status(ToolServiceError::Failed("bad dates".into())),
            (422, "tool_error")
        );
        assert_eq!(
            status(PersonaError::NotFound("x".into())),
            (404, "persona_not_found")
        );
        assert_eq!(
            status(PersonaError::Invalid("bad".into())),
            (422, "validation_error")
        );
    }
}
