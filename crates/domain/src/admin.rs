//! The agent admin API (SPEC §5): list, inspect, message and clean up agents.
//!
//! Admins may do everything; other users may only see the overview, memory and archival of
//! their own agent. Another user's agent looks exactly like a missing one.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use crate::ValidationErrors;
use crate::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentReply, AgentSummary, Block, Passage,
    PiAgentTemplate, ToolSchema,
};
use crate::chat::{MessageContent, SharedBlocksForUser};
use crate::user::{DisplayName, RepoError, User, UserId, UserRepo};

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
            other => Self::Agent(other),
        }
    }
}

/// An agent with its owner, if any.
#[derive(Debug, Clone)]
pub struct OwnedAgent {
    /// The agent.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupReport {
    /// Agents deleted (linked to no user).
    pub deleted: usize,
    /// Agents kept.
    pub kept: usize,
}

/// The agent admin use cases.
pub struct AgentAdminService {
    users: Arc<dyn UserRepo>,
    agents: Arc<dyn AgentGateway>,
    template: Arc<PiAgentTemplate>,
    tools: Vec<ToolSchema>,
    shared_blocks: Option<Arc<dyn SharedBlocksForUser>>,
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
    /// Builds the service.
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
            shared_blocks: None,
        }
    }

    /// New agents of users with personas get the personas' shared blocks.
    pub fn with_shared_blocks(mut self, source: Arc<dyn SharedBlocksForUser>) -> Self {
        self.shared_blocks = Some(source);
        self
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
        let name = match (&display_name, &owner) {
            (Some(n), _) => DisplayName::parse(n)
                .map_err(|e| AdminError::Invalid(ValidationErrors::single(e.field, e.message)))?,
            (None, Some(u)) => u.display_name.clone(),
            (None, None) => DisplayName::parse("Pi user")
                .map_err(|e| AdminError::Invalid(ValidationErrors::single(e.field, e.message)))?,
        };
        let spec =
            self.template
                .spec_for(&name, owner.as_ref().map(|u| u.id), Vec::new(), &self.tools);
        let id = self.agents.create_agent(spec).await?;
        let mut owner = owner;
        if let Some(user) = &mut owner {
            let winner = self.users.set_agent_id_if_unset(user.id, &id.0).await?;
            if winner.as_deref() != Some(id.0.as_str()) {
                let _ = self.agents.delete_agent(&id).await;
                return Err(AdminError::AgentExists);
            }
            user.agent_id = Some(id.0.clone());
        }
        let agent = self.agents.get_agent(&id).await?;
        Ok(OwnedAgent { agent, user: owner })
    }

    async fn all_agents(&self) -> Result<Vec<AgentSummary>, AdminError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.agents.list_agents(PAGE, cursor).await?;
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

    /// Deletes every agent linked to no user.
    ///
    /// # Errors
    /// [`AdminError::Forbidden`], [`AdminError::Agent`].
    pub async fn cleanup(&self, caller: &User) -> Result<CleanupReport, AdminError> {
        require_admin(caller)?;
        let owned = self.with_owners(self.all_agents().await?).await?;
        let mut report = CleanupReport {
            deleted: 0,
            kept: 0,
        };
        for agent in owned {
            if agent.user.is_some() {
                report.kept += 1;
                continue;
            }
            match self.agents.delete_agent(&agent.agent.id).await {
                Ok(()) | Err(AgentError::NotFound(_)) => report.deleted += 1,
                Err(e) => return Err(AdminError::Agent(e)),
            }
        }
        tracing::info!(
            deleted = report.deleted,
            kept = report.kept,
            "agent cleanup"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::agent::MockAgentGateway;
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
        AgentAdminService::new(
            Arc::new(MockUserRepo::new()),
            Arc::new(agents),
            Arc::new(PiAgentTemplate::builtin().unwrap()),
            Vec::new(),
        )
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
            svc.cleanup(&caller).await,
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
