//! The `messages` table.

use sea_orm::entity::prelude::*;

/// A row of `messages`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// `user`, `system` or `agent`.
    pub role: String,
    /// Text.
    #[sea_orm(column_type = "Text")]
    pub content: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations of `messages`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
