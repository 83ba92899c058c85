//! SeaORM adapter: Pi's repositories over SQLite (the embedded default) and PostgreSQL.
//!
//! One code path serves both backends; backend differences are confined to [`connect`]
//! (connection options) and to error translation.

mod agent_store;
mod aggregate;
mod chat;
mod datasets;
mod db;
mod deployment;
pub mod entities;
mod idempotency;
mod json_cells;
mod personas;
mod pg_stage;
mod throttle;
mod users;

pub use agent_store::{SeaOrmAgentStore, timestamp};
pub use chat::SeaOrmChatRepo;
pub use datasets::SeaOrmDatasetRepo;
pub use db::{
    Database, DatabaseProbe, Engine, POSTGRES_POOL, StoreError, connect, connect_with, sqlite_pool,
};
pub use deployment::SeaOrmDeploymentRepo;
pub use personas::{PersonaLocks, SeaOrmPersonaRepo};
pub use throttle::SeaOrmAttemptCounter;
pub use users::SeaOrmUserRepo;

#[cfg(feature = "testing")]
pub mod testing;
