//! The analytics tools over an imported data set: the same arguments and output types as over
//! the built-in set, figures from the customer's files only. What the files cannot answer is
//! said, never invented.
//!
//! A call is planned first ([`places_needed`]: which places' visits to read), then run on the
//! visits read ([`run_json`]).

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use std::collections::HashMap;

use pi_domain::data::GroupDays;

use super::group_days;
use super::range::Range;
use super::{ImportedSet, NO_BRAND, Visits};
use crate::catalog::{Category, METROS, NONE};
use crate::geo::{haversine_km, point_in_polygon};
use crate::tools::args::{check_lat_lon, check_limit};
use crate::tools::compare_performance::{
    ComparePerformanceArgs, ComparePerformanceOutput, Metric, Point, Ranked, Ranking, Series,
};
use crate::tools::distance_between::{DistanceBetweenArgs, DistanceBetweenOutput, Located};
use crate::tools::list_metros::{ListMetrosOutput, MetroInfo};
use crate::tools::metadata::{DataRange, Metadata};
use crate::tools::nearby_competitors::{
    Competitor, NearbyCompetitorsArgs, NearbyCompetitorsOutput,
};
use crate::tools::place_summary::{
    Benchmark, Dwell, DwellBucket, Granularity, MetroBenchmark, NoBenchmark, PeriodVisits,
    PlaceSummaryArgs, PlaceSummaryOutput, PlaceSummaryRow, Rollup, Trend, Visits as VisitsOut,
};
use crate::tools::round::{pct_change, round1, round3, round6};
use crate::tools::search_places::{GeoFilter, SearchPlacesArgs, SearchPlacesOutput};
use crate::tools::trade_area::{TradeAreaArgs, TradeAreaOutput};
use crate::tools::visit_flows::{
    Direction, GroupBy, OriginFlows, VisitFlowsArgs, VisitFlowsOutput,
};
use crate::tools::{EntityType, Place, parse_category};

/// Places in one `compare_performance` call (their visits are read for it).
const MAX_COMPARED_PLACES: usize = 5_000;

/// The metadata of an imported set's outputs.
fn metadata(set: &ImportedSet) -> Metadata {
    let (start, end) = set.days().map_or((String::new(), String::new()), |(a, b)| {
        (a.to_string(), b.to_string())
    });
    Metadata {
        data_range: DataRange { end, start },
        dataset: Some(set.name.clone()),
        note: format!(
            "Figures from the imported data set `{}` ({} places analysed{}); nothing is modelled or synthetic.",
            set.name,
            set.places.len(),
            if set.unanalysed > 0 {
                format!(", {} outside Pi's categories or closed", set.unanalysed)
            } else {
                String::new()
            }
        ),
        scale: None,
        seed: None,
        source:
            "the customer's imported files (Patterns visits; Overture, Foursquare or CSV places)"
                .into(),
        synthetic: false,
    }
}

/// A place as every tool reports it.
fn place(set: &ImportedSet, i: u32, distance_km: Option<f64>) -> Place {
    let p = &set.places[i as usize];
    let brand = (p.brand != NO_BRAND).then(|| &set.brands[p.brand as usize]);
    let mut tags = vec![p.category.as_str().to_owned()];
    tags.push(
        if brand.is_some() {
            "chain"
        } else {
            "independent"
        }
        .to_owned(),
    );
    Place {
        address: set.street(i).unwrap_or_default().to_owned(),
        annual_visits: u64::from(p.recent_visits),
        category: p.category,
        chain_id: brand.map(|b| format!("chain:{}", b.slug)),
        city: set.city(i).unwrap_or_default().to_owned(),
        distance_km: distance_km.map(round3),
        id: format!("place:{}", set.key(i)),
        lat: round6(p.lat),
        lon: round6(p.lon),
        metro_id: (p.metro != NONE).then(|| format!("metro:{}", METROS[p.metro as usize].slug)),
        name: set.place_name(i).to_owned(),
        sqft: None,
        state: set.region(i).unwrap_or_default().to_owned(),
        tags,
        zip: set.postcode(i).unwrap_or_default().to_owned(),
    }
}

fn parse<T: DeserializeOwned>(args: Value) -> Result<T, String> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| format!("invalid arguments: {e}"))
}

