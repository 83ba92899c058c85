//! The analytics tools (SPEC §8): typed arguments (serde + JSON Schema), JSON results.
//!
//! Every tool returns `Ok(json)` or `Err(message)`; the registry turns errors into
//! `{"error": message}` for the model. Every result carries `metadata.synthetic = true`.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Months, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::catalog::{CHAINS, Category, SEGMENTS, STREETS, affinity, name_parts};
use crate::dataset::{Dataset, NONE};
use crate::geo::{convex_hull, haversine_km, point_in_polygon};
use crate::model::{
    self, FIRST_DAY, LAST_DAY, annual_visits, daily_visits, date_of, day_index, dwell,
    hourly_shares, visit_frequency,
};
use crate::rng::{hash, unit};

/// A tool's outcome: JSON, or a message naming the problem.
pub type ToolResult = Result<Value, String>;

/// How a tool produces its result.
#[derive(Debug, Clone, Copy)]
pub enum Runner {
    /// Builds a JSON value (small results).
    Value(fn(&Dataset, Value) -> ToolResult),
    /// Serialises typed structs straight to JSON text (large results); includes `metadata`.
    Text(fn(&Dataset, Value) -> Result<String, String>),
}

/// A tool: name, description, argument schema and handler.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    /// Name.
    pub name: &'static str,
    /// Description for the model.
    pub description: &'static str,
    /// JSON Schema of the arguments.
    pub schema: fn() -> Value,
    /// Runs the tool.
    pub run: Runner,
    /// Example arguments (documentation and tests).
    pub example: fn() -> Value,
}

fn schema_of<T: JsonSchema>() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(map) = value.as_object_mut() {
        map.remove("$schema");
        map.remove("title");
    }
    value
}

fn parse<T: serde::de::DeserializeOwned>(args: Value) -> Result<T, String> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| format!("invalid arguments: {e}"))
}

fn metadata(data: &Dataset) -> Value {
    json!({
                "synthetic": true,
                "source": "Pi synthetic foot-traffic model over real US ZIP geography",
                "note": "Brand names are real; every figure is synthetic and for demonstration only.",
                "scale": data.scale.as_str(),
                "seed": data.seed,
                "data_range": {"start": FIRST_DAY.to_string(), "end": LAST_DAY.to_string()},
    })
}

fn with_metadata(data: &Dataset, mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.insert("metadata".into(), metadata(data));
    }
    value
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------------
// Identifiers, names, dates.

/// A place id (`place:<n>`) to its index.
pub fn parse_place_id(data: &Dataset, id: &str) -> Result<u32, String> {
    let n = id
        .trim()
        .strip_prefix("place:")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (*n as usize) < data.pois.len())
        .ok_or_else(|| format!("unknown place id {id:?} (expected e.g. \"place:123\")"))?;
    Ok(n)
}

/// A chain reference (`chain:starbucks`, `starbucks` or `Starbucks`) to its index.
pub fn parse_chain(id: &str) -> Result<u16, String> {
    let key = id
        .trim()
        .strip_prefix("chain:")
        .unwrap_or(id.trim())
        .to_lowercase();
    CHAINS
        .iter()
        .position(|c| c.slug == key || c.name.to_lowercase() == key)
        .map(|c| c as u16)
        .ok_or_else(|| format!("unknown chain {id:?}"))
}

/// A metro reference (`metro:austin`, `austin`, `Austin`) to its index.
pub fn parse_metro(data: &Dataset, id: &str) -> Result<u16, String> {
    let key = id
        .trim()
        .strip_prefix("metro:")
        .unwrap_or(id.trim())
        .to_lowercase();
    let slug = key.replace([' ', '.'], "-").replace("--", "-");
    data.metros
        .iter()
        .position(|m| {
            m.def.slug == slug
                || m.def.name.to_lowercase() == key
                || m.def.title.to_lowercase() == key
        })
        .map(|m| m as u16)
        .ok_or_else(|| format!("unknown metro {id:?} (see list_metros)"))
}

