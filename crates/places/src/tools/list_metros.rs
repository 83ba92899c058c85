//! `list_metros`: the metro areas covered.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::metadata::Metadata;
use super::spec::AnalyticsTool;
use crate::dataset::Dataset;

/// The `list_metros` tool.
#[derive(Debug, Clone, Copy)]
pub struct ListMetros;

/// Arguments of `list_metros` (none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMetrosArgs {}

/// Output of `list_metros`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListMetrosOutput {
    /// Largest first.
    pub metros: Vec<MetroInfo>,
    pub metadata: Metadata,
}

/// A covered metro area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetroInfo {
    /// `metro:<slug>`.
    pub id: String,
    /// Principal city.
    pub name: String,
    /// Census metro area title.
    pub title: String,
    /// State of the principal city.
    pub state: String,
    /// 2020 census population.
    pub population: u32,
    /// Centre latitude.
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
    /// Places in the data set.
    pub place_count: usize,
    /// ZIPs in the data set.
    pub zip_count: usize,
}

impl AnalyticsTool for ListMetros {
    const NAME: &'static str = "list_metros";
    const DESCRIPTION: &'static str = "The metro areas covered (the 60 largest U.S. metros), with ids, 2020 census population, centre and place counts.";
    type Args = ListMetrosArgs;
    type Output = ListMetrosOutput;

    fn example() -> Value {
        json!({})
    }

    fn run(data: &Dataset, _: ListMetrosArgs) -> Result<ListMetrosOutput, String> {
        Ok(ListMetrosOutput {
            metros: data
                .metros
                .iter()
                .map(|m| MetroInfo {
                    id: format!("metro:{}", m.def.slug),
                    name: m.def.name.to_owned(),
                    title: m.def.title.to_owned(),
                    state: m.def.state.to_owned(),
                    population: m.def.population,
                    lat: m.def.lat,
                    lon: m.def.lon,
                    place_count: m.places.len(),
                    zip_count: m.zips.len(),
                })
                .collect(),
            metadata: Metadata::of(data),
        })
    }
}