fn metro_index(id: &str) -> Result<u16, String> {
    let key = id.trim();
    let key = key.strip_prefix("metro:").unwrap_or(key).to_lowercase();
    let slug = key.replace([' ', '.'], "-").replace("--", "-");
    METROS
        .iter()
        .position(|m| {
            m.slug == slug || m.name.to_lowercase() == key || m.title.to_lowercase() == key
        })
        .map(|m| m as u16)
        .ok_or_else(|| format!("unknown metro {id:?} (see list_metros)"))
}

/// The places whose visits a call reads (empty: none).
pub fn places_needed(set: &ImportedSet, name: &str, args: &Value) -> Result<Vec<u32>, String> {
    match name {
        "get_place_summary" => {
            let args: PlaceSummaryArgs = parse(args.clone())?;
            ids(set, &args.place_ids, 20)
        }
        "get_trade_area_profile" => {
            let args: TradeAreaArgs = parse(args.clone())?;
            ids(set, &args.place_ids, 10)
        }
        "get_visit_flows" => {
            let args: VisitFlowsArgs = parse(args.clone())?;
            ids(set, &args.origin_place_ids, 5)
        }
        "compare_performance" => {
            let mut all: Vec<u32> = compare_groups(set, args)?
                .into_iter()
                .flat_map(|(_, places)| places)
                .collect();
            all.sort_unstable();
            all.dedup();
            Ok(all)
        }
        _ => Ok(Vec::new()),
    }
}

/// A comparison's entity: the key its daily totals are kept under (`None`: a single place,
/// whose totals are computed per call) and its places.
pub type Group = (Option<String>, Vec<u32>);

/// A comparison's entities, resolved and within the places a call may read.
pub fn compare_groups(set: &ImportedSet, args: &Value) -> Result<Vec<Group>, String> {
    let args: ComparePerformanceArgs = parse(args.clone())?;
    let mut groups = Vec::new();
    let mut all = Vec::new();
    for e in &args.entities {
        let (label, places, metro, _) = entity(set, &e.kind, &e.id, e.metro.as_deref())?;
        all.extend(places.iter().copied());
        groups.push((group_key(&e.kind, &label, metro), places));
    }
    all.sort_unstable();
    all.dedup();
    if all.len() > MAX_COMPARED_PLACES {
        return Err(format!(
            "these entities cover {} places; compare at most {MAX_COMPARED_PLACES} (limit a chain or category to a metro)",
            all.len()
        ));
    }
    Ok(groups)
}

/// What kept totals were computed by: a release that groups places or sums days otherwise
/// (brands, categories, metros, [`group_days::compute`]) changes it, and rows kept by another
/// release (during a rolling deploy) are not read.
const GROUP_FORMAT: &str = "g1";

/// The key a chain's or category's daily totals are kept under: `g1:chain:<slug>@<metro>`
/// (`@` alone: every metro); `None` for a single place.
fn group_key(kind: &EntityType, label: &str, metro: Option<u16>) -> Option<String> {
    (!matches!(kind, EntityType::Place)).then(|| {
        format!(
            "{GROUP_FORMAT}:{label}@{}",
            metro.map_or("", |m| METROS[m as usize].slug)
        )
    })
}

/// Runs `compare_performance` on the daily totals kept for its groups and the visits read for
/// the others: `(json text, is_error)` and the totals computed for groups that had none kept.
pub fn run_compare(
    set: &ImportedSet,
    visits: &Visits,
    kept: &HashMap<String, GroupDays>,
    args: Value,
) -> ((String, bool), Vec<(String, GroupDays)>) {
    let result = parse(args).and_then(|a| compare(set, visits, kept, a));
    match result.and_then(|(out, computed)| {
        serde_json::to_string(&out)
            .map(|text| (text, computed))
            .map_err(|e| e.to_string())
    }) {
        Ok((text, computed)) => ((text, false), computed),
        Err(message) => ((json!({ "error": message }).to_string(), true), Vec::new()),
    }
}

fn ids(set: &ImportedSet, ids: &[crate::tools::PlaceId], max: usize) -> Result<Vec<u32>, String> {
    if ids.is_empty() || ids.len() > max {
        return Err(format!("place_ids must list 1 to {max} place ids"));
    }
    ids.iter().map(|id| set.place_index(&id.0)).collect()
}

