//! `GET /personas`.

use actix_web::web;
use chrono::{DateTime, Utc};
use pi_domain::persona::Persona;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, AppState, AuthUser, ErrorBody};

/// A persona.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaResponse {
    /// e.g. `qsr_real_estate`.
    pub persona_handle: String,
    pub industry: String,
    pub professional_role: String,
    pub description: String,
    /// KPIs they track.
    pub typical_kpis: Vec<String>,
    /// What drives them.
    pub typical_motivations: String,
    /// Questions they typically ask.
    pub quintessential_queries: Vec<String>,
    /// The persona's shared memory block, once created.
    pub shared_block_id: Option<String>,
    /// RFC 3339, UTC.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
}

impl From<Persona> for PersonaResponse {
    fn from(p: Persona) -> Self {
        Self {
            persona_handle: p.def.persona_handle.as_str().to_owned(),
            industry: p.def.industry,
            professional_role: p.def.professional_role,
            description: p.def.description,
            typical_kpis: p.def.typical_kpis,
            typical_motivations: p.def.typical_motivations,
            quintessential_queries: p.def.quintessential_queries,
            shared_block_id: p.shared_block_id.map(|b| b.0),
            created_at: p.created_at,
        }
    }
}

/// Every persona.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaListResponse {
    /// By handle.
    pub personas: Vec<PersonaResponse>,
}

/// Lists the personas Pi knows.
#[utoipa::path(
    get,
    path = "/personas",
    tag = "personas",
    security(("bearer" = [])),
    responses((status = 200, body = PersonaListResponse), (status = 401, body = ErrorBody))
)]
#[tracing::instrument(skip_all, fields(user_id = %_user.0.id))]
pub(crate) async fn list_personas(
    state: web::Data<AppState>,
    _user: AuthUser,
) -> Result<web::Json<PersonaListResponse>, ApiError> {
    let personas = state.personas.list().await?;
    Ok(web::Json(PersonaListResponse {
        personas: personas.into_iter().map(Into::into).collect(),
    }))
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/personas").route(web::get().to(list_personas)));
}
