//! The synthetic data set: real US ZIPs and metros, synthetic places, and the indexes over them.
//!
//! Built deterministically from `(scale, seed)`: the same inputs give the same places, ids and
//! figures on every machine. Places are compact (a few dozen bytes); names, addresses and visits
//! are derived on demand.

use std::collections::HashMap;

use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::calendar::{self, DAYS};
use crate::catalog::{CATEGORIES, CHAINS, Category, METROS, MetroDef};
use crate::rng::{Rng, hash, normal};

pub use crate::catalog::NONE;

/// Size of the data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scale {
    /// About 5,000 places.
    Small,
    /// About 100,000 places.
    Default,
    /// About 1,000,000 places.
    Large,
}

impl Scale {
    /// Target number of places.
    pub fn places(self) -> usize {
        match self {
            Self::Small => 5_000,
            Self::Default => 100_000,
            Self::Large => 1_000_000,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Small => "small",
            Self::Default => "default",
            Self::Large => "large",
        }
    }

    /// Parses `small`, `default` or `large`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "small" => Some(Self::Small),
            "default" => Some(Self::Default),
            "large" => Some(Self::Large),
            _ => None,
        }
    }
}

/// A real ZIP code (5-digit, standard, active) with its centroid.
#[derive(Debug, Clone)]
pub struct Zip {
    /// The 5-digit code as a number.
    pub code: u32,
    /// Centroid latitude.
    pub lat: f32,
    /// Centroid longitude.
    pub lon: f32,
    /// Index into [`Dataset::cities`].
    pub city: u32,
    /// Metro index or [`NONE`].
    pub metro: u16,
    /// Relative residential population (synthetic proxy).
    pub weight: f32,
    /// Synthetic median household income, USD.
    pub income: f32,
    /// Synthetic median age.
    pub age: f32,
}

/// A city and its state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct City {
    /// Borrowed from the compiled-in [`ZIPS_TSV`]: 24,381 cities cost no allocation.
    pub name: &'static str,
    /// Two-letter state code.
    pub state: &'static str,
}

/// A metro area of the data set.
#[derive(Debug)]
pub struct Metro {
    /// Static facts.
    pub def: &'static MetroDef,
    /// Radius from the centre within which ZIPs belong to it, km.
    pub reach_km: f64,
    /// ZIP indexes.
    pub zips: Vec<u32>,
    /// Place indexes.
    pub places: Vec<u32>,
}

/// A place (POI). Compact on purpose: one million of them fit in well under 300 MB.
#[derive(Debug, Clone, Copy)]
pub struct Poi {
    pub lat: f32,
    pub lon: f32,
    /// ZIP index (the compiled-in ZIP table has under 65,536 rows; `zips_fit_a_place` checks).
    pub zip: u16,
    /// Seed for the name, address and noise.
    pub seed: u32,
    /// Expected visits on an average day (before calendar effects).
    pub base: f32,
    /// Floor area, sq ft.
    pub sqft: u32,
    /// Chain index or [`NONE`].
    pub chain: u16,
    /// Metro index or [`NONE`].
    pub metro: u16,
    pub category: Category,
}

type Point = GeomWithData<[f32; 2], u32>;

/// The whole data set.
pub struct Dataset {
    /// Scale it was built at.
    pub scale: Scale,
    /// Seed it was built from.
    pub seed: u64,
    /// Every ZIP, sorted by code.
    pub zips: Vec<Zip>,
    pub cities: Vec<City>,
    pub metros: Vec<Metro>,
    /// Places; a place's id is `place:<index>`.
    pub pois: Vec<Poi>,
    /// Spatial index of places (lon, lat).
    pub poi_index: RTree<Point>,
    /// Spatial index of ZIPs (lon, lat).
    pub zip_index: RTree<Point>,
    /// Places of each chain.
    pub chain_places: Vec<Vec<u32>>,
    /// Places of each category.
    pub category_places: Vec<Vec<u32>>,
    /// Calendar factor per category per day.
    pub calendar: Vec<Vec<f32>>,
    /// `YYYY-MM-DD` of every day index (formatting dates is slower than copying them).
    pub day_labels: Vec<String>,
    /// Expected 2025 visits per unit of base, per chain (independents: per category, after the
    /// chains).
    pub annual_factor: Vec<f64>,
    /// Sum of base visits and count per (metro, category), for benchmarks.
    pub metro_category: HashMap<(u16, Category), (f64, u32)>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("scale", &self.scale)
            .field("seed", &self.seed)
            .field("places", &self.pois.len())
            .field("zips", &self.zips.len())
            .finish_non_exhaustive()
    }
}

