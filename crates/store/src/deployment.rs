//! `DeploymentRepo` over the one-row `deployment` table.

use crate::db::repo_err;
use async_trait::async_trait;
use pi_domain::RepoError;
use pi_domain::agent::{DeploymentId, DeploymentRepo};
use sea_orm::{ConnectionTrait, Statement};

use crate::Database;

/// [`DeploymentRepo`] on the project's database.
#[derive(Debug, Clone)]
pub struct SeaOrmDeploymentRepo {
    db: Database,
}

impl SeaOrmDeploymentRepo {
    /// A repository on `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl DeploymentRepo for SeaOrmDeploymentRepo {
    async fn get_or_init(&self, candidate: &DeploymentId) -> Result<DeploymentId, RepoError> {
        let conn = self.db.connection();
        let backend = conn.get_database_backend();
        // Whoever inserts first wins; everyone then reads the same row.
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO deployment (singleton, deployment_id, created_at) VALUES (1, $1, $2) \
             ON CONFLICT (singleton) DO NOTHING",
            vec![candidate.as_str().into(), crate::users::now().into()],
        ))
        .await
        .map_err(repo_err("storing the deployment id"))?;
        let row = conn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT deployment_id FROM deployment WHERE singleton = 1",
            ))
            .await
            .map_err(repo_err("reading the deployment id"))?
            .ok_or_else(|| RepoError(anyhow::anyhow!("the deployment row is missing")))?;
        let stored: String = row
            .try_get("", "deployment_id")
            .map_err(repo_err("reading the deployment id"))?;
        DeploymentId::parse(&stored)
            .map_err(|e| RepoError(anyhow::anyhow!("stored deployment id {stored:?} {e}")))
    }
}
