//! The agent ports, from configuration, in the order their dependencies need:
//!
//! 1. [`AgentSetup::from_settings`] opens what `AGENT_BACKEND` names — the embedded runtime
//!    (`pi-agent`, thinking with `LLM_BASE_URL` or the offline model) or a Letta server
//!    (`pi-letta`) — and offers its memory [`BlockStore`] at once;
//! 2. the persona service is built on those blocks, and the tool registry on the personas;
//! 3. [`AgentSetup::with_tools`] builds the [`AgentGateway`] that runs those tools.
//!
//! When Letta is unreachable or refuses the password the server still starts: chat answers 502
//! JSON (the user message is kept) and `/health/ready` says why.

use std::sync::Arc;
use std::time::Duration;

use pi_agent::offline::OfflineModel;
use pi_agent::openai::{OpenAiClient, OpenAiConfig};
use pi_agent::{EmbeddedAgentBackend, EmbeddedBlockStore, RuntimeConfig};
use pi_domain::agent::runtime::LanguageModel;
use pi_domain::agent::store::AgentStore;
use pi_domain::agent::{AgentGateway, BlockStore};
use pi_domain::health::HealthProbe;
use pi_domain::tools::ToolRegistry;
use pi_letta::{LettaBlockStore, LettaConfig};
use pi_store::{Database, SeaOrmAgentStore};

use crate::config::{AgentRuntime, Settings};

/// The adapters behind the agent ports, plus how to probe them.
#[derive(Clone)]
pub struct AgentPorts {
    /// Agents: create, message, inspect.
    pub gateway: Arc<dyn AgentGateway>,
    /// Memory blocks, shared or not.
    pub blocks: Arc<dyn BlockStore>,
    /// Reported as `agent_backend` by `/health/ready`.
    pub probe: Option<Arc<dyn HealthProbe>>,
}

impl std::fmt::Debug for AgentPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentPorts").finish_non_exhaustive()
    }
}

impl AgentPorts {
    /// Both ports from one adapter that needs no tools of ours (tests' fakes).
    pub fn from_adapter<T>(adapter: Arc<T>, probe: Option<Arc<dyn HealthProbe>>) -> Self
    where
        T: AgentGateway + BlockStore + 'static,
    {
        Self {
            gateway: adapter.clone(),
            blocks: adapter,
            probe,
        }
    }
}

/// The agent backend before its gateway exists: its blocks are usable, its tools not yet known.
pub enum AgentSetup {
    /// Pi agents in-process.
    Embedded {
        /// Where agents, blocks and history are kept.
        store: Arc<dyn AgentStore>,
        /// What the agents think with.
        llm: Arc<dyn LanguageModel>,
        /// Limits of the agent loop.
        config: RuntimeConfig,
    },
    /// Agents on a Letta server: its blocks now, its gateway from them.
    Letta(LettaBlockStore),
    /// Ports built elsewhere (tests).
    Given(AgentPorts),
}

impl std::fmt::Debug for AgentSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Embedded { .. } => "AgentSetup::Embedded",
            Self::Letta(_) => "AgentSetup::Letta",
            Self::Given(_) => "AgentSetup::Given",
        })
    }
}

impl AgentSetup {
    /// What `AGENT_BACKEND` names, kept in `db` when embedded.
    ///
    /// # Errors
    /// When the LLM or Letta client cannot be built.
    pub fn from_settings(settings: &Settings, db: &Database) -> anyhow::Result<Self> {
        match settings.agent_backend {
            AgentRuntime::Embedded => {
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
                Ok(Self::Embedded {
                    store: Arc::new(SeaOrmAgentStore::new(db.clone())),
                    llm,
                    config: RuntimeConfig {
                        turn_deadline: Duration::from_secs(settings.agent_turn_timeout_secs),
                        ..RuntimeConfig::default()
                    },
                })
            }
            AgentRuntime::Letta => {
                let letta = LettaBlockStore::new(LettaConfig {
                    base_url: settings.letta_base_url.clone(),
                    password: settings
                        .letta_server_password
                        .as_ref()
                        .map(|p| p.expose().to_owned()),
                    timeout: Duration::from_secs(settings.letta_timeout_secs),
                    model: settings.letta_model.clone(),
                    embedding: settings.letta_embedding.clone(),
                })?;
                Ok(Self::Letta(letta))
            }
        }
    }

    /// The memory blocks, usable before the gateway exists.
    pub fn blocks(&self) -> Arc<dyn BlockStore> {
        match self {
            Self::Embedded { store, .. } => Arc::new(EmbeddedBlockStore::new(Arc::clone(store))),
            Self::Letta(letta) => Arc::new(letta.clone()),
            Self::Given(ports) => Arc::clone(&ports.blocks),
        }
    }

    /// The finished ports, with a gateway whose agents may call `tools`.
    pub fn with_tools(self, blocks: Arc<dyn BlockStore>, tools: Arc<ToolRegistry>) -> AgentPorts {
        match self {
            Self::Embedded { store, llm, config } => {
                let runtime = Arc::new(EmbeddedAgentBackend::new(store, llm, tools, config));
                AgentPorts {
                    gateway: runtime.clone(),
                    blocks,
                    probe: Some(runtime),
                }
            }
            Self::Letta(letta) => {
                let gateway = Arc::new(letta.gateway(tools));
                // Letta may come up later: check now, log clearly, start anyway; readiness
                // keeps reporting until it answers.
                let probe = Arc::clone(&gateway);
                tokio::spawn(async move {
                    match probe.check().await {
                        Ok(detail) => tracing::info!(%detail, "agent backend: Letta"),
                        Err(reason) => tracing::error!(
                            %reason,
                            "agent backend: Letta is not usable yet (check LETTA_BASE_URL and LETTA_SERVER_PASSWORD); chat answers 502 until it is"
                        ),
                    }
                });
                AgentPorts {
                    gateway: gateway.clone(),
                    blocks,
                    probe: Some(gateway),
                }
            }
            Self::Given(ports) => ports,
        }
    }
}