/// Runs a tool on the visits read for it: `(json text, is_error)`.
pub fn run_json(set: &ImportedSet, visits: &Visits, name: &str, args: Value) -> (String, bool) {
    fn encode<T: Serialize>(r: Result<T, String>) -> Result<String, String> {
        r.and_then(|out| serde_json::to_string(&out).map_err(|e| e.to_string()))
    }
    let result = match name {
        "search_places" => encode(parse(args).and_then(|a| search(set, a))),
        "get_place_summary" => encode(parse(args).and_then(|a| summary(set, visits, a))),
        "compare_performance" => encode(
            parse(args).and_then(|a| compare(set, visits, &HashMap::new(), a).map(|(out, _)| out)),
        ),
        "nearby_competitors" => encode(parse(args).and_then(|a| nearby(set, a))),
        "distance_between" => encode(parse(args).and_then(|a| distance(set, a))),
        "list_metros" => encode(Ok(metros(set))),
        "get_audience_profile" => Err(format!(
            "the data set `{}` has no demographics: Patterns files carry where visitors live, not who they are, so an audience profile cannot be made from it",
            set.name
        )),
        "get_trade_area_profile" => encode(parse(args).and_then(|a| trade_area(set, visits, a))),
        "get_visit_flows" => encode(parse(args).and_then(|a| flows(set, visits, a))),
        other => Err(format!("unknown tool {other:?}")),
    };
    match result {
        Ok(text) => (text, false),
        Err(message) => (json!({ "error": message }).to_string(), true),
    }
}

fn trade_area(
    set: &ImportedSet,
    visits: &Visits,
    args: TradeAreaArgs,
) -> Result<TradeAreaOutput, String> {
    let places = ids(set, &args.place_ids, 10)?;
    let range = Range::of(set, &args.dates)?;
    let pct = args.traffic_volume_pct.unwrap_or(70.0);
    if !pct.is_finite() || !(1.0..=100.0).contains(&pct) {
        return Err(format!(
            "traffic_volume_pct must be between 1 and 100 (got {pct})"
        ));
    }
    let profiles = places
        .iter()
        .map(|&i| super::homes::trade_profile(set, visits, i, range, args.output_geography, pct))
        .collect::<Result<Vec<_>, _>>()?;
    let mut metadata = metadata(set);
    metadata.note.push_str(
        " Home areas from visitor_home_cbgs (or visitor_home_aggregation): shares are of visitors with a known home, as the publisher counts them; visits = share × the place's visits.",
    );
    Ok(TradeAreaOutput {
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        profiles,
        metadata,
    })
}

