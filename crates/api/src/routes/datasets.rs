//! Admin access to the data sets: list them with their coverage, activate one for every
//! replica, drop one, read an import history, upload a file to import. Imports also run with
//! `pi-server import` (docs/DATA.md).

use std::path::PathBuf;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use pi_domain::ValidationErrors;
use pi_domain::data::{
    BUILTIN, Coverage, DatasetName, ImportKind, ImportOptions, ImportRecord, Upload,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::extractors::QueryParams;
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

/// What an uploaded file holds.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadKind {
    /// Places: Overture, Foursquare OS Places or the plain CSV.
    Places,
    /// Advan/SafeGraph Weekly or Monthly Patterns (`.csv` or `.csv.gz`).
    Patterns,
}

/// A places file's schema.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadFormat {
    Overture,
    Foursquare,
    Csv,
}

/// How to read an uploaded file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadQuery {
    /// What the file holds.
    #[param(inline)]
    kind: UploadKind,
    /// Places only: the schema; told from the content when left out.
    #[param(inline)]
    format: Option<UploadFormat>,
    /// Stop, importing nothing, once more rows than this are rejected.
    #[param(minimum = 0)]
    max_errors: Option<u64>,
    /// The file's name, for the import history (default `upload`).
    #[param(max_length = 255)]
    file_name: Option<String>,
}

/// Removes a partly received upload unless it was handed to the importer (a client that goes
/// away mid-upload drops the handler, and with it this guard).
struct Spool {
    path: PathBuf,
    handed_over: bool,
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.handed_over {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn upload_file_name(given: Option<&str>) -> Result<String, ApiError> {
    let invalid = |message: &str| {
        ApiError::validation(&ValidationErrors::single("file_name", message.to_owned()))
    };
    let Some(name) = given else {
        return Ok("upload".to_owned());
    };
    // The client's path is not ours: keep the last component.
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(invalid("must be 1 to 255 characters, not a directory"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    Ok(name.to_owned())
}

fn storage_error(e: &std::io::Error) -> ApiError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "upload_space",
            "The server has no room for this upload; nothing was imported.",
        )
    } else {
        tracing::error!(error = %e, "cannot write an upload");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "upload_unavailable",
            "The server cannot store uploads right now; nothing was imported.",
        )
    }
}

/// Uploads a file (the raw body, any size up to `MAX_UPLOAD_BYTES`) and imports it into a data
/// set in the background, created by its first import (admin). The answer is the running
/// import; follow it at its `Location`. A file imported into this data set before answers 200
/// with that earlier import, and nothing is read again.
#[utoipa::path(
    post,
    path = "/datasets/{name}/imports",
    tag = "datasets",
    params(
        ("name" = String, Path, description = "Data set name", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"),
        UploadQuery,
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file as published: Parquet, CSV or gzip-compressed CSV"),
    security(("bearer" = [])),
    responses(
        (status = 202, body = ImportResponse, description = "Importing; progress at `Location`", headers(("Location" = String, description = "The import's URL"))),
        (status = 200, body = ImportResponse, description = "This file is in the data set already: its earlier import"),
        (status = 400, body = ErrorBody, description = "`upload_interrupted`: the body ended early"),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`builtin_dataset`: the built-in set cannot be imported into"),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: over `MAX_UPLOAD_BYTES`"),
        (status = 422, body = ErrorBody, description = "`validation_error` (name, kind, format, max_errors, file_name, body) or `import_failed`: the file cannot be read as the kind given"),
        (status = 503, body = ErrorBody, description = "`upload_unavailable`: the upload directory cannot be written"),
        (status = 507, body = ErrorBody, description = "`upload_space`: no room for the file"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %_user.0.id, dataset = %name))]
pub(crate) async fn upload_import(
    state: web::Data<AppState>,
    name: web::Path<String>,
    QueryParams(query): QueryParams<UploadQuery>,
    _user: AdminUser,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let dataset = DatasetName::parse(&name).map_err(|e| ApiError::validation(&e.into()))?;
    if dataset.is_builtin() {
        return Err(pi_domain::data::DataError::Builtin.into());
    }
    let file_name = upload_file_name(query.file_name.as_deref())?;
    let uploads = &state.uploads;
    let max_bytes = uploads.max_upload_bytes();
    let path = uploads
        .upload_dir()
        .join(format!("{}.upload", Uuid::now_v7()));
    let mut spool = Spool {
        path: path.clone(),
        handed_over: false,
    };
    let file = match tokio::fs::File::create(&path).await {
        // The directory was removed under us (a temp-dir cleaner): make it again.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| storage_error(&e))?;
            }
            tokio::fs::File::create(&path).await
        }
        other => other,
    }
    .map_err(|e| storage_error(&e))?;
    let mut file = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "upload_interrupted",
                "The upload ended before its end; nothing was imported.",
            )
        })?;
        bytes += chunk.len() as u64;
        if bytes > max_bytes {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The file is over the {max_bytes}-byte upload limit."),
            ));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| storage_error(&e))?;
    }
    file.flush().await.map_err(|e| storage_error(&e))?;
    drop(file);
    if bytes == 0 {
        return Err(ApiError::validation(&ValidationErrors::single(
            "body",
            "the file is empty",
        )));
    }
    let upload = Upload {
        dataset: dataset.as_str().to_owned(),
        kind: match query.kind {
            UploadKind::Places => ImportKind::Places,
            UploadKind::Patterns => ImportKind::Patterns,
        },
        format: query.format.map(|f| {
            match f {
                UploadFormat::Overture => "overture",
                UploadFormat::Foursquare => "foursquare",
                UploadFormat::Csv => "csv",
            }
            .to_owned()
        }),
        file_name,
        path,
        sha256: format!("{:x}", hasher.finalize()),
        bytes,
        options: ImportOptions {
            max_errors: query.max_errors,
        },
    };
    // From here the importer owns the file (and deletes it, whatever happens).
    spool.handed_over = true;
    let report = uploads.start(upload).await?;
    let location = format!(
        "/datasets/{}/imports/{}",
        dataset.as_str(),
        report.import.id
    );
    let body = ImportResponse::from(report.import);
    Ok(if report.already_imported {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Accepted()
            .insert_header((actix_web::http::header::LOCATION, location))
            .json(body)
    })
}

/// One import, with its counts so far while it runs (admin).
#[utoipa::path(
    get,
    path = "/datasets/{name}/imports/{id}",
    tag = "datasets",
    params(
        ("name" = String, Path, description = "Data set name", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"),
        ("id" = Uuid, Path, description = "Import id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`import_not_found`"),
        (status = 422, body = ErrorBody, description = "`validation_error` (name)"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %_user.0.id))]
pub(crate) async fn get_import(
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    _user: AdminUser,
) -> Result<web::Json<ImportResponse>, ApiError> {
    let (name, id) = path.into_inner();
    DatasetName::parse(&name).map_err(|e| ApiError::validation(&e.into()))?;
    match state.data.import_record(id).await? {
        Some(record) if record.dataset == name => Ok(web::Json(record.into())),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "import_not_found",
            format!("No import {id} into `{name}`."),
        )),
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/datasets").route(web::get().to(list_datasets)))
        .service(web::resource("/datasets/{name}").route(web::delete().to(drop_dataset)))
        .service(web::resource("/datasets/{name}/activate").route(web::post().to(activate_dataset)))
        .service(
            web::resource("/datasets/{name}/imports")
                .route(web::get().to(list_imports))
                .route(web::post().to(upload_import)),
        )
        .service(web::resource("/datasets/{name}/imports/{id}").route(web::get().to(get_import)));
}
