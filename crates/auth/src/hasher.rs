//! bcrypt behind [`PasswordHasher`], off the async workers, a bounded number at a time.

use std::sync::Arc;

use async_trait::async_trait;
use pi_domain::auth::{HashError, PasswordHasher};
use pi_domain::user::{Password, PasswordHash};

/// bcrypt with a configurable cost (12 in production; as low as 4 in tests).
///
/// At most one hash per CPU runs at a time: the rest wait their turn on a fair async queue
/// instead of filling tokio's blocking pool, so a flood of logins cannot starve other requests'
/// blocking work, and hashes queue in arrival order.
#[derive(Debug, Clone)]
pub struct BcryptHasher {
    cost: u32,
    slots: Arc<tokio::sync::Semaphore>,
}

impl BcryptHasher {
    /// Lowest cost bcrypt accepts.
    pub const MIN_COST: u32 = 4;
    /// Highest cost bcrypt accepts.
    pub const MAX_COST: u32 = 31;

    /// A hasher with `cost` (clamped to bcrypt's 4–31 range), one hash per CPU at a time.
    pub fn new(cost: u32) -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self::with_concurrency(cost, cpus)
    }

    /// A hasher running at most `concurrency` (≥ 1) hashes at once.
    pub fn with_concurrency(cost: u32, concurrency: usize) -> Self {
        Self {
            cost: cost.clamp(Self::MIN_COST, Self::MAX_COST),
            slots: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
        }
    }

    /// Runs `work` on the blocking pool once a slot is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| HashError(format!("hasher closed: {e}")))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError(format!("hashing task failed: {e}")))
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let plain = password.expose().to_owned();
        let cost = self.cost;
        self.run(move || bcrypt::hash(plain, cost))
            .await?
            .map(PasswordHash::new)
            .map_err(|e| HashError(e.to_string()))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        let plain = password.expose().to_owned();
        let hash = hash.as_str().to_owned();
        self.run(move || bcrypt::verify(plain, &hash))
            .await?
            .map_err(|e| HashError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = BcryptHasher::new(4);
        let pw = Password::parse("correct horse".into()).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert!(hasher.verify(&pw, &hash).await.unwrap());
        let wrong = Password::candidate("battery staple".into()).unwrap();
        assert!(!hasher.verify(&wrong, &hash).await.unwrap());
    }

    /// Eight concurrent hashes on a one-slot hasher never overlap.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_run_at_most_concurrency_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hasher = BcryptHasher::with_concurrency(4, 1);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (hasher, running, peak) = (hasher.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    hasher
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                        .unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn malformed_hash_is_an_error_not_a_match() {
        let hasher = BcryptHasher::new(4);
        let pw = Password::candidate("anything".into()).unwrap();
        assert!(
            hasher
                .verify(&pw, &PasswordHash::new("nope"))
                .await
                .is_err()
        );
    }
}
