//! Imports and the active data set, over [`DatasetRepo`].

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::{
    Begin, Coverage, DatasetInfo, DatasetName, DatasetRepo, ImportCounts, ImportFile, ImportKind,
    ImportRecord, KEPT_REJECTIONS, PatternsRow, PlaceRecord, Rejection,
};
use crate::{FieldError, RepoError};

/// How often a running import's counts are written where every replica can read them.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Accepted rows of one batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Places(Vec<PlaceRecord>),
    Patterns(Vec<PatternsRow>),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Self::Places(r) => r.len(),
            Self::Patterns(r) => r.len(),
        }
    }

    fn kind(&self) -> ImportKind {
        match self {
            Self::Places(_) => ImportKind::Places,
            Self::Patterns(_) => ImportKind::Patterns,
        }
    }
}

/// Some rows of a file, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub rows: Rows,
    pub rejected: Vec<Rejection>,
}

/// A file being read, batch by batch (the reader runs off the async workers).
#[async_trait]
pub trait RecordBatches: Send {
    /// The next batch, `None` at the end, or why the file cannot be read further.
    async fn next_batch(&mut self) -> Option<Result<Batch, String>>;
}

/// How an import treats bad rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Stop (importing nothing) once more rows than this are rejected.
    pub max_errors: Option<u64>,
}

/// Progress after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportTick {
    pub import: Uuid,
    pub rows_read: u64,
    pub rows_imported: u64,
    pub rows_rejected: u64,
}

/// How an import ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// The import as recorded (for a file imported before: that earlier import).
    pub import: ImportRecord,
    /// The file was in the data set already; nothing was read.
    pub already_imported: bool,
    /// The data set's coverage after the import.
    pub coverage: Option<Coverage>,
}

/// Why a data-set operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}", .0.message)]
    Invalid(FieldError),
    #[error("the built-in data set `synthetic` cannot be imported into or dropped")]
    Builtin,
    #[error("no data set named `{0}`")]
    NotFound(String),
    #[error("a {found} file cannot be imported as {expected}")]
    WrongKind { expected: String, found: String },
    /// More rows were rejected than allowed: nothing was imported.
    #[error("stopped: more than {limit} rows rejected ({} of {} read); nothing was imported", .counts.rows_rejected, .counts.rows_read)]
    TooManyErrors { limit: u64, counts: ImportCounts },
    /// The file could not be read to its end: nothing was imported.
    #[error("{reason}; nothing was imported")]
    Unreadable {
        reason: String,
        counts: ImportCounts,
    },
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Data sets: list, activate, drop, import.
#[derive(Clone)]
pub struct DataService {
    repo: Arc<dyn DatasetRepo>,
}

impl std::fmt::Debug for DataService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataService").finish_non_exhaustive()
    }
}

impl DataService {
    pub fn new(repo: Arc<dyn DatasetRepo>) -> Self {
        Self { repo }
    }

    /// The stored data sets and the active one's name (`synthetic` when none is).
    pub async fn list(&self) -> Result<(String, Vec<DatasetInfo>), DataError> {
        let active = self.repo.active().await?;
        let sets = self.repo.datasets().await?;
        Ok((active.unwrap_or_else(|| super::BUILTIN.to_owned()), sets))
    }

    /// The active data set's name (`synthetic` when none is).
    pub async fn active(&self) -> Result<String, DataError> {
        Ok(self
            .repo
            .active()
            .await?
            .unwrap_or_else(|| super::BUILTIN.to_owned()))
    }

    /// Makes `name` the active data set for every replica.
    pub async fn activate(&self, name: &str) -> Result<(), DataError> {
        let name = DatasetName::parse(name).map_err(DataError::Invalid)?;
        let target = (!name.is_builtin()).then(|| name.as_str().to_owned());
        if self.repo.set_active(target).await? {
            Ok(())
        } else {
            Err(DataError::NotFound(name.to_string()))
        }
    }

    /// Deletes a stored data set.
    pub async fn remove(&self, name: &str) -> Result<(), DataError> {
        let name = DatasetName::parse(name).map_err(DataError::Invalid)?;
        if name.is_builtin() {
            return Err(DataError::Builtin);
        }
        if self.repo.remove(name.as_str()).await? {
            Ok(())
        } else {
            Err(DataError::NotFound(name.to_string()))
        }
    }

