//! Choosing the agent backend from configuration.
//!
//! `AGENT_BACKEND=embedded` (the default) runs Pi agents in-process (`pi-agent`), thinking with
//! the OpenAI-compatible endpoint in `LLM_BASE_URL` or, without one, the offline model.
//! `AGENT_BACKEND=letta` uses the Letta REST adapter (`pi-letta`); when Letta is unreachable or
//! refuses the password the server still starts, chat answers 502 JSON (the user message is kept)
//! and `/health/ready` reports why.

use std::sync::Arc;
use std::time::Duration;

use pi_agent::offline::OfflineModel;
use pi_agent::openai::{OpenAiClient, OpenAiConfig};
use pi_agent::{EmbeddedAgentBackend, RuntimeConfig};
use pi_domain::agent::runtime::LanguageModel;
use pi_domain::tools::ToolRegistry;
use pi_letta::{LettaBackend, LettaConfig};
use pi_store::{Database, SeaOrmAgentStore};

use pi_domain::agent::{AgentGateway, BlockStore};
use pi_domain::health::HealthProbe;

use crate::config::{AgentBackend as BackendKind, Settings};

/// The adapters behind the agent ports, plus how to probe them.
#[derive(Clone)]
pub struct AgentBackend {
    /// Agents.
    pub gateway: Arc<dyn AgentGateway>,
    /// Memory blocks.
    pub blocks: Arc<dyn BlockStore>,
    /// Readiness probe, reported as `agent_backend` by `/health/ready`.
    pub probe: Option<Arc<dyn HealthProbe>>,
    /// Hands the tool registry to a backend that runs tools itself (the embedded runtime), once
    /// the services the tools need exist.
    pub tool_sink: Option<Arc<dyn Fn(Arc<ToolRegistry>) + Send + Sync>>,
}

impl std::fmt::Debug for AgentBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentBackend").finish_non_exhaustive()
    }
}

impl AgentBackend {
    /// A backend from any adapter implementing both ports.
    pub fn from_adapter<T>(adapter: Arc<T>, probe: Option<Arc<dyn HealthProbe>>) -> Self
    where
        T: AgentGateway + BlockStore + 'static,
    {
        Self {
            gateway: adapter.clone(),
            blocks: adapter,
            probe,
            tool_sink: None,
        }
    }

    /// The backend named by `AGENT_BACKEND`, persisted in `db`, running `tools`.
    ///
    /// # Errors
    /// When the LLM client cannot be built.
    pub fn from_settings(settings: &Settings, db: &Database) -> anyhow::Result<Self> {
        match settings.agent_backend {
            BackendKind::Embedded => {
                let llm: Arc<dyn LanguageModel> = match &settings.llm_base_url {
                    Some(base_url) => Arc::new(OpenAiClient::new(OpenAiConfig {
                        base_url: base_url.clone(),
                        api_key: settings.llm_api_key.as_ref().map(|k| k.expose().to_owned()),
                        model: settings.llm_model.clone(),
                        timeout: Duration::from_secs(settings.llm_timeout_secs),
                        max_retries: 3,
                        backoff: Duration::from_millis(250),
                    })?),
                    None => Arc::new(OfflineModel),
                };
                tracing::info!(llm = %llm.describe(), "agent backend: embedded runtime");
                let runtime = Arc::new(EmbeddedAgentBackend::new(
                    Arc::new(SeaOrmAgentStore::new(db.clone())),
                    llm,
                    RuntimeConfig {
                        turn_deadline: Duration::from_secs(settings.agent_turn_timeout_secs),
                        ..RuntimeConfig::default()
                    },
                ));
                let sink = Arc::clone(&runtime);
                Ok(Self {
                    tool_sink: Some(Arc::new(move |tools| sink.set_tools(tools))),
                    ..Self::from_adapter(runtime.clone(), Some(runtime))
                })
            }
            BackendKind::Letta => {
                let letta = Arc::new(LettaBackend::new(LettaConfig {
                    base_url: settings.letta_base_url.clone(),
                    password: settings
                        .letta_server_password
                        .as_ref()
                        .map(|p| p.expose().to_owned()),
                    timeout: Duration::from_secs(settings.letta_timeout_secs),
                    model: settings.letta_model.clone(),
                    embedding: settings.letta_embedding.clone(),
                })?);
                // Letta may come up later: check now, log clearly, start anyway; readiness
                // keeps reporting until it answers.
                let probe = Arc::clone(&letta);
                tokio::spawn(async move {
                    match probe.check().await {
                        Ok(detail) => tracing::info!(%detail, "agent backend: Letta"),
                        Err(reason) => tracing::error!(
                            %reason,
                            "agent backend: Letta is not usable yet (check LETTA_BASE_URL and LETTA_SERVER_PASSWORD); chat answers 502 until it is"
                        ),
                    }
                });
                let sink = Arc::clone(&letta);
                Ok(Self {
                    tool_sink: Some(Arc::new(move |tools| sink.set_tools(tools))),
                    ..Self::from_adapter(letta.clone(), Some(letta))
                })
            }
        }
    }
}
