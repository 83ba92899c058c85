//! `get_visit_flows`: where visitors of a place were before and went after.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{DateRangeArgs, PlaceId, check_limit, place_indexes};
use super::metadata::Metadata;
use super::place::{Place, place_name};
use super::round::round3;
use super::spec::AnalyticsTool;
use crate::catalog::{CHAINS, NONE, affinity};
use crate::dataset::Dataset;
use crate::model::daily_visits;

/// The `get_visit_flows` tool.
#[derive(Debug, Clone, Copy)]
pub struct VisitFlows;

/// Journey direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Where visitors were before.
    Before,
    /// Where visitors went after.
    After,
    /// Both (default).
    #[default]
    Both,
}

/// Grouping of flows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// By place (default).
    #[default]
    Place,
    /// By chain (independents grouped together).
    Chain,
    /// By category.
    Category,
}

/// Arguments of `get_visit_flows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitFlowsArgs {
    /// 1–5 origin place ids.
    pub origin_place_ids: Vec<PlaceId>,
    #[serde(flatten)]
    pub dates: DateRangeArgs,
    /// Minutes before the visit to look back, 0–1440 (default 120).
    #[serde(default)]
    pub window_before_minutes: Option<u32>,
    /// Minutes after the visit to look ahead, 0–1440 (default 120).
    #[serde(default)]
    pub window_after_minutes: Option<u32>,
    /// `before`, `after` or `both` (default).
    #[serde(default)]
    #[schemars(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// `place` (default), `chain` or `category`.
    #[serde(default)]
    #[schemars(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<GroupBy>,
    /// Rows per direction, 1–50 (default 10).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Output of `get_visit_flows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitFlowsOutput {
    pub start_date: String,
    pub end_date: String,
    /// One per origin, in request order.
    pub results: Vec<OriginFlows>,
    pub metadata: Metadata,
}

/// The journeys around one origin place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginFlows {
    pub origin: Place,
    /// Visits to the origin over the range.
    pub origin_visits: u64,
    pub group_by: GroupBy,
    /// Unless the direction is `after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Flows>,
    /// Unless the direction is `before`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Flows>,
    /// Imported data sets: the brands visitors also went to the same day, in no order
    /// (`related_same_day_brand`), instead of `before` and `after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_day: Option<SameDay>,
}

/// Where an imported set's visitors also went on the day of their visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SameDay {
    /// Visitors over the range (the periods' `raw_visitor_counts`, prorated to the range).
    pub visitors: u64,
    /// Largest share first.
    pub flows: Vec<SameDayFlow>,
}

/// Visitors who also went to one brand (or, summed, to brands of one category) that day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SameDayFlow {
    /// `chain:<slug>` or `category:<name>`.
    pub id: String,
    pub name: String,
    /// Visitors who also went there (a category: visits to its brands, one per brand).
    pub visitors: u64,
    /// Of the origin's visitors.
    pub share_of_visitors: f64,
}

/// Journeys in one direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flows {
    pub window_minutes: u32,
    /// Origin visits with a visit elsewhere inside the window.
    pub journey_visits: f64,
    pub share_of_origin_visits: f64,
    /// Most visits first.
    pub flows: Vec<Flow>,
}

/// Journeys to or from one place, chain or category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// `place:<n>`, `chain:<slug>`, `independent` or `category:<name>`.
    pub id: String,
    pub name: String,
    pub visits: f64,
    pub share_of_origin_visits: f64,
    /// From the origin, for places.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
}

/// (name, visits, share of origin visits, distance) of one flow group.
type FlowRow = (String, f64, f64, Option<f64>);

/// The journeys around one origin, grouped and limited as asked.
struct Journeys<'a> {
    data: &'a Dataset,
    origin: u32,
    /// Visits to the origin over the range.
    visits: u64,
    /// Places near the origin, with distances.
    candidates: Vec<(u32, f64)>,
    group_by: GroupBy,
    limit: usize,
}