    /// A data set's imports, newest first.
    pub async fn imports(&self, name: &str) -> Result<Vec<ImportRecord>, DataError> {
        let name = DatasetName::parse(name).map_err(DataError::Invalid)?;
        Ok(self.repo.imports(name.as_str()).await?)
    }

    /// One import.
    pub async fn import_record(&self, id: Uuid) -> Result<Option<ImportRecord>, DataError> {
        Ok(self.repo.import(id).await?)
    }

    /// Imports a file into `dataset`: rows are staged as they are read and swapped in at the
    /// end; on any failure the staged rows are deleted and the data set is as it was.
    pub async fn import(
        &self,
        dataset: &str,
        file: &ImportFile,
        source: &mut dyn RecordBatches,
        options: ImportOptions,
        on_tick: &(dyn Fn(ImportTick) + Send + Sync),
    ) -> Result<ImportReport, DataError> {
        match self.begin(dataset, file).await? {
            Begin::AlreadyImported(previous) => Ok(ImportReport {
                import: *previous,
                already_imported: true,
                coverage: None,
            }),
            Begin::Started(id) => self.finish(id, file.kind, source, options, on_tick).await,
        }
    }

    /// Records a running import into `dataset` (the first half of [`Self::import`]), or finds
    /// the file imported already.
    pub async fn begin(&self, dataset: &str, file: &ImportFile) -> Result<Begin, DataError> {
        let name = DatasetName::parse(dataset).map_err(DataError::Invalid)?;
        if name.is_builtin() {
            return Err(DataError::Builtin);
        }
        Ok(self.repo.begin_import(name.as_str(), file).await?)
    }

    /// Reads `source` into the running import `id` and commits it, or records it failed (the
    /// second half of [`Self::import`]).
    pub async fn finish(
        &self,
        id: Uuid,
        kind: ImportKind,
        source: &mut dyn RecordBatches,
        options: ImportOptions,
        on_tick: &(dyn Fn(ImportTick) + Send + Sync),
    ) -> Result<ImportReport, DataError> {
        match self.run(id, kind, source, options, on_tick).await {
            Ok(counts) => {
                let coverage = match self.repo.commit_import(id, &counts).await {
                    Ok(coverage) => coverage,
                    Err(e) => {
                        // Nothing was committed: the import is failed now, not when it ages.
                        if let Err(abort) =
                            self.repo.abort_import(id, &counts, &e.to_string()).await
                        {
                            tracing::warn!(import = %id, error = %abort, "could not record a failed import");
                        }
                        return Err(e.into());
                    }
                };
                let import = self
                    .repo
                    .import(id)
                    .await?
                    .ok_or_else(|| RepoError(anyhow::anyhow!("import {id} vanished")))?;
                Ok(ImportReport {
                    import,
                    already_imported: false,
                    coverage: Some(coverage),
                })
            }
            Err((error, counts)) => {
                let message = error.to_string();
                if let Err(e) = self.repo.abort_import(id, &counts, &message).await {
                    // The staged rows stay until the next import clears them; the data set is
                    // untouched either way.
                    tracing::warn!(import = %id, error = %e, "could not record a failed import");
                }
                Err(error)
            }
        }
    }

