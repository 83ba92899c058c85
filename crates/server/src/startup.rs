//! Builds the application from [`Settings`]: adapters → services → HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::{Server, ServerHandle};
use anyhow::Context;
use pi_api::{AppState, HttpConfig, ServiceInfo};
use pi_auth::{BcryptHasher, JwtTokenService};
use pi_domain::admin::AgentAdminService;
use pi_domain::agent::{
    AgentProvisioner, BlockStore, DeploymentId, DeploymentRepo, PiAgentTemplate,
};
use pi_domain::auth::{AuthService, ThrottlePolicy};
use pi_domain::chat::ChatService;
use pi_domain::health::HealthProbe;
use pi_domain::persona::{PersonaService, catalogue};
use pi_domain::tools::ToolService;
use pi_domain::user::{CachedUserRepo, UserCache, UserRepo};
use pi_store::{
    Database, DatabaseProbe, PersonaLocks, SeaOrmAttemptCounter, SeaOrmChatRepo,
    SeaOrmDeploymentRepo, SeaOrmPersonaRepo, SeaOrmUserRepo,
};

/// Agents updated at once when a persona's shared block fans out.
const PERSONA_FANOUT: usize = 32;
use rand::RngCore;

use crate::agents::{AgentPorts, AgentSetup};
use crate::config::{Environment, Settings, redact_url};
use crate::tools::{build_registry, places_scale};
use pi_places::PlacesData;

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    db: Database,
    blocks: Arc<dyn BlockStore>,
    /// Set on SIGTERM/Ctrl-C: `/health/ready` fails from then on.
    stopping: Arc<AtomicBool>,
    /// How long the server keeps serving after the signal before it drains.
    shutdown_delay: std::time::Duration,
}

/// `/health/ready`'s `shutdown` check: failing once the process got SIGTERM, so load balancers
/// take the replica out of rotation while it still serves.
struct ShutdownProbe(Arc<AtomicBool>);

