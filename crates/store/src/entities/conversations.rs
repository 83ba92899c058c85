//! The `conversations` table.

use sea_orm::entity::prelude::*;

/// A row of `conversations`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    pub title: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last activity.
    pub updated_at: DateTimeUtc,
}

/// Relations of `conversations`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
