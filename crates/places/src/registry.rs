//! The analytics tools as `pi_domain::tools::Tool`s over a lazily built data set.
//!
//! Building the `default` data set takes a moment, so the server starts a background build at
//! start-up ([`PlacesData::spawn_build`]) and the first tool call waits for it on the blocking
//! pool — never on an async worker, and never before the HTTP listener is open. A stored data
//! set loads in a task of its own (see `Imports::current`).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pi_domain::agent::ToolSchema;
use pi_domain::data::{DatasetReader, GroupDays, VisitFields};
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

/// A load's outcome, shared by every call waiting for it.
type LoadResult = Option<Result<Arc<ImportedSet>, String>>;

/// The stored data sets: which is active (re-read after [`ACTIVE_TTL`]), the loaded one and the
/// one loading.
struct Imports {
    reader: Arc<dyn DatasetReader>,
    active: tokio::sync::Mutex<Option<(Instant, ActiveView)>>,
    sets: Arc<std::sync::Mutex<Sets>>,
}

/// The loaded set and the load under way, if any.
#[derive(Default)]
struct Sets {
    ready: Option<Arc<ImportedSet>>,
    loading: Option<Loading>,
    /// The last load that failed, when, and why: not tried again for [`RETRY_LOAD_AFTER`].
    failed: Option<Failed>,
}

/// A version whose load failed.
struct Failed {
    name: String,
    version: DateTime<Utc>,
    at: Instant,
    error: String,
}

/// How long a failed load is not tried again: calls meanwhile answer from the loaded version of
/// the set, if there is one, or fail at once with the load's error, rather than each starting a
/// load against a database that is not answering.
pub const RETRY_LOAD_AFTER: Duration = Duration::from_secs(5);

/// A load running in a task of its own: a call that gives up waiting (a client that
/// disconnects) does not cancel it, and every call waiting for the same version shares it.
struct Loading {
    name: String,
    version: DateTime<Utc>,
    done: tokio::sync::watch::Receiver<LoadResult>,
}

