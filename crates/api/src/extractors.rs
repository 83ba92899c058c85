//! Request extractors: the authenticated user.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use pi_domain::user::User;

use crate::{ApiError, AppState};

/// The user named by a valid `Authorization: Bearer <jwt>`; extraction fails with 401 otherwise.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive,
/// RFC 9110 §11.1), or `None`.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("Not authenticated: missing bearer token."))?
        .to_str()
        .map_err(|_| {
            ApiError::unauthenticated("Not authenticated: invalid authorization header.")
        })?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        ApiError::unauthenticated("Not authenticated: expected 'Bearer <token>'.")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthenticated(
            "Not authenticated: expected 'Bearer <token>'.",
        ));
    }
    Ok(token.trim().to_owned())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token?;
            let state = state.ok_or_else(|| {
                ApiError::internal(&std::io::Error::other(
                    "application state is not configured",
                ))
            })?;
            let user = state.auth.authenticate(&token).await?;
            Ok(AuthUser(user))
        })
    }
}

/// An authenticated admin: 401 without a valid token, 403 for other users. Placed before the
/// body in a handler's arguments, so a non-admin learns nothing from body validation.
#[derive(Debug, Clone)]
pub struct AdminUser(pub User);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let AuthUser(user) = user.await?;
            if user.is_admin {
                Ok(AdminUser(user))
            } else {
                Err(crate::error::forbidden())
            }
        })
    }
}

/// An admin and a body `B`, read in that order: actix extracts a handler's arguments
/// concurrently, so a fast body error would otherwise beat the (database-backed) admin check and
/// tell a non-admin how the body is validated.
#[derive(Debug)]
pub struct AdminWith<B>(pub AdminUser, pub B);

impl<B> FromRequest for AdminWith<B>
where
    B: FromRequest<Error = ApiError> + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        let admin = AdminUser::from_request(&req, &mut Payload::None);
        Box::pin(async move {
            let admin = admin.await?;
            let body = B::from_request(&req, &mut payload).await?;
            Ok(AdminWith(admin, body))
        })
    }
}

/// Largest JSON body accepted by [`JsonBody`], in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

/// A JSON request body. Unlike `web::Json`, every failure is one of our JSON errors:
/// 415 without a JSON content type, 413 over the size limit, 400 for malformed JSON, and 422
/// naming the offending field for well-formed JSON of the wrong shape.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json_content_type(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body of this API is an object; serde would otherwise accept `[a, b]` for a struct.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::validation(&pi_domain::ValidationErrors::single(
            "body",
            "expected a JSON object",
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let message = strip_position(&inner.to_string());
            let field = if field == "." {
                missing_field(&message).unwrap_or_else(|| "body".to_owned())
            } else {
                field
            };
            ApiError::validation(&pi_domain::ValidationErrors::single(field, message))
        } else {
            ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "invalid_json",
                format!(
                    "The request body is not valid JSON: {}.",
                    strip_position(&inner.to_string())
                ),
            )
        }
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "The request body is not valid JSON: {}.",
                strip_position(&e.to_string())
            ),
        )
    })?;
    Ok(value)
}

/// serde_json appends " at line L column C"; the client does not need it.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// "missing field `email`" → `email`.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Unsupported media type: send JSON with Content-Type: application/json.",
    )
}

/// Reads the body within the configured limit; yields whether it was declared as JSON.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<(bool, web::Bytes), ApiError>> + 'static {
    let json = is_json_content_type(req);
    let limit = req.app_data::<BodyLimit>().map_or(256 * 1024, |l| l.0);
    let bytes = web::Bytes::from_request(req, payload);
    async move {
        let bytes = bytes.await.map_err(|e| body_error(&e, limit))?;
        Ok((json, bytes))
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            let (json, bytes) = body.await?;
            if !json {
                return Err(unsupported_media_type());
            }
            parse_json(&bytes).map(JsonBody)
        })
    }
}

pub(crate) fn body_error(e: &actix_web::Error, limit: usize) -> ApiError {
    let status = e.as_response_error().status_code();
    if status == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "payload_too_large",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    } else {
        ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "bad_request",
            "The request body could not be read.",
        )
    }
}

/// An optional JSON body: an empty body (with or without a content type) or a JSON `null` is
/// `None`; anything else must be JSON, with the same errors as [`JsonBody`]. The chat UI creates conversations
/// with no body, no content type and `Content-Length: 0`.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            let (json, bytes) = body.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJsonBody(None));
            }
            if !json {
                return Err(unsupported_media_type());
            }
            if bytes.trim_ascii() == b"null" {
                return Ok(OptionalJsonBody(None));
            }
            parse_json(&bytes).map(|v| OptionalJsonBody(Some(v)))
        })
    }
}

/// Query-string parameters. Unlike `web::Query`, a malformed value is a 422 naming the
/// parameter (`limit`), not the whole query string.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest for QueryParams<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(QueryParams))
    }
}

pub(crate) fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let raw = err.into_inner().to_string();
        let field = match path {
            p if p == "." => missing_field(&raw).unwrap_or_else(|| "query".to_owned()),
            p => p,
        };
        let message = if raw.contains("digit") || raw.contains("integer") {
            "must be a whole number".to_owned()
        } else {
            raw
        };
        ApiError::validation(&pi_domain::ValidationErrors::single(field, message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Paging {
        limit: Option<u64>,
        #[allow(dead_code)]
        before: Option<String>,
    }

    #[test]
    fn a_bad_query_value_names_its_parameter() {
        for query in ["limit=-1", "limit=abc", "limit=", "before=x&limit=1.5"] {
            let err = parse_query::<Paging>(query).unwrap_err();
            let body = err.body();
            let errors = body.errors.unwrap();
            assert_eq!(errors[0].field, "limit", "{query}");
            assert_eq!(errors[0].message, "must be a whole number", "{query}");
        }
        let ok = parse_query::<Paging>("limit=7&unknown=1").unwrap();
        assert_eq!(ok.limit, Some(7));
    }

    #[test]
    fn a_missing_or_unknown_query_value_names_its_parameter() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            Places,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Upload {
            #[allow(dead_code)]
            kind: Kind,
        }
        for (query, message) in [
            ("", "missing field `kind`"),
            ("kind=shops", "unknown variant"),
        ] {
            let body = parse_query::<Upload>(query).unwrap_err().body();
            let errors = body.errors.unwrap();
            assert_eq!(errors[0].field, "kind", "{query}");
            assert!(
                errors[0].message.contains(message),
                "{query}: {}",
                errors[0].message
            );
        }
    }
}

/// The request's `Idempotency-Key` header, validated: `None` when absent; 422 naming the header
/// when malformed (empty, over 255 characters, not printable ASCII) or given twice.
#[derive(Debug, Clone)]
pub struct IdempotencyKeyHeader(pub Option<pi_domain::chat::IdempotencyKey>);

/// The header's name.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl FromRequest for IdempotencyKeyHeader {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(idempotency_key(req).map(Self))
    }
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<pi_domain::chat::IdempotencyKey>, ApiError> {
    let invalid = |e: pi_domain::FieldError| ApiError::validation(&e.into());
    let mut values = req.headers().get_all(IDEMPOTENCY_KEY);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid(pi_domain::FieldError::new(
            "Idempotency-Key",
            "must be given once",
        )));
    }
    let text = value.to_str().map_err(|_| {
        invalid(pi_domain::FieldError::new(
            "Idempotency-Key",
            "must be printable ASCII without spaces (a UUID is a good key)",
        ))
    })?;
    pi_domain::chat::IdempotencyKey::parse(text)
        .map(Some)
        .map_err(invalid)
}