#[async_trait::async_trait]
impl HealthProbe for ShutdownProbe {
    fn name(&self) -> &'static str {
        "shutdown"
    }

    async fn check(&self) -> Result<String, String> {
        if self.0.load(Ordering::Relaxed) {
            Err("stopping: got SIGTERM, finishing the requests in flight".into())
        } else {
            Ok("serving".into())
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Connects to the configured database and applies pending migrations.
///
/// # Errors
/// When the database is unreachable or a migration fails.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<Database> {
    let url = settings.database_url.expose();
    let db = pi_store::connect_with(url, Some(settings.database_pool_size))
        .await
        .with_context(|| format!("DATABASE_URL={}", redact_url(url)))?;
    db.migrate().await.context("migrations failed")?;
    Ok(db)
}

fn jwt_secret(settings: &Settings) -> Vec<u8> {
    match &settings.jwt_secret_key {
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => {
            // Only reachable outside production (validated in config).
            if settings.environment != Environment::Test {
                tracing::warn!(
                    "JWT_SECRET_KEY is not set: using a random key for this process; \
                     tokens will not survive a restart"
                );
            }
            let mut key = vec![0u8; 64];
            rand::rng().fill_bytes(&mut key);
            key
        }
    }
}

/// `DEPLOYMENT_ID`, or the id this database keeps (created on first start).
async fn deployment_id(settings: &Settings, db: &Database) -> anyhow::Result<DeploymentId> {
    let id = match &settings.deployment_id {
        Some(id) => DeploymentId::parse(id).map_err(|e| anyhow::anyhow!("DEPLOYMENT_ID {e}"))?,
        None => SeaOrmDeploymentRepo::new(db.clone())
            .get_or_init(&DeploymentId::generate())
            .await
            .map_err(|e| e.0)
            .context("deployment id")?,
    };
    tracing::info!(deployment_id = %id, "agents of this deployment are tagged {}", id.tag());
    Ok(id)
}

/// Connects and migrates the database and builds every service (everything but HTTP).
///
/// # Errors
/// When the database is unusable, the template is broken or the LLM client cannot be built.
pub async fn build_state(
    settings: &Settings,
    agents: Option<AgentPorts>,
) -> anyhow::Result<(Database, AppState, AgentPorts)> {
    let template = Arc::new(PiAgentTemplate::builtin().context("Pi agent template")?);
    let db = connect_and_migrate(settings).await?;

    // Authentication reads users through a cache; every other user of the repo writes through
    // the same cache so this process never serves its own stale writes.
    let stored_users: Arc<dyn UserRepo> = Arc::new(SeaOrmUserRepo::new(db.clone()));
    let user_cache = UserCache::new(std::time::Duration::from_millis(settings.auth_cache_ttl_ms));
    let users: Arc<dyn UserRepo> = Arc::new(CachedUserRepo::writing(
        stored_users.clone(),
        user_cache.clone(),
    ));
    let auth_users: Arc<dyn UserRepo> = Arc::new(CachedUserRepo::reading(stored_users, user_cache));
    let hasher = Arc::new(BcryptHasher::new(settings.bcrypt_cost));
    let tokens = Arc::new(JwtTokenService::new(
        &jwt_secret(settings),
        settings.access_token_expire_minutes,
    ));
    if !settings.admin_email_list().is_empty() {
        tracing::warn!(
            "ADMIN_EMAILS is set but no longer grants admin rights (whoever signed up first with \
             a listed address would get them); use `pi-server admin grant <email>`"
        );
    }
    let auth = Arc::new(
        AuthService::new(auth_users, hasher, tokens).with_login_throttle(
            Arc::new(SeaOrmAttemptCounter::new(db.clone())),
            ThrottlePolicy {
                per_account: settings.login_max_attempts_per_account,
                per_client: settings.login_max_attempts_per_client,
                window: std::time::Duration::from_secs(settings.login_throttle_window_secs),
            },
        ),
    );
    let chat_repo = Arc::new(SeaOrmChatRepo::new(db.clone()));
    // Blocks first (personas need them), then the tools (persona tools need the personas),
    // then the gateway that runs those tools.
    let setup = match agents {
        Some(ports) => AgentSetup::Given(ports),
        None => AgentSetup::from_settings(settings, &db)?,
    };
    let blocks = setup.blocks();
    let personas = Arc::new(PersonaService::new(
        Arc::new(SeaOrmPersonaRepo::new(db.clone())),
        blocks.clone(),
        Arc::new(PersonaLocks::new(db.clone())),
        PERSONA_FANOUT,
    ));
    // The built-in personas are known from the first start (existing ones are left as they
    // are), so `list_available_personas` never answers with an empty catalogue.
    personas
        .ensure(catalogue().map_err(anyhow::Error::msg)?)
        .await
        .context("cannot store the built-in personas")?;
    // The analytics data set is built in the background so start-up stays fast.
    // Tools answer from the active data set: the built-in one, or a stored one (issue 32).
    let datasets = Arc::new(pi_store::SeaOrmDatasetRepo::new(db.clone()));
    let data = Arc::new(pi_domain::data::DataService::new(datasets.clone()));
    let upload_dir = settings.upload_dir.as_ref().map_or_else(
        || std::env::temp_dir().join("pi-uploads"),
        std::path::PathBuf::from,
    );
    let uploads = Arc::new(crate::file_import::Uploads::new(
        (*data).clone(),
        upload_dir,
        settings.max_upload_bytes,
    )?);
    let places = PlacesData::with_datasets(places_scale(settings), settings.places_seed, datasets);
    places.spawn_build();
    let registry = Arc::new(build_registry(&places, &personas));
    let agents = setup.with_tools(blocks, registry.clone());
    let tools = registry.schemas();
    let deployment = deployment_id(settings, &db).await?;
    // One provisioning step for chat's lazy creation and the admin route.
    let provisioner = Arc::new(
        AgentProvisioner::new(users.clone(), agents.gateway.clone(), template, tools)
            .with_persona_memory(personas.clone())
            .with_deployment(&deployment),
    );
    let chat = Arc::new(
        ChatService::new(
            users.clone(),
            chat_repo.clone(),
            chat_repo.clone(),
            chat_repo,
            agents.gateway.clone(),
            provisioner.clone(),
        )
        .with_turn_deadline(std::time::Duration::from_secs(
            settings.agent_turn_timeout_secs,
        )),
    );
    let admin = Arc::new(AgentAdminService::new(
        users,
        agents.gateway.clone(),
        provisioner,
    ));
    let mut probes: Vec<Arc<dyn HealthProbe>> = vec![Arc::new(DatabaseProbe::new(db.clone()))];
    probes.extend(agents.probe.clone());

    let state = AppState {
        auth,
        chat,
        admin,
        tools: Arc::new(ToolService::new(registry)),
        personas,
        data,
        uploads,
        probes,
        info: ServiceInfo {
            name: "pi-backend",
            version: env!("CARGO_PKG_VERSION"),
            environment: settings.environment.as_str().to_owned(),
        },
    };
    Ok((db, state, agents))
}

impl Application {
    /// Connects and migrates the database, wires adapters and services, and binds the listener.
    ///
    /// # Errors
    /// When the database is unusable or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::assemble(settings, None).await
    }

    /// Like [`Application::build`], with an explicit agent backend (tests use a fake one).
    ///
    /// # Errors
    /// When the database is unusable, the agent template is broken, or the address cannot be
    /// bound.
    pub async fn build_with(settings: Settings, agents: AgentPorts) -> anyhow::Result<Self> {
        Self::assemble(settings, Some(agents)).await
    }

    async fn assemble(settings: Settings, agents: Option<AgentPorts>) -> anyhow::Result<Self> {
        let (db, mut state, agents) = build_state(&settings, agents).await?;
        let stopping = Arc::new(AtomicBool::new(false));
        state
            .probes
            .push(Arc::new(ShutdownProbe(Arc::clone(&stopping))));
        let auth = Arc::clone(&state.auth);

        let listener = TcpListener::bind(&settings.bind_addr)
            .with_context(|| format!("cannot listen on BIND_ADDR={}", settings.bind_addr))?;
        let port = listener.local_addr()?.port();
        let server = pi_api::serve(
            listener,
            state,
            HttpConfig {
                cors_allowed_origins: settings.cors_origins(),
                body_limit_bytes: settings.max_body_bytes,
                sse_keep_alive: std::time::Duration::from_secs(settings.sse_keep_alive_secs),
                shutdown_timeout_secs: settings.shutdown_timeout_secs,
                handle_signals: false,
                trusted_proxies: pi_api::TrustedProxies::parse(&settings.trusted_proxies).map_err(
                    |entry| {
                        anyhow::anyhow!("TRUSTED_PROXIES: {entry:?} is not an address or network")
                    },
                )?,
                scrape_hooks: vec![{
                    let db = db.clone();
                    Arc::new(move || db.record_pool_metrics())
                }],
                metrics_token: settings
                    .metrics_token
                    .as_ref()
                    .map(|t| t.expose().to_owned()),
                ..HttpConfig::default()
            },
        )?;

        // Prepare the dummy hash used for unknown-email logins off the start-up path.
        tokio::spawn(async move {
            if let Err(e) = auth.warm_up().await {
                tracing::warn!(error = %e, "could not prepare the login timing guard");
            }
        });

        db.fill_pool();
        tracing::info!(
            port,
            database = db.engine().as_str(),
            environment = settings.environment.as_str(),
            "pi-backend listening"
        );
        Ok(Self {
            port,
            server,
            db,
            blocks: agents.blocks.clone(),
            stopping,
            shutdown_delay: std::time::Duration::from_secs(settings.shutdown_delay_secs),
        })
    }

    /// The bound port (useful with `BIND_ADDR=127.0.0.1:0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database the application uses.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The memory-block store of the agent backend (persona services and tests use it).
    pub fn block_store(&self) -> Arc<dyn BlockStore> {
        Arc::clone(&self.blocks)
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/Ctrl-C (in-flight requests finish first), then closes the pool.
    ///
    /// # Errors
    /// An I/O error from the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (handle, stopping, delay) = (self.server.handle(), self.stopping, self.shutdown_delay);
        let on_signal = tokio::spawn(async move {
            stop_signal().await;
            stopping.store(true, Ordering::Relaxed);
            tracing::info!(
                delay_secs = delay.as_secs(),
                "stop signal: /health/ready fails from now on; draining after the delay"
            );
            tokio::time::sleep(delay).await;
            handle.stop(true).await;
        });
        let served = self.server.await;
        on_signal.abort();
        served?;
        tracing::info!("server stopped; closing database pool");
        let closing = std::time::Instant::now();
        if let Err(e) = self.db.close().await {
            tracing::warn!(error = %e, "error while closing the database pool");
        }
        tracing::info!(
            close_ms = closing.elapsed().as_millis() as u64,
            "database pool closed; exiting"
        );
        Ok(())
    }
}