fn parse_category(s: &str) -> Result<Category, String> {
    Category::parse(s).ok_or_else(|| {
        format!(
            "unknown category {s:?} (one of: {})",
            crate::catalog::CATEGORIES
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Display name of a place.
pub fn place_name(data: &Dataset, index: u32) -> String {
    let p = &data.pois[index as usize];
    if p.chain != NONE {
        return CHAINS[p.chain as usize].name.to_owned();
    }
    let (first, second) = name_parts(p.category);
    let h = hash(&[u64::from(p.seed), 0x4e41_4d45]);
    if p.category == Category::Mall {
        let city = &data.cities[data.zips[p.zip as usize].city as usize].name;
        return format!("{city} {}", second[(h % second.len() as u64) as usize]);
    }
    format!(
        "{} {}",
        first[(h % first.len() as u64) as usize],
        second[((h >> 20) % second.len() as u64) as usize]
    )
}

fn address(p: &crate::dataset::Poi) -> String {
    let h = hash(&[u64::from(p.seed), 0x4144_4452]);
    format!(
        "{} {}",
        100 + h % 9_800,
        STREETS[((h >> 24) % STREETS.len() as u64) as usize]
    )
}

fn tags_of(p: &crate::dataset::Poi) -> Vec<&'static str> {
    let mut tags = vec![p.category.as_str()];
    if p.chain == NONE {
        tags.push("independent");
    } else {
        let chain = &CHAINS[p.chain as usize];
        tags.push("chain");
        tags.extend_from_slice(chain.tags);
    }
    tags
}

fn place_json(data: &Dataset, index: u32, distance_km: Option<f64>) -> Value {
    let p = &data.pois[index as usize];
    let zip = &data.zips[p.zip as usize];
    let city = &data.cities[zip.city as usize];
    let mut v = json!({
        "id": format!("place:{index}"),
        "name": place_name(data, index),
        "chain_id": (p.chain != NONE).then(|| format!("chain:{}", CHAINS[p.chain as usize].slug)),
        "category": p.category.as_str(),
        "address": address(p),
        "city": city.name,
        "state": city.state,
        "zip": format!("{:05}", zip.code),
        "lat": round6(f64::from(p.lat)),
        "lon": round6(f64::from(p.lon)),
        "metro_id": (p.metro != NONE).then(|| format!("metro:{}", data.metros[p.metro as usize].def.slug)),
        "sqft": p.sqft,
        "annual_visits": annual_visits(data, p).round() as u64,
        "tags": tags_of(p),
    });
    if let (Some(d), Some(map)) = (distance_km, v.as_object_mut()) {
        map.insert("distance_km".into(), json!(round3(d)));
    }
    v
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A validated date range inside the data.
#[derive(Debug, Clone, Copy)]
struct Range {
    start: NaiveDate,
    end: NaiveDate,
}

impl Range {
    fn parse(start: Option<&str>, end: Option<&str>) -> Result<Self, String> {
        let parse_one =
            |name: &str, s: Option<&str>, default: NaiveDate| -> Result<NaiveDate, String> {
                match s {
                    None => Ok(default),
                    Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                        .map_err(|_| format!("{name} {s:?} is not a date (YYYY-MM-DD)")),
                }
            };
        let default_start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or(FIRST_DAY);
        let start = parse_one("start_date", start, default_start)?;
        let end = parse_one("end_date", end, LAST_DAY)?;
        if end < start {
            return Err(format!("end_date {end} is before start_date {start}"));
        }
        if start < FIRST_DAY || end > LAST_DAY {
            return Err(format!(
                "dates must lie within {FIRST_DAY} and {LAST_DAY} (got {start} to {end})"
            ));
        }
        Ok(Self { start, end })
    }

    fn days(&self) -> usize {
        (self.end - self.start).num_days() as usize + 1
    }

    fn indexes(&self) -> std::ops::RangeInclusive<usize> {
        day_index(self.start)..=day_index(self.end)
    }

    /// The same range one year earlier, if inside the data.
    fn previous_year(&self) -> Option<Self> {
        let start = self.start.checked_sub_months(Months::new(12))?;
        let end = self.end.checked_sub_months(Months::new(12))?;
        (start >= FIRST_DAY).then_some(Self { start, end })
    }

    /// The period of equal length right before, if inside the data.
    fn previous_period(&self) -> Option<Self> {
        let len = chrono::Duration::days(self.days() as i64);
        let start = self.start - len;
        (start >= FIRST_DAY).then_some(Self {
            start,
            end: self.start - chrono::Duration::days(1),
        })
    }
}

fn pct_change(now: f64, before: f64) -> Option<f64> {
    (before > 0.0).then(|| round1((now / before - 1.0) * 100.0))
}

fn check_limit(name: &str, value: Option<u32>, default: u32, max: u32) -> Result<usize, String> {
    let v = value.unwrap_or(default);
    if v == 0 || v > max {
        return Err(format!("{name} must be between 1 and {max} (got {v})"));
    }
    Ok(v as usize)
}

fn check_lat_lon(lat: f64, lon: f64) -> Result<(), String> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(format!("latitude {lat} is out of range (-90..90)"));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(format!("longitude {lon} is out of range (-180..180)"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// search_places

/// Where to search.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GeoFilter {
    /// Within `radius_km` of a point (results carry `distance_km`).
    PointRadius {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// Radius in km (0–100).
        radius_km: f64,
    },
    /// Inside a latitude/longitude box.
    BoundingBox {
        /// South edge.
        min_lat: f64,
        /// West edge.
        min_lon: f64,
        /// North edge.
        max_lat: f64,
        /// East edge.
        max_lon: f64,
    },
    /// Inside a metro area (name or `metro:` id, see list_metros).
    Metro {
        /// Metro name or id.
        name: String,
    },
    /// Inside a polygon given as `[[lon, lat], ...]` (at least 3 points).
    Polygon {
        /// Ring of `[lon, lat]` points.
        coordinates: Vec<[f64; 2]>,
    },
}

/// Arguments of `search_places`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchPlacesArgs {
    /// Geographic filter.
    pub geo: GeoFilter,
    /// Categories, e.g. `["coffee"]`.
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    /// Chains, e.g. `["chain:starbucks"]` or `["Starbucks"]`.
    #[serde(default)]
    pub chains: Option<Vec<String>>,
    /// Case-insensitive text in the name, address or city.
    #[serde(default)]
    pub text: Option<String>,
    /// Tags every result must have, e.g. `["drive_thru"]`.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Minimum annual visits.
    #[serde(default)]
    pub min_visits: Option<f64>,
    /// Page size, 1–100 (default 25).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Results to skip (default 0).
    #[serde(default)]
    pub offset: Option<u32>,
}

/// Place indexes matching a geo filter, with distances for point-radius.
pub fn geo_candidates(data: &Dataset, geo: &GeoFilter) -> Result<Vec<(u32, Option<f64>)>, String> {
    Ok(match geo {
        GeoFilter::PointRadius {
            lat,
            lon,
            radius_km,
        } => {
            check_lat_lon(*lat, *lon)?;
            if !radius_km.is_finite() || *radius_km <= 0.0 || *radius_km > 100.0 {
                return Err(format!("radius_km must be in (0, 100] (got {radius_km})"));
            }
            data.places_within(*lat, *lon, *radius_km)
                .into_iter()
                .map(|(i, d)| (i, Some(d)))
                .collect()
        }
        GeoFilter::BoundingBox {
            min_lat,
            min_lon,
            max_lat,
            max_lon,
        } => {
            check_lat_lon(*min_lat, *min_lon)?;
            check_lat_lon(*max_lat, *max_lon)?;
            if min_lat >= max_lat || min_lon >= max_lon {
                return Err("bounding_box needs min_lat < max_lat and min_lon < max_lon".into());
            }
            data.places_in_envelope([*min_lon, *min_lat], [*max_lon, *max_lat])
                .filter(|i| {
                    let p = &data.pois[*i as usize];
                    let (lat, lon) = (f64::from(p.lat), f64::from(p.lon));
                    lat >= *min_lat && lat <= *max_lat && lon >= *min_lon && lon <= *max_lon
                })
                .map(|i| (i, None))
                .collect()
        }
        GeoFilter::Metro { name } => {
            let m = parse_metro(data, name)?;
            data.metros[m as usize]
                .places
                .iter()
                .map(|i| (*i, None))
                .collect()
        }
        GeoFilter::Polygon { coordinates } => {
            if coordinates.len() < 3 {
                return Err("polygon needs at least 3 [lon, lat] points".into());
            }
            for [lon, lat] in coordinates {
                check_lat_lon(*lat, *lon)?;
            }
            let min_lon = coordinates
                .iter()
                .map(|c| c[0])
                .fold(f64::INFINITY, f64::min);
            let max_lon = coordinates
                .iter()
                .map(|c| c[0])
                .fold(f64::NEG_INFINITY, f64::max);
            let min_lat = coordinates
                .iter()
                .map(|c| c[1])
                .fold(f64::INFINITY, f64::min);
            let max_lat = coordinates
                .iter()
                .map(|c| c[1])
                .fold(f64::NEG_INFINITY, f64::max);
            data.places_in_envelope([min_lon, min_lat], [max_lon, max_lat])
                .filter(|i| {
                    let p = &data.pois[*i as usize];
                    point_in_polygon(f64::from(p.lon), f64::from(p.lat), coordinates)
                })
                .map(|i| (i, None))
                .collect()
        }
    })
}

fn search_places(data: &Dataset, args: Value) -> ToolResult {
    let args: SearchPlacesArgs = parse(args)?;
    let limit = check_limit("limit", args.limit, 25, 100)?;
    let offset = args.offset.unwrap_or(0) as usize;
    let categories: Option<Vec<Category>> = args
        .categories
        .as_ref()
        .map(|cs| {
            cs.iter()
                .map(|c| parse_category(c))
                .collect::<Result<_, _>>()
        })
        .transpose()?;
    let chains: Option<Vec<u16>> = args
        .chains
        .as_ref()
        .map(|cs| cs.iter().map(|c| parse_chain(c)).collect::<Result<_, _>>())
        .transpose()?;
    let text = args
        .text
        .as_ref()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty());
    let tags: Vec<String> = args
        .tags
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|t| t.to_lowercase())
        .collect();
    if let Some(min) = args.min_visits
        && (!min.is_finite() || min < 0.0)
    {
        return Err(format!(
            "min_visits must be a non-negative number (got {min})"
        ));
    }
    let point = matches!(args.geo, GeoFilter::PointRadius { .. });
    let mut hits: Vec<(u32, Option<f64>, f64)> = geo_candidates(data, &args.geo)?
        .into_iter()
        .filter(|(i, _)| {
            let p = &data.pois[*i as usize];
            categories
                .as_ref()
                .is_none_or(|cs| cs.contains(&p.category))
                && chains.as_ref().is_none_or(|cs| cs.contains(&p.chain))
                && (tags.is_empty() || {
                    let own = tags_of(p);
                    tags.iter().all(|t| own.contains(&t.as_str()))
                })
                && text.as_ref().is_none_or(|t| {
                    let zip = &data.zips[p.zip as usize];
                    place_name(data, *i).to_lowercase().contains(t.as_str())
                        || address(p).to_lowercase().contains(t.as_str())
                        || data.cities[zip.city as usize]
                            .name
                            .to_lowercase()
                            .contains(t.as_str())
                })
        })
        .map(|(i, d)| (i, d, annual_visits(data, &data.pois[i as usize])))
        .filter(|(_, _, visits)| args.min_visits.is_none_or(|m| *visits >= m))
        .collect();
    if point {
        hits.sort_by(|a, b| {
            a.1.unwrap_or(0.0)
                .total_cmp(&b.1.unwrap_or(0.0))
                .then(a.0.cmp(&b.0))
        });
    } else {
        hits.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    }
    let total = hits.len();
    let places: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(i, d, _)| place_json(data, *i, *d))
        .collect();
    Ok(json!({ "places": places, "total": total, "limit": limit, "offset": offset }))
}

// ---------------------------------------------------------------------------------------------
// get_place_summary

/// Period granularity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One value per day.
    Day,
    /// One value per ISO week (labelled by its Monday).
    Week,
    /// One value per month (default).
    #[default]
    Month,
}

