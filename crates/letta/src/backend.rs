//! The two adapters — blocks first, the gateway once the tools exist — and the readiness probe.

use std::sync::Arc;

use async_trait::async_trait;
use pi_domain::agent::AgentError;
use pi_domain::health::HealthProbe;
use pi_domain::tools::ToolRegistry;

use crate::client::{Client, LettaConfig, Route};
use crate::wire::Health;

/// Memory blocks on a Letta server ([`pi_domain::agent::BlockStore`]). Needs no tools, so the
/// persona service (which the persona tools need) can be built on it first.
#[derive(Clone)]
pub struct LettaBlockStore {
    pub(crate) client: Client,
}

impl std::fmt::Debug for LettaBlockStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LettaBlockStore")
            .field("config", self.client.config())
            .finish_non_exhaustive()
    }
}

impl LettaBlockStore {
    /// Blocks on the server `config` names.
    ///
    /// # Errors
    /// `Unavailable` when the HTTP client cannot be built.
    pub fn new(config: LettaConfig) -> Result<Self, AgentError> {
        Ok(Self {
            client: Client::new(config)?,
        })
    }

    /// The agent gateway on the same server and connection pool, running `tools` for its
    /// agents as Letta client-side tools.
    pub fn gateway(&self, tools: Arc<ToolRegistry>) -> LettaBackend {
        LettaBackend {
            client: self.client.clone(),
            tools,
        }
    }
}

/// Agents on a Letta server ([`pi_domain::agent::AgentGateway`]), our tools running here.
pub struct LettaBackend {
    pub(crate) client: Client,
    pub(crate) tools: Arc<ToolRegistry>,
}

impl std::fmt::Debug for LettaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LettaBackend")
            .field("config", self.client.config())
            .finish_non_exhaustive()
    }
}

impl LettaBackend {
    /// The gateway to the server `config` names, running `tools`.
    ///
    /// # Errors
    /// `Unavailable` when the HTTP client cannot be built.
    pub fn new(config: LettaConfig, tools: Arc<ToolRegistry>) -> Result<Self, AgentError> {
        Ok(LettaBlockStore::new(config)?.gateway(tools))
    }
}

#[async_trait]
impl HealthProbe for LettaBackend {
    fn name(&self) -> &'static str {
        "agent_backend"
    }

    /// Reachable (`GET /v1/health/`, which Letta leaves open) and the password accepted (an
    /// authenticated one-item listing).
    async fn check(&self) -> Result<String, String> {
        let health: Health = self
            .client
            .get(&Route::collection(&["health"]))
            .await
            .map_err(|e| e.to_string())?;
        self.client
            .get_ok(&Route::collection(&["agents"]).query("limit", 1))
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "letta {} at {}",
            health.version,
            self.client.config().base_url
        ))
    }
}
