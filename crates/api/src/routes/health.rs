//! Liveness and readiness.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// `/health` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// Always `ok` when the process answers.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Service name.
    #[schema(example = "pi-backend")]
    pub service: &'static str,
    /// Version of the running build.
    pub version: &'static str,
    /// `local`, `test` or `production`.
    pub environment: String,
}

/// One readiness check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    /// `ok` or `error`.
    pub status: &'static str,
    /// What was found (backend, or the reason it is unavailable).
    pub detail: String,
}

/// `/health/ready` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessResponse {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// One entry per dependency (e.g. `database`).
    pub checks: BTreeMap<&'static str, CheckResult>,
}

/// Liveness: the process is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health", responses((status = 200, body = HealthResponse)))]
pub(crate) async fn health(state: web::Data<AppState>) -> web::Json<HealthResponse> {
    web::Json(liveness(&state))
}

/// Alias of `/health` for Kubernetes-style probes.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health", responses((status = 200, body = HealthResponse)))]
pub(crate) async fn healthz(state: web::Data<AppState>) -> web::Json<HealthResponse> {
    web::Json(liveness(&state))
}

fn liveness(state: &AppState) -> HealthResponse {
    HealthResponse {
        status: "ok",
        service: state.info.name,
        version: state.info.version,
        environment: state.info.environment.clone(),
    }
}

/// Readiness: every dependency answers (503 otherwise, with the reason).
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, body = ReadinessResponse, description = "All dependencies are usable"),
        (status = 503, body = ReadinessResponse, description = "A dependency is down"),
    )
)]
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let results = futures::future::join_all(state.probes.iter().map(|probe| probe.check())).await;
    let mut checks = BTreeMap::new();
    let mut all_ok = true;
    for (probe, result) in state.probes.iter().zip(results) {
        let check = match result {
            Ok(detail) => CheckResult {
                status: "ok",
                detail,
            },
            Err(detail) => {
                all_ok = false;
                CheckResult {
                    status: "error",
                    detail,
                }
            }
        };
        checks.insert(probe.name(), check);
    }
    let body = ReadinessResponse {
        status: if all_ok { "ready" } else { "unavailable" },
        checks,
    };
    if all_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/health/ready").route(web::get().to(ready)));
}
