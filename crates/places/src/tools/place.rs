//! A place as every tool reports it, and how its name, address and tags are derived.

use serde::{Deserialize, Serialize};

use super::round::{round3, round6};
use crate::catalog::{CHAINS, Category, NONE, STREETS, name_parts};
use crate::dataset::{Dataset, Poi};
use crate::model::annual_visits;
use crate::rng::hash;

/// A place in a tool's output.
///
/// Fields are in alphabetical order, the order they had when outputs were built as
/// `serde_json::Value`s; outputs encoded directly keep the same bytes that way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Synthetic street address.
    pub address: String,
    /// Expected visits over 2025.
    pub annual_visits: u64,
    pub category: Category,
    /// `chain:<slug>`, or none for an independent.
    pub chain_id: Option<String>,
    pub city: String,
    /// From the searched point, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// `place:<n>`.
    pub id: String,
    pub lat: f64,
    pub lon: f64,
    /// `metro:<slug>`, or none outside the covered metros.
    pub metro_id: Option<String>,
    pub name: String,
    /// Floor area, sq ft (not in imported data sets: the published schemas carry none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqft: Option<u32>,
    /// Two-letter state code.
    pub state: String,
    /// Category, `chain` or `independent`, and the chain's tags.
    pub tags: Vec<String>,
    /// 5-digit ZIP code.
    pub zip: String,
}

impl Place {
    /// The place at `index`, with its distance from a searched point if any.
    pub(crate) fn new(data: &Dataset, index: u32, distance_km: Option<f64>) -> Self {
        let p = &data.pois[index as usize];
        let zip = &data.zips[p.zip as usize];
        let city = &data.cities[zip.city as usize];
        Self {
            address: address(p),
            annual_visits: annual_visits(data, p).round() as u64,
            category: p.category,
            chain_id: (p.chain != NONE).then(|| format!("chain:{}", CHAINS[p.chain as usize].slug)),
            city: city.name.to_owned(),
            distance_km: distance_km.map(round3),
            id: format!("place:{index}"),
            lat: round6(f64::from(p.lat)),
            lon: round6(f64::from(p.lon)),
            metro_id: (p.metro != NONE)
                .then(|| format!("metro:{}", data.metros[p.metro as usize].def.slug)),
            name: place_name(data, index),
            sqft: Some(p.sqft),
            state: city.state.to_owned(),
            tags: tags_of(p).into_iter().map(str::to_owned).collect(),
            zip: format!("{:05}", zip.code),
        }
    }
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

/// Synthetic street address of a place.
pub(crate) fn address(p: &Poi) -> String {
    let h = hash(&[u64::from(p.seed), 0x4144_4452]);
    format!(
        "{} {}",
        100 + h % 9_800,
        STREETS[((h >> 24) % STREETS.len() as u64) as usize]
    )
}

/// Tags of a place: its category, `chain` or `independent`, and its chain's tags.
pub(crate) fn tags_of(p: &Poi) -> Vec<&'static str> {
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
