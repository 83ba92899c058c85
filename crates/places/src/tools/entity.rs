//! Places, chains and categories (optionally within a metro) resolved to their locations.

use std::collections::HashMap;

use super::args::{EntityRef, EntityType};
use super::ids::{parse_category, parse_chain, parse_metro, parse_place_id};
use super::place::place_name;
use crate::catalog::{CHAINS, Category};
use crate::dataset::Dataset;
use crate::model::{daily_visits, trend};

/// A resolved entity: its label and its places.
pub(crate) struct Entity {
    /// `place:<n>`, `chain:<slug>` or `category:<name>`.
    pub(crate) label: String,
    pub(crate) kind: EntityType,
    pub(crate) metro: Option<u16>,
    /// Never empty.
    pub(crate) places: Vec<u32>,
}

impl Entity {
    /// Resolves a reference; an entity without places is an error.
    pub(crate) fn resolve(data: &Dataset, e: &EntityRef) -> Result<Self, String> {
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
        Ok(Self {
            label,
            kind: e.kind,
            metro,
            places,
        })
    }

    /// Visits over day indexes: exact for a place, expected values for chains and categories.
    pub(crate) fn visits(&self, data: &Dataset, days: std::ops::RangeInclusive<usize>) -> f64 {
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
                    .map(|d| base * f64::from(cal[d]) * trend(*chain, d))
                    .sum::<f64>()
            })
            .sum()
    }

    /// The category of its (first) place.
    pub(crate) fn category(&self, data: &Dataset) -> Category {
        data.pois[self.places[0] as usize].category
    }

    /// Display name: the place's or chain's name, or the category.
    pub(crate) fn name(&self, data: &Dataset) -> String {
        match self.kind {
            EntityType::Place => place_name(data, self.places[0]),
            EntityType::Chain => CHAINS[data.pois[self.places[0] as usize].chain as usize]
                .name
                .to_owned(),
            EntityType::Category => self.category(data).as_str().to_owned(),
        }
    }
}
