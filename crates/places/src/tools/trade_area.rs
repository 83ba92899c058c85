//! `get_trade_area_profile`: where a place's visitors live, and the polygon covering most of them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{DateRangeArgs, PlaceId, Range, place_indexes};
use super::homes::home_zips;
use super::metadata::Metadata;
use super::place::place_name;
use super::round::{round1, round3, round6};
use super::spec::AnalyticsTool;
use crate::dataset::Dataset;
use crate::geo::convex_hull;
use crate::model::daily_visits;

/// The `get_trade_area_profile` tool.
#[derive(Debug, Clone, Copy)]
pub struct TradeArea;

/// How a trade area is reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputGeography {
    /// By home ZIP (default).
    #[default]
    Zip,
    /// By home city.
    City,
    /// By distance band.
    DistanceBand,
    /// By census block group (imported data sets whose home areas are block groups).
    BlockGroup,
    /// By census tract (imported data sets: block groups or tracts, by FIPS prefix).
    Tract,
    /// By county (imported data sets: block groups or tracts, by FIPS prefix).
    County,
}

impl OutputGeography {
    /// Census geographies, which only imported home areas carry.
    pub fn is_census(self) -> bool {
        matches!(self, Self::BlockGroup | Self::Tract | Self::County)
    }
}

/// Arguments of `get_trade_area_profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TradeAreaArgs {
    /// 1–10 place ids.
    pub place_ids: Vec<PlaceId>,
    #[serde(flatten)]
    pub dates: DateRangeArgs,
    /// `zip` (default), `city` or `distance_band`; imported data sets: also `block_group`,
    /// `tract` or `county` (their default is the finest their home areas give).
    #[serde(default)]
    #[schemars(skip_serializing_if = "Option::is_none")]
    pub output_geography: Option<OutputGeography>,
    /// Share of visits the polygon must cover, 1–100 (default 70).
    #[serde(default)]
    pub traffic_volume_pct: Option<f64>,
}

/// Output of `get_trade_area_profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeAreaOutput {
    pub start_date: String,
    pub end_date: String,
    /// One per requested place, in request order.
    pub profiles: Vec<TradeAreaProfile>,
    pub metadata: Metadata,
}

/// The trade area of one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeAreaProfile {
    pub place_id: String,
    pub place_name: String,
    pub total_visits: u64,
    pub output_geography: OutputGeography,
    /// Largest share first (at most 50); distance bands nearest first.
    pub geo_units: Vec<GeoUnit>,
    /// Home areas with visitors (ZIPs, or an imported set's census units).
    pub home_zip_count: usize,
    /// None when nothing locates the homes (census units without `distance_from_home`).
    pub median_distance_km: Option<f64>,
    pub traffic_volume_pct: f64,
    /// Share of visits from the areas inside the polygon (census units: the fewest units
    /// covering `traffic_volume_pct`).
    pub covered_share: f64,
    /// None when the homes cannot be placed on a map (census units: no centroids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polygon: Option<Polygon>,
}

/// Visits from one home ZIP, city or distance band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoUnit {
    /// The 5-digit ZIP, `City, ST`, or the band (`0-2 km`).
    pub id: String,
    /// `City, ST` of a ZIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub visits: u64,
    pub share: f64,
    /// Average distance from the place; a band's upper bound (none for the last band).
    pub distance_km: Option<f64>,
}

/// A GeoJSON polygon of `[lon, lat]` rings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    /// `Polygon`.
    #[serde(rename = "type")]
    pub kind: String,
    pub coordinates: Vec<Vec<[f64; 2]>>,
}

pub(crate) fn weighted_median(mut items: Vec<(f64, f64)>) -> f64 {
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = items.iter().map(|i| i.1).sum();
    let mut acc = 0.0;
    for (value, weight) in &items {
        acc += weight;
        if acc >= total / 2.0 {
            return *value;
        }
    }
    items.last().map_or(0.0, |i| i.0)
}

/// Home ZIPs, cities or distance bands with their visits.
fn geo_units(
    data: &Dataset,
    zips: &[(u32, f64, f64)],
    total: u64,
    geography: OutputGeography,
) -> Vec<GeoUnit> {
    let visits = |share: f64| (share * total as f64).round() as u64;
    match geography {
        // Census geographies are refused before: the built-in set places homes by ZIP.
        OutputGeography::Zip
        | OutputGeography::BlockGroup
        | OutputGeography::Tract
        | OutputGeography::County => zips
            .iter()
            .take(50)
            .map(|(z, d, s)| {
                let zip = &data.zips[*z as usize];
                let city = &data.cities[zip.city as usize];
                GeoUnit {
                    id: format!("{:05}", zip.code),
                    name: Some(format!("{}, {}", city.name, city.state)),
                    visits: visits(*s),
                    share: round3(*s),
                    distance_km: Some(round1(*d)),
                }
            })
            .collect(),
        OutputGeography::City => {
            let mut cities: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
            for (z, d, s) in zips {
                let e = cities.entry(data.zips[*z as usize].city).or_default();
                e.0 += s;
                e.1 += s * d;
            }
            let mut list: Vec<(u32, f64, f64)> = cities
                .into_iter()
                .map(|(c, (s, sd))| (c, s, sd / s))
                .collect();
            list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            list.iter()
                .take(50)
                .map(|(c, s, d)| {
                    let city = &data.cities[*c as usize];
                    GeoUnit {
                        id: format!("{}, {}", city.name, city.state),
                        name: None,
                        visits: visits(*s),
                        share: round3(*s),
                        distance_km: Some(round1(*d)),
                    }
                })
                .collect()
        }
        OutputGeography::DistanceBand => {
            distance_bands(zips.iter().map(|(_, d, s)| (*d, *s)), total)
        }
    }
}

