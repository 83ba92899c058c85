//! `IdempotencyRepo` over the `idempotency_keys` table: every write that records a message
//! under a key runs in the message's own transaction.

use async_trait::async_trait;
use pi_domain::RepoError;
use pi_domain::agent::AgentStep;
use pi_domain::chat::{
    AttemptTakenOver, ConversationId, IdempotencyKey, IdempotencyRepo, KeyClaim, KeyRecord,
    KeyState, Message, Role,
};
use pi_domain::user::UserId;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use crate::chat::{SeaOrmChatRepo, append_in, message};
use crate::db::repo_err;
use crate::entities::messages;

impl SeaOrmChatRepo {
    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.db.connection().get_database_backend(), sql, values)
    }

    async fn record(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<KeyRecord>, RepoError> {
        let conn = self.db.connection();
        let Some(row) = conn
            .query_one_raw(self.statement(
                "SELECT conversation_id, content, state, owner, lease_until, user_message_id, \
                 assistant_message_id, steps FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                vec![user.0.into(), key.as_str().into()],
            ))
            .await
            .map_err(repo_err("failed to read an idempotency key"))?
        else {
            return Ok(None);
        };
        let read = repo_err("failed to read an idempotency key");
        let get = |row: &sea_orm::QueryResult| -> Result<_, sea_orm::DbErr> {
            Ok((
                row.try_get::<Uuid>("", "conversation_id")?,
                row.try_get::<String>("", "content")?,
                row.try_get::<String>("", "state")?,
                row.try_get::<String>("", "owner")?,
                row.try_get::<i64>("", "lease_until")?,
                row.try_get::<Option<Uuid>>("", "user_message_id")?,
                row.try_get::<Option<Uuid>>("", "assistant_message_id")?,
                row.try_get::<Option<String>>("", "steps")?,
            ))
        };
        let (conversation, content, state, owner, lease_until, user_id, assistant_id, steps) =
            get(&row).map_err(read)?;
        let state = KeyState::parse(&state)
            .ok_or_else(|| RepoError(anyhow::anyhow!("unknown idempotency key state {state:?}")))?;
        let steps: Vec<AgentStep> = match steps {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                RepoError(anyhow::Error::new(e).context("stored steps are not readable"))
            })?,
            None => Vec::new(),
        };
        let ids: Vec<Uuid> = user_id.into_iter().chain(assistant_id).collect();
        let mut found = if ids.is_empty() {
            Vec::new()
        } else {
            messages::Entity::find()
                .filter(messages::Column::Id.is_in(ids))
                .all(conn)
                .await
                .map_err(repo_err("failed to read a keyed send's messages"))?
        };
        let mut take = |id: Option<Uuid>| -> Result<Option<Message>, RepoError> {
            let Some(id) = id else { return Ok(None) };
            found
                .iter()
                .position(|m| m.id == id)
                .map(|at| message(found.swap_remove(at)))
                .transpose()
        };
        Ok(Some(KeyRecord {
            conversation_id: ConversationId(conversation),
            content,
            state,
            owner,
            lease_until,
            user_message: take(user_id)?,
            assistant_message: take(assistant_id)?,
            steps,
        }))
    }

    /// Appends `message` (conversation, role, content, title if unset) and records it under
    /// the key in one transaction: `UPDATE … SET {set}` of the attempt `keyed.owner` runs (and
    /// `condition`), with the new message's id as `$4` and `extra` from `$5`. Nothing is stored when the
    /// conversation is not the user's (`None`) or another process took the attempt over.
    async fn append_keyed(
        &self,
        keyed: Keyed<'_>,
        message_parts: (ConversationId, Role, String, Option<String>),
        set: &str,
        condition: &str,
        extra: Vec<Value>,
    ) -> Result<Option<Message>, RepoError> {
        let (conversation, role, content, title) = message_parts;
        let txn = self
            .db
            .connection()
            .begin()
            .await
            .map_err(repo_err("failed to begin transaction"))?;
        let Some((m, _)) = append_in(&txn, keyed.user, conversation, role, content, title).await?
        else {
            return Ok(None);
        };
        let mut values: Vec<Value> = vec![
            keyed.user.0.into(),
            keyed.key.as_str().into(),
            keyed.owner.into(),
            m.id.into(),
        ];
        values.extend(extra);
        let marked = txn
            .execute_raw(self.statement(
                &format!(
                    "UPDATE idempotency_keys SET {set} \
                     WHERE user_id = $1 AND key = $2 AND owner = $3 AND state = 'running' {condition}"
                ),
                values,
            ))
            .await
            .map_err(repo_err(
                "failed to record a message under its idempotency key",
            ))?;
        if marked.rows_affected() != 1 {
            return Err(RepoError(anyhow::Error::new(AttemptTakenOver)));
        }
        txn.commit()
            .await
            .map_err(repo_err("failed to commit message"))?;
        message(m).map(Some)
    }
}

