//! `DatasetRepo` over `datasets`, `dataset_places`, `dataset_visits`, `dataset_imports` and
//! `active_dataset` (migration 11). An import stages rows under the key `~<import id>` (a data
//! set name never starts with `~`) with one multi-row statement per batch, and
//! [`DatasetRepo::commit_import`] merges them into the data set in one transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use pi_domain::RepoError;
use pi_domain::data::{
    Begin, Coverage, DatasetInfo, DatasetReader, DatasetRepo, GroupDays, ImportCounts, ImportFile,
    ImportKind, ImportRecord, ImportStatus, PatternsRow, PlaceRecord, Rejection, StoredPlace,
    VisitFields, VisitRecord,
};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, TransactionTrait, Value};
use uuid::Uuid;

use crate::db::{Database, repo_err};
use crate::json_cells::{json, nonempty_json};

/// An import whose heartbeat is older than this was killed: its staged rows are deleted.
const STALE_IMPORT_MS: i64 = 10 * 60 * 1000;

/// Rows per staging statement (SQLite allows 32,766 bound values; PostgreSQL 65,535).
const PLACES_PER_STATEMENT: usize = 1000;
const VISITS_PER_STATEMENT: usize = 1000;

const PLACE_COLUMNS: &str = "dataset, place_key, name, brand, category, sub_category, lat, lon, \
     street, city, region, postcode, country, confidence, closed";
/// The columns of [`VisitFields::Counts`].
const COUNT_COLUMNS: &str = "place_key, period_start, period_end, raw_visits, raw_visitors, \
     visits_by_day, median_dwell";
const VISIT_COLUMNS: &str = "dataset, place_key, period_start, period_end, raw_visits, \
     raw_visitors, visits_by_day, visits_by_hour, median_dwell, dwell_buckets, home_areas, \
     related_brands, distance_from_home";
const IMPORT_COLUMNS: &str = "id, dataset, kind, format, file_name, file_sha256, file_bytes, \
     status, rows_read, rows_imported, rows_rejected, rejections, error, started_at, finished_at";

/// The data sets of one database.
#[derive(Debug, Clone)]
pub struct SeaOrmDatasetRepo {
    db: Database,
}

impl SeaOrmDatasetRepo {
    /// A repository on `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.connection().get_database_backend()
    }

    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.backend(), sql, values)
    }

    async fn execute(
        &self,
        sql: &str,
        values: Vec<Value>,
        context: &'static str,
    ) -> Result<u64, RepoError> {
        self.db
            .connection()
            .execute_raw(self.statement(sql, values))
            .await
            .map(|r| r.rows_affected())
            .map_err(repo_err(context))
    }

    /// Takes a data set's PostgreSQL lock for the rest of `txn` (its commits and its drop).
    async fn lock_dataset(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        dataset: &str,
        context: &'static str,
    ) -> Result<(), RepoError> {
        txn.execute_raw(self.statement(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            vec![format!("pi-dataset:{dataset}").into()],
        ))
        .await
        .map(drop)
        .map_err(repo_err(context))
    }

    async fn running_stage(&self, import: Uuid) -> Result<String, RepoError> {
        let row = self
            .db
            .connection()
            .query_one_raw(self.statement(
                "SELECT status FROM dataset_imports WHERE id = $1",
                vec![import.into()],
            ))
            .await
            .map_err(repo_err("failed to read an import"))?;
        let status: Option<String> = row
            .map(|r| r.try_get("", "status"))
            .transpose()
            .map_err(repo_err("failed to read an import"))?;
        match status.as_deref() {
            Some("running") => Ok(stage_key(import)),
            Some(other) => Err(RepoError(anyhow::anyhow!(
                "import {import} is {other}, not running"
            ))),
            None => Err(RepoError(anyhow::anyhow!("no import {import}"))),
        }
    }

    async fn heartbeat(&self, import: Uuid) -> Result<(), RepoError> {
        self.execute(
            "UPDATE dataset_imports SET heartbeat_at = $1 WHERE id = $2",
            vec![now_ms().into(), import.into()],
            "failed to record import progress",
        )
        .await
        .map(drop)
    }

    async fn insert_places(&self, stage: &str, rows: &[&PlaceRecord]) -> Result<(), RepoError> {
        for chunk in rows.chunks(PLACES_PER_STATEMENT) {
            let mut values = Vec::with_capacity(chunk.len() * 15);
            for p in chunk {
                values.extend(place_values(stage, p));
            }
            let sql = format!(
                "INSERT INTO dataset_places ({PLACE_COLUMNS}) VALUES {} \
                 ON CONFLICT (dataset, place_key) DO UPDATE SET {}",
                placeholders(self.backend(), chunk.len(), 15),
                updates(PLACE_COLUMNS, 2)
            );
            self.execute(&sql, values, "failed to stage places").await?;
        }
        Ok(())
    }

    /// Deletes an import's staged rows.
    async fn discard(&self, import: Uuid) -> Result<(), RepoError> {
        if self.backend() == DbBackend::Postgres {
            return crate::pg_stage::discard(self.db.connection(), import).await;
        }
        let stage = stage_key(import);
        for table in ["dataset_visits", "dataset_places"] {
            self.execute(
                &format!("DELETE FROM {table} WHERE dataset = $1"),
                vec![stage.clone().into()],
                "failed to discard staged rows",
            )
            .await?;
        }
        Ok(())
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Where an import's rows wait.
fn stage_key(import: Uuid) -> String {
    format!("~{import}")
}

/// `($1, $2, …), (…)` for `rows` rows of `width` values; `(?, ?, …)` on SQLite, which looks a
/// `$n` name up among all the statement's names for each value bound (quadratic in the values:
/// 0.8 s for 1,000 places).
fn placeholders(backend: DbBackend, rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            if backend == DbBackend::Sqlite {
                out.push('?');
            } else {
                out.push('$');
                out.push_str(&(r * width + c + 1).to_string());
            }
        }
        out.push(')');
    }
    out
}

