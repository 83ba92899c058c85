//! The authentication use cases: signup, login and resolving the current user.

use std::sync::Arc;

use tokio::sync::OnceCell;

use super::{
    AttemptCounter, HashError, IssuedToken, PasswordHasher, ThrottleKey, ThrottlePolicy,
    TokenError, TokenService,
};
use crate::RepoError;
use crate::ValidationErrors;
use crate::user::{
    CreateUserError, DisplayName, Email, NewUser, Password, PasswordHash, User, UserId, UserRepo,
};

/// Raw signup input, validated by [`AuthService::signup`].
#[derive(Debug, Clone)]
pub struct SignupRequest {
    /// Email as typed.
    pub email: String,
    /// Password as typed.
    pub password: String,
    /// Display name as typed.
    pub display_name: String,
}

/// Raw login input.
#[derive(Clone)]
pub struct LoginRequest {
    /// Email as typed.
    pub email: String,
    /// Password as typed.
    pub password: String,
    /// The client's address (an IP address), when known: failed attempts are also counted
    /// per address.
    pub client: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// A user together with a fresh access token.
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// The authenticated user.
    pub user: User,
    /// Their access token.
    pub token: IssuedToken,
}

/// Errors of [`AuthService::signup`].
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    /// One or more fields are invalid.
    #[error("invalid signup: {0}")]
    Invalid(ValidationErrors),
    /// The email is already registered.
    #[error("email already registered")]
    EmailTaken,
    /// Infrastructure failure.
    #[error("signup failed")]
    Unexpected(#[source] anyhow::Error),
}