/// Arguments of `get_place_summary`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceSummaryArgs {
    /// 1–20 place ids (`place:…`).
    pub place_ids: Vec<String>,
    /// First day, YYYY-MM-DD (default 2025-01-01).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day, YYYY-MM-DD (default 2025-12-31).
    #[serde(default)]
    pub end_date: Option<String>,
    /// `day`, `week` or `month` (default).
    #[serde(default)]
    pub granularity: Option<Granularity>,
    /// Add an index vs the same category in the same metro (100 = average).
    #[serde(default)]
    pub include_benchmark: Option<bool>,
    /// Add totals across all requested places.
    #[serde(default)]
    pub include_rollup: Option<bool>,
}

fn period_label(date: NaiveDate, granularity: Granularity) -> String {
    match granularity {
        Granularity::Day => date.to_string(),
        Granularity::Week => {
            let monday =
                date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()));
            monday.to_string()
        }
        Granularity::Month => format!("{:04}-{:02}", date.year(), date.month()),
    }
}

/// Daily visits of a place over a range.
fn daily_series(data: &Dataset, index: u32, range: Range) -> Vec<u64> {
    range
        .indexes()
        .map(|d| daily_visits(data, index, d))
        .collect()
}

/// Sums daily values into periods; labels are made only when a period starts.
fn bucket(
    data: &Dataset,
    daily: &[u64],
    range: Range,
    granularity: Granularity,
) -> Vec<(String, u64)> {
    let first = day_index(range.start);
    if granularity == Granularity::Day {
        return daily
            .iter()
            .enumerate()
            .map(|(offset, v)| (data.day_labels[first + offset].clone(), *v))
            .collect();
    }
    let key = |date: NaiveDate| match granularity {
        Granularity::Week => date.iso_week().week() + 100 * date.iso_week().year() as u32,
        _ => date.month() + 100 * date.year() as u32,
    };
    let mut out: Vec<(String, u64)> = Vec::new();
    let mut current = None;
    for (offset, visits) in daily.iter().enumerate() {
        let date = range.start + chrono::Duration::days(offset as i64);
        let k = key(date);
        match out.last_mut() {
            Some((_, total)) if current == Some(k) => *total += visits,
            _ => {
                current = Some(k);
                out.push((period_label(date, granularity), *visits));
            }
        }
    }
    out
}

#[derive(Serialize)]
struct PeriodOut {
    period: String,
    visits: u64,
}

#[derive(Serialize)]
struct VisitsOut {
    total: u64,
    daily_average: f64,
    by_period: Vec<PeriodOut>,
}

#[derive(Serialize)]
struct BucketOut {
    bucket: &'static str,
    share: f64,
}

#[derive(Serialize)]
struct DwellOut {
    median_minutes: f64,
    avg_minutes: f64,
    histogram: Vec<BucketOut>,
}

#[derive(Serialize)]
struct TrendOut {
    yoy_change_pct: Option<f64>,
    pop_change_pct: Option<f64>,
}

#[derive(Serialize)]
struct PlaceSummaryOut {
    place: Value,
    visits: VisitsOut,
    visitors: u64,
    visit_frequency: f64,
    dwell: DwellOut,
    hourly_distribution: Vec<f64>,
    trend: TrendOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    benchmark: Option<Value>,
}

#[derive(Serialize)]
struct RollupOut {
    place_count: usize,
    visits: VisitsOut,
    visitors: u64,
}

#[derive(Serialize)]
struct SummaryOut {
    start_date: String,
    end_date: String,
    granularity: &'static str,
    places: Vec<PlaceSummaryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollup: Option<RollupOut>,
    metadata: Value,
}

fn visits_out(data: &Dataset, daily: &[u64], range: Range, granularity: Granularity) -> VisitsOut {
    let total: u64 = daily.iter().sum();
    VisitsOut {
        total,
        daily_average: round1(total as f64 / range.days() as f64),
        by_period: bucket(data, daily, range, granularity)
            .into_iter()
            .map(|(period, visits)| PeriodOut { period, visits })
            .collect(),
    }
}

fn get_place_summary(data: &Dataset, args: Value) -> Result<String, String> {
    let args: PlaceSummaryArgs = parse(args)?;
    if args.place_ids.is_empty() || args.place_ids.len() > 20 {
        return Err("place_ids must list 1 to 20 place ids".into());
    }
    let ids: Vec<u32> = args
        .place_ids
        .iter()
        .map(|id| parse_place_id(data, id))
        .collect::<Result<_, _>>()?;
    let range = Range::parse(args.start_date.as_deref(), args.end_date.as_deref())?;
    let granularity = args.granularity.unwrap_or_default();
    let mut rollup_daily = vec![0u64; range.days()];
    let mut rollup_visitors = 0.0;
    let places: Vec<PlaceSummaryOut> = ids
        .iter()
        .map(|&i| {
            let p = &data.pois[i as usize];
            let daily = daily_series(data, i, range);
            let total: u64 = daily.iter().sum();
            for (r, v) in rollup_daily.iter_mut().zip(&daily) {
                *r += v;
            }
            let frequency = visit_frequency(p.category, range.days());
            let visitors = total as f64 / frequency;
            rollup_visitors += visitors;
            let sum_over = |r: Option<Range>| -> Option<u64> {
                r.map(|r| r.indexes().map(|d| daily_visits(data, i, d)).sum())
            };
            let (median, mean, histogram) = dwell(p.category, p.seed);
            PlaceSummaryOut {
                place: place_json(data, i, None),
                visits: visits_out(data, &daily, range, granularity),
                visitors: visitors.round() as u64,
                visit_frequency: round3(frequency),
                dwell: DwellOut {
                    median_minutes: round1(median),
                    avg_minutes: round1(mean),
                    histogram: histogram
                        .iter()
                        .map(|(bucket, share)| BucketOut {
                            bucket,
                            share: round3(*share),
                        })
                        .collect(),
                },
                hourly_distribution: hourly_shares(p.category)
                    .iter()
                    .map(|s| round3(*s))
                    .collect(),
                trend: TrendOut {
                    yoy_change_pct: sum_over(range.previous_year())
                        .and_then(|b| pct_change(total as f64, b as f64)),
                    pop_change_pct: sum_over(range.previous_period())
                        .and_then(|b| pct_change(total as f64, b as f64)),
                },
                benchmark: args
                    .include_benchmark
                    .unwrap_or(false)
                    .then(|| benchmark(data, i)),
            }
        })
        .collect();
    let rollup = args.include_rollup.unwrap_or(false).then(|| RollupOut {
        place_count: ids.len(),
        visits: visits_out(data, &rollup_daily, range, granularity),
        visitors: rollup_visitors.round() as u64,
    });
    let out = SummaryOut {
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        granularity: match granularity {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        },
        places,
        rollup,
        metadata: metadata(data),
    };
    serde_json::to_string(&out).map_err(|e| format!("could not encode the summary: {e}"))
}