/// `col = excluded.col, …` for every column after the first `key_columns`.
fn updates(columns: &str, key_columns: usize) -> String {
    columns
        .split(',')
        .map(str::trim)
        .skip(key_columns)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn place_values(dataset: &str, p: &PlaceRecord) -> [Value; 15] {
    [
        dataset.to_owned().into(),
        p.key.clone().into(),
        p.name.clone().into(),
        p.brand.clone().into(),
        p.category.clone().into(),
        p.sub_category.clone().into(),
        p.lat.into(),
        p.lon.into(),
        p.street.clone().into(),
        p.city.clone().into(),
        p.region.clone().into(),
        p.postcode.clone().into(),
        p.country.clone().into(),
        p.confidence.into(),
        p.closed.into(),
    ]
}

fn visit_values(dataset: &str, row: &PatternsRow) -> [Value; 13] {
    let v = &row.visits;
    [
        dataset.to_owned().into(),
        row.place.key.clone().into(),
        v.start.to_string().into(),
        v.end.to_string().into(),
        (v.raw_visits as i64).into(),
        v.raw_visitors.map(|n| n as i64).into(),
        json(&v.visits_by_day).unwrap_or_else(|| "[]".into()).into(),
        v.visits_by_hour.as_ref().and_then(json).into(),
        v.median_dwell.into(),
        nonempty_json(&v.dwell_buckets).into(),
        nonempty_json(&v.home_areas).into(),
        nonempty_json(&v.related_brands).into(),
        v.distance_from_home.into(),
    ]
}

fn read_err(context: &'static str) -> impl Fn(sea_orm::DbErr) -> RepoError {
    move |e| repo_err(context)(e)
}

fn import_record(row: &QueryResult) -> Result<ImportRecord, RepoError> {
    let read = read_err("failed to read an import");
    let kind: String = row.try_get("", "kind").map_err(&read)?;
    let status: String = row.try_get("", "status").map_err(&read)?;
    let rejections: Option<String> = row.try_get("", "rejections").map_err(&read)?;
    let rejections: Vec<Rejection> = rejections
        .map(|j| serde_json::from_str(&j))
        .transpose()
        .map_err(|e| {
            RepoError(anyhow::Error::new(e).context("stored rejections are not readable"))
        })?
        .unwrap_or_default();
    let count = |name: &str| -> Result<u64, RepoError> {
        row.try_get::<i64>("", name)
            .map(|n| n.max(0) as u64)
            .map_err(&read)
    };
    Ok(ImportRecord {
        id: row.try_get("", "id").map_err(&read)?,
        dataset: row.try_get("", "dataset").map_err(&read)?,
        file: ImportFile {
            kind: ImportKind::parse(&kind)
                .ok_or_else(|| RepoError(anyhow::anyhow!("unknown import kind {kind:?}")))?,
            format: row.try_get("", "format").map_err(&read)?,
            file_name: row.try_get("", "file_name").map_err(&read)?,
            sha256: row.try_get("", "file_sha256").map_err(&read)?,
            bytes: count("file_bytes")?,
        },
        status: ImportStatus::parse(&status)
            .ok_or_else(|| RepoError(anyhow::anyhow!("unknown import status {status:?}")))?,
        counts: ImportCounts {
            rows_read: count("rows_read")?,
            rows_imported: count("rows_imported")?,
            rows_rejected: count("rows_rejected")?,
            rejections,
        },
        error: row.try_get("", "error").map_err(&read)?,
        started_at: from_ms(row.try_get("", "started_at").map_err(&read)?),
        finished_at: row
            .try_get::<Option<i64>>("", "finished_at")
            .map_err(&read)?
            .map(from_ms),
    })
}

fn day(text: Option<String>) -> Option<NaiveDate> {
    text.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
}

#[async_trait]
impl DatasetRepo for SeaOrmDatasetRepo {
    async fn datasets(&self) -> Result<Vec<DatasetInfo>, RepoError> {
        let rows = self
            .db
            .connection()
            .query_all_raw(self.statement(
                "SELECT name, places, brands, categories, regions, visit_rows, first_day, \
                 last_day, created_at, updated_at FROM datasets ORDER BY name",
                vec![],
            ))
            .await
            .map_err(repo_err("failed to list data sets"))?;
        let read = read_err("failed to read a data set");
        rows.iter()
            .map(|r| {
                let n = |c: &str| r.try_get::<i64>("", c).map(|v| v.max(0) as u64);
                Ok(DatasetInfo {
                    name: r.try_get("", "name").map_err(&read)?,
                    coverage: Coverage {
                        places: n("places").map_err(&read)?,
                        brands: n("brands").map_err(&read)?,
                        categories: n("categories").map_err(&read)?,
                        regions: n("regions").map_err(&read)?,
                        visit_rows: n("visit_rows").map_err(&read)?,
                        first_day: day(r.try_get("", "first_day").map_err(&read)?),
                        last_day: day(r.try_get("", "last_day").map_err(&read)?),
                    },
                    created_at: from_ms(r.try_get("", "created_at").map_err(&read)?),
                    updated_at: from_ms(r.try_get("", "updated_at").map_err(&read)?),
                })
            })
            .collect()
    }

    async fn active(&self) -> Result<Option<String>, RepoError> {
        let row = self
            .db
            .connection()
            .query_one_raw(self.statement(
                "SELECT name FROM active_dataset WHERE singleton = 1",
                vec![],
            ))
            .await
            .map_err(repo_err("failed to read the active data set"))?;
        Ok(row
            .map(|r| r.try_get::<Option<String>>("", "name"))
            .transpose()
            .map_err(repo_err("failed to read the active data set"))?
            .flatten())
    }

    async fn set_active(&self, name: Option<String>) -> Result<bool, RepoError> {
        let txn = self
            .db
            .connection()
            .begin()
            .await
            .map_err(repo_err("failed to activate a data set"))?;
        if let Some(name) = &name {
            let found = txn
                .query_one_raw(self.statement(
                    "SELECT name FROM datasets WHERE name = $1",
                    vec![name.clone().into()],
                ))
                .await
                .map_err(repo_err("failed to activate a data set"))?;
            if found.is_none() {
                return Ok(false);
            }
        }
        txn.execute_raw(self.statement(
            "INSERT INTO active_dataset (singleton, name, changed_at) VALUES (1, $1, $2) \
             ON CONFLICT (singleton) DO UPDATE SET name = excluded.name, \
             changed_at = excluded.changed_at",
            vec![name.into(), now_ms().into()],
        ))
        .await
        .map_err(repo_err("failed to activate a data set"))?;
        txn.commit()
            .await
            .map_err(repo_err("failed to activate a data set"))?;
        Ok(true)
    }

    async fn remove(&self, name: &str) -> Result<bool, RepoError> {
        let context = "failed to drop a data set";
        let txn = self
            .db
            .connection()
            .begin()
            .await
            .map_err(repo_err(context))?;
        if self.backend() == DbBackend::Postgres {
            // As a commit into this data set does, first: the two take the same rows in
            // another order, and PostgreSQL would end one of them as a deadlock.
            self.lock_dataset(&txn, name, context).await?;
            // Rows its imports staged (an importer that died mid-way) go with it.
            for table in ["dataset_stage_places", "dataset_stage_visits"] {
                txn.execute_raw(self.statement(
                    &format!(
                        "DELETE FROM {table} WHERE import_id IN \
                         (SELECT CAST(id AS TEXT) FROM dataset_imports WHERE dataset = $1)"
                    ),
                    vec![name.into()],
                ))
                .await
                .map_err(repo_err(context))?;
            }
        }
        let removed = txn
            .execute_raw(self.statement("DELETE FROM datasets WHERE name = $1", vec![name.into()]))
            .await
            .map_err(repo_err(context))?
            .rows_affected();
        for sql in [
            "DELETE FROM dataset_visits WHERE dataset = $1",
            "DELETE FROM dataset_places WHERE dataset = $1",
            "DELETE FROM dataset_imports WHERE dataset = $1",
            "DELETE FROM dataset_rollups WHERE dataset = $1",
            "UPDATE active_dataset SET name = NULL WHERE name = $1",
        ] {
            txn.execute_raw(self.statement(sql, vec![name.into()]))
                .await
                .map_err(repo_err(context))?;
        }
        txn.commit().await.map_err(repo_err(context))?;
        Ok(removed > 0)
    }

    async fn begin_import(&self, dataset: &str, file: &ImportFile) -> Result<Begin, RepoError> {
        let context = "failed to start an import";
        let conn = self.db.connection();
        // Imports killed mid-way: their staged rows go, the data set never saw them.
        let stale = conn
            .query_all_raw(self.statement(
                "SELECT id FROM dataset_imports WHERE status = 'running' AND heartbeat_at < $1",
                vec![(now_ms() - STALE_IMPORT_MS).into()],
            ))
            .await
            .map_err(repo_err(context))?;
        for row in stale {
            let id: Uuid = row.try_get("", "id").map_err(repo_err(context))?;
            // Marked failed first, and only if still running and stale: a commit that bumped its
            // heartbeat in the meantime keeps its rows.
            let claimed = self
                .execute(
                    "UPDATE dataset_imports SET status = 'failed', error = $1, finished_at = $2 \
                     WHERE id = $3 AND status = 'running' AND heartbeat_at < $4",
                    vec![
                        "interrupted: the importing process stopped".into(),
                        now_ms().into(),
                        id.into(),
                        (now_ms() - STALE_IMPORT_MS).into(),
                    ],
                    context,
                )
                .await?;
            if claimed == 1 {
                self.discard(id).await?;
            }
        }
        let previous = conn
            .query_one_raw(self.statement(
                &format!(
                    "SELECT {IMPORT_COLUMNS} FROM dataset_imports WHERE dataset = $1 \
                     AND file_sha256 = $2 AND kind = $3 AND status = 'done' \
                     ORDER BY started_at DESC LIMIT 1"
                ),
                vec![
                    dataset.into(),
                    file.sha256.clone().into(),
                    file.kind.as_str().into(),
                ],
            ))
            .await
            .map_err(repo_err(context))?;
        if let Some(row) = previous {
            return Ok(Begin::AlreadyImported(Box::new(import_record(&row)?)));
        }
        let id = Uuid::now_v7();
        let now = now_ms();
        self.execute(
            "INSERT INTO dataset_imports (id, dataset, kind, format, file_name, file_sha256, \
             file_bytes, status, started_at, heartbeat_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $8)",
            vec![
                id.into(),
                dataset.into(),
                file.kind.as_str().into(),
                file.format.clone().into(),
                file.file_name.clone().into(),
                file.sha256.clone().into(),
                (file.bytes as i64).into(),
                now.into(),
            ],
            context,
        )
        .await?;
        Ok(Begin::Started(id))
    }

    async fn stage_places(&self, import: Uuid, rows: &[PlaceRecord]) -> Result<(), RepoError> {
        let stage = self.running_stage(import).await?;
        // One statement may not touch a row twice: the last of a key wins, as in the file.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        for (i, p) in rows.iter().enumerate() {
            last.insert(&p.key, i);
        }
        let unique: Vec<&PlaceRecord> = rows
            .iter()
            .enumerate()
            .filter(|(i, p)| last.get(p.key.as_str()) == Some(i))
            .map(|(_, p)| p)
            .collect();
        if self.backend() == DbBackend::Postgres {
            crate::pg_stage::stage_places(&self.db, import, &unique).await?;
        } else {
            self.insert_places(&stage, &unique).await?;
        }
        self.heartbeat(import).await
    }

    async fn stage_patterns(&self, import: Uuid, rows: &[PatternsRow]) -> Result<(), RepoError> {
        let stage = self.running_stage(import).await?;
        let mut last_place: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        let mut last_visit: HashMap<(&str, NaiveDate), usize> = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            last_place.insert(&r.place.key, i);
            last_visit.insert((&r.place.key, r.visits.start), i);
        }
        let places: Vec<&PlaceRecord> = rows
            .iter()
            .enumerate()
            .filter(|(i, r)| last_place.get(r.place.key.as_str()) == Some(i))
            .map(|(_, r)| &r.place)
            .collect();
        let visits: Vec<&PatternsRow> = rows
            .iter()
            .enumerate()
            .filter(|(i, r)| last_visit.get(&(r.place.key.as_str(), r.visits.start)) == Some(i))
            .map(|(_, r)| r)
            .collect();
        if self.backend() == DbBackend::Postgres {
            crate::pg_stage::stage_places(&self.db, import, &places).await?;
            crate::pg_stage::stage_visits(&self.db, import, &visits).await?;
            return self.heartbeat(import).await;
        }
        self.insert_places(&stage, &places).await?;
        for chunk in visits.chunks(VISITS_PER_STATEMENT) {
            let mut values = Vec::with_capacity(chunk.len() * 13);
            for r in chunk {
                values.extend(visit_values(&stage, r));
            }
            let sql = format!(
                "INSERT INTO dataset_visits ({VISIT_COLUMNS}) VALUES {} \
                 ON CONFLICT (dataset, place_key, period_start) DO UPDATE SET {}",
                placeholders(self.backend(), chunk.len(), 13),
                updates(VISIT_COLUMNS, 3)
            );
            self.execute(&sql, values, "failed to stage visits").await?;
        }
        self.heartbeat(import).await
    }

    async fn commit_import(
        &self,
        import: Uuid,
        counts: &ImportCounts,
    ) -> Result<Coverage, RepoError> {
        let context = "failed to finish an import";
        let stage = self.running_stage(import).await?;
        let txn = self
            .db
            .connection()
            .begin()
            .await
            .map_err(repo_err(context))?;
        let row = txn
            .query_one_raw(self.statement(
                "SELECT dataset FROM dataset_imports WHERE id = $1 AND status = 'running'",
                vec![import.into()],
            ))
            .await
            .map_err(repo_err(context))?
            .ok_or_else(|| RepoError(anyhow::anyhow!("import {import} is no longer running")))?;
        let dataset: String = row.try_get("", "dataset").map_err(repo_err(context))?;
        if self.backend() == DbBackend::Postgres {
            // One commit per data set at a time (SQLite has one writer anyway): two first
            // imports would both rename, two merges could deadlock.
            self.lock_dataset(&txn, &dataset, context).await?;
        }
        let now = now_ms();
        // Still running, and now fresh: a stale-import cleanup can no longer take it.
        let claimed = txn
            .execute_raw(self.statement(
                "UPDATE dataset_imports SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'",
                vec![now.into(), import.into()],
            ))
            .await
            .map_err(repo_err(context))?
            .rows_affected();
        if claimed != 1 {
            return Err(RepoError(anyhow::anyhow!(
                "import {import} is no longer running"
            )));
        }
        let mut analyzed = Vec::new();
        if self.backend() == DbBackend::Postgres {
            analyzed = crate::pg_stage::merge(&txn, &dataset, import).await?;
        } else {
            // A data set without rows yet takes the staged rows by renaming them (no conflicts are
            // possible); otherwise they are merged, a place or period already there replaced.
            let empty = txn
                .query_one_raw(self.statement(
                    "SELECT 1 AS one FROM dataset_places WHERE dataset = $1 LIMIT 1",
                    vec![dataset.clone().into()],
                ))
                .await
                .map_err(repo_err(context))?
                .is_none();
            if empty {
                for table in ["dataset_places", "dataset_visits"] {
                    txn.execute_raw(self.statement(
                        &format!("UPDATE {table} SET dataset = $1 WHERE dataset = $2"),
                        vec![dataset.clone().into(), stage.clone().into()],
                    ))
                    .await
                    .map_err(repo_err(context))?;
                }
            }
            // `WHERE` before `ON CONFLICT`: SQLite's parser needs it to tell the two apart.
            let merges = [
                ("dataset_places", PLACE_COLUMNS, 2, "dataset, place_key"),
                (
                    "dataset_visits",
                    VISIT_COLUMNS,
                    3,
                    "dataset, place_key, period_start",
                ),
            ];
            for (table, columns, keys, conflict) in merges.into_iter().filter(|_| !empty) {
                let rest: Vec<&str> = columns.split(',').map(str::trim).skip(1).collect();
                let sql = format!(
                    "INSERT INTO {table} ({columns}) SELECT $1, {} FROM {table} WHERE dataset = $2 \
                     ON CONFLICT ({conflict}) DO UPDATE SET {}",
                    rest.join(", "),
                    updates(columns, keys)
                );
                txn.execute_raw(
                    self.statement(&sql, vec![dataset.clone().into(), stage.clone().into()]),
                )
                .await
                .map_err(repo_err(context))?;
                txn.execute_raw(self.statement(
                    &format!("DELETE FROM {table} WHERE dataset = $1"),
                    vec![stage.clone().into()],
                ))
                .await
                .map_err(repo_err(context))?;
            }
        }
        let places = txn
            .query_one_raw(self.statement(
                "SELECT COUNT(*) AS places, COUNT(DISTINCT brand) AS brands, \
                 COUNT(DISTINCT category) AS categories, COUNT(DISTINCT region) AS regions \
                 FROM dataset_places WHERE dataset = $1",
                vec![dataset.clone().into()],
            ))
            .await
            .map_err(repo_err(context))?;
        let visits = txn
            .query_one_raw(self.statement(
                "SELECT COUNT(*) AS visit_rows, MIN(period_start) AS first_day, \
                 MAX(period_end) AS end_day FROM dataset_visits WHERE dataset = $1",
                vec![dataset.clone().into()],
            ))
            .await
            .map_err(repo_err(context))?;
        let get = |row: &Option<QueryResult>, c: &str| -> Result<u64, RepoError> {
            row.as_ref()
                .map(|r| r.try_get::<i64>("", c))
                .transpose()
                .map(|n| n.unwrap_or(0).max(0) as u64)
                .map_err(repo_err(context))
        };
        let text = |c: &str| -> Result<Option<String>, RepoError> {
            visits
                .as_ref()
                .map(|r| r.try_get::<Option<String>>("", c))
                .transpose()
                .map(Option::flatten)
                .map_err(repo_err(context))
        };
        let coverage = Coverage {
            places: get(&places, "places")?,
            brands: get(&places, "brands")?,
            categories: get(&places, "categories")?,
            regions: get(&places, "regions")?,
            visit_rows: get(&visits, "visit_rows")?,
            first_day: day(text("first_day")?),
            // Periods end on the day after their last.
            last_day: day(text("end_day")?).and_then(|d| d.pred_opt()),
        };
        // Totals kept for comparisons were computed from the data set before this import.
        txn.execute_raw(self.statement(
            "DELETE FROM dataset_rollups WHERE dataset = $1",
            vec![dataset.clone().into()],
        ))
        .await
        .map_err(repo_err(context))?;
        txn.execute_raw(self.statement(
            "INSERT INTO datasets (name, places, brands, categories, regions, visit_rows, \
             first_day, last_day, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (name) DO UPDATE SET places = excluded.places, \
             brands = excluded.brands, categories = excluded.categories, \
             regions = excluded.regions, visit_rows = excluded.visit_rows, \
             first_day = excluded.first_day, last_day = excluded.last_day, \
             updated_at = excluded.updated_at",
            vec![
                dataset.clone().into(),
                (coverage.places as i64).into(),
                (coverage.brands as i64).into(),
                (coverage.categories as i64).into(),
                (coverage.regions as i64).into(),
                (coverage.visit_rows as i64).into(),
                coverage.first_day.map(|d| d.to_string()).into(),
                coverage.last_day.map(|d| d.to_string()).into(),
                now.into(),
            ],
        ))
        .await
        .map_err(repo_err(context))?;
        txn.execute_raw(self.statement(
            "UPDATE dataset_imports SET status = 'done', rows_read = $1, rows_imported = $2, \
             rows_rejected = $3, rejections = $4, finished_at = $5, heartbeat_at = $5 \
             WHERE id = $6 AND status = 'running'",
            vec![
                (counts.rows_read as i64).into(),
                (counts.rows_imported as i64).into(),
                (counts.rows_rejected as i64).into(),
                nonempty_json(&counts.rejections).into(),
                now.into(),
                import.into(),
            ],
        ))
        .await
        .map_err(repo_err(context))?;
        if self.backend() == DbBackend::Postgres {
            crate::pg_stage::finish_stage(&txn, import).await?;
        }
        txn.commit().await.map_err(repo_err(context))?;
        if self.backend() == DbBackend::Postgres {
            crate::pg_stage::analyze(self.db.connection(), &analyzed).await;
        }
        Ok(coverage)
    }

    async fn record_progress(&self, import: Uuid, counts: &ImportCounts) -> Result<(), RepoError> {
        self.execute(
            "UPDATE dataset_imports SET rows_read = $1, rows_imported = $2, rows_rejected = $3, \
             rejections = $4, heartbeat_at = $5 WHERE id = $6 AND status = 'running'",
            vec![
                (counts.rows_read as i64).into(),
                (counts.rows_imported as i64).into(),
                (counts.rows_rejected as i64).into(),
                nonempty_json(&counts.rejections).into(),
                now_ms().into(),
                import.into(),
            ],
            "failed to record import progress",
        )
        .await
        .map(drop)
    }

    async fn abort_import(
        &self,
        import: Uuid,
        counts: &ImportCounts,
        error: &str,
    ) -> Result<(), RepoError> {
        self.discard(import).await?;
        self.execute(
            "UPDATE dataset_imports SET status = 'failed', rows_read = $1, rows_imported = 0, \
             rows_rejected = $2, rejections = $3, error = $4, finished_at = $5 WHERE id = $6",
            vec![
                (counts.rows_read as i64).into(),
                (counts.rows_rejected as i64).into(),
                nonempty_json(&counts.rejections).into(),
                error.into(),
                now_ms().into(),
                import.into(),
            ],
            "failed to record a failed import",
        )
        .await
        .map(drop)
    }

    async fn imports(&self, dataset: &str) -> Result<Vec<ImportRecord>, RepoError> {
        let rows = self
            .db
            .connection()
            .query_all_raw(self.statement(
                &format!(
                    "SELECT {IMPORT_COLUMNS} FROM dataset_imports WHERE dataset = $1 \
                     ORDER BY started_at DESC, id DESC LIMIT 200"
                ),
                vec![dataset.into()],
            ))
            .await
            .map_err(repo_err("failed to list imports"))?;
        rows.iter().map(import_record).collect()
    }

    async fn import(&self, id: Uuid) -> Result<Option<ImportRecord>, RepoError> {
        let row = self
            .db
            .connection()
            .query_one_raw(self.statement(
                &format!("SELECT {IMPORT_COLUMNS} FROM dataset_imports WHERE id = $1"),
                vec![id.into()],
            ))
            .await
            .map_err(repo_err("failed to read an import"))?;
        row.as_ref().map(import_record).transpose()
    }
}

