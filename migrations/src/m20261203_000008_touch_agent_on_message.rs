//! A trigger keeps `runtime_agents.updated_at` at the time of the agent's newest message, so
//! appending a turn's history is one `INSERT` (no transaction, no separate `UPDATE`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &["CREATE TRIGGER IF NOT EXISTS runtime_messages_touch_agent \
     AFTER INSERT ON runtime_messages BEGIN \
     UPDATE runtime_agents SET updated_at = new.created_at \
     WHERE id = new.agent_id AND updated_at < new.created_at; END"];

const SQLITE_DOWN: &[&str] = &["DROP TRIGGER IF EXISTS runtime_messages_touch_agent"];

const POSTGRES_UP: &[&str] = &[
    "CREATE OR REPLACE FUNCTION runtime_messages_touch_agent() RETURNS trigger \
     LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE runtime_agents SET updated_at = NEW.created_at \
     WHERE id = NEW.agent_id AND updated_at < NEW.created_at; \
     RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS runtime_messages_touch_agent ON runtime_messages",
    "CREATE TRIGGER runtime_messages_touch_agent AFTER INSERT ON runtime_messages \
     FOR EACH ROW EXECUTE FUNCTION runtime_messages_touch_agent()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS runtime_messages_touch_agent ON runtime_messages",
    "DROP FUNCTION IF EXISTS runtime_messages_touch_agent()",
];

async fn run(m: &SchemaManager<'_>, up: bool) -> Result<(), DbErr> {
    let statements = match (m.get_database_backend(), up) {
        (DbBackend::Sqlite, true) => SQLITE_UP,
        (DbBackend::Sqlite, false) => SQLITE_DOWN,
        (DbBackend::Postgres, true) => POSTGRES_UP,
        (DbBackend::Postgres, false) => POSTGRES_DOWN,
        (other, _) => {
            return Err(DbErr::Migration(format!(
                "agent history triggers are not available on {other:?}"
            )));
        }
    };
    let conn = m.get_connection();
    for sql in statements {
        conn.execute_unprepared(sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on every engine: on one connection, all or nothing (SQLite's default
    /// would spread the statements over the pool's connections, none of them atomic).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run(m, true).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run(m, false).await
    }
}
