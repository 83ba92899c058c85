//! Admin access to the data sets: list them with their coverage, activate one for every
//! replica, drop one, read an import history. Imports run with `pi-server import` (docs/DATA.md).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use pi_domain::data::{BUILTIN, Coverage, DatasetName, ImportRecord};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{AdminUser, ApiError, AppState, ErrorBody};

/// What a data set covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageResponse {
    pub places: u64,
    pub brands: u64,
    pub categories: u64,
    /// Distinct regions (states).
    pub regions: u64,
    /// Place-periods of visits.
    pub visit_rows: u64,
    /// First day with visits, YYYY-MM-DD.
    pub first_day: Option<String>,
    /// Last day with visits, YYYY-MM-DD.
    pub last_day: Option<String>,
}

impl From<Coverage> for CoverageResponse {
    fn from(c: Coverage) -> Self {
        Self {
            places: c.places,
            brands: c.brands,
            categories: c.categories,
            regions: c.regions,
            visit_rows: c.visit_rows,
            first_day: c.first_day.map(|d| d.to_string()),
            last_day: c.last_day.map(|d| d.to_string()),
        }
    }
}

/// A data set.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetResponse {
    pub name: String,
    /// The built-in synthetic set (no coverage: it is generated, not stored).
    pub builtin: bool,
    /// The tools of every replica answer from it.
    pub active: bool,
    pub coverage: Option<CoverageResponse>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Every data set.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetListResponse {
    /// The active data set's name.
    pub active: String,
    /// The built-in set first, then the stored ones by name.
    pub datasets: Vec<DatasetResponse>,
}

/// A row left out of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionResponse {
    /// Line of the file (CSV, header = 1) or row (Parquet).
    pub line: u64,
    pub field: String,
    pub reason: String,
}

/// One import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    pub id: Uuid,
    pub dataset: String,
    /// `places` or `patterns`.
    pub kind: String,
    /// `overture`, `foursquare`, `csv` or `patterns`.
    pub format: String,
    pub file_name: String,
    pub file_sha256: String,
    pub file_bytes: u64,
    /// `running`, `done` or `failed` (nothing of a failed import reached the data set).
    pub status: String,
    pub rows_read: u64,
    pub rows_imported: u64,
    pub rows_rejected: u64,
    /// The first 100 rejected rows.
    pub rejections: Vec<RejectionResponse>,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: i64,
}

impl From<ImportRecord> for ImportResponse {
    fn from(r: ImportRecord) -> Self {
        let duration_ms = r.duration_ms();
        Self {
            id: r.id,
            dataset: r.dataset,
            kind: r.file.kind.as_str().to_owned(),
            format: r.file.format,
            file_name: r.file.file_name,
            file_sha256: r.file.sha256,
            file_bytes: r.file.bytes,
            status: r.status.as_str().to_owned(),
            rows_read: r.counts.rows_read,
            rows_imported: r.counts.rows_imported,
            rows_rejected: r.counts.rows_rejected,
            rejections: r
                .counts
                .rejections
                .into_iter()
                .map(|x| RejectionResponse {
                    line: x.line,
                    field: x.field,
                    reason: x.reason,
                })
                .collect(),
            error: r.error,
            started_at: r.started_at,
            finished_at: r.finished_at,
            duration_ms,
        }
    }
}

/// A data set's imports.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportListResponse {
    /// Newest first.
    pub imports: Vec<ImportResponse>,
}

/// Lists every data set with its coverage and which is active (admin).
#[utoipa::path(
    get,
    path = "/datasets",
    tag = "datasets",
    security(("bearer" = [])),
    responses((status = 200, body = DatasetListResponse), (status = 403, body = ErrorBody))
)]
#[tracing::instrument(skip_all, fields(user_id = %_user.0.id))]
pub(crate) async fn list_datasets(
    state: web::Data<AppState>,
    _user: AdminUser,
) -> Result<web::Json<DatasetListResponse>, ApiError> {
    let (active, stored) = state.data.list().await?;
    let mut datasets = vec![DatasetResponse {
        name: BUILTIN.to_owned(),
        builtin: true,
        active: active == BUILTIN,
        coverage: None,
        updated_at: None,
    }];
    datasets.extend(stored.into_iter().map(|d| DatasetResponse {
        active: d.name == active,
        name: d.name,
        builtin: false,
        coverage: Some(d.coverage.into()),
        updated_at: Some(d.updated_at),
    }));
    Ok(web::Json(DatasetListResponse { active, datasets }))
}

/// Makes a data set the one every replica's tools answer from, within a second (admin).
#[utoipa::path(
    post,
    path = "/datasets/{name}/activate",
    tag = "datasets",
    params(("name" = String, Path, description = "Data set name (`synthetic`: the built-in one)", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Active"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`dataset_not_found`"),
        (status = 422, body = ErrorBody, description = "`validation_error` (name)"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %_user.0.id, dataset = %name))]
pub(crate) async fn activate_dataset(
    state: web::Data<AppState>,
    name: web::Path<String>,
    _user: AdminUser,
) -> Result<HttpResponse, ApiError> {
    state.data.activate(&name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes a stored data set, its rows and its history; the built-in set becomes active if it
/// was (admin).
#[utoipa::path(
    delete,
    path = "/datasets/{name}",
    tag = "datasets",
    params(("name" = String, Path, description = "Data set name", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Dropped"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`dataset_not_found`"),
        (status = 409, body = ErrorBody, description = "`builtin_dataset`: the built-in set cannot be dropped"),
        (status = 422, body = ErrorBody, description = "`validation_error` (name)"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %_user.0.id, dataset = %name))]
pub(crate) async fn drop_dataset(
    state: web::Data<AppState>,
    name: web::Path<String>,
    _user: AdminUser,
) -> Result<HttpResponse, ApiError> {
    state.data.remove(&name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A data set's import history, newest first (admin).
#[utoipa::path(
    get,
    path = "/datasets/{name}/imports",
    tag = "datasets",
    params(("name" = String, Path, description = "Data set name", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportListResponse),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`validation_error` (name)"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %_user.0.id, dataset = %name))]
pub(crate) async fn list_imports(
    state: web::Data<AppState>,
    name: web::Path<String>,
    _user: AdminUser,
) -> Result<web::Json<ImportListResponse>, ApiError> {
    DatasetName::parse(&name).map_err(|e| ApiError::validation(&e.into()))?;
    let imports = state.data.imports(&name).await?;
    Ok(web::Json(ImportListResponse {
        imports: imports.into_iter().map(ImportResponse::from).collect(),
    }))
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/datasets").route(web::get().to(list_datasets)))
        .service(web::resource("/datasets/{name}").route(web::delete().to(drop_dataset)))
        .service(web::resource("/datasets/{name}/activate").route(web::post().to(activate_dataset)))
        .service(web::resource("/datasets/{name}/imports").route(web::get().to(list_imports)));
}