fn place_record(row: &QueryResult) -> Result<PlaceRecord, sea_orm::DbErr> {
    Ok(PlaceRecord {
        key: row.try_get("", "place_key")?,
        name: row.try_get("", "name")?,
        brand: row.try_get("", "brand")?,
        category: row.try_get("", "category")?,
        sub_category: row.try_get("", "sub_category")?,
        lat: row.try_get("", "lat")?,
        lon: row.try_get("", "lon")?,
        street: row.try_get("", "street")?,
        city: row.try_get("", "city")?,
        region: row.try_get("", "region")?,
        postcode: row.try_get("", "postcode")?,
        country: row.try_get("", "country")?,
        confidence: row.try_get("", "confidence")?,
        closed: row.try_get("", "closed")?,
    })
}

fn stored_json<T: serde::de::DeserializeOwned + Default>(
    text: Option<String>,
) -> Result<T, RepoError> {
    match text {
        None => Ok(T::default()),
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            RepoError(anyhow::Error::new(e).context("stored visits are not readable"))
        }),
    }
}

/// The columns of [`VisitFields::Counts`] of a row; the JSON cells left empty.
fn count_record(row: &QueryResult) -> Result<(String, VisitRecord), RepoError> {
    let read = read_err("failed to read visits");
    let date = |c: &str| -> Result<NaiveDate, RepoError> {
        let t: String = row.try_get("", c).map_err(&read)?;
        NaiveDate::parse_from_str(&t, "%Y-%m-%d")
            .map_err(|e| RepoError(anyhow::Error::new(e).context("a stored period is not a date")))
    };
    let key: String = row.try_get("", "place_key").map_err(&read)?;
    Ok((
        key,
        VisitRecord {
            start: date("period_start")?,
            end: date("period_end")?,
            raw_visits: row.try_get::<i64>("", "raw_visits").map_err(&read)?.max(0) as u64,
            raw_visitors: row
                .try_get::<Option<i64>>("", "raw_visitors")
                .map_err(&read)?
                .map(|n| n.max(0) as u64),
            visits_by_day: stored_json(Some(row.try_get("", "visits_by_day").map_err(&read)?))?,
            visits_by_hour: None,
            median_dwell: row.try_get("", "median_dwell").map_err(&read)?,
            dwell_buckets: Vec::new(),
            home_areas: Vec::new(),
            related_brands: Vec::new(),
            distance_from_home: None,
        },
    ))
}

