//! `personas` and `user_personas`.

/// `personas`.
pub mod persona_rows {
    use sea_orm::entity::prelude::*;

    /// A persona row.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "personas")]
    pub struct Model {
        /// Id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Unique handle.
        #[sea_orm(unique)]
        pub persona_handle: String,
        pub industry: String,
        pub professional_role: String,
        /// Description.
        #[sea_orm(column_type = "Text")]
        pub description: String,
        /// JSON array.
        #[sea_orm(column_type = "Text")]
        pub typical_kpis: String,
        /// Text.
        #[sea_orm(column_type = "Text")]
        pub typical_motivations: String,
        /// JSON array.
        #[sea_orm(column_type = "Text")]
        pub quintessential_queries: String,
        /// Shared block, once created.
        pub shared_block_id: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `user_personas`.
pub mod user_personas {
    use sea_orm::entity::prelude::*;

    /// A link row.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_personas")]
    pub struct Model {
        /// User.
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        /// Persona.
        #[sea_orm(primary_key, auto_increment = false)]
        pub persona_id: Uuid,
        /// 0–1.
        pub confidence_score: f64,
        /// First assigned.
        pub discovered_at: DateTimeUtc,
        /// Last assigned.
        pub last_confirmed: DateTimeUtc,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
