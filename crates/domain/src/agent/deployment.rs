//! The identity of one Pi deployment on a shared agent backend. A Letta server or a Letta Cloud
//! organisation may hold other deployments' agents and agents that are not Pi's at all: each
//! deployment tags the agents it creates and lists, inspects and cleans up only those.

use async_trait::async_trait;

use crate::RepoError;

/// A deployment's id: 1–64 characters of `a-z`, `0-9` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeploymentId(String);

impl DeploymentId {
    /// Longest id accepted.
    pub const MAX_LEN: usize = 64;
    /// Prefix of the tag carried by the deployment's agents.
    pub const TAG_PREFIX: &'static str = "pi-deployment:";

    /// Validates an id (`DEPLOYMENT_ID`).
    ///
    /// # Errors
    /// A sentence saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "must be 1–{} characters of a-z, 0-9 and '-'",
                Self::MAX_LEN
            ))
        }
    }

    /// A new random id (`pi-` and 16 hex digits).
    pub fn generate() -> Self {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("pi-{}", &hex[..16]))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag of the deployment's agents: `pi-deployment:<id>`.
    pub fn tag(&self) -> String {
        format!("{}{}", Self::TAG_PREFIX, self.0)
    }
}

impl std::fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a deployment keeps its identity (its own database, so every replica agrees and two
/// deployments never share one by accident).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DeploymentRepo: Send + Sync {
    /// The stored identity; `candidate` is stored first when there is none (atomically: of two
    /// replicas starting together, both get the one stored first).
    ///
    /// # Errors
    /// [`RepoError`].
    async fn get_or_init(&self, candidate: &DeploymentId) -> Result<DeploymentId, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_and_tags_carry_them() {
        let id = DeploymentId::generate();
        assert_eq!(DeploymentId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(id.tag(), format!("pi-deployment:{id}"));
        for bad in ["", "Pi", "a_b", "a b", "a:b", &"x".repeat(65)] {
            assert!(DeploymentId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