fn benchmark(data: &Dataset, index: u32) -> Value {
    let p = &data.pois[index as usize];
    if p.metro == NONE {
        return json!({"available": false, "reason": "place is outside the covered metros"});
    }
    let (sum, count) = data
        .metro_category
        .get(&(p.metro, p.category))
        .copied()
        .unwrap_or((0.0, 0));
    let avg = if count > 0 {
        sum / f64::from(count)
    } else {
        0.0
    };
    json!({
        "available": true,
        "metro_id": format!("metro:{}", data.metros[p.metro as usize].def.slug),
        "category": p.category.as_str(),
        "peer_count": count,
        "index": if avg > 0.0 { round1(f64::from(p.base) / avg * 100.0) } else { 0.0 },
        "note": "100 = the average location of this category in this metro",
    })
}

// ---------------------------------------------------------------------------------------------
// compare_performance

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// One place (`place:…`).
    Place,
    /// A chain (`chain:…` or brand name).
    Chain,
    /// A category (`coffee`, `qsr`, …).
    Category,
}

/// A place, chain or category, optionally limited to a metro.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityRef {
    /// Entity type.
    #[serde(rename = "type")]
    pub kind: EntityType,
    /// Its id.
    pub id: String,
    /// Optional metro (name or `metro:` id) for chains and categories.
    #[serde(default)]
    pub metro: Option<String>,
}

/// Comparison metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Total visits (default).
    #[default]
    Visits,
    /// Unique visitors.
    Visitors,
    /// Median dwell minutes.
    Dwell,
    /// Visits per square foot.
    VisitsPerSqft,
    /// Year-over-year visit change, %.
    Yoy,
}

impl Metric {
    fn as_str(self) -> &'static str {
        match self {
            Self::Visits => "visits",
            Self::Visitors => "visitors",
            Self::Dwell => "dwell",
            Self::VisitsPerSqft => "visits_per_sqft",
            Self::Yoy => "yoy",
        }
    }
}

/// Arguments of `compare_performance`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComparePerformanceArgs {
    /// 1–10 entities.
    pub entities: Vec<EntityRef>,
    /// First day, YYYY-MM-DD (default 2025-01-01).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day, YYYY-MM-DD (default 2025-12-31).
    #[serde(default)]
    pub end_date: Option<String>,
    /// Metric (default `visits`).
    #[serde(default)]
    pub metric: Option<Metric>,
}

/// A resolved entity: label and its places.
struct Entity {
    label: String,
    kind: EntityType,
    metro: Option<u16>,
    places: Vec<u32>,
}

fn resolve_entity(data: &Dataset, e: &EntityRef) -> Result<Entity, String> {
    let metro = e
        .metro
        .as_deref()
        .map(|m| parse_metro(data, m))
        .transpose()?;
    let in_metro = |i: &u32| metro.is_none_or(|m| data.pois[*i as usize].metro == m);
    let (label, places) = match e.kind {
        EntityType::Place => {
            let i = parse_place_id(data, &e.id)?;
            (format!("place:{i}"), vec![i])
        }
        EntityType::Chain => {
            let c = parse_chain(&e.id)?;
            let places: Vec<u32> = data.chain_places[c as usize]
                .iter()
                .copied()
                .filter(in_metro)
                .collect();
            (format!("chain:{}", CHAINS[c as usize].slug), places)
        }
        EntityType::Category => {
            let c = parse_category(&e.id)?;
            let places: Vec<u32> = data.category_places[c as usize]
                .iter()
                .copied()
                .filter(in_metro)
                .collect();
            (format!("category:{}", c.as_str()), places)
        }
    };
    if places.is_empty() {
        return Err(format!(
            "no places for {label}{}",
            metro
                .map(|m| format!(" in metro:{}", data.metros[m as usize].def.slug))
                .unwrap_or_default()
        ));
    }
    Ok(Entity {
        label,
        kind: e.kind,
        metro,
        places,
    })
}

impl Entity {
    /// Visits over day indexes: exact for a place, expected values for chains and categories.
    fn visits(&self, data: &Dataset, days: std::ops::RangeInclusive<usize>) -> f64 {
        if self.kind == EntityType::Place {
            return days
                .map(|d| daily_visits(data, self.places[0], d) as f64)
                .sum();
        }
        // Group base visits by (category, chain) so each day costs one multiply per group.
        let mut groups: HashMap<(Category, u16), f64> = HashMap::new();
        for i in &self.places {
            let p = &data.pois[*i as usize];
            *groups.entry((p.category, p.chain)).or_default() += f64::from(p.base);
        }
        groups
            .iter()
            .map(|((category, chain), base)| {
                let cal = &data.calendar[*category as usize];
                days.clone()
                    .map(|d| base * f64::from(cal[d]) * model::trend(*chain, d))
                    .sum::<f64>()
            })
            .sum()
    }

    fn category(&self, data: &Dataset) -> Category {
        data.pois[self.places[0] as usize].category
    }

    fn value(&self, data: &Dataset, metric: Metric, range: Range) -> Option<f64> {
        let visits = || self.visits(data, range.indexes());
        Some(match metric {
            Metric::Visits => visits(),
            Metric::Visitors => visits() / visit_frequency(self.category(data), range.days()),
            Metric::Dwell => {
                let (sum, weight) = self.places.iter().fold((0.0, 0.0), |(s, w), i| {
                    let p = &data.pois[*i as usize];
                    let (median, _, _) = dwell(p.category, p.seed);
                    (s + median * f64::from(p.base), w + f64::from(p.base))
                });
                sum / weight
            }
            Metric::VisitsPerSqft => {
                let sqft: f64 = self
                    .places
                    .iter()
                    .map(|i| f64::from(data.pois[*i as usize].sqft))
                    .sum();
                visits() / sqft
            }
            Metric::Yoy => {
                let prev = range.previous_year()?;
                pct_change(visits(), self.visits(data, prev.indexes()))?
            }
        })
    }
}

fn months_of(range: Range) -> Vec<Range> {
    let mut out = Vec::new();
    let mut start = range.start;
    while start <= range.end {
        let next_month = NaiveDate::from_ymd_opt(
            if start.month() == 12 {
                start.year() + 1
            } else {
                start.year()
            },
            if start.month() == 12 {
                1
            } else {
                start.month() + 1
            },
            1,
        )
        .unwrap_or(range.end);
        let end = (next_month - chrono::Duration::days(1)).min(range.end);
        out.push(Range { start, end });
        start = next_month;
    }
    out
}

