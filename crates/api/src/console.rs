//! The Pi console: the web UI served at `/` from assets embedded in the binary (`console/public`).
//!
//! No CDN and no separate server: the page, its script and the vendored libraries (npm, under
//! `console/package-lock.json`) are compiled in, so a fresh clone serves them without Node.

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "../../console/public"]
struct Assets;

/// What the page may load and run: only this origin, no framing, no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
     style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Registers `GET /` (the page) and `GET /console/{file}` (its assets), gzip/brotli-compressed.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .wrap(Compress::default())
            .route(web::get().to(index))
            .route(web::head().to(index)),
    )
    .service(
        web::resource("/console/{file:.+}")
            .wrap(Compress::default())
            .route(web::get().to(asset))
            .route(web::head().to(asset)),
    );
}

async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut response = serve(&req, "index.html")?;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    Ok(response)
}

async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    // The page is only served at `/`, so there is one URL to cache and to protect.
    if file.as_str() == "index.html" {
        return Err(not_found(&req));
    }
    serve(&req, &file)
}

/// The embedded file, revalidated by its SHA-256 (a weak `ETag`; `If-None-Match` compares weakly) on every use: a new binary's assets are
/// never mixed with an old page.
fn serve(req: &HttpRequest, path: &str) -> Result<HttpResponse, ApiError> {
    let file = Assets::get(path).ok_or_else(|| not_found(req))?;
    // Weak: `Compress` sends the same file gzip-, brotli- or un-encoded under this one tag.
    let hash = hex(&file.metadata.sha256_hash());
    let etag = format!("W/\"{hash}\"");
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == hash)
        });
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return Ok(response.finish());
    }
    let kind = file.metadata.mimetype();
    let textual =
        kind.starts_with("text/") || kind.ends_with("javascript") || kind.ends_with("json");
    let kind = if textual {
        format!("{kind}; charset=utf-8")
    } else {
        kind.to_owned()
    };
    Ok(response.content_type(kind).body(file.data.into_owned()))
}

fn not_found(req: &HttpRequest) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "not_found",
        format!("Nothing found at {}.", req.path()),
    )
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
