//! Files read on their own thread into a data set: the reader behind `pi-server import` and
//! behind uploads to `POST /datasets/{name}/imports` ([`Uploads`]).
//!
//! The file is read in batches passed through a channel of a few batches: memory stays bounded
//! whatever the file's size. A progress bar with rows/s and ETA is drawn on a terminal; elsewhere
//! a plain line every few seconds; uploads report progress in their import's record instead.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pi_domain::data::{
    Batch, Begin, DataError, DataService, ImportCounts, ImportFile, ImportKind, ImportReport,
    RecordBatches, Rows, Upload, UploadImporter,
};
use pi_ingest::{IngestError, Item, Limits, PatternsReader, PlacesFormat, PlacesReader, Progress};
use tokio::sync::mpsc;

/// Rows per batch handed from the reader thread to the database.
const BATCH_ROWS: usize = 2000;
/// Batches in flight between the reader and the database.
const BATCHES_IN_FLIGHT: usize = 4;
/// Plain progress lines, when not on a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// What the reader thread sends: batches, then the end of the file or why reading stopped. A
/// channel that closes without either means the thread died: the import must fail, not commit
/// what it had.
enum Sent {
    Batch(Batch, Progress),
    End,
    Failed(String),
}

/// A file read on its own thread, batch by batch.
pub(crate) struct FileBatches {
    rx: mpsc::Receiver<Sent>,
    bar: Bar,
}

impl FileBatches {
    pub(crate) fn spawn(
        path: PathBuf,
        kind: ImportKind,
        format: Option<PlacesFormat>,
        bar: Bar,
    ) -> anyhow::Result<Self> {
        let (tx, rx) = mpsc::channel::<Sent>(BATCHES_IN_FLIGHT);
        std::thread::Builder::new()
            .name("import-reader".into())
            .spawn(move || {
                let limits = Limits::default();
                let read = || match (kind, format) {
                    (ImportKind::Patterns, _) => match PatternsReader::open(&path, limits) {
                        Ok(reader) => pump(reader, &tx, Rows::Patterns, PatternsReader::progress),
                        Err(e) => Err(e),
                    },
                    (ImportKind::Places, format) => {
                        match PlacesReader::open(&path, format.unwrap_or(PlacesFormat::Csv), limits)
                        {
                            Ok(reader) => pump(reader, &tx, Rows::Places, PlacesReader::progress),
                            Err(e) => Err(e),
                        }
                    }
                };
                let last = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
                    Ok(Ok(())) => Sent::End,
                    Ok(Err(e)) => Sent::Failed(e.to_string()),
                    Err(_) => Sent::Failed("the file reader failed on this file".into()),
                };
                // The receiver may be gone (the import stopped first): nothing to tell.
                let _ = tx.blocking_send(last);
            })
            .context("starting the reader thread")?;
        Ok(Self { rx, bar })
    }

    pub(crate) fn finish(&self) {
        self.bar.finish();
    }
}

/// Reads `reader` to its end in batches; stops quietly when the receiver is gone.
fn pump<R, T>(
    mut reader: R,
    tx: &mpsc::Sender<Sent>,
    wrap: fn(Vec<T>) -> Rows,
    progress: fn(&R) -> Progress,
) -> Result<(), IngestError>
where
    R: Iterator<Item = Result<Item<T>, IngestError>>,
{
    loop {
        let mut rows = Vec::with_capacity(BATCH_ROWS);
        let mut rejected = Vec::new();
        let mut ended = true;
        for item in reader.by_ref() {
            match item? {
                Item::Row(row) => rows.push(row),
                Item::Rejected(r) => rejected.push(r),
            }
            if rows.len() + rejected.len() >= BATCH_ROWS {
                ended = false;
                break;
            }
        }
        if !rows.is_empty() || !rejected.is_empty() {
            let batch = Batch {
                rows: wrap(rows),
                rejected,
            };
            if tx
                .blocking_send(Sent::Batch(batch, progress(&reader)))
                .is_err()
            {
                return Ok(());
            }
        }
        if ended {
            return Ok(());
        }
    }
}

#[async_trait]
impl RecordBatches for FileBatches {
    async fn next_batch(&mut self) -> Option<Result<Batch, String>> {
        match self.rx.recv().await {
            Some(Sent::Batch(batch, progress)) => {
                self.bar.update(progress);
                Some(Ok(batch))
            }
            Some(Sent::End) => None,
            Some(Sent::Failed(e)) => Some(Err(e)),
            None => Some(Err(
                "the file reader stopped before the end of the file".into()
            )),
        }
    }
}

/// Progress: a bar on a terminal, plain periodic lines elsewhere, or nothing (uploads report
/// their progress in the import's record).
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    quiet: bool,
}

impl Bar {
    fn hidden() -> Self {
        Self {
            bar: None,
            started: Instant::now(),
            last_line: Instant::now(),
            quiet: true,
        }
    }

