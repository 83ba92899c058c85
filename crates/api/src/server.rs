//! Building and running the actix-web server.

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::{Method, header};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::error::canonical;
use crate::extractors::BodyLimit;
use crate::middleware::{PiRootSpan, X_REQUEST_ID, request_context};
use crate::{ApiDoc, ApiError, AppState, ErrorBody, routes};

/// HTTP-level settings.
#[derive(Clone)]
pub struct HttpConfig {
    /// Exact origins allowed by CORS (credentials are allowed, so `*` is never used).
    pub cors_allowed_origins: Vec<String>,
    /// Largest accepted request body, in bytes (413 beyond).
    pub body_limit_bytes: usize,
    /// Seconds in-flight requests get to finish after SIGTERM/Ctrl-C.
    pub shutdown_timeout_secs: u64,
    /// Whether the server stops itself on SIGTERM/Ctrl-C; `false` when the caller handles
    /// signals (and stops it through its handle).
    pub handle_signals: bool,
    /// Worker threads; `None` = one per core.
    pub workers: Option<usize>,
    /// Bearer token for `GET /metrics`; `None` = loopback callers only.
    pub metrics_token: Option<String>,
    /// Run before each `/metrics` scrape (e.g. the database pool's gauges).
    pub scrape_hooks: Vec<crate::ScrapeHook>,
    /// Quiet time after which a streamed reply sends a `: keep-alive` comment.
    pub sse_keep_alive: std::time::Duration,
    /// Proxies whose `X-Forwarded-For` names the client (login throttling, logs).
    pub trusted_proxies: crate::TrustedProxies,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field("handle_signals", &self.handle_signals)
            .field("workers", &self.workers)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "[redacted]"),
            )
            .field("scrape_hooks", &self.scrape_hooks.len())
            .field("sse_keep_alive", &self.sse_keep_alive)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            cors_allowed_origins: Vec::new(),
            body_limit_bytes: 256 * 1024,
            shutdown_timeout_secs: 30,
            handle_signals: true,
            metrics_token: None,
            scrape_hooks: Vec::new(),
            workers: None,
            sse_keep_alive: std::time::Duration::from_secs(15),
            trusted_proxies: crate::TrustedProxies::default(),
        }
    }
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            X_REQUEST_ID,
            header::HeaderName::from_static(crate::extractors::IDEMPOTENCY_KEY),
        ])
        .expose_headers([X_REQUEST_ID, header::RETRY_AFTER])
        .supports_credentials()
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Unknown routes: JSON 404 naming the method and path.
async fn fallback(req: HttpRequest) -> HttpResponse {
    let (code, _) = canonical(actix_web::http::StatusCode::NOT_FOUND);
    HttpResponse::NotFound().json(ErrorBody {
        detail: format!("No route for {} {}.", req.method(), req.path()),
        code: code.to_owned(),
        errors: None,
    })
}

/// A malformed query string is a 422 naming the problem.
fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = match &err {
        actix_web::error::QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    ApiError::validation(&pi_domain::ValidationErrors::single("query", message)).into()
}

/// A path segment that cannot name anything (e.g. not a UUID) is a 404, like a missing resource.
fn path_error(_: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "not_found",
        format!("Nothing found at {}.", req.path()),
    )
    .into()
}

/// The OpenAPI document, serialised once at start-up and shared by every worker: handing
/// `SwaggerUi` the [`utoipa::openapi::OpenApi`] value kept a ~2.5 MB tree per worker and
/// serialised it again on every request.
#[derive(Clone)]
struct OpenApiJson(web::Bytes);

async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(header::ContentType::json())
        .body(doc.0.clone())
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// Starts serving `state` on `listener`. The returned [`Server`] finishes in-flight requests
/// on SIGTERM/Ctrl-C (up to `shutdown_timeout_secs`) before resolving.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve(
    listener: TcpListener,
    state: AppState,
    config: HttpConfig,
) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let openapi = web::Data::new(OpenApiJson(web::Bytes::from(
        serde_json::to_vec(&ApiDoc::openapi()).map_err(std::io::Error::other)?,
    )));
    let limit = config.body_limit_bytes;
    let keep_alive = crate::routes::chat::SseKeepAlive(config.sse_keep_alive);
    let origins = config.cors_allowed_origins.clone();
    let proxies = config.trusted_proxies.clone();
    let metrics = web::Data::new(crate::metrics::HttpMetrics::new(
        config.metrics_token.clone(),
        config.scrape_hooks.clone(),
    ));
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(metrics.clone())
            .service(web::resource("/metrics").route(web::get().to(crate::metrics::metrics)))
            .app_data(BodyLimit(limit))
            .app_data(keep_alive)
            .app_data(proxies.clone())
            .app_data(web::PayloadConfig::new(limit))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .configure(routes::configure)
            .configure(crate::console::configure)
            .route("/docs", web::get().to(docs_redirect))
            .app_data(openapi.clone())
            .route("/openapi.json", web::get().to(openapi_json))
            .service(SwaggerUi::new("/docs/{_:.*}").config(Config::from("/openapi.json")))
            .default_service(web::to(fallback))
            .wrap(cors(&origins))
            .wrap(from_fn(request_context))
            .wrap(TracingLogger::<PiRootSpan>::new())
    })
    // Streamed replies write many small pieces: without TCP_NODELAY, Nagle's algorithm holds
    // each one back until the previous is acknowledged (up to the peer's 40 ms delayed ACK).
    .on_connect(|connection, _| {
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>()
            && let Err(e) = tcp.set_nodelay(true)
        {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    })
    .listen(listener)?
    .shutdown_timeout(config.shutdown_timeout_secs);
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    if !config.handle_signals {
        server = server.disable_signals();
    }
    Ok(server.run())
}
