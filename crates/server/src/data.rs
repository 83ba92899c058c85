//! `pi-server import places|patterns FILE --dataset NAME` and `pi-server dataset
//! list|activate|drop`: the customer's files into data sets, against the server's own database.
//!
//! The file is read on its own thread (`file_import`), with a progress bar on a terminal.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use pi_domain::data::{
    DataError, DataService, ImportFile, ImportKind, ImportOptions, ImportReport,
};
use pi_ingest::PlacesFormat;
use pi_store::SeaOrmDatasetRepo;
use sha2::{Digest, Sha256};

use crate::Settings;
use crate::file_import::{Bar, FileBatches};
use crate::startup::connect_and_migrate;

/// The server's database, migrated, and the data-set service over it (close `db` after).
async fn open(settings: &Settings) -> anyhow::Result<(pi_store::Database, DataService)> {
    let db = connect_and_migrate(settings).await?;
    let service = DataService::new(std::sync::Arc::new(SeaOrmDatasetRepo::new(db.clone())));
    Ok((db, service))
}

/// What `pi-server import` was asked.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub kind: ImportKind,
    pub path: PathBuf,
    pub dataset: String,
    /// Places only; told from the content when `None`.
    pub format: Option<PlacesFormat>,
    pub max_errors: Option<u64>,
}

/// Imports a file, reporting on `out`; the error says why nothing was imported.
///
/// # Errors
/// An unreadable or refused file, too many bad rows, an invalid data-set name, or an unusable
/// database.
pub async fn import(
    settings: &Settings,
    request: &ImportRequest,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<ImportReport> {
    let path = &request.path;
    let format = match request.kind {
        ImportKind::Patterns => None,
        ImportKind::Places => Some(match request.format {
            Some(f) => f,
            None => pi_ingest::detect_places_format(path)
                .with_context(|| format!("reading {}", path.display()))?,
        }),
    };
    let file = describe_file(path, request.kind, format)?;
    let (db, service) = open(settings).await?;
    let started = Instant::now();
    let mut source = FileBatches::spawn(path.clone(), request.kind, format, Bar::new())?;
    let result = service
        .import(
            &request.dataset,
            &file,
            &mut source,
            ImportOptions {
                max_errors: request.max_errors,
            },
            &|_| {},
        )
        .await;
    source.finish();
    db.close().await.context("closing the database")?;
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            if let DataError::TooManyErrors { counts, .. } | DataError::Unreadable { counts, .. } =
                &e
            {
                for r in counts.rejections.iter().take(20) {
                    writeln!(out, "  rejected {r}")?;
                }
            }
            return Err(anyhow::Error::new(e).context(format!(
                "importing {} into `{}`",
                file.file_name, request.dataset
            )));
        }
    };
    write_report(out, &request.dataset, &report, started.elapsed())?;
    Ok(report)
}

fn write_report(
    out: &mut (dyn Write + Send),
    dataset: &str,
    report: &ImportReport,
    elapsed: Duration,
) -> std::io::Result<()> {
    let import = &report.import;
    if report.already_imported {
        writeln!(
            out,
            "{} was imported into `{dataset}` already ({}, import {}): nothing to do",
            import.file.file_name,
            import.started_at.format("%Y-%m-%d %H:%M UTC"),
            import.id
        )?;
        return Ok(());
    }
    let counts = &import.counts;
    let secs = elapsed.as_secs_f64().max(0.001);
    writeln!(
        out,
        "imported {} of {} rows of {} into `{dataset}` ({} rejected) in {:.1} s, {:.0} rows/s",
        counts.rows_imported,
        counts.rows_read,
        import.file.file_name,
        counts.rows_rejected,
        secs,
        counts.rows_read as f64 / secs
    )?;
    for r in &counts.rejections {
        writeln!(out, "  rejected {r}")?;
    }
    if counts.rows_rejected > counts.rejections.len() as u64 {
        writeln!(
            out,
            "  … and {} more rejected rows",
            counts.rows_rejected - counts.rejections.len() as u64
        )?;
    }
    if let Some(c) = &report.coverage {
        let days = match (c.first_day, c.last_day) {
            (Some(a), Some(b)) => format!("{a} to {b}"),
            _ => "no visits".to_owned(),
        };
        writeln!(
            out,
            "`{dataset}` now has {} places, {} brands, {} categories, {} regions, {} visit periods ({days})",
            c.places, c.brands, c.categories, c.regions, c.visit_rows
        )?;
    }
    Ok(())
}

/// Name, size and SHA-256 of the file (one pass before reading it: the same file is imported
/// once per data set).
fn describe_file(
    path: &Path,
    kind: ImportKind,
    format: Option<PlacesFormat>,
) -> anyhow::Result<ImportFile> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(ImportFile {
        kind,
        format: format.map_or("patterns", PlacesFormat::as_str).to_owned(),
        file_name: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        sha256: format!("{:x}", hasher.finalize()),
        bytes,
    })
}

