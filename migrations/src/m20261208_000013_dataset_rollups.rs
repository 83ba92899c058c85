//! `dataset_rollups`: a chain's or category's daily visit totals (optionally in one metro), as a
//! replica computed them for `compare_performance` from one version of a data set, kept so that
//! the next comparison (on any replica) reads one row instead of every place's visits. A row of
//! another version is stale: it is recomputed and replaced; an import's commit and a data set's
//! drop delete the data set's rows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE TABLE IF NOT EXISTS dataset_rollups (dataset TEXT NOT NULL, \
                 grp TEXT NOT NULL, version BIGINT NOT NULL, days TEXT NOT NULL, \
                 PRIMARY KEY (dataset, grp))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS dataset_rollups")
            .await?;
        Ok(())
    }
}
