//! Login throttling: failed attempts counted per account and per client address in fixed
//! windows, and the attempts in flight per account, through a port whose store is shared by
//! every replica.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::RepoError;

/// What a counter counts: one account (the email as the client typed it, normalised, whether
/// or not an account has it, so the answer is the same for unknown emails) or one client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    /// Longest key stored (longer emails are cut: they cannot belong to an account anyway).
    const MAX_LEN: usize = 300;

    /// The account named by `email` (trimmed, lower-cased).
    pub fn account(email: &str) -> Self {
        let normalised: String = email
            .trim()
            .to_lowercase()
            .chars()
            .take(Self::MAX_LEN)
            .collect();
        Self(format!("account:{normalised}"))
    }

    /// The attempts on the account named by `email` that are being checked right now (not
    /// yet known to have failed or succeeded).
    pub fn in_flight(email: &str) -> Self {
        let account = Self::account(email);
        Self(format!("inflight:{}", &account.0["account:".len()..]))
    }

    /// The client address `addr` (an IP address as text).
    pub fn client(addr: &str) -> Self {
        let addr: String = addr.chars().take(Self::MAX_LEN).collect();
        Self(format!("client:{addr}"))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Attempts recorded for a key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCount {
    /// Attempts so far in this window, including the one just recorded.
    pub attempts: u32,
    /// When the window ends (and the count starts over).
    pub window_ends_at: DateTime<Utc>,
}

/// Counts login attempts. Implementations must count atomically across processes that share
/// the store, so concurrent attempts on several replicas cannot slip past the limit.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AttemptCounter: Send + Sync {
    /// Records one attempt for `key`: a window of `window` starts with the first attempt after
    /// the previous one ended.
    ///
    /// # Errors
    /// [`RepoError`] on store failure.
    async fn record(&self, key: &ThrottleKey, window: Duration) -> Result<AttemptCount, RepoError>;

    /// The attempts of `key` in its current window, recording nothing (0 when none).
    ///
    /// # Errors
    /// [`RepoError`] on store failure.
    async fn current(&self, key: &ThrottleKey, window: Duration)
    -> Result<AttemptCount, RepoError>;

    /// Forgets every attempt of `key` (a successful login on that account).
    ///
    /// # Errors
    /// [`RepoError`] on store failure.
    async fn reset(&self, key: &ThrottleKey) -> Result<(), RepoError>;

    /// Takes back one attempt of `key` (an attempt that is no longer in flight).
    ///
    /// # Errors
    /// [`RepoError`] on store failure.
    async fn forgive(&self, key: &ThrottleKey) -> Result<(), RepoError>;
}

/// How many attempts a window allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts per account per window.
    pub per_account: u32,
    /// Attempts per client address per window.
    pub per_client: u32,
    /// Window length.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_client: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}