/// Shares of visits by distance from the place (nearest band first), from `(km, share)` pairs;
/// a band's visits are its share of `total`.
pub(crate) fn distance_bands(items: impl Iterator<Item = (f64, f64)>, total: u64) -> Vec<GeoUnit> {
    const BANDS: [(&str, f64); 5] = [
        ("0-2 km", 2.0),
        ("2-5 km", 5.0),
        ("5-10 km", 10.0),
        ("10-20 km", 20.0),
        ("20+ km", f64::INFINITY),
    ];
    let mut shares = [0.0; 5];
    for (d, s) in items {
        let b = BANDS.iter().position(|(_, upper)| d < *upper).unwrap_or(4);
        shares[b] += s;
    }
    BANDS
        .iter()
        .zip(shares)
        .map(|((label, upper), s)| GeoUnit {
            id: (*label).to_owned(),
            name: None,
            visits: (s * total as f64).round() as u64,
            share: round3(s),
            distance_km: upper.is_finite().then_some(*upper),
        })
        .collect()
}

fn profile(
    data: &Dataset,
    i: u32,
    range: Range,
    geography: OutputGeography,
    pct: f64,
) -> TradeAreaProfile {
    let p = &data.pois[i as usize];
    let total: u64 = range.indexes().map(|d| daily_visits(data, i, d)).sum();
    let zips = home_zips(data, i);
    // The polygon: nearest ZIPs until they cover the requested share of visits.
    let mut by_distance = zips.clone();
    by_distance.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut covered = 0.0;
    let mut ring = vec![[f64::from(p.lon), f64::from(p.lat)]];
    for (z, _, s) in &by_distance {
        if covered >= pct / 100.0 {
            break;
        }
        covered += s;
        let zip = &data.zips[*z as usize];
        ring.push([f64::from(zip.lon), f64::from(zip.lat)]);
    }
    let hull: Vec<[f64; 2]> = convex_hull(&ring)
        .into_iter()
        .map(|[x, y]| [round6(x), round6(y)])
        .collect();
    TradeAreaProfile {
        place_id: format!("place:{i}"),
        place_name: place_name(data, i),
        total_visits: total,
        output_geography: geography,
        geo_units: geo_units(data, &zips, total, geography),
        home_zip_count: zips.len(),
        median_distance_km: Some(round1(weighted_median(
            zips.iter().map(|(_, d, s)| (*d, *s)).collect(),
        ))),
        traffic_volume_pct: pct,
        covered_share: round3(covered.min(1.0)),
        polygon: Some(Polygon {
            kind: "Polygon".into(),
            coordinates: vec![hull],
        }),
    }
}

impl AnalyticsTool for TradeArea {
    const NAME: &'static str = "get_trade_area_profile";
    const DESCRIPTION: &'static str = "Where a place's visitors live: home ZIPs (or cities, or distance bands) with visits, share and distance, the median travel distance, and a polygon covering a given share of traffic (default 70%).";
    type Args = TradeAreaArgs;
    type Output = TradeAreaOutput;

    fn example() -> Value {
        json!({"place_ids": ["place:0"], "start_date": "2025-01-01", "end_date": "2025-12-31", "output_geography": "zip", "traffic_volume_pct": 70})
    }

    fn run(data: &Dataset, args: TradeAreaArgs) -> Result<TradeAreaOutput, String> {
        let ids = place_indexes(data, &args.place_ids, "place_ids", 10)?;
        let range = args.dates.range()?;
        let pct = args.traffic_volume_pct.unwrap_or(70.0);
        if !pct.is_finite() || !(1.0..=100.0).contains(&pct) {
            return Err(format!(
                "traffic_volume_pct must be between 1 and 100 (got {pct})"
            ));
        }
        let geography = args.output_geography.unwrap_or_default();
        if geography.is_census() {
            return Err(
                "the built-in data set places visitors' homes by ZIP: ask for output_geography zip, city or distance_band"
                    .into(),
            );
        }
        Ok(TradeAreaOutput {
            start_date: range.start.to_string(),
            end_date: range.end.to_string(),
            profiles: ids
                .iter()
                .map(|&i| profile(data, i, range, geography, pct))
                .collect(),
            metadata: Metadata::of(data),
        })
    }
}
