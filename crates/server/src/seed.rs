//! `pi-server seed` (`cargo xtask seed`): migrations, then the domain's [`DemoSeed`] with the
//! configured (or a generated) demo password, reporting one line per step: text for people, or
//! a JSON event per line under `LOG_FORMAT=json`. A generated password is printed only to a
//! terminal (or with `--print-password`); otherwise it goes to a file only its owner can read.

use std::io::Write;

use pi_domain::persona::catalogue;
use pi_domain::seed::{DemoSeed, SeedEvent};
use pi_store::SeaOrmUserRepo;
use rand::Rng;
use std::sync::Arc;

use crate::config::Settings;
use crate::startup::build_state;

fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn line(event: &SeedEvent) -> String {
    match event {
        SeedEvent::Catalogue { personas } => {
            format!("[2/4] persona catalogue: {personas} personas present")
        }
        SeedEvent::UserCreated { email } => format!("      {email}: created"),
        SeedEvent::UserExists { email } => format!("      {email}: exists (password unchanged)"),
        SeedEvent::UsersDone { created, existing } => {
            format!("[3/4] demo users: {created} created, {existing} already present")
        }
        SeedEvent::UserReady {
            email,
            persona,
            agent,
        } => format!("      {email}: persona {persona}, agent {agent}"),
        SeedEvent::SharedBlocks { attached } => {
            format!("[4/4] shared persona blocks in place ({attached} new attachments)")
        }
    }
}

/// Where a generated demo password goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordOutput {
    /// With the progress lines (a person reads them: a terminal, or `--print-password`).
    Print,
    /// Into this file (created with mode 0600, replaced if present), never into the output.
    File(std::path::PathBuf),
}

/// How `seed` reports.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// One JSON object per line instead of text (`LOG_FORMAT=json`).
    pub json: bool,
    /// Where a generated password goes.
    pub password: PasswordOutput,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            json: false,
            password: PasswordOutput::Print,
        }
    }
}

/// One report line: the text, or a JSON event carrying it.
fn report(options: &SeedOptions, text: &str) -> String {
    if options.json {
        serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "INFO",
            "target": "pi_server::seed",
            "message": text.trim_start(),
        })
        .to_string()
    } else {
        text.to_owned()
    }
}

/// Writes `password` to `path`, readable by its owner only.
fn write_secret(path: &std::path::Path, password: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{password}")
}

/// Runs the seed, writing one progress line per step to `out` (text, a generated password
/// printed with the first user it is given to).
///
/// # Errors
/// When the database, the catalogue or the agent backend fails.
pub async fn run(settings: &Settings, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    run_with(settings, out, &SeedOptions::default()).await
}

/// [`run`], reporting as `options` say.
///
/// # Errors
/// As [`run`], and when the password file cannot be written.
pub async fn run_with(
    settings: &Settings,
    out: &mut (dyn Write + Send),
    options: &SeedOptions,
) -> anyhow::Result<()> {
    let (db, state, _agents) = build_state(settings, None).await?;
    writeln!(
        out,
        "{}",
        report(
            options,
            &format!(
                "[1/4] database ready ({}), migrations applied",
                db.engine().as_str()
            )
        )
    )?;
    let seed = DemoSeed::new(
        state.personas.clone(),
        state.auth.clone(),
        Arc::new(SeaOrmUserRepo::new(db.clone())),
        state.chat.clone(),
    );
    let password = match &settings.persona_seed_password {
        Some(p) => p.expose().to_owned(),
        None => generated_password(),
    };
    // A generated password is shown with the first user it is given to, so that no later
    // failure can leave users behind with a password nobody saw.
    let mut unshown = settings.persona_seed_password.is_none();
    let mut failed_write = None;
    let mut progress = |event: SeedEvent| {
        let mut text = vec![line(&event)];
        if matches!(event, SeedEvent::UserCreated { .. }) && unshown {
            unshown = false;
            match &options.password {
                PasswordOutput::Print => text.push(format!(
                    "      generated password for the new demo users (shown once): {password}"
                )),
                PasswordOutput::File(path) => match write_secret(path, &password) {
                    Ok(()) => text.push(format!(
                        "      generated password for the new demo users written to {} (mode 0600)",
                        path.display()
                    )),
                    Err(e) => {
                        failed_write = Some(std::io::Error::new(
                            e.kind(),
                            format!("cannot write the password file {}: {e}", path.display()),
                        ));
                    }
                },
            }
        }
        for t in text {
            if failed_write.is_none()
                && let Err(e) = writeln!(out, "{}", report(options, &t))
            {
                failed_write = Some(e);
            }
        }
    };
    seed.run(
        catalogue().map_err(anyhow::Error::msg)?,
        &password,
        &mut progress,
    )
    .await?;
    if let Some(e) = failed_write {
        return Err(e.into());
    }
    db.close().await?;
    Ok(())
}
