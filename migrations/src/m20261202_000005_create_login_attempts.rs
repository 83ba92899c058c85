//! `login_attempts`: login throttling counters shared by every replica (issue 11).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum LoginAttempts {
    Table,
    ThrottleKey,
    Attempts,
    WindowStart,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LoginAttempts::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(LoginAttempts::ThrottleKey)
                        .string_len(320)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(LoginAttempts::Attempts).integer().not_null())
                // Unix seconds: the same arithmetic on both databases.
                .col(
                    ColumnDef::new(LoginAttempts::WindowStart)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LoginAttempts::Table).to_owned())
            .await
    }
}
