//! Signup, login and the current user.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use pi_domain::auth::{AuthSession, LoginRequest, SignupRequest};
use pi_domain::user::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{ApiError, AppState, AuthUser, ErrorBody, JsonBody};

/// Signup body. Fields absent from the JSON are reported together as 422 field errors.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupBody {
    /// Email address (stored lower-case).
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16})?@[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?){1,3}$",
        example = "ada@example.com"
    )]
    pub email: String,
    /// 8–72 bytes of UTF-8 (bcrypt reads no further); the pattern documents the ASCII subset,
    /// where characters and bytes agree.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 8,
        max_length = 72,
        pattern = r"^[\u0020-\u007E]*$",
        example = "correct horse battery"
    )]
    pub password: String,
    /// 1–255 characters, no control characters.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$",
        example = "Ada"
    )]
    pub display_name: String,
}

/// Login body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// Email address.
    #[serde(default)]
    #[schema(required = true, example = "ada@example.com")]
    pub email: String,
    /// Password.
    #[serde(default)]
    #[schema(required = true, example = "correct horse battery")]
    pub password: String,
}

/// A persona the user has been linked to.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPersonaResponse {
    /// e.g. `qsr_real_estate`.
    pub persona_handle: String,
    /// 0.0–1.0.
    pub confidence_score: f64,
}

/// The public view of a user (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPublic {
    /// User id.
    pub id: Uuid,
    /// Email (lower-case).
    pub email: String,
    pub display_name: String,
    /// The user's agent, once created.
    pub agent_id: Option<String>,
    /// Admin flag.
    pub is_admin: bool,
    /// Personas linked to the user, highest confidence first.
    pub personas: Vec<UserPersonaResponse>,
    /// The handle of the highest-confidence persona, or null.
    pub persona_handle: Option<String>,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserPublic {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            email: u.email.as_str().to_owned(),
            display_name: u.display_name.as_str().to_owned(),
            agent_id: u.agent_id,
            is_admin: u.is_admin,
            personas: Vec::new(),
            persona_handle: None,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// An access token and the user it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Expiry instant (RFC 3339, UTC).
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub expires_at: DateTime<Utc>,
    /// The authenticated user.
    pub user: UserPublic,
}

impl TokenResponse {
    fn new(session: AuthSession, user: UserPublic) -> Self {
        Self {
            access_token: session.token.token,
            token_type: "bearer",
            expires_in: session.token.expires_in_secs,
            expires_at: session.token.expires_at,
            user,
        }
    }
}

/// The one public view of a user, with their personas: login, signup and `/auth/me` agree.
async fn public_user(state: &AppState, user: User) -> Result<UserPublic, ApiError> {
    let mut personas = state.personas.personas_of(user.id).await?;
    personas.sort_by(|a, b| b.confidence_score.total_cmp(&a.confidence_score));
    let mut public = UserPublic::from(user);
    public.personas = personas
        .into_iter()
        .map(|p| UserPersonaResponse {
            persona_handle: p.persona.def.persona_handle.as_str().to_owned(),
            confidence_score: p.confidence_score,
        })
        .collect();
    public.persona_handle = public.personas.first().map(|p| p.persona_handle.clone());
    Ok(public)
}

async fn token_response(state: &AppState, session: AuthSession) -> Result<TokenResponse, ApiError> {
    let user = public_user(state, session.user.clone()).await?;
    Ok(TokenResponse::new(session, user))
}

async fn do_signup(state: &AppState, body: SignupBody) -> Result<HttpResponse, ApiError> {
    let session = state
        .auth
        .signup(SignupRequest {
            email: body.email,
            password: body.password,
            display_name: body.display_name,
        })
        .await?;
    Ok(HttpResponse::Created().json(token_response(state, session).await?))
}

/// Creates an account and returns a token for it.
#[utoipa::path(
    post,
    path = "/auth/signup",
    tag = "auth",
    request_body = SignupBody,
    responses(
        (status = 201, body = TokenResponse),
        (status = 409, body = ErrorBody, description = "Email already registered"),
        (status = 422, body = ErrorBody, description = "Invalid fields"),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn signup(
    state: web::Data<AppState>,
    body: JsonBody<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    do_signup(&state, body.0).await
}

/// Alias of `/auth/signup`.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body = SignupBody,
    responses(
        (status = 201, body = TokenResponse),
        (status = 409, body = ErrorBody, description = "Email already registered"),
        (status = 422, body = ErrorBody, description = "Invalid fields"),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn register(
    state: web::Data<AppState>,
    body: JsonBody<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    do_signup(&state, body.0).await
}

/// Exchanges credentials for a token. Unknown email and wrong password get the same answer.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = ErrorBody, description = "`invalid_credentials`"),
        (status = 429, body = ErrorBody, description = "`too_many_requests`: too many attempts on this account or from this address; see `Retry-After`"),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<LoginBody>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let body = body.0;
    let session = state
        .auth
        .login(LoginRequest {
            email: body.email,
            password: body.password,
            client: crate::client_address::client_ip(&req).map(|ip| ip.to_string()),
        })
        .await?;
    Ok(web::Json(token_response(&state, session).await?))
}

/// The authenticated user.
#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserPublic),
        (status = 401, body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.0.id))]
pub(crate) async fn me(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<UserPublic>, ApiError> {
    Ok(web::Json(public_user(&state, user.0).await?))
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/signup").route(web::post().to(signup)))
        .service(web::resource("/auth/register").route(web::post().to(register)))
        .service(web::resource("/auth/login").route(web::post().to(login)))
        .service(web::resource("/auth/me").route(web::get().to(me)));
}
