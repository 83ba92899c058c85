//! `AttemptCounter` over the `login_attempts` table: one atomic upsert per attempt, so replicas
//! sharing the database share the counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pi_domain::RepoError;
use pi_domain::auth::{AttemptCount, AttemptCounter, ThrottleKey};
use sea_orm::{ConnectionTrait, Statement, Value};

use crate::Database;

/// Expired rows are swept every this many recorded attempts (per process).
const SWEEP_EVERY: u64 = 256;

/// [`AttemptCounter`] backed by `login_attempts`.
#[derive(Debug)]
pub struct SeaOrmAttemptCounter {
    db: Database,
    recorded: AtomicU64,
}

impl SeaOrmAttemptCounter {
    /// A counter on `db`.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            recorded: AtomicU64::new(0),
        }
    }

    async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<(), RepoError> {
        let conn = self.db.connection();
        conn.execute_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            sql,
            values,
        ))
        .await
        .map(|_| ())
        .map_err(crate::db::repo_err("login_attempts update failed"))
    }
}

fn secs(window: Duration) -> i64 {
    i64::try_from(window.as_secs()).unwrap_or(i64::MAX)
}

#[async_trait]
impl AttemptCounter for SeaOrmAttemptCounter {
    async fn record(&self, key: &ThrottleKey, window: Duration) -> Result<AttemptCount, RepoError> {
        let now = Utc::now().timestamp();
        let expired_before = now.saturating_sub(secs(window));
        let conn = self.db.connection();
        // A window that ended starts over with this attempt; `SET` reads the old row on both
        // databases, and the upsert is atomic, so concurrent attempts each get their own count.
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                "INSERT INTO login_attempts (throttle_key, attempts, window_start) \
                 VALUES ($1, 1, $2) \
                 ON CONFLICT (throttle_key) DO UPDATE SET \
                   attempts = CASE WHEN login_attempts.window_start <= $3 THEN 1 \
                                   ELSE login_attempts.attempts + 1 END, \
                   window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 \
                                       ELSE login_attempts.window_start END \
                 RETURNING attempts, window_start",
                vec![key.as_str().into(), now.into(), expired_before.into()],
            ))
            .await
            .map_err(crate::db::repo_err("counting a login attempt"))?
            .ok_or_else(|| RepoError(anyhow::anyhow!("login attempt upsert returned no row")))?;
        let attempts: i32 = row
            .try_get("", "attempts")
            .map_err(|e| RepoError(anyhow::Error::new(e)))?;
        let started: i64 = row
            .try_get("", "window_start")
            .map_err(|e| RepoError(anyhow::Error::new(e)))?;
        if self.recorded.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.execute(
                "DELETE FROM login_attempts WHERE window_start <= $1",
                vec![expired_before.into()],
            )
            .await?;
        }
        let window_ends_at =
            DateTime::<Utc>::from_timestamp(started.saturating_add(secs(window)), 0)
                .unwrap_or_else(Utc::now);
        Ok(AttemptCount {
            attempts: u32::try_from(attempts).unwrap_or(0),
            window_ends_at,
        })
    }

    async fn current(
        &self,
        key: &ThrottleKey,
        window: Duration,
    ) -> Result<AttemptCount, RepoError> {
        let now = Utc::now().timestamp();
        let conn = self.db.connection();
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                "SELECT attempts, window_start FROM login_attempts WHERE throttle_key = $1",
                vec![key.as_str().into()],
            ))
            .await
            .map_err(crate::db::repo_err("reading login attempts"))?;
        let read = crate::db::repo_err("reading login attempts");
        let (attempts, started) = match row {
            Some(row) => (
                row.try_get::<i32>("", "attempts").map_err(read)?,
                row.try_get::<i64>("", "window_start")
                    .map_err(crate::db::repo_err("reading login attempts"))?,
            ),
            None => (0, now),
        };
        // A window that ended counts nothing.
        let (attempts, started) = if started <= now.saturating_sub(secs(window)) {
            (0, now)
        } else {
            (attempts, started)
        };
        Ok(AttemptCount {
            attempts: u32::try_from(attempts).unwrap_or(0),
            window_ends_at: DateTime::<Utc>::from_timestamp(
                started.saturating_add(secs(window)),
                0,
            )
            .unwrap_or_else(Utc::now),
        })
    }

    async fn reset(&self, key: &ThrottleKey) -> Result<(), RepoError> {
        self.execute(
            "DELETE FROM login_attempts WHERE throttle_key = $1",
            vec![key.as_str().into()],
        )
        .await
    }

    async fn forgive(&self, key: &ThrottleKey) -> Result<(), RepoError> {
        self.execute(
            "UPDATE login_attempts SET attempts = attempts - 1 \
             WHERE throttle_key = $1 AND attempts > 0",
            vec![key.as_str().into()],
        )
        .await
    }
}
