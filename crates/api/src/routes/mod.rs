//! HTTP routes, one module per resource.

pub(crate) mod agents;
pub(crate) mod auth;
pub(crate) mod chat;
pub(crate) mod datasets;
pub(crate) mod health;
pub(crate) mod personas;
pub(crate) mod tools;

use actix_web::web;

/// Registers every route.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    auth::configure(cfg);
    chat::configure(cfg);
    agents::configure(cfg);
    tools::configure(cfg);
    datasets::configure(cfg);
    personas::configure(cfg);
}
