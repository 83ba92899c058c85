//! Pi's schema migrations, written once for SQLite and PostgreSQL.
//!
//! They run at server start-up and via `cargo xtask migrate` (`pi-server migrate`).

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_users;
mod m20261125_000002_create_chat;
mod m20261125_000003_create_agent_runtime;
mod m20261125_000004_create_personas;
mod m20261202_000005_create_login_attempts;
mod m20261202_000006_create_deployment;
mod m20261202_000007_full_text_search;
mod m20261203_000008_touch_agent_on_message;
mod m20261205_000009_index_searchable_history;
mod m20261207_000010_idempotency_and_probe;
mod m20261207_000011_datasets;
mod m20261208_000012_dataset_stage;
mod m20261208_000013_dataset_rollups;

/// All migrations, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_users::Migration),
            Box::new(m20261125_000002_create_chat::Migration),
            Box::new(m20261125_000003_create_agent_runtime::Migration),
            Box::new(m20261125_000004_create_personas::Migration),
            Box::new(m20261202_000005_create_login_attempts::Migration),
            Box::new(m20261202_000006_create_deployment::Migration),
            Box::new(m20261202_000007_full_text_search::Migration),
            Box::new(m20261203_000008_touch_agent_on_message::Migration),
            Box::new(m20261205_000009_index_searchable_history::Migration),
            Box::new(m20261207_000010_idempotency_and_probe::Migration),
            Box::new(m20261207_000011_datasets::Migration),
            Box::new(m20261208_000012_dataset_stage::Migration),
            Box::new(m20261208_000013_dataset_rollups::Migration),
        ]
    }
}
