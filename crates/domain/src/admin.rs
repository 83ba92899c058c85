//! The agent admin API: list, inspect, message and clean up agents.
//!
//! Admins may do everything; other users may only see the overview, memory and archival of
//! their own agent. Another user's agent looks exactly like a missing one.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use crate::RepoError;
use crate::ValidationErrors;
use crate::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentProvisioner, AgentReply, AgentSummary,
    Block, Passage, ProvisionError, Provisioned,
};
use crate::chat::MessageContent;
use crate::user::{DisplayName, User, UserId, UserRepo};

/// Agents fetched per backend page when listing everything.
const PAGE: usize = 100;
/// Backend calls in flight at once when gathering blocks for the overview.
const CONCURRENCY: usize = 8;

/// Errors of the admin use cases.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The caller is not an admin.
    #[error("admin only")]
    Forbidden,
    /// No such agent (or not the caller's).
    #[error("agent not found")]
    NotFound,
    /// No such user.
    #[error("user not found")]
    UserNotFound,
    /// The user already has an agent.
    #[error("user already has an agent")]
    AgentExists,
    /// Invalid input.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The agent backend failed.
    #[error("agent backend failed: {0}")]
    Agent(AgentError),
    /// Infrastructure failure.
    #[error("admin operation failed")]
    Unexpected(#[source] anyhow::Error),
}

impl From<RepoError> for AdminError {
    fn from(e: RepoError) -> Self {
        Self::Unexpected(e.0)
    }
}

impl From<AgentError> for AdminError {
    fn from(e: AgentError) -> Self {
        match e {
            AgentError::NotFound(_) => Self::NotFound,
            AgentError::Store(m) => Self::Unexpected(anyhow::anyhow!("agent store: {m}")),
            AgentError::StorageUnavailable(e) => {
                Self::Unexpected(anyhow::Error::new(e).context("agent store"))
            }
            AgentError::Unavailable(_)
            | AgentError::Timeout
            | AgentError::Rejected(_)
            | AgentError::Busy { .. } => Self::Agent(e),
        }
    }
}

/// An agent with its owner, if any.
#[derive(Debug, Clone)]
pub struct OwnedAgent {
    pub agent: AgentSummary,
    /// Its owner.
    pub user: Option<User>,
}

/// An agent with its owner and memory blocks.
#[derive(Debug, Clone)]
pub struct AgentOverview {
    /// The agent and its owner.
    pub agent: OwnedAgent,
    /// Its core memory blocks.
    pub blocks: Vec<Block>,
}

/// The agent explorer's view.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Agents with blocks.
    pub agents: Vec<AgentOverview>,
    /// Number of agents.
    pub agent_count: usize,
    /// Number of distinct blocks (a shared block counts once).
    pub block_count: usize,
    /// When this view was computed.
    pub generated_at: DateTime<Utc>,
}

/// Result of `cleanup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupReport {
    /// `true` when nothing was deleted: `unowned` is what a real cleanup would delete.
    pub dry_run: bool,
    /// This deployment's agents linked to no user: deleted, or to be deleted.
    pub unowned: Vec<AgentId>,
    /// Agents kept (linked to a user).
    pub kept: usize,
}

/// The agent admin use cases.
pub struct AgentAdminService {
    users: Arc<dyn UserRepo>,
    agents: Arc<dyn AgentGateway>,
    provisioner: Arc<AgentProvisioner>,
}

impl std::fmt::Debug for AgentAdminService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentAdminService").finish_non_exhaustive()
    }
}

fn require_admin(caller: &User) -> Result<(), AdminError> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}

impl AgentAdminService {
    /// Builds the service; agents are created by `provisioner` (the same step as chat's).
    pub fn new(
        users: Arc<dyn UserRepo>,
        agents: Arc<dyn AgentGateway>,
        provisioner: Arc<AgentProvisioner>,
    ) -> Self {
        Self {
            users,
            agents,
            provisioner,
        }
    }