fn compare_performance(data: &Dataset, args: Value) -> ToolResult {
    let args: ComparePerformanceArgs = parse(args)?;
    if args.entities.is_empty() || args.entities.len() > 10 {
        return Err("entities must list 1 to 10 places, chains or categories".into());
    }
    let range = Range::parse(args.start_date.as_deref(), args.end_date.as_deref())?;
    let metric = args.metric.unwrap_or_default();
    let entities: Vec<Entity> = args
        .entities
        .iter()
        .map(|e| resolve_entity(data, e))
        .collect::<Result<_, _>>()?;
    let months = months_of(range);
    let mut totals = Vec::new();
    let series: Vec<Value> = entities
        .iter()
        .map(|e| {
            let total = e.value(data, metric, range);
            let visits = e.visits(data, range.indexes());
            totals.push((e.label.clone(), total, visits));
            json!({
                "entity": e.label,
                "name": entity_name(data, e),
                "metro_id": e.metro.map(|m| format!("metro:{}", data.metros[m as usize].def.slug)),
                "place_count": e.places.len(),
                "metric": metric.as_str(),
                "total": total.map(round3),
                "visits_per_place": round1(visits / e.places.len() as f64),
                "points": months.iter().map(|m| json!({
                    "period": format!("{:04}-{:02}", m.start.year(), m.start.month()),
                    "value": e.value(data, metric, *m).map(round3),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let rank = |values: Vec<(String, Option<f64>)>, metric: &str| {
        let mut values: Vec<(String, f64)> = values
            .into_iter()
            .filter_map(|(l, v)| v.map(|v| (l, v)))
            .collect();
        values.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        json!({
            "metric": metric,
            "ranked": values.iter().enumerate().map(|(i, (l, v))| json!({"entity": l, "value": round3(*v), "rank": i + 1})).collect::<Vec<_>>(),
        })
    };
    let mut rankings = vec![rank(
        totals.iter().map(|(l, t, _)| (l.clone(), *t)).collect(),
        metric.as_str(),
    )];
    if metric != Metric::Visits {
        rankings.push(rank(
            totals
                .iter()
                .map(|(l, _, v)| (l.clone(), Some(*v)))
                .collect(),
            "visits",
        ));
    }
    rankings.push(rank(
        entities
            .iter()
            .zip(&totals)
            .map(|(e, (l, _, v))| (l.clone(), Some(v / e.places.len() as f64)))
            .collect(),
        "visits_per_place",
    ));
    Ok(json!({
        "start_date": range.start.to_string(),
        "end_date": range.end.to_string(),
        "metric": metric.as_str(),
        "series": series,
        "rankings": rankings,
        "method": "Place figures are exact model outputs; chain and category figures sum expected values over their locations.",
    }))
}

fn entity_name(data: &Dataset, e: &Entity) -> String {
    match e.kind {
        EntityType::Place => place_name(data, e.places[0]),
        EntityType::Chain => CHAINS[data.pois[e.places[0] as usize].chain as usize]
            .name
            .to_owned(),
        EntityType::Category => e.category(data).as_str().to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Trade areas and audiences

/// How a trade area is reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputGeography {
    /// By home ZIP (default).
    #[default]
    Zip,
    /// By home city.
    City,
    /// By distance band.
    DistanceBand,
}

/// Arguments of `get_trade_area_profile`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TradeAreaArgs {
    /// 1–10 place ids.
    pub place_ids: Vec<String>,
    /// First day, YYYY-MM-DD (default 2025-01-01).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day, YYYY-MM-DD (default 2025-12-31).
    #[serde(default)]
    pub end_date: Option<String>,
    /// `zip` (default), `city` or `distance_band`.
    #[serde(default)]
    pub output_geography: Option<OutputGeography>,
    /// Share of visits the polygon must cover, 1–100 (default 70).
    #[serde(default)]
    pub traffic_volume_pct: Option<f64>,
}

/// Home-ZIP weights of a place's visitors: (zip index, distance km, share), shares summing to 1.
fn home_zips(data: &Dataset, index: u32) -> Vec<(u32, f64, f64)> {
    let p = &data.pois[index as usize];
    let params = p.category.params();
    let (lat, lon) = (f64::from(p.lat), f64::from(p.lon));
    let mut zips = data.zips_within(lat, lon, f64::from(params.reach_km));
    if zips.is_empty() {
        // Remote place: its own ZIP.
        zips.push((p.zip, 0.0));
    }
    let decay = f64::from(params.decay_km);
    let weights: Vec<(u32, f64, f64)> = zips
        .iter()
        .map(|(z, d)| {
            let jitter = 0.75 + 0.5 * unit(hash(&[u64::from(p.seed), u64::from(*z)]));
            (
                *z,
                *d,
                f64::from(data.zips[*z as usize].weight) * (-d.max(0.3) / decay).exp() * jitter,
            )
        })
        .collect();
    let total: f64 = weights.iter().map(|w| w.2).sum();
    let mut out: Vec<(u32, f64, f64)> = weights
        .into_iter()
        .map(|(z, d, w)| (z, d, w / total))
        .collect();
    out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    out
}

fn weighted_median(mut items: Vec<(f64, f64)>) -> f64 {
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

fn get_trade_area_profile(data: &Dataset, args: Value) -> ToolResult {
    let args: TradeAreaArgs = parse(args)?;
    if args.place_ids.is_empty() || args.place_ids.len() > 10 {
        return Err("place_ids must list 1 to 10 place ids".into());
    }
    let ids: Vec<u32> = args
        .place_ids
        .iter()
        .map(|id| parse_place_id(data, id))
        .collect::<Result<_, _>>()?;
    let range = Range::parse(args.start_date.as_deref(), args.end_date.as_deref())?;
    let pct = args.traffic_volume_pct.unwrap_or(70.0);
    if !pct.is_finite() || !(1.0..=100.0).contains(&pct) {
        return Err(format!(
            "traffic_volume_pct must be between 1 and 100 (got {pct})"
        ));
    }
    let geography = args.output_geography.unwrap_or_default();
    let profiles: Vec<Value> = ids
        .iter()
        .map(|&i| {
            let p = &data.pois[i as usize];
            let total: u64 = range.indexes().map(|d| daily_visits(data, i, d)).sum();
            let zips = home_zips(data, i);
            let units: Vec<Value> = match geography {
                OutputGeography::Zip => zips
                    .iter()
                    .take(50)
                    .map(|(z, d, s)| {
                        let zip = &data.zips[*z as usize];
                        json!({
                            "id": format!("{:05}", zip.code),
                            "name": format!("{}, {}", data.cities[zip.city as usize].name, data.cities[zip.city as usize].state),
                            "visits": (s * total as f64).round() as u64,
                            "share": round3(*s),
                            "distance_km": round1(*d),
                        })
                    })
                    .collect(),
                OutputGeography::City => {
                    let mut cities: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
                    for (z, d, s) in &zips {
                        let e = cities.entry(data.zips[*z as usize].city).or_default();
                        e.0 += s;
                        e.1 += s * d;
                    }
                    let mut list: Vec<(u32, f64, f64)> = cities.into_iter().map(|(c, (s, sd))| (c, s, sd / s)).collect();
                    list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    list.iter()
                        .take(50)
                        .map(|(c, s, d)| {
                            let city = &data.cities[*c as usize];
                            json!({
                                "id": format!("{}, {}", city.name, city.state),
                                "visits": (s * total as f64).round() as u64,
                                "share": round3(*s),
                                "distance_km": round1(*d),
                            })
                        })
                        .collect()
                }
                OutputGeography::DistanceBand => {
                    const BANDS: [(&str, f64); 5] = [("0-2 km", 2.0), ("2-5 km", 5.0), ("5-10 km", 10.0), ("10-20 km", 20.0), ("20+ km", f64::INFINITY)];
                    let mut shares = [0.0; 5];
                    for (_, d, s) in &zips {
                        let b = BANDS.iter().position(|(_, upper)| d < upper).unwrap_or(4);
                        shares[b] += s;
                    }
                    BANDS
                        .iter()
                        .zip(shares)
                        .map(|((label, upper), s)| json!({
                            "id": label,
                            "visits": (s * total as f64).round() as u64,
                            "share": round3(s),
                            "distance_km": if upper.is_finite() { Some(*upper) } else { None },
                        }))
                        .collect()
                }
            };
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
            let hull: Vec<[f64; 2]> = convex_hull(&ring).into_iter().map(|[x, y]| [round6(x), round6(y)]).collect();
            json!({
                "place_id": format!("place:{i}"),
                "place_name": place_name(data, i),
                "total_visits": total,
                "output_geography": match geography { OutputGeography::Zip => "zip", OutputGeography::City => "city", OutputGeography::DistanceBand => "distance_band" },
                "geo_units": units,
                "home_zip_count": zips.len(),
                "median_distance_km": round1(weighted_median(zips.iter().map(|(_, d, s)| (*d, *s)).collect())),
                "traffic_volume_pct": pct,
                "covered_share": round3(covered.min(1.0)),
                "polygon": {"type": "Polygon", "coordinates": [hull]},
            })
        })
        .collect();
    Ok(json!({
        "start_date": range.start.to_string(),
        "end_date": range.end.to_string(),
        "profiles": profiles,
    }))
}

/// Audience dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Age bands.
    Age,
    /// Household income bands.
    Income,
    /// Household size.
    HouseholdSize,
    /// Households with children.
    Kids,
    /// Education.
    Education,
    /// Lifestyle segments.
    Lifestyle,
}

const ALL_DIMENSIONS: [Dimension; 6] = [
    Dimension::Age,
    Dimension::Income,
    Dimension::HouseholdSize,
    Dimension::Kids,
    Dimension::Education,
    Dimension::Lifestyle,
];

impl Dimension {
    fn as_str(self) -> &'static str {
        match self {
            Self::Age => "age",
            Self::Income => "income",
            Self::HouseholdSize => "household_size",
            Self::Kids => "kids",
            Self::Education => "education",
            Self::Lifestyle => "lifestyle",
        }
    }

    fn labels(self) -> &'static [&'static str] {
        match self {
            Self::Age => &["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
            Self::Income => &["<$50k", "$50k-75k", "$75k-100k", "$100k-150k", "$150k+"],
            Self::HouseholdSize => &["1", "2", "3", "4", "5+"],
            Self::Kids => &["with_children", "without_children"],
            Self::Education => &[
                "high_school_or_less",
                "some_college",
                "bachelors",
                "graduate",
            ],
            Self::Lifestyle => SEGMENTS,
        }
    }
}

/// Arguments of `get_audience_profile`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceArgs {
    /// 1–5 places, chains or categories.
    pub entities: Vec<EntityRef>,
    /// First day, YYYY-MM-DD (default 2025-01-01).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day, YYYY-MM-DD (default 2025-12-31).
    #[serde(default)]
    pub end_date: Option<String>,
    /// Dimensions to report (default all).
    #[serde(default)]
    pub dimensions: Option<Vec<Dimension>>,
}

fn bands(values: &[f64], center: f64, sd: f64) -> Vec<f64> {
    let raw: Vec<f64> = values
        .iter()
        .map(|v| (-((v - center) / sd).powi(2) / 2.0).exp())
        .collect();
    let total: f64 = raw.iter().sum();
    raw.into_iter().map(|r| r / total).collect()
}

/// Distribution of one dimension among residents of a ZIP, tilted by the visited category.
fn zip_distribution(data: &Dataset, zip: u32, dim: Dimension, tilt: (f64, f64)) -> Vec<f64> {
    let z = &data.zips[zip as usize];
    let (age_shift, income_mult) = tilt;
    let age = f64::from(z.age) + age_shift;
    let income = f64::from(z.income) * income_mult;
    let h = hash(&[data.seed, u64::from(z.code), 0xA0D1]);
    let urban = if z.metro == NONE {
        0.0
    } else {
        f64::from(z.weight).min(4.0) / 4.0
    };
    match dim {
        Dimension::Age => bands(&[21.0, 29.5, 39.5, 49.5, 59.5, 72.0], age, 16.0),
        Dimension::Income => {
            let mu = income.ln();
            let edges = [50_000.0f64, 75_000.0, 100_000.0, 150_000.0];
            let mut prev = 0.0;
            let mut out = Vec::new();
            for e in edges {
                let c = crate::geo::normal_cdf((e.ln() - mu) / 0.7);
                out.push(c - prev);
                prev = c;
            }
            out.push(1.0 - prev);
            out
        }
        Dimension::HouseholdSize => {
            let center = 2.5 + 0.6 * (1.0 - urban) - (age - 38.0) / 40.0 + 0.3 * (unit(h) - 0.5);
            bands(&[1.0, 2.0, 3.0, 4.0, 5.3], center, 1.3)
        }
        Dimension::Kids => {
            let share = (0.30 + (38.0 - age) / 60.0 + 0.08 * (1.0 - urban)).clamp(0.05, 0.6);
            vec![share, 1.0 - share]
        }
        Dimension::Education => {
            let center = 1.2 + (income / 80_000.0).ln() * 1.2 + 0.5 * urban;
            bands(&[0.0, 1.0, 2.0, 3.0], center, 1.1)
        }
        Dimension::Lifestyle => {
            let rich = (income / 90_000.0).ln();
            let young = (38.0 - age) / 10.0;
            let scores = [
                urban * 2.0 + young,                            // Urban Trailblazers
                urban + young * 0.8 + rich * 0.5,               // Rising Metropolitans
                (1.0 - urban) + rich * 0.4 - young * 0.2,       // Suburban Nesters
                (1.0 - urban) * 0.8 - rich + 0.3,               // Value-Seeking Families
                rich * 2.0,                                     // Affluent Achievers
                (1.0 - urban) * 1.5 - young * 0.3 - rich * 0.3, // Heartland Traditionalists
                young * 1.5 + urban * 0.5 - rich * 0.5,         // Campus & Creatives
                -young * 1.5,                                   // Golden Horizons
            ];
            let raw: Vec<f64> = scores.iter().map(|s| s.exp()).collect();
            let total: f64 = raw.iter().sum();
            raw.into_iter().map(|r| r / total).collect()
        }
    }
}

fn category_tilt(category: Category) -> (f64, f64) {
    use Category::*;
    match category {
        Fitness => (-5.0, 1.05),
        Cinema => (-6.0, 0.95),
        Bar => (-7.0, 1.0),
        Golf => (6.0, 1.35),
        Pharmacy => (6.0, 0.95),
        WholesaleClub => (1.0, 1.15),
        Coffee => (-3.0, 1.08),
        Convenience => (-2.0, 0.85),
        Mall => (-4.0, 1.0),
        Qsr => (-2.0, 0.9),
        FastCasual => (-4.0, 1.1),
        Grocery | BigBox | HomeImprovement => (1.0, 1.0),
    }
}

fn national_profile(data: &Dataset, dim: Dimension) -> Vec<f64> {
    let mut acc = vec![0.0; dim.labels().len()];
    let mut total = 0.0;
    for (i, z) in data.zips.iter().enumerate() {
        let w = f64::from(z.weight);
        for (a, v) in acc
            .iter_mut()
            .zip(zip_distribution(data, i as u32, dim, (0.0, 1.0)))
        {
            *a += w * v;
        }
        total += w;
    }
    acc.into_iter().map(|a| a / total).collect()
}

fn get_audience_profile(data: &Dataset, args: Value) -> ToolResult {
    let args: AudienceArgs = parse(args)?;
    if args.entities.is_empty() || args.entities.len() > 5 {
        return Err("entities must list 1 to 5 places, chains or categories".into());
    }
    let range = Range::parse(args.start_date.as_deref(), args.end_date.as_deref())?;
    let dims = args
        .dimensions
        .clone()
        .unwrap_or_else(|| ALL_DIMENSIONS.to_vec());
    if dims.is_empty() {
        return Err("dimensions must not be empty".into());
    }
    let entities: Vec<Entity> = args
        .entities
        .iter()
        .map(|e| resolve_entity(data, e))
        .collect::<Result<_, _>>()?;
    let national: Vec<(Dimension, Vec<f64>)> = dims
        .iter()
        .map(|d| (*d, national_profile(data, *d)))
        .collect();
    let profiles: Vec<Value> = entities
        .iter()
        .map(|e| {
            // Up to 100 evenly spaced locations stand for a chain or category.
            let step = (e.places.len() / 100).max(1);
            let sample: Vec<u32> = e.places.iter().step_by(step).copied().collect();
            let mut zip_weights: HashMap<u32, f64> = HashMap::new();
            for i in &sample {
                let base = f64::from(data.pois[*i as usize].base);
                for (z, _, s) in home_zips(data, *i) {
                    *zip_weights.entry(z).or_default() += base * s;
                }
            }
            let tilt = category_tilt(e.category(data));
            let mut zips: Vec<(u32, f64)> = zip_weights.into_iter().collect();
            zips.sort_by_key(|z| z.0);
            let total_w: f64 = zips.iter().map(|z| z.1).sum();
            let dimensions: serde_json::Map<String, Value> = national
                .iter()
                .map(|(dim, base)| {
                    let mut acc = vec![0.0; dim.labels().len()];
                    for (z, w) in &zips {
                        for (a, v) in acc.iter_mut().zip(zip_distribution(data, *z, *dim, tilt)) {
                            *a += w / total_w * v;
                        }
                    }
                    let rows: Vec<Value> = dim
                        .labels()
                        .iter()
                        .zip(acc.iter().zip(base))
                        .map(|(label, (share, nat))| json!({
                            "segment": label,
                            "share": round3(*share),
                            "index": if *nat > 0.0 { (share / nat * 100.0).round() } else { 0.0 },
                        }))
                        .collect();
                    (dim.as_str().to_owned(), Value::Array(rows))
                })
                .collect();
            let visits = e.visits(data, range.indexes());
            json!({
                "entity": e.label,
                "name": entity_name(data, e),
                "places_sampled": sample.len(),
                "estimated_visitors": (visits / visit_frequency(e.category(data), range.days())).round(),
                "dimensions": dimensions,
            })
        })
        .collect();
    Ok(json!({
        "start_date": range.start.to_string(),
        "end_date": range.end.to_string(),
        "profiles": profiles,
        "index_note": "index = share / U.S. base share × 100 (100 = in line with the nation)",
    }))
}

// ---------------------------------------------------------------------------------------------
// Visit flows

/// Journey direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitFlowsArgs {
    /// 1–5 origin place ids.
    pub origin_place_ids: Vec<String>,
    /// First day, YYYY-MM-DD (default 2025-01-01).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day, YYYY-MM-DD (default 2025-12-31).
    #[serde(default)]
    pub end_date: Option<String>,
    /// Minutes before the visit to look back, 0–1440 (default 120).
    #[serde(default)]
    pub window_before_minutes: Option<u32>,
    /// Minutes after the visit to look ahead, 0–1440 (default 120).
    #[serde(default)]
    pub window_after_minutes: Option<u32>,
    /// `before`, `after` or `both` (default).
    #[serde(default)]
    pub direction: Option<Direction>,
    /// `place` (default), `chain` or `category`.
    #[serde(default)]
    pub group_by: Option<GroupBy>,
    /// Rows per direction, 1–50 (default 10).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// (name, visits, share of origin visits, distance) of one flow group.
type FlowRow = (String, f64, f64, Option<f64>);

fn get_visit_flows(data: &Dataset, args: Value) -> ToolResult {
    let args: VisitFlowsArgs = parse(args)?;
    if args.origin_place_ids.is_empty() || args.origin_place_ids.len() > 5 {
        return Err("origin_place_ids must list 1 to 5 place ids".into());
    }
    let origins: Vec<u32> = args
        .origin_place_ids
        .iter()
        .map(|id| parse_place_id(data, id))
        .collect::<Result<_, _>>()?;
    let range = Range::parse(args.start_date.as_deref(), args.end_date.as_deref())?;
    let before = args.window_before_minutes.unwrap_or(120);
    let after = args.window_after_minutes.unwrap_or(120);
    if before > 1440 || after > 1440 {
        return Err("window_before_minutes and window_after_minutes must be 0–1440".into());
    }
    let limit = check_limit("limit", args.limit, 10, 50)?;
    let direction = args.direction.unwrap_or_default();
    let group_by = args.group_by.unwrap_or_default();
    let results: Vec<Value> = origins
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
            let flows = |is_before: bool, window: u32| -> Value {
                let rate = 0.35 * (1.0 - (-f64::from(window) / 90.0).exp());
                let weights: Vec<(u32, f64, f64)> = candidates
                    .iter()
                    .map(|(i, d)| {
                        let dest = &data.pois[*i as usize];
                        let aff = if is_before { affinity(dest.category, origin.category) } else { affinity(origin.category, dest.category) };
                        (*i, *d, f64::from(aff) * f64::from(dest.base) * (-d / 2.5).exp())
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
                            NONE => ("independent".to_owned(), "Independent locations".to_owned(), None),
                            c => (format!("chain:{}", CHAINS[c as usize].slug), CHAINS[c as usize].name.to_owned(), None),
                        },
                        GroupBy::Category => (format!("category:{}", dest.category.as_str()), dest.category.as_str().to_owned(), None),
                    };
                    let e = groups.entry(key).or_insert((name, 0.0, 0.0, distance));
                    e.1 += journeys * share;
                    e.2 += share * rate;
                }
                let mut rows: Vec<(String, FlowRow)> = groups.into_iter().collect();
                rows.sort_by(|a, b| b.1.1.total_cmp(&a.1.1).then(a.0.cmp(&b.0)));
                json!({
                    "window_minutes": window,
                    "journey_visits": journeys.round(),
                    "share_of_origin_visits": round3(rate),
                    "flows": rows.iter().take(limit).map(|(id, (name, v, s, d))| {
                        let mut row = json!({"id": id, "name": name, "visits": v.round(), "share_of_origin_visits": round3(*s)});
                        if let (Some(d), Some(map)) = (d, row.as_object_mut()) {
                            map.insert("distance_km".into(), json!(round3(*d)));
                        }
                        row
                    }).collect::<Vec<_>>(),
                })
            };
            let mut v = json!({
                "origin": place_json(data, o, None),
                "origin_visits": visits,
                "group_by": match group_by { GroupBy::Place => "place", GroupBy::Chain => "chain", GroupBy::Category => "category" },
            });
            if let Some(map) = v.as_object_mut() {
                if direction != Direction::After {
                    map.insert("before".into(), flows(true, before));
                }
                if direction != Direction::Before {
                    map.insert("after".into(), flows(false, after));
                }
            }
            v
        })
        .collect();
    Ok(json!({
        "start_date": range.start.to_string(),
        "end_date": range.end.to_string(),
        "results": results,
    }))
}

// ---------------------------------------------------------------------------------------------
// Geo utilities

/// Arguments of `nearby_competitors`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NearbyCompetitorsArgs {
    /// The place to find competitors of.
    pub place_id: String,
    /// Search radius in km, 0–50 (default 3).
    #[serde(default)]
    pub radius_km: Option<f64>,
    /// Results, 1–50 (default 10).
    #[serde(default)]
    pub limit: Option<u32>,
}

fn nearby_competitors(data: &Dataset, args: Value) -> ToolResult {
    let args: NearbyCompetitorsArgs = parse(args)?;
    let o = parse_place_id(data, &args.place_id)?;
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
    let total = hits.len();
    let competitors: Vec<Value> = hits
        .iter()
        .take(limit)
        .map(|(i, d)| {
            let mut v = place_json(data, *i, Some(*d));
            let visits = annual_visits(data, &data.pois[*i as usize]);
            if let Some(map) = v.as_object_mut() {
                map.insert(
                    "visits_index_vs_origin".into(),
                    json!((visits / origin_visits * 100.0).round()),
                );
            }
            v
        })
        .collect();
    Ok(json!({
        "origin": place_json(data, o, None),
        "radius_km": radius,
        "total": total,
        "competitors": competitors,
    }))
}

/// Arguments of `distance_between`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistanceBetweenArgs {
    /// A `place:` or `metro:` id.
    pub from_id: String,
    /// A `place:` or `metro:` id.
    pub to_id: String,
}

