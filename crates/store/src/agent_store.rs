//! `AgentStore` (the embedded runtime's persistence port) over SeaORM.

use async_trait::async_trait;
use chrono::Utc;
use pi_domain::agent::runtime::ToolCall;
use pi_domain::agent::store::{
    AgentHistoryMessage, AgentRecord, AgentStore, MessageRole, TurnContext,
};
use pi_domain::agent::{AgentError, AgentId, Block, BlockId, Passage};
use pi_domain::search::{query_terms, rank_bm25};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, Select, SqlErr, Statement,
    TransactionTrait,
};
use serde::Deserialize;

use crate::entities::runtime::{agents, blocks, links, messages, passages};
use crate::users::now;
use crate::{Database, Engine};

/// Candidates fetched from SQL before ranking in Rust.
const SEARCH_CANDIDATES: u64 = 500;

/// [`AgentStore`] on the project's database.
#[derive(Debug, Clone)]
pub struct SeaOrmAgentStore {
    db: Database,
}

impl SeaOrmAgentStore {
    /// A store on `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn unavailable(context: &'static str) -> impl FnOnce(sea_orm::DbErr) -> AgentError {
    move |e| {
        crate::db::observe(&e);
        if let Some(reason) = crate::db::unavailable_reason(&e) {
            return AgentError::StorageUnavailable(pi_domain::StorageUnavailable::new(format!(
                "{context}: {reason}"
            )));
        }
        tracing::error!(error = %e, context, "agent store failed");
        AgentError::Store(context.to_owned())
    }
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn parse_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn agent_record(m: agents::Model) -> AgentRecord {
    AgentRecord {
        id: AgentId(m.id),
        name: m.name,
        system_prompt: m.system_prompt,
        model: m.model,
        tools: parse_list(&m.tools),
        tags: parse_list(&m.tags),
        metadata: serde_json::from_str(&m.metadata).unwrap_or_default(),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn block(m: blocks::Model) -> Block {
    Block {
        id: BlockId(m.id),
        label: m.label,
        value: m.value,
        limit: usize::try_from(m.char_limit).unwrap_or(0),
        description: m.description,
        read_only: m.read_only,
    }
}

fn block_row(b: &Block, owner: Option<&AgentId>) -> blocks::ActiveModel {
    let now = now();
    blocks::ActiveModel {
        id: Set(b.id.0.clone()),
        label: Set(b.label.clone()),
        value: Set(b.value.clone()),
        char_limit: Set(i32::try_from(b.limit).unwrap_or(i32::MAX)),
        description: Set(b.description.clone()),
        read_only: Set(b.read_only),
        owner_agent_id: Set(owner.map(|a| a.0.clone())),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

fn history(m: messages::Model) -> Option<AgentHistoryMessage> {
    Some(AgentHistoryMessage {
        role: MessageRole::parse(&m.role)?,
        content: m.content,
        tool_calls: m
            .tool_calls
            .as_deref()
            .and_then(|t| serde_json::from_str::<Vec<ToolCall>>(t).ok())
            .unwrap_or_default(),
        tool_call_id: m.tool_call_id,
        tool_name: m.tool_name,
        created_at: m.created_at,
    })
}

fn passage(m: passages::Model) -> Passage {
    Passage {
        id: m.id,
        content: m.content,
        tags: parse_list(&m.tags),
        created_at: m.created_at,
    }
}

/// Rows of `table` whose content holds any of the query's terms, through the engine's full-text
/// index (SQLite FTS5, PostgreSQL `tsvector` + GIN; see the `full_text_search` migration).
fn any_term(engine: Engine, table: &str, agent: &AgentId, query: &str) -> Option<SimpleExpr> {
    let terms = query_terms(query);
    if terms.is_empty() {
        return None;
    }
    // Terms are letters and digits only (`query_terms`), quoted all the same.
    Some(match engine {
        Engine::Sqlite => {
            let matching = terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" OR ");
            // `+agent_id` keeps SQLite from walking the agent's index row by row: the few
            // matching rowids are fetched directly and sorted instead (3 ms instead of 5 over
            // 100,000 passages).
            Expr::cust_with_values(
                format!(
                    "+\"{table}\".agent_id = ? AND \"{table}\".rowid IN \
                     (SELECT rowid FROM \"{table}_fts\" WHERE \"{table}_fts\" MATCH ?)"
                ),
                [agent.0.clone(), matching],
            )
        }
        Engine::Postgres => {
            let matching = terms
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(" | ");
            Expr::cust_with_values(
                // sea-query numbers `$1`, `$2` among the statement's other parameters.
                format!(
                    "\"{table}\".agent_id = $1 AND \"{table}\".content_tsv @@ to_tsquery('simple', $2)"
                ),
                [agent.0.clone(), matching],
            )
        }
    })
}

impl SeaOrmAgentStore {
    /// Full-text search over `agent`'s rows of `select` (rows of `table`): the index finds the
    /// rows sharing a term with `query`, the newest [`SEARCH_CANDIDATES`] of them are ranked with BM25, the best
    /// `limit` returned. The same ranking on both engines: only candidate finding is theirs.
    async fn search<E, C>(
        &self,
        select: Select<E>,
        (table, id_column): (&str, C),
        agent: &AgentId,
        content: impl Fn(&E::Model) -> &str,
        query: &str,
        limit: u64,
    ) -> Result<Vec<E::Model>, sea_orm::DbErr>
    where
        E: EntityTrait,
        C: ColumnTrait,
    {
        let Some(cond) = any_term(self.db.engine(), table, agent, query) else {
            return Ok(Vec::new());
        };
        let mut rows: Vec<Option<E::Model>> = select
            .filter(cond)
            .order_by_desc(id_column)
            .limit(SEARCH_CANDIDATES)
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(Some)
            .collect();
        let docs: Vec<&str> = rows.iter().flatten().map(&content).collect();
        let ranked = rank_bm25(query, &docs);
        Ok(ranked
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .filter_map(|(i, _)| rows.get_mut(i).and_then(Option::take))
            .collect())
    }
}

/// The turn's first read as one statement: the agent's row with its blocks and its last `$2`
/// messages aggregated into two JSON columns (one row crosses from the database, not one per
/// message).
const TURN_CONTEXT_SQLITE: &str = "SELECT a.*, \
     (SELECT json_group_array(json_object('id', b.id, 'label', b.label, 'value', b.value, \
        'char_limit', b.char_limit, 'description', b.description, 'read_only', b.read_only, \
        'position', l.position)) \
      FROM runtime_agent_blocks l JOIN runtime_blocks b ON b.id = l.block_id \
      WHERE l.agent_id = $1) AS blocks_json, \
     (SELECT json_group_array(json_object('id', m.id, 'role', m.role, 'content', m.content, \
        'tool_calls', m.tool_calls, 'tool_call_id', m.tool_call_id, 'tool_name', m.tool_name, \
        'created_at', m.created_at)) \
      FROM (SELECT * FROM runtime_messages WHERE agent_id = $1 ORDER BY id DESC LIMIT $2) m) \
      AS history_json \
     FROM runtime_agents a WHERE a.id = $1";

/// [`TURN_CONTEXT_SQLITE`] in PostgreSQL's words.
const TURN_CONTEXT_POSTGRES: &str = "SELECT a.*, \
     COALESCE((SELECT json_agg(json_build_object('id', b.id, 'label', b.label, 'value', b.value, \
        'char_limit', b.char_limit, 'description', b.description, 'read_only', b.read_only, \
        'position', l.position)) \
      FROM runtime_agent_blocks l JOIN runtime_blocks b ON b.id = l.block_id \
      WHERE l.agent_id = $1), '[]')::text AS blocks_json, \
     COALESCE((SELECT json_agg(json_build_object('id', m.id, 'role', m.role, \
        'content', m.content, 'tool_calls', m.tool_calls, 'tool_call_id', m.tool_call_id, \
        'tool_name', m.tool_name, 'created_at', m.created_at)) \
      FROM (SELECT id, role, content, tool_calls, tool_call_id, tool_name, created_at \
            FROM runtime_messages WHERE agent_id = $1 ORDER BY id DESC LIMIT $2) m), '[]')::text \
      AS history_json \
     FROM runtime_agents a WHERE a.id = $1";

/// A block as [`TURN_CONTEXT_SQLITE`] aggregates it.
#[derive(Deserialize)]
struct BlockJson {
    id: String,
    label: String,
    value: String,
    char_limit: i64,
    description: String,
    /// SQLite: 0 or 1; PostgreSQL: a boolean.
    read_only: serde_json::Value,
    position: i64,
}

/// A history message as [`TURN_CONTEXT_SQLITE`] aggregates it.
#[derive(Deserialize)]
struct MessageJson {
    id: String,
    role: String,
    content: String,
    tool_calls: Option<String>,
    tool_call_id: Option<String>,
    tool_name: Option<String>,
    created_at: String,
}

fn corrupt(what: &'static str) -> impl FnOnce(serde_json::Error) -> AgentError {
    move |e| {
        tracing::error!(error = %e, what, "agent store returned unreadable JSON");
        AgentError::Store(what.to_owned())
    }
}

/// The blocks and history of one turn-context row, in attachment and id order.
fn turn_parts(
    agent: &str,
    blocks_json: &str,
    history_json: &str,
) -> Result<(Vec<Block>, Vec<AgentHistoryMessage>), AgentError> {
    let mut rows: Vec<BlockJson> =
        serde_json::from_str(blocks_json).map_err(corrupt("read blocks"))?;
    rows.sort_by_key(|b| b.position);
    let blocks = rows
        .into_iter()
        .map(|b| Block {
            id: BlockId(b.id),
            label: b.label,
            value: b.value,
            limit: usize::try_from(b.char_limit).unwrap_or(0),
            description: b.description,
            read_only: b
                .read_only
                .as_bool()
                .unwrap_or(b.read_only.as_i64() == Some(1)),
        })
        .collect();
    let mut rows: Vec<MessageJson> =
        serde_json::from_str(history_json).map_err(corrupt("read history"))?;
    rows.sort_by(|x, y| x.id.cmp(&y.id));
    let mut history = Vec::with_capacity(rows.len());
    for m in rows {
        let Some(created_at) = crate::aggregate::time(&m.created_at) else {
            tracing::error!(at = %m.created_at, "agent history holds an unreadable time");
            return Err(AgentError::Store("read history".into()));
        };
        history.extend(self::history(messages::Model {
            id: m.id,
            agent_id: agent.to_owned(),
            role: m.role,
            content: m.content,
            tool_calls: m.tool_calls,
            tool_call_id: m.tool_call_id,
            tool_name: m.tool_name,
            created_at,
        }));
    }
    Ok((blocks, history))
}

async fn next_position<C: ConnectionTrait>(conn: &C, agent: &str) -> Result<i32, AgentError> {
    let max = links::Entity::find()
        .filter(links::Column::AgentId.eq(agent))
        .order_by_desc(links::Column::Position)
        .one(conn)
        .await
        .map_err(unavailable("read links"))?
        .map_or(-1, |l| l.position);
    Ok(max + 1)
}

#[async_trait]
impl AgentStore for SeaOrmAgentStore {
    async fn insert_agent(
        &self,
        agent: AgentRecord,
        own_blocks: Vec<Block>,
        attach: Vec<BlockId>,
    ) -> Result<(), AgentError> {
        let txn = self
            .db
            .connection()
            .begin()
            .await
            .map_err(unavailable("begin"))?;
        agents::Entity::insert(agents::ActiveModel {
            id: Set(agent.id.0.clone()),
            name: Set(agent.name.clone()),
            system_prompt: Set(agent.system_prompt.clone()),
            model: Set(agent.model.clone()),
            tools: Set(json_list(&agent.tools)),
            tags: Set(json_list(&agent.tags)),
            metadata: Set(serde_json::Value::Object(agent.metadata.clone()).to_string()),
            created_at: Set(agent.created_at),
            updated_at: Set(agent.updated_at),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(unavailable("insert agent"))?;
        let mut position = 0;
        for b in &own_blocks {
            blocks::Entity::insert(block_row(b, Some(&agent.id)))
                .exec_without_returning(&txn)
                .await
                .map_err(unavailable("insert block"))?;
        }
        for id in own_blocks.iter().map(|b| &b.id).chain(attach.iter()) {
            if blocks::Entity::find_by_id(id.0.clone())
                .one(&txn)
                .await
                .map_err(unavailable("read block"))?
                .is_none()
            {
                txn.rollback().await.map_err(unavailable("rollback"))?;
                return Err(AgentError::NotFound(format!("block {id}")));
            }
            links::Entity::insert(links::ActiveModel {
                agent_id: Set(agent.id.0.clone()),
                block_id: Set(id.0.clone()),
                position: Set(position),
            })
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await
            .map_err(unavailable("link block"))?;
            position += 1;
        }
        txn.commit().await.map_err(unavailable("commit"))
    }

    async fn get_agent(&self, id: &AgentId) -> Result<Option<AgentRecord>, AgentError> {
        Ok(agents::Entity::find_by_id(id.0.clone())
            .one(self.db.connection())
            .await
            .map_err(unavailable("read agent"))?
            .map(agent_record))
    }

    async fn list_agents(
        &self,
        limit: u64,
        after: Option<String>,
        tag: Option<String>,
    ) -> Result<Vec<AgentRecord>, AgentError> {
        let mut q = agents::Entity::find();
        if let Some(after) = after {
            q = q.filter(agents::Column::Id.gt(after));
        }
        if let Some(tag) = tag {
            // Tags are a JSON array of strings: match the quoted element.
            q = q.filter(agents::Column::Tags.contains(json_list(&[tag]).trim_matches(['[', ']'])));
        }
        Ok(q.order_by_asc(agents::Column::Id)
            .limit(limit)
            .all(self.db.connection())
            .await
            .map_err(unavailable("list agents"))?
            .into_iter()
            .map(agent_record)
            .collect())
    }

    async fn set_tags(&self, id: &AgentId, tags: Vec<String>) -> Result<bool, AgentError> {
        let result = agents::Entity::update_many()
            .col_expr(agents::Column::Tags, Expr::value(json_list(&tags)))
            .filter(agents::Column::Id.eq(id.0.clone()))
            .exec(self.db.connection())
            .await
            .map_err(unavailable("set agent tags"))?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_agent(&self, id: &AgentId) -> Result<bool, AgentError> {
        let txn = self
            .db
            .connection()
            .begin()
            .await
            .map_err(unavailable("begin"))?;
        // History, passages and links go by ON DELETE CASCADE; own blocks explicitly.
        let deleted = agents::Entity::delete_by_id(id.0.clone())
            .exec(&txn)
            .await
            .map_err(unavailable("delete agent"))?
            .rows_affected
            > 0;
        blocks::Entity::delete_many()
            .filter(blocks::Column::OwnerAgentId.eq(id.0.clone()))
            .exec(&txn)
            .await
            .map_err(unavailable("delete own blocks"))?;
        txn.commit().await.map_err(unavailable("commit"))?;
        Ok(deleted)
    }

    async fn agent_blocks(&self, id: &AgentId) -> Result<Vec<Block>, AgentError> {
        // One query: the agent's links joined to their blocks, in attachment order.
        Ok(blocks::Entity::find()
            .join(JoinType::InnerJoin, links::Relation::Block.def().rev())
            .filter(links::Column::AgentId.eq(id.0.clone()))
            .order_by_asc(links::Column::Position)
            .all(self.db.connection())
            .await
            .map_err(unavailable("read blocks"))?
            .into_iter()
            .map(block)
            .collect())
    }

    async fn insert_block(&self, b: Block) -> Result<(), AgentError> {
        blocks::Entity::insert(block_row(&b, None))
            .exec_without_returning(self.db.connection())
            .await
            .map_err(unavailable("insert block"))?;
        Ok(())
    }

    async fn get_block(&self, id: &BlockId) -> Result<Option<Block>, AgentError> {
        Ok(blocks::Entity::find_by_id(id.0.clone())
            .one(self.db.connection())
            .await
            .map_err(unavailable("read block"))?
            .map(block))
    }

    async fn blocks_by_label(&self, label: &str) -> Result<Vec<Block>, AgentError> {
        Ok(blocks::Entity::find()
            .filter(blocks::Column::Label.eq(label))
            .order_by_asc(blocks::Column::CreatedAt)
            .all(self.db.connection())
            .await
            .map_err(unavailable("read blocks"))?
            .into_iter()
            .map(block)
            .collect())
    }

    async fn set_block_value(
        &self,
        id: &BlockId,
        value: &str,
    ) -> Result<Option<Block>, AgentError> {
        let updated = blocks::Entity::update_many()
            .col_expr(blocks::Column::Value, Expr::value(value))
            .col_expr(blocks::Column::UpdatedAt, Expr::value(now()))
            .filter(blocks::Column::Id.eq(id.0.clone()))
            .exec_with_returning(self.db.connection())
            .await
            .map_err(unavailable("update block"))?;
        Ok(updated.into_iter().next().map(block))
    }

    async fn attach(&self, agent: &AgentId, b: &BlockId) -> Result<(), AgentError> {
        if self.get_agent(agent).await?.is_none() {
            return Err(AgentError::NotFound(format!("agent {agent}")));
        }
        if self.get_block(b).await?.is_none() {
            return Err(AgentError::NotFound(format!("block {b}")));
        }
        let position = next_position(self.db.connection(), &agent.0).await?;
        let result = links::Entity::insert(links::ActiveModel {
            agent_id: Set(agent.0.clone()),
            block_id: Set(b.0.clone()),
            position: Set(position),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(self.db.connection())
        .await;
        match result {
            Ok(_) => Ok(()),
            // A concurrent attach of the same pair won: attaching is idempotent.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(()),
            Err(e) => Err(unavailable("attach block")(e)),
        }
    }

    async fn detach(&self, agent: &AgentId, b: &BlockId) -> Result<(), AgentError> {
        links::Entity::delete_many()
            .filter(links::Column::AgentId.eq(agent.0.clone()))
            .filter(links::Column::BlockId.eq(b.0.clone()))
            .exec(self.db.connection())
            .await
            .map_err(unavailable("detach block"))?;
        Ok(())
    }

    async fn block_agents(&self, b: &BlockId) -> Result<Vec<AgentId>, AgentError> {
        Ok(links::Entity::find()
            .filter(links::Column::BlockId.eq(b.0.clone()))
            .order_by_asc(links::Column::AgentId)
            .all(self.db.connection())
            .await
            .map_err(unavailable("read links"))?
            .into_iter()
            .map(|l| AgentId(l.agent_id))
            .collect())
    }

    async fn append_history(
        &self,
        agent: &AgentId,
        batch: Vec<AgentHistoryMessage>,
    ) -> Result<(), AgentError> {
        if batch.is_empty() {
            return Ok(());
        }
        // One statement: the `runtime_messages_touch_agent` trigger moves the agent's
        // `updated_at` with it.
        let rows = batch.into_iter().map(|m| messages::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            agent_id: Set(agent.0.clone()),
            role: Set(m.role.as_str().to_owned()),
            content: Set(m.content),
            tool_calls: Set((!m.tool_calls.is_empty())
                .then(|| serde_json::to_string(&m.tool_calls).unwrap_or_default())),
            tool_call_id: Set(m.tool_call_id),
            tool_name: Set(m.tool_name),
            created_at: Set(m.created_at),
        });
        messages::Entity::insert_many(rows)
            .exec_without_returning(self.db.connection())
            .await
            .map_err(unavailable("append history"))?;
        Ok(())
    }

    async fn recent_history(
        &self,
        agent: &AgentId,
        limit: u64,
    ) -> Result<Vec<AgentHistoryMessage>, AgentError> {
        let mut rows = messages::Entity::find()
            .filter(messages::Column::AgentId.eq(agent.0.clone()))
            .order_by_desc(messages::Column::Id)
            .limit(limit)
            .all(self.db.connection())
            .await
            .map_err(unavailable("read history"))?;
        rows.reverse();
        Ok(rows.into_iter().filter_map(history).collect())
    }

    async fn turn_context(
        &self,
        id: &AgentId,
        history: u64,
    ) -> Result<Option<TurnContext>, AgentError> {
        let conn = self.db.connection();
        let sql = match self.db.engine() {
            Engine::Sqlite => TURN_CONTEXT_SQLITE,
            Engine::Postgres => TURN_CONTEXT_POSTGRES,
        };
        let limit = i64::try_from(history).unwrap_or(i64::MAX);
        let Some(row) = conn
            .query_one_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                sql,
                vec![id.0.clone().into(), limit.into()],
            ))
            .await
            .map_err(unavailable("read turn context"))?
        else {
            return Ok(None);
        };
        let agent =
            agents::Model::from_query_result(&row, "").map_err(unavailable("read agent"))?;
        let blocks_json: String = row
            .try_get("", "blocks_json")
            .map_err(unavailable("read blocks"))?;
        let history_json: String = row
            .try_get("", "history_json")
            .map_err(unavailable("read history"))?;
        let (blocks, history) = turn_parts(&agent.id, &blocks_json, &history_json)?;
        Ok(Some(TurnContext {
            agent: agent_record(agent),
            blocks,
            history,
        }))
    }

    async fn search_history(
        &self,
        agent: &AgentId,
        query: &str,
        limit: u64,
    ) -> Result<Vec<AgentHistoryMessage>, AgentError> {
        let rows = self
            .search(
                messages::Entity::find()
                    .filter(messages::Column::Role.is_in(["user", "assistant"])),
                ("runtime_messages", messages::Column::Id),
                agent,
                |m: &messages::Model| &m.content,
                query,
                limit,
            )
            .await
            .map_err(unavailable("search history"))?;
        Ok(rows.into_iter().filter_map(history).collect())
    }

    async fn insert_passage(&self, agent: &AgentId, p: Passage) -> Result<(), AgentError> {
        passages::Entity::insert(passages::ActiveModel {
            id: Set(p.id),
            agent_id: Set(agent.0.clone()),
            content: Set(p.content),
            tags: Set(json_list(&p.tags)),
            created_at: Set(p.created_at),
        })
        .exec_without_returning(self.db.connection())
        .await
        .map_err(unavailable("insert passage"))?;
        Ok(())
    }

    async fn list_passages(&self, agent: &AgentId, limit: u64) -> Result<Vec<Passage>, AgentError> {
        Ok(passages::Entity::find()
            .filter(passages::Column::AgentId.eq(agent.0.clone()))
            .order_by_desc(passages::Column::Id)
            .limit(limit)
            .all(self.db.connection())
            .await
            .map_err(unavailable("list passages"))?
            .into_iter()
            .map(passage)
            .collect())
    }

    async fn search_passages(
        &self,
        agent: &AgentId,
        query: &str,
        limit: u64,
    ) -> Result<Vec<Passage>, AgentError> {
        let rows = self
            .search(
                passages::Entity::find(),
                ("runtime_passages", passages::Column::Id),
                agent,
                |m: &passages::Model| &m.content,
                query,
                limit,
            )
            .await
            .map_err(unavailable("search passages"))?;
        Ok(rows.into_iter().map(passage).collect())
    }
}

/// The time now, for callers building records.
pub fn timestamp() -> chrono::DateTime<Utc> {
    now()
}
