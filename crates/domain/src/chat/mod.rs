//! Conversations and messages: entities, the `ConversationRepo`/`MessageRepo` ports, the title
//! rule and the `ChatService`.

mod idempotency;
mod service;
mod title;
mod values;

#[cfg(any(test, feature = "mocks"))]
pub use idempotency::MockIdempotencyRepo;
pub use idempotency::{
    AttemptTakenOver, IdempotencyKey, IdempotencyRepo, KeyClaim, KeyRecord, KeyState,
};
pub use service::{ChatError, ChatEvent, ChatObserver, ChatService, Exchange};
pub use title::title_from_message;
pub use values::{ConversationTitle, MessageContent};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::RepoError;
use crate::user::UserId;

/// A conversation's id (UUID v7: time-ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId(pub Uuid);

impl ConversationId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for ConversationId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for ConversationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A message's id (UUID v7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub Uuid);

impl MessageId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

/// A conversation of one user with their agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    /// Owner.
    pub user_id: UserId,
    /// Title (≤ 255 characters), set from the first message when not given.
    pub title: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last activity (bumped by every message).
    pub updated_at: DateTime<Utc>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    User,
    /// The system (notices).
    System,
    Agent,
}

impl Role {
    /// Stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::System => "system",
            Self::Agent => "agent",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "system" => Some(Self::System),
            "agent" => Some(Self::Agent),
            _ => None,
        }
    }
}

/// A message in a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// Author.
    pub role: Role,
    /// Text.
    pub content: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Where a conversation listing continues: strictly older activity than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor {
    /// `updated_at` of the last conversation of the previous page.
    pub updated_at: DateTime<Utc>,
    /// Its id (tie-breaker).
    pub id: ConversationId,
}

impl ConversationCursor {
    /// Opaque text form: `<micros since epoch>_<uuid>`.
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.updated_at.timestamp_micros(),
            self.id.0.simple()
        )
    }

    /// Latest instant a cursor may name (9999-12-31T23:59:59.999999Z); every store can
    /// compare against it (PostgreSQL's range ends in 294276, SQLite compares text).
    const MAX_MICROS: i64 = 253_402_300_799_999_999;

    /// Parses [`ConversationCursor::encode`]'s output; instants before 1970 or after 9999 are
    /// refused (no conversation has them).
    pub fn decode(s: &str) -> Option<Self> {
        let (micros, id) = s.trim().split_once('_')?;
        let micros: i64 = micros.parse().ok()?;
        if !(0..=Self::MAX_MICROS).contains(&micros) {
            return None;
        }
        let updated_at = DateTime::from_timestamp_micros(micros)?;
        let id = Uuid::parse_str(id).ok()?;
        Some(Self {
            updated_at,
            id: ConversationId(id),
        })
    }
}

/// Persistence of conversations. Every method is scoped to the owner: another user's
/// conversation behaves exactly like a missing one.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConversationRepo: Send + Sync {
    /// Inserts a conversation.
    ///
    /// # Errors
    /// [`RepoError`] on store failure.
    async fn create(
        &self,
        id: ConversationId,
        owner: UserId,
        title: Option<String>,
    ) -> Result<Conversation, RepoError>;

    /// The owner's conversation, if it exists.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn get(
        &self,
        owner: UserId,
        id: ConversationId,
    ) -> Result<Option<Conversation>, RepoError>;

    /// Up to `limit` conversations, most recent activity first, strictly after `before`.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn list(
        &self,
        owner: UserId,
        limit: u64,
        before: Option<ConversationCursor>,
    ) -> Result<Vec<Conversation>, RepoError>;

    /// Sets the title; `None` if the conversation does not exist for this owner.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn rename(
        &self,
        owner: UserId,
        id: ConversationId,
        title: String,
    ) -> Result<Option<Conversation>, RepoError>;

    /// Deletes the conversation and its messages; `false` if it did not exist for this owner.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn delete(&self, owner: UserId, id: ConversationId) -> Result<bool, RepoError>;
}

/// Persistence of messages.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MessageRepo: Send + Sync {
    /// Appends a message to the owner's conversation and, in the same transaction, bumps the
    /// conversation's `updated_at` and sets its title to `title_if_unset` when it has none.
    /// `None` if the conversation does not exist for this owner (nothing is written).
    ///
    /// # Errors
    /// [`RepoError`].
    async fn append(
        &self,
        owner: UserId,
        conversation: ConversationId,
        role: Role,
        content: String,
        title_if_unset: Option<String>,
    ) -> Result<Option<(Message, Conversation)>, RepoError>;

    /// The owner's conversation's messages, oldest first; `None` if the conversation does not
    /// exist for this owner. One statement when the conversation has messages.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn list(
        &self,
        owner: UserId,
        conversation: ConversationId,
    ) -> Result<Option<Vec<Message>>, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = ConversationCursor {
            updated_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: ConversationId::new(),
        };
        assert_eq!(ConversationCursor::decode(&c.encode()), Some(c));
        let id = "00000000000000000000000000000000";
        let far = format!("-3000000000000000000_{id}");
        let future = format!("253402300800000000_{id}");
        assert!(ConversationCursor::decode(&format!("253402300799999999_{id}")).is_some());
        for bad in [
            "",
            "x",
            "1_",
            "_abc",
            "abc_def",
            "1_not-a-uuid",
            &far,
            &future,
        ] {
            assert_eq!(ConversationCursor::decode(bad), None, "{bad}");
        }
    }
}