fn flows(
    set: &ImportedSet,
    visits: &Visits,
    args: VisitFlowsArgs,
) -> Result<VisitFlowsOutput, String> {
    let origins = ids(set, &args.origin_place_ids, 5)?;
    let range = Range::of(set, &args.dates)?;
    let limit = check_limit("limit", args.limit, 10, 50)?;
    if args.window_before_minutes.is_some() || args.window_after_minutes.is_some() {
        return Err(format!(
            "the data set `{}` gives the brands visitors went to the same day, not within minutes: leave out window_before_minutes and window_after_minutes",
            set.name
        ));
    }
    if matches!(args.direction, Some(Direction::Before | Direction::After)) {
        return Err(format!(
            "the data set `{}` gives the brands visitors went to the same day, in no order: before or after cannot be told (leave out direction)",
            set.name
        ));
    }
    let group_by = args.group_by.unwrap_or(GroupBy::Chain);
    let results = origins
        .iter()
        .map(|&o| {
            let same_day = super::homes::same_day(set, visits, o, range, group_by, limit)?;
            Ok(OriginFlows {
                origin: place(set, o, None),
                origin_visits: visits.total(o, range.start, range.end),
                group_by,
                before: None,
                after: None,
                same_day: Some(same_day),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut metadata = metadata(set);
    metadata.note.push_str(
        " Flows from related_same_day_brand: the share of the place's visitors who also visited each brand that day (a category sums its brands).",
    );
    Ok(VisitFlowsOutput {
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        results,
        metadata,
    })
}

fn search(set: &ImportedSet, args: SearchPlacesArgs) -> Result<SearchPlacesOutput, String> {
    let limit = check_limit("limit", args.limit, 25, 100)?;
    let offset = args.offset.unwrap_or(0) as usize;
    let categories: Option<Vec<Category>> = args
        .categories
        .as_ref()
        .map(|cs| cs.iter().map(|c| parse_category(c)).collect())
        .transpose()?;
    let brands: Option<Vec<u32>> = args
        .chains
        .as_ref()
        .map(|cs| cs.iter().map(|c| set.brand_index(c)).collect())
        .transpose()?;
    let text = args
        .text
        .as_ref()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty());
    let tags: Vec<String> = args
        .tags
        .iter()
        .flatten()
        .map(|t| t.to_lowercase())
        .collect();
    if let Some(min) = args.min_visits
        && (!min.is_finite() || min < 0.0)
    {
        return Err(format!(
            "min_visits must be a non-negative number (got {min})"
        ));
    }
    let candidates: Vec<(u32, Option<f64>)> = match &args.geo {
        GeoFilter::PointRadius {
            lat,
            lon,
            radius_km,
        } => {
            check_lat_lon(*lat, *lon)?;
            if !radius_km.is_finite() || *radius_km <= 0.0 || *radius_km > 100.0 {
                return Err(format!("radius_km must be in (0, 100] (got {radius_km})"));
            }
            set.within(*lat, *lon, *radius_km)
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
            set.in_envelope([*min_lon, *min_lat], [*max_lon, *max_lat])
                .into_iter()
                .filter(|i| {
                    let p = &set.places[*i as usize];
                    p.lat >= *min_lat && p.lat <= *max_lat && p.lon >= *min_lon && p.lon <= *max_lon
                })
                .map(|i| (i, None))
                .collect()
        }
        GeoFilter::Metro { name } => set.metro_places[metro_index(name)? as usize]
            .iter()
            .map(|i| (*i, None))
            .collect(),
        GeoFilter::Polygon { coordinates } => {
            if coordinates.len() < 3 {
                return Err("polygon needs at least 3 [lon, lat] points".into());
            }
            let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
            for c in coordinates {
                check_lat_lon(c[1], c[0])?;
                for k in 0..2 {
                    min[k] = min[k].min(c[k]);
                    max[k] = max[k].max(c[k]);
                }
            }
            set.in_envelope(min, max)
                .into_iter()
                .filter(|i| {
                    let p = &set.places[*i as usize];
                    point_in_polygon(p.lon, p.lat, coordinates)
                })
                .map(|i| (i, None))
                .collect()
        }
    };
    let mut hits: Vec<(u32, Option<f64>, u64)> = candidates
        .into_iter()
        .filter(|(i, _)| {
            let p = &set.places[*i as usize];
            let own_tags = [
                p.category.as_str(),
                if p.brand == NO_BRAND {
                    "independent"
                } else {
                    "chain"
                },
            ];
            categories
                .as_ref()
                .is_none_or(|cs| cs.contains(&p.category))
                && brands.as_ref().is_none_or(|bs| bs.contains(&p.brand))
                && tags.iter().all(|t| own_tags.contains(&t.as_str()))
                && text.as_ref().is_none_or(|t| {
                    set.place_name(*i).to_lowercase().contains(t.as_str())
                        || set
                            .street(*i)
                            .is_some_and(|s| s.to_lowercase().contains(t.as_str()))
                        || set
                            .city(*i)
                            .is_some_and(|s| s.to_lowercase().contains(t.as_str()))
                })
        })
        .map(|(i, d)| (i, d, u64::from(set.places[i as usize].recent_visits)))
        .filter(|(_, _, v)| args.min_visits.is_none_or(|m| *v as f64 >= m))
        .collect();
    if matches!(args.geo, GeoFilter::PointRadius { .. }) {
        hits.sort_by(|a, b| {
            a.1.unwrap_or(0.0)
                .total_cmp(&b.1.unwrap_or(0.0))
                .then(a.0.cmp(&b.0))
        });
    } else {
        hits.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    }
    Ok(SearchPlacesOutput {
        places: hits
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(i, d, _)| place(set, *i, *d))
            .collect(),
        total: hits.len(),
        limit,
        offset,
        metadata: metadata(set),
    })
}

fn period_label(date: NaiveDate, granularity: Granularity) -> String {
    match granularity {
        Granularity::Day => date.to_string(),
        Granularity::Week => (date
            - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday())))
        .to_string(),
        Granularity::Month => format!("{:04}-{:02}", date.year(), date.month()),
    }
}

