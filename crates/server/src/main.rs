//! `pi-server`: runs the Pi backend (default) or one of its maintenance commands.

use std::process::ExitCode;

/// mimalloc, returning freed pages to the OS at once (`pi-alloc`): faster than the system
/// allocator on every route of `cargo xtask bench api`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: pi_alloc::MiMalloc = pi_alloc::MiMalloc;

use clap::{Parser, Subcommand};
use pi_server::{Application, Settings, startup, telemetry};

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
    /// Migrations, the persona catalogue, and demo users with agents (idempotent). A generated
    /// password is printed only to a terminal; otherwise it is written to `--password-file`.
    Seed {
        /// Print a generated password even when the output is not a terminal (it then ends up
        /// in logs).
        #[arg(long)]
        print_password: bool,
        /// Where a generated password goes when it is not printed (mode 0600).
        #[arg(long, default_value = "pi-seed-password.txt")]
        password_file: std::path::PathBuf,
    },
    /// Import the customer's places or visit patterns into a data set: `import places FILE
    /// --dataset NAME`, `import patterns FILE --dataset NAME` (docs/DATA.md).
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Write a data set in a published schema: `export patterns --dataset synthetic --out F`
    /// (Weekly Patterns, gzip when F ends in `.gz`), `export places --out F.parquet` (Overture
    /// Places GeoParquet).
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// The data sets: `dataset list`, `dataset activate NAME`, `dataset drop NAME`.
    Dataset {
        #[command(subcommand)]
        action: DatasetAction,
    },
    /// Grant or revoke admin rights of an existing account: `admin grant EMAIL`.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Exit 0 when the server on this host answers `GET /health` with 200 (`--ready`:
    /// `/health/ready`): a container health check that needs no curl.
    Health {
        /// Ask `/health/ready` instead of `/health`, with the checks the shipped load
        /// balancers and Kubernetes probes use (`--checks`).
        #[arg(long)]
        ready: bool,
        /// With `--ready`: the checks to ask for, comma-separated, or `all` (the agent backend
        /// too). The default is what HAProxy and the readiness probe ask.
        #[arg(long, default_value = "database,shutdown", requires = "ready")]
        checks: String,
    },
    /// Run an analytics tool locally and print its JSON: `tool list` or `tool NAME 'JSON'`.
    Tool {
        /// `list`, or the tool's name.
        name: String,
        /// Arguments as JSON (default `{}`).
        args: Option<String>,
        /// Time this many more calls after the first and print their p50 and p90 to stderr.
        #[arg(long)]
        repeat: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum ImportWhat {
    /// Places: Overture Places GeoParquet, Foursquare OS Places Parquet, or the plain CSV.
    Places {
        /// The file.
        file: std::path::PathBuf,
        /// The data set to import into (created if new).
        #[arg(long)]
        dataset: String,
        /// `overture`, `foursquare` or `csv`; told from the content when left out.
        #[arg(long, value_parser = parse_places_format)]
        format: Option<pi_ingest::PlacesFormat>,
        /// Stop, importing nothing, once more rows than this are rejected.
        #[arg(long)]
        max_errors: Option<u64>,
    },
    /// Advan / SafeGraph Weekly or Monthly Patterns, `.csv` or `.csv.gz`.
    Patterns {
        /// The file.
        file: std::path::PathBuf,
        /// The data set to import into (created if new).
        #[arg(long)]
        dataset: String,
        /// Stop, importing nothing, once more rows than this are rejected.
        #[arg(long)]
        max_errors: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
enum ExportWhat {
    /// The built-in set's places as Overture Places GeoParquet (docs/DATA.md).
    Places {
        /// The data set (only `synthetic` for now).
        #[arg(long, default_value = "synthetic")]
        dataset: String,
        /// The file to write.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// The built-in set as Weekly Patterns: one row per place and whole week (docs/DATA.md).
    Patterns {
        /// The data set (only `synthetic` for now).
        #[arg(long, default_value = "synthetic")]
        dataset: String,
        /// The file to write.
        #[arg(long)]
        out: std::path::PathBuf,
        /// First day (YYYY-MM-DD).
        #[arg(long, default_value = "2023-01-01")]
        from: chrono::NaiveDate,
        /// Last day (YYYY-MM-DD).
        #[arg(long, default_value = "2025-12-31")]
        to: chrono::NaiveDate,
    },
}

fn parse_places_format(s: &str) -> Result<pi_ingest::PlacesFormat, String> {
    pi_ingest::PlacesFormat::parse(s)
        .ok_or_else(|| format!("{s:?} is not a places format: overture, foursquare or csv"))
}

#[derive(Debug, Subcommand)]
enum DatasetAction {
    /// Every data set with its coverage; `*` marks the active one.
    List,
    /// Make a data set the one every replica's tools answer from (`synthetic`: the built-in).
    Activate {
        /// The data set's name.
        name: String,
    },
    /// Delete a stored data set, its rows and its import history.
    Drop {
        /// The data set's name.
        name: String,
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
    if let Some(Command::Tool { name, args, repeat }) = &cli.command {
        return pi_server::tool_cli::run(&settings, name, args.as_deref(), *repeat);
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
            Command::Health { ready, checks } => {
                let checks = ready.then_some(checks.as_str());
                pi_server::probe::check(&settings, checks).await?;
            }
            Command::Import { what } => {
                use pi_domain::data::ImportKind;
                let request = match what {
                    ImportWhat::Places {
                        file,
                        dataset,
                        format,
                        max_errors,
                    } => pi_server::data::ImportRequest {
                        kind: ImportKind::Places,
                        path: file,
                        dataset,
                        format,
                        max_errors,
                    },
                    ImportWhat::Patterns {
                        file,
                        dataset,
                        max_errors,
                    } => pi_server::data::ImportRequest {
                        kind: ImportKind::Patterns,
                        path: file,
                        dataset,
                        format: None,
                        max_errors,
                    },
                };
                let mut out = std::io::stdout();
                pi_server::data::import(&settings, &request, &mut out).await?;
            }
            Command::Export {
                what: ExportWhat::Places { dataset, out },
            } => {
                let mut stdout = std::io::stdout();
                pi_server::data::export_places(&settings, &dataset, &out, &mut stdout)?;
            }
            Command::Export {
                what:
                    ExportWhat::Patterns {
                        dataset,
                        out,
                        from,
                        to,
                    },
            } => {
                let request = pi_server::data::ExportRequest {
                    dataset,
                    out,
                    from,
                    to,
                };
                let mut stdout = std::io::stdout();
                pi_server::data::export_patterns(&settings, &request, &mut stdout)?;
            }
            Command::Dataset { action } => {
                let mut out = std::io::stdout();
                match action {
                    DatasetAction::List => pi_server::data::list(&settings, &mut out).await?,
                    DatasetAction::Activate { name } => {
                        pi_server::data::activate(&settings, &name, &mut out).await?;
                    }
                    DatasetAction::Drop { name } => {
                        pi_server::data::remove(&settings, &name, &mut out).await?;
                    }
                }
            }
            Command::Admin { action } => {
                let (email, admin) = match action {
                    AdminAction::Grant { email } => (email, true),
                    AdminAction::Revoke { email } => (email, false),
                };
                let mut out = std::io::stdout();
                pi_server::admin::set_admin(&settings, &email, admin, &mut out).await?;
            }
            Command::Seed {
                print_password,
                password_file,
            } => {
                use pi_server::seed::{PasswordOutput, SeedOptions};
                let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
                let options = SeedOptions {
                    json: settings.log_format == pi_server::config::LogFormat::Json,
                    password: if print_password || terminal {
                        PasswordOutput::Print
                    } else {
                        PasswordOutput::File(password_file)
                    },
                };
                let mut out = std::io::stdout();
                pi_server::seed::run_with(&settings, &mut out, &options).await?;
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
            let cause = describe(&e);
            tracing::error!(error = %cause, "pi-server failed");
            eprintln!("pi-server: {cause}");
            ExitCode::FAILURE
        }
    }
}

/// The error's chain as one line, each cause once: drivers often repeat their source's text in
/// their own message ("Connection Error: error communicating with database: Connection
/// refused"), and `{:#}` would then print the cause three times.
fn describe(e: &anyhow::Error) -> String {
    let messages: Vec<String> = e.chain().map(ToString::to_string).collect();
    let mut parts: Vec<&str> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let own = match messages.get(i + 1) {
            Some(next) if message.ends_with(next.as_str()) && message.len() > next.len() => {
                message[..message.len() - next.len()].trim_end_matches([':', ' '])
            }
            _ => message.as_str(),
        };
        if !own.is_empty() && !parts.contains(&own) {
            parts.push(own);
        }
    }
    parts.join(": ")
}
