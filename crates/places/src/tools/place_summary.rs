//! `get_place_summary`: visits by period, visitors, frequency, dwell, hours, trends, benchmark.

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{DateRangeArgs, PlaceId, Range, place_indexes};
use super::metadata::Metadata;
use super::place::Place;
use super::round::{pct_change, round1, round3};
use super::spec::{AnalyticsTool, Encoding};
use crate::catalog::{Category, NONE};
use crate::dataset::Dataset;
use crate::model::{daily_visits, day_index, dwell, hourly_shares, visit_frequency};

/// The `get_place_summary` tool.
#[derive(Debug, Clone, Copy)]
pub struct PlaceSummary;

/// Period granularity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceSummaryArgs {
    /// 1–20 place ids (`place:…`).
    pub place_ids: Vec<PlaceId>,
    #[serde(flatten)]
    pub dates: DateRangeArgs,
    /// `day`, `week` or `month` (default).
    #[serde(default)]
    #[schemars(skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Granularity>,
    /// Add an index vs the same category in the same metro (100 = average).
    #[serde(default)]
    pub include_benchmark: Option<bool>,
    /// Add totals across all requested places.
    #[serde(default)]
    pub include_rollup: Option<bool>,
}

/// Output of `get_place_summary` (encoded in field order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceSummaryOutput {
    pub start_date: String,
    pub end_date: String,
    pub granularity: Granularity,
    /// One per requested place, in request order.
    pub places: Vec<PlaceSummaryRow>,
    /// Totals across the places, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollup: Option<Rollup>,
    pub metadata: Metadata,
}

/// The summary of one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceSummaryRow {
    pub place: Place,
    pub visits: Visits,
    /// Estimated unique visitors.
    pub visitors: u64,
    /// Average visits per visitor over the range.
    pub visit_frequency: f64,
    pub dwell: Dwell,
    /// Share of visits by hour 0..23.
    pub hourly_distribution: Vec<f64>,
    pub trend: Trend,
    /// When asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<Benchmark>,
}

/// Visits over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visits {
    pub total: u64,
    pub daily_average: f64,
    pub by_period: Vec<PeriodVisits>,
}

/// Visits in one period; the period is a date, a week's Monday or `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodVisits {
    pub period: String,
    pub visits: u64,
}

/// How long visits last, minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dwell {
    pub median_minutes: f64,
    pub avg_minutes: f64,
    pub histogram: Vec<DwellBucket>,
}

/// Share of visits in one dwell bucket (`0-5`, …, `120+` minutes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DwellBucket {
    pub bucket: String,
    pub share: f64,
}

/// Change vs the year before and vs the period right before, %, when inside the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub yoy_change_pct: Option<f64>,
    pub pop_change_pct: Option<f64>,
}

/// The place vs the same category in its metro.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Benchmark {
    /// The place is in a covered metro.
    Available(MetroBenchmark),
    /// The place is outside the covered metros.
    Unavailable(NoBenchmark),
}

/// A benchmark index. Fields in alphabetical order (see [`Place`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetroBenchmark {
    /// Always true.
    pub available: bool,
    pub category: Category,
    /// 100 = the average location of the category in the metro.
    pub index: f64,
    pub metro_id: String,
    pub note: String,
    /// Locations of the category in the metro.
    pub peer_count: u32,
}

/// Why there is no benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoBenchmark {
    /// Always false.
    pub available: bool,
    pub reason: String,
}

/// Totals across the requested places.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    pub place_count: usize,
    pub visits: Visits,
    pub visitors: u64,
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
) -> Vec<PeriodVisits> {
    let first = day_index(range.start);
    if granularity == Granularity::Day {
        // Day labels are precomputed.
        return daily
            .iter()
            .enumerate()
            .map(|(offset, v)| PeriodVisits {
                period: data.day_labels[first + offset].clone(),
                visits: *v,
            })
            .collect();
    }
    let key = |date: NaiveDate| match granularity {
        Granularity::Day => date.num_days_from_ce(),
        Granularity::Week => (date.iso_week().week() + 100 * date.iso_week().year() as u32) as i32,
        Granularity::Month => (date.month() + 100 * date.year() as u32) as i32,
    };
    let mut out: Vec<PeriodVisits> = Vec::new();
    let mut current = None;
    for (offset, visits) in daily.iter().enumerate() {
        let date = range.start + chrono::Duration::days(offset as i64);
        let k = key(date);
        match out.last_mut() {
            Some(last) if current == Some(k) => last.visits += visits,
            _ => {
                current = Some(k);
                out.push(PeriodVisits {
                    period: period_label(date, granularity),
                    visits: *visits,
                });
            }
        }
    }
    out
}

