//! Seeding a deployment: the persona catalogue, one demo user per persona with their agent, and
//! every persona's shared block attached. Idempotent: a second run creates nothing and never
//! changes an existing user's password.

use std::sync::Arc;

use crate::RepoError;
use crate::agent::AgentId;
use crate::auth::{AuthService, SignupError, SignupRequest};
use crate::chat::{ChatError, ChatService};
use crate::persona::{PersonaDef, PersonaError, PersonaService};
use crate::user::{Email, User, UserRepo};

/// Errors of [`DemoSeed::run`].
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A persona could not be stored, assigned or shared.
    #[error(transparent)]
    Persona(#[from] PersonaError),
    /// A demo user could not be created.
    #[error("cannot create demo user {email}")]
    Signup {
        /// The demo user's address.
        email: String,
        /// Why signup failed.
        source: SignupError,
    },
    /// A demo user's agent could not be created.
    #[error("cannot create the agent of demo user {email}")]
    Agent {
        /// The demo user's address.
        email: String,
        /// Why provisioning failed.
        source: ChatError,
    },
    /// The user store failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// What a seed run did, step by step (for progress output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedEvent {
    /// The catalogue is stored: this many personas exist.
    Catalogue {
        /// Personas present after the step.
        personas: usize,
    },
    /// A demo user was created with the seed's password.
    UserCreated {
        /// Their address.
        email: String,
    },
    /// A demo user already existed (their password is left alone).
    UserExists {
        /// Their address.
        email: String,
    },
    /// Every demo user exists (the password of new ones can be shown now, before anything
    /// later can fail).
    UsersDone {
        /// Created by this run, with the seed's password.
        created: usize,
        /// Already there, passwords unchanged.
        existing: usize,
    },
    /// A demo user holds their persona and has an agent.
    UserReady {
        /// Their address.
        email: String,
        /// Their persona.
        persona: String,
        /// Their agent.
        agent: AgentId,
    },
    /// Every persona's shared block is attached to its users' agents.
    SharedBlocks {
        /// Attachments made by this run.
        attached: usize,
    },
}

/// Totals of a seed run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Personas in the catalogue.
    pub personas: usize,
    /// Demo users this run created (with the seed's password).
    pub created: usize,
    /// Demo users that already existed.
    pub existing: usize,
    /// Shared-block attachments this run made.
    pub attached: usize,
}

/// The address of a persona's demo user, e.g. `demo.qsr-real-estate@example.com`.
pub fn demo_email(handle: &str) -> String {
    format!("demo.{}@example.com", handle.replace('_', "-"))
}

/// The seeding use case.
#[derive(Clone)]
pub struct DemoSeed {
    personas: Arc<PersonaService>,
    auth: Arc<AuthService>,
    users: Arc<dyn UserRepo>,
    chat: Arc<ChatService>,
}

impl std::fmt::Debug for DemoSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoSeed").finish_non_exhaustive()
    }
}

impl DemoSeed {
    /// Seeds through these services (the same ones the API uses).
    pub fn new(
        personas: Arc<PersonaService>,
        auth: Arc<AuthService>,
        users: Arc<dyn UserRepo>,
        chat: Arc<ChatService>,
    ) -> Self {
        Self {
            personas,
            auth,
            users,
            chat,
        }
    }

    /// Stores `catalogue`, gives each persona a demo user (new ones get `password`) holding it
    /// with full confidence and an agent, and attaches every shared block. Reports each step to
    /// `progress`.
    ///
    /// # Errors
    /// [`SeedError`]: persona, signup (naming the user), agent (naming the user) or store.
    pub async fn run(
        &self,
        catalogue: Vec<PersonaDef>,
        password: &str,
        progress: &mut (dyn FnMut(SeedEvent) + Send),
    ) -> Result<SeedReport, SeedError> {
        let personas = self.personas.ensure(catalogue.clone()).await?;
        let mut report = SeedReport {
            personas: personas.len(),
            ..SeedReport::default()
        };
        progress(SeedEvent::Catalogue {
            personas: report.personas,
        });
        for def in &catalogue {
            let handle = def.persona_handle.as_str();
            let email = demo_email(handle);
            let user = match self.demo_user(def, &email, password).await? {
                (user, true) => {
                    report.created += 1;
                    progress(SeedEvent::UserCreated {
                        email: email.clone(),
                    });
                    user
                }
                (user, false) => {
                    report.existing += 1;
                    progress(SeedEvent::UserExists {
                        email: email.clone(),
                    });
                    user
                }
            };
            self.personas.assign(user.id, handle, 1.0).await?;
            let agent = self
                .chat
                .ensure_agent(&user)
                .await
                .map_err(|source| SeedError::Agent {
                    email: email.clone(),
                    source,
                })?;
            progress(SeedEvent::UserReady {
                email,
                persona: handle.to_owned(),
                agent,
            });
        }
        progress(SeedEvent::UsersDone {
            created: report.created,
            existing: report.existing,
        });
        for def in &catalogue {
            let attached = self
                .personas
                .attach_shared_block(&def.persona_handle)
                .await?;
            report.attached += attached.attached.len();
        }
        progress(SeedEvent::SharedBlocks {
            attached: report.attached,
        });
        Ok(report)
    }

    /// The persona's demo user, and whether this call created it.
    async fn demo_user(
        &self,
        def: &PersonaDef,
        email: &str,
        password: &str,
    ) -> Result<(User, bool), SeedError> {
        let signup_failed = |source| SeedError::Signup {
            email: email.to_owned(),
            source,
        };
        let parsed =
            Email::parse(email).map_err(|e| signup_failed(SignupError::Invalid(e.into())))?;
        if let Some(user) = self.users.find_by_email(&parsed).await? {
            return Ok((user, false));
        }
        let request = SignupRequest {
            email: email.to_owned(),
            password: password.to_owned(),
            display_name: format!("Demo {}", def.professional_role.replace('_', " ")),
        };
        match self.auth.signup(request).await {
            Ok(session) => Ok((session.user, true)),
            // Another seed created it meanwhile.
            Err(SignupError::EmailTaken) => match self.users.find_by_email(&parsed).await? {
                Some(user) => Ok((user, false)),
                None => Err(signup_failed(SignupError::EmailTaken)),
            },
            Err(e) => Err(signup_failed(e)),
        }
    }
}
