//! Tables of the embedded agent runtime: agents, blocks, links, history, archival passages.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum RuntimeAgents {
    Table,
    Id,
    Name,
    SystemPrompt,
    Model,
    Tools,
    Tags,
    Metadata,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden)]
enum RuntimeBlocks {
    Table,
    Id,
    Label,
    Value,
    CharLimit,
    Description,
    ReadOnly,
    OwnerAgentId,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden)]
enum RuntimeAgentBlocks {
    Table,
    AgentId,
    BlockId,
    Position,
}

#[derive(Iden)]
enum RuntimeMessages {
    Table,
    Id,
    AgentId,
    Role,
    Content,
    ToolCalls,
    ToolCallId,
    ToolName,
    CreatedAt,
}

#[derive(Iden)]
enum RuntimePassages {
    Table,
    Id,
    AgentId,
    Content,
    Tags,
    CreatedAt,
}

fn ts<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RuntimeAgents::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(RuntimeAgents::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(RuntimeAgents::Name)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RuntimeAgents::SystemPrompt)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RuntimeAgents::Model)
                        .string_len(255)
                        .not_null(),
                )
                .col(ColumnDef::new(RuntimeAgents::Tools).text().not_null())
                .col(ColumnDef::new(RuntimeAgents::Tags).text().not_null())
                .col(ColumnDef::new(RuntimeAgents::Metadata).text().not_null())
                .col(ts(RuntimeAgents::CreatedAt))
                .col(ts(RuntimeAgents::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RuntimeBlocks::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(RuntimeBlocks::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(RuntimeBlocks::Label)
                        .string_len(255)
                        .not_null(),
                )
                .col(ColumnDef::new(RuntimeBlocks::Value).text().not_null())
                .col(
                    ColumnDef::new(RuntimeBlocks::CharLimit)
                        .integer()
                        .not_null(),
                )
                .col(ColumnDef::new(RuntimeBlocks::Description).text().not_null())
                .col(
                    ColumnDef::new(RuntimeBlocks::ReadOnly)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(RuntimeBlocks::OwnerAgentId)
                        .string_len(64)
                        .null(),
                )
                .col(ts(RuntimeBlocks::CreatedAt))
                .col(ts(RuntimeBlocks::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_runtime_blocks_label")
                .table(RuntimeBlocks::Table)
                .col(RuntimeBlocks::Label)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RuntimeAgentBlocks::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(RuntimeAgentBlocks::AgentId)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RuntimeAgentBlocks::BlockId)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RuntimeAgentBlocks::Position)
                        .integer()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(RuntimeAgentBlocks::AgentId)
                        .col(RuntimeAgentBlocks::BlockId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_runtime_links_agent")
                        .from(RuntimeAgentBlocks::Table, RuntimeAgentBlocks::AgentId)
                        .to(RuntimeAgents::Table, RuntimeAgents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_runtime_links_block")
                        .from(RuntimeAgentBlocks::Table, RuntimeAgentBlocks::BlockId)
                        .to(RuntimeBlocks::Table, RuntimeBlocks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_runtime_links_block")
                .table(RuntimeAgentBlocks::Table)
                .col(RuntimeAgentBlocks::BlockId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RuntimeMessages::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(RuntimeMessages::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(RuntimeMessages::AgentId)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RuntimeMessages::Role)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(RuntimeMessages::Content).text().not_null())
                .col(ColumnDef::new(RuntimeMessages::ToolCalls).text().null())
                .col(
                    ColumnDef::new(RuntimeMessages::ToolCallId)
                        .string_len(128)
                        .null(),
                )
                .col(
                    ColumnDef::new(RuntimeMessages::ToolName)
                        .string_len(128)
                        .null(),
                )
                .col(ts(RuntimeMessages::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_runtime_messages_agent")
                        .from(RuntimeMessages::Table, RuntimeMessages::AgentId)
                        .to(RuntimeAgents::Table, RuntimeAgents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_runtime_messages_agent")
                .table(RuntimeMessages::Table)
                .col(RuntimeMessages::AgentId)
                .col(RuntimeMessages::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RuntimePassages::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(RuntimePassages::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(RuntimePassages::AgentId)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(RuntimePassages::Content).text().not_null())
                .col(ColumnDef::new(RuntimePassages::Tags).text().not_null())
                .col(ts(RuntimePassages::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_runtime_passages_agent")
                        .from(RuntimePassages::Table, RuntimePassages::AgentId)
                        .to(RuntimeAgents::Table, RuntimeAgents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_runtime_passages_agent")
                .table(RuntimePassages::Table)
                .col(RuntimePassages::AgentId)
                .col(RuntimePassages::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RuntimePassages::Table.into_iden(),
            RuntimeMessages::Table.into_iden(),
            RuntimeAgentBlocks::Table.into_iden(),
            RuntimeBlocks::Table.into_iden(),
            RuntimeAgents::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
