//! `pi-server`: runs the Pi backend (default) or one of its maintenance commands.

use std::process::ExitCode;

/// mimalloc, returning freed pages to the OS at once (`pi-alloc`): faster than the system
/// allocator on every route of `cargo xtask bench api`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: pi_alloc::MiMalloc = pi_alloc::MiMalloc;

use clap::{Parser, Subcommand};
use pi_server::{Application, Settings, startup, telemetry, tools};

/// The Pi backend. Configuration comes from the environment (see README).
#[derive(Debug, Parser)]
#[command(name = "pi-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Migrations, the persona catalogue, and demo users with agents (idempotent).
    Seed,
    /// Grant or revoke admin rights of an existing account: `admin grant EMAIL`.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Exit 0 when the server on this host answers `GET /health` with 200 (`--ready`:
    /// `/health/ready`): a container health check that needs no curl.
    Health {
        /// Ask `/health/ready` (database and agent backend) instead of `/health`.
        #[arg(long)]
        ready: bool,
    },
    /// Run an analytics tool locally and print its JSON: `tool list` or `tool NAME 'JSON'`.
    Tool {
        /// `list`, or the tool's name.
        name: String,
        /// Arguments as JSON (default `{}`).
        args: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Make the account with this email an admin.
    Grant {
        /// The account's email.
        email: String,
    },
    /// Take admin rights away from the account with this email.
    Revoke {
        /// The account's email.
        email: String,
    },
}

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    pi_alloc::purge_freed_memory_at_once();
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("pi-server: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Tool { name, args }) = &cli.command {
        return tools::run_cli(&settings, name, args.as_deref());
    }
    telemetry::init(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pi-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                let app = Application::build(settings).await?;
                app.run_until_stopped().await?;
            }
            Command::Tool { .. } => {}
            Command::Health { ready } => pi_server::probe::check(&settings, ready).await?,
            Command::Admin { action } => {
                let (email, admin) = match action {
                    AdminAction::Grant { email } => (email, true),
                    AdminAction::Revoke { email } => (email, false),
                };
                let mut out = std::io::stdout();
                pi_server::admin::set_admin(&settings, &email, admin, &mut out).await?;
            }
            Command::Seed => {
                let mut out = std::io::stdout();
                pi_server::seed::run(&settings, &mut out).await?;
            }
            Command::Migrate => {
                let db = startup::connect_and_migrate(&settings).await?;
                tracing::info!(database = db.engine().as_str(), "migrations applied");
                db.close().await?;
            }
        }
        anyhow::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "pi-server failed");
            eprintln!("pi-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}
