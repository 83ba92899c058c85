//! Authentication: the `PasswordHasher` and `TokenService` ports and the `AuthService`.

mod service;
mod throttle;

pub use service::{
    AuthService, AuthSession, AuthenticateError, LoginError, LoginRequest, SetAdminError,
    SignupError, SignupRequest,
};
#[cfg(any(test, feature = "mocks"))]
pub use throttle::MockAttemptCounter;
pub use throttle::{AttemptCount, AttemptCounter, ThrottleKey, ThrottlePolicy};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::user::{Password, PasswordHash, UserId};

/// A failure inside the password hasher (never a wrong password: that is `Ok(false)`).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// Hashes and verifies passwords. Implementations must not block async workers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with a fresh salt.
    ///
    /// # Errors
    /// [`HashError`] when the hasher fails (e.g. its worker pool is gone).
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Checks a password against a stored hash; `Ok(false)` on mismatch.
    ///
    /// # Errors
    /// [`HashError`] when the hash is malformed or the hasher fails.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError>;
}

/// A signed access token and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The encoded token (a JWT).
    pub token: String,
    /// Expiry instant (UTC).
    pub expires_at: DateTime<Utc>,
    /// Lifetime in seconds, as told to the client.
    pub expires_in_secs: i64,
}

/// Why a token was refused. Every variant means "not authenticated" to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token has expired.
    #[error("token expired")]
    Expired,
    /// The token is malformed, has a bad signature, an unexpected algorithm or bad claims.
    #[error("token invalid")]
    Invalid,
    /// The token could not be created.
    #[error("token could not be issued: {0}")]
    Issue(String),
}

/// Issues and verifies access tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Issues a token whose subject is `user_id`.
    ///
    /// # Errors
    /// [`TokenError::Issue`] if signing fails.
    fn issue(&self, user_id: UserId) -> Result<IssuedToken, TokenError>;

    /// Verifies a token and returns its subject.
    ///
    /// # Errors
    /// [`TokenError::Expired`] or [`TokenError::Invalid`].
    fn verify(&self, token: &str) -> Result<UserId, TokenError>;
}