/// Share of places that belong to chains.
const CHAIN_SHARE: f64 = 0.5;
/// Share of places that are malls.
const MALL_SHARE: f64 = 0.004;
/// Share of non-chain places outside metros.
const RURAL_SHARE: f64 = 0.12;

/// Category mix of independents.
const INDEPENDENT_MIX: [(Category, f64); 13] = [
    (Category::Coffee, 0.10),
    (Category::Qsr, 0.12),
    (Category::FastCasual, 0.10),
    (Category::Grocery, 0.08),
    (Category::BigBox, 0.02),
    (Category::WholesaleClub, 0.003),
    (Category::Pharmacy, 0.04),
    (Category::Convenience, 0.14),
    (Category::Fitness, 0.08),
    (Category::Cinema, 0.012),
    (Category::Golf, 0.03),
    (Category::Bar, 0.20),
    (Category::HomeImprovement, 0.025),
];

/// Picks an index from a list with weights, by rejection (weights in (0, max]).
fn pick_weighted(rng: &mut Rng, items: &[u32], weight: impl Fn(u32) -> f32, max: f32) -> u32 {
    for _ in 0..64 {
        let candidate = items[rng.below(items.len())];
        if rng.unit() as f32 * max <= weight(candidate) {
            return candidate;
        }
    }
    items[rng.below(items.len())]
}

/// Real ZIP centroids: the active standard US ZIPs of the `zipcodes` crate, in its order, as
/// `zip, lat, lon, city, state` lines. Compiled in rather than read through `zipcodes`, whose
/// database stays parsed in memory for the life of the process (~26 MB of strings);
/// `tests/zips.rs` checks the file still matches the crate (`PI_UPDATE_ZIPS=1` rewrites it).
pub const ZIPS_TSV: &str = include_str!("../data/zips.tsv");