/// `pi-server dataset list`: every data set, its coverage, and which is active.
///
/// # Errors
/// An unusable database.
pub async fn list(settings: &Settings, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let (db, service) = open(settings).await?;
    let listed = service.list().await;
    db.close().await.context("closing the database")?;
    let (active, sets) = listed?;
    let mark = |name: &str| if name == active { "*" } else { " " };
    writeln!(
        out,
        "{} synthetic  (built in: synthetic places and visits on real US geography)",
        mark("synthetic")
    )?;
    for set in sets {
        let c = &set.coverage;
        let days = match (c.first_day, c.last_day) {
            (Some(a), Some(b)) => format!("{a} to {b}"),
            _ => "no visits".to_owned(),
        };
        writeln!(
            out,
            "{} {}  {} places, {} brands, {} categories, {} regions, {} visit periods ({days}); updated {}",
            mark(&set.name),
            set.name,
            c.places,
            c.brands,
            c.categories,
            c.regions,
            c.visit_rows,
            set.updated_at.format("%Y-%m-%d %H:%M UTC")
        )?;
    }
    Ok(())
}

/// `pi-server dataset activate NAME`: every replica answers from `NAME`.
///
/// # Errors
/// An unknown or invalid name, or an unusable database.
pub async fn activate(
    settings: &Settings,
    name: &str,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let (db, service) = open(settings).await?;
    let result = service.activate(name).await;
    db.close().await.context("closing the database")?;
    result?;
    writeln!(out, "`{name}` is the active data set")?;
    Ok(())
}

/// `pi-server dataset drop NAME`: deletes a stored data set and its history.
///
/// # Errors
/// An unknown, invalid or built-in name, or an unusable database.
pub async fn remove(
    settings: &Settings,
    name: &str,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let (db, service) = open(settings).await?;
    let result = service.remove(name).await;
    db.close().await.context("closing the database")?;
    result?;
    writeln!(out, "`{name}` was dropped")?;
    Ok(())
}

/// What `pi-server export patterns` was asked.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Only `synthetic` (the built-in set) for now.
    pub dataset: String,
    pub out: PathBuf,
    /// First and last day; whole weeks (Monday to Sunday) inside them are written.
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
}

/// Writes the built-in data set as a Weekly Patterns file (gzip when `out` ends in `.gz`);
/// returns the rows written.
///
/// # Errors
/// Another data set than `synthetic`, or an unwritable file.
pub fn export_patterns(
    settings: &Settings,
    request: &ExportRequest,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    if request.dataset != pi_domain::data::BUILTIN {
        anyhow::bail!(
            "only the built-in data set `synthetic` can be exported (asked `{}`)",
            request.dataset
        );
    }
    let started = Instant::now();
    let data =
        pi_places::Dataset::build(crate::tools::places_scale(settings), settings.places_seed);
    let weeks = pi_places::export::weeks(request.from, request.to);
    if weeks.is_empty() {
        anyhow::bail!("no whole week between {} and {}", request.from, request.to);
    }
    let file = std::fs::File::create(&request.out)
        .with_context(|| format!("creating {}", request.out.display()))?;
    let buffered = std::io::BufWriter::with_capacity(1 << 20, file);
    let rows = if request.out.extension().is_some_and(|e| e == "gz") {
        let gz = flate2::write::GzEncoder::new(buffered, flate2::Compression::fast());
        let (gz, rows) = write_rows(gz, &data, &weeks)?;
        gz.finish()?.flush()?;
        rows
    } else {
        let (mut plain, rows) = write_rows(buffered, &data, &weeks)?;
        plain.flush()?;
        rows
    };
    writeln!(
        out,
        "wrote {rows} rows ({} places × {} weeks) to {} in {:.1} s",
        data.pois.len(),
        weeks.len(),
        request.out.display(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(rows)
}

/// Writes the built-in data set's places as Overture Places GeoParquet (`placekey`s of the
/// Patterns export are their ids, so the two files join); returns the places written.
///
/// # Errors
/// Another data set than `synthetic`, or an unwritable file.
pub fn export_places(
    settings: &Settings,
    dataset: &str,
    path: &Path,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    if dataset != pi_domain::data::BUILTIN {
        anyhow::bail!("only the built-in data set `synthetic` can be exported (asked `{dataset}`)");
    }
    let started = Instant::now();
    let data =
        pi_places::Dataset::build(crate::tools::places_scale(settings), settings.places_seed);
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = pi_ingest::write::OverturePlacesWriter::new(
        std::io::BufWriter::with_capacity(1 << 20, file),
    )?;
    for index in 0..data.pois.len() as u32 {
        writer.write(pi_places::export::place_record(&data, index))?;
    }
    let (mut sink, rows) = writer.finish()?;
    sink.flush()?;
    writeln!(
        out,
        "wrote {rows} places as Overture Places GeoParquet to {} in {:.1} s",
        path.display(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(rows)
}

/// Every place's weeks, place by place.
fn write_rows<W: Write>(
    sink: W,
    data: &pi_places::Dataset,
    weeks: &[chrono::NaiveDate],
) -> std::io::Result<(W, u64)> {
    let mut writer = pi_ingest::write::PatternsWriter::new(sink)?;
    for index in 0..data.pois.len() as u32 {
        for monday in weeks {
            writer.write(&pi_places::export::week_row(data, index, *monday))?;
        }
    }
    writer.finish()
}
