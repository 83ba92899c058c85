//! The `users` table.

use sea_orm::entity::prelude::*;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique, lower-case.
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    /// bcrypt hash.
    pub hashed_password: String,
    /// The user's agent, once created.
    pub agent_id: Option<String>,
    /// Admin flag.
    pub is_admin: bool,
    /// Creation time (UTC).
    pub created_at: DateTimeUtc,
    /// Last update (UTC).
    pub updated_at: DateTimeUtc,
}

/// Relations of `users` (added with the tables that reference it).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