impl Imports {
    /// The active stored set, loaded; `None` when the built-in set is active. While a newer
    /// version of the loaded set is indexed, calls answer from the loaded one; a call for a set
    /// not loaded yet waits for it (answers never come from a set other than the active one).
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
        let mut done = {
            let mut sets = self
                .sets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let ready = sets.ready.clone();
            if let Some(set) = &ready
                && set.name == name
                && set.version == version
            {
                return Ok(Some(Arc::clone(set)));
            }
            if let Some(f) = &sets.failed
                && f.name == name
                && f.version == version
                && f.at.elapsed() < RETRY_LOAD_AFTER
            {
                return match ready.filter(|set| set.name == name) {
                    Some(set) => Ok(Some(set)),
                    None => Err(f.error.clone()),
                };
            }
            let done = match &sets.loading {
                // A load whose task ended without a word (it panicked) is started again.
                Some(l)
                    if l.name == name && l.version == version && l.done.has_changed().is_ok() =>
                {
                    l.done.clone()
                }
                _ => {
                    let done = self.spawn_load(&name, version);
                    sets.loading = Some(Loading {
                        name: name.clone(),
                        version,
                        done: done.clone(),
                    });
                    done
                }
            };
            if let Some(set) = ready.filter(|set| set.name == name) {
                return Ok(Some(set));
            }
            done
        };
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| format!("the data set `{name}` stopped loading"))?
            .clone();
        outcome
            .unwrap_or_else(|| Err(format!("the data set `{name}` stopped loading")))
            .map(Some)
    }

    /// Loads a version of a set in a task of its own; on success it becomes the ready set
    /// (if it is still the one wanted), on failure it is tried again after
    /// [`RETRY_LOAD_AFTER`].
    fn spawn_load(
        &self,
        name: &str,
        version: DateTime<Utc>,
    ) -> tokio::sync::watch::Receiver<LoadResult> {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let reader = Arc::clone(&self.reader);
        let sets = Arc::clone(&self.sets);
        let name = name.to_owned();
        tokio::spawn(async move {
            let result = load(reader.as_ref(), &name, version).await.map(Arc::new);
            {
                let mut sets = sets
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let wanted = sets
                    .loading
                    .as_ref()
                    .is_some_and(|l| l.name == name && l.version == version);
                if wanted {
                    sets.loading = None;
                    match &result {
                        Ok(set) => {
                            sets.ready = Some(Arc::clone(set));
                            sets.failed = None;
                        }
                        Err(error) => {
                            sets.failed = Some(Failed {
                                name: name.clone(),
                                version,
                                at: Instant::now(),
                                error: error.clone(),
                            });
                        }
                    }
                }
            }
            tx.send_replace(Some(result));
        });
        rx
    }

    /// Runs a tool on a stored set: its visits are read for this call only.
    async fn call(&self, set: Arc<ImportedSet>, name: &'static str, args: Value) -> ToolOutput {
        if name == "compare_performance" {
            return self.compare(set, args).await;
        }
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

impl Imports {
    /// `compare_performance` on a stored set: each chain's or category's daily totals are read
    /// where a call (on any replica) kept them for this version of the set; the others are
    /// computed from their places' visit counts, read for this call, and kept in the background.
    /// A failure to read or keep totals only costs the next call the same work.
    async fn compare(&self, set: Arc<ImportedSet>, args: Value) -> ToolOutput {
        let groups = match crate::imported::tools::compare_groups(&set, &args) {
            Ok(groups) => groups,
            Err(message) => return ToolOutput::error(message),
        };
        let keys: Vec<String> = groups.iter().filter_map(|(k, _)| k.clone()).collect();
        let kept: std::collections::HashMap<String, GroupDays> =
            match self.reader.group_days(&set.name, set.version, &keys).await {
                Ok(kept) => kept.into_iter().collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read kept totals");
                    Default::default()
                }
            };
        let mut needed: Vec<u32> = groups
            .into_iter()
            .filter(|(k, _)| k.as_ref().is_none_or(|k| !kept.contains_key(k)))
            .flat_map(|(_, places)| places)
            .collect();
        needed.sort_unstable();
        needed.dedup();
        let keys: Vec<String> = needed.iter().map(|i| set.key(*i).to_owned()).collect();
        let rows = if keys.is_empty() {
            Vec::new()
        } else {
            match self
                .reader
                .visits(&set.name, &keys, VisitFields::Counts)
                .await
            {
                Ok(rows) => rows,
                Err(e) => return ToolOutput::error(format!("cannot read visits: {e}")),
            }
        };
        // Kept totals only: a few sums, answered here rather than on the blocking pool.
        let (result, computed) = if rows.is_empty() && needed.is_empty() {
            let (out, computed) =
                crate::imported::tools::run_compare(&set, &Visits::default(), &kept, args);
            (Ok(out), computed)
        } else {
            let worker = Arc::clone(&set);
            match tokio::task::spawn_blocking(move || {
                let visits = Visits::new(&worker, rows);
                crate::imported::tools::run_compare(&worker, &visits, &kept, args)
            })
            .await
            {
                Ok((out, computed)) => (Ok(out), computed),
                Err(e) => (Err(e), Vec::new()),
            }
        };
        if !computed.is_empty() {
            // Kept after the answer: a write waiting behind an import's commit delays no one.
            let reader = Arc::clone(&self.reader);
            tokio::spawn(async move {
                for (key, days) in computed {
                    if let Err(e) = reader
                        .keep_group_days(&set.name, set.version, &key, &days)
                        .await
                    {
                        tracing::warn!(error = %e, group = %key, "cannot keep a comparison's totals");
                    }
                }
            });
        }
        finish("compare_performance", result)
    }
}