impl Journeys<'_> {
    /// Journeys that end at (`is_before`) or start from the origin within `window` minutes.
    fn flows(&self, is_before: bool, window: u32) -> Flows {
        let Self {
            data,
            origin: o,
            visits,
            ref candidates,
            group_by,
            limit,
        } = *self;
        let origin = &data.pois[o as usize];
        let rate = 0.35 * (1.0 - (-f64::from(window) / 90.0).exp());
        let weights: Vec<(u32, f64, f64)> = candidates
            .iter()
            .map(|(i, d)| {
                let dest = &data.pois[*i as usize];
                let aff = if is_before {
                    affinity(dest.category, origin.category)
                } else {
                    affinity(origin.category, dest.category)
                };
                (
                    *i,
                    *d,
                    f64::from(aff) * f64::from(dest.base) * (-d / 2.5).exp(),
                )
            })
            .collect();
        let total_w: f64 = weights.iter().map(|w| w.2).sum();
        let journeys = visits as f64 * rate;
        let mut groups: BTreeMap<String, FlowRow> = BTreeMap::new();
        for (i, d, w) in &weights {
            let share = if total_w > 0.0 { w / total_w } else { 0.0 };
            let dest = &data.pois[*i as usize];
            let (key, name, distance) = match group_by {
                GroupBy::Place => (format!("place:{i}"), place_name(data, *i), Some(*d)),
                GroupBy::Chain => match dest.chain {
                    NONE => (
                        "independent".to_owned(),
                        "Independent locations".to_owned(),
                        None,
                    ),
                    c => (
                        format!("chain:{}", CHAINS[c as usize].slug),
                        CHAINS[c as usize].name.to_owned(),
                        None,
                    ),
                },
                GroupBy::Category => (
                    format!("category:{}", dest.category.as_str()),
                    dest.category.as_str().to_owned(),
                    None,
                ),
            };
            let e = groups.entry(key).or_insert((name, 0.0, 0.0, distance));
            e.1 += journeys * share;
            e.2 += share * rate;
        }
        let mut rows: Vec<(String, FlowRow)> = groups.into_iter().collect();
        rows.sort_by(|a, b| b.1.1.total_cmp(&a.1.1).then(a.0.cmp(&b.0)));
        Flows {
            window_minutes: window,
            journey_visits: journeys.round(),
            share_of_origin_visits: round3(rate),
            flows: rows
                .into_iter()
                .take(limit)
                .map(|(id, (name, v, s, d))| Flow {
                    id,
                    name,
                    visits: v.round(),
                    share_of_origin_visits: round3(s),
                    distance_km: d.map(round3),
                })
                .collect(),
        }
    }
}

impl AnalyticsTool for VisitFlows {
    const NAME: &'static str = "get_visit_flows";
    const DESCRIPTION: &'static str = "Customer journeys: where visitors of a place were before and went after within a time window, grouped by place, chain or category.";
    type Args = VisitFlowsArgs;
    type Output = VisitFlowsOutput;

    fn example() -> Value {
        json!({"origin_place_ids": ["place:0"], "start_date": "2025-01-01", "end_date": "2025-03-31", "direction": "both", "group_by": "category", "window_after_minutes": 120})
    }

    fn run(data: &Dataset, args: VisitFlowsArgs) -> Result<VisitFlowsOutput, String> {
        let origins = place_indexes(data, &args.origin_place_ids, "origin_place_ids", 5)?;
        let range = args.dates.range()?;
        let before = args.window_before_minutes.unwrap_or(120);
        let after = args.window_after_minutes.unwrap_or(120);
        if before > 1440 || after > 1440 {
            return Err("window_before_minutes and window_after_minutes must be 0–1440".into());
        }
        let limit = check_limit("limit", args.limit, 10, 50)?;
        let direction = args.direction.unwrap_or_default();
        let group_by = args.group_by.unwrap_or_default();
        let results = origins
            .iter()
            .map(|&o| {
                let origin = &data.pois[o as usize];
                let visits: u64 = range.indexes().map(|d| daily_visits(data, o, d)).sum();
                let radius = if origin.metro == NONE { 20.0 } else { 8.0 };
                let candidates: Vec<(u32, f64)> = data
                    .places_within(f64::from(origin.lat), f64::from(origin.lon), radius)
                    .into_iter()
                    .filter(|(i, _)| *i != o)
                    .collect();
                let journeys = Journeys {
                    data,
                    origin: o,
                    visits,
                    candidates,
                    group_by,
                    limit,
                };
                OriginFlows {
                    origin: Place::new(data, o, None),
                    origin_visits: visits,
                    group_by,
                    before: (direction != Direction::After).then(|| journeys.flows(true, before)),
                    after: (direction != Direction::Before).then(|| journeys.flows(false, after)),
                    same_day: None,
                }
            })
            .collect();
        Ok(VisitFlowsOutput {
            start_date: range.start.to_string(),
            end_date: range.end.to_string(),
            results,
            metadata: Metadata::of(data),
        })
    }
}
