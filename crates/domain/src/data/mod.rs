//! The customer's data sets: named, stored, imported from their files, one active per
//! deployment.
//!
//! [`DatasetRepo`] is the port (the store implements it over SQLite and PostgreSQL);
//! [`DataService`] runs imports over it from any [`RecordBatches`] source, atomically: rows are
//! staged under the import and swapped into the data set in one transaction at the end, so an
//! import that fails, is interrupted or is killed leaves the data set as it was.

pub mod records;
mod service;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldError, RepoError};

pub use records::{PatternsRow, PlaceRecord, Rejection, VisitRecord};
pub use service::{
    Batch, DataError, DataService, ImportOptions, ImportReport, ImportTick, RecordBatches, Rows,
};

/// The built-in synthetic data set: always there, the default, never imported into or dropped.
pub const BUILTIN: &str = "synthetic";

/// Rejections kept per import (the counts cover them all).
pub const KEPT_REJECTIONS: usize = 100;

/// A data set's name: 1–64 of `a-z`, `0-9`, `_`, `-`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DatasetName(String);

impl DatasetName {
    /// Checks a name; the error names the field `name`.
    pub fn parse(name: &str) -> Result<Self, FieldError> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(FieldError::new(
                "name",
                "a data set name is 1-64 characters of a-z, 0-9, _ and -, starting with a letter or digit",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the built-in set.
    pub fn is_builtin(&self) -> bool {
        self.0 == BUILTIN
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Places,
    Patterns,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Places => "places",
            Self::Patterns => "patterns",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "places" => Some(Self::Places),
            "patterns" => Some(Self::Patterns),
            _ => None,
        }
    }
}

/// The file an import reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFile {
    pub kind: ImportKind,
    /// `overture`, `foursquare`, `csv` or `patterns`.
    pub format: String,
    /// Its name (no directories).
    pub file_name: String,
    /// SHA-256 of its bytes, hex: the same file is imported once per data set.
    pub sha256: String,
    pub bytes: u64,
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Running,
    Done,
    /// Failed or interrupted: nothing of it reached the data set.
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Rows of an import so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    pub rows_read: u64,
    pub rows_imported: u64,
    pub rows_rejected: u64,
    /// The first [`KEPT_REJECTIONS`].
    pub rejections: Vec<Rejection>,
}

/// One import in a data set's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: Uuid,
    pub dataset: String,
    pub file: ImportFile,
    pub status: ImportStatus,
    #[serde(flatten)]
    pub counts: ImportCounts,
    /// Why it failed.
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ImportRecord {
    /// Milliseconds from start to finish (or to now while running).
    pub fn duration_ms(&self) -> i64 {
        (self.finished_at.unwrap_or_else(Utc::now) - self.started_at).num_milliseconds()
    }
}

/// What a data set covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub places: u64,
    /// Distinct brands.
    pub brands: u64,
    /// Distinct source categories.
    pub categories: u64,
    /// Distinct regions (states).
    pub regions: u64,
    /// Place-periods of visits.
    pub visit_rows: u64,
    /// First day with visits.
    pub first_day: Option<NaiveDate>,
    /// Last day with visits.
    pub last_day: Option<NaiveDate>,
}

/// A stored data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub name: String,
    pub coverage: Coverage,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How [`DatasetRepo::begin_import`] went.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// Stage rows under this import id.
    Started(Uuid),
    /// This file was imported into this data set already: nothing to do.
    AlreadyImported(Box<ImportRecord>),
}

/// The stored data sets and their imports.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DatasetRepo: Send + Sync {
    /// Every stored (imported) data set, by name.
    async fn datasets(&self) -> Result<Vec<DatasetInfo>, RepoError>;

    /// The active data set's name; `None` is the built-in one.
    async fn active(&self) -> Result<Option<String>, RepoError>;

    /// Makes `name` active (`None`: the built-in one); `false` when no such data set is stored.
    async fn set_active(&self, name: Option<String>) -> Result<bool, RepoError>;

    /// Deletes a data set, its rows and history; `false` when there was none. The built-in set
    /// becomes active if it was.
    async fn remove(&self, name: &str) -> Result<bool, RepoError>;

    /// Records a running import into `dataset` (created if new), or says the file is in it
    /// already. Imports left running by a killed process are marked failed and their staged
    /// rows deleted first.
    async fn begin_import(&self, dataset: &str, file: &ImportFile) -> Result<Begin, RepoError>;

    /// Stages places under a running import (not visible in the data set).
    async fn stage_places(&self, import: Uuid, rows: &[PlaceRecord]) -> Result<(), RepoError>;

    /// Stages Patterns rows (a place and its period's visits) under a running import.
    async fn stage_patterns(&self, import: Uuid, rows: &[PatternsRow]) -> Result<(), RepoError>;

    /// In one transaction: merges the staged rows into the data set (a place or period already
    /// there is replaced), recomputes its coverage, and records the import done.
    async fn commit_import(
        &self,
        import: Uuid,
        counts: &ImportCounts,
    ) -> Result<Coverage, RepoError>;

    /// Records a running import's counts so far (any replica can report its progress) and
    /// that it is alive.
    async fn record_progress(&self, import: Uuid, counts: &ImportCounts) -> Result<(), RepoError>;

    /// Deletes the staged rows and records the import failed with `error`.
    async fn abort_import(
        &self,
        import: Uuid,
        counts: &ImportCounts,
        error: &str,
    ) -> Result<(), RepoError>;

    /// The imports into `dataset`, newest first.
    async fn imports(&self, dataset: &str) -> Result<Vec<ImportRecord>, RepoError>;

    /// One import.
    async fn import(&self, id: Uuid) -> Result<Option<ImportRecord>, RepoError>;
}

