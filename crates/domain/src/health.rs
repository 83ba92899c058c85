//! Readiness probing of the adapters the service depends on.

use async_trait::async_trait;

/// A dependency that can tell whether it is usable right now (database, agent backend).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// A short, stable name used as the key in `/health/ready` (e.g. `database`).
    fn name(&self) -> &'static str;

    /// Checks the dependency.
    ///
    /// # Errors
    /// A human-readable reason when the dependency is not usable; it is shown to operators.
    async fn check(&self) -> Result<String, String>;
}
