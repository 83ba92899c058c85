//! Cross-cutting HTTP behaviour: request ids, the per-request tracing span, the access log line,
//! and turning actix's own plain-text errors (404, 405, 413, ...) into JSON.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use crate::error::{ErrorBody, canonical};

/// The `x-request-id` header.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request: the client's `x-request-id` when it is sane, a UUID otherwise.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Builds the root span of every request, carrying its request id.
#[derive(Debug)]
pub(crate) struct PiRootSpan;

impl RootSpanBuilder for PiRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| acceptable(v))
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let client = crate::client_address::client_ip(request.request())
            .map_or_else(String::new, |ip| ip.to_string());
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            client_ip = %client,
            method = %request.method(),
            path = %request.path(),
            status = tracing::field::Empty,
        );
        request.extensions_mut().insert(RequestId(id));
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
    }
}

/// Sets `x-request-id`, converts non-JSON error responses to JSON and logs one line per request.
pub(crate) async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = req.extensions().get::<RequestId>().cloned();
    let is_options = req.method() == Method::OPTIONS;
    let metrics = req
        .app_data::<actix_web::web::Data<crate::metrics::HttpMetrics>>()
        .cloned();
    let method = req.method().to_string();
    if let Some(m) = &metrics {
        m.start();
    }
    // Inner services turn handler and extractor errors into responses; an `Err` here would come
    // from a middleware and is passed on unchanged. (Cloning the request to build a response
    // ourselves would break actix's routing, which needs the request uniquely owned.)
    let mut response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        Err(e) => {
            if let Some(m) = &metrics {
                let status = e.as_response_error().status_code().as_u16();
                m.finish(&method, "unmatched", status, started.elapsed());
            }
            return Err(e);
        }
    };
    if is_options {
        response = answer_options(response);
    }
    let mut response = jsonify_error(response);
    if let Some(id) = request_id
        && let Ok(value) = HeaderValue::from_str(&id.0)
    {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    if let Some(m) = &metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        m.finish(&method, &route, status, started.elapsed());
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        tracing::error!(status, latency_ms, "request finished");
    } else {
        tracing::info!(status, latency_ms, "request finished");
    }
    Ok(response)
}

/// A plain `OPTIONS` (CORS preflights are answered by the CORS middleware before this) on a
/// route answers 204 with the methods that route really has in `Allow`; on a path with no
/// route it stays a 404.
fn answer_options(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let (request, old) = response.into_parts();
    let mut allow: Vec<String> = old
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect()
        })
        .unwrap_or_default();
    allow.push("OPTIONS".to_owned());
    let mut builder = HttpResponse::NoContent();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && name != header::ALLOW {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    builder.insert_header((header::ALLOW, allow.join(", ")));
    ServiceResponse::new(request, builder.finish())
}

fn is_json(response: &ServiceResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Rewrites a 4xx/5xx response that is not JSON into our `{detail, code}` body, keeping its
/// status and headers (e.g. `Allow` on 405, CORS headers).
fn jsonify_error(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (request, old) = response.into_parts();
    let (code, detail) = canonical(status);
    let mut builder = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    let body = ErrorBody {
        detail: detail.to_owned(),
        code: code.to_owned(),
        errors: None,
    };
    ServiceResponse::new(request, builder.json(body))
}
