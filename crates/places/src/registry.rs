//! The analytics tools as `pi_domain::tools::Tool`s over a lazily built data set.
//!
//! Building the `default` data set takes a moment, so the server starts a background build at
//! start-up ([`PlacesData::spawn_build`]) and the first tool call waits for it on the blocking
//! pool — never on an async worker, and never before the HTTP listener is open.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use pi_domain::agent::ToolSchema;
use pi_domain::tools::{Tool, ToolContext, ToolOutput, ToolRegistry};
use serde_json::Value;

use crate::dataset::{Dataset, Scale};
use crate::tools::{TOOLS, ToolSpec, run_json};

/// A data set built on first use (or in the background), shared by every tool.
#[derive(Debug)]
pub struct PlacesData {
    scale: Scale,
    seed: u64,
    cell: OnceLock<Dataset>,
}

impl PlacesData {
    /// A lazy data set of `scale` and `seed`.
    pub fn new(scale: Scale, seed: u64) -> Arc<Self> {
        Arc::new(Self {
            scale,
            seed,
            cell: OnceLock::new(),
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
        let data = Arc::clone(&self.data);
        let name = self.spec.name;
        match tokio::task::spawn_blocking(move || run_json(data.get(), name, args)).await {
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