    pub(crate) fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} (ETA {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            last_line: Instant::now(),
            quiet: false,
        }
    }

    fn update(&mut self, p: Progress) {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = p.rows as f64 / secs;
        // Parquet tells its rows; CSV its bytes.
        let (position, length) = match p.total_rows {
            Some(total) => (p.rows, total),
            None => (p.bytes, p.total_bytes.max(1)),
        };
        match &self.bar {
            Some(bar) => {
                bar.set_length(length);
                bar.set_position(position.min(length));
                bar.set_message(format!("{} rows, {rate:.0} rows/s", p.rows));
            }
            None if self.quiet => {}
            None => {
                if self.last_line.elapsed() >= PLAIN_EVERY {
                    self.last_line = Instant::now();
                    let pct = 100.0 * position as f64 / length as f64;
                    eprintln!(
                        "import: {} rows read ({pct:.1} %), {rate:.0} rows/s",
                        p.rows
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Uploads older than this in the upload directory were left by a process that stopped: they
/// are deleted at start-up.
const STALE_UPLOAD: Duration = Duration::from_secs(24 * 3600);

/// Imports of files uploaded through the API (`POST /datasets/{name}/imports`), each run in
/// the background on this replica; its progress is in the import's record, which every replica
/// reads.
#[derive(Debug)]
pub struct Uploads {
    service: DataService,
    dir: PathBuf,
    max_bytes: u64,
}

impl Uploads {
    /// Creates `dir` if needed and deletes the uploads a stopped process left there.
    ///
    /// # Errors
    /// When `dir` cannot be created.
    pub fn new(service: DataService, dir: PathBuf, max_bytes: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the upload directory {}", dir.display()))?;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age > STALE_UPLOAD);
                let ours = entry.file_name().to_string_lossy().ends_with(".upload");
                if old && ours {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(Self {
            service,
            dir,
            max_bytes,
        })
    }

    async fn try_start(&self, upload: &Upload) -> Result<ImportReport, DataError> {
        let unreadable = |reason: String| DataError::Unreadable {
            reason,
            counts: ImportCounts::default(),
        };
        let format = match upload.kind {
            ImportKind::Patterns => None,
            ImportKind::Places => Some(match upload.format.as_deref() {
                Some(f) => PlacesFormat::parse(f)
                    .ok_or_else(|| unreadable(format!("unknown places format `{f}`")))?,
                None => {
                    let path = upload.path.clone();
                    tokio::task::spawn_blocking(move || pi_ingest::detect_places_format(&path))
                        .await
                        .map_err(|_| unreadable("the file reader failed on this file".into()))?
                        .map_err(|e| unreadable(e.to_string()))?
                }
            }),
        };
        let file = ImportFile {
            kind: upload.kind,
            format: format.map_or("patterns", PlacesFormat::as_str).to_owned(),
            file_name: upload.file_name.clone(),
            sha256: upload.sha256.clone(),
            bytes: upload.bytes,
        };
        // Reading starts now; if the file was imported already, dropping the source stops it.
        let mut source =
            FileBatches::spawn(upload.path.clone(), upload.kind, format, Bar::hidden())
                .map_err(|e| unreadable(format!("{e:#}")))?;
        let id = match self.service.begin(&upload.dataset, &file).await? {
            Begin::AlreadyImported(previous) => {
                return Ok(ImportReport {
                    import: *previous,
                    already_imported: true,
                    coverage: None,
                });
            }
            Begin::Started(id) => id,
        };
        let service = self.service.clone();
        let (kind, options, path) = (upload.kind, upload.options, upload.path.clone());
        let dataset = upload.dataset.clone();
        tokio::spawn(async move {
            let result = service
                .finish(id, kind, &mut source, options, &|_| {})
                .await;
            remove_upload(&path);
            match result {
                Ok(report) => tracing::info!(
                    import = %id, dataset = %dataset,
                    rows_read = report.import.counts.rows_read,
                    rows_imported = report.import.counts.rows_imported,
                    rows_rejected = report.import.counts.rows_rejected,
                    "upload imported"
                ),
                Err(e) => {
                    tracing::warn!(import = %id, dataset = %dataset, error = %e, "upload import failed")
                }
            }
        });
        let import = self
            .service
            .import_record(id)
            .await?
            .ok_or_else(|| unreadable(format!("import {id} vanished")))?;
        Ok(ImportReport {
            import,
            already_imported: false,
            coverage: None,
        })
    }
}

fn remove_upload(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not delete an upload");
    }
}

#[async_trait]
impl UploadImporter for Uploads {
    fn upload_dir(&self) -> PathBuf {
        self.dir.clone()
    }

    fn max_upload_bytes(&self) -> u64 {
        self.max_bytes
    }

    async fn start(&self, upload: Upload) -> Result<ImportReport, DataError> {
        let result = self.try_start(&upload).await;
        if !matches!(&result, Ok(report) if !report.already_imported) {
            remove_upload(&upload.path);
        }
        result
    }
}