/// Loads real ZIP centroids; weights, income and age are filled once metros are known.
pub(crate) fn load_zips() -> (Vec<Zip>, Vec<City>) {
    let mut cities: Vec<City> = Vec::new();
    let mut city_ids: HashMap<(&str, &str), u32> = HashMap::new();
    let mut zips = Vec::with_capacity(30_000);
    for line in ZIPS_TSV.lines().skip(1) {
        let mut fields = line.split('\t');
        let (Some(code), Some(lat), Some(lon), Some(name), Some(state)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        let (Ok(lat), Ok(lon), Ok(code)) =
            (lat.parse::<f32>(), lon.parse::<f32>(), code.parse::<u32>())
        else {
            continue;
        };
        let next = cities.len() as u32;
        let city = *city_ids.entry((name, state)).or_insert_with(|| {
            cities.push(City { name, state });
            next
        });
        zips.push(Zip {
            code,
            lat,
            lon,
            city,
            metro: NONE,
            weight: 1.0,
            income: 0.0,
            age: 0.0,
        });
    }
    zips.sort_by_key(|z| z.code);
    cities.shrink_to_fit();
    (zips, cities)
}

impl Dataset {
    /// Builds the data set. Deterministic in `(scale, seed)`.
    pub fn build(scale: Scale, seed: u64) -> Self {
        let (mut zips, cities) = load_zips();

        // Metros and ZIP membership: the nearest metro centre within its reach.
        let mut metros: Vec<Metro> = METROS
            .iter()
            .map(|def| Metro {
                def,
                reach_km: 20.0 + 12.0 * (f64::from(def.population) / 1e6).sqrt(),
                zips: Vec::new(),
                places: Vec::new(),
            })
            .collect();
        for (i, zip) in zips.iter_mut().enumerate() {
            let mut best: Option<(f64, usize)> = None;
            for (m, metro) in metros.iter().enumerate() {
                let d = crate::geo::haversine_km(
                    f64::from(zip.lat),
                    f64::from(zip.lon),
                    metro.def.lat,
                    metro.def.lon,
                );
                if d <= metro.reach_km && best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, m));
                }
            }
            let h = hash(&[seed, u64::from(zip.code), 7]);
            let noise = (0.6 * normal(h)).exp() as f32;
            match best {
                Some((d, m)) => {
                    zip.metro = m as u16;
                    metros[m].zips.push(i as u32);
                    let core = (1.0 + 1.5 * (-d / 15.0).exp()) as f32;
                    zip.weight = 1.5 * core * noise;
                    let pop_factor = (f64::from(metros[m].def.population) / 2e6).ln() as f32;
                    zip.income = (72_000.0 * (1.0 + 0.06 * pop_factor))
                        * (0.35 * normal(h ^ 0x11)).exp() as f32
                        * (0.85 + 0.3 * (d / metros[m].reach_km) as f32).min(1.2);
                }
                None => {
                    zip.weight = 0.5 * noise;
                    zip.income = 58_000.0 * (0.3 * normal(h ^ 0x11)).exp() as f32;
                }
            }
            zip.age = (38.5 + 5.0 * normal(h ^ 0x22) as f32).clamp(24.0, 62.0);
        }
        let rural: Vec<u32> = zips
            .iter()
            .enumerate()
            .filter(|(_, z)| z.metro == NONE)
            .map(|(i, _)| i as u32)
            .collect();
        let max_weight = zips.iter().map(|z| z.weight).fold(0.0f32, f32::max);
        let mut by_state: HashMap<&str, Vec<u32>> = HashMap::new();
        for (i, z) in zips.iter().enumerate() {
            by_state
                .entry(cities[z.city as usize].state)
                .or_default()
                .push(i as u32);
        }
        let metro_cum: Vec<f64> = metros
            .iter()
            .scan(0.0, |acc, m| {
                *acc += f64::from(m.def.population);
                Some(*acc)
            })
            .collect();
        let metro_total = metro_cum.last().copied().unwrap_or(1.0);

        let target = scale.places();
        let real_total: f64 = CHAINS.iter().map(|c| f64::from(c.us_stores)).sum();
        let mut rng = Rng::new(hash(&[seed, 0x504c_4143_4553]));
        let mut pois: Vec<Poi> = Vec::with_capacity(target + CHAINS.len());

        let place = |rng: &mut Rng,
                     pois: &mut Vec<Poi>,
                     category: Category,
                     chain: u16,
                     strength: f32,
                     zip_idx: u32| {
            let zip = &zips[zip_idx as usize];
            let spread = if zip.metro == NONE { 2.5 } else { 1.2 };
            let lat = f64::from(zip.lat) + rng.normal() * spread / crate::geo::KM_PER_DEG_LAT;
            let cos = f64::from(zip.lat).to_radians().cos().max(0.2);
            let lon =
                f64::from(zip.lon) + rng.normal() * spread / (crate::geo::KM_PER_DEG_LAT * cos);
            let p = category.params();
            let metro_factor = if zip.metro == NONE {
                0.8
            } else {
                1.0 + 0.06 * (f64::from(METROS[zip.metro as usize].population) / 1e6).ln()
            };
            let base = f64::from(p.base_daily)
                * f64::from(strength)
                * metro_factor
                * (f64::from(p.size_sigma) * rng.normal()).exp();
            let sqft = f64::from(p.sqft) * (0.25 * rng.normal()).exp();
            pois.push(Poi {
                lat: lat as f32,
                lon: lon as f32,
                zip: u16::try_from(zip_idx).unwrap_or(u16::MAX),
                seed: (rng.next_u64() >> 32) as u32,
                base: base as f32,
                sqft: sqft.max(300.0) as u32,
                chain,
                metro: zip.metro,
                category,
            });
        };

        let pick_metro_zip = |rng: &mut Rng| -> u32 {
            let r = rng.unit() * metro_total;
            let m = metro_cum.partition_point(|c| *c < r).min(metros.len() - 1);
            pick_weighted(
                rng,
                &metros[m].zips,
                |z| zips[z as usize].weight,
                max_weight,
            )
        };
        let pick_rural_zip = |rng: &mut Rng| -> u32 {
            pick_weighted(rng, &rural, |z| zips[z as usize].weight, max_weight)
        };

        // Chains.
        for (c, chain) in CHAINS.iter().enumerate() {
            let count = ((f64::from(chain.us_stores) * target as f64 * CHAIN_SHARE / real_total)
                .round() as usize)
                .max(1);
            let region: Vec<u32> = chain
                .states
                .iter()
                .flat_map(|s| by_state.get(s).cloned().unwrap_or_default())
                .collect();
            for _ in 0..count {
                let zip = if !region.is_empty() {
                    pick_weighted(&mut rng, &region, |z| zips[z as usize].weight, max_weight)
                } else if rng.unit() < 0.9 {
                    pick_metro_zip(&mut rng)
                } else {
                    pick_rural_zip(&mut rng)
                };
                place(
                    &mut rng,
                    &mut pois,
                    chain.category,
                    c as u16,
                    chain.strength,
                    zip,
                );
            }
        }
        // Malls: metro-only, where shoppers are.
        let malls = ((target as f64 * MALL_SHARE).round() as usize).max(3);
        for _ in 0..malls {
            let zip = pick_metro_zip(&mut rng);
            place(&mut rng, &mut pois, Category::Mall, NONE, 1.0, zip);
        }
        // Independents fill the rest.
        let mix_total: f64 = INDEPENDENT_MIX.iter().map(|(_, w)| w).sum();
        let mix_cum: Vec<f64> = INDEPENDENT_MIX
            .iter()
            .scan(0.0, |acc, (_, w)| {
                *acc += w / mix_total;
                Some(*acc)
            })
            .collect();
        while pois.len() < target {
            let r = rng.unit();
            let k = mix_cum
                .partition_point(|c| *c < r)
                .min(INDEPENDENT_MIX.len() - 1);
            let category = INDEPENDENT_MIX[k].0;
            let zip = if rng.unit() < RURAL_SHARE {
                pick_rural_zip(&mut rng)
            } else {
                pick_metro_zip(&mut rng)
            };
            place(&mut rng, &mut pois, category, NONE, 0.85, zip);
        }

        let mut chain_places = vec![Vec::new(); CHAINS.len()];
        let mut category_places = vec![Vec::new(); CATEGORIES.len()];
        let mut metro_category: HashMap<(u16, Category), (f64, u32)> = HashMap::new();
        for (i, p) in pois.iter().enumerate() {
            if p.chain != NONE {
                chain_places[p.chain as usize].push(i as u32);
            }
            category_places[p.category as usize].push(i as u32);
            if p.metro != NONE {
                metros[p.metro as usize].places.push(i as u32);
                let e = metro_category
                    .entry((p.metro, p.category))
                    .or_insert((0.0, 0));
                e.0 += f64::from(p.base);
                e.1 += 1;
            }
        }

        // Lists grown by doubling keep up to half their capacity spare: give it back (~3 MB
        // at `large`).
        for list in chain_places
            .iter_mut()
            .chain(category_places.iter_mut())
            .chain(metros.iter_mut().flat_map(|m| [&mut m.places, &mut m.zips]))
        {
            list.shrink_to_fit();
        }
        let poi_index = RTree::bulk_load(
            pois.iter()
                .enumerate()
                .map(|(i, p)| Point::new([p.lon, p.lat], i as u32))
                .collect(),
        );
        let zip_index = RTree::bulk_load(
            zips.iter()
                .enumerate()
                .map(|(i, z)| Point::new([z.lon, z.lat], i as u32))
                .collect(),
        );
        let calendar = CATEGORIES
            .iter()
            .map(|c| {
                (0..DAYS)
                    .map(|d| calendar::calendar_factor(*c, d))
                    .collect()
            })
            .collect();
        let day_labels = (0..DAYS)
            .map(|d| calendar::date_of(d).to_string())
            .collect();
        let year_start = DAYS - 365;
        let annual = |category: Category, chain: u16| -> f64 {
            let calendar: f64 = (year_start..DAYS)
                .map(|d| f64::from(calendar::calendar_factor(category, d)))
                .sum();
            calendar * calendar::trend(chain, year_start + 182)
        };
        let annual_factor = CHAINS
            .iter()
            .enumerate()
            .map(|(c, chain)| annual(chain.category, c as u16))
            .chain(CATEGORIES.iter().map(|cat| annual(*cat, NONE)))
            .collect();
        Self {
            scale,
            seed,
            zips,
            cities,
            metros,
            pois,
            poi_index,
            zip_index,
            chain_places,
            category_places,
            calendar,
            day_labels,
            annual_factor,
            metro_category,
        }
    }

    /// Place indexes whose location lies in the (lon, lat) envelope.
    pub fn places_in_envelope(
        &self,
        min: [f64; 2],
        max: [f64; 2],
    ) -> impl Iterator<Item = u32> + '_ {
        let envelope = rstar::AABB::from_corners(
            [min[0] as f32, min[1] as f32],
            [max[0] as f32, max[1] as f32],
        );
        self.poi_index.locate_in_envelope(&envelope).map(|p| p.data)
    }

    /// Place indexes within `radius_km` of (lat, lon), with their distances (unsorted).
    pub fn places_within(&self, lat: f64, lon: f64, radius_km: f64) -> Vec<(u32, f64)> {
        let (min, max) = crate::geo::bbox_around(lat, lon, radius_km);
        self.places_in_envelope(min, max)
            .filter_map(|i| {
                let p = &self.pois[i as usize];
                let d = crate::geo::haversine_km(lat, lon, f64::from(p.lat), f64::from(p.lon));
                (d <= radius_km).then_some((i, d))
            })
            .collect()
    }

    /// ZIP indexes within `radius_km` of (lat, lon), with distances.
    pub fn zips_within(&self, lat: f64, lon: f64, radius_km: f64) -> Vec<(u32, f64)> {
        let (min, max) = crate::geo::bbox_around(lat, lon, radius_km);
        let envelope = rstar::AABB::from_corners(
            [min[0] as f32, min[1] as f32],
            [max[0] as f32, max[1] as f32],
        );
        self.zip_index
            .locate_in_envelope(&envelope)
            .filter_map(|z| {
                let zip = &self.zips[z.data as usize];
                let d = crate::geo::haversine_km(lat, lon, f64::from(zip.lat), f64::from(zip.lon));
                (d <= radius_km).then_some((z.data, d))
            })
            .collect()
    }

    /// Approximate heap bytes held by the data set (for the memory benchmark).
    pub fn approx_bytes(&self) -> usize {
        use std::mem::size_of;
        let pois = self.pois.capacity() * size_of::<Poi>();
        let index = self.pois.len() * (size_of::<Point>() + 8);
        let lists = self.pois.len() * 4 * 2
            + self
                .metros
                .iter()
                .map(|m| m.places.len() * 4)
                .sum::<usize>();
        let zips = self.zips.len() * (size_of::<Zip>() + size_of::<Point>() + 8);
        let calendar = self.calendar.len() * DAYS * 4;
        pois + index + lists + zips + calendar
    }
}
