//! `pi-server admin grant|revoke <email>`: an operator makes admins explicitly, against the
//! server's own database and configuration (signing up never grants admin rights).

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use pi_auth::{BcryptHasher, JwtTokenService};
use pi_domain::auth::{AuthService, SetAdminError};
use pi_store::SeaOrmUserRepo;
use rand::RngCore;

use crate::Settings;
use crate::startup::connect_and_migrate;

/// Grants (`admin = true`) or revokes admin rights of the account with `email`, and reports
/// the result on `out`. The user's next request sees the change.
///
/// # Errors
/// An unknown or malformed email, or an unusable database.
pub async fn set_admin(
    settings: &Settings,
    email: &str,
    admin: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let db = connect_and_migrate(settings).await?;
    // This command never issues tokens: a throwaway signing key is enough.
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let auth = AuthService::new(
        Arc::new(SeaOrmUserRepo::new(db.clone())),
        Arc::new(BcryptHasher::new(settings.bcrypt_cost)),
        Arc::new(JwtTokenService::new(&key, 1)),
    );
    let result = auth.set_admin(email, admin).await;
    db.close().await.context("closing the database")?;
    match result {
        Ok(user) => {
            let verb = if admin {
                "is now an admin"
            } else {
                "is no longer an admin"
            };
            writeln!(out, "{} {verb}", user.email)?;
            Ok(())
        }
        Err(SetAdminError::Invalid(reason)) => Err(anyhow::anyhow!("{email:?}: {reason}")),
        Err(SetAdminError::UnknownUser) => Err(anyhow::anyhow!(
            "no account has the email {email:?}: the user must sign up first"
        )),
        Err(e @ SetAdminError::Unexpected(_)) => Err(anyhow::Error::new(e)),
    }
}