/// Whose attempt under which key.
#[derive(Debug, Clone, Copy)]
struct Keyed<'a> {
    user: UserId,
    key: &'a IdempotencyKey,
    owner: &'a str,
}

#[async_trait]
impl IdempotencyRepo for SeaOrmChatRepo {
    async fn insert_or_get(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        conversation: ConversationId,
        content: &str,
        owner: &str,
        lease_until: i64,
    ) -> Result<Option<KeyClaim>, RepoError> {
        // Only for a conversation of the user's: the SELECT yields no row otherwise.
        let inserted = self
            .db
            .connection()
            .execute_raw(self.statement(
                "INSERT INTO idempotency_keys (user_id, key, conversation_id, content, state, owner, \
                 lease_until, created_at) \
                 SELECT $1, $2, id, $3, 'running', $4, $5, $6 FROM conversations \
                 WHERE id = $7 AND user_id = $1 \
                 ON CONFLICT (user_id, key) DO NOTHING",
                vec![
                    user.0.into(),
                    key.as_str().into(),
                    content.into(),
                    owner.into(),
                    lease_until.into(),
                    chrono::Utc::now().timestamp_millis().into(),
                    conversation.0.into(),
                ],
            ))
            .await
            .map_err(repo_err("failed to store an idempotency key"))?;
        if inserted.rows_affected() == 1 {
            return Ok(Some(KeyClaim::Inserted));
        }
        Ok(self
            .record(user, key)
            .await?
            .map(|r| KeyClaim::Existing(Box::new(r))))
    }

    async fn take_over(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        seen: &KeyRecord,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, RepoError> {
        let taken = self
            .db
            .connection()
            .execute_raw(self.statement(
                "UPDATE idempotency_keys SET state = 'running', owner = $3, lease_until = $4 \
                 WHERE user_id = $1 AND key = $2 AND state = $5 AND owner = $6 AND lease_until = $7 \
                 AND user_message_id IS NOT DISTINCT FROM $8",
                vec![
                    user.0.into(),
                    key.as_str().into(),
                    owner.into(),
                    lease_until.into(),
                    seen.state.as_str().into(),
                    seen.owner.as_str().into(),
                    seen.lease_until.into(),
                    seen.user_message.as_ref().map(|m| m.id.0).into(),
                ],
            ))
            .await
            .map_err(repo_err("failed to take over an idempotency key"))?;
        Ok(taken.rows_affected() == 1)
    }

    async fn append_user_message(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        owner: &str,
        conversation: ConversationId,
        content: String,
        title_if_unset: Option<String>,
    ) -> Result<Option<Message>, RepoError> {
        let keyed = Keyed { user, key, owner };
        self.append_keyed(
            keyed,
            (conversation, Role::User, content, title_if_unset),
            "user_message_id = $4",
            "AND user_message_id IS NULL",
            Vec::new(),
        )
        .await
    }

    async fn append_reply(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        owner: &str,
        conversation: ConversationId,
        content: String,
        steps: &[AgentStep],
    ) -> Result<Option<Message>, RepoError> {
        let steps = serde_json::to_string(steps)
            .map_err(|e| RepoError(anyhow::Error::new(e).context("steps are not JSON")))?;
        let keyed = Keyed { user, key, owner };
        self.append_keyed(
            keyed,
            (conversation, Role::Agent, content, None),
            "state = 'done', assistant_message_id = $4, steps = $5",
            "",
            vec![steps.into()],
        )
        .await
    }

    async fn release(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        owner: &str,
    ) -> Result<(), RepoError> {
        self.db
            .connection()
            .execute_raw(self.statement(
                "UPDATE idempotency_keys SET state = 'failed' \
                 WHERE user_id = $1 AND key = $2 AND owner = $3 AND state = 'running'",
                vec![user.0.into(), key.as_str().into(), owner.into()],
            ))
            .await
            .map_err(repo_err("failed to release an idempotency key"))?;
        Ok(())
    }

    async fn purge(&self, before: i64) -> Result<u64, RepoError> {
        let purged = self
            .db
            .connection()
            .execute_raw(self.statement(
                "DELETE FROM idempotency_keys WHERE created_at < $1",
                vec![before.into()],
            ))
            .await
            .map_err(repo_err("failed to purge idempotency keys"))?;
        Ok(purged.rows_affected())
    }
}
