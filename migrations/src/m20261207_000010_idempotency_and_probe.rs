//! `idempotency_keys`: sends keyed by the client's `Idempotency-Key`, shared by every replica;
//! `health_probe`: the row readiness writes to prove the database takes writes (issue 30).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    ConversationId,
    Content,
    State,
    Owner,
    LeaseUntil,
    UserMessageId,
    AssistantMessageId,
    Steps,
    CreatedAt,
}

#[derive(Iden)]
enum Conversations {
    Table,
    Id,
}

#[derive(Iden)]
enum HealthProbe {
    Table,
    Singleton,
    ProbedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .if_not_exists()
                .col(ColumnDef::new(IdempotencyKeys::UserId).uuid().not_null())
                .col(
                    ColumnDef::new(IdempotencyKeys::Key)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IdempotencyKeys::ConversationId)
                        .uuid()
                        .not_null(),
                )
                // The request, to tell a retry from another request under the same key.
                .col(ColumnDef::new(IdempotencyKeys::Content).text().not_null())
                // running | failed | done
                .col(
                    ColumnDef::new(IdempotencyKeys::State)
                        .string_len(16)
                        .not_null(),
                )
                // The process running the attempt, and until when it may (Unix milliseconds).
                .col(
                    ColumnDef::new(IdempotencyKeys::Owner)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IdempotencyKeys::LeaseUntil)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(IdempotencyKeys::UserMessageId).uuid().null())
                .col(
                    ColumnDef::new(IdempotencyKeys::AssistantMessageId)
                        .uuid()
                        .null(),
                )
                // The finished turn's steps (JSON), replayed to a retry.
                .col(ColumnDef::new(IdempotencyKeys::Steps).text().null())
                // Unix milliseconds: the same arithmetic on both databases.
                .col(
                    ColumnDef::new(IdempotencyKeys::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::UserId)
                        .col(IdempotencyKeys::Key),
                )
                // A deleted conversation (or user, through it) takes its keys along.
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_idempotency_keys_conversation")
                        .from(IdempotencyKeys::Table, IdempotencyKeys::ConversationId)
                        .to(Conversations::Table, Conversations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_idempotency_keys_created")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::CreatedAt)
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_idempotency_keys_conversation")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::ConversationId)
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(HealthProbe::Table)
                .if_not_exists()
                // Always 1: the table holds one row.
                .col(
                    ColumnDef::new(HealthProbe::Singleton)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(HealthProbe::ProbedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(HealthProbe::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}