    /// Creates a Pi agent: for `user_id` (linked to them; 409 if they have one), or standalone.
    ///
    /// # Errors
    /// [`AdminError::Forbidden`], [`AdminError::UserNotFound`], [`AdminError::AgentExists`],
    /// [`AdminError::Invalid`], [`AdminError::Agent`].
    pub async fn create_agent(
        &self,
        caller: &User,
        display_name: Option<String>,
        user_id: Option<UserId>,
    ) -> Result<OwnedAgent, AdminError> {
        require_admin(caller)?;
        let owner = match user_id {
            Some(id) => Some(
                self.users
                    .find_by_id(id)
                    .await?
                    .ok_or(AdminError::UserNotFound)?,
            ),
            None => None,
        };
        if owner.as_ref().is_some_and(|u| u.agent_id.is_some()) {
            return Err(AdminError::AgentExists);
        }
        let name = display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(|e| AdminError::Invalid(e.into()))?;
        let mut owner = owner;
        let id = match (owner.as_mut(), name) {
            // The owner's agent: the same provisioning as chat's (personas' blocks and profile).
            (Some(user), name) => match self.provisioner.ensure_named(user, name).await {
                Ok(Provisioned::Created(id)) => {
                    user.agent_id = Some(id.0.clone());
                    id
                }
                Ok(Provisioned::Existing(_)) => return Err(AdminError::AgentExists),
                Err(ProvisionError::UserGone) => return Err(AdminError::UserNotFound),
                Err(ProvisionError::Agent(e)) => return Err(e.into()),
                Err(ProvisionError::Unexpected(e)) => return Err(AdminError::Unexpected(e)),
            },
            (None, name) => {
                let name = match name {
                    Some(name) => name,
                    None => {
                        DisplayName::parse("Pi user").map_err(|e| AdminError::Invalid(e.into()))?
                    }
                };
                self.provisioner.create_standalone(&name).await?
            }
        };
        let agent = self.agents.get_agent(&id).await?;
        Ok(OwnedAgent { agent, user: owner })
    }

