//! Users: identity newtypes, the `User` entity and the `UserRepo` port.

mod cache;
mod values;

pub use cache::{CachedUserRepo, UserCache};
pub use values::{DisplayName, Email, Password, PasswordHash, UserId};

use async_trait::async_trait;

use crate::RepoError;
use chrono::{DateTime, Utc};

/// A registered user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: UserId,
    /// Unique, stored lower-case.
    pub email: Email,
    /// Name shown in the UI and given to the user's agent.
    pub display_name: DisplayName,
    /// bcrypt hash of the password; never the password itself.
    pub password_hash: PasswordHash,
    /// The user's long-lived agent, once created (lazily, on the first chat message).
    pub agent_id: Option<String>,
    /// Admins may use the agent admin API and the tool routes.
    pub is_admin: bool,
    /// When the user signed up (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change to the row (UTC).
    pub updated_at: DateTime<Utc>,
}

/// The data needed to insert a user; the repository assigns timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Primary key chosen by the caller.
    pub id: UserId,
    /// Unique email.
    pub email: Email,
    pub display_name: DisplayName,
    /// bcrypt hash.
    pub password_hash: PasswordHash,
    /// Whether the user starts as an admin.
    pub is_admin: bool,
}

/// Errors of [`UserRepo::create`].
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// A user with this email already exists.
    #[error("a user with this email already exists")]
    Duplicate,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Persistence of users.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Inserts a user.
    ///
    /// # Errors
    /// [`CreateUserError::Duplicate`] when the email is taken (on every backend);
    /// [`CreateUserError::Unexpected`] on store failure.
    async fn create(&self, user: NewUser) -> Result<User, CreateUserError>;

    /// Finds a user by (lower-cased) email.
    ///
    /// # Errors
    /// [`RepoError`] on store failure; an unknown email is `Ok(None)`.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepoError>;

    /// Finds a user by id.
    ///
    /// # Errors
    /// [`RepoError`] on store failure; an unknown id is `Ok(None)`.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepoError>;

    /// Sets or clears the admin flag; returns the updated user, or `None` if it does not exist.
    ///
    /// # Errors
    /// [`RepoError`] on store failure.
    async fn set_admin(&self, id: UserId, is_admin: bool) -> Result<Option<User>, RepoError>;

    /// Stores `agent_id` as the user's agent only if they have none yet (a conditional update,
    /// safe across processes), and returns the user's agent id afterwards: `agent_id` if this
    /// call won, the existing one otherwise; `None` if the user does not exist.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn set_agent_id_if_unset(
        &self,
        id: UserId,
        agent_id: &str,
    ) -> Result<Option<String>, RepoError>;

    /// Clears the user's agent id if it is still `expected` (the agent was found gone).
    ///
    /// # Errors
    /// [`RepoError`].
    async fn clear_agent_id(&self, id: UserId, expected: &str) -> Result<(), RepoError>;

    /// The users owning any of these agents.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn find_by_agent_ids(&self, agent_ids: &[String]) -> Result<Vec<User>, RepoError>;
}
