//! Tables of the embedded agent runtime.

/// `runtime_agents`.
pub mod agents {
    use sea_orm::entity::prelude::*;

    /// An agent row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "runtime_agents")]
    pub struct Model {
        /// Id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        /// System prompt.
        #[sea_orm(column_type = "Text")]
        pub system_prompt: String,
        /// Model handle.
        pub model: String,
        /// JSON array of tool names.
        #[sea_orm(column_type = "Text")]
        pub tools: String,
        /// JSON array of tags.
        #[sea_orm(column_type = "Text")]
        pub tags: String,
        /// JSON object.
        #[sea_orm(column_type = "Text")]
        pub metadata: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `runtime_blocks`.
pub mod blocks {
    use sea_orm::entity::prelude::*;

    /// A block row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "runtime_blocks")]
    pub struct Model {
        /// Id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub label: String,
        /// Value.
        #[sea_orm(column_type = "Text")]
        pub value: String,
        /// Limit in characters.
        pub char_limit: i32,
        /// Description.
        #[sea_orm(column_type = "Text")]
        pub description: String,
        /// Read-only flag.
        pub read_only: bool,
        /// The agent it was created with (deleted with it), if any.
        pub owner_agent_id: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `runtime_agent_blocks`.
pub mod links {
    use sea_orm::entity::prelude::*;

    /// A link row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "runtime_agent_blocks")]
    pub struct Model {
        /// Agent.
        #[sea_orm(primary_key, auto_increment = false)]
        pub agent_id: String,
        /// Block.
        #[sea_orm(primary_key, auto_increment = false)]
        pub block_id: String,
        /// Attachment order.
        pub position: i32,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The linked block.
        #[sea_orm(
            belongs_to = "super::blocks::Entity",
            from = "Column::BlockId",
            to = "super::blocks::Column::Id"
        )]
        Block,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `runtime_messages`.
pub mod messages {
    use sea_orm::entity::prelude::*;

    /// A history row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "runtime_messages")]
    pub struct Model {
        /// Id (UUID v7 text: sorts by time).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub agent_id: String,
        /// `user`, `assistant` or `tool`.
        pub role: String,
        /// Text.
        #[sea_orm(column_type = "Text")]
        pub content: String,
        /// JSON array of tool calls (assistant).
        #[sea_orm(column_type = "Text", nullable)]
        pub tool_calls: Option<String>,
        /// Tool call id (tool results).
        pub tool_call_id: Option<String>,
        /// Tool name (tool results).
        pub tool_name: Option<String>,
        pub created_at: DateTimeUtc,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `runtime_passages`.
pub mod passages {
    use sea_orm::entity::prelude::*;

    /// An archival passage row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "runtime_passages")]
    pub struct Model {
        /// Id (`passage-<uuid v7>`).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub agent_id: String,
        /// Text.
        #[sea_orm(column_type = "Text")]
        pub content: String,
        /// JSON array of tags.
        #[sea_orm(column_type = "Text")]
        pub tags: String,
        pub created_at: DateTimeUtc,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