/// A file received through the API, on disk, to import in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub dataset: String,
    pub kind: ImportKind,
    /// Places only: `overture`, `foursquare` or `csv`; told from the content when `None`.
    pub format: Option<String>,
    /// The name the client gave (no directories).
    pub file_name: String,
    /// Where the body was written, inside [`UploadImporter::upload_dir`].
    pub path: std::path::PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub options: ImportOptions,
}

/// Runs imports of uploaded files (the server reads them with its file readers).
#[async_trait]
pub trait UploadImporter: Send + Sync {
    /// Where uploads are written while they arrive and until their import ends.
    fn upload_dir(&self) -> std::path::PathBuf;

    /// The largest upload accepted, in bytes.
    fn max_upload_bytes(&self) -> u64;

    /// Records the import and runs it in the background, deleting the file when it ends; the
    /// report holds the running import, or the earlier one when the file is in the data set
    /// already. The file is deleted on every error too.
    async fn start(&self, upload: Upload) -> Result<ImportReport, DataError>;
}

/// A stored place with the visits of its data set's latest 365 days (for ranking and
/// `annual_visits`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPlace {
    pub record: PlaceRecord,
    pub recent_visits: u64,
}

/// What the analytics tools read of a stored data set: its places once (they are indexed in
/// memory), its visits per call.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DatasetReader: Send + Sync {
    /// The active data set's name and when it last changed (`None`: the built-in one).
    async fn active_version(&self) -> Result<Option<(String, DateTime<Utc>)>, RepoError>;

    /// A data set's coverage (default when it is not stored).
    async fn coverage(&self, dataset: &str) -> Result<Coverage, RepoError>;

    /// Up to `limit` places of a data set with their recent visits, by key, after `after`:
    /// a replica loads a set page by page, so its memory holds one page of rows at a time.
    async fn places(
        &self,
        dataset: &str,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<StoredPlace>, RepoError>;

    /// Every stored period of visits of these places, by key, with the fields asked.
    async fn visits(
        &self,
        dataset: &str,
        keys: &[String],
        fields: VisitFields,
    ) -> Result<Vec<(String, VisitRecord)>, RepoError>;

    /// The daily totals kept of these groups, as computed from the data set's `version`, by
    /// group (a group missing: none kept, or computed from another version).
    async fn group_days(
        &self,
        dataset: &str,
        version: DateTime<Utc>,
        groups: &[String],
    ) -> Result<Vec<(String, GroupDays)>, RepoError>;

    /// Keeps a group's daily totals, computed from `version`, for the next calls on every
    /// replica (replacing those of an older version).
    async fn keep_group_days(
        &self,
        dataset: &str,
        version: DateTime<Utc>,
        group: &str,
        days: &GroupDays,
    ) -> Result<(), RepoError>;
}

/// One day of a group of places' visits, summed: what a comparison reads of a chain or category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DayTotals {
    /// Visits on the day (`visits_by_day`).
    #[serde(rename = "v")]
    pub visits: u64,
    /// Each period's raw visitors in proportion to its visits on the day.
    #[serde(rename = "u", with = "f64_bits")]
    pub visitors: f64,
    /// Median dwell × raw visits in proportion, over periods with a median dwell.
    #[serde(rename = "d", with = "f64_bits")]
    pub dwell_weighted: f64,
    /// Raw visits in proportion, over periods with a median dwell.
    #[serde(rename = "w", with = "f64_bits")]
    pub dwell_weight: f64,
    /// Places with a period covering the day.
    #[serde(rename = "p")]
    pub places: u32,
}

/// An `f64` as its bits: kept totals read back exactly, so a comparison answers the same from
/// kept totals as from computed ones (a decimal may come back one unit in the last place off).
mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// A group's daily totals, one a day from `first_day` on (none: the group has no visits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupDays {
    pub first_day: Option<NaiveDate>,
    pub days: Vec<DayTotals>,
}

/// Which fields of stored visits a tool call reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitFields {
    /// Every field.
    All,
    /// Dates, visits, visitors, visits by day and the median dwell; hours, dwell buckets, home
    /// areas and related brands left empty (they are JSON to parse: comparisons of thousands of
    /// places do not need them).
    Counts,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kept totals come back bit for bit, whatever the float.
    #[test]
    fn group_days_read_back_exactly() {
        let odd = [0.1 + 0.2, 1.0 / 3.0, 5e-324, 123_456.789_012_345_67, -0.0];
        let days = GroupDays {
            first_day: NaiveDate::from_ymd_opt(2025, 6, 2),
            days: odd
                .iter()
                .enumerate()
                .map(|(n, f)| DayTotals {
                    visits: n as u64,
                    visitors: *f,
                    dwell_weighted: f * 7.0,
                    dwell_weight: f / 7.0,
                    places: 3,
                })
                .collect(),
        };
        let text = serde_json::to_string(&days).unwrap();
        let back: GroupDays = serde_json::from_str(&text).unwrap();
        for (a, b) in days.days.iter().zip(&back.days) {
            for (x, y) in [
                (a.visitors, b.visitors),
                (a.dwell_weighted, b.dwell_weighted),
                (a.dwell_weight, b.dwell_weight),
            ] {
                assert_eq!(x.to_bits(), y.to_bits(), "{x} came back as {y}");
            }
        }
        assert_eq!(back, days);
    }
}
