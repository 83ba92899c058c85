//! The analytics tools as `pi_domain::tools::Tool`s over a lazily built data set.
//!
//! Building the `default` data set takes a moment, so the server starts a background build at
//! start-up ([`PlacesData::spawn_build`]) and the first tool call waits for it on the blocking
//! pool — never on an async worker, and never before the HTTP listener is open.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pi_domain::agent::ToolSchema;
use pi_domain::data::{DatasetReader, VisitFields};
use pi_domain::tools::{Tool, ToolContext, ToolOutput, ToolRegistry};
use serde_json::Value;

use crate::dataset::{Dataset, Scale};
use crate::imported::{ImportedSet, Visits};
use crate::tools::{TOOLS, ToolSpec, run_json};

/// How long a replica trusts its view of which data set is active: a switch reaches every
/// replica within this (plus the time to load the new set's places).
pub const ACTIVE_TTL: Duration = Duration::from_secs(1);

/// Stored places read per query while a data set loads.
const LOAD_PAGE: u32 = 20_000;

/// The built-in data set, built on first use (or in the background), and the stored data sets
/// when a reader is given: every tool answers from the active one.
pub struct PlacesData {
    scale: Scale,
    seed: u64,
    cell: OnceLock<Dataset>,
    imports: Option<Imports>,
}

impl std::fmt::Debug for PlacesData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlacesData")
            .field("scale", &self.scale)
            .field("seed", &self.seed)
            .field("imports", &self.imports.is_some())
            .finish_non_exhaustive()
    }
}

type ActiveView = Option<(String, DateTime<Utc>)>;

/// The stored data sets: which is active (re-read after [`ACTIVE_TTL`]) and the loaded one.
struct Imports {
    reader: Arc<dyn DatasetReader>,
    active: tokio::sync::Mutex<Option<(Instant, ActiveView)>>,
    loaded: tokio::sync::Mutex<Option<Arc<ImportedSet>>>,
}

impl Imports {
    /// The active stored set, loaded; `None` when the built-in set is active.
    async fn current(&self) -> Result<Option<Arc<ImportedSet>>, String> {
        let view = {
            let mut active = self.active.lock().await;
            match &*active {
                Some((at, view)) if at.elapsed() < ACTIVE_TTL => view.clone(),
                _ => {
                    let view = self
                        .reader
                        .active_version()
                        .await
                        .map_err(|e| format!("cannot read the active data set: {e}"))?;
                    *active = Some((Instant::now(), view.clone()));
                    view
                }
            }
        };
        let Some((name, version)) = view else {
            return Ok(None);
        };
        let mut loaded = self.loaded.lock().await;
        if let Some(set) = &*loaded
            && set.name == name
            && set.version == version
        {
            return Ok(Some(Arc::clone(set)));
        }
        let started = Instant::now();
        let coverage = self
            .reader
            .coverage(&name)
            .await
            .map_err(|e| format!("cannot read the data set `{name}`: {e}"))?;
        let mut builder = ImportedSet::builder(&name, version, coverage);
        let mut after: Option<String> = None;
        loop {
            let page = self
                .reader
                .places(&name, after.clone(), LOAD_PAGE)
                .await
                .map_err(|e| format!("cannot read the data set `{name}`: {e}"))?;
            let last = page.len() < LOAD_PAGE as usize;
            after = page.last().map(|p| p.record.key.clone());
            builder.add(page);
            if last {
                break;
            }
        }
        let set = tokio::task::spawn_blocking(move || builder.finish())
            .await
            .map_err(|e| format!("cannot index the data set `{name}`: {e}"))?;
        tracing::info!(
            dataset = %name,
            places = set.places.len(),
            unanalysed = set.unanalysed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "imported data set loaded"
        );
        let set = Arc::new(set);
        *loaded = Some(Arc::clone(&set));
        Ok(Some(set))
    }

