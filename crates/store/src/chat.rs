//! `ConversationRepo` and `MessageRepo` over SeaORM.

use crate::db::repo_err;
use async_trait::async_trait;
use pi_domain::RepoError;
use pi_domain::chat::{
    Conversation, ConversationCursor, ConversationId, ConversationRepo, Message, MessageId,
    MessageRepo, Role,
};
use pi_domain::user::UserId;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryResult, Statement, TransactionTrait,
};
use serde::Deserialize;

use crate::entities::{conversations, messages};
use crate::users::now;
use crate::{Database, Engine, aggregate};

/// [`ConversationRepo`] and [`MessageRepo`] backed by `conversations` and `messages`.
#[derive(Debug, Clone)]
pub struct SeaOrmChatRepo {
    pub(crate) db: Database,
}

impl SeaOrmChatRepo {
    /// A repository on `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn conversation(m: conversations::Model) -> Conversation {
    Conversation {
        id: ConversationId(m.id),
        user_id: UserId(m.user_id),
        title: m.title,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub(crate) fn message(m: messages::Model) -> Result<Message, RepoError> {
    let role = Role::parse(&m.role).ok_or_else(|| {
        RepoError(anyhow::anyhow!(
            "stored message role {:?} is unknown",
            m.role
        ))
    })?;
    Ok(Message {
        id: MessageId(m.id),
        conversation_id: ConversationId(m.conversation_id),
        role,
        content: m.content,
        created_at: m.created_at,
    })
}

/// A conversation as the list query aggregates it: an array in field order (keys would be
/// repeated text to write and parse on every row). Ids and times (hex digits, RFC 3339) have
/// nothing to unescape, so they are borrowed from the page rather than copied.
#[derive(Deserialize)]
struct ConversationJson<'a> {
    id: &'a str,
    title: Option<String>,
    created_at: &'a str,
    updated_at: &'a str,
}

/// A message as the history query aggregates it: an array in field order.
#[derive(Deserialize)]
struct MessageJson<'a> {
    id: &'a str,
    role: String,
    content: String,
    created_at: &'a str,
}

/// The `page` column of an aggregated row.
fn page_json(row: Option<QueryResult>) -> Result<String, RepoError> {
    row.ok_or_else(|| RepoError(anyhow::anyhow!("an aggregate returned no row")))?
        .try_get::<String>("", "page")
        .map_err(repo_err("failed to read a page"))
}

fn corrupt(e: serde_json::Error) -> RepoError {
    RepoError(anyhow::Error::new(e).context("the database returned a page that is not JSON"))
}

fn unreadable(value: &str) -> RepoError {
    RepoError(anyhow::anyhow!(
        "the database returned an unreadable value {value:?}"
    ))
}

#[async_trait]
impl ConversationRepo for SeaOrmChatRepo {
    async fn create(
        &self,
        id: ConversationId,
        owner: UserId,
        title: Option<String>,
    ) -> Result<Conversation, RepoError> {
        let now = now();
        let row = conversations::ActiveModel {
            id: Set(id.0),
            user_id: Set(owner.0),
            title: Set(title),
            created_at: Set(now),
            updated_at: Set(now),
        };
        row.insert(self.db.connection())
            .await
            .map(conversation)
            .map_err(repo_err("failed to insert conversation"))
    }

    async fn get(
        &self,
        owner: UserId,
        id: ConversationId,
    ) -> Result<Option<Conversation>, RepoError> {
        conversations::Entity::find_by_id(id.0)
            .filter(conversations::Column::UserId.eq(owner.0))
            .one(self.db.connection())
            .await
            .map(|m| m.map(conversation))
            .map_err(repo_err("failed to load conversation"))
    }

    async fn list(
        &self,
        owner: UserId,
        limit: u64,
        before: Option<ConversationCursor>,
    ) -> Result<Vec<Conversation>, RepoError> {
        // The page as one row of JSON (see `aggregate`), newest activity first.
        let engine = self.db.engine();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (after_cursor, values): (&str, Vec<sea_orm::Value>) = match before {
            Some(c) => (
                "AND (updated_at < $2 OR (updated_at = $2 AND id < $3)) ORDER BY \
                 updated_at DESC, id DESC LIMIT $4",
                vec![
                    owner.0.into(),
                    c.updated_at.into(),
                    c.id.0.into(),
                    limit.into(),
                ],
            ),
            None => (
                "ORDER BY updated_at DESC, id DESC LIMIT $2",
                vec![owner.0.into(), limit.into()],
            ),
        };
        let page = format!(
            "SELECT id, title, created_at, updated_at FROM conversations WHERE user_id = $1 \
             {after_cursor}"
        );
        let sql = match engine {
            Engine::Sqlite => format!(
                "SELECT json_group_array(json_array(hex(id), title, created_at, updated_at)) \
                 AS page FROM ({page})"
            ),
            Engine::Postgres => format!(
                "SELECT COALESCE(json_agg(json_build_array(id, title, created_at, updated_at)), \
                 '[]')::text AS page FROM ({page}) p"
            ),
        };
        let conn = self.db.connection();
        let json = page_json(
            conn.query_one_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                sql,
                values,
            ))
            .await
            .map_err(repo_err("failed to list conversations"))?,
        )?;
        let rows: Vec<ConversationJson<'_>> = serde_json::from_str(&json).map_err(corrupt)?;
        let mut page = rows
            .into_iter()
            .map(|c| {
                Ok(Conversation {
                    id: ConversationId(aggregate::uuid(c.id).ok_or_else(|| unreadable(c.id))?),
                    user_id: owner,
                    title: c.title,
                    created_at: aggregate::time(c.created_at)
                        .ok_or_else(|| unreadable(c.created_at))?,
                    updated_at: aggregate::time(c.updated_at)
                        .ok_or_else(|| unreadable(c.updated_at))?,
                })
            })
            .collect::<Result<Vec<_>, RepoError>>()?;
        page.sort_by_key(|c| std::cmp::Reverse((c.updated_at, c.id.0)));
        Ok(page)
    }

    async fn rename(
        &self,
        owner: UserId,
        id: ConversationId,
        title: String,
    ) -> Result<Option<Conversation>, RepoError> {
        conversations::Entity::update_many()
            .col_expr(conversations::Column::Title, Expr::value(title))
            .col_expr(conversations::Column::UpdatedAt, Expr::value(now()))
            .filter(conversations::Column::Id.eq(id.0))
            .filter(conversations::Column::UserId.eq(owner.0))
            .exec_with_returning(self.db.connection())
            .await
            .map(|rows| rows.into_iter().next().map(conversation))
            .map_err(repo_err("failed to rename conversation"))
    }

    async fn delete(&self, owner: UserId, id: ConversationId) -> Result<bool, RepoError> {
        // Messages go with it (ON DELETE CASCADE on both backends).
        conversations::Entity::delete_many()
            .filter(conversations::Column::Id.eq(id.0))
            .filter(conversations::Column::UserId.eq(owner.0))
            .exec(self.db.connection())
            .await
            .map(|r| r.rows_affected > 0)
            .map_err(repo_err("failed to delete conversation"))
    }
}