fn visit_record(row: &QueryResult) -> Result<(String, VisitRecord), RepoError> {
    let read = read_err("failed to read visits");
    let (key, mut v) = count_record(row)?;
    v.visits_by_hour = row
        .try_get::<Option<String>>("", "visits_by_hour")
        .map_err(&read)?
        .map(|t| stored_json(Some(t)))
        .transpose()?;
    v.dwell_buckets = stored_json(row.try_get("", "dwell_buckets").map_err(&read)?)?;
    v.home_areas = stored_json(row.try_get("", "home_areas").map_err(&read)?)?;
    v.related_brands = stored_json(row.try_get("", "related_brands").map_err(&read)?)?;
    v.distance_from_home = row.try_get("", "distance_from_home").map_err(&read)?;
    Ok((key, v))
}

#[async_trait]
impl DatasetReader for SeaOrmDatasetRepo {
    async fn active_version(&self) -> Result<Option<(String, DateTime<Utc>)>, RepoError> {
        let context = "failed to read the active data set";
        let row = self
            .db
            .connection()
            .query_one_raw(self.statement(
                "SELECT d.name AS name, d.updated_at AS updated_at FROM active_dataset a \
                 JOIN datasets d ON d.name = a.name WHERE a.singleton = 1",
                vec![],
            ))
            .await
            .map_err(repo_err(context))?;
        row.map(|r| -> Result<(String, DateTime<Utc>), RepoError> {
            Ok((
                r.try_get("", "name").map_err(repo_err(context))?,
                from_ms(r.try_get("", "updated_at").map_err(repo_err(context))?),
            ))
        })
        .transpose()
    }

