//! Configuration: defaults < `pi.toml` (path in `PI_CONFIG`) < environment.
//!
//! Loaded once in `main` and passed down explicitly. Secrets are wrapped in [`Secret`] so that
//! `Debug` never prints them, and the database URL's password is masked the same way.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

/// A secret string: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    /// Environment values that look like numbers or booleans are still secrets: accept any scalar.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret::new(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret::new(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret::new(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Secret, E> {
                Ok(Secret::new(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Secret, E> {
                Ok(Secret::new(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer machine: random JWT secret allowed (with a warning).
    Local,
    /// Automated tests.
    Test,
    /// Production: refuses missing or weak secrets.
    Production,
}

impl Environment {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

/// What runs Pi agents (`AGENT_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentRuntime {
    /// The in-process runtime (default).
    Embedded,
    /// A Letta server over REST.
    Letta,
}

/// Size of the synthetic analytics data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlacesScale {
    /// ≈ 5k places.
    Small,
    /// ≈ 100k places.
    Default,
    /// ≈ 1M places.
    Large,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// All settings, named after their environment variables (lower-cased). A configuration file
/// uses the same lower-case names; any other key is refused.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://…` (default `sqlite://pi.db?mode=rwc`) or `postgres://…`.
    pub database_url: Secret,
    /// Listen address.
    pub bind_addr: String,
    /// Deployment environment.
    pub environment: Environment,
    /// HS256 key; required in production.
    pub jwt_secret_key: Option<Secret>,
    /// Access-token lifetime.
    pub access_token_expire_minutes: i64,
    /// bcrypt cost (12 by default; at least 10 in production; 4 is fine in tests).
    pub bcrypt_cost: u32,
    /// `AGENT_BACKEND`: the embedded runtime (default) or Letta.
    pub agent_backend: AgentRuntime,
    /// Letta server URL.
    pub letta_base_url: String,
    /// Letta bearer token.
    pub letta_server_password: Option<Secret>,
    /// Per-request timeout to Letta.
    pub letta_timeout_secs: u64,
    /// OpenAI-compatible endpoint for the embedded runtime; none = offline model.
    pub llm_base_url: Option<String>,
    /// API key for `llm_base_url`.
    pub llm_api_key: Option<Secret>,
    /// Model name for `llm_base_url`.
    pub llm_model: String,
    /// Per-request timeout to the LLM.
    pub llm_timeout_secs: u64,
    /// Longest a whole agent turn may take (every LLM or Letta call, retry, wait and tool).
    pub agent_turn_timeout_secs: u64,
    /// A streamed reply sends a `: keep-alive` comment after this many quiet seconds (long
    /// tool runs), so proxies and browsers do not drop it.
    pub sse_keep_alive_secs: u64,
    /// On SIGTERM, requests and streamed replies in flight get this long to finish.
    pub shutdown_timeout_secs: u64,
    /// Connections this replica keeps open to PostgreSQL (opened in the background from
    /// start-up).
    pub database_pool_size: u32,
    /// On SIGTERM, first fail `/health/ready` and keep serving this long, so load balancers
    /// stop routing here before the listener closes; then drain.
    pub shutdown_delay_secs: u64,
    /// Reverse proxies (addresses or networks, comma-separated) whose `X-Forwarded-For` names
    /// the client for login throttling and logs; empty: the connection's peer is the client.
    pub trusted_proxies: String,
    /// Model handle for Letta agents.
    pub letta_model: String,
    /// Embedding handle for Letta agents.
    pub letta_embedding: String,
    /// Password of seeded demo users.
    pub persona_seed_password: Option<Secret>,
    /// Comma-separated emails: no longer grants anything (start-up warns when set); admins are
    /// made with `pi-server admin grant <email>`.
    pub admin_emails: String,
    /// Comma-separated CORS origins.
    pub cors_allowed_origins: String,
    /// Bearer token for `GET /metrics` (unset: loopback callers only).
    pub metrics_token: Option<Secret>,
    /// Analytics data-set size.
    pub places_scale: PlacesScale,
    /// Analytics data-set seed.
    pub places_seed: u64,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax).
    pub rust_log: String,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// This deployment's id on a shared agent backend (tagged on its agents); default: one
    /// generated once and kept in the database.
    pub deployment_id: Option<String>,
    /// Login attempts allowed per account per throttle window (failures accumulate; a
    /// successful login clears the account's count).
    pub login_max_attempts_per_account: u32,
    /// Failed login attempts allowed per client address per throttle window.
    pub login_max_attempts_per_client: u32,
    /// Length of the login throttle window, in seconds.
    pub login_throttle_window_secs: u64,
    /// How long an authenticated user is served from memory (0: never): the bound on how long
    /// a change made elsewhere (another replica, `pi-server admin`) takes to reach this replica.
    pub auth_cache_ttl_ms: u64,
    /// Where files uploaded to `POST /datasets/{name}/imports` are kept until their import
    /// ends (default: `pi-uploads` in the system's temporary directory).
    pub upload_dir: Option<String>,
    /// Largest upload to `POST /datasets/{name}/imports`, in bytes (413 beyond).
    pub max_upload_bytes: u64,
}

/// Every setting, as its `pi.toml` key (lower case) and, upper-cased, its environment variable.
pub const KEYS: &[&str] = &[
    "database_url",
    "bind_addr",
    "environment",
    "jwt_secret_key",
    "access_token_expire_minutes",
    "bcrypt_cost",
    "agent_backend",
    "letta_base_url",
    "letta_server_password",
    "letta_timeout_secs",
    "llm_base_url",
    "llm_api_key",
    "llm_model",
    "llm_timeout_secs",
    "agent_turn_timeout_secs",
    "sse_keep_alive_secs",
    "shutdown_timeout_secs",
    "database_pool_size",
    "shutdown_delay_secs",
    "trusted_proxies",
    "letta_model",
    "letta_embedding",
    "persona_seed_password",
    "admin_emails",
    "cors_allowed_origins",
    "metrics_token",
    "places_scale",
    "places_seed",
    "log_format",
    "rust_log",
    "max_body_bytes",
    "deployment_id",
    "login_max_attempts_per_account",
    "login_max_attempts_per_client",
    "login_throttle_window_secs",
    "auth_cache_ttl_ms",
    "upload_dir",
    "max_upload_bytes",
];

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: Secret::new("sqlite://pi.db?mode=rwc"),
            bind_addr: "127.0.0.1:8000".into(),
            environment: Environment::Local,
            jwt_secret_key: None,
            access_token_expire_minutes: 60,
            bcrypt_cost: 12,
            agent_backend: AgentRuntime::Embedded,
            letta_base_url: "http://localhost:8283".into(),
            letta_server_password: None,
            letta_timeout_secs: 60,
            llm_base_url: None,
            llm_api_key: None,
            llm_model: "gpt-4o".into(),
            llm_timeout_secs: 60,
            agent_turn_timeout_secs: 120,
            sse_keep_alive_secs: 15,
            shutdown_timeout_secs: 30,
            database_pool_size: pi_store::POSTGRES_POOL,
            shutdown_delay_secs: 0,
            trusted_proxies: String::new(),
            letta_model: "openai/gpt-4o".into(),
            letta_embedding: "openai/text-embedding-3-small".into(),
            persona_seed_password: None,
            admin_emails: String::new(),
            cors_allowed_origins: "http://localhost:5173,http://localhost:3000".into(),
            metrics_token: None,
            places_scale: PlacesScale::Default,
            places_seed: 42,
            log_format: LogFormat::Pretty,
            rust_log: "info".into(),
            max_body_bytes: 256 * 1024,
            deployment_id: None,
            login_max_attempts_per_account: 5,
            login_max_attempts_per_client: 20,
            login_throttle_window_secs: 15 * 60,
            auth_cache_ttl_ms: 1000,
            upload_dir: None,
            max_upload_bytes: 16 << 30,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(self.database_url.expose()))
            .field("bind_addr", &self.bind_addr)
            .field("environment", &self.environment)
            .field("jwt_secret_key", &self.jwt_secret_key)
            .field(
                "access_token_expire_minutes",
                &self.access_token_expire_minutes,
            )
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("agent_backend", &self.agent_backend)
            .field("letta_base_url", &self.letta_base_url)
            .field("letta_server_password", &self.letta_server_password)
            .field("letta_timeout_secs", &self.letta_timeout_secs)
            .field("llm_base_url", &self.llm_base_url)
            .field("llm_api_key", &self.llm_api_key)
            .field("llm_model", &self.llm_model)
            .field("llm_timeout_secs", &self.llm_timeout_secs)
            .field("agent_turn_timeout_secs", &self.agent_turn_timeout_secs)
            .field("sse_keep_alive_secs", &self.sse_keep_alive_secs)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field("database_pool_size", &self.database_pool_size)
            .field("shutdown_delay_secs", &self.shutdown_delay_secs)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("letta_model", &self.letta_model)
            .field("letta_embedding", &self.letta_embedding)
            .field("persona_seed_password", &self.persona_seed_password)
            .field("admin_emails", &self.admin_emails)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("metrics_token", &self.metrics_token)
            .field("places_scale", &self.places_scale)
            .field("places_seed", &self.places_seed)
            .field("log_format", &self.log_format)
            .field("rust_log", &self.rust_log)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("deployment_id", &self.deployment_id)
            .field(
                "login_max_attempts_per_account",
                &self.login_max_attempts_per_account,
            )
            .field(
                "login_max_attempts_per_client",
                &self.login_max_attempts_per_client,
            )
            .field(
                "login_throttle_window_secs",
                &self.login_throttle_window_secs,
            )
            .field("auth_cache_ttl_ms", &self.auth_cache_ttl_ms)
            .field("upload_dir", &self.upload_dir)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:[redacted]@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

/// A configuration problem; the message names the environment variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read or has the wrong type/format.
    #[error("invalid value for {variable}: {message}")]
    Invalid {
        /// The environment variable (or `pi.toml` key, upper-cased).
        variable: String,
        /// What is wrong.
        message: String,
    },
    /// `PI_CONFIG` names a file that does not exist.
    #[error("PI_CONFIG names {0}, which does not exist")]
    MissingFile(PathBuf),
    /// The configuration file has a key that is not a setting.
    #[error(
        "{file}: unknown key `{key}` (keys are the settings' variable names in lower case, \
         e.g. database_url = \"…\"){hint}"
    )]
    UnknownKey {
        /// The file.
        file: String,
        /// The key as written.
        key: String,
        /// What was probably meant, if anything.
        hint: String,
    },
}