/// Reads a stored set page by page and indexes it.
async fn load(
    reader: &dyn DatasetReader,
    name: &str,
    version: DateTime<Utc>,
) -> Result<ImportedSet, String> {
    let started = Instant::now();
    let coverage = reader
        .coverage(name)
        .await
        .map_err(|e| format!("cannot read the data set `{name}`: {e}"))?;
    let mut builder = ImportedSet::builder(name, version, coverage);
    let mut after: Option<String> = None;
    loop {
        let page = reader
            .places(name, after.clone(), LOAD_PAGE)
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
    Ok(set)
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
                sets: Arc::default(),
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

    /// The loaded stored set's name, places and index bytes a place (`None`: none loaded).
    pub fn loaded_set(&self) -> Option<(String, usize, f64)> {
        let sets = self
            .imports
            .as_ref()?
            .sets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let set = sets.ready.as_ref()?;
        Some((set.name.clone(), set.places.len(), set.bytes_per_place()))
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use pi_domain::RepoError;
    use pi_domain::data::{Coverage, PlaceRecord, StoredPlace, VisitRecord};

    /// A stored data set whose page reads wait for a permit, so a test decides when a load
    /// finishes; `loads` counts the loads begun.
    struct Gated {
        active: std::sync::Mutex<(String, DateTime<Utc>)>,
        gate: tokio::sync::Semaphore,
        loads: AtomicUsize,
        /// Loads fail (the database is away).
        fail: std::sync::atomic::AtomicBool,
        /// Page reads panic (a bug).
        panic: std::sync::atomic::AtomicBool,
    }

    impl Gated {
        fn new(name: &str) -> Arc<Self> {
            Arc::new(Self {
                active: std::sync::Mutex::new((name.to_owned(), Utc::now())),
                gate: tokio::sync::Semaphore::new(0),
                loads: AtomicUsize::new(0),
                fail: std::sync::atomic::AtomicBool::new(false),
                panic: std::sync::atomic::AtomicBool::new(false),
            })
        }

        /// A new active set or version.
        fn activate(&self, name: &str) {
            *self.active.lock().unwrap() = (name.to_owned(), Utc::now());
        }
    }

    #[async_trait]
    impl DatasetReader for Gated {
        async fn active_version(&self) -> Result<Option<(String, DateTime<Utc>)>, RepoError> {
            Ok(Some(self.active.lock().unwrap().clone()))
        }

        async fn coverage(&self, _dataset: &str) -> Result<Coverage, RepoError> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            if self.fail.load(Ordering::SeqCst) {
                return Err(RepoError::unavailable("down", "connection refused"));
            }
            Ok(Coverage::default())
        }

        async fn places(
            &self,
            dataset: &str,
            _after: Option<String>,
            _limit: u32,
        ) -> Result<Vec<StoredPlace>, RepoError> {
            self.gate.acquire().await.unwrap().forget();
            assert!(!self.panic.load(Ordering::SeqCst), "a page read panicked");
            Ok(vec![StoredPlace {
                record: PlaceRecord {
                    key: "k1".into(),
                    name: format!("{dataset} cafe"),
                    brand: None,
                    category: Some("coffee_shop".into()),
                    sub_category: None,
                    lat: 30.27,
                    lon: -97.74,
                    street: None,
                    city: None,
                    region: None,
                    postcode: None,
                    country: None,
                    confidence: None,
                    closed: false,
                },
                recent_visits: 1,
            }])
        }

        async fn visits(
            &self,
            _dataset: &str,
            _keys: &[String],
            _fields: VisitFields,
        ) -> Result<Vec<(String, VisitRecord)>, RepoError> {
            Ok(Vec::new())
        }

        async fn group_days(
            &self,
            _dataset: &str,
            _version: DateTime<Utc>,
            _groups: &[String],
        ) -> Result<Vec<(String, GroupDays)>, RepoError> {
            Ok(Vec::new())
        }

        async fn keep_group_days(
            &self,
            _dataset: &str,
            _version: DateTime<Utc>,
            _group: &str,
            _days: &GroupDays,
        ) -> Result<(), RepoError> {
            Ok(())
        }
    }

    fn imports(data: &PlacesData) -> &Imports {
        data.imports.as_ref().unwrap()
    }

    /// Forgets which set is active, as [`ACTIVE_TTL`] passing would.
    async fn expire(data: &PlacesData) {
        *imports(data).active.lock().await = None;
    }

    #[tokio::test]
    async fn a_call_that_gives_up_does_not_cancel_the_load() {
        let reader = Gated::new("ours");
        let data = PlacesData::with_datasets(Scale::Small, 1, reader.clone());
        let gave_up =
            tokio::time::timeout(Duration::from_millis(50), imports(&data).current()).await;
        assert!(gave_up.is_err(), "the load waits for the gate");
        reader.gate.add_permits(1);
        let set = imports(&data).current().await.unwrap().unwrap();
        assert_eq!(set.place_name(0), "ours cafe");
        assert_eq!(reader.loads.load(Ordering::SeqCst), 1, "one load, finished");
    }

    #[tokio::test]
    async fn a_new_version_loads_while_the_old_one_answers() {
        let reader = Gated::new("ours");
        let data = PlacesData::with_datasets(Scale::Small, 1, reader.clone());
        reader.gate.add_permits(1);
        let old = imports(&data).current().await.unwrap().unwrap();
        reader.activate("ours");
        expire(&data).await;
        let meanwhile = tokio::time::timeout(Duration::from_secs(2), imports(&data).current())
            .await
            .expect("the loaded version answers at once")
            .unwrap()
            .unwrap();
        assert_eq!(meanwhile.version, old.version);
        reader.gate.add_permits(1);
        let mut newer = None;
        for _ in 0..200 {
            let set = imports(&data).current().await.unwrap().unwrap();
            if set.version != old.version {
                newer = Some(set);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(newer.is_some(), "the new version replaces the old one");
        assert_eq!(reader.loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_load_is_not_retried_by_every_call() {
        let reader = Gated::new("ours");
        let data = PlacesData::with_datasets(Scale::Small, 1, reader.clone());
        reader.gate.add_permits(1);
        let old = imports(&data).current().await.unwrap().unwrap();
        reader.fail.store(true, Ordering::SeqCst);
        reader.activate("ours");
        for _ in 0..10 {
            expire(&data).await;
            let set = imports(&data).current().await.unwrap().unwrap();
            assert_eq!(set.version, old.version, "the loaded version answers");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            reader.loads.load(Ordering::SeqCst),
            2,
            "one failed load, not ten"
        );

        // A set with no loaded version fails at once with the load's error, also not retried.
        reader.activate("other");
        expire(&data).await;
        let first = imports(&data).current().await.unwrap_err();
        expire(&data).await;
        let again = imports(&data).current().await.unwrap_err();
        assert!(first.contains("connection refused"), "{first}");
        assert_eq!(again, first);
        assert_eq!(reader.loads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_load_that_panics_is_started_again() {
        let reader = Gated::new("ours");
        let data = PlacesData::with_datasets(Scale::Small, 1, reader.clone());
        reader.panic.store(true, Ordering::SeqCst);
        reader.gate.add_permits(2);
        let err = imports(&data).current().await.unwrap_err();
        assert!(err.contains("stopped loading"), "{err}");
        reader.panic.store(false, Ordering::SeqCst);
        let set = imports(&data).current().await.unwrap().unwrap();
        assert_eq!(set.place_name(0), "ours cafe");
        assert_eq!(reader.loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn another_set_is_waited_for_not_mixed_in() {
        let reader = Gated::new("first");
        let data = PlacesData::with_datasets(Scale::Small, 1, reader.clone());
        reader.gate.add_permits(1);
        imports(&data).current().await.unwrap().unwrap();
        reader.activate("second");
        expire(&data).await;
        let early = tokio::time::timeout(Duration::from_millis(50), imports(&data).current()).await;
        assert!(
            early.is_err(),
            "no answer from `first` once `second` is active"
        );
        reader.gate.add_permits(1);
        let set = imports(&data).current().await.unwrap().unwrap();
        assert_eq!(set.place_name(0), "second cafe");
    }
}