    async fn run(
        &self,
        id: Uuid,
        kind: ImportKind,
        source: &mut dyn RecordBatches,
        options: ImportOptions,
        on_tick: &(dyn Fn(ImportTick) + Send + Sync),
    ) -> Result<ImportCounts, (DataError, ImportCounts)> {
        let mut counts = ImportCounts::default();
        let mut last_progress = std::time::Instant::now();
        while let Some(next) = source.next_batch().await {
            let batch = match next {
                Ok(batch) => batch,
                Err(reason) => {
                    let error = DataError::Unreadable {
                        reason,
                        counts: counts.clone(),
                    };
                    return Err((error, counts));
                }
            };
            if batch.rows.kind() != kind {
                let error = DataError::WrongKind {
                    expected: kind.as_str().to_owned(),
                    found: batch.rows.kind().as_str().to_owned(),
                };
                return Err((error, counts));
            }
            let accepted = batch.rows.len() as u64;
            counts.rows_read += accepted + batch.rejected.len() as u64;
            counts.rows_rejected += batch.rejected.len() as u64;
            let room = KEPT_REJECTIONS.saturating_sub(counts.rejections.len());
            counts
                .rejections
                .extend(batch.rejected.into_iter().take(room));
            if let Some(limit) = options.max_errors
                && counts.rows_rejected > limit
            {
                let error = DataError::TooManyErrors {
                    limit,
                    counts: counts.clone(),
                };
                return Err((error, counts));
            }
            let staged = match &batch.rows {
                Rows::Places(rows) if !rows.is_empty() => self.repo.stage_places(id, rows).await,
                Rows::Patterns(rows) if !rows.is_empty() => {
                    self.repo.stage_patterns(id, rows).await
                }
                _ => Ok(()),
            };
            if let Err(e) = staged {
                return Err((DataError::Repo(e), counts));
            }
            counts.rows_imported += accepted;
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = std::time::Instant::now();
                if let Err(e) = self.repo.record_progress(id, &counts).await {
                    return Err((DataError::Repo(e), counts));
                }
            }
            on_tick(ImportTick {
                import: id,
                rows_read: counts.rows_read,
                rows_imported: counts.rows_imported,
                rows_rejected: counts.rows_rejected,
            });
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ImportStatus, MockDatasetRepo};
    use std::collections::VecDeque;

    struct Scripted(VecDeque<Result<Batch, String>>);

    #[async_trait]
    impl RecordBatches for Scripted {
        async fn next_batch(&mut self) -> Option<Result<Batch, String>> {
            self.0.pop_front()
        }
    }

    fn place(key: &str) -> PlaceRecord {
        PlaceRecord {
            key: key.into(),
            name: key.into(),
            brand: None,
            category: None,
            sub_category: None,
            lat: 30.0,
            lon: -97.0,
            street: None,
            city: None,
            region: None,
            postcode: None,
            country: None,
            confidence: None,
            closed: false,
        }
    }

    fn rejection(line: u64) -> Rejection {
        Rejection {
            line,
            field: "latitude".into(),
            reason: "out of range".into(),
        }
    }

    fn file() -> ImportFile {
        ImportFile {
            kind: ImportKind::Places,
            format: "csv".into(),
            file_name: "places.csv".into(),
            sha256: "00".into(),
            bytes: 10,
        }
    }

    fn record(id: Uuid, counts: ImportCounts) -> ImportRecord {
        ImportRecord {
            id,
            dataset: "acme".into(),
            file: file(),
            status: ImportStatus::Done,
            counts,
            error: None,
            started_at: chrono::Utc::now(),
            finished_at: Some(chrono::Utc::now()),
        }
    }

    #[tokio::test]
    async fn rows_are_staged_then_committed_with_their_counts() {
        let id = Uuid::now_v7();
        let mut repo = MockDatasetRepo::new();
        repo.expect_begin_import()
            .returning(move |_, _| Ok(Begin::Started(id)));
        repo.expect_stage_places().times(2).returning(|_, _| Ok(()));
        repo.expect_commit_import()
            .withf(|_, c| c.rows_read == 4 && c.rows_imported == 3 && c.rows_rejected == 1)
            .times(1)
            .returning(|_, _| Ok(Coverage::default()));
        repo.expect_import()
            .returning(move |id| Ok(Some(record(id, ImportCounts::default()))));
        let mut source = Scripted(VecDeque::from([
            Ok(Batch {
                rows: Rows::Places(vec![place("a"), place("b")]),
                rejected: vec![rejection(3)],
            }),
            Ok(Batch {
                rows: Rows::Places(vec![place("c")]),
                rejected: vec![],
            }),
        ]));
        let service = DataService::new(Arc::new(repo));
        let report = service
            .import(
                "acme",
                &file(),
                &mut source,
                ImportOptions::default(),
                &|_| {},
            )
            .await
            .unwrap();
        assert!(!report.already_imported);
    }

