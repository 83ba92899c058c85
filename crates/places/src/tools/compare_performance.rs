//! `compare_performance`: places, chains or categories side by side — monthly series, rankings.

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{DateRangeArgs, EntityRef, Range};
use super::entity::Entity;
use super::metadata::Metadata;
use super::round::{pct_change, round1, round3};
use super::spec::AnalyticsTool;
use crate::dataset::Dataset;
use crate::model::{dwell, visit_frequency};

/// The `compare_performance` tool.
#[derive(Debug, Clone, Copy)]
pub struct ComparePerformance;

/// Comparison metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComparePerformanceArgs {
    /// 1–10 entities.
    pub entities: Vec<EntityRef>,
    #[serde(flatten)]
    pub dates: DateRangeArgs,
    /// Metric (default `visits`).
    #[serde(default)]
    #[schemars(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
}

/// Output of `compare_performance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparePerformanceOutput {
    pub start_date: String,
    pub end_date: String,
    pub metric: Metric,
    /// One per entity, in request order.
    pub series: Vec<Series>,
    /// By the metric, then by visits (unless the metric is visits), then by visits per place.
    pub rankings: Vec<Ranking>,
    /// How the figures are computed.
    pub method: String,
    pub metadata: Metadata,
}

/// One entity's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// `place:<n>`, `chain:<slug>` or `category:<name>`.
    pub entity: String,
    pub name: String,
    pub metro_id: Option<String>,
    pub place_count: usize,
    pub metric: Metric,
    /// The metric over the whole range (none when it cannot be computed, e.g. no prior year).
    pub total: Option<f64>,
    pub visits_per_place: f64,
    /// The metric per month.
    pub points: Vec<Point>,
}

/// The metric in one month (`YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub period: String,
    pub value: Option<f64>,
}

/// Entities ranked on one measure (a metric name or `visits_per_place`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub metric: String,
    /// Highest first.
    pub ranked: Vec<Ranked>,
}

/// One entity's place in a ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    pub entity: String,
    pub value: f64,
    /// From 1.
    pub rank: usize,
}

/// The metric of an entity over a range, if it can be computed.
fn value(e: &Entity, data: &Dataset, metric: Metric, range: Range) -> Option<f64> {
    let visits = || e.visits(data, range.indexes());
    Some(match metric {
        Metric::Visits => visits(),
        Metric::Visitors => visits() / visit_frequency(e.category(data), range.days()),
        Metric::Dwell => {
            let (sum, weight) = e.places.iter().fold((0.0, 0.0), |(s, w), i| {
                let p = &data.pois[*i as usize];
                let (median, _, _) = dwell(p.category, p.seed);
                (s + median * f64::from(p.base), w + f64::from(p.base))
            });
            sum / weight
        }
        Metric::VisitsPerSqft => {
            let sqft: f64 = e
                .places
                .iter()
                .map(|i| f64::from(data.pois[*i as usize].sqft))
                .sum();
            visits() / sqft
        }
        Metric::Yoy => {
            let prev = range.previous_year()?;
            pct_change(visits(), e.visits(data, prev.indexes()))?
        }
    })
}

/// The calendar months of a range, clipped to it.
fn months_of(range: Range) -> Vec<Range> {
    let mut out = Vec::new();
    let mut start = range.start;
    while start <= range.end {
        let (year, month) = if start.month() == 12 {
            (start.year() + 1, 1)
        } else {
            (start.year(), start.month() + 1)
        };
        let next_month = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(range.end);
        let end = (next_month - chrono::Duration::days(1)).min(range.end);
        out.push(Range { start, end });
        start = next_month;
    }
    out
}

fn rank(values: Vec<(String, Option<f64>)>, metric: &str) -> Ranking {
    let mut values: Vec<(String, f64)> = values
        .into_iter()
        .filter_map(|(l, v)| v.map(|v| (l, v)))
        .collect();
    values.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ranking {
        metric: metric.to_owned(),
        ranked: values
            .into_iter()
            .enumerate()
            .map(|(i, (entity, v))| Ranked {
                entity,
                value: round3(v),
                rank: i + 1,
            })
            .collect(),
    }
}

impl AnalyticsTool for ComparePerformance {
    const NAME: &'static str = "compare_performance";
    const DESCRIPTION: &'static str = "Compare places, chains or categories (optionally within a metro) on visits, visitors, dwell, visits per sq ft or year-over-year change: monthly series and rankings.";
    type Args = ComparePerformanceArgs;
    type Output = ComparePerformanceOutput;

    fn example() -> Value {
        json!({"entities": [{"type": "chain", "id": "chain:starbucks", "metro": "new-york"}, {"type": "chain", "id": "chain:dunkin", "metro": "new-york"}], "start_date": "2025-01-01", "end_date": "2025-06-30", "metric": "visits"})
    }

    fn run(
        data: &Dataset,
        args: ComparePerformanceArgs,
    ) -> Result<ComparePerformanceOutput, String> {
        if args.entities.is_empty() || args.entities.len() > 10 {
            return Err("entities must list 1 to 10 places, chains or categories".into());
        }
        let range = args.dates.range()?;
        let metric = args.metric.unwrap_or_default();
        let entities: Vec<Entity> = args
            .entities
            .iter()
            .map(|e| Entity::resolve(data, e))
            .collect::<Result<_, _>>()?;
        let months = months_of(range);
        // (label, metric total, visits) per entity.
        let mut totals = Vec::new();
        let series: Vec<Series> = entities
            .iter()
            .map(|e| {
                let total = value(e, data, metric, range);
                let visits = e.visits(data, range.indexes());
                totals.push((e.label.clone(), total, visits));
                Series {
                    entity: e.label.clone(),
                    name: e.name(data),
                    metro_id: e
                        .metro
                        .map(|m| format!("metro:{}", data.metros[m as usize].def.slug)),
                    place_count: e.places.len(),
                    metric,
                    total: total.map(round3),
                    visits_per_place: round1(visits / e.places.len() as f64),
                    points: months
                        .iter()
                        .map(|m| Point {
                            period: format!("{:04}-{:02}", m.start.year(), m.start.month()),
                            value: value(e, data, metric, *m).map(round3),
                        })
                        .collect(),
                }
            })
            .collect();
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
        Ok(ComparePerformanceOutput {
            start_date: range.start.to_string(),
            end_date: range.end.to_string(),
            metric,
            series,
            rankings,
            method: "Place figures are exact model outputs; chain and category figures sum expected values over their locations.".into(),
            metadata: Metadata::of(data),
        })
    }
}