/// Appends a message inside `txn` and bumps its conversation; `None` (nothing written) when the
/// conversation is not `owner`'s.
pub(crate) async fn append_in(
    txn: &sea_orm::DatabaseTransaction,
    owner: UserId,
    conversation_id: ConversationId,
    role: Role,
    content: String,
    title_if_unset: Option<String>,
) -> Result<Option<(messages::Model, conversations::Model)>, RepoError> {
    let now = now();
    // The update comes first: it checks ownership, takes the row's write lock, and makes the
    // transaction a writer from its first statement (so SQLite never has to upgrade a read
    // lock, which is what produces "database is locked" under concurrency).
    let mut update = conversations::Entity::update_many()
        .col_expr(conversations::Column::UpdatedAt, Expr::value(now));
    if let Some(title) = title_if_unset {
        update = update.col_expr(
            conversations::Column::Title,
            Func::coalesce([Expr::col(conversations::Column::Title), Expr::value(title)]).into(),
        );
    }
    let updated = update
        .filter(conversations::Column::Id.eq(conversation_id.0))
        .filter(conversations::Column::UserId.eq(owner.0))
        .exec_with_returning(txn)
        .await
        .map_err(repo_err("failed to bump conversation"))?;
    let Some(conv) = updated.into_iter().next() else {
        return Ok(None);
    };
    let row = messages::ActiveModel {
        id: Set(MessageId::new().0),
        conversation_id: Set(conversation_id.0),
        role: Set(role.as_str().to_owned()),
        content: Set(content),
        created_at: Set(now),
    };
    let inserted = row
        .insert(txn)
        .await
        .map_err(repo_err("failed to insert message"))?;
    Ok(Some((inserted, conv)))
}

#[async_trait]
impl MessageRepo for SeaOrmChatRepo {
    async fn append(
        &self,
        owner: UserId,
        conversation_id: ConversationId,
        role: Role,
        content: String,
        title_if_unset: Option<String>,
    ) -> Result<Option<(Message, Conversation)>, RepoError> {
        let txn = self
            .db
            .connection()
            .begin()
            .await
            .map_err(repo_err("failed to begin transaction"))?;
        let Some((m, conv)) =
            append_in(&txn, owner, conversation_id, role, content, title_if_unset).await?
        else {
            return Ok(None); // Dropping the transaction rolls it back.
        };
        txn.commit()
            .await
            .map_err(repo_err("failed to commit message"))?;
        Ok(Some((message(m)?, conversation(conv))))
    }

    async fn list(
        &self,
        owner: UserId,
        conversation_id: ConversationId,
    ) -> Result<Option<Vec<Message>>, RepoError> {
        // One statement: the owner's conversation (no row: not theirs, or none) with its
        // messages as one row of JSON (see `aggregate`), oldest first.
        let sql = match self.db.engine() {
            Engine::Sqlite => {
                "SELECT (SELECT json_group_array(json_array(hex(id), role, content, created_at)) FROM (SELECT id, role, content, \
                 created_at FROM messages WHERE conversation_id = $1 ORDER BY created_at, id)) \
                 AS page FROM conversations WHERE id = $1 AND user_id = $2"
            }
            Engine::Postgres => {
                "SELECT (SELECT COALESCE(json_agg(json_build_array(id, role, content, created_at) ORDER BY created_at, id), '[]') \
                 FROM messages WHERE conversation_id = $1)::text AS page \
                 FROM conversations WHERE id = $1 AND user_id = $2"
            }
        };
        let conn = self.db.connection();
        let Some(row) = conn
            .query_one_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                sql,
                vec![conversation_id.0.into(), owner.0.into()],
            ))
            .await
            .map_err(repo_err("failed to list messages"))?
        else {
            return Ok(None);
        };
        let json = page_json(Some(row))?;
        let rows: Vec<MessageJson<'_>> = serde_json::from_str(&json).map_err(corrupt)?;
        let mut page = rows
            .into_iter()
            .map(|m| {
                message(messages::Model {
                    id: aggregate::uuid(m.id).ok_or_else(|| unreadable(m.id))?,
                    conversation_id: conversation_id.0,
                    role: m.role,
                    content: m.content,
                    created_at: aggregate::time(m.created_at)
                        .ok_or_else(|| unreadable(m.created_at))?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        page.sort_by_key(|m| (m.created_at, m.id.0));
        Ok(Some(page))
    }
}
