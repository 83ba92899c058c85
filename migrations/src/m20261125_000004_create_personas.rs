//! `personas` and `user_personas`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum Users {
    Table,
    Id,
}

#[derive(Iden)]
enum Personas {
    Table,
    Id,
    PersonaHandle,
    Industry,
    ProfessionalRole,
    Description,
    TypicalKpis,
    TypicalMotivations,
    QuintessentialQueries,
    SharedBlockId,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden)]
enum UserPersonas {
    Table,
    UserId,
    PersonaId,
    ConfidenceScore,
    DiscoveredAt,
    LastConfirmed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Personas::Table)
                .if_not_exists()
                .col(ColumnDef::new(Personas::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(Personas::PersonaHandle)
                        .string_len(128)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Personas::Industry)
                        .string_len(128)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Personas::ProfessionalRole)
                        .string_len(128)
                        .not_null(),
                )
                .col(ColumnDef::new(Personas::Description).text().not_null())
                .col(ColumnDef::new(Personas::TypicalKpis).text().not_null())
                .col(
                    ColumnDef::new(Personas::TypicalMotivations)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Personas::QuintessentialQueries)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Personas::SharedBlockId)
                        .string_len(64)
                        .null(),
                )
                .col(
                    ColumnDef::new(Personas::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Personas::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(UserPersonas::Table)
                .if_not_exists()
                .col(ColumnDef::new(UserPersonas::UserId).uuid().not_null())
                .col(ColumnDef::new(UserPersonas::PersonaId).uuid().not_null())
                .col(
                    ColumnDef::new(UserPersonas::ConfidenceScore)
                        .double()
                        .not_null()
                        .check(
                            Expr::col(UserPersonas::ConfidenceScore)
                                .gte(0.0)
                                .and(Expr::col(UserPersonas::ConfidenceScore).lte(1.0)),
                        ),
                )
                .col(
                    ColumnDef::new(UserPersonas::DiscoveredAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(UserPersonas::LastConfirmed)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(UserPersonas::UserId)
                        .col(UserPersonas::PersonaId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_user_personas_user")
                        .from(UserPersonas::Table, UserPersonas::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_user_personas_persona")
                        .from(UserPersonas::Table, UserPersonas::PersonaId)
                        .to(Personas::Table, Personas::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_user_personas_persona")
                .table(UserPersonas::Table)
                .col(UserPersonas::PersonaId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(UserPersonas::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Personas::Table).to_owned())
            .await
    }
}
