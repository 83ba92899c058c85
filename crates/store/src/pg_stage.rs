//! PostgreSQL imports stage with `COPY` into the `dataset_stage_*` tables (migration 12)
//! and merge into the data set once, at commit: no index or conflict is touched per row, and no
//! staged row is rewritten to become visible. SQLite stages in place (`datasets.rs`).

use std::fmt::Display;

use pi_domain::RepoError;
use pi_domain::data::{PatternsRow, PlaceRecord};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, RuntimeErr, Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::db::{Database, repo_err, sqlx_repo_err};
use crate::json_cells::{json, nonempty_json};
use sea_orm::sqlx;

/// The staged columns of a place (`seq` numbers the rows as they arrive).
const PLACE_COLUMNS: &str = "place_key, name, brand, category, sub_category, lat, lon, street, \
     city, region, postcode, country, confidence, closed";
const VISIT_COLUMNS: &str = "place_key, period_start, period_end, raw_visits, raw_visitors, \
     visits_by_day, visits_by_hour, median_dwell, dwell_buckets, home_areas, related_brands, \
     distance_from_home";

/// Rows in `COPY`'s text format: tab-separated, `\N` for NULL, backslash escapes.
#[derive(Default)]
struct CopyText(String);

impl CopyText {
    fn text(&mut self, value: Option<&str>) {
        match value {
            None => self.0.push_str("\\N"),
            Some(s) => {
                for c in s.chars() {
                    match c {
                        '\\' => self.0.push_str("\\\\"),
                        '\t' => self.0.push_str("\\t"),
                        '\n' => self.0.push_str("\\n"),
                        '\r' => self.0.push_str("\\r"),
                        // PostgreSQL text cannot hold NUL (the readers refuse it already).
                        '\0' => {}
                        c => self.0.push(c),
                    }
                }
            }
        }
        self.0.push('\t');
    }

    fn number<T: Display>(&mut self, value: Option<T>) {
        match value {
            Some(v) => {
                use std::fmt::Write as _;
                let _ = write!(self.0, "{v}");
            }
            None => self.0.push_str("\\N"),
        }
        self.0.push('\t');
    }

    /// A float, NULL when not finite (`inf` is not PostgreSQL's spelling).
    fn float(&mut self, value: Option<f64>) {
        self.number(value.filter(|v| v.is_finite()));
    }

    fn end_row(&mut self) {
        self.0.pop();
        self.0.push('\n');
    }
}

/// Sends `data` to `COPY table (import_id, columns) FROM STDIN` on a connection of its own.
async fn copy_in(db: &Database, table: &str, columns: &str, data: String) -> Result<(), RepoError> {
    if data.is_empty() {
        return Ok(());
    }
    let context = "failed to stage rows";
    let pool = db.connection().get_postgres_connection_pool();
    let mut conn = pool.acquire().await.map_err(sqlx_repo_err(context))?;
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} (import_id, {columns}) FROM STDIN"))
        .await
        .map_err(sqlx_repo_err(context))?;
    match copy.send(data.into_bytes()).await {
        Ok(_) => copy
            .finish()
            .await
            .map(drop)
            .map_err(sqlx_repo_err(context)),
        Err(e) => {
            // The connection stays usable only once the copy is ended.
            let _ = copy.abort("the rows could not be sent").await;
            Err(sqlx_repo_err(context)(e))
        }
    }
}

/// Stages places of an import.
pub(crate) async fn stage_places(
    db: &Database,
    import: Uuid,
    rows: &[&PlaceRecord],
) -> Result<(), RepoError> {
    let id = import.to_string();
    let mut out = CopyText::default();
    for p in rows {
        out.text(Some(&id));
        out.text(Some(&p.key));
        out.text(Some(&p.name));
        out.text(p.brand.as_deref());
        out.text(p.category.as_deref());
        out.text(p.sub_category.as_deref());
        out.float(Some(p.lat));
        out.float(Some(p.lon));
        out.text(p.street.as_deref());
        out.text(p.city.as_deref());
        out.text(p.region.as_deref());
        out.text(p.postcode.as_deref());
        out.text(p.country.as_deref());
        out.float(p.confidence);
        out.text(Some(if p.closed { "t" } else { "f" }));
        out.end_row();
    }
    copy_in(db, "dataset_stage_places", PLACE_COLUMNS, out.0).await
}