fn visits_out(daily: &[u64], range: Range, granularity: Granularity) -> VisitsOut {
    let total: u64 = daily.iter().sum();
    let mut by_period: Vec<PeriodVisits> = Vec::new();
    for (offset, v) in daily.iter().enumerate() {
        let label = period_label(
            range.start + chrono::Duration::days(offset as i64),
            granularity,
        );
        match by_period.last_mut() {
            Some(last) if last.period == label => last.visits += v,
            _ => by_period.push(PeriodVisits {
                period: label,
                visits: *v,
            }),
        }
    }
    VisitsOut {
        total,
        daily_average: round1(total as f64 / range.days() as f64),
        by_period,
    }
}

/// The periods overlapping a range, with the share of each period's visits inside it.
fn overlapping<'a>(
    visits: &'a Visits,
    i: u32,
    range: Range,
) -> impl Iterator<Item = (&'a pi_domain::data::VisitRecord, f64)> + 'a {
    visits.periods(i).iter().filter_map(move |v| {
        let total: u64 = v.visits_by_day.iter().map(|d| u64::from(*d)).sum();
        let inside: u64 = v
            .visits_by_day
            .iter()
            .enumerate()
            .filter(|(o, _)| {
                let day = v.start + chrono::Duration::days(*o as i64);
                day >= range.start && day <= range.end
            })
            .map(|(_, d)| u64::from(*d))
            .sum();
        (inside > 0).then(|| {
            (
                v,
                if total > 0 {
                    inside as f64 / total as f64
                } else {
                    0.0
                },
            )
        })
    })
}

/// Visitors over a range: each period's visitors, in proportion to its visits inside the range
/// (a visitor seen in two periods counts twice: Patterns publishes visitors per period).
fn visitors(visits: &Visits, i: u32, range: Range) -> f64 {
    overlapping(visits, i, range)
        .map(|(v, share)| v.raw_visitors.unwrap_or(0) as f64 * share)
        .sum()
}

fn dwell(visits: &Visits, i: u32, range: Range) -> Dwell {
    let mut weighted = 0.0;
    let mut weight = 0.0;
    let mut buckets: Vec<(String, f64)> = Vec::new();
    for (v, share) in overlapping(visits, i, range) {
        if let Some(m) = v.median_dwell {
            let w = v.raw_visits as f64 * share;
            weighted += m * w;
            weight += w;
        }
        for (label, n) in &v.dwell_buckets {
            match buckets.iter_mut().find(|(l, _)| l == label) {
                Some(b) => b.1 += *n as f64 * share,
                None => buckets.push((label.clone(), *n as f64 * share)),
            }
        }
    }
    let total: f64 = buckets.iter().map(|b| b.1).sum();
    let median = if weight > 0.0 { weighted / weight } else { 0.0 };
    Dwell {
        median_minutes: round1(median),
        // Patterns publishes medians and buckets, not means: the visit-weighted median stands in.
        avg_minutes: round1(median),
        histogram: buckets
            .into_iter()
            .map(|(bucket, n)| DwellBucket {
                bucket,
                share: if total > 0.0 { round3(n / total) } else { 0.0 },
            })
            .collect(),
    }
}

fn hourly(visits: &Visits, i: u32, range: Range) -> Vec<f64> {
    let mut hours = [0.0f64; 24];
    for (v, share) in overlapping(visits, i, range) {
        if let Some(h) = &v.visits_by_hour {
            for (slot, n) in hours.iter_mut().zip(h) {
                *slot += f64::from(*n) * share;
            }
        }
    }
    let total: f64 = hours.iter().sum();
    if total <= 0.0 {
        return Vec::new();
    }
    hours.iter().map(|h| round3(h / total)).collect()
}

fn benchmark(set: &ImportedSet, i: u32) -> Benchmark {
    let p = &set.places[i as usize];
    if p.metro == NONE {
        return Benchmark::Unavailable(NoBenchmark {
            available: false,
            reason: "place is outside the covered metros".into(),
        });
    }
    let peers: Vec<u64> = set.metro_places[p.metro as usize]
        .iter()
        .map(|j| &set.places[*j as usize])
        .filter(|q| q.category == p.category && q.recent_visits > 0)
        .map(|q| u64::from(q.recent_visits))
        .collect();
    if peers.is_empty() || p.recent_visits == 0 {
        return Benchmark::Unavailable(NoBenchmark {
            available: false,
            reason: "no visits for this category in this metro in the data set".into(),
        });
    }
    let avg = peers.iter().sum::<u64>() as f64 / peers.len() as f64;
    Benchmark::Available(MetroBenchmark {
        available: true,
        category: p.category,
        index: round1(p.recent_visits as f64 / avg * 100.0),
        metro_id: format!("metro:{}", METROS[p.metro as usize].slug),
        note: "100 = the average location of this category in this metro in the data set, over its latest 365 days".into(),
        peer_count: peers.len() as u32,
    })
}

fn summary(
    set: &ImportedSet,
    visits: &Visits,
    args: PlaceSummaryArgs,
) -> Result<PlaceSummaryOutput, String> {
    let indexes = ids(set, &args.place_ids, 20)?;
    let range = Range::of(set, &args.dates)?;
    let granularity = args.granularity.unwrap_or_default();
    let mut rollup_daily = vec![0u64; range.days()];
    let mut rollup_visitors = 0.0;
    let mut places = Vec::with_capacity(indexes.len());
    for &i in &indexes {
        let daily = visits.daily(i, range.start, range.end);
        for (r, v) in rollup_daily.iter_mut().zip(&daily) {
            *r += v;
        }
        let total: u64 = daily.iter().sum();
        let people = visitors(visits, i, range);
        rollup_visitors += people;
        let sum_over = |r: Range| -> Option<u64> {
            visits
                .covers(i, r.start, r.end)
                .then(|| visits.total(i, r.start, r.end))
        };
        places.push(PlaceSummaryRow {
            place: place(set, i, None),
            visits: visits_out(&daily, range, granularity),
            visitors: people.round() as u64,
            visit_frequency: if people > 0.0 {
                round3(total as f64 / people)
            } else {
                0.0
            },
            dwell: dwell(visits, i, range),
            hourly_distribution: hourly(visits, i, range),
            trend: Trend {
                yoy_change_pct: range
                    .previous_year()
                    .and_then(sum_over)
                    .and_then(|b| pct_change(total as f64, b as f64)),
                pop_change_pct: sum_over(range.previous_period())
                    .and_then(|b| pct_change(total as f64, b as f64)),
            },
            benchmark: args
                .include_benchmark
                .unwrap_or(false)
                .then(|| benchmark(set, i)),
        });
    }
    let rollup = args.include_rollup.unwrap_or(false).then(|| Rollup {
        place_count: indexes.len(),
        visits: visits_out(&rollup_daily, range, granularity),
        visitors: rollup_visitors.round() as u64,
    });
    Ok(PlaceSummaryOutput {
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        granularity,
        places,
        rollup,
        metadata: metadata(set),
    })
}

/// The indexes in both ascending lists.
fn sorted_intersection(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(*x);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// An entity's label, places and metro.
fn entity(
    set: &ImportedSet,
    kind: &EntityType,
    id: &str,
    metro: Option<&str>,
) -> Result<(String, Vec<u32>, Option<u16>, String), String> {
    let metro = metro.map(metro_index).transpose()?;
    // Both lists hold place indexes in ascending order: merged, not looked up place by place.
    let in_metro = |list: &[u32]| match metro {
        None => list.to_vec(),
        Some(m) => sorted_intersection(list, &set.metro_places[m as usize]),
    };
    let (label, places, name) = match kind {
        EntityType::Place => {
            let i = set.place_index(id)?;
            (
                format!("place:{}", set.key(i)),
                vec![i],
                set.place_name(i).to_owned(),
            )
        }
        EntityType::Chain => {
            let b = &set.brands[set.brand_index(id)? as usize];
            let places = in_metro(&b.places);
            (format!("chain:{}", b.slug), places, b.name.clone())
        }
        EntityType::Category => {
            let c = parse_category(id)?;
            let places = in_metro(&set.category_places[c as usize]);
            (
                format!("category:{}", c.as_str()),
                places,
                c.as_str().to_owned(),
            )
        }
    };
    if places.is_empty() {
        return Err(format!(
            "no places for {label}{} in the data set `{}`",
            metro
                .map(|m| format!(" in metro:{}", METROS[m as usize].slug))
                .unwrap_or_default(),
            set.name
        ));
    }
    Ok((label, places, metro, name))
}

/// Compares entities on their daily totals (kept ones from `kept`, others computed from
/// `visits`): the output and the totals computed for chains and categories.
fn compare(
    set: &ImportedSet,
    visits: &Visits,
    kept: &HashMap<String, GroupDays>,
    args: ComparePerformanceArgs,
) -> Result<(ComparePerformanceOutput, Vec<(String, GroupDays)>), String> {
    if args.entities.is_empty() || args.entities.len() > 10 {
        return Err("entities must list 1 to 10 entities".into());
    }
    let range = Range::of(set, &args.dates)?;
    let metric = args.metric.unwrap_or_default();
    if metric == Metric::VisitsPerSqft {
        return Err(format!(
            "the data set `{}` has no floor areas (the published schemas carry none): compare visits, visitors, dwell or yoy",
            set.name
        ));
    }
    let months = {
        let mut out: Vec<Range> = Vec::new();
        let mut start = range.start;
        while start <= range.end {
            let next = NaiveDate::from_ymd_opt(start.year(), start.month(), 1)
                .and_then(|d| d.checked_add_months(Months::new(1)))
                .unwrap_or(range.end + chrono::Duration::days(1));
            let end = (next - chrono::Duration::days(1)).min(range.end);
            out.push(Range { start, end });
            start = next;
        }
        out
    };
    let value = |g: &GroupDays, places: usize, r: Range| -> Option<f64> {
        match metric {
            Metric::Visits => Some(group_days::visits(g, r) as f64),
            Metric::Visitors => Some(group_days::visitors(g, r)),
            Metric::Dwell => group_days::dwell(g, r).map(round1),
            Metric::Yoy => {
                let before = r.previous_year()?;
                if !group_days::covers(g, before, places) {
                    return None;
                }
                pct_change(
                    group_days::visits(g, r) as f64,
                    group_days::visits(g, before) as f64,
                )
            }
            Metric::VisitsPerSqft => None,
        }
    };
    let mut series = Vec::new();
    let mut computed = Vec::new();
    for e in &args.entities {
        let (label, places, metro, name) = entity(set, &e.kind, &e.id, e.metro.as_deref())?;
        let key = group_key(&e.kind, &label, metro);
        let g = match key.as_ref().and_then(|k| kept.get(k)) {
            Some(g) => g.clone(),
            None => {
                let g = group_days::compute(visits, &places);
                if let Some(k) = key {
                    computed.push((k, g.clone()));
                }
                g
            }
        };
        let visits_total = group_days::visits(&g, range);
        series.push(Series {
            entity: label,
            name,
            metro_id: metro.map(|m| format!("metro:{}", METROS[m as usize].slug)),
            place_count: places.len(),
            metric,
            total: value(&g, places.len(), range),
            visits_per_place: round1(visits_total as f64 / places.len() as f64),
            points: months
                .iter()
                .map(|m| Point {
                    period: format!("{:04}-{:02}", m.start.year(), m.start.month()),
                    value: value(&g, places.len(), *m),
                })
                .collect(),
        });
    }
    let rank = |name: &str, get: &dyn Fn(&Series) -> Option<f64>| -> Ranking {
        let mut ranked: Vec<(String, f64)> = series
            .iter()
            .filter_map(|s| get(s).map(|v| (s.entity.clone(), v)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ranking {
            metric: name.to_owned(),
            ranked: ranked
                .into_iter()
                .enumerate()
                .map(|(n, (entity, value))| Ranked {
                    entity,
                    value,
                    rank: n + 1,
                })
                .collect(),
        }
    };
    let rankings = vec![
        rank(metric_name(metric), &|s: &Series| s.total),
        rank("visits_per_place", &|s: &Series| Some(s.visits_per_place)),
    ];
    let out = ComparePerformanceOutput {
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        metric,
        series,
        rankings,
        method: "Sums of the imported daily visits (visits_by_day); visitors are each period's raw_visitor_counts in proportion to its visits inside the range; dwell is the median_dwell of every period weighted by its raw visits inside the range; yoy needs every place's same days a year earlier in the data.".into(),
        metadata: metadata(set),
    };
    Ok((out, computed))
}

fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Visits => "visits",
        Metric::Visitors => "visitors",
        Metric::Dwell => "dwell",
        Metric::VisitsPerSqft => "visits_per_sqft",
        Metric::Yoy => "yoy",
    }
}

fn nearby(
    set: &ImportedSet,
    args: NearbyCompetitorsArgs,
) -> Result<NearbyCompetitorsOutput, String> {
    let o = set.place_index(&args.place_id.0)?;
    let radius = args.radius_km.unwrap_or(3.0);
    if !radius.is_finite() || radius <= 0.0 || radius > 50.0 {
        return Err(format!("radius_km must be in (0, 50] (got {radius})"));
    }
    let limit = check_limit("limit", args.limit, 10, 50)?;
    let origin = &set.places[o as usize];
    let hits: Vec<(u32, f64)> = set
        .within(origin.lat, origin.lon, radius)
        .into_iter()
        .filter(|(i, _)| {
            let p = &set.places[*i as usize];
            *i != o
                && p.category == origin.category
                && (origin.brand == NO_BRAND || p.brand != origin.brand)
        })
        .collect();
    Ok(NearbyCompetitorsOutput {
        origin: place(set, o, None),
        radius_km: radius,
        total: hits.len(),
        competitors: hits
            .iter()
            .take(limit)
            .map(|(i, d)| Competitor {
                place: place(set, *i, Some(*d)),
                visits_index_vs_origin: if origin.recent_visits > 0 {
                    (set.places[*i as usize].recent_visits as f64 / origin.recent_visits as f64
                        * 100.0)
                        .round()
                } else {
                    0.0
                },
            })
            .collect(),
        metadata: metadata(set),
    })
}

fn locate(set: &ImportedSet, id: &str) -> Result<(Located, f64, f64), String> {
    if id.trim().starts_with("metro:") {
        let m = &METROS[metro_index(id)? as usize];
        return Ok((
            Located {
                id: format!("metro:{}", m.slug),
                name: m.name.to_owned(),
            },
            m.lat,
            m.lon,
        ));
    }
    let i = set.place_index(id)?;
    let p = &set.places[i as usize];
    Ok((
        Located {
            id: format!("place:{}", set.key(i)),
            name: set.place_name(i).to_owned(),
        },
        p.lat,
        p.lon,
    ))
}

fn distance(set: &ImportedSet, args: DistanceBetweenArgs) -> Result<DistanceBetweenOutput, String> {
    let (from, lat1, lon1) = locate(set, &args.from_id)?;
    let (to, lat2, lon2) = locate(set, &args.to_id)?;
    let km = haversine_km(lat1, lon1, lat2, lon2);
    Ok(DistanceBetweenOutput {
        from,
        to,
        distance_km: round3(km),
        distance_miles: round3(km / 1.609_344),
        method: "great-circle (haversine)".into(),
        metadata: metadata(set),
    })
}

fn metros(set: &ImportedSet) -> ListMetrosOutput {
    ListMetrosOutput {
        metros: METROS
            .iter()
            .enumerate()
            .map(|(i, m)| MetroInfo {
                id: format!("metro:{}", m.slug),
                name: m.name.to_owned(),
                title: m.title.to_owned(),
                state: m.state.to_owned(),
                population: m.population,
                lat: m.lat,
                lon: m.lon,
                place_count: set.metro_places[i].len(),
                zip_count: set.metro_zips[i],
            })
            .collect(),
        metadata: metadata(set),
    }
}

#[cfg(test)]
mod tests {
    use super::sorted_intersection;

    #[test]
    fn sorted_lists_intersect_as_sets_do() {
        assert_eq!(
            sorted_intersection(&[1, 3, 5, 7, 9], &[0, 3, 4, 9, 10]),
            [3, 9]
        );
        assert_eq!(sorted_intersection(&[], &[1, 2]), Vec::<u32>::new());
        assert_eq!(sorted_intersection(&[2, 4], &[2, 4]), [2, 4]);
    }
}