fn locate(data: &Dataset, id: &str) -> Result<(String, String, f64, f64), String> {
    if id.trim().starts_with("metro:") {
        let m = &data.metros[parse_metro(data, id)? as usize];
        return Ok((
            format!("metro:{}", m.def.slug),
            m.def.name.to_owned(),
            m.def.lat,
            m.def.lon,
        ));
    }
    let i = parse_place_id(data, id)?;
    let p = &data.pois[i as usize];
    Ok((
        format!("place:{i}"),
        place_name(data, i),
        f64::from(p.lat),
        f64::from(p.lon),
    ))
}

fn distance_between(data: &Dataset, args: Value) -> ToolResult {
    let args: DistanceBetweenArgs = parse(args)?;
    let (from_id, from_name, lat1, lon1) = locate(data, &args.from_id)?;
    let (to_id, to_name, lat2, lon2) = locate(data, &args.to_id)?;
    let km = haversine_km(lat1, lon1, lat2, lon2);
    Ok(json!({
        "from": {"id": from_id, "name": from_name},
        "to": {"id": to_id, "name": to_name},
        "distance_km": round3(km),
        "distance_miles": round3(km / 1.609_344),
        "method": "great-circle (haversine)",
    }))
}

/// Arguments of `list_metros` (none).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMetrosArgs {}