/// Errors of [`AuthService::login`].
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password: deliberately indistinguishable.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many attempts on this account or from this client in the current window (the
    /// same answer whether or not the account exists); nothing was checked or hashed.
    #[error("too many login attempts; retry after {}s", retry_after.as_secs())]
    Throttled {
        /// When the window ends.
        retry_after: std::time::Duration,
    },
    /// Infrastructure failure.
    #[error("login failed")]
    Unexpected(#[source] anyhow::Error),
}

/// Errors of [`AuthService::authenticate`].
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// The token is missing, invalid, expired, or names a user that no longer exists.
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    /// Infrastructure failure.
    #[error("authentication failed")]
    Unexpected(#[source] anyhow::Error),
}

/// Errors of [`AuthService::set_admin`].
#[derive(Debug, thiserror::Error)]
pub enum SetAdminError {
    /// The email is not well-formed.
    #[error("invalid email: {0}")]
    Invalid(String),
    /// No account has this email.
    #[error("no account has this email")]
    UnknownUser,
    /// Infrastructure failure.
    #[error("changing the admin flag failed")]
    Unexpected(#[source] anyhow::Error),
}

/// Signup, login and token resolution over the user, hasher and token ports.
pub struct AuthService {
    users: Arc<dyn UserRepo>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    throttle: Option<(Arc<dyn AttemptCounter>, ThrottlePolicy)>,
    /// A hash of a random password, verified against when the email is unknown so that login
    /// takes about as long for an unknown email as for a wrong password.
    dummy_hash: OnceCell<PasswordHash>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

fn unexpected_hash(e: HashError) -> anyhow::Error {
    anyhow::Error::new(e).context("password hasher failed")
}

/// Longest an attempt waits for an in-flight slot of its account.
const IN_FLIGHT_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

fn throttled(retry_after: std::time::Duration) -> LoginError {
    tracing::warn!(retry_after_secs = retry_after.as_secs(), "login throttled");
    metrics::counter!("pi_login_throttled_total").increment(1);
    LoginError::Throttled { retry_after }
}

fn unexpected_repo(e: RepoError) -> anyhow::Error {
    e.0.context("user store failed")
}

fn unexpected_token(e: TokenError) -> anyhow::Error {
    anyhow::Error::new(e).context("token service failed")
}

impl AuthService {
    /// Builds the service. Nobody becomes an admin by signing up: an operator grants it with
    /// [`AuthService::set_admin`] (`pi-server admin grant <email>`).
    pub fn new(
        users: Arc<dyn UserRepo>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenService>,
    ) -> Self {
        Self {
            users,
            hasher,
            tokens,
            throttle: None,
            dummy_hash: OnceCell::new(),
        }
    }

    /// Counts login attempts in `counter` and refuses those beyond `policy`.
    pub fn with_login_throttle(
        mut self,
        counter: Arc<dyn AttemptCounter>,
        policy: ThrottlePolicy,
    ) -> Self {
        self.throttle = Some((counter, policy));
        self
    }

    /// Admits an attempt: `Throttled` when the account or the client already has as many
    /// failures in the window as allowed (nothing hashed). Otherwise it takes one of the
    /// account's in-flight slots (twice the failures allowed), waiting up to
    /// [`IN_FLIGHT_WAIT`] for one: concurrent correct logins are never refused because others
    /// are still being checked, while a burst of guesses is still bounded before any of them
    /// has failed. Returns whether a slot was taken (no throttle configured: none).
    async fn admit(&self, request: &LoginRequest) -> Result<bool, LoginError> {
        let Some((counter, policy)) = &self.throttle else {
            return Ok(false);
        };
        let unexpected = |e: RepoError| LoginError::Unexpected(unexpected_repo(e));
        let mut keys = vec![(ThrottleKey::account(&request.email), policy.per_account)];
        if let Some(client) = &request.client {
            keys.push((ThrottleKey::client(client), policy.per_client));
        }
        let mut wait = None;
        for (key, limit) in keys {
            let count = counter
                .current(&key, policy.window)
                .await
                .map_err(unexpected)?;
            if count.attempts >= limit {
                let left = (count.window_ends_at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or_default();
                wait = Some(wait.map_or(left, |w: std::time::Duration| w.max(left)));
            }
        }
        if let Some(retry_after) = wait {
            return Err(throttled(retry_after));
        }
        let slot = ThrottleKey::in_flight(&request.email);
        let slots = policy.per_account.saturating_mul(2).max(1);
        let started = std::time::Instant::now();
        loop {
            let taken = counter
                .record(&slot, policy.window)
                .await
                .map_err(unexpected)?;
            if taken.attempts <= slots {
                return Ok(true);
            }
            counter.forgive(&slot).await.map_err(unexpected)?;
            if started.elapsed() >= IN_FLIGHT_WAIT {
                return Err(throttled(std::time::Duration::from_secs(1)));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Settles an admitted attempt: frees its slot; a failure counts against the account and
    /// the client, a success clears the account's failures.
    async fn settle(
        &self,
        request: (&str, Option<&str>),
        slot: bool,
        outcome: &Result<AuthSession, LoginError>,
    ) -> Result<(), LoginError> {
        let Some((counter, policy)) = &self.throttle else {
            return Ok(());
        };
        let (email, client) = request;
        let unexpected = |e: RepoError| LoginError::Unexpected(unexpected_repo(e));
        if slot {
            counter
                .forgive(&ThrottleKey::in_flight(email))
                .await
                .map_err(unexpected)?;
        }
        match outcome {
            Ok(_) => counter
                .reset(&ThrottleKey::account(email))
                .await
                .map_err(unexpected),
            Err(LoginError::InvalidCredentials) => {
                counter
                    .record(&ThrottleKey::account(email), policy.window)
                    .await
                    .map_err(unexpected)?;
                if let Some(client) = client {
                    counter
                        .record(&ThrottleKey::client(client), policy.window)
                        .await
                        .map_err(unexpected)?;
                }
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }

    /// Grants (`true`) or revokes (`false`) admin rights of an existing account. Requests
    /// resolve their user from the store, so the change applies to the user's next request.
    ///
    /// # Errors
    /// [`SetAdminError::Invalid`], [`SetAdminError::UnknownUser`], [`SetAdminError::Unexpected`].
    pub async fn set_admin(&self, email: &str, admin: bool) -> Result<User, SetAdminError> {
        let email = Email::parse(email).map_err(|e| SetAdminError::Invalid(e.message))?;
        let user = self
            .users
            .find_by_email(&email)
            .await
            .map_err(|e| SetAdminError::Unexpected(unexpected_repo(e)))?
            .ok_or(SetAdminError::UnknownUser)?;
        if user.is_admin == admin {
            return Ok(user);
        }
        let user = self
            .users
            .set_admin(user.id, admin)
            .await
            .map_err(|e| SetAdminError::Unexpected(unexpected_repo(e)))?
            .ok_or(SetAdminError::UnknownUser)?;
        tracing::info!(user_id = %user.id, admin, "admin flag changed");
        Ok(user)
    }

    /// Prepares the dummy hash used for unknown emails, so the first such login is not slower.
    ///
    /// # Errors
    /// [`HashError`] if hashing fails.
    pub async fn warm_up(&self) -> Result<(), HashError> {
        self.dummy_hash().await.map(|_| ())
    }

    async fn dummy_hash(&self) -> Result<&PasswordHash, HashError> {
        self.dummy_hash
            .get_or_try_init(|| async {
                let random = Password::parse(uuid::Uuid::new_v4().to_string())
                    .map_err(|e| HashError(e.message))?;
                self.hasher.hash(&random).await
            })
            .await
    }

    /// Registers a user and returns a session for them.
    ///
    /// # Errors
    /// [`SignupError::Invalid`] with every invalid field, [`SignupError::EmailTaken`],
    /// [`SignupError::Unexpected`].
    #[tracing::instrument(skip_all)]
    pub async fn signup(&self, request: SignupRequest) -> Result<AuthSession, SignupError> {
        let mut errors = ValidationErrors::new();
        let email = errors.collect(Email::parse(&request.email));
        let password = errors.collect(Password::parse(request.password));
        let display_name = errors.collect(DisplayName::parse(&request.display_name));
        let (Some(email), Some(password), Some(display_name)) = (email, password, display_name)
        else {
            return Err(SignupError::Invalid(errors));
        };

        // Cheap pre-check so a taken email does not cost a bcrypt round; the unique index
        // remains the real guard against races.
        if self
            .users
            .find_by_email(&email)
            .await
            .map_err(|e| SignupError::Unexpected(unexpected_repo(e)))?
            .is_some()
        {
            return Err(SignupError::EmailTaken);
        }

        let password_hash = self
            .hasher
            .hash(&password)
            .await
            .map_err(|e| SignupError::Unexpected(unexpected_hash(e)))?;
        let user = self
            .users
            .create(NewUser {
                id: UserId::new(),
                email,
                display_name,
                password_hash,
                is_admin: false,
            })
            .await
            .map_err(|e| match e {
                CreateUserError::Duplicate => SignupError::EmailTaken,
                CreateUserError::Unexpected(e) => SignupError::Unexpected(e),
            })?;
        let token = self
            .tokens
            .issue(user.id)
            .map_err(|e| SignupError::Unexpected(unexpected_token(e)))?;
        tracing::info!(user_id = %user.id, "user signed up");
        Ok(AuthSession { user, token })
    }

    /// Checks credentials and returns a session.
    ///
    /// # Errors
    /// [`LoginError::Throttled`] beyond the throttle's limits (checked first, nothing hashed);
    /// [`LoginError::InvalidCredentials`] for an unknown email, a wrong password or an email that
    /// is not even well-formed (all in similar time); [`LoginError::Unexpected`].
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, request: LoginRequest) -> Result<AuthSession, LoginError> {
        let slot = self.admit(&request).await?;
        let (email, client) = (request.email.clone(), request.client.clone());
        let outcome = self.check_credentials(request).await;
        let settled = self
            .settle((&email, client.as_deref()), slot, &outcome)
            .await;
        let session = outcome?;
        settled?;
        Ok(session)
    }

    async fn check_credentials(&self, request: LoginRequest) -> Result<AuthSession, LoginError> {
        let LoginRequest {
            email, password, ..
        } = request;
        // Longer than bcrypt reads: no account has it; refused like a wrong password, unhashed.
        let Some(password) = Password::candidate(password) else {
            return Err(LoginError::InvalidCredentials);
        };
        let user = match Email::for_lookup(&email) {
            Some(email) => self
                .users
                .find_by_email(&email)
                .await
                .map_err(|e| LoginError::Unexpected(unexpected_repo(e)))?,
            None => None,
        };
        let Some(user) = user else {
            let dummy = self
                .dummy_hash()
                .await
                .map_err(|e| LoginError::Unexpected(unexpected_hash(e)))?;
            // The result is irrelevant: this only spends the same time as a real check.
            let _ = self.hasher.verify(&password, dummy).await;
            return Err(LoginError::InvalidCredentials);
        };
        let ok = self
            .hasher
            .verify(&password, &user.password_hash)
            .await
            .map_err(|e| LoginError::Unexpected(unexpected_hash(e)))?;
        if !ok {
            return Err(LoginError::InvalidCredentials);
        }
        let token = self
            .tokens
            .issue(user.id)
            .map_err(|e| LoginError::Unexpected(unexpected_token(e)))?;
        Ok(AuthSession { user, token })
    }

    /// Resolves a bearer token to its user.
    ///
    /// # Errors
    /// [`AuthenticateError::Unauthenticated`] for a bad/expired token or a deleted user;
    /// [`AuthenticateError::Unexpected`].
    pub async fn authenticate(&self, token: &str) -> Result<User, AuthenticateError> {
        let user_id = self.tokens.verify(token).map_err(|e| match e {
            TokenError::Expired => AuthenticateError::Unauthenticated("token expired"),
            TokenError::Invalid | TokenError::Issue(_) => {
                AuthenticateError::Unauthenticated("invalid token")
            }
        })?;
        self.current_user(user_id).await
    }

    /// Loads the user behind an authenticated id.
    ///
    /// # Errors
    /// [`AuthenticateError::Unauthenticated`] when the user no longer exists;
    /// [`AuthenticateError::Unexpected`].
    pub async fn current_user(&self, user_id: UserId) -> Result<User, AuthenticateError> {
        self.users
            .find_by_id(user_id)
            .await
            .map_err(|e| AuthenticateError::Unexpected(unexpected_repo(e)))?
            .ok_or(AuthenticateError::Unauthenticated("user no longer exists"))
    }
}

#[cfg(test)]
mod tests;