fn invalid(variable: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        variable: variable.to_owned(),
        message: message.into(),
    }
}

/// Refuses a value still holding the examples' `CHANGE-ME` placeholder (deploy/.env.example,
/// the systemd env example), saying that it is one: the operator has not filled it in yet.
fn refuse_placeholder(variable: &str, secret: &Secret) -> Result<(), ConfigError> {
    let lowered = secret.expose().to_ascii_lowercase();
    if lowered.contains("change-me") || lowered.contains("changeme") {
        return Err(invalid(
            variable,
            "is still the example placeholder (CHANGE-ME…) from deploy/.env.example; replace it \
             with a secret of your own, e.g. `openssl rand -base64 48`",
        ));
    }
    Ok(())
}

/// Secrets that must never protect a production deployment.
const WEAK_SECRETS: &[&str] = &["secret", "changeme", "change-me", "your-secret-key", "dev"];

impl Settings {
    /// Loads defaults < `pi.toml` (or the file in `PI_CONFIG`) < the process environment,
    /// then validates.
    ///
    /// # Errors
    /// [`ConfigError`] naming the offending variable.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(
            Env::raw().only(KEYS),
            std::env::var_os("PI_CONFIG").map(PathBuf::from),
        )
    }

    /// Loads from an explicit environment provider and optional file (for tests).
    ///
    /// # Errors
    /// [`ConfigError`].
    pub fn load_from(env: Env, file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::MissingFile(path));
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("pi.toml")),
        }
        let settings: Settings = figment.merge(env).extract().map_err(|e| {
            if let figment::error::Kind::UnknownField(key, _) = &e.kind {
                let file = e
                    .metadata
                    .as_ref()
                    .and_then(|m| m.source.as_ref())
                    .map_or_else(|| "pi.toml".to_owned(), ToString::to_string);
                let lower = key.to_ascii_lowercase();
                let hint = if KEYS.contains(&lower.as_str()) {
                    format!("; did you mean `{lower}`?")
                } else {
                    String::new()
                };
                return ConfigError::UnknownKey {
                    file,
                    key: key.clone(),
                    hint,
                };
            }
            let variable = if e.path.is_empty() {
                "configuration".to_owned()
            } else {
                e.path.join(".").to_uppercase()
            };
            invalid(&variable, e.kind.to_string())
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that types alone cannot.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr
            .parse::<SocketAddr>()
            .map_err(|e| invalid("BIND_ADDR", format!("{e} (expected e.g. 127.0.0.1:8000)")))?;
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "DATABASE_URL",
                "expected sqlite://… or postgres://…",
            ));
        }
        if !(1..=60 * 24 * 30).contains(&self.access_token_expire_minutes) {
            return Err(invalid(
                "ACCESS_TOKEN_EXPIRE_MINUTES",
                "must be between 1 and 43200 (30 days)",
            ));
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(invalid("BCRYPT_COST", "must be between 4 and 31"));
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(invalid(
                "MAX_BODY_BYTES",
                "must be between 1024 and 67108864",
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.rust_log) {
            return Err(invalid(
                "RUST_LOG",
                format!("{e} (a tracing filter, e.g. info or info,pi_api=debug)"),
            ));
        }
        if self.llm_timeout_secs == 0 {
            return Err(invalid("LLM_TIMEOUT_SECS", "must be at least 1"));
        }
        if let Some(id) = &self.deployment_id
            && let Err(e) = pi_domain::agent::DeploymentId::parse(id)
        {
            return Err(invalid("DEPLOYMENT_ID", e));
        }
        if self.login_max_attempts_per_account == 0 {
            return Err(invalid(
                "LOGIN_MAX_ATTEMPTS_PER_ACCOUNT",
                "must be at least 1",
            ));
        }
        if self.login_max_attempts_per_client == 0 {
            return Err(invalid(
                "LOGIN_MAX_ATTEMPTS_PER_CLIENT",
                "must be at least 1",
            ));
        }
        if !(1..=86_400).contains(&self.login_throttle_window_secs) {
            return Err(invalid(
                "LOGIN_THROTTLE_WINDOW_SECS",
                "must be between 1 and 86400",
            ));
        }
        if self.auth_cache_ttl_ms > 60_000 {
            return Err(invalid("AUTH_CACHE_TTL_MS", "must be between 0 and 60000"));
        }
        if !(1..=3600).contains(&self.agent_turn_timeout_secs) {
            return Err(invalid(
                "AGENT_TURN_TIMEOUT_SECS",
                "must be between 1 and 3600",
            ));
        }
        if !(1..=300).contains(&self.sse_keep_alive_secs) {
            return Err(invalid("SSE_KEEP_ALIVE_SECS", "must be between 1 and 300"));
        }
        if let Err(entry) = pi_api::TrustedProxies::parse(&self.trusted_proxies) {
            return Err(invalid(
                "TRUSTED_PROXIES",
                format!("{entry:?} is neither an IP address nor a network (CIDR)"),
            ));
        }
        if !(1..=600).contains(&self.shutdown_timeout_secs) {
            return Err(invalid(
                "SHUTDOWN_TIMEOUT_SECS",
                "must be between 1 and 600",
            ));
        }
        if !(1..=500).contains(&self.database_pool_size) {
            return Err(invalid("DATABASE_POOL_SIZE", "must be between 1 and 500"));
        }
        if self.shutdown_delay_secs > 300 {
            return Err(invalid("SHUTDOWN_DELAY_SECS", "must be between 0 and 300"));
        }
        if self.letta_timeout_secs == 0 {
            return Err(invalid("LETTA_TIMEOUT_SECS", "must be at least 1"));
        }
        for origin in self.cors_origins() {
            if origin == "*" {
                return Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    "'*' is not allowed (credentials are enabled); list the exact origins",
                ));
            }
            if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || origin.ends_with('/')
            {
                return Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    format!("{origin:?} is not an origin like https://app.example.com"),
                ));
            }
        }
        if let Some(llm) = &self.llm_base_url
            && !(llm.starts_with("http://") || llm.starts_with("https://"))
        {
            return Err(invalid("LLM_BASE_URL", "must be an http(s) URL"));
        }
        if !(self.letta_base_url.starts_with("http://")
            || self.letta_base_url.starts_with("https://"))
        {
            return Err(invalid("LETTA_BASE_URL", "must be an http(s) URL"));
        }
        if self.environment == Environment::Production {
            let Some(secret) = &self.jwt_secret_key else {
                return Err(invalid(
                    "JWT_SECRET_KEY",
                    "is required when ENVIRONMENT=production",
                ));
            };
            refuse_placeholder("JWT_SECRET_KEY", secret)?;
            if let Some((_, rest)) = url.split_once("://")
                && let Some((userinfo, _)) = rest.split_once('@')
                && let Some((_, password)) = userinfo.split_once(':')
            {
                refuse_placeholder("DATABASE_URL", &Secret::new(password))?;
            }
            let len = secret.expose().len();
            if len < 32 || WEAK_SECRETS.contains(&secret.expose()) {
                return Err(invalid(
                    "JWT_SECRET_KEY",
                    format!(
                        "must be at least 32 bytes of random data in production (this one is \
                         {len} bytes{}); generate one with `openssl rand -base64 48`",
                        if WEAK_SECRETS.contains(&secret.expose()) {
                            ", and a well-known value"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            for (variable, value) in [
                ("METRICS_TOKEN", &self.metrics_token),
                ("PERSONA_SEED_PASSWORD", &self.persona_seed_password),
                ("LETTA_SERVER_PASSWORD", &self.letta_server_password),
                ("LLM_API_KEY", &self.llm_api_key),
            ] {
                if let Some(value) = value {
                    refuse_placeholder(variable, value)?;
                }
            }
            if self.bcrypt_cost < 10 {
                return Err(invalid("BCRYPT_COST", "must be at least 10 in production"));
            }
        } else if let Some(secret) = &self.jwt_secret_key
            && secret.expose().is_empty()
        {
            return Err(invalid("JWT_SECRET_KEY", "must not be empty"));
        }
        Ok(())
    }

    /// The CORS origins, trimmed, empty entries dropped.
    pub fn cors_origins(&self) -> Vec<String> {
        split_list(&self.cors_allowed_origins)
    }

    /// The admin emails, trimmed and lower-cased.
    pub fn admin_email_list(&self) -> Vec<String> {
        split_list(&self.admin_emails)
            .into_iter()
            .map(|e| e.to_lowercase())
            .collect()
    }
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(
        clippy::result_large_err,
        reason = "figment's Jail API fixes the error type"
    )]
    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut out = None;
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            for (k, v) in vars {
                jail.set_env(k, v);
            }
            out = Some(Settings::load_from(Env::raw().only(KEYS), None));
            Ok(())
        });
        out.unwrap()
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = load(&[]).unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://pi.db?mode=rwc");
        assert_eq!(s.bind_addr, "127.0.0.1:8000");
        assert_eq!(s.environment, Environment::Local);
        assert_eq!(s.access_token_expire_minutes, 60);
        assert_eq!(s.agent_backend, AgentRuntime::Embedded);
        assert_eq!(
            s.cors_origins(),
            ["http://localhost:5173", "http://localhost:3000"]
        );
        assert_eq!(s.places_seed, 42);
    }

    #[test]
    fn environment_overrides_and_numeric_secrets_stay_strings() {
        let s = load(&[
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "15"),
            ("JWT_SECRET_KEY", "12345678"),
            ("ADMIN_EMAILS", "Boss@Example.com, ops@example.com"),
            ("LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(s.access_token_expire_minutes, 15);
        assert_eq!(s.jwt_secret_key.as_ref().unwrap().expose(), "12345678");
        assert_eq!(
            s.admin_email_list(),
            ["boss@example.com", "ops@example.com"]
        );
        assert_eq!(s.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "soon"),
            ("BIND_ADDR", "nowhere"),
            ("ENVIRONMENT", "staging"),
            ("DATABASE_URL", "mysql://x"),
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("LOG_FORMAT", "xml"),
            ("AGENT_TURN_TIMEOUT_SECS", "0"),
            ("DEPLOYMENT_ID", "Not Valid"),
            ("SHUTDOWN_TIMEOUT_SECS", "0"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
        ] {
            let err = load(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(var), "{var}={value}: {err}");
        }
    }

    #[test]
    fn production_requires_a_strong_jwt_secret() {
        let err = load(&[("ENVIRONMENT", "production")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("JWT_SECRET_KEY"), "{err}");
        let err = load(&[("ENVIRONMENT", "production"), ("JWT_SECRET_KEY", "secret")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("JWT_SECRET_KEY"), "{err}");
        let err = load(&[
            ("ENVIRONMENT", "production"),
            ("JWT_SECRET_KEY", "CHANGE-ME-to-at-least-32-random-bytes"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("JWT_SECRET_KEY") && err.contains("example placeholder"),
            "the deploy example's placeholder: {err}"
        );
        let err = load(&[("ENVIRONMENT", "production"), ("JWT_SECRET_KEY", "short")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("this one is 5 bytes"), "{err}");
        let err = load(&[
            ("ENVIRONMENT", "production"),
            ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("METRICS_TOKEN", "CHANGE-ME"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("METRICS_TOKEN") && err.contains("example placeholder"),
            "{err}"
        );
        let ok = load(&[
            ("ENVIRONMENT", "production"),
            ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ]);
        assert!(ok.is_ok());
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment's Jail API fixes the error type"
    )]
    fn a_config_file_refuses_unknown_and_upper_case_keys_by_name() {
        let mut outcomes = Vec::new();
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            for (name, text) in [
                (
                    "ok.toml",
                    "bind_addr = \"127.0.0.1:9000\"\nplaces_seed = 7\n",
                ),
                ("upper.toml", "BIND_ADDR = \"127.0.0.1:9000\"\n"),
                ("typo.toml", "bind_adress = \"127.0.0.1:9000\"\n"),
            ] {
                jail.create_file(name, text)?;
                outcomes.push(
                    Settings::load_from(Env::raw().only(KEYS), Some(PathBuf::from(name)))
                        .map(|s| (s.bind_addr, s.places_seed))
                        .map_err(|e| e.to_string()),
                );
            }
            Ok(())
        });
        assert_eq!(outcomes[0], Ok(("127.0.0.1:9000".to_owned(), 7)));
        let upper = outcomes[1].clone().unwrap_err();
        assert!(
            upper.contains("unknown key `BIND_ADDR`") && upper.contains("did you mean `bind_addr`"),
            "{upper}"
        );
        assert!(upper.contains("upper.toml"), "names the file: {upper}");
        let typo = outcomes[2].clone().unwrap_err();
        assert!(typo.contains("unknown key `bind_adress`"), "{typo}");
    }

    #[test]
    fn a_bad_rust_log_is_refused_by_name() {
        let err = load(&[("RUST_LOG", "info,pi_api=loud")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("RUST_LOG"), "{err}");
        assert!(load(&[("RUST_LOG", "warn,pi_api=debug")]).is_ok());
    }

    #[test]
    fn debug_redacts_secrets() {
        let s = Settings {
            jwt_secret_key: Some(Secret::new("super-secret-jwt-key")),
            database_url: Secret::new("postgres://pi:hunter2@db:5432/pi"),
            llm_api_key: Some(Secret::new("sk-live-abc")),
            ..Settings::default()
        };
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("super-secret-jwt-key"));
        assert!(!dbg.contains("hunter2"));
        assert!(!dbg.contains("sk-live-abc"));
        assert!(dbg.contains("postgres://pi:[redacted]@db:5432/pi"));
    }
}
