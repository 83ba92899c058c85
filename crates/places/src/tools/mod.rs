//! The analytics tools: typed arguments (serde + JSON Schema), typed outputs.
//!
//! Each tool is a module with its arguments, its output and an [`AnalyticsTool`] impl; shared
//! argument types live in [`args`]. Callers that speak JSON use [`TOOLS`] and [`run_json`]: a
//! tool returns its output's JSON or `{"error": message}` naming the problem. Every output
//! carries [`Metadata`] with `synthetic: true`.

pub mod args;
pub mod audience;
pub mod compare_performance;
pub mod distance_between;
mod entity;
mod homes;
pub mod ids;
pub mod list_metros;
pub mod metadata;
pub mod nearby_competitors;
pub mod place;
pub mod place_summary;
pub(crate) mod round;
pub mod search_places;
mod spec;
pub mod trade_area;
pub mod visit_flows;

use serde_json::{Value, json};

pub use args::{DateRangeArgs, EntityRef, EntityType, PlaceId, to_arguments};
pub use audience::{Audience, AudienceArgs, AudienceOutput, Dimension};
pub use compare_performance::{
    ComparePerformance, ComparePerformanceArgs, ComparePerformanceOutput, Metric,
};
pub use distance_between::{DistanceBetween, DistanceBetweenArgs, DistanceBetweenOutput};
pub use ids::{parse_category, parse_chain, parse_metro, parse_place_id};
pub use list_metros::{ListMetros, ListMetrosArgs, ListMetrosOutput};
pub use metadata::Metadata;
pub use nearby_competitors::{NearbyCompetitors, NearbyCompetitorsArgs, NearbyCompetitorsOutput};
pub use place::{Place, place_name};
pub use place_summary::{Granularity, PlaceSummary, PlaceSummaryArgs, PlaceSummaryOutput};
pub use search_places::{
    GeoFilter, SearchPlaces, SearchPlacesArgs, SearchPlacesOutput, geo_candidates,
};
pub use spec::{AnalyticsTool, Encoding, ToolSpec};
pub use trade_area::{OutputGeography, TradeArea, TradeAreaArgs, TradeAreaOutput};
pub use visit_flows::{Direction, GroupBy, VisitFlows, VisitFlowsArgs, VisitFlowsOutput};

use crate::dataset::Dataset;
use crate::model::date_of;

/// Every analytics tool.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec::of::<SearchPlaces>(),
    ToolSpec::of::<PlaceSummary>(),
    ToolSpec::of::<ComparePerformance>(),
    ToolSpec::of::<TradeArea>(),
    ToolSpec::of::<Audience>(),
    ToolSpec::of::<VisitFlows>(),
    ToolSpec::of::<ListMetros>(),
    ToolSpec::of::<NearbyCompetitors>(),
    ToolSpec::of::<DistanceBetween>(),
];

/// Runs a tool by name; returns `(json text, is_error)`. Errors are `{"error": ...}`.
pub fn run_json(data: &Dataset, name: &str, args: Value) -> (String, bool) {
    let error = |message: String| (json!({ "error": message }).to_string(), true);
    match TOOLS.iter().find(|t| t.name == name) {
        None => error(format!("unknown tool {name:?}")),
        Some(tool) => match (tool.run)(data, args) {
            Ok(text) => (text, false),
            Err(message) => error(message),
        },
    }
}

/// Runs a tool by name and parses its JSON (convenient for tests and tools that post-process).
pub fn run(data: &Dataset, name: &str, args: Value) -> Value {
    let (text, _) = run_json(data, name, args);
    serde_json::from_str(&text).unwrap_or_else(|e| json!({ "error": e.to_string() }))
}

/// Convenience for tests: a date string of a day index.
pub fn day_string(day: usize) -> String {
    date_of(day).to_string()
}
