//! The central use case: conversations, and sending a message to the user's agent.

use std::sync::Arc;
use std::time::Duration;

use super::{
    Conversation, ConversationCursor, ConversationId, ConversationRepo, ConversationTitle,
    IdempotencyKey, IdempotencyRepo, KeyClaim, KeyRecord, KeyState, Message, MessageContent,
    MessageRepo, Role, title_from_message,
};
use crate::RepoError;
use crate::ValidationErrors;
use crate::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentProvisioner, AgentStep, ProvisionError,
    StepObserver,
};
use crate::user::{User, UserRepo};

/// Errors of the chat use cases.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Invalid input.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// No such conversation for this user.
    #[error("conversation not found")]
    NotFound,
    /// The signed-in user was deleted while the request ran.
    #[error("user not found")]
    UserGone,
    /// The agent backend failed; the user message is stored.
    #[error("agent unavailable: {0}")]
    AgentUnavailable(String),
    /// The agent backend timed out; the user message is stored.
    #[error("agent timed out")]
    AgentTimeout,
    /// The agent backend is rate-limited beyond the turn's deadline; the user message is
    /// stored and the client may retry after `retry_after`.
    #[error("agent busy; retry after {}s", retry_after.as_secs())]
    AgentBusy {
        /// How long to wait before retrying.
        retry_after: Duration,
    },
    /// The `Idempotency-Key` was used before for another request (another conversation or
    /// content).
    #[error("idempotency key reused for a different request")]
    KeyReused,
    /// An attempt with this `Idempotency-Key` is still running.
    #[error("a send with this idempotency key is still running")]
    KeyInUse {
        /// When to try again.
        retry_after: Duration,
    },
    /// Infrastructure failure.
    #[error("chat operation failed")]
    Unexpected(#[source] anyhow::Error),
}

impl From<RepoError> for ChatError {
    fn from(e: RepoError) -> Self {
        Self::Unexpected(e.0)
    }
}

fn agent_failure(e: AgentError) -> ChatError {
    match e {
        AgentError::Timeout => ChatError::AgentTimeout,
        AgentError::Busy { retry_after } => ChatError::AgentBusy { retry_after },
        AgentError::Unavailable(m) | AgentError::Rejected(m) | AgentError::NotFound(m) => {
            ChatError::AgentUnavailable(m)
        }
        AgentError::Store(m) => ChatError::Unexpected(anyhow::anyhow!("agent store: {m}")),
        AgentError::StorageUnavailable(e) => {
            ChatError::Unexpected(anyhow::Error::new(e).context("agent store"))
        }
    }
}

/// The result of sending a message.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The stored user message.
    pub user_message: Message,
    /// The stored agent reply.
    pub assistant_message: Message,
    /// Every step of the agent's turn (reasoning, tool calls and returns, text).
    pub steps: Vec<AgentStep>,
}

/// Progress of a streamed send.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The user's message, stored.
    UserMessage(Message),
    /// One step of the agent's turn.
    Step(AgentStep),
    /// A piece of the reply as the agent writes it (before the step holding its whole part).
    Text(String),
}

/// Receives [`ChatEvent`]s.
#[derive(Clone)]
pub struct ChatObserver(Arc<dyn Fn(ChatEvent) + Send + Sync>);

impl ChatObserver {
    /// Wraps a callback.
    pub fn new(f: impl Fn(ChatEvent) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    fn emit(&self, event: ChatEvent) {
        (self.0)(event);
    }
}

impl std::fmt::Debug for ChatObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChatObserver")
    }
}