    /// Runs a tool on a stored set: its visits are read for this call only.
    async fn call(&self, set: Arc<ImportedSet>, name: &'static str, args: Value) -> ToolOutput {
        let needed = match crate::imported::tools::places_needed(&set, name, &args) {
            Ok(needed) => needed,
            Err(message) => return ToolOutput::error(message),
        };
        let rows = if needed.is_empty() {
            Vec::new()
        } else {
            let keys: Vec<String> = needed.iter().map(|i| set.key(*i).to_owned()).collect();
            // A comparison may read thousands of places: their counts only.
            let fields = if name == "compare_performance" {
                VisitFields::Counts
            } else {
                VisitFields::All
            };
            match self.reader.visits(&set.name, &keys, fields).await {
                Ok(rows) => rows,
                Err(e) => return ToolOutput::error(format!("cannot read visits: {e}")),
            }
        };
        let result = tokio::task::spawn_blocking(move || {
            let visits = Visits::new(&set, rows);
            crate::imported::tools::run_json(&set, &visits, name, args)
        })
        .await;
        finish(name, result)
    }
}

impl PlacesData {
    /// A lazy data set of `scale` and `seed`.
    pub fn new(scale: Scale, seed: u64) -> Arc<Self> {
        Arc::new(Self {
            scale,
            seed,
            cell: OnceLock::new(),
            imports: None,
        })
    }

    /// [`PlacesData::new`], answering from the active stored data set when one is active.
    pub fn with_datasets(scale: Scale, seed: u64, reader: Arc<dyn DatasetReader>) -> Arc<Self> {
        Arc::new(Self {
            scale,
            seed,
            cell: OnceLock::new(),
            imports: Some(Imports {
                reader,
                active: tokio::sync::Mutex::new(None),
                loaded: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The data set, building it on this thread if needed (blocking).
    pub fn get(&self) -> &Dataset {
        self.cell.get_or_init(|| {
            let started = std::time::Instant::now();
            let data = Dataset::build(self.scale, self.seed);
            tracing::info!(
                scale = self.scale.as_str(),
                seed = self.seed,
                places = data.pois.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "analytics data set built"
            );
            data
        })
    }

    /// Whether the data set is ready.
    pub fn is_ready(&self) -> bool {
        self.cell.get().is_some()
    }

    /// Starts building on a background thread (no-op once built).
    pub fn spawn_build(self: &Arc<Self>) {
        let this = Arc::clone(self);
        std::thread::Builder::new()
            .name("places-build".into())
            .spawn(move || {
                this.get();
            })
            .map(drop)
            .unwrap_or_else(
                |e| tracing::warn!(error = %e, "could not start the data-set build thread"),
            );
    }
}

/// One analytics tool bound to the shared data set.
#[derive(Debug)]
struct PlacesTool {
    spec: &'static ToolSpec,
    data: Arc<PlacesData>,
}

#[async_trait]
impl Tool for PlacesTool {
    fn schema(&self) -> ToolSchema {
        ToolSchema {
            name: self.spec.name.to_owned(),
            description: self.spec.description.to_owned(),
            parameters: (self.spec.schema)(),
        }
    }

    async fn call(&self, _ctx: &ToolContext, args: Value) -> ToolOutput {
        let name = self.spec.name;
        if let Some(imports) = &self.data.imports {
            match imports.current().await {
                Ok(Some(set)) => return imports.call(set, name, args).await,
                Ok(None) => {}
                Err(message) => return ToolOutput::error(message),
            }
        }
        let data = Arc::clone(&self.data);
        let result = tokio::task::spawn_blocking(move || run_json(data.get(), name, args)).await;
        finish(name, result)
    }
}

/// A tool's JSON, or its `{"error": …}` as an error output.
fn finish(name: &str, result: Result<(String, bool), tokio::task::JoinError>) -> ToolOutput {
    match result {
        Ok((json, false)) => ToolOutput::from_json(json),
        Ok((json, true)) => {
            let message = serde_json::from_str::<Value>(&json)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(json);
            ToolOutput::error(message)
        }
        Err(e) => ToolOutput::error(format!("{name} failed: {e}")),
    }
}

/// Registers every analytics tool on `registry`.
pub fn register_tools(registry: &mut ToolRegistry, data: &Arc<PlacesData>) {
    for spec in TOOLS {
        registry.register(Arc::new(PlacesTool {
            spec,
            data: Arc::clone(data),
        }));
    }
}
