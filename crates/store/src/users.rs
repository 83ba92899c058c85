//! `UserRepo` over SeaORM.

use crate::db::repo_err;
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use pi_domain::RepoError;
use pi_domain::user::{
    CreateUserError, DisplayName, Email, NewUser, PasswordHash, User, UserId, UserRepo,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr};

use crate::Database;
use crate::entities::users;

/// [`UserRepo`] backed by the `users` table.
#[derive(Debug, Clone)]
pub struct SeaOrmUserRepo {
    db: Database,
}

impl SeaOrmUserRepo {
    /// A repository on `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Both backends store microseconds; rounding first makes what we return equal what we read back.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn to_domain(m: users::Model) -> Result<User, RepoError> {
    // Emails passed the rules of their day (rules only tighten); a display name that does not
    // parse means the database was edited by hand and is reported rather than papered over.
    let email = Email::from_stored(m.email);
    let display_name = DisplayName::parse(&m.display_name).map_err(|e| {
        RepoError(anyhow::anyhow!(
            "stored display name is invalid: {}",
            e.message
        ))
    })?;
    Ok(User {
        id: UserId(m.id),
        email,
        display_name,
        password_hash: PasswordHash::new(m.hashed_password),
        agent_id: m.agent_id,
        is_admin: m.is_admin,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

#[async_trait]
impl UserRepo for SeaOrmUserRepo {
    async fn create(&self, user: NewUser) -> Result<User, CreateUserError> {
        let now = now();
        let row = users::ActiveModel {
            id: Set(user.id.0),
            email: Set(user.email.as_str().to_owned()),
            display_name: Set(user.display_name.as_str().to_owned()),
            hashed_password: Set(user.password_hash.as_str().to_owned()),
            agent_id: Set(None),
            is_admin: Set(user.is_admin),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let model = row
            .insert(self.db.connection())
            .await
            .map_err(|e| match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => CreateUserError::Duplicate,
                _ => CreateUserError::Unexpected(repo_err("failed to insert user")(e).0),
            })?;
        to_domain(model).map_err(|e| CreateUserError::Unexpected(e.0))
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepoError> {
        users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(self.db.connection())
            .await
            .map_err(repo_err("failed to find user by email"))?
            .map(to_domain)
            .transpose()
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepoError> {
        users::Entity::find_by_id(id.0)
            .one(self.db.connection())
            .await
            .map_err(repo_err("failed to find user by id"))?
            .map(to_domain)
            .transpose()
    }

    async fn set_admin(&self, id: UserId, is_admin: bool) -> Result<Option<User>, RepoError> {
        let result = users::Entity::update_many()
            .col_expr(
                users::Column::IsAdmin,
                sea_orm::sea_query::Expr::value(is_admin),
            )
            .col_expr(
                users::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now()),
            )
            .filter(users::Column::Id.eq(id.0))
            .exec(self.db.connection())
            .await
            .map_err(repo_err("failed to update admin flag"))?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        self.find_by_id(id).await
    }

    async fn set_agent_id_if_unset(
        &self,
        id: UserId,
        agent_id: &str,
    ) -> Result<Option<String>, RepoError> {
        // Conditional update: only one writer can move agent_id from NULL to a value, on any
        // number of processes.
        users::Entity::update_many()
            .col_expr(users::Column::AgentId, Expr::value(agent_id))
            .col_expr(users::Column::UpdatedAt, Expr::value(now()))
            .filter(users::Column::Id.eq(id.0))
            .filter(users::Column::AgentId.is_null())
            .exec(self.db.connection())
            .await
            .map_err(repo_err("failed to set agent id"))?;
        Ok(self.find_by_id(id).await?.and_then(|u| u.agent_id))
    }

    async fn clear_agent_id(&self, id: UserId, expected: &str) -> Result<(), RepoError> {
        users::Entity::update_many()
            .col_expr(users::Column::AgentId, Expr::value(Option::<String>::None))
            .col_expr(users::Column::UpdatedAt, Expr::value(now()))
            .filter(users::Column::Id.eq(id.0))
            .filter(users::Column::AgentId.eq(expected))
            .exec(self.db.connection())
            .await
            .map_err(repo_err("failed to clear agent id"))?;
        Ok(())
    }

    async fn find_by_agent_ids(&self, agent_ids: &[String]) -> Result<Vec<User>, RepoError> {
        let mut users = Vec::new();
        // Bounded IN lists keep every statement well under both backends' parameter limits.
        for chunk in agent_ids.chunks(500) {
            let rows = users::Entity::find()
                .filter(users::Column::AgentId.is_in(chunk.iter().cloned()))
                .all(self.db.connection())
                .await
                .map_err(repo_err("failed to find users by agent"))?;
            for row in rows {
                users.push(to_domain(row)?);
            }
        }
        Ok(users)
    }
}
