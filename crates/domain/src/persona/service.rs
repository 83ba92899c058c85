//! `PersonaService`: shared blocks per persona, fan-out to agents, user assignment.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;

use super::{Persona, PersonaDef, PersonaHandle, PersonaLock, PersonaRepo, UserPersona};
use crate::RepoError;
use crate::agent::{
    AgentError, AgentId, BlockId, BlockSpec, BlockStore, PROFILE_BLOCK, PersonaMemory,
    PersonaMemorySeed,
};
use crate::user::UserId;

/// Limit of a shared block, characters.
pub const SHARED_BLOCK_LIMIT: usize = 8000;

/// Errors of persona operations.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// Bad handle or confidence.
    #[error("{0}")]
    Invalid(String),
    /// Unknown persona.
    #[error("unknown persona {0}")]
    NotFound(String),
    /// The agent backend failed creating the shared block.
    #[error("agent backend failed: {0}")]
    Agent(AgentError),
    /// Infrastructure failure.
    #[error("persona operation failed")]
    Unexpected(#[source] anyhow::Error),
}

impl From<RepoError> for PersonaError {
    fn from(e: RepoError) -> Self {
        Self::Unexpected(e.0)
    }
}

/// Result of attaching a persona's shared block to its users' agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachReport {
    /// The shared block.
    pub block_id: BlockId,
    /// Agents it was attached to now.
    pub attached: Vec<AgentId>,
    /// Agents that already had it.
    pub already_attached: usize,
    /// Agents that failed, with the reason (the others were still attached).
    pub failed: Vec<(AgentId, String)>,
}

/// The `user_persona_profile` text for a user's personas (highest confidence first), or `None`
/// without any.
pub fn profile_text(personas: &[UserPersona]) -> Option<String> {
    let mut ranked: Vec<&UserPersona> = personas.iter().collect();
    ranked.sort_by(|a, b| b.confidence_score.total_cmp(&a.confidence_score));
    let (first, rest) = ranked.split_first()?;
    let def = &first.persona.def;
    let mut text = format!(
        "Professional persona: {} (confidence {:.2}). Industry: {}. Role: {}. {}",
        def.persona_handle,
        first.confidence_score,
        def.industry.replace('_', " "),
        def.professional_role.replace('_', " "),
        def.description.trim()
    );
    if !def.typical_kpis.is_empty() {
        text.push_str(&format!(" Typical KPIs: {}.", def.typical_kpis.join(", ")));
    }
    if !rest.is_empty() {
        let others: Vec<String> = rest
            .iter()
            .map(|p| {
                format!(
                    "{} ({:.2})",
                    p.persona.def.persona_handle, p.confidence_score
                )
            })
            .collect();
        text.push_str(&format!(" Other possible personas: {}.", others.join(", ")));
    }
    Some(text)
}

/// Result of assigning a persona to a user.
#[derive(Debug, Clone)]
pub struct AssignOutcome {
    pub persona: Persona,
    /// Stored confidence.
    pub confidence_score: f64,
    /// Fan-out report.
    pub report: AttachReport,
}

/// Personas and their shared memory.
pub struct PersonaService {
    repo: Arc<dyn PersonaRepo>,
    blocks: Arc<dyn BlockStore>,
    lock: Arc<dyn PersonaLock>,
    concurrency: usize,
}

impl std::fmt::Debug for PersonaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonaService")
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

fn shared_block_spec(handle: &PersonaHandle) -> BlockSpec {
    BlockSpec {
        label: handle.shared_block_label(),
        value: String::new(),
        limit: SHARED_BLOCK_LIMIT,
        description: format!(
            "Shared with every Pi agent that serves a {} professional. Record anonymised, reusable lessons about serving this kind of user: what they ask, which analyses help, how they like answers. Never write names, emails, companies, addresses, specific places or any other personal data: other users' agents read this block.",
            handle.as_str().replace('_', " ")
        ),
        read_only: false,
    }
}

impl PersonaService {
    /// Builds the service; `concurrency` bounds parallel attach calls.
    pub fn new(
        repo: Arc<dyn PersonaRepo>,
        blocks: Arc<dyn BlockStore>,
        lock: Arc<dyn PersonaLock>,
        concurrency: usize,
    ) -> Self {
        Self {
            repo,
            blocks,
            lock,
            concurrency: concurrency.max(1),
        }
    }

    /// Every persona.
    ///
    /// # Errors
    /// [`PersonaError::Unexpected`].
    pub async fn list(&self) -> Result<Vec<Persona>, PersonaError> {
        Ok(self.repo.list().await?)
    }

    /// A user's personas.
    ///
    /// # Errors
    /// [`PersonaError::Unexpected`].
    pub async fn personas_of(&self, user: UserId) -> Result<Vec<UserPersona>, PersonaError> {
        Ok(self.repo.personas_of(user).await?)
    }

    /// The persona's shared block: found by `personas.shared_block_id`, or created exactly once
    /// under the per-persona lock (the block is created outside any database transaction).
    ///
    /// # Errors
    /// [`PersonaError::NotFound`], [`PersonaError::Agent`], [`PersonaError::Unexpected`].
    pub async fn get_or_create_shared_block(
        &self,
        handle: &PersonaHandle,
    ) -> Result<BlockId, PersonaError> {
        let persona = self
            .repo
            .get_by_handle(handle)
            .await?
            .ok_or_else(|| PersonaError::NotFound(handle.to_string()))?;
        if let Some(id) = persona.shared_block_id {
            return Ok(id);
        }
        let guard = self.lock.lock(handle).await?;
        let result = async {
            // Someone may have created it while we waited.
            let persona = self
                .repo
                .get_by_handle(handle)
                .await?
                .ok_or_else(|| PersonaError::NotFound(handle.to_string()))?;
            if let Some(id) = persona.shared_block_id {
                return Ok(id);
            }
            let block = self
                .blocks
                .create_block(shared_block_spec(handle))
                .await
                .map_err(PersonaError::Agent)?;
            self.repo.set_shared_block(persona.id, &block.id).await?;
            tracing::info!(persona = %handle, block_id = %block.id, "created persona shared block");
            Ok(block.id)
        }
        .await;
        guard.release().await;
        result
    }