fn list_metros(data: &Dataset, args: Value) -> ToolResult {
    let _: ListMetrosArgs = parse(args)?;
    Ok(json!({
        "metros": data.metros.iter().map(|m| json!({
            "id": format!("metro:{}", m.def.slug),
            "name": m.def.name,
            "title": m.def.title,
            "state": m.def.state,
            "population": m.def.population,
            "lat": m.def.lat,
            "lon": m.def.lon,
            "place_count": m.places.len(),
            "zip_count": m.zips.len(),
        })).collect::<Vec<_>>(),
    }))
}

// ---------------------------------------------------------------------------------------------

/// Every analytics tool.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "search_places",
        description: "Find places (POIs) by geography (point and radius, bounding box, metro or polygon), category, chain, text, tags and minimum annual visits. Results have ids for the other tools, addresses and annual visits; with a point, they are sorted by distance and carry distance_km.",
        schema: schema_of::<SearchPlacesArgs>,
        run: Runner::Value(search_places),
        example: || json!({"geo": {"type": "point_radius", "lat": 30.27, "lon": -97.74, "radius_km": 5}, "categories": ["coffee"], "limit": 10}),
    },
    ToolSpec {
        name: "get_place_summary",
        description: "Foot-traffic summary of places over a date range: visits (total and by day, week or month), unique visitors, visit frequency, dwell time (median, average, histogram), hourly distribution, year-over-year and period-over-period change, optional benchmark vs the same category in the metro, optional rollup.",
        schema: schema_of::<PlaceSummaryArgs>,
        run: Runner::Text(get_place_summary),
        example: || json!({"place_ids": ["place:0"], "start_date": "2025-01-01", "end_date": "2025-12-31", "granularity": "month", "include_benchmark": true}),
    },
    ToolSpec {
        name: "compare_performance",
        description: "Compare places, chains or categories (optionally within a metro) on visits, visitors, dwell, visits per sq ft or year-over-year change: monthly series and rankings.",
        schema: schema_of::<ComparePerformanceArgs>,
        run: Runner::Value(compare_performance),
        example: || json!({"entities": [{"type": "chain", "id": "chain:starbucks", "metro": "new-york"}, {"type": "chain", "id": "chain:dunkin", "metro": "new-york"}], "start_date": "2025-01-01", "end_date": "2025-06-30", "metric": "visits"}),
    },
    ToolSpec {
        name: "get_trade_area_profile",
        description: "Where a place's visitors live: home ZIPs (or cities, or distance bands) with visits, share and distance, the median travel distance, and a polygon covering a given share of traffic (default 70%).",
        schema: schema_of::<TradeAreaArgs>,
        run: Runner::Value(get_trade_area_profile),
        example: || json!({"place_ids": ["place:0"], "start_date": "2025-01-01", "end_date": "2025-12-31", "output_geography": "zip", "traffic_volume_pct": 70}),
    },
    ToolSpec {
        name: "get_audience_profile",
        description: "Who visits places, chains or categories: age, income, household size, kids, education and lifestyle segments, each with an index vs the U.S. base (100 = national average).",
        schema: schema_of::<AudienceArgs>,
        run: Runner::Value(get_audience_profile),
        example: || json!({"entities": [{"type": "place", "id": "place:0"}], "start_date": "2025-01-01", "end_date": "2025-12-31", "dimensions": ["age", "income", "lifestyle"]}),
    },
    ToolSpec {
        name: "get_visit_flows",
        description: "Customer journeys: where visitors of a place were before and went after within a time window, grouped by place, chain or category.",
        schema: schema_of::<VisitFlowsArgs>,
        run: Runner::Value(get_visit_flows),
        example: || json!({"origin_place_ids": ["place:0"], "start_date": "2025-01-01", "end_date": "2025-03-31", "direction": "both", "group_by": "category", "window_after_minutes": 120}),
    },
    ToolSpec {
        name: "list_metros",
        description: "The metro areas covered (the 60 largest U.S. metros), with ids, 2020 census population, centre and place counts.",
        schema: schema_of::<ListMetrosArgs>,
        run: Runner::Value(list_metros),
        example: || json!({}),
    },
    ToolSpec {
        name: "nearby_competitors",
        description: "Places of the same category near a place (other brands, or any if it is independent), by distance, with annual visits and an index vs the place.",
        schema: schema_of::<NearbyCompetitorsArgs>,
        run: Runner::Value(nearby_competitors),
        example: || json!({"place_id": "place:0", "radius_km": 3, "limit": 5}),
    },
    ToolSpec {
        name: "distance_between",
        description: "Great-circle distance between two places or metros, in km and miles.",
        schema: schema_of::<DistanceBetweenArgs>,
        run: Runner::Value(distance_between),
        example: || json!({"from_id": "metro:austin", "to_id": "metro:dallas"}),
    },
];

/// Runs a tool by name; returns `(json text, is_error)`. Errors are `{"error": ...}`.
pub fn run_json(data: &Dataset, name: &str, args: Value) -> (String, bool) {
    let error = |message: String| (json!({ "error": message }).to_string(), true);
    match TOOLS.iter().find(|t| t.name == name) {
        None => error(format!("unknown tool {name:?}")),
        Some(tool) => match tool.run {
            Runner::Value(f) => match f(data, args) {
                Ok(value) => (with_metadata(data, value).to_string(), false),
                Err(message) => error(message),
            },
            Runner::Text(f) => match f(data, args) {
                Ok(text) => (text, false),
                Err(message) => error(message),
            },
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