/// Stages the visits of Patterns rows.
pub(crate) async fn stage_visits(
    db: &Database,
    import: Uuid,
    rows: &[&PatternsRow],
) -> Result<(), RepoError> {
    let id = import.to_string();
    let mut out = CopyText::default();
    for r in rows {
        let v = &r.visits;
        out.text(Some(&id));
        out.text(Some(&r.place.key));
        out.text(Some(&v.start.to_string()));
        out.text(Some(&v.end.to_string()));
        out.number(Some(v.raw_visits));
        out.number(v.raw_visitors);
        out.text(Some(&json(&v.visits_by_day).unwrap_or_else(|| "[]".into())));
        out.text(v.visits_by_hour.as_ref().and_then(json).as_deref());
        out.float(v.median_dwell);
        out.text(nonempty_json(&v.dwell_buckets).as_deref());
        out.text(nonempty_json(&v.home_areas).as_deref());
        out.text(nonempty_json(&v.related_brands).as_deref());
        out.float(v.distance_from_home);
        out.end_row();
    }
    copy_in(db, "dataset_stage_visits", VISIT_COLUMNS, out.0).await
}

/// Merges an import's staged rows into `dataset` inside `txn` (the last staged row of a key
/// wins, a place or period already in the data set is replaced; [`finish_stage`] deletes them).
/// Returns the tables that gained or changed rows.
///
/// Most files name each key once: their rows are inserted as staged, in one pass, and into a
/// table holding none of the data set's rows yet (its first import) without `ON CONFLICT`
/// (which looks each key up before inserting it: 4.7 s instead of 3.1 s for 1 M places). When
/// a key was staged twice, PostgreSQL refuses that statement (a duplicate key, or `ON CONFLICT
/// DO UPDATE` touching a row twice); it is undone to a savepoint and the rows are merged again
/// keeping each key's last row, which sorts them (1.7 s more for 1 M places).
pub(crate) async fn merge(
    txn: &DatabaseTransaction,
    dataset: &str,
    import: Uuid,
) -> Result<Vec<&'static str>, RepoError> {
    let context = "failed to finish an import";
    let mut changed = Vec::new();
    for (table, stage, columns, keys) in [
        (
            "dataset_places",
            "dataset_stage_places",
            PLACE_COLUMNS,
            "place_key",
        ),
        (
            "dataset_visits",
            "dataset_stage_visits",
            VISIT_COLUMNS,
            "place_key, period_start",
        ),
    ] {
        let exists = |sql: String, value: String| query_bool(txn, sql, value.into(), context);
        let staged = exists(
            format!("SELECT EXISTS (SELECT 1 FROM {stage} WHERE import_id = $1)"),
            import.to_string(),
        )
        .await?
        .unwrap_or(false);
        if !staged {
            continue;
        }
        changed.push(table);
        let first = !exists(
            format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE dataset = $1)"),
            dataset.to_owned(),
        )
        .await?
        .unwrap_or(false);
        let updates: Vec<String> = columns
            .split(',')
            .map(str::trim)
            .skip(keys.split(',').count())
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let conflict = format!(
            "ON CONFLICT (dataset, {keys}) DO UPDATE SET {}",
            updates.join(", ")
        );
        let values = || [dataset.into(), import.to_string().into()];
        let fast = txn.begin().await.map_err(repo_err(context))?;
        let once = fast
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "INSERT INTO {table} (dataset, {columns}) SELECT $1, {columns} FROM {stage} \
                     WHERE import_id = $2 {}",
                    if first { "" } else { conflict.as_str() }
                ),
                values(),
            ))
            .await;
        match once {
            Ok(_) => fast.commit().await.map_err(repo_err(context))?,
            Err(e)
                if matches!(
                    sqlstate(&e).as_deref(),
                    Some(UNIQUE_VIOLATION | CARDINALITY_VIOLATION)
                ) =>
            {
                fast.rollback().await.map_err(repo_err(context))?;
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    format!(
                        "INSERT INTO {table} (dataset, {columns}) SELECT $1, {columns} FROM \
                         (SELECT DISTINCT ON ({keys}) {columns} FROM {stage} WHERE import_id = $2 \
                         ORDER BY {keys}, seq DESC) AS staged {conflict}"
                    ),
                    values(),
                ))
                .await
                .map_err(repo_err(context))?;
            }
            Err(e) => return Err(repo_err(context)(e)),
        }
    }
    Ok(changed)
}

/// Deletes an import's staged rows as it commits, last before the commit: the staging tables
/// are truncated when no other running import has rows there (a `DELETE` of 1 M staged
/// Patterns rows took 1.2 s). Only then is the lock taken (`NOWAIT`: a commit never waits for
/// it, so no two commits deadlock on it, and another import's `COPY` waits only for the rest of
/// this commit); rows of imports no longer running are garbage and go too.
pub(crate) async fn finish_stage(txn: &DatabaseTransaction, import: Uuid) -> Result<(), RepoError> {
    if !others_staged(txn, import).await?
        && lock_stage(txn).await?
        && !others_staged(txn, import).await?
    {
        txn.execute_unprepared("TRUNCATE dataset_stage_places, dataset_stage_visits")
            .await
            .map_err(repo_err("failed to discard staged rows"))?;
    }
    discard(txn, import).await
}