/// How long a keyed send is remembered at least (`Idempotency-Key`): a day, as clients expect.
pub const IDEMPOTENCY_KEY_TTL: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After` of a 409 for a key whose attempt is still running.
const KEY_IN_USE_RETRY: Duration = Duration::from_secs(1);

/// Keyed sends between two purges of expired keys (by this process).
const PURGE_EVERY: u64 = 1000;

/// Conversations, messages and the user's agent.
pub struct ChatService {
    users: Arc<dyn UserRepo>,
    conversations: Arc<dyn ConversationRepo>,
    messages: Arc<dyn MessageRepo>,
    keys: Arc<dyn IdempotencyRepo>,
    agents: Arc<dyn AgentGateway>,
    provisioner: Arc<AgentProvisioner>,
    /// Longest an agent turn (agent creation, every LLM call, retry and tool) may take.
    turn_deadline: Duration,
    /// This process, as the owner of the keyed attempts it runs.
    owner: String,
    /// Keys whose attempt runs in this process now: a stored `running` attempt of this owner
    /// that is not here is over (its request was cancelled or failed before it could say so).
    running: Arc<dashmap::DashMap<(crate::user::UserId, IdempotencyKey), ()>>,
    keyed_sends: std::sync::atomic::AtomicU64,
}

/// Holds a key in [`ChatService::running`] while its attempt runs, whatever ends it.
struct RunningGuard {
    running: Arc<dashmap::DashMap<(crate::user::UserId, IdempotencyKey), ()>>,
    entry: (crate::user::UserId, IdempotencyKey),
    release: Option<(Arc<dyn IdempotencyRepo>, String)>,
}

impl RunningGuard {
    /// `None` when an attempt with this key already runs here.
    fn acquire(
        running: &Arc<dashmap::DashMap<(crate::user::UserId, IdempotencyKey), ()>>,
        entry: (crate::user::UserId, IdempotencyKey),
    ) -> Option<Self> {
        match running.entry(entry.clone()) {
            dashmap::Entry::Occupied(_) => None,
            dashmap::Entry::Vacant(v) => {
                v.insert(());
                Some(Self {
                    running: Arc::clone(running),
                    entry,
                    release: None,
                })
            }
        }
    }
}

impl RunningGuard {
    /// From now on, dropping the guard (the request was cancelled) marks `owner`'s attempt
    /// failed, so a retry on any replica takes it over at once.
    fn arm(&mut self, keys: Arc<dyn IdempotencyRepo>, owner: String) {
        self.release = Some((keys, owner));
    }

    /// The attempt ended by itself.
    fn disarm(&mut self) {
        self.release = None;
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.running.remove(&self.entry);
        if let Some((keys, owner)) = self.release.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let (user, key) = self.entry.clone();
            runtime.spawn(async move {
                if let Err(e) = keys.release(user, &key, &owner).await {
                    tracing::warn!(error = %e.0, "could not mark a cancelled keyed send as failed");
                }
            });
        }
    }
}

/// One attempt at a keyed send: the key, and the attempt's own owner token.
#[derive(Debug, Clone, Copy)]
struct Attempt<'a> {
    key: &'a IdempotencyKey,
    owner: &'a str,
}

/// A keyed write failed: another attempt took the key over (409, retry) or the store failed.
fn keyed_failure(e: RepoError) -> ChatError {
    if e.0.downcast_ref::<super::AttemptTakenOver>().is_some() {
        ChatError::KeyInUse {
            retry_after: KEY_IN_USE_RETRY,
        }
    } else {
        e.into()
    }
}

fn rand_u64() -> u64 {
    let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
    high ^ low
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService")
            .field("turn_deadline", &self.turn_deadline)
            .finish_non_exhaustive()
    }
}

fn invalid(e: crate::FieldError) -> ChatError {
    ChatError::Invalid(e.into())
}

impl ChatService {
    /// Builds the service; users' agents are created by `provisioner` on first use.
    pub fn new(
        users: Arc<dyn UserRepo>,
        conversations: Arc<dyn ConversationRepo>,
        messages: Arc<dyn MessageRepo>,
        keys: Arc<dyn IdempotencyRepo>,
        agents: Arc<dyn AgentGateway>,
        provisioner: Arc<AgentProvisioner>,
    ) -> Self {
        Self {
            users,
            conversations,
            messages,
            keys,
            agents,
            provisioner,
            turn_deadline: Self::DEFAULT_TURN_DEADLINE,
            owner: format!("{:016x}", rand_u64()),
            running: Arc::new(dashmap::DashMap::new()),
            keyed_sends: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Default of [`ChatService::with_turn_deadline`].
    pub const DEFAULT_TURN_DEADLINE: Duration = Duration::from_secs(120);

    /// Bounds every agent turn: past `deadline` the send fails with
    /// [`ChatError::AgentTimeout`] (the user message stays stored).
    pub fn with_turn_deadline(mut self, deadline: Duration) -> Self {
        self.turn_deadline = deadline;
        self
    }

    /// Creates a conversation.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a bad title; [`ChatError::Unexpected`].
    pub async fn create_conversation(
        &self,
        user: &User,
        title: Option<String>,
    ) -> Result<Conversation, ChatError> {
        let title = title
            .map(|t| ConversationTitle::parse(&t).map(ConversationTitle::into_inner))
            .transpose()
            .map_err(invalid)?;
        Ok(self
            .conversations
            .create(ConversationId::new(), user.id, title)
            .await?)
    }

    /// A page of the user's conversations (newest activity first) and the next page's cursor.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a limit outside 1–100 or a malformed cursor.
    pub async fn list_conversations(
        &self,
        user: &User,
        limit: u64,
        before: Option<&str>,
    ) -> Result<(Vec<Conversation>, Option<String>), ChatError> {
        if !(1..=100).contains(&limit) {
            return Err(ChatError::Invalid(ValidationErrors::single(
                "limit",
                "limit must be between 1 and 100",
            )));
        }
        let cursor = match before {
            None | Some("") => None,
            Some(raw) => Some(ConversationCursor::decode(raw).ok_or_else(|| {
                ChatError::Invalid(ValidationErrors::single("before", "invalid cursor"))
            })?),
        };
        let mut page = self.conversations.list(user.id, limit + 1, cursor).await?;
        let next = if page.len() as u64 > limit {
            page.truncate(limit as usize);
            page.last().map(|c| {
                ConversationCursor {
                    updated_at: c.updated_at,
                    id: c.id,
                }
                .encode()
            })
        } else {
            None
        };
        Ok((page, next))
    }

    /// Renames a conversation.
    ///
    /// # Errors
    /// [`ChatError::Invalid`], [`ChatError::NotFound`], [`ChatError::Unexpected`].
    pub async fn rename_conversation(
        &self,
        user: &User,
        id: ConversationId,
        title: &str,
    ) -> Result<Conversation, ChatError> {
        let title = ConversationTitle::parse(title).map_err(invalid)?;
        self.conversations
            .rename(user.id, id, title.into_inner())
            .await?
            .ok_or(ChatError::NotFound)
    }

    /// Deletes a conversation and its messages.
    ///
    /// # Errors
    /// [`ChatError::NotFound`], [`ChatError::Unexpected`].
    pub async fn delete_conversation(
        &self,
        user: &User,
        id: ConversationId,
    ) -> Result<(), ChatError> {
        if self.conversations.delete(user.id, id).await? {
            Ok(())
        } else {
            Err(ChatError::NotFound)
        }
    }

    /// The conversation's messages, oldest first.
    ///
    /// # Errors
    /// [`ChatError::NotFound`], [`ChatError::Unexpected`].
    pub async fn messages(
        &self,
        user: &User,
        id: ConversationId,
    ) -> Result<Vec<Message>, ChatError> {
        self.messages
            .list(user.id, id)
            .await?
            .ok_or(ChatError::NotFound)
    }

    /// Sends a message. The user message is stored first, so an agent failure never
    /// loses it; no agent reply is stored unless the agent answered. The agent is called outside
    /// any database transaction.
    ///
    /// With a `key` (the client's `Idempotency-Key`) a retry is safe: it gets the first
    /// attempt's exchange when that finished, [`ChatError::KeyInUse`] while it runs, and when it
    /// failed after storing the user message the retry completes that turn. A user message is
    /// never stored twice under one key.
    ///
    /// # Errors
    /// [`ChatError::Invalid`], [`ChatError::NotFound`], [`ChatError::AgentUnavailable`],
    /// [`ChatError::AgentTimeout`], [`ChatError::KeyReused`], [`ChatError::KeyInUse`],
    /// [`ChatError::Unexpected`].
    #[tracing::instrument(skip_all, fields(user_id = %user.id, conversation_id = %conversation))]
    pub async fn send_message(
        &self,
        user: &User,
        conversation: ConversationId,
        content: String,
        key: Option<IdempotencyKey>,
    ) -> Result<Exchange, ChatError> {
        self.send(user, conversation, content, None, key).await
    }

    /// [`send_message`](Self::send_message), reporting progress to `observer`: the stored user
    /// message first, then each agent step as soon as the backend knows it (a retry of a
    /// finished keyed send reports the stored exchange the same way).
    ///
    /// # Errors
    /// As `send_message`.
    #[tracing::instrument(skip_all, fields(user_id = %user.id, conversation_id = %conversation))]
    pub async fn send_message_streaming(
        &self,
        user: &User,
        conversation: ConversationId,
        content: String,
        observer: ChatObserver,
        key: Option<IdempotencyKey>,
    ) -> Result<Exchange, ChatError> {
        self.send(user, conversation, content, Some(observer), key)
            .await
    }

    async fn send(
        &self,
        user: &User,
        conversation: ConversationId,
        content: String,
        observer: Option<ChatObserver>,
        key: Option<IdempotencyKey>,
    ) -> Result<Exchange, ChatError> {
        let content = MessageContent::parse("content", content)
            .map_err(invalid)?
            .into_inner();
        let Some(key) = key else {
            return self.turn(user, conversation, content, observer, None).await;
        };
        let Some(mut running) = RunningGuard::acquire(&self.running, (user.id, key.clone())) else {
            return Err(ChatError::KeyInUse {
                retry_after: KEY_IN_USE_RETRY,
            });
        };
        self.purge_now_and_then().await;
        // Each attempt has its own owner token (this process's id, then its own): a late write
        // of an attempt that was taken over matches nothing.
        let owner = format!("{}.{:016x}", self.owner, rand_u64());
        let attempt = Attempt {
            key: &key,
            owner: &owner,
        };
        // From here until it ends, a cancelled attempt (the request dropped) is marked failed.
        running.arm(Arc::clone(&self.keys), owner.clone());
        // The lease outlives the turn: past it, another replica may take an attempt over whose
        // process died.
        let lease_until = now_ms() + millis(self.turn_deadline) + 10_000;
        let result = async {
            let claim = self
                .keys
                .insert_or_get(user.id, &key, conversation, &content, &owner, lease_until)
                .await?
                .ok_or(ChatError::NotFound)?;
            let record = match claim {
                KeyClaim::Inserted => {
                    return self
                        .turn(user, conversation, content, observer, Some(attempt))
                        .await;
                }
                KeyClaim::Existing(record) => record,
            };
            if record.conversation_id != conversation || record.content != content {
                return Err(ChatError::KeyReused);
            }
            let ours = record
                .owner
                .strip_prefix(self.owner.as_str())
                .is_some_and(|rest| rest.starts_with('.'));
            match record.state {
                KeyState::Done => return replay(*record, observer),
                // Another process's attempt within its lease. One of this process's is over:
                // this process would hold its key in `running`.
                KeyState::Running if !ours && record.lease_until > now_ms() => {
                    return Err(ChatError::KeyInUse {
                        retry_after: KEY_IN_USE_RETRY,
                    });
                }
                KeyState::Running | KeyState::Failed => {}
            }
            if !self
                .keys
                .take_over(user.id, &key, &record, &owner, lease_until)
                .await?
            {
                return Err(ChatError::KeyInUse {
                    retry_after: KEY_IN_USE_RETRY,
                });
            }
            match record.user_message {
                Some(stored) => {
                    tracing::info!("completing the turn of an earlier attempt");
                    self.complete(user, conversation, stored, observer, Some(attempt))
                        .await
                }
                None => {
                    self.turn(user, conversation, content, observer, Some(attempt))
                        .await
                }
            }
        }
        .await;
        running.disarm();
        if result.is_err()
            && let Err(e) = self.keys.release(user.id, &key, &owner).await
        {
            // The lease still ends the attempt; this process's next retry takes it over.
            tracing::warn!(error = %e.0, "could not mark a failed keyed send as failed");
        }
        result
    }

    /// Now and then (every [`PURGE_EVERY`] keyed sends), forgets keys older than
    /// [`IDEMPOTENCY_KEY_TTL`] plus an hour.
    async fn purge_now_and_then(&self) {
        use std::sync::atomic::Ordering;
        if !self
            .keyed_sends
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PURGE_EVERY)
        {
            return;
        }
        let before = now_ms() - millis(IDEMPOTENCY_KEY_TTL) - 3_600_000;
        match self.keys.purge(before).await {
            Ok(n) => tracing::debug!(purged = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = %e.0, "could not purge expired idempotency keys"),
        }
    }

    /// One turn: stores the user message, asks the agent, stores the reply (each store keyed
    /// when `key` is given).
    async fn turn(
        &self,
        user: &User,
        conversation: ConversationId,
        content: String,
        observer: Option<ChatObserver>,
        attempt: Option<Attempt<'_>>,
    ) -> Result<Exchange, ChatError> {
        let title = title_from_message(&content);
        let user_message = match attempt {
            Some(a) => self
                .keys
                .append_user_message(user.id, a.key, a.owner, conversation, content, title)
                .await
                .map_err(keyed_failure)?
                .ok_or(ChatError::NotFound)?,
            None => {
                self.messages
                    .append(user.id, conversation, Role::User, content, title)
                    .await?
                    .ok_or(ChatError::NotFound)?
                    .0
            }
        };
        self.complete(user, conversation, user_message, observer, attempt)
            .await
    }

    /// Asks the agent to answer the stored `user_message` and stores its reply.
    async fn complete(
        &self,
        user: &User,
        conversation: ConversationId,
        user_message: Message,
        observer: Option<ChatObserver>,
        attempt: Option<Attempt<'_>>,
    ) -> Result<Exchange, ChatError> {
        let steps = observer.map(|o| {
            o.emit(ChatEvent::UserMessage(user_message.clone()));
            let text = o.clone();
            StepObserver::new(move |step| o.emit(ChatEvent::Step(step.clone())))
                .with_text(move |piece| text.emit(ChatEvent::Text(piece.to_owned())))
        });

        let reply = tokio::time::timeout(
            self.turn_deadline,
            self.ask_agent(user, user_message.content.clone(), steps),
        )
        .await
        .map_err(|_| {
            tracing::warn!(
                deadline_secs = self.turn_deadline.as_secs(),
                "agent turn passed its deadline"
            );
            ChatError::AgentTimeout
        })??;
        let text = reply.assistant_text();
        if text.is_empty() {
            return Err(ChatError::AgentUnavailable(
                "the agent returned no answer".into(),
            ));
        }
        let stored = match attempt {
            Some(a) => self
                .keys
                .append_reply(user.id, a.key, a.owner, conversation, text, &reply.steps)
                .await
                .map_err(keyed_failure)?,
            None => self
                .messages
                .append(user.id, conversation, Role::Agent, text, None)
                .await?
                .map(|(m, _)| m),
        };
        // Deleted while the agent was thinking: the exchange has nowhere to go.
        let assistant_message = stored.ok_or(ChatError::NotFound)?;
        Ok(Exchange {
            user_message,
            assistant_message,
            steps: reply.steps,
        })
    }

    /// Sends to the user's agent, creating it first if needed. If the stored agent no longer
    /// exists on the backend, a new one is created once and the message re-sent.
    async fn ask_agent(
        &self,
        user: &User,
        content: String,
        observer: Option<StepObserver>,
    ) -> Result<crate::agent::AgentReply, ChatError> {
        let message = AgentMessage {
            content,
            on_behalf_of: Some(user.id),
        };
        let send = |agent: AgentId, message: AgentMessage| {
            let observer = observer.clone();
            async move {
                match observer {
                    Some(o) => self.agents.send_message_observed(&agent, message, o).await,
                    None => self.agents.send_message(&agent, message).await,
                }
            }
        };
        let agent = self.ensure_agent(user).await?;
        match send(agent.clone(), message.clone()).await {
            Err(AgentError::NotFound(_)) => {
                tracing::warn!(agent_id = %agent, "user's agent is gone; creating a new one");
                self.users.clear_agent_id(user.id, &agent.0).await?;
                let mut fresh = user.clone();
                fresh.agent_id = None;
                let agent = self.ensure_agent(&fresh).await?;
                send(agent, message).await.map_err(agent_failure)
            }
            other => other.map_err(agent_failure),
        }
    }

    /// The user's agent id, creating the agent exactly once.
    ///
    /// # Errors
    /// Agent failures as [`ChatError::AgentUnavailable`]/[`ChatError::AgentTimeout`].
    pub async fn ensure_agent(&self, user: &User) -> Result<AgentId, ChatError> {
        match self.provisioner.ensure_for(user).await {
            Ok(provisioned) => Ok(provisioned.agent().clone()),
            Err(ProvisionError::UserGone) => Err(ChatError::UserGone),
            Err(ProvisionError::Agent(e)) => Err(agent_failure(e)),
            Err(ProvisionError::Unexpected(e)) => Err(ChatError::Unexpected(e)),
        }
    }
}

/// The stored exchange of a finished keyed send, reported to `observer` as it was streamed.
fn replay(record: KeyRecord, observer: Option<ChatObserver>) -> Result<Exchange, ChatError> {
    let (Some(user_message), Some(assistant_message)) =
        (record.user_message, record.assistant_message)
    else {
        // The conversation (and with it its messages) was deleted.
        return Err(ChatError::NotFound);
    };
    if let Some(o) = observer {
        o.emit(ChatEvent::UserMessage(user_message.clone()));
        for step in &record.steps {
            o.emit(ChatEvent::Step(step.clone()));
        }
    }
    Ok(Exchange {
        user_message,
        assistant_message,
        steps: record.steps,
    })
}

#[cfg(test)]
mod tests;
