//! Full-text indexes for archival and conversation search on each engine's own machinery:
//! SQLite FTS5 tables kept in step by triggers, PostgreSQL generated `tsvector` columns with GIN
//! indexes. Both tokenise without stemming (`unicode61`, `simple`), like the ranking in Rust.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The searched tables: archival passages and agent history.
const TABLES: [&str; 2] = ["runtime_passages", "runtime_messages"];

fn sqlite_up(table: &str) -> Vec<String> {
    let fts = format!("{table}_fts");
    vec![
        format!(
            "CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(content, content='{table}', \
             content_rowid='rowid', tokenize='unicode61')"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {table}_fts_insert AFTER INSERT ON {table} BEGIN \
             INSERT INTO {fts}(rowid, content) VALUES (new.rowid, new.content); END"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {table}_fts_delete AFTER DELETE ON {table} BEGIN \
             INSERT INTO {fts}({fts}, rowid, content) VALUES ('delete', old.rowid, old.content); END"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {table}_fts_update AFTER UPDATE OF content ON {table} BEGIN \
             INSERT INTO {fts}({fts}, rowid, content) VALUES ('delete', old.rowid, old.content); \
             INSERT INTO {fts}(rowid, content) VALUES (new.rowid, new.content); END"
        ),
        // Index what is already there.
        format!("INSERT INTO {fts}({fts}) VALUES ('rebuild')"),
    ]
}

fn sqlite_down(table: &str) -> Vec<String> {
    vec![
        format!("DROP TRIGGER IF EXISTS {table}_fts_insert"),
        format!("DROP TRIGGER IF EXISTS {table}_fts_delete"),
        format!("DROP TRIGGER IF EXISTS {table}_fts_update"),
        format!("DROP TABLE IF EXISTS {table}_fts"),
    ]
}

fn postgres_up(table: &str) -> Vec<String> {
    vec![
        format!(
            "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS content_tsv tsvector \
             GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED"
        ),
        // Without the pending list, a search never scans up to 4 MB of unmerged entries: memory
        // is searched far more often than written.
        format!(
            "CREATE INDEX IF NOT EXISTS idx_{table}_fts ON {table} USING GIN (content_tsv) \
             WITH (fastupdate = off)"
        ),
    ]
}

fn postgres_down(table: &str) -> Vec<String> {
    vec![
        format!("DROP INDEX IF EXISTS idx_{table}_fts"),
        format!("ALTER TABLE {table} DROP COLUMN IF EXISTS content_tsv"),
    ]
}

async fn run(m: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    let conn = m.get_connection();
    for sql in statements {
        conn.execute_unprepared(&sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let up = match m.get_database_backend() {
            DbBackend::Sqlite => sqlite_up,
            DbBackend::Postgres => postgres_up,
            other => {
                return Err(DbErr::Migration(format!(
                    "full-text search is not available on {other:?}"
                )));
            }
        };
        run(m, TABLES.iter().flat_map(|t| up(t)).collect()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let down = match m.get_database_backend() {
            DbBackend::Sqlite => sqlite_down,
            DbBackend::Postgres => postgres_down,
            other => {
                return Err(DbErr::Migration(format!(
                    "full-text search is not available on {other:?}"
                )));
            }
        };
        run(m, TABLES.iter().flat_map(|t| down(t)).collect()).await
    }
}
