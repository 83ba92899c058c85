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
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};

use crate::Database;
use crate::entities::{conversations, messages};
use crate::users::now;

/// [`ConversationRepo`] and [`MessageRepo`] backed by `conversations` and `messages`.
#[derive(Debug, Clone)]
pub struct SeaOrmChatRepo {
    db: Database,
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

fn message(m: messages::Model) -> Result<Message, RepoError> {
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
        let mut query =
            conversations::Entity::find().filter(conversations::Column::UserId.eq(owner.0));
        if let Some(c) = before {
            query = query.filter(
                Condition::any()
                    .add(conversations::Column::UpdatedAt.lt(c.updated_at))
                    .add(
                        Condition::all()
                            .add(conversations::Column::UpdatedAt.eq(c.updated_at))
                            .add(conversations::Column::Id.lt(c.id.0)),
                    ),
            );
        }
        query
            .order_by_desc(conversations::Column::UpdatedAt)
            .order_by_desc(conversations::Column::Id)
            .limit(limit)
            .all(self.db.connection())
            .await
            .map(|rows| rows.into_iter().map(conversation).collect())
            .map_err(repo_err("failed to list conversations"))
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
        let now = now();
        let txn = self
            .db
            .connection()
            .begin()
            .await
            .map_err(repo_err("failed to begin transaction"))?;
        // The update comes first: it checks ownership, takes the row's write lock, and makes the
        // transaction a writer from its first statement (so SQLite never has to upgrade a read
        // lock, which is what produces "database is locked" under concurrency).
        let mut update = conversations::Entity::update_many()
            .col_expr(conversations::Column::UpdatedAt, Expr::value(now));
        if let Some(title) = title_if_unset {
            update = update.col_expr(
                conversations::Column::Title,
                Func::coalesce([Expr::col(conversations::Column::Title), Expr::value(title)])
                    .into(),
            );
        }
        let updated = update
            .filter(conversations::Column::Id.eq(conversation_id.0))
            .filter(conversations::Column::UserId.eq(owner.0))
            .exec_with_returning(&txn)
            .await
            .map_err(repo_err("failed to bump conversation"))?;
        let Some(conv) = updated.into_iter().next() else {
            txn.rollback()
                .await
                .map_err(repo_err("failed to roll back transaction"))?;
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
            .insert(&txn)
            .await
            .map_err(repo_err("failed to insert message"))?;
        txn.commit()
            .await
            .map_err(repo_err("failed to commit message"))?;
        Ok(Some((message(inserted)?, conversation(conv))))
    }

    async fn list(
        &self,
        owner: UserId,
        conversation_id: ConversationId,
    ) -> Result<Option<Vec<Message>>, RepoError> {
        // Ownership is checked in the same statement, by joining the conversation.
        let of_conversation = messages::Entity::belongs_to(conversations::Entity)
            .from(messages::Column::ConversationId)
            .to(conversations::Column::Id)
            .into();
        let rows = messages::Entity::find()
            .join(JoinType::InnerJoin, of_conversation)
            .filter(messages::Column::ConversationId.eq(conversation_id.0))
            .filter(conversations::Column::UserId.eq(owner.0))
            .order_by_asc(messages::Column::CreatedAt)
            .order_by_asc(messages::Column::Id)
            .all(self.db.connection())
            .await
            .map_err(repo_err("failed to list messages"))?;
        if rows.is_empty() {
            // Nothing joined: an empty conversation of this owner's, or none at all.
            let owned = ConversationRepo::get(self, owner, conversation_id).await?;
            return Ok(owned.map(|_| Vec::new()));
        }
        rows.into_iter()
            .map(message)
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
