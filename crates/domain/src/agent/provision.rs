//! Provisioning Pi agents: the one place that builds an agent from the template for a user
//! (with their personas' shared blocks and profile), creates it exactly once, and cleans up
//! the loser of a race. Chat's lazy creation and the admin route both use it.

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;
use tokio::sync::Mutex;

use super::{
    AgentError, AgentGateway, AgentId, AgentSpec, BlockId, DeploymentId, PiAgentTemplate,
    ToolSchema,
};
use crate::RepoError;
use crate::user::{DisplayName, User, UserId, UserRepo};

/// Label of the block that describes the user's professional persona.
pub const PROFILE_BLOCK: &str = "user_persona_profile";

/// What a user's new agent must start with from their personas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonaMemorySeed {
    /// Shared blocks of the user's personas, to attach.
    pub shared_blocks: Vec<BlockId>,
    /// Text of the `user_persona_profile` block, when the user has a persona.
    pub profile: Option<String>,
}

/// The personas' side of a new agent.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PersonaMemory: Send + Sync {
    /// The shared blocks and profile text a new agent of `user` starts with.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn seed_for(&self, user: UserId) -> Result<PersonaMemorySeed, RepoError>;
}

/// Errors of provisioning.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The user no longer exists.
    #[error("user not found")]
    UserGone,
    /// The agent backend failed.
    #[error("agent backend failed: {0}")]
    Agent(AgentError),
    /// Infrastructure failure.
    #[error("agent provisioning failed")]
    Unexpected(#[source] anyhow::Error),
}

impl From<RepoError> for ProvisionError {
    fn from(e: RepoError) -> Self {
        Self::Unexpected(e.0)
    }
}

/// Who ended up with the user's agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    /// This call created it.
    Created(AgentId),
    /// The user already had one (or another request or process created it first).
    Existing(AgentId),
}

impl Provisioned {
    /// The user's agent, whoever created it.
    pub fn agent(&self) -> &AgentId {
        match self {
            Self::Created(id) | Self::Existing(id) => id,
        }
    }
}

/// Builds and creates Pi agents.
pub struct AgentProvisioner {
    users: Arc<dyn UserRepo>,
    agents: Arc<dyn AgentGateway>,
    template: Arc<PiAgentTemplate>,
    tools: Vec<ToolSchema>,
    personas: Option<Arc<dyn PersonaMemory>>,
    /// Tag of this deployment, carried by every agent it creates.
    deployment_tag: Option<String>,
    /// One creation at a time per user in this process (across processes the conditional
    /// `UserRepo::set_agent_id_if_unset` decides).
    creating: DashMap<UserId, Arc<Mutex<()>>>,
}

impl std::fmt::Debug for AgentProvisioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentProvisioner")
            .field("tools", &self.tools.len())
            .finish_non_exhaustive()
    }
}

impl AgentProvisioner {
    /// A provisioner creating agents from `template` with `tools` (filtered by the template).
    pub fn new(
        users: Arc<dyn UserRepo>,
        agents: Arc<dyn AgentGateway>,
        template: Arc<PiAgentTemplate>,
        tools: Vec<ToolSchema>,
    ) -> Self {
        Self {
            users,
            agents,
            template,
            tools,
            personas: None,
            deployment_tag: None,
            creating: DashMap::new(),
        }
    }

    /// New agents of users with personas start with their shared blocks and profile.
    pub fn with_persona_memory(mut self, personas: Arc<dyn PersonaMemory>) -> Self {
        self.personas = Some(personas);
        self
    }

    /// Every agent created carries `deployment`'s tag, so a shared backend can tell this
    /// deployment's agents from others'.
    pub fn with_deployment(mut self, deployment: &DeploymentId) -> Self {
        self.deployment_tag = Some(deployment.tag());
        self
    }

    /// The tag of this deployment's agents, if set.
    pub fn deployment_tag(&self) -> Option<&str> {
        self.deployment_tag.as_deref()
    }

    fn tagged(&self, mut spec: AgentSpec) -> AgentSpec {
        if let Some(tag) = &self.deployment_tag
            && !spec.tags.contains(tag)
        {
            spec.tags.push(tag.clone());
        }
        spec
    }

    /// The user's agent, created exactly once.
    ///
    /// # Errors
    /// [`ProvisionError::UserGone`], [`ProvisionError::Agent`], [`ProvisionError::Unexpected`].
    pub async fn ensure_for(&self, user: &User) -> Result<Provisioned, ProvisionError> {
        self.ensure_named(user, None).await
    }

    /// [`AgentProvisioner::ensure_for`], naming the user `name` in the `human` block instead of
    /// their display name.
    ///
    /// # Errors
    /// As `ensure_for`.
    pub async fn ensure_named(
        &self,
        user: &User,
        name: Option<DisplayName>,
    ) -> Result<Provisioned, ProvisionError> {
        if let Some(id) = &user.agent_id {
            return Ok(Provisioned::Existing(AgentId(id.clone())));
        }
        let lock = Arc::clone(self.creating.entry(user.id).or_default().value());
        let result = {
            let _guard = lock.lock().await;
            self.create_for(user.id, name).await
        };
        // Forget the per-user lock once nobody else waits on it.
        self.creating
            .remove_if(&user.id, |_, m| Arc::strong_count(m) <= 2);
        result
    }

    async fn create_for(
        &self,
        user: UserId,
        name: Option<DisplayName>,
    ) -> Result<Provisioned, ProvisionError> {
        // Someone may have created it while we waited for the lock.
        let current = self
            .users
            .find_by_id(user)
            .await?
            .ok_or(ProvisionError::UserGone)?;
        if let Some(id) = current.agent_id {
            return Ok(Provisioned::Existing(AgentId(id)));
        }
        let seed = match &self.personas {
            Some(personas) => personas.seed_for(user).await?,
            None => PersonaMemorySeed::default(),
        };
        let mut spec = self.template.spec_for(
            name.as_ref().unwrap_or(&current.display_name),
            Some(user),
            seed.shared_blocks,
            &self.tools,
        );
        if let Some(profile) = seed.profile {
            for block in spec.memory_blocks.iter_mut() {
                if block.label == PROFILE_BLOCK {
                    block.value = profile.chars().take(block.limit).collect();
                }
            }
        }
        let created = self
            .agents
            .create_agent(self.tagged(spec))
            .await
            .map_err(ProvisionError::Agent)?;
        match self.users.set_agent_id_if_unset(user, &created.0).await? {
            Some(id) if id == created.0 => {
                tracing::info!(agent_id = %created, "created the user's Pi agent");
                Ok(Provisioned::Created(created))
            }
            Some(id) => {
                // Another process won the race: keep its agent, remove ours.
                if let Err(e) = self.agents.delete_agent(&created).await {
                    tracing::warn!(agent_id = %created, error = %e, "could not delete a duplicate agent");
                }
                Ok(Provisioned::Existing(AgentId(id)))
            }
            None => {
                if let Err(e) = self.agents.delete_agent(&created).await {
                    tracing::warn!(agent_id = %created, error = %e, "could not delete the agent of a deleted user");
                }
                Err(ProvisionError::UserGone)
            }
        }
    }

    /// A Pi agent that belongs to nobody (admin).
    ///
    /// # Errors
    /// The backend's [`AgentError`].
    pub async fn create_standalone(&self, name: &DisplayName) -> Result<AgentId, AgentError> {
        let spec = self.template.spec_for(name, None, Vec::new(), &self.tools);
        self.agents.create_agent(self.tagged(spec)).await
    }
}