    async fn all_agents(&self) -> Result<Vec<AgentSummary>, AdminError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let tag = self.provisioner.deployment_tag().map(str::to_owned);
            let page = self.agents.list_agents(PAGE, cursor, tag).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(all)
    }

    async fn with_owners(&self, agents: Vec<AgentSummary>) -> Result<Vec<OwnedAgent>, AdminError> {
        let ids: Vec<String> = agents.iter().map(|a| a.id.0.clone()).collect();
        let mut owners: HashMap<String, User> = self
            .users
            .find_by_agent_ids(&ids)
            .await?
            .into_iter()
            .filter_map(|u| u.agent_id.clone().map(|a| (a, u)))
            .collect();
        Ok(agents
            .into_iter()
            .map(|agent| {
                let user = owners.remove(&agent.id.0);
                OwnedAgent { agent, user }
            })
            .collect())
    }

    /// Every agent with its owner.
    ///
    /// # Errors
    /// [`AdminError::Forbidden`], [`AdminError::Agent`].
    pub async fn list_agents(&self, caller: &User) -> Result<Vec<OwnedAgent>, AdminError> {
        require_admin(caller)?;
        let agents = self.all_agents().await?;
        self.with_owners(agents).await
    }

    /// Agents with blocks: all of them for admins, the caller's own otherwise.
    ///
    /// # Errors
    /// [`AdminError::Agent`].
    pub async fn overview(&self, caller: &User) -> Result<Overview, AdminError> {
        let owned = if caller.is_admin {
            let agents = self.all_agents().await?;
            self.with_owners(agents).await?
        } else {
            match &caller.agent_id {
                None => Vec::new(),
                Some(id) => match self.agents.get_agent(&AgentId(id.clone())).await {
                    Ok(agent) => vec![OwnedAgent {
                        agent,
                        user: Some(caller.clone()),
                    }],
                    Err(AgentError::NotFound(_)) => Vec::new(),
                    Err(e) => return Err(AdminError::Agent(e)),
                },
            }
        };
        let agents: Vec<AgentOverview> = futures::stream::iter(owned)
            .map(|agent| async move {
                match self.agents.agent_blocks(&agent.agent.id).await {
                    Ok(blocks) => Ok(Some(AgentOverview { agent, blocks })),
                    // Deleted between listing and reading: leave it out.
                    Err(AgentError::NotFound(_)) => Ok(None),
                    Err(e) => Err(AdminError::Agent(e)),
                }
            })
            .buffered(CONCURRENCY)
            .try_filter_map(|x| async move { Ok(x) })
            .try_collect()
            .await?;
        let block_count = agents
            .iter()
            .flat_map(|a| a.blocks.iter().map(|b| b.id.clone()))
            .collect::<BTreeSet<_>>()
            .len();
        Ok(Overview {
            agent_count: agents.len(),
            block_count,
            agents,
            generated_at: Utc::now(),
        })
    }

    fn may_read(caller: &User, agent: &AgentId) -> bool {
        caller.is_admin || caller.agent_id.as_deref() == Some(agent.0.as_str())
    }

    /// The agent's memory blocks (admin or owner).
    ///
    /// # Errors
    /// [`AdminError::NotFound`] (also for someone else's agent), [`AdminError::Agent`].
    pub async fn memory(&self, caller: &User, agent: &AgentId) -> Result<Vec<Block>, AdminError> {
        if !Self::may_read(caller, agent) {
            return Err(AdminError::NotFound);
        }
        Ok(self.agents.agent_blocks(agent).await?)
    }

    /// Archival passages: newest first, or ranked by `query` (admin or owner); limit 1–200.
    ///
    /// # Errors
    /// [`AdminError::Invalid`], [`AdminError::NotFound`], [`AdminError::Agent`].
    pub async fn archival(
        &self,
        caller: &User,
        agent: &AgentId,
        limit: usize,
        query: Option<&str>,
    ) -> Result<Vec<Passage>, AdminError> {
        if !(1..=200).contains(&limit) {
            return Err(AdminError::Invalid(ValidationErrors::single(
                "limit",
                "limit must be between 1 and 200",
            )));
        }
        if query.is_some_and(|q| q.chars().any(char::is_control) || q.chars().count() > 1000) {
            return Err(AdminError::Invalid(ValidationErrors::single(
                "query",
                "query must be at most 1000 characters, without control characters",
            )));
        }
        if !Self::may_read(caller, agent) {
            return Err(AdminError::NotFound);
        }
        let passages = match query.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => self.agents.archival_search(agent, q, limit).await?,
            None => self.agents.archival_list(agent, limit).await?,
        };
        Ok(passages)
    }

    /// Sends a message to any agent and returns every step (admin).
    ///
    /// # Errors
    /// [`AdminError::Forbidden`], [`AdminError::Invalid`], [`AdminError::NotFound`],
    /// [`AdminError::Agent`].
    pub async fn message(
        &self,
        caller: &User,
        agent: &AgentId,
        content: String,
    ) -> Result<AgentReply, AdminError> {
        require_admin(caller)?;
        let content = MessageContent::parse("content", content)
            .map_err(|e| AdminError::Invalid(e.into()))?
            .into_inner();
        let owner = self
            .users
            .find_by_agent_ids(std::slice::from_ref(&agent.0))
            .await?
            .into_iter()
            .next()
            .map(|u| u.id);
        Ok(self
            .agents
            .send_message(
                agent,
                AgentMessage {
                    content,
                    on_behalf_of: owner,
                },
            )
            .await?)
    }

    /// This deployment's agents linked to no user: reported (`delete = false`) or deleted.
    /// Other deployments' agents and agents that are not Pi's are never touched.
    ///
    /// # Errors
    /// [`AdminError::Forbidden`], [`AdminError::Agent`].
    pub async fn cleanup(&self, caller: &User, delete: bool) -> Result<CleanupReport, AdminError> {
        require_admin(caller)?;
        let owned = self.with_owners(self.all_agents().await?).await?;
        let mut report = CleanupReport {
            dry_run: !delete,
            unowned: Vec::new(),
            kept: 0,
        };
        for agent in owned {
            if agent.user.is_some() {
                report.kept += 1;
                continue;
            }
            if delete {
                match self.agents.delete_agent(&agent.agent.id).await {
                    Ok(()) | Err(AgentError::NotFound(_)) => {}
                    Err(e) => return Err(AdminError::Agent(e)),
                }
            }
            report.unowned.push(agent.agent.id);
        }
        tracing::info!(
            dry_run = report.dry_run,
            unowned = report.unowned.len(),
            kept = report.kept,
            "agent cleanup"
        );
        Ok(report)
    }

    /// Adopts an agent created before agents carried this deployment's tag (or by another
    /// tool): tags it, so listing, the overview and cleanup cover it from now on.
    ///
    /// # Errors
    /// [`AdminError::Forbidden`], [`AdminError::NotFound`], [`AdminError::Agent`].
    pub async fn adopt(&self, caller: &User, agent: &AgentId) -> Result<OwnedAgent, AdminError> {
        require_admin(caller)?;
        if let Some(tag) = self.provisioner.deployment_tag() {
            self.agents.add_tag(agent, tag).await?;
        }
        let summary = self.agents.get_agent(agent).await?;
        self.with_owners(vec![summary])
            .await?
            .pop()
            .ok_or(AdminError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::agent::{MockAgentGateway, PiAgentTemplate};
    use crate::user::{Email, MockUserRepo, PasswordHash};

    fn user(admin: bool, agent: Option<&str>) -> User {
        User {
            id: UserId::new(),
            email: Email::parse("u@example.com").unwrap(),
            display_name: DisplayName::parse("U").unwrap(),
            password_hash: PasswordHash::new("h"),
            agent_id: agent.map(str::to_owned),
            is_admin: admin,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn service(agents: MockAgentGateway) -> AgentAdminService {
        let users = Arc::new(MockUserRepo::new());
        let agents = Arc::new(agents);
        let provisioner = Arc::new(AgentProvisioner::new(
            users.clone(),
            agents.clone(),
            Arc::new(PiAgentTemplate::builtin().unwrap()),
            Vec::new(),
        ));
        AgentAdminService::new(users, agents, provisioner)
    }

    #[tokio::test]
    async fn non_admins_are_refused_before_any_backend_call() {
        // No expectations: any gateway call would fail the test.
        let svc = service(MockAgentGateway::new());
        let caller = user(false, Some("agent-mine"));
        assert!(matches!(
            svc.list_agents(&caller).await,
            Err(AdminError::Forbidden)
        ));
        assert!(matches!(
            svc.cleanup(&caller, true).await,
            Err(AdminError::Forbidden)
        ));
        assert!(matches!(
            svc.message(&caller, &AgentId("agent-mine".into()), "hi".into())
                .await,
            Err(AdminError::Forbidden)
        ));
        assert!(matches!(
            svc.create_agent(&caller, None, None).await,
            Err(AdminError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn someone_elses_agent_is_not_found() {
        let svc = service(MockAgentGateway::new());
        let caller = user(false, Some("agent-mine"));
        let other = AgentId("agent-theirs".into());
        assert!(matches!(
            svc.memory(&caller, &other).await,
            Err(AdminError::NotFound)
        ));
        assert!(matches!(
            svc.archival(&caller, &other, 7, None).await,
            Err(AdminError::NotFound)
        ));
    }

    #[tokio::test]
    async fn owner_reads_memory_and_archival_limits_are_checked() {
        let mut agents = MockAgentGateway::new();
        agents
            .expect_agent_blocks()
            .times(1)
            .returning(|_| Ok(Vec::new()));
        agents
            .expect_archival_search()
            .withf(|_, q, limit| q == "drive thru" && *limit == 3)
            .times(1)
            .returning(|_, _, _| Ok(Vec::new()));
        let svc = service(agents);
        let caller = user(false, Some("agent-mine"));
        let mine = AgentId("agent-mine".into());
        assert!(svc.memory(&caller, &mine).await.unwrap().is_empty());
        assert!(matches!(
            svc.archival(&caller, &mine, 0, None).await,
            Err(AdminError::Invalid(_))
        ));
        assert!(matches!(
            svc.archival(&caller, &mine, 201, None).await,
            Err(AdminError::Invalid(_))
        ));
        assert!(
            svc.archival(&caller, &mine, 3, Some(" drive thru "))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