    async fn coverage(&self, dataset: &str) -> Result<Coverage, RepoError> {
        Ok(self
            .datasets()
            .await?
            .into_iter()
            .find(|d| d.name == dataset)
            .map(|d| d.coverage)
            .unwrap_or_default())
    }

    async fn places(
        &self,
        dataset: &str,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<StoredPlace>, RepoError> {
        let context = "failed to read a data set's places";
        // The latest year: from the day after the last, twelve months back (nothing before the
        // first day when there are no visits).
        let from = self
            .coverage(dataset)
            .await?
            .last_day
            .map(|last| {
                last.succ_opt()
                    .and_then(|d| d.checked_sub_months(chrono::Months::new(12)))
                    .unwrap_or(last - chrono::Duration::days(364))
            })
            .map_or_else(|| "9999-12-31".to_owned(), |d| d.to_string());
        let columns = PLACE_COLUMNS
            .trim_start_matches("dataset, ")
            .split(", ")
            .map(|c| format!("p.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        // Each page's recent visits through the visits' primary key (dataset, place, period).
        let sql = format!(
            "SELECT {columns}, (SELECT CAST(COALESCE(SUM(v.raw_visits), 0) AS BIGINT)              FROM dataset_visits v WHERE v.dataset = p.dataset AND v.place_key = p.place_key              AND v.period_start >= $2) AS recent_visits FROM dataset_places p              WHERE p.dataset = $1 AND p.place_key > $3 ORDER BY p.place_key LIMIT $4"
        );
        let rows = self
            .db
            .connection()
            .query_all_raw(self.statement(
                &sql,
                vec![
                    dataset.into(),
                    from.into(),
                    after.unwrap_or_default().into(),
                    i64::from(limit).into(),
                ],
            ))
            .await
            .map_err(repo_err(context))?;
        rows.iter()
            .map(|r| {
                let record = place_record(r).map_err(repo_err(context))?;
                let recent: i64 = r.try_get("", "recent_visits").map_err(repo_err(context))?;
                Ok(StoredPlace {
                    record,
                    recent_visits: recent.max(0) as u64,
                })
            })
            .collect()
    }

    async fn visits(
        &self,
        dataset: &str,
        keys: &[String],
        fields: VisitFields,
    ) -> Result<Vec<(String, VisitRecord)>, RepoError> {
        let columns = match fields {
            VisitFields::All => VISIT_COLUMNS,
            VisitFields::Counts => COUNT_COLUMNS,
        };
        let mut out = Vec::new();
        for chunk in keys.chunks(500) {
            // One row of `1 + n` values: the data set, then the keys.
            let all = placeholders(self.backend(), 1, chunk.len() + 1);
            let (first, list) = all
                .trim_matches(|c| c == '(' || c == ')')
                .split_once(", ")
                .unwrap_or(("$1", ""));
            let mut values: Vec<Value> = vec![dataset.into()];
            values.extend(chunk.iter().map(|k| Value::from(k.clone())));
            let rows = self
                .db
                .connection()
                .query_all_raw(self.statement(
                    &format!(
                        "SELECT {columns} FROM dataset_visits WHERE dataset = {first} \
                         AND place_key IN ({list}) ORDER BY place_key, period_start"
                    ),
                    values,
                ))
                .await
                .map_err(repo_err("failed to read visits"))?;
            for r in &rows {
                out.push(match fields {
                    VisitFields::All => visit_record(r)?,
                    VisitFields::Counts => count_record(r)?,
                });
            }
        }
        Ok(out)
    }

    async fn group_days(
        &self,
        dataset: &str,
        version: DateTime<Utc>,
        groups: &[String],
    ) -> Result<Vec<(String, GroupDays)>, RepoError> {
        let context = "failed to read a comparison's totals";
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        // One row of `2 + n` values: the data set, the version, then the groups.
        let all = placeholders(self.backend(), 1, groups.len() + 2);
        let mut params = all.trim_matches(|c| c == '(' || c == ')').split(", ");
        let (first, second) = (
            params.next().unwrap_or_default(),
            params.next().unwrap_or_default(),
        );
        let list: Vec<&str> = params.collect();
        let mut values: Vec<Value> = vec![dataset.into(), version.timestamp_millis().into()];
        values.extend(groups.iter().map(|g| Value::from(g.clone())));
        let rows = self
            .db
            .connection()
            .query_all_raw(self.statement(
                &format!(
                    "SELECT grp, days FROM dataset_rollups WHERE dataset = {first} \
                     AND version = {second} AND grp IN ({})",
                    list.join(", ")
                ),
                values,
            ))
            .await
            .map_err(repo_err(context))?;
        rows.iter()
            .map(|row| {
                let group: String = row.try_get("", "grp").map_err(repo_err(context))?;
                let days: String = row.try_get("", "days").map_err(repo_err(context))?;
                serde_json::from_str(&days)
                    .map(|days| (group, days))
                    .map_err(|e| RepoError(anyhow::Error::new(e).context(context)))
            })
            .collect()
    }

    async fn keep_group_days(
        &self,
        dataset: &str,
        version: DateTime<Utc>,
        group: &str,
        days: &GroupDays,
    ) -> Result<(), RepoError> {
        let context = "failed to keep a comparison's totals";
        let json = serde_json::to_string(days)
            .map_err(|e| RepoError(anyhow::Error::new(e).context(context)))?;
        // Only totals of the data set's current version are kept: a replica still on an older
        // one (for up to a second after an import) may have read the newer visits.
        self.execute(
            "INSERT INTO dataset_rollups (dataset, grp, version, days) SELECT $1, $2, $3, $4 \
             WHERE EXISTS (SELECT 1 FROM datasets WHERE name = $1 AND updated_at = $3) \
             ON CONFLICT (dataset, grp) DO UPDATE SET version = excluded.version, \
             days = excluded.days",
            vec![
                dataset.into(),
                group.into(),
                version.timestamp_millis().into(),
                json.into(),
            ],
            context,
        )
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_built_for_every_row_and_column() {
        assert_eq!(
            placeholders(DbBackend::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(placeholders(DbBackend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(
            updates("dataset, place_key, name, lat", 2),
            "name = excluded.name, lat = excluded.lat"
        );
        assert_eq!(PLACE_COLUMNS.split(',').count(), 15);
        assert_eq!(VISIT_COLUMNS.split(',').count(), 13);
    }
}
