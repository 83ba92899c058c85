//! Shared application state handed to every handler.

use std::sync::Arc;

use pi_domain::admin::AgentAdminService;
use pi_domain::auth::AuthService;
use pi_domain::chat::ChatService;
use pi_domain::health::HealthProbe;
use pi_domain::persona::PersonaService;
use pi_domain::tools::ToolService;

/// Static facts about the running service, reported by `/health`.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// Service name (`pi-backend`).
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// `local`, `test` or `production`.
    pub environment: String,
}

/// Everything handlers need: the domain services and the readiness probes.
#[derive(Clone)]
pub struct AppState {
    /// Signup, login and token resolution.
    pub auth: Arc<AuthService>,
    /// Conversations and messages.
    pub chat: Arc<ChatService>,
    /// The agent admin API.
    pub admin: Arc<AgentAdminService>,
    /// Every tool the agents can call, for admins to list and run.
    pub tools: Arc<ToolService>,
    /// Personas and their shared memory.
    pub personas: Arc<PersonaService>,
    /// The data sets the tools answer from.
    pub data: Arc<pi_domain::data::DataService>,
    /// Imports of files uploaded to `POST /datasets/{name}/imports`.
    pub uploads: Arc<dyn pi_domain::data::UploadImporter>,
    /// Dependencies checked by `/health/ready`.
    pub probes: Vec<Arc<dyn HealthProbe>>,
    /// Service facts.
    pub info: ServiceInfo,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field(
                "probes",
                &self.probes.iter().map(|p| p.name()).collect::<Vec<_>>(),
            )
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}
