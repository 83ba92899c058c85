//! bcrypt behind [`PasswordHasher`], off the async workers.

use async_trait::async_trait;
use pi_domain::auth::{HashError, PasswordHasher};
use pi_domain::user::{Password, PasswordHash};

/// bcrypt with a configurable cost (12 in production; as low as 4 in tests).
#[derive(Debug, Clone, Copy)]
pub struct BcryptHasher {
    cost: u32,
}

impl BcryptHasher {
    /// Lowest cost bcrypt accepts.
    pub const MIN_COST: u32 = 4;
    /// Highest cost bcrypt accepts.
    pub const MAX_COST: u32 = 31;

    /// A hasher with `cost` (clamped to bcrypt's 4–31 range).
    pub fn new(cost: u32) -> Self {
        Self {
            cost: cost.clamp(Self::MIN_COST, Self::MAX_COST),
        }
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let plain = password.expose().to_owned();
        let cost = self.cost;
        tokio::task::spawn_blocking(move || bcrypt::hash(plain, cost))
            .await
            .map_err(|e| HashError(format!("hashing task failed: {e}")))?
            .map(PasswordHash::new)
            .map_err(|e| HashError(e.to_string()))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        let plain = password.expose().to_owned();
        let hash = hash.as_str().to_owned();
        tokio::task::spawn_blocking(move || bcrypt::verify(plain, &hash))
            .await
            .map_err(|e| HashError(format!("verification task failed: {e}")))?
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