    #[tokio::test]
    async fn too_many_rejections_abort_and_commit_nothing() {
        let id = Uuid::now_v7();
        let mut repo = MockDatasetRepo::new();
        repo.expect_begin_import()
            .returning(move |_, _| Ok(Begin::Started(id)));
        repo.expect_stage_places().returning(|_, _| Ok(()));
        repo.expect_commit_import().never();
        repo.expect_abort_import()
            .withf(|_, c, e| c.rows_rejected == 2 && e.contains("more than 1 rows rejected"))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut source = Scripted(VecDeque::from([
            Ok(Batch {
                rows: Rows::Places(vec![place("a")]),
                rejected: vec![rejection(2)],
            }),
            Ok(Batch {
                rows: Rows::Places(vec![]),
                rejected: vec![rejection(4)],
            }),
        ]));
        let service = DataService::new(Arc::new(repo));
        let options = ImportOptions {
            max_errors: Some(1),
        };
        let err = service
            .import("acme", &file(), &mut source, options, &|_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(err, DataError::TooManyErrors { limit: 1, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_unreadable_file_aborts_and_the_same_file_twice_reads_nothing() {
        let id = Uuid::now_v7();
        let mut repo = MockDatasetRepo::new();
        repo.expect_begin_import()
            .times(1)
            .returning(move |_, _| Ok(Begin::Started(id)));
        repo.expect_abort_import()
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut source = Scripted(VecDeque::from([Err("refused: a bomb".to_owned())]));
        let service = DataService::new(Arc::new(repo));
        let err = service
            .import(
                "acme",
                &file(),
                &mut source,
                ImportOptions::default(),
                &|_| {},
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("nothing was imported"), "{err}");

        let mut repo = MockDatasetRepo::new();
        repo.expect_begin_import().returning(move |_, _| {
            Ok(Begin::AlreadyImported(Box::new(record(
                id,
                ImportCounts::default(),
            ))))
        });
        repo.expect_stage_places().never();
        let mut source = Scripted(VecDeque::from([Err("must not be read".to_owned())]));
        let report = DataService::new(Arc::new(repo))
            .import(
                "acme",
                &file(),
                &mut source,
                ImportOptions::default(),
                &|_| {},
            )
            .await
            .unwrap();
        assert!(report.already_imported);
        assert_eq!(source.0.len(), 1, "the file was not read");
    }

    #[tokio::test]
    async fn a_failed_commit_records_the_import_failed_at_once() {
        let id = Uuid::now_v7();
        let mut repo = MockDatasetRepo::new();
        repo.expect_begin_import()
            .returning(move |_, _| Ok(Begin::Started(id)));
        repo.expect_stage_places().returning(|_, _| Ok(()));
        repo.expect_commit_import()
            .returning(|_, _| Err(RepoError(anyhow::anyhow!("import is no longer running"))));
        repo.expect_abort_import()
            .withf(|_, c, e| c.rows_imported == 1 && e.contains("no longer running"))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut source = Scripted(VecDeque::from([Ok(Batch {
            rows: Rows::Places(vec![place("a")]),
            rejected: vec![],
        })]));
        let err = DataService::new(Arc::new(repo))
            .import(
                "acme",
                &file(),
                &mut source,
                ImportOptions::default(),
                &|_| {},
            )
            .await
            .unwrap_err();
        assert!(matches!(err, DataError::Repo(_)), "{err}");
    }

    #[tokio::test]
    async fn the_builtin_set_and_bad_names_are_refused() {
        let service = DataService::new(Arc::new(MockDatasetRepo::new()));
        let mut source = Scripted(VecDeque::new());
        let err = service
            .import(
                "synthetic",
                &file(),
                &mut source,
                ImportOptions::default(),
                &|_| {},
            )
            .await
            .unwrap_err();
        assert!(matches!(err, DataError::Builtin));
        assert!(matches!(
            service.remove("synthetic").await,
            Err(DataError::Builtin)
        ));
        for bad in ["", "Acme", "a b", "-x", &"a".repeat(65), "a/b"] {
            assert!(
                matches!(service.activate(bad).await, Err(DataError::Invalid(_))),
                "{bad:?}"
            );
        }
    }
}
