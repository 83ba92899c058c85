//! Safe retries of a send: the client's `Idempotency-Key`, what the store keeps of each keyed
//! send, and the [`IdempotencyRepo`] port.

use async_trait::async_trait;

use super::{ConversationId, Message};
use crate::FieldError;
use crate::RepoError;
use crate::agent::AgentStep;
use crate::user::UserId;

/// A client's key for one send: 1–255 printable ASCII characters (a UUID is typical). Scoped to
/// the user: two users may use the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest key accepted.
    pub const MAX_LEN: usize = 255;

    /// Validates a key as sent in the `Idempotency-Key` header.
    ///
    /// # Errors
    /// A [`FieldError`] on `Idempotency-Key` when empty, too long or not printable ASCII.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let field = "Idempotency-Key";
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if !raw.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(FieldError::new(
                field,
                "must be printable ASCII without spaces (a UUID is a good key)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A keyed write refused because another attempt took the key over meanwhile (its lease had
/// ended): this attempt stores nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("another attempt took this idempotency key over")]
pub struct AttemptTakenOver;

/// Where a keyed send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// An attempt is running (or its process died before its lease ran out).
    Running,
    /// The last attempt failed; a retry takes over at once.
    Failed,
    /// The turn is stored: retries get its result.
    Done,
}

impl KeyState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Done => "done",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(Self::Running),
            "failed" => Some(Self::Failed),
            "done" => Some(Self::Done),
            _ => None,
        }
    }
}

/// What the store keeps of a keyed send.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// The request: its conversation …
    pub conversation_id: ConversationId,
    /// … and its content (a retry must send the same).
    pub content: String,
    pub state: KeyState,
    /// The process running (or that last ran) the attempt.
    pub owner: String,
    /// Until when that attempt may run, Unix milliseconds.
    pub lease_until: i64,
    /// The user message, once stored.
    pub user_message: Option<Message>,
    /// The agent's reply, once stored (state `Done`).
    pub assistant_message: Option<Message>,
    /// The turn's steps, once done.
    pub steps: Vec<AgentStep>,
}

/// The outcome of [`IdempotencyRepo::insert_or_get`].
#[derive(Debug, Clone, PartialEq)]
pub enum KeyClaim {
    /// The key was new: the caller owns the attempt.
    Inserted,
    /// The key was known.
    Existing(Box<KeyRecord>),
}

/// Keyed sends, shared by every replica. Each write is atomic with the message it records, so a
/// user message is stored at most once per key whatever fails when.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyRepo: Send + Sync {
    /// Records a new running attempt under `key`, owned by `owner` until `lease_until` (Unix
    /// ms), or returns what is stored under it; `None` (nothing stored) when the conversation
    /// is not the user's.
    async fn insert_or_get(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        conversation: ConversationId,
        content: &str,
        owner: &str,
        lease_until: i64,
    ) -> Result<Option<KeyClaim>, RepoError>;

    /// Takes the attempt over from `seen` (a failed or abandoned one): `false` when the record
    /// changed since (another retry took it, or the attempt stored its user message).
    async fn take_over(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        seen: &KeyRecord,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, RepoError>;

    /// Stores the user message of `owner`'s attempt and records it under the key, in one
    /// transaction; `None` when the conversation is not the user's. Fails with
    /// [`AttemptTakenOver`], storing nothing, when another attempt took the key over or a user
    /// message is already recorded under it.
    async fn append_user_message(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        owner: &str,
        conversation: ConversationId,
        content: String,
        title_if_unset: Option<String>,
    ) -> Result<Option<Message>, RepoError>;

    /// Stores the agent's reply and marks `owner`'s attempt done with `steps`, in one
    /// transaction; `None` when the conversation is gone; [`AttemptTakenOver`] as above.
    async fn append_reply(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        owner: &str,
        conversation: ConversationId,
        content: String,
        steps: &[AgentStep],
    ) -> Result<Option<Message>, RepoError>;

    /// Marks `owner`'s running attempt failed, so that a retry takes over at once.
    async fn release(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        owner: &str,
    ) -> Result<(), RepoError>;

    /// Forgets keys created before `before` (Unix ms); returns how many.
    async fn purge(&self, before: i64) -> Result<u64, RepoError>;
}
