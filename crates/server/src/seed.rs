//! `pi-server seed` (`cargo xtask seed`): migrations, then the domain's [`DemoSeed`] with the
//! configured (or a generated) demo password, printing one line per step.

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

/// Runs the seed, writing one progress line per step to `out`.
///
/// # Errors
/// When the database, the catalogue or the agent backend fails.
pub async fn run(settings: &Settings, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let (db, state, _agents) = build_state(settings, None).await?;
    writeln!(
        out,
        "[1/4] database ready ({}), migrations applied",
        db.engine().as_str()
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
            text.push(format!(
                "      generated password for the new demo users (shown once): {password}"
            ));
        }
        for t in text {
            if failed_write.is_none()
                && let Err(e) = writeln!(out, "{t}")
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
