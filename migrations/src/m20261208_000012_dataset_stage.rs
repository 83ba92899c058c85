//! Staging tables for PostgreSQL imports: `dataset_stage_places` and `dataset_stage_visits`, the
//! columns of `dataset_places` / `dataset_visits` without their keys, plus the import's id and a
//! row number. An import `COPY`s its rows in (no index, no conflict to resolve per row) and
//! merges them into the data set once, when it commits: the last row of a key wins, as in the
//! file. They are logged tables: an `UNLOGGED` one is emptied by crash recovery and is empty on a
//! promoted standby, and an importer whose pool reconnected would go on staging and commit only
//! the rows staged after the crash. SQLite has the same tables for one schema, but stages in
//! place.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns after `import_id` and `seq`, as in migration 11.
const PLACES: &str = "place_key TEXT NOT NULL, name TEXT NOT NULL, brand TEXT, category TEXT, \
     sub_category TEXT, lat DOUBLE PRECISION NOT NULL, lon DOUBLE PRECISION NOT NULL, \
     street TEXT, city TEXT, region TEXT, postcode TEXT, country TEXT, \
     confidence DOUBLE PRECISION, closed BOOLEAN NOT NULL DEFAULT FALSE";
const VISITS: &str = "place_key TEXT NOT NULL, period_start TEXT NOT NULL, \
     period_end TEXT NOT NULL, raw_visits BIGINT NOT NULL, raw_visitors BIGINT, \
     visits_by_day TEXT NOT NULL, visits_by_hour TEXT, median_dwell DOUBLE PRECISION, \
     dwell_buckets TEXT, home_areas TEXT, related_brands TEXT, distance_from_home DOUBLE PRECISION";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let seq = match m.get_database_backend() {
            DbBackend::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY",
            _ => "INTEGER",
        };
        let conn = m.get_connection();
        for (table, columns) in [
            ("dataset_stage_places", PLACES),
            ("dataset_stage_visits", VISITS),
        ] {
            conn.execute_unprepared(&format!(
                "CREATE TABLE IF NOT EXISTS {table} \
                 (import_id TEXT NOT NULL, seq {seq}, {columns})"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        for table in ["dataset_stage_visits", "dataset_stage_places"] {
            conn.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
                .await?;
        }
        Ok(())
    }
}