fn visits_of(data: &Dataset, daily: &[u64], range: Range, granularity: Granularity) -> Visits {
    let total: u64 = daily.iter().sum();
    Visits {
        total,
        daily_average: round1(total as f64 / range.days() as f64),
        by_period: bucket(data, daily, range, granularity),
    }
}

fn benchmark(data: &Dataset, index: u32) -> Benchmark {
    let p = &data.pois[index as usize];
    if p.metro == NONE {
        return Benchmark::Unavailable(NoBenchmark {
            available: false,
            reason: "place is outside the covered metros".into(),
        });
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
    Benchmark::Available(MetroBenchmark {
        available: true,
        category: p.category,
        index: if avg > 0.0 {
            round1(f64::from(p.base) / avg * 100.0)
        } else {
            0.0
        },
        metro_id: format!("metro:{}", data.metros[p.metro as usize].def.slug),
        note: "100 = the average location of this category in this metro".into(),
        peer_count: count,
    })
}

fn summary_of(
    data: &Dataset,
    i: u32,
    range: Range,
    granularity: Granularity,
    daily: &[u64],
    include_benchmark: bool,
) -> PlaceSummaryRow {
    let p = &data.pois[i as usize];
    let total: u64 = daily.iter().sum();
    let frequency = visit_frequency(p.category, range.days());
    let sum_over = |r: Option<Range>| -> Option<u64> {
        r.map(|r| r.indexes().map(|d| daily_visits(data, i, d)).sum())
    };
    let (median, mean, histogram) = dwell(p.category, p.seed);
    PlaceSummaryRow {
        place: Place::new(data, i, None),
        visits: visits_of(data, daily, range, granularity),
        visitors: (total as f64 / frequency).round() as u64,
        visit_frequency: round3(frequency),
        dwell: Dwell {
            median_minutes: round1(median),
            avg_minutes: round1(mean),
            histogram: histogram
                .iter()
                .map(|(bucket, share)| DwellBucket {
                    bucket: (*bucket).to_owned(),
                    share: round3(*share),
                })
                .collect(),
        },
        hourly_distribution: hourly_shares(p.category)
            .iter()
            .map(|s| round3(*s))
            .collect(),
        trend: Trend {
            yoy_change_pct: sum_over(range.previous_year())
                .and_then(|b| pct_change(total as f64, b as f64)),
            pop_change_pct: sum_over(range.previous_period())
                .and_then(|b| pct_change(total as f64, b as f64)),
        },
        benchmark: include_benchmark.then(|| benchmark(data, i)),
    }
}

impl AnalyticsTool for PlaceSummary {
    const NAME: &'static str = "get_place_summary";
    const DESCRIPTION: &'static str = "Foot-traffic summary of places over a date range: visits (total and by day, week or month), unique visitors, visit frequency, dwell time (median, average, histogram), hourly distribution, year-over-year and period-over-period change, optional benchmark vs the same category in the metro, optional rollup.";
    const ENCODING: Encoding = Encoding::Direct;
    type Args = PlaceSummaryArgs;
    type Output = PlaceSummaryOutput;

    fn example() -> Value {
        json!({"place_ids": ["place:0"], "start_date": "2025-01-01", "end_date": "2025-12-31", "granularity": "month", "include_benchmark": true})
    }

    fn run(data: &Dataset, args: PlaceSummaryArgs) -> Result<PlaceSummaryOutput, String> {
        let ids = place_indexes(data, &args.place_ids, "place_ids", 20)?;
        let range = args.dates.range()?;
        let granularity = args.granularity.unwrap_or_default();
        let include_benchmark = args.include_benchmark.unwrap_or(false);
        let mut rollup_daily = vec![0u64; range.days()];
        let mut rollup_visitors = 0.0;
        let places: Vec<PlaceSummaryRow> = ids
            .iter()
            .map(|&i| {
                let daily = daily_series(data, i, range);
                for (r, v) in rollup_daily.iter_mut().zip(&daily) {
                    *r += v;
                }
                let category = data.pois[i as usize].category;
                let total: u64 = daily.iter().sum();
                rollup_visitors += total as f64 / visit_frequency(category, range.days());
                summary_of(data, i, range, granularity, &daily, include_benchmark)
            })
            .collect();
        let rollup = args.include_rollup.unwrap_or(false).then(|| Rollup {
            place_count: ids.len(),
            visits: visits_of(data, &rollup_daily, range, granularity),
            visitors: rollup_visitors.round() as u64,
        });
        Ok(PlaceSummaryOutput {
            start_date: range.start.to_string(),
            end_date: range.end.to_string(),
            granularity,
            places,
            rollup,
            metadata: Metadata::of(data),
        })
    }
}
