//! `get_audience_profile`: who visits — age, income, household, kids, education, lifestyle — each
//! indexed against the U.S. base.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{DateRangeArgs, EntityRef};
use super::entity::Entity;
use super::homes::home_zips;
use super::metadata::Metadata;
use super::round::round3;
use super::spec::AnalyticsTool;
use crate::catalog::{Category, NONE, SEGMENTS};
use crate::dataset::Dataset;
use crate::geo::normal_cdf;
use crate::model::visit_frequency;
use crate::rng::{hash, unit};

/// The `get_audience_profile` tool.
#[derive(Debug, Clone, Copy)]
pub struct Audience;

/// Audience dimensions.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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
    /// The segments of the dimension, in order.
    pub fn labels(self) -> &'static [&'static str] {
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceArgs {
    /// 1–5 places, chains or categories.
    pub entities: Vec<EntityRef>,
    #[serde(flatten)]
    pub dates: DateRangeArgs,
    /// Dimensions to report (default all).
    #[serde(default)]
    #[schemars(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Vec<Dimension>>,
}

/// Output of `get_audience_profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudienceOutput {
    pub start_date: String,
    pub end_date: String,
    /// One per entity, in request order.
    pub profiles: Vec<AudienceProfile>,
    /// How to read an index.
    pub index_note: String,
    pub metadata: Metadata,
}

/// The audience of one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudienceProfile {
    /// `place:<n>`, `chain:<slug>` or `category:<name>`.
    pub entity: String,
    pub name: String,
    /// Locations standing for a chain or category (up to about 100).
    pub places_sampled: usize,
    pub estimated_visitors: f64,
    /// The requested dimensions, each segment in order.
    pub dimensions: BTreeMap<Dimension, Vec<Segment>>,
}

/// One segment of a dimension among the visitors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub segment: String,
    pub share: f64,
    /// Share vs the U.S. base share × 100.
    pub index: f64,
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
                let c = normal_cdf((e.ln() - mu) / 0.7);
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

/// (age shift, income multiplier) of a category's visitors vs the residents around.
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

fn profile(
    data: &Dataset,
    e: &Entity,
    national: &[(Dimension, Vec<f64>)],
    days: std::ops::RangeInclusive<usize>,
    day_count: usize,
) -> AudienceProfile {
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
    let dimensions = national
        .iter()
        .map(|(dim, base)| {
            let mut acc = vec![0.0; dim.labels().len()];
            for (z, w) in &zips {
                for (a, v) in acc.iter_mut().zip(zip_distribution(data, *z, *dim, tilt)) {
                    *a += w / total_w * v;
                }
            }
            let rows = dim
                .labels()
                .iter()
                .zip(acc.iter().zip(base))
                .map(|(label, (share, nat))| Segment {
                    segment: (*label).to_owned(),
                    share: round3(*share),
                    index: if *nat > 0.0 {
                        (share / nat * 100.0).round()
                    } else {
                        0.0
                    },
                })
                .collect();
            (*dim, rows)
        })
        .collect();
    let visits = e.visits(data, days);
    AudienceProfile {
        entity: e.label.clone(),
        name: e.name(data),
        places_sampled: sample.len(),
        estimated_visitors: (visits / visit_frequency(e.category(data), day_count)).round(),
        dimensions,
    }
}

impl AnalyticsTool for Audience {
    const NAME: &'static str = "get_audience_profile";
    const DESCRIPTION: &'static str = "Who visits places, chains or categories: age, income, household size, kids, education and lifestyle segments, each with an index vs the U.S. base (100 = national average).";
    type Args = AudienceArgs;
    type Output = AudienceOutput;

    fn example() -> Value {
        json!({"entities": [{"type": "place", "id": "place:0"}], "start_date": "2025-01-01", "end_date": "2025-12-31", "dimensions": ["age", "income", "lifestyle"]})
    }

    fn run(data: &Dataset, args: AudienceArgs) -> Result<AudienceOutput, String> {
        if args.entities.is_empty() || args.entities.len() > 5 {
            return Err("entities must list 1 to 5 places, chains or categories".into());
        }
        let range = args.dates.range()?;
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
            .map(|e| Entity::resolve(data, e))
            .collect::<Result<_, _>>()?;
        let national: Vec<(Dimension, Vec<f64>)> = dims
            .iter()
            .map(|d| (*d, national_profile(data, *d)))
            .collect();
        Ok(AudienceOutput {
            start_date: range.start.to_string(),
            end_date: range.end.to_string(),
            profiles: entities
                .iter()
                .map(|e| profile(data, e, &national, range.indexes(), range.days()))
                .collect(),
            index_note: "index = share / U.S. base share × 100 (100 = in line with the nation)"
                .into(),
            metadata: Metadata::of(data),
        })
    }
}
