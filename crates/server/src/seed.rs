//! `pi-server seed` (`cargo xtask seed`): migrations, our persona catalogue, and one demo user per
//! persona with a Pi agent and the persona's shared block. Idempotent: re-running creates
//! nothing new and never changes an existing user's password.

use std::io::Write;

use anyhow::Context;
use pi_domain::auth::{SignupError, SignupRequest};
use pi_domain::persona::catalogue;
use pi_domain::user::{Email, UserRepo};
use pi_store::SeaOrmUserRepo;
use rand::Rng;

use crate::config::Settings;
use crate::startup::build_state;

/// Email of the demo user of a persona.
pub fn demo_email(handle: &str) -> String {
    format!("demo.{}@example.com", handle.replace('_', "-"))
}

fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Runs the seed, writing one progress line per step to `out`.
///
/// # Errors
/// When the database, the catalogue or the agent backend fails.
pub async fn run(settings: &Settings, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let (db, state, _agents) = build_state(settings, None).await?;
    writeln!(
        out,
        "[1/4] database ready ({}), migrations applied",
        db.backend().as_str()
    )?;

    let defs = catalogue().map_err(anyhow::Error::msg)?;
    let personas = state.personas.ensure(defs.clone()).await?;
    writeln!(
        out,
        "[2/4] persona catalogue: {} personas present",
        personas.len()
    )?;

    let password = match &settings.persona_seed_password {
        Some(p) => p.expose().to_owned(),
        None => generated_password(),
    };
    let users = SeaOrmUserRepo::new(db.clone());
    let mut created = 0;
    let mut password_used = false;
    for def in &defs {
        let handle = def.persona_handle.as_str();
        let email = demo_email(handle);
        let parsed = Email::parse(&email).map_err(|e| anyhow::anyhow!(e.message))?;
        let user = match users.find_by_email(&parsed).await? {
            Some(user) => {
                writeln!(out, "      {email}: exists (password unchanged)")?;
                user
            }
            None => {
                let display = format!("Demo {}", def.professional_role.replace('_', " "));
                match state
                    .auth
                    .signup(SignupRequest {
                        email: email.clone(),
                        password: password.clone(),
                        display_name: display,
                    })
                    .await
                {
                    Ok(session) => {
                        created += 1;
                        password_used = true;
                        writeln!(out, "      {email}: created")?;
                        session.user
                    }
                    Err(SignupError::EmailTaken) => users
                        .find_by_email(&parsed)
                        .await?
                        .context("demo user vanished")?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        state.personas.assign(user.id, handle, 1.0).await?;
        let agent = state.chat.ensure_agent(&user).await?;
        writeln!(out, "      {email}: persona {handle}, agent {agent}")?;
    }
    writeln!(
        out,
        "[3/4] demo users: {} created, {} already present",
        created,
        defs.len() - created
    )?;
    if password_used && settings.persona_seed_password.is_none() {
        writeln!(
            out,
            "      generated password for the new demo users (shown once): {password}"
        )?;
    }

    let mut attached = 0;
    for def in &defs {
        let report = state
            .personas
            .attach_shared_block(&def.persona_handle)
            .await?;
        attached += report.attached.len();
    }
    writeln!(
        out,
        "[4/4] shared persona blocks in place ({attached} new attachments)"
    )?;
    db.close().await?;
    Ok(())
}
