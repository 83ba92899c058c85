//! `nearby_competitors`: places of the same category near a place, nearest first.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{PlaceId, check_limit};
use super::metadata::Metadata;
use super::place::Place;
use super::spec::AnalyticsTool;
use crate::catalog::NONE;
use crate::dataset::Dataset;
use crate::model::annual_visits;

/// The `nearby_competitors` tool.
#[derive(Debug, Clone, Copy)]
pub struct NearbyCompetitors;

/// Arguments of `nearby_competitors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NearbyCompetitorsArgs {
    /// The place to find competitors of.
    pub place_id: PlaceId,
    /// Search radius in km, 0–50 (default 3).
    #[serde(default)]
    pub radius_km: Option<f64>,
    /// Results, 1–50 (default 10).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Output of `nearby_competitors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearbyCompetitorsOutput {
    pub origin: Place,
    pub radius_km: f64,
    /// Competitors within the radius, before the limit.
    pub total: usize,
    /// Nearest first.
    pub competitors: Vec<Competitor>,
    pub metadata: Metadata,
}

/// A competitor: a place of the same category (another brand, unless the origin is independent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Competitor {
    #[serde(flatten)]
    pub place: Place,
    /// Its annual visits vs the origin's × 100.
    pub visits_index_vs_origin: f64,
}

impl AnalyticsTool for NearbyCompetitors {
    const NAME: &'static str = "nearby_competitors";
    const DESCRIPTION: &'static str = "Places of the same category near a place (other brands, or any if it is independent), by distance, with annual visits and an index vs the place.";
    type Args = NearbyCompetitorsArgs;
    type Output = NearbyCompetitorsOutput;

    fn example() -> Value {
        json!({"place_id": "place:0", "radius_km": 3, "limit": 5})
    }

    fn run(data: &Dataset, args: NearbyCompetitorsArgs) -> Result<NearbyCompetitorsOutput, String> {
        let o = args.place_id.index(data)?;
        let radius = args.radius_km.unwrap_or(3.0);
        if !radius.is_finite() || radius <= 0.0 || radius > 50.0 {
            return Err(format!("radius_km must be in (0, 50] (got {radius})"));
        }
        let limit = check_limit("limit", args.limit, 10, 50)?;
        let origin = &data.pois[o as usize];
        let origin_visits = annual_visits(data, origin);
        let mut hits: Vec<(u32, f64)> = data
            .places_within(f64::from(origin.lat), f64::from(origin.lon), radius)
            .into_iter()
            .filter(|(i, _)| {
                let p = &data.pois[*i as usize];
                *i != o
                    && p.category == origin.category
                    && (origin.chain == NONE || p.chain != origin.chain)
            })
            .collect();
        hits.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(NearbyCompetitorsOutput {
            origin: Place::new(data, o, None),
            radius_km: radius,
            total: hits.len(),
            competitors: hits
                .iter()
                .take(limit)
                .map(|(i, d)| Competitor {
                    place: Place::new(data, *i, Some(*d)),
                    visits_index_vs_origin: (annual_visits(data, &data.pois[*i as usize])
                        / origin_visits
                        * 100.0)
                        .round(),
                })
                .collect(),
            metadata: Metadata::of(data),
        })
    }
}
