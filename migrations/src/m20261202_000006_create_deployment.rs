//! `deployment`: this deployment's identity, created once (issue 11).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
#[allow(clippy::enum_variant_names)] // Iden derives the column names from the variants.
enum Deployment {
    Table,
    Singleton,
    DeploymentId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Deployment::Table)
                .if_not_exists()
                // Always 1: the table holds one row.
                .col(
                    ColumnDef::new(Deployment::Singleton)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Deployment::DeploymentId)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Deployment::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Deployment::Table).to_owned())
            .await
    }
}
