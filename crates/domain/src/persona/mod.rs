//! Personas: professional profiles shared across users, each with a shared memory
//! block that every agent serving that persona reads and writes (anonymised lessons, never PII).

mod service;
pub mod tools;

pub use service::{AssignOutcome, AttachReport, PersonaError, PersonaService, profile_text};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::RepoError;
use crate::agent::{AgentId, BlockId};
use crate::user::UserId;

/// A persona handle: `<industry>_<professional_role>`, lower-case words joined by `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonaHandle(String);

impl PersonaHandle {
    /// Validates `^[a-z0-9]+(_[a-z0-9]+)+$` (at most 128 characters).
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        let ok = s.len() <= 128
            && s.split('_').count() >= 2
            && s.split('_').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "persona_handle {raw:?} must look like industry_role: lower-case letters and digits in at least two parts joined by underscores (e.g. qsr_real_estate)"
            ))
        }
    }

    /// The handle.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Industry and role derived from the handle (first part; the rest).
    pub fn derive_industry_role(&self) -> (String, String) {
        match self.0.split_once('_') {
            Some((industry, role)) => (industry.to_owned(), role.to_owned()),
            None => (self.0.clone(), String::new()),
        }
    }

    /// Label of the persona's shared block.
    pub fn shared_block_label(&self) -> String {
        format!("{}_service_experience", self.0)
    }
}

impl TryFrom<String> for PersonaHandle {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<PersonaHandle> for String {
    fn from(h: PersonaHandle) -> Self {
        h.0
    }
}

impl std::fmt::Display for PersonaHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A persona definition (catalogue entry or derived from a handle).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PersonaDef {
    pub persona_handle: PersonaHandle,
    pub industry: String,
    pub professional_role: String,
    pub description: String,
    /// KPIs.
    #[serde(default)]
    pub typical_kpis: Vec<String>,
    /// Motivations.
    #[serde(default)]
    pub typical_motivations: String,
    /// Typical questions.
    #[serde(default)]
    pub quintessential_queries: Vec<String>,
}

impl PersonaDef {
    /// A definition derived from a handle alone (for personas the agents discover).
    pub fn derived(handle: PersonaHandle) -> Self {
        let (industry, role) = handle.derive_industry_role();
        Self {
            description: format!(
                "{} professionals in {} (discovered in conversation).",
                role.replace('_', " "),
                industry.replace('_', " ")
            ),
            persona_handle: handle,
            industry,
            professional_role: role,
            typical_kpis: Vec::new(),
            typical_motivations: String::new(),
            quintessential_queries: Vec::new(),
        }
    }
}

/// Our persona catalogue (`assets/personas.json`).
///
/// # Errors
/// A message when the asset is broken (caught by tests).
pub fn catalogue() -> Result<Vec<PersonaDef>, String> {
    serde_json::from_str(include_str!("../../assets/personas.json"))
        .map_err(|e| format!("persona catalogue is invalid: {e}"))
}

/// A stored persona.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    pub id: Uuid,
    pub def: PersonaDef,
    /// Its shared block, once created.
    pub shared_block_id: Option<BlockId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user's link to a persona.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPersona {
    pub persona: Persona,
    /// 0.0–1.0.
    pub confidence_score: f64,
    /// First assigned.
    pub discovered_at: DateTime<Utc>,
    /// Last (re)assigned.
    pub last_confirmed: DateTime<Utc>,
}

/// Persistence of personas and user links.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PersonaRepo: Send + Sync {
    /// Every persona, by handle.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn list(&self) -> Result<Vec<Persona>, RepoError>;

    /// One persona.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn get_by_handle(&self, handle: &PersonaHandle) -> Result<Option<Persona>, RepoError>;

    /// Inserts the persona unless its handle exists; returns the stored one either way.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn get_or_create(&self, def: PersonaDef) -> Result<Persona, RepoError>;

    /// Links a user to a persona, or updates the confidence and `last_confirmed` of the link.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn upsert_link(
        &self,
        user: UserId,
        persona: Uuid,
        confidence: f64,
    ) -> Result<(), RepoError>;

    /// Agents of the users linked to a persona (users without an agent are left out).
    ///
    /// # Errors
    /// [`RepoError`].
    async fn agents_of_persona(&self, persona: Uuid) -> Result<Vec<AgentId>, RepoError>;

    /// Personas of a user, with confidence.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn personas_of(&self, user: UserId) -> Result<Vec<UserPersona>, RepoError>;

    /// The user's agent, if they have one.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn agent_of_user(&self, user: UserId) -> Result<Option<AgentId>, RepoError>;

    /// Records the persona's shared block.
    ///
    /// # Errors
    /// [`RepoError`].
    async fn set_shared_block(&self, persona: Uuid, block: &BlockId) -> Result<(), RepoError>;
}

/// Held while creating a persona's shared block; released explicitly.
#[async_trait]
pub trait PersonaLockGuard: Send {
    /// Releases the lock.
    async fn release(self: Box<Self>);
}

/// Mutual exclusion per persona handle, across processes where the database allows it.
#[async_trait]
pub trait PersonaLock: Send + Sync {
    /// Waits for and takes the lock of `handle`.
    ///
    /// # Errors
    /// [`RepoError`] when the lock cannot be taken.
    async fn lock(&self, handle: &PersonaHandle) -> Result<Box<dyn PersonaLockGuard>, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_validated_and_derived() {
        let h = PersonaHandle::parse("qsr_real_estate").unwrap();
        assert_eq!(
            h.derive_industry_role(),
            ("qsr".into(), "real_estate".into())
        );
        assert_eq!(h.shared_block_label(), "qsr_real_estate_service_experience");
        for bad in [
            "qsr", "QSR_real", "qsr__x", "_qsr_x", "qsr-real", "qsr real", "",
        ] {
            assert!(PersonaHandle::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn catalogue_has_at_least_eight_personas() {
        let c = catalogue().unwrap();
        assert!(c.len() >= 8);
        for p in &c {
            assert!(
                !p.description.is_empty()
                    && !p.typical_kpis.is_empty()
                    && !p.quintessential_queries.is_empty()
            );
        }
    }
}
