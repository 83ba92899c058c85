//! The customer's data sets (issue 32): `datasets` (name and coverage), `dataset_places`,
//! `dataset_visits` (one row per place and period, as Patterns publishes them),
//! `dataset_imports` (history) and `active_dataset` (the one the tools answer from, for every
//! replica). An import stages its rows under the key `~<import id>` in the same tables and
//! merges them into the data set in one transaction when it ends.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum Datasets {
    Table,
    Name,
    Places,
    Brands,
    Categories,
    Regions,
    VisitRows,
    FirstDay,
    LastDay,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden)]
enum DatasetPlaces {
    Table,
    Dataset,
    PlaceKey,
    Name,
    Brand,
    Category,
    SubCategory,
    Lat,
    Lon,
    Street,
    City,
    Region,
    Postcode,
    Country,
    Confidence,
    Closed,
}

#[derive(Iden)]
enum DatasetVisits {
    Table,
    Dataset,
    PlaceKey,
    PeriodStart,
    PeriodEnd,
    RawVisits,
    RawVisitors,
    VisitsByDay,
    VisitsByHour,
    MedianDwell,
    DwellBuckets,
    HomeAreas,
    RelatedBrands,
    DistanceFromHome,
}

#[derive(Iden)]
enum DatasetImports {
    Table,
    Id,
    Dataset,
    Kind,
    Format,
    FileName,
    FileSha256,
    FileBytes,
    Status,
    RowsRead,
    RowsImported,
    RowsRejected,
    Rejections,
    Error,
    StartedAt,
    HeartbeatAt,
    FinishedAt,
}

#[derive(Iden)]
enum ActiveDataset {
    Table,
    Singleton,
    Name,
    ChangedAt,
}

fn text(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).text().not_null().to_owned()
}

fn opt_text(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).text().null().to_owned()
}

fn count(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Datasets::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Datasets::Name)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(count(Datasets::Places))
                .col(count(Datasets::Brands))
                .col(count(Datasets::Categories))
                .col(count(Datasets::Regions))
                .col(count(Datasets::VisitRows))
                // YYYY-MM-DD: the same text on both engines, ordered as dates.
                .col(opt_text(Datasets::FirstDay))
                .col(opt_text(Datasets::LastDay))
                // Unix milliseconds.
                .col(ColumnDef::new(Datasets::CreatedAt).big_integer().not_null())
                .col(ColumnDef::new(Datasets::UpdatedAt).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DatasetPlaces::Table)
                .if_not_exists()
                .col(text(DatasetPlaces::Dataset))
                .col(text(DatasetPlaces::PlaceKey))
                .col(text(DatasetPlaces::Name))
                .col(opt_text(DatasetPlaces::Brand))
                .col(opt_text(DatasetPlaces::Category))
                .col(opt_text(DatasetPlaces::SubCategory))
                .col(ColumnDef::new(DatasetPlaces::Lat).double().not_null())
                .col(ColumnDef::new(DatasetPlaces::Lon).double().not_null())
                .col(opt_text(DatasetPlaces::Street))
                .col(opt_text(DatasetPlaces::City))
                .col(opt_text(DatasetPlaces::Region))
                .col(opt_text(DatasetPlaces::Postcode))
                .col(opt_text(DatasetPlaces::Country))
                .col(ColumnDef::new(DatasetPlaces::Confidence).double().null())
                .col(
                    ColumnDef::new(DatasetPlaces::Closed)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .primary_key(
                    Index::create()
                        .col(DatasetPlaces::Dataset)
                        .col(DatasetPlaces::PlaceKey),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DatasetVisits::Table)
                .if_not_exists()
                .col(text(DatasetVisits::Dataset))
                .col(text(DatasetVisits::PlaceKey))
                .col(text(DatasetVisits::PeriodStart))
                .col(text(DatasetVisits::PeriodEnd))
                .col(
                    ColumnDef::new(DatasetVisits::RawVisits)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DatasetVisits::RawVisitors)
                        .big_integer()
                        .null(),
                )
                // JSON text: the file's arrays and objects, checked on import.
                .col(text(DatasetVisits::VisitsByDay))
                .col(opt_text(DatasetVisits::VisitsByHour))
                .col(ColumnDef::new(DatasetVisits::MedianDwell).double().null())
                .col(opt_text(DatasetVisits::DwellBuckets))
                .col(opt_text(DatasetVisits::HomeAreas))
                .col(opt_text(DatasetVisits::RelatedBrands))
                .col(
                    ColumnDef::new(DatasetVisits::DistanceFromHome)
                        .double()
                        .null(),
                )
                // A place's series is read by (dataset, place_key, period range).
                .primary_key(
                    Index::create()
                        .col(DatasetVisits::Dataset)
                        .col(DatasetVisits::PlaceKey)
                        .col(DatasetVisits::PeriodStart),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DatasetImports::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(DatasetImports::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(DatasetImports::Dataset)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DatasetImports::Kind)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DatasetImports::Format)
                        .string_len(16)
                        .not_null(),
                )
                .col(text(DatasetImports::FileName))
                .col(
                    ColumnDef::new(DatasetImports::FileSha256)
                        .string_len(64)
                        .not_null(),
                )
                .col(count(DatasetImports::FileBytes))
                // running | done | failed
                .col(
                    ColumnDef::new(DatasetImports::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(count(DatasetImports::RowsRead))
                .col(count(DatasetImports::RowsImported))
                .col(count(DatasetImports::RowsRejected))
                // JSON: the first rejections, with line, field and reason.
                .col(opt_text(DatasetImports::Rejections))
                .col(opt_text(DatasetImports::Error))
                .col(
                    ColumnDef::new(DatasetImports::StartedAt)
                        .big_integer()
                        .not_null(),
                )
                // Bumped with every staged batch: an old one is a killed import.
                .col(
                    ColumnDef::new(DatasetImports::HeartbeatAt)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DatasetImports::FinishedAt)
                        .big_integer()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_dataset_imports_dataset")
                .table(DatasetImports::Table)
                .col(DatasetImports::Dataset)
                .col(DatasetImports::StartedAt)
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ActiveDataset::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(ActiveDataset::Singleton)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                // NULL: the built-in synthetic set.
                .col(ColumnDef::new(ActiveDataset::Name).string_len(64).null())
                .col(
                    ColumnDef::new(ActiveDataset::ChangedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ActiveDataset::Table.into_iden(),
            DatasetImports::Table.into_iden(),
            DatasetVisits::Table.into_iden(),
            DatasetPlaces::Table.into_iden(),
            Datasets::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