/// Locks the staging tables for the rest of `txn` if no other session is using them (another
/// import staging or committing): `false`, and nothing locked, if one is.
async fn lock_stage(txn: &DatabaseTransaction) -> Result<bool, RepoError> {
    let context = "failed to finish an import";
    let attempt = txn.begin().await.map_err(repo_err(context))?;
    match attempt
        .execute_unprepared(
            "LOCK TABLE dataset_stage_places, dataset_stage_visits IN ACCESS EXCLUSIVE MODE NOWAIT",
        )
        .await
    {
        Ok(_) => {
            attempt.commit().await.map_err(repo_err(context))?;
            Ok(true)
        }
        Err(e) if sqlstate(&e).as_deref() == Some(LOCK_NOT_AVAILABLE) => {
            attempt.rollback().await.map_err(repo_err(context))?;
            Ok(false)
        }
        Err(e) => Err(repo_err(context)(e)),
    }
}

/// Whether another running import has rows in the staging tables.
async fn others_staged(txn: &DatabaseTransaction, import: Uuid) -> Result<bool, RepoError> {
    let context = "failed to discard staged rows";
    let running =
        "SELECT CAST(id AS TEXT) FROM dataset_imports WHERE status = 'running' AND id <> $1";
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM dataset_stage_places WHERE import_id IN ({running})) \
         OR EXISTS (SELECT 1 FROM dataset_stage_visits WHERE import_id IN ({running}))"
    );
    // No answer: assume there are, and delete rather than truncate.
    Ok(query_bool(txn, sql, import.into(), context)
        .await?
        .unwrap_or(true))
}

/// The one boolean a query of one parameter answers (`None`: no row).
async fn query_bool(
    txn: &DatabaseTransaction,
    sql: String,
    value: sea_orm::Value,
    context: &'static str,
) -> Result<Option<bool>, RepoError> {
    txn.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [value],
    ))
    .await
    .map_err(repo_err(context))?
    .map(|row| row.try_get_by_index::<bool>(0))
    .transpose()
    .map_err(repo_err(context))
}

/// PostgreSQL's SQLSTATE for a lock `NOWAIT` could not take.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// PostgreSQL's SQLSTATE for a duplicate key.
const UNIQUE_VIOLATION: &str = "23505";

/// PostgreSQL's SQLSTATE for "ON CONFLICT DO UPDATE command cannot affect row a second time".
const CARDINALITY_VIOLATION: &str = "21000";

/// The SQLSTATE of a database error, if it is one.
fn sqlstate(e: &DbErr) -> Option<String> {
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            match sqlx.as_ref() {
                sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Refreshes the planner's statistics of the data-set tables an import changed. Without them
/// a bulk-loaded table looks empty to PostgreSQL: a tool's visit read (`place_key IN …`)
/// scanned every row of the data set instead of the primary key's range (800 ms instead of
/// 27 ms for 1,662 places of a 1 M-place set). The import has committed: a failure here is only
/// logged.
pub(crate) async fn analyze(conn: &impl ConnectionTrait, tables: &[&str]) {
    if tables.is_empty() {
        return;
    }
    if let Err(e) = conn
        .execute_unprepared(&format!("ANALYZE {}", tables.join(", ")))
        .await
    {
        tracing::warn!(error = %e, "could not refresh the data-set tables' statistics");
    }
}

/// Deletes an import's staged rows, and any an importer of an earlier release staged in place
/// under `~<import id>` (one that died mid-import during an upgrade).
pub(crate) async fn discard(conn: &impl ConnectionTrait, import: Uuid) -> Result<(), RepoError> {
    for (table, column, value) in [
        ("dataset_stage_visits", "import_id", import.to_string()),
        ("dataset_stage_places", "import_id", import.to_string()),
        ("dataset_visits", "dataset", format!("~{import}")),
        ("dataset_places", "dataset", format!("~{import}")),
    ] {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("DELETE FROM {table} WHERE {column} = $1"),
            [value.into()],
        ))
        .await
        .map_err(repo_err("failed to discard staged rows"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_the_format_reserves() {
        let mut out = CopyText::default();
        out.text(Some("a\tb\\c\nd\re\0f"));
        out.text(None);
        out.float(Some(f64::INFINITY));
        out.number(Some(42u64));
        out.end_row();
        assert_eq!(
            out.0,
            "a\\tb\\\\c\\nd\\re f\t\\N\t\\N\t42\n".replace(' ', "")
        );
    }
}
