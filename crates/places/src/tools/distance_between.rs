//! `distance_between`: great-circle distance between two places or metros.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ids::{parse_metro, parse_place_id};
use super::metadata::Metadata;
use super::place::place_name;
use super::round::round3;
use super::spec::AnalyticsTool;
use crate::dataset::Dataset;
use crate::geo::haversine_km;

/// The `distance_between` tool.
#[derive(Debug, Clone, Copy)]
pub struct DistanceBetween;

/// Arguments of `distance_between`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistanceBetweenArgs {
    /// A `place:` or `metro:` id.
    pub from_id: String,
    /// A `place:` or `metro:` id.
    pub to_id: String,
}

/// Output of `distance_between`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistanceBetweenOutput {
    pub from: Located,
    pub to: Located,
    pub distance_km: f64,
    pub distance_miles: f64,
    /// How the distance is measured.
    pub method: String,
    pub metadata: Metadata,
}

/// A place or metro, by id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located {
    /// `place:<n>` or `metro:<slug>`.
    pub id: String,
    pub name: String,
}

/// A place or metro id to its canonical id, name and (lat, lon).
fn locate(data: &Dataset, id: &str) -> Result<(Located, f64, f64), String> {
    if id.trim().starts_with("metro:") {
        let m = &data.metros[parse_metro(data, id)? as usize];
        let located = Located {
            id: format!("metro:{}", m.def.slug),
            name: m.def.name.to_owned(),
        };
        return Ok((located, m.def.lat, m.def.lon));
    }
    let i = parse_place_id(data, id)?;
    let p = &data.pois[i as usize];
    let located = Located {
        id: format!("place:{i}"),
        name: place_name(data, i),
    };
    Ok((located, f64::from(p.lat), f64::from(p.lon)))
}

impl AnalyticsTool for DistanceBetween {
    const NAME: &'static str = "distance_between";
    const DESCRIPTION: &'static str =
        "Great-circle distance between two places or metros, in km and miles.";
    type Args = DistanceBetweenArgs;
    type Output = DistanceBetweenOutput;

    fn example() -> Value {
        json!({"from_id": "metro:austin", "to_id": "metro:dallas"})
    }

    fn run(data: &Dataset, args: DistanceBetweenArgs) -> Result<DistanceBetweenOutput, String> {
        let (from, lat1, lon1) = locate(data, &args.from_id)?;
        let (to, lat2, lon2) = locate(data, &args.to_id)?;
        let km = haversine_km(lat1, lon1, lat2, lon2);
        Ok(DistanceBetweenOutput {
            from,
            to,
            distance_km: round3(km),
            distance_miles: round3(km / 1.609_344),
            method: "great-circle (haversine)".into(),
            metadata: Metadata::of(data),
        })
    }
}
