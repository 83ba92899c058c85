//! Conversation search only ever looks at user and assistant messages, so only those are
//! full-text indexed: tool calls and tool results (often kilobytes of JSON) are no longer
//! tokenised on every turn. SQLite: the FTS triggers gain a `WHEN` on the role and the tool rows
//! already indexed are taken out. PostgreSQL: the generated `tsvector` is NULL for other roles.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SEARCHABLE: &str = "('user', 'assistant')";

fn sqlite(only_searchable: bool) -> Vec<String> {
    let (when_new, when_old) = if only_searchable {
        (
            format!("WHEN new.role IN {SEARCHABLE} "),
            format!("WHEN old.role IN {SEARCHABLE} "),
        )
    } else {
        (String::new(), String::new())
    };
    let mut statements = vec![
        "DROP TRIGGER IF EXISTS runtime_messages_fts_insert".to_owned(),
        "DROP TRIGGER IF EXISTS runtime_messages_fts_delete".to_owned(),
        "DROP TRIGGER IF EXISTS runtime_messages_fts_update".to_owned(),
        format!(
            "CREATE TRIGGER runtime_messages_fts_insert AFTER INSERT ON runtime_messages \
             {when_new}BEGIN \
             INSERT INTO runtime_messages_fts(rowid, content) VALUES (new.rowid, new.content); END"
        ),
        format!(
            "CREATE TRIGGER runtime_messages_fts_delete AFTER DELETE ON runtime_messages \
             {when_old}BEGIN \
             INSERT INTO runtime_messages_fts(runtime_messages_fts, rowid, content) \
             VALUES ('delete', old.rowid, old.content); END"
        ),
        format!(
            "CREATE TRIGGER runtime_messages_fts_update AFTER UPDATE OF content ON runtime_messages \
             {when_old}BEGIN \
             INSERT INTO runtime_messages_fts(runtime_messages_fts, rowid, content) \
             VALUES ('delete', old.rowid, old.content); \
             INSERT INTO runtime_messages_fts(rowid, content) VALUES (new.rowid, new.content); END"
        ),
    ];
    statements.push(if only_searchable {
        // Out of the index: the rows of other roles indexed so far.
        format!(
            "INSERT INTO runtime_messages_fts(runtime_messages_fts, rowid, content) \
             SELECT 'delete', rowid, content FROM runtime_messages WHERE role NOT IN {SEARCHABLE}"
        )
    } else {
        "INSERT INTO runtime_messages_fts(runtime_messages_fts) VALUES ('rebuild')".to_owned()
    });
    statements
}

fn postgres(only_searchable: bool) -> Vec<String> {
    let expression = if only_searchable {
        format!("CASE WHEN role IN {SEARCHABLE} THEN to_tsvector('simple', content) END")
    } else {
        "to_tsvector('simple', content)".to_owned()
    };
    vec![
        "DROP INDEX IF EXISTS idx_runtime_messages_fts".to_owned(),
        "ALTER TABLE runtime_messages DROP COLUMN IF EXISTS content_tsv".to_owned(),
        format!(
            "ALTER TABLE runtime_messages ADD COLUMN content_tsv tsvector \
             GENERATED ALWAYS AS ({expression}) STORED"
        ),
        "CREATE INDEX idx_runtime_messages_fts ON runtime_messages USING GIN (content_tsv) \
         WITH (fastupdate = off)"
            .to_owned(),
    ]
}

async fn run(m: &SchemaManager<'_>, only_searchable: bool) -> Result<(), DbErr> {
    let statements = match m.get_database_backend() {
        DbBackend::Sqlite => sqlite(only_searchable),
        DbBackend::Postgres => postgres(only_searchable),
        other => {
            return Err(DbErr::Migration(format!(
                "full-text search is not available on {other:?}"
            )));
        }
    };
    let conn = m.get_connection();
    for sql in statements {
        conn.execute_unprepared(&sql).await?;
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
