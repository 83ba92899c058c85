//! actix-web adapter: routes, extractors, error mapping, OpenAPI, and the HTTP server itself.
//!
//! Handlers are thin: parse the request, call one domain service, map the result. Only this crate
//! knows HTTP.

mod client_address;
mod console;
mod error;
mod extractors;
mod metrics;
mod middleware;
mod openapi;
#[cfg(test)]
mod patterns;
mod rfc3339;
mod routes;
mod server;
mod state;

pub use client_address::TrustedProxies;
pub use error::{ApiError, ErrorBody, FieldErrorBody};
pub use extractors::{AdminUser, AuthUser, JsonBody};
pub use metrics::{HttpMetrics, ScrapeHook};
pub use openapi::ApiDoc;
pub use server::{HttpConfig, serve};
pub use state::{AppState, ServiceInfo};
