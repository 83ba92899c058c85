//! Liveness and readiness.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use pi_domain::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extractors::QueryParams;
use crate::{ApiError, AppState};

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

/// `GET /health/ready` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadyQuery {
    /// Only these checks (comma-separated names: `database`, `agent_backend`, `shutdown`)
    /// decide the answer; default: every check. A load balancer asks for
    /// `database,shutdown`, so an agent-backend outage (chat answers 502) does not take every
    /// replica, and with them logins and history, out of rotation.
    #[param(
        example = "database,shutdown",
        pattern = r"^(database|agent_backend|shutdown)(,(database|agent_backend|shutdown))*$"
    )]
    pub checks: Option<String>,
}

/// Readiness: every dependency answers (503 otherwise, with the reason).
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    params(ReadyQuery),
    responses(
        (status = 200, body = ReadinessResponse, description = "All dependencies are usable"),
        (status = 422, body = crate::ErrorBody, description = "`checks` is empty or names a check this server does not run"),
        (status = 503, body = ReadinessResponse, description = "A dependency is down"),
    )
)]
pub(crate) async fn ready(
    state: web::Data<AppState>,
    query: QueryParams<ReadyQuery>,
) -> Result<HttpResponse, ApiError> {
    let probes: Vec<_> = match query.0.checks.as_deref() {
        None => state.probes.iter().collect(),
        Some(list) => {
            let wanted: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect();
            let known: Vec<&str> = state.probes.iter().map(|p| p.name()).collect();
            if let Some(unknown) = wanted.iter().find(|n| !known.contains(n)) {
                return Err(ApiError::validation(&ValidationErrors::single(
                    "checks",
                    format!("unknown check {unknown:?}; known: {}", known.join(", ")),
                )));
            }
            if wanted.is_empty() {
                return Err(ApiError::validation(&ValidationErrors::single(
                    "checks",
                    "name at least one check",
                )));
            }
            state
                .probes
                .iter()
                .filter(|p| wanted.contains(&p.name()))
                .collect()
        }
    };
    let results = futures::future::join_all(probes.iter().map(|probe| probe.check())).await;
    let mut checks = BTreeMap::new();
    let mut all_ok = true;
    for (probe, result) in probes.iter().zip(results) {
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
    Ok(if all_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    })
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/health/ready").route(web::get().to(ready)));
}
