//! `PersonaRepo` and `PersonaLock` over SeaORM.

use crate::db::repo_err;
use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;
use pi_domain::RepoError;
use pi_domain::agent::{AgentId, BlockId};
use pi_domain::persona::{
    Persona, PersonaDef, PersonaHandle, PersonaLock, PersonaLockGuard, PersonaRepo, UserPersona,
};
use pi_domain::user::UserId;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::sqlx::{Postgres, pool::PoolConnection};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entities::personas::{persona_rows as personas, user_personas};
use crate::entities::users;
use crate::users::now;
use crate::{Database, Engine};

/// [`PersonaRepo`] on `personas` / `user_personas`.
#[derive(Debug, Clone)]
pub struct SeaOrmPersonaRepo {
    db: Database,
}

impl SeaOrmPersonaRepo {
    /// A repository on `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn persona(m: personas::Model) -> Result<Persona, RepoError> {
    let handle = PersonaHandle::parse(&m.persona_handle)
        .map_err(|e| RepoError(anyhow::anyhow!("stored persona handle is invalid: {e}")))?;
    Ok(Persona {
        id: m.id,
        def: PersonaDef {
            persona_handle: handle,
            industry: m.industry,
            professional_role: m.professional_role,
            description: m.description,
            typical_kpis: serde_json::from_str(&m.typical_kpis).unwrap_or_default(),
            typical_motivations: m.typical_motivations,
            quintessential_queries: serde_json::from_str(&m.quintessential_queries)
                .unwrap_or_default(),
        },
        shared_block_id: m.shared_block_id.map(BlockId),
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

#[async_trait]
impl PersonaRepo for SeaOrmPersonaRepo {
    async fn list(&self) -> Result<Vec<Persona>, RepoError> {
        personas::Entity::find()
            .order_by_asc(personas::Column::PersonaHandle)
            .all(self.db.connection())
            .await
            .map_err(repo_err("failed to list personas"))?
            .into_iter()
            .map(persona)
            .collect()
    }

    async fn get_by_handle(&self, handle: &PersonaHandle) -> Result<Option<Persona>, RepoError> {
        personas::Entity::find()
            .filter(personas::Column::PersonaHandle.eq(handle.as_str()))
            .one(self.db.connection())
            .await
            .map_err(repo_err("failed to load persona"))?
            .map(persona)
            .transpose()
    }

    async fn get_or_create(&self, def: PersonaDef) -> Result<Persona, RepoError> {
        let now = now();
        let row = personas::ActiveModel {
            id: Set(Uuid::now_v7()),
            persona_handle: Set(def.persona_handle.as_str().to_owned()),
            industry: Set(def.industry.clone()),
            professional_role: Set(def.professional_role.clone()),
            description: Set(def.description.clone()),
            typical_kpis: Set(
                serde_json::to_string(&def.typical_kpis).unwrap_or_else(|_| "[]".into())
            ),
            typical_motivations: Set(def.typical_motivations.clone()),
            quintessential_queries: Set(
                serde_json::to_string(&def.quintessential_queries).unwrap_or_else(|_| "[]".into())
            ),
            shared_block_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        // Concurrent creators of the same handle: one insert wins, the others do nothing.
        personas::Entity::insert(row)
            .on_conflict_do_nothing_on([personas::Column::PersonaHandle])
            .exec(self.db.connection())
            .await
            .map_err(repo_err("failed to create persona"))?;
        self.get_by_handle(&def.persona_handle)
            .await?
            .ok_or_else(|| RepoError(anyhow::anyhow!("persona vanished after insert")))
    }

    async fn upsert_link(
        &self,
        user: UserId,
        persona_id: Uuid,
        confidence: f64,
    ) -> Result<(), RepoError> {
        let now = now();
        user_personas::Entity::insert(user_personas::ActiveModel {
            user_id: Set(user.0),
            persona_id: Set(persona_id),
            confidence_score: Set(confidence),
            discovered_at: Set(now),
            last_confirmed: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                user_personas::Column::UserId,
                user_personas::Column::PersonaId,
            ])
            .update_columns([
                user_personas::Column::ConfidenceScore,
                user_personas::Column::LastConfirmed,
            ])
            .to_owned(),
        )
        .exec_without_returning(self.db.connection())
        .await
        .map_err(repo_err("failed to link user to persona"))?;
        Ok(())
    }

    async fn agents_of_persona(&self, persona_id: Uuid) -> Result<Vec<AgentId>, RepoError> {
        let links = user_personas::Entity::find()
            .filter(user_personas::Column::PersonaId.eq(persona_id))
            .all(self.db.connection())
            .await
            .map_err(repo_err("failed to read persona links"))?;
        let ids: Vec<Uuid> = links.iter().map(|l| l.user_id).collect();
        let mut agents = Vec::new();
        for chunk in ids.chunks(500) {
            let users = users::Entity::find()
                .filter(users::Column::Id.is_in(chunk.iter().copied()))
                .filter(users::Column::AgentId.is_not_null())
                .all(self.db.connection())
                .await
                .map_err(repo_err("failed to read persona users"))?;
            agents.extend(users.into_iter().filter_map(|u| u.agent_id.map(AgentId)));
        }
        agents.sort();
        Ok(agents)
    }

    async fn agent_of_user(&self, user: UserId) -> Result<Option<AgentId>, RepoError> {
        Ok(users::Entity::find_by_id(user.0)
            .one(self.db.connection())
            .await
            .map_err(repo_err("failed to read the user's agent"))?
            .and_then(|u| u.agent_id.map(AgentId)))
    }

    async fn personas_of(&self, user: UserId) -> Result<Vec<UserPersona>, RepoError> {
        let links = user_personas::Entity::find()
            .filter(user_personas::Column::UserId.eq(user.0))
            .all(self.db.connection())
            .await
            .map_err(repo_err("failed to read user personas"))?;
        let mut out = Vec::new();
        for link in links {
            if let Some(p) = personas::Entity::find_by_id(link.persona_id)
                .one(self.db.connection())
                .await
                .map_err(repo_err("failed to read persona"))?
            {
                out.push(UserPersona {
                    persona: persona(p)?,
                    confidence_score: link.confidence_score,
                    discovered_at: link.discovered_at,
                    last_confirmed: link.last_confirmed,
                });
            }
        }
        out.sort_by(|a, b| {
            a.persona
                .def
                .persona_handle
                .as_str()
                .cmp(b.persona.def.persona_handle.as_str())
        });
        Ok(out)
    }

    async fn set_shared_block(&self, persona_id: Uuid, block: &BlockId) -> Result<(), RepoError> {
        personas::Entity::update_many()
            .col_expr(
                personas::Column::SharedBlockId,
                Expr::value(block.0.clone()),
            )
            .col_expr(personas::Column::UpdatedAt, Expr::value(now()))
            .filter(personas::Column::Id.eq(persona_id))
            .exec(self.db.connection())
            .await
            .map_err(repo_err("failed to record shared block"))?;
        Ok(())
    }
}

/// 64-bit FNV-1a of the handle: the PostgreSQL advisory-lock key.
fn lock_key(handle: &PersonaHandle) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"pi-persona:".iter().chain(handle.as_str().as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// Per-handle locks. Every engine first takes an in-process async mutex per handle; PostgreSQL
/// then also takes a session advisory lock on a pooled connection, so the lock holds across
/// processes and replicas. Waiters in one process queue on the mutex without a connection: were
/// each to wait in `pg_advisory_lock` on a connection of its own, a burst of first messages
/// naming one persona would take the whole pool, and the holder, needing one more connection to
/// create the shared block, would wait out the acquire timeout (a 503, seen with 7 waiters on a
/// pool of 6).
#[derive(Debug, Clone)]
pub struct PersonaLocks {
    db: Database,
    local: Arc<DashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl PersonaLocks {
    /// Locks for `db`'s engine.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            local: Arc::new(DashMap::new()),
        }
    }
}

/// A held lock: the advisory lock's session (PostgreSQL) and the in-process mutex. Dropped
/// fields run after [`Drop::drop`], so the session is closed before the next local waiter runs.
struct HeldLock {
    advisory: Option<(PoolConnection<Postgres>, i64)>,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl PersonaLockGuard for HeldLock {
    async fn release(mut self: Box<Self>) {
        if let Some((mut conn, key)) = self.advisory.take() {
            let unlocked = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut *conn)
                .await;
            if let Err(e) = unlocked {
                tracing::warn!(error = %e, "advisory unlock failed; closing the session instead");
                drop(conn.detach());
            }
        }
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        // Not released explicitly (e.g. a panic): close the session so PostgreSQL frees the lock,
        // rather than returning a locked session to the pool.
        if let Some((conn, _)) = self.advisory.take() {
            drop(conn.detach());
        }
    }
}

/// A session waiting for an advisory lock: closed, not pooled, if dropped while waiting.
struct Waiting(Option<PoolConnection<Postgres>>);

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

#[async_trait]
impl PersonaLock for PersonaLocks {
    async fn lock(&self, handle: &PersonaHandle) -> Result<Box<dyn PersonaLockGuard>, RepoError> {
        let mutex = Arc::clone(
            self.local
                .entry(handle.as_str().to_owned())
                .or_default()
                .value(),
        );
        let local = mutex.lock_owned().await;
        let advisory = match self.db.engine() {
            Engine::Sqlite => None,
            Engine::Postgres => {
                let pool = self.db.connection().get_postgres_connection_pool();
                let conn = pool.acquire().await.map_err(crate::db::sqlx_repo_err(
                    "no connection for the persona lock",
                ))?;
                let key = lock_key(handle);
                // Until `pg_advisory_lock` returns, a dropped call (a client that went away)
                // closes the session rather than returning it to the pool, where it would be
                // granted the lock later and hold it with no one to release it.
                let mut waiting = Waiting(Some(conn));
                if let Some(conn) = waiting.0.as_mut() {
                    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
                        .bind(key)
                        .execute(&mut **conn)
                        .await
                        .map_err(crate::db::sqlx_repo_err("failed to take the persona lock"))?;
                }
                waiting.0.take().map(|conn| (conn, key))
            }
        };
        Ok(Box::new(HeldLock {
            advisory,
            _local: local,
        }))
    }
}