    /// Attaches the persona's shared block to the agents of every linked user, concurrently
    /// (bounded), skipping agents that have it; per-agent failures are reported, not fatal.
    ///
    /// # Errors
    /// [`PersonaError`] when the block or the list of agents cannot be had.
    pub async fn attach_shared_block(
        &self,
        handle: &PersonaHandle,
    ) -> Result<AttachReport, PersonaError> {
        let block = self.get_or_create_shared_block(handle).await?;
        let persona = self
            .repo
            .get_by_handle(handle)
            .await?
            .ok_or_else(|| PersonaError::NotFound(handle.to_string()))?;
        let agents = self.repo.agents_of_persona(persona.id).await?;
        let existing: HashSet<AgentId> = self
            .blocks
            .agents_of_block(&block)
            .await
            .map_err(PersonaError::Agent)?
            .into_iter()
            .collect();
        let todo: Vec<AgentId> = agents
            .into_iter()
            .filter(|a| !existing.contains(a))
            .collect();
        let already = existing.len();
        let results: Vec<Result<AgentId, (AgentId, String)>> = futures::stream::iter(todo)
            .map(|agent| {
                let block = block.clone();
                async move {
                    match self.blocks.attach_block(&agent, &block).await {
                        Ok(()) => Ok(agent),
                        Err(e) => Err((agent, e.to_string())),
                    }
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut report = AttachReport {
            block_id: block,
            attached: Vec::new(),
            already_attached: already,
            failed: Vec::new(),
        };
        for r in results {
            match r {
                Ok(a) => report.attached.push(a),
                Err(f) => {
                    tracing::warn!(agent_id = %f.0, error = %f.1, persona = %handle, "could not attach shared block");
                    report.failed.push(f);
                }
            }
        }
        report.attached.sort();
        Ok(report)
    }

    /// Links `user` to the persona (created from the handle if unknown) with `confidence`, then
    /// attaches the shared block to every agent of the persona's users.
    ///
    /// # Errors
    /// [`PersonaError::Invalid`] for a bad handle or confidence; others as above.
    pub async fn assign(
        &self,
        user: UserId,
        handle: &str,
        confidence: f64,
    ) -> Result<AssignOutcome, PersonaError> {
        let handle = PersonaHandle::parse(handle).map_err(PersonaError::Invalid)?;
        if !confidence.is_finite() || !(0.0..=1.0).contains(&confidence) {
            return Err(PersonaError::Invalid(format!(
                "confidence_score must be between 0 and 1 (got {confidence})"
            )));
        }
        let persona = self
            .repo
            .get_or_create(PersonaDef::derived(handle.clone()))
            .await?;
        self.repo.upsert_link(user, persona.id, confidence).await?;
        let report = self.attach_shared_block(&handle).await?;
        self.refresh_profile(user).await?;
        let persona = self.repo.get_by_handle(&handle).await?.unwrap_or(persona);
        Ok(AssignOutcome {
            persona,
            confidence_score: confidence,
            report,
        })
    }

    /// Rewrites the `user_persona_profile` block of the user's agent (if any) from their
    /// personas, so every path that assigns a persona reaches the agent's memory.
    ///
    /// # Errors
    /// [`PersonaError::Agent`] when the block cannot be read or written; store failures.
    pub async fn refresh_profile(&self, user: UserId) -> Result<(), PersonaError> {
        let Some(agent) = self.repo.agent_of_user(user).await? else {
            return Ok(()); // The agent will start with the profile when it is created.
        };
        let Some(text) = profile_text(&self.repo.personas_of(user).await?) else {
            return Ok(());
        };
        let blocks = match self.blocks.blocks_of_agent(&agent).await {
            Ok(blocks) => blocks,
            // The agent is gone; the next one starts with the profile.
            Err(AgentError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(PersonaError::Agent(e)),
        };
        let Some(block) = blocks.into_iter().find(|b| b.label == PROFILE_BLOCK) else {
            tracing::warn!(agent_id = %agent, "agent has no user_persona_profile block");
            return Ok(());
        };
        let value: String = text.chars().take(block.limit).collect();
        if block.value != value {
            self.blocks
                .update_block_value(&block.id, &value)
                .await
                .map_err(PersonaError::Agent)?;
        }
        Ok(())
    }

    /// Stores the catalogue's personas (existing handles are left as they are).
    ///
    /// # Errors
    /// [`PersonaError::Unexpected`].
    pub async fn ensure(&self, defs: Vec<PersonaDef>) -> Result<Vec<Persona>, PersonaError> {
        let mut out = Vec::new();
        for def in defs {
            out.push(self.repo.get_or_create(def).await?);
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl PersonaMemory for PersonaService {
    async fn seed_for(&self, user: UserId) -> Result<PersonaMemorySeed, RepoError> {
        let personas = self.repo.personas_of(user).await?;
        let mut shared_blocks = Vec::new();
        for link in &personas {
            match self
                .get_or_create_shared_block(&link.persona.def.persona_handle)
                .await
            {
                Ok(id) => shared_blocks.push(id),
                Err(e) => {
                    tracing::warn!(error = %e, "persona shared block unavailable for a new agent")
                }
            }
        }
        Ok(PersonaMemorySeed {
            shared_blocks,
            profile: profile_text(&personas),
        })
    }
}

#[cfg(test)]
mod tests;
