//! An imported data set as the tools see it: its places indexed in memory (a grid, brands,
//! categories, metros), its visits handed in per call. No I/O: the registry reads the store.
//!
//! Places whose category Pi does not analyse (see [`Category::from_label`]) stay in the
//! database and out of the index; [`ImportedSet::unanalysed`] counts them.

mod grid;
mod group_days;
mod homes;
mod range;
pub mod tools;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use pi_domain::data::{Coverage, StoredPlace, VisitRecord};

use crate::catalog::{Category, METROS, NONE};
use crate::geo::haversine_km;

/// Marks a place without a brand.
pub const NO_BRAND: u32 = u32::MAX;

/// Marks a place without a city, region or postcode.
const NO_LOCALITY: u32 = u32::MAX;

/// One indexed place: 40 bytes, its key, name and street in [`ImportedSet`]'s text arena, its
/// city, region and postcode shared with the places of the same locality.
#[derive(Debug, Clone)]
pub struct IndexedPlace {
    pub lat: f64,
    pub lon: f64,
    /// Where its texts start in the arena.
    text: u64,
    /// Visits over the data set's latest 365 days (saturating: 4 billion a year is beyond any
    /// panel's place).
    pub recent_visits: u32,
    /// Index into [`ImportedSet::brands`] or [`NO_BRAND`].
    pub brand: u32,
    /// Index into the set's localities or [`NO_LOCALITY`].
    locality: u32,
    /// Index into `METROS` or `NONE`.
    pub metro: u16,
    pub category: Category,
}

/// Which of a place's texts (in arena order).
#[derive(Debug, Clone, Copy)]
enum Text {
    Key = 0,
    Name,
    Street,
}

/// Which of a locality's texts (in arena order).
#[derive(Debug, Clone, Copy)]
enum Locality {
    City = 0,
    Region,
    Postcode,
}

/// A brand of the data set.
#[derive(Debug, Clone)]
pub struct Brand {
    pub name: String,
    /// `chain:<slug>`.
    pub slug: String,
    pub places: Vec<u32>,
}

/// An imported data set, indexed.
pub struct ImportedSet {
    pub name: String,
    /// When the data set last changed (a newer one is reloaded).
    pub version: DateTime<Utc>,
    pub coverage: Coverage,
    pub places: Vec<IndexedPlace>,
    /// Stored places outside Pi's categories.
    pub unanalysed: usize,
    pub brands: Vec<Brand>,
    pub category_places: Vec<Vec<u32>>,
    pub metro_places: Vec<Vec<u32>>,
    /// Distinct postcodes of each metro's places.
    pub metro_zips: Vec<usize>,
    /// Every place's key, name and street, each ended by NUL (which the importers refuse in a
    /// field): one allocation instead of three per place.
    texts: String,
    /// Every distinct (city, region, postcode), each ended by NUL: places share them (1 M
    /// places hold ~40 k).
    locality_texts: String,
    /// Where each locality starts in `locality_texts`.
    localities: Vec<u32>,
    /// Place indexes ordered by key; empty when the places are in key order already (as a
    /// replica loads them, page by page by key).
    by_key: Vec<u32>,
    by_brand: HashMap<String, u32>,
    grid: grid::Grid,
}

/// Indexes a data set page by page (a replica holds one page of stored rows at a time).
pub struct SetBuilder {
    set: ImportedSet,
    zips: HashMap<u32, (f32, f32)>,
    /// Locality ids by their texts, while loading.
    locality_ids: HashMap<String, u32>,
}

impl std::fmt::Debug for SetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetBuilder")
            .field("set", &self.set)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ImportedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedSet")
            .field("name", &self.name)
            .field("places", &self.places.len())
            .finish_non_exhaustive()
    }
}

/// `chain:<slug>` of a brand name: a brand Pi knows keeps its built-in slug (`McDonald's` →
/// `mcdonalds`); another is lower-cased, apostrophes dropped, other runs of non-alphanumerics
/// as one `-`.
pub fn brand_slug(name: &str) -> String {
    let trimmed = name.trim();
    if let Some(known) = crate::catalog::CHAINS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(trimmed) || c.slug == trimmed)
    {
        return known.slug.to_owned();
    }
    let mut slug = String::with_capacity(name.len());
    for c in trimmed.to_lowercase().chars() {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if c == '\'' || c == '’' {
            continue;
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// Appends a text field ended by NUL (a NUL inside is dropped: the importers refuse it).
fn push_field(arena: &mut String, field: Option<&str>) {
    arena.push_str(&field.unwrap_or_default().replace('\0', ""));
    arena.push('\0');
}

/// The metro of a place, as the built-in set decides it: its ZIP's centroid (a known 5-digit
/// ZIP, `12345-6789` too) within a metro's reach, else its own coordinates.
fn place_metro(zips: &HashMap<u32, (f32, f32)>, postcode: Option<&str>, lat: f64, lon: f64) -> u16 {
    let zip = postcode
        .and_then(|p| p.get(..5))
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| p.parse::<u32>().ok())
        .and_then(|code| zips.get(&code));
    match zip {
        Some((zlat, zlon)) => metro_of(f64::from(*zlat), f64::from(*zlon)),
        None => metro_of(lat, lon),
    }
}

/// The metro whose reach holds a point: the same reach as the built-in set's.
fn metro_of(lat: f64, lon: f64) -> u16 {
    let mut best: Option<(f64, usize)> = None;
    for (i, m) in METROS.iter().enumerate() {
        let reach = 20.0 + 12.0 * (f64::from(m.population) / 1e6).sqrt();
        let d = haversine_km(lat, lon, m.lat, m.lon);
        if d <= reach && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, i));
        }
    }
    best.map_or(NONE, |(_, i)| i as u16)
}

impl SetBuilder {
    /// Adds a page of stored places.
    pub fn add(&mut self, page: Vec<StoredPlace>) {
        let set = &mut self.set;
        for s in page {
            let r = s.record;
            let category = r
                .sub_category
                .as_deref()
                .and_then(Category::from_label)
                .or_else(|| r.category.as_deref().and_then(Category::from_label));
            let Some(category) = category.filter(|_| !r.closed) else {
                set.unanalysed += 1;
                continue;
            };
            let index = set.places.len() as u32;
            let brand = match r.brand.as_deref().filter(|b| !b.is_empty()) {
                None => NO_BRAND,
                Some(b) => {
                    let slug = brand_slug(b);
                    let brands = &mut set.brands;
                    let id = *set.by_brand.entry(slug.clone()).or_insert_with(|| {
                        brands.push(Brand {
                            name: b.to_owned(),
                            slug: slug.clone(),
                            places: Vec::new(),
                        });
                        (brands.len() - 1) as u32
                    });
                    set.brands[id as usize].places.push(index);
                    id
                }
            };
            let text = set.texts.len() as u64;
            for field in [
                Some(r.key.as_str()),
                Some(r.name.as_str()),
                r.street.as_deref(),
            ] {
                push_field(&mut set.texts, field);
            }
            let locality = if r.city.is_none() && r.region.is_none() && r.postcode.is_none() {
                NO_LOCALITY
            } else {
                let mut joined = String::new();
                for field in [&r.city, &r.region, &r.postcode] {
                    push_field(&mut joined, field.as_deref());
                }
                let (texts, starts) = (&mut set.locality_texts, &mut set.localities);
                *self
                    .locality_ids
                    .entry(joined)
                    .or_insert_with_key(|joined| {
                        starts.push(texts.len() as u32);
                        texts.push_str(joined);
                        (starts.len() - 1) as u32
                    })
            };
            set.places.push(IndexedPlace {
                metro: place_metro(&self.zips, r.postcode.as_deref(), r.lat, r.lon),
                category,
                brand,
                lat: r.lat,
                lon: r.lon,
                text,
                recent_visits: u32::try_from(s.recent_visits).unwrap_or(u32::MAX),
                locality,
            });
        }
    }

    /// The indexes over every place added.
    pub fn finish(self) -> ImportedSet {
        let mut set = self.set;
        drop(self.locality_ids);
        set.places.shrink_to_fit();
        set.texts.shrink_to_fit();
        set.locality_texts.shrink_to_fit();
        set.localities.shrink_to_fit();
        let mut category_places = vec![Vec::new(); crate::catalog::CATEGORIES.len()];
        let mut metro_places = vec![Vec::new(); METROS.len()];
        for (i, p) in set.places.iter().enumerate() {
            category_places[p.category as usize].push(i as u32);
            if p.metro != NONE {
                metro_places[p.metro as usize].push(i as u32);
            }
        }
        for list in category_places.iter_mut().chain(metro_places.iter_mut()) {
            list.shrink_to_fit();
        }
        let mut postcodes: Vec<std::collections::HashSet<&str>> =
            vec![std::collections::HashSet::new(); METROS.len()];
        for (i, p) in set.places.iter().enumerate() {
            if let (true, Some(z)) = (p.metro != NONE, set.postcode(i as u32)) {
                postcodes[p.metro as usize].insert(z);
            }
        }
        let metro_zips = postcodes
            .iter()
            .map(std::collections::HashSet::len)
            .collect();
        drop(postcodes);
        set.metro_zips = metro_zips;
        let n = set.places.len() as u32;
        if !(1..n).all(|i| set.key(i - 1) < set.key(i)) {
            let mut by_key: Vec<u32> = (0..n).collect();
            by_key.sort_unstable_by(|a, b| set.key(*a).cmp(set.key(*b)));
            set.by_key = by_key;
        }
        set.category_places = category_places;
        set.metro_places = metro_places;
        set.grid = grid::Grid::build(set.places.iter().map(|p| (p.lat, p.lon)));
        set
    }
}

impl ImportedSet {
    /// Starts indexing a data set.
    pub fn builder(name: &str, version: DateTime<Utc>, coverage: Coverage) -> SetBuilder {
        SetBuilder {
            set: Self {
                name: name.to_owned(),
                version,
                coverage,
                places: Vec::new(),
                unanalysed: 0,
                brands: Vec::new(),
                category_places: Vec::new(),
                metro_places: Vec::new(),
                metro_zips: Vec::new(),
                texts: String::new(),
                locality_texts: String::new(),
                localities: Vec::new(),
                by_key: Vec::new(),
                by_brand: HashMap::new(),
                grid: grid::Grid::default(),
            },
            zips: crate::dataset::load_zips()
                .0
                .into_iter()
                .map(|z| (z.code, (z.lat, z.lon)))
                .collect(),
            locality_ids: HashMap::new(),
        }
    }

    /// Indexes the places of a data set at once.
    pub fn build(
        name: &str,
        version: DateTime<Utc>,
        coverage: Coverage,
        stored: Vec<StoredPlace>,
    ) -> Self {
        let mut builder = Self::builder(name, version, coverage);
        builder.add(stored);
        builder.finish()
    }

    fn text(&self, i: u32, which: Text) -> &str {
        let start = self.places[i as usize].text as usize;
        self.texts
            .get(start..)
            .and_then(|rest| rest.split('\0').nth(which as usize))
            .unwrap_or_default()
    }

    fn optional(&self, i: u32, which: Text) -> Option<&str> {
        Some(self.text(i, which)).filter(|t| !t.is_empty())
    }

    fn locality(&self, i: u32, which: Locality) -> Option<&str> {
        let id = self.places[i as usize].locality;
        let start = *self.localities.get(id as usize)? as usize;
        self.locality_texts
            .get(start..)
            .and_then(|rest| rest.split('\0').nth(which as usize))
            .filter(|t| !t.is_empty())
    }

    /// The file's id of a place.
    pub fn key(&self, i: u32) -> &str {
        self.text(i, Text::Key)
    }

    pub fn place_name(&self, i: u32) -> &str {
        self.text(i, Text::Name)
    }

    pub fn street(&self, i: u32) -> Option<&str> {
        self.optional(i, Text::Street)
    }

    pub fn city(&self, i: u32) -> Option<&str> {
        self.locality(i, Locality::City)
    }

    pub fn region(&self, i: u32) -> Option<&str> {
        self.locality(i, Locality::Region)
    }

    pub fn postcode(&self, i: u32) -> Option<&str> {
        self.locality(i, Locality::Postcode)
    }

    /// Bytes the index holds per place (places, texts, key order, grid, category, metro and
    /// brand lists; the brands' names and the name map are not counted).
    pub fn bytes_per_place(&self) -> f64 {
        let n = self.places.len().max(1);
        let bytes = self.places.capacity() * std::mem::size_of::<IndexedPlace>()
            + self.texts.capacity()
            + self.locality_texts.capacity()
            + self.localities.capacity() * 4
            + self.by_key.capacity() * 4
            + self.grid.bytes()
            + self
                .brands
                .iter()
                .map(|b| b.places.capacity() * 4)
                .sum::<usize>()
            + self
                .category_places
                .iter()
                .map(|v| v.capacity() * 4)
                .sum::<usize>()
            + self
                .metro_places
                .iter()
                .map(|v| v.capacity() * 4)
                .sum::<usize>();
        bytes as f64 / n as f64
    }

    /// A place by its exact key.
    pub fn index_of_key(&self, key: &str) -> Option<u32> {
        if self.by_key.is_empty() {
            // The places themselves are in key order.
            let (mut low, mut high) = (0u32, self.places.len() as u32);
            while low < high {
                let mid = low + (high - low) / 2;
                match self.key(mid).cmp(key) {
                    std::cmp::Ordering::Less => low = mid + 1,
                    std::cmp::Ordering::Greater => high = mid,
                    std::cmp::Ordering::Equal => return Some(mid),
                }
            }
            return None;
        }
        self.by_key
            .binary_search_by(|i| self.key(*i).cmp(key))
            .ok()
            .map(|at| self.by_key[at])
    }

    /// A place by `place:<key>` (or the bare key).
    pub fn place_index(&self, id: &str) -> Result<u32, String> {
        let key = id.trim();
        let key = key.strip_prefix("place:").unwrap_or(key);
        self.index_of_key(key).ok_or_else(|| {
            format!(
                "unknown place id {id:?} in data set `{}` (ids come from search_places)",
                self.name
            )
        })
    }

    /// A brand by `chain:<slug>` or its name.
    pub fn brand_index(&self, id: &str) -> Result<u32, String> {
        let key = id.trim();
        let key = key.strip_prefix("chain:").unwrap_or(key);
        self.by_brand
            .get(&brand_slug(key))
            .copied()
            .ok_or_else(|| format!("no brand {id:?} in data set `{}`", self.name))
    }

    /// Places within `radius_km` of a point, nearest first, with distances.
    pub fn within(&self, lat: f64, lon: f64, radius_km: f64) -> Vec<(u32, f64)> {
        // A box a little larger than the circle, then exact distances.
        let dlat = radius_km / 110.0;
        let dlon = radius_km / (111.0 * lat.to_radians().cos().max(0.05));
        let mut out: Vec<(u32, f64)> = self
            .grid
            .candidates(lat - dlat, lat + dlat, lon - dlon, lon + dlon)
            .into_iter()
            .map(|i| {
                let place = &self.places[i as usize];
                (i, haversine_km(lat, lon, place.lat, place.lon))
            })
            .filter(|(_, d)| *d <= radius_km)
            .collect();
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Places inside a box (lon, lat corners), by index.
    pub fn in_envelope(&self, min: [f64; 2], max: [f64; 2]) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .grid
            .candidates(min[1], max[1], min[0], max[0])
            .into_iter()
            .filter(|i| {
                let p = &self.places[*i as usize];
                p.lon >= min[0] && p.lon <= max[0] && p.lat >= min[1] && p.lat <= max[1]
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// First and last day with visits, if any.
    pub fn days(&self) -> Option<(NaiveDate, NaiveDate)> {
        Some((self.coverage.first_day?, self.coverage.last_day?))
    }
}

/// The visits of some places, as read for one call: daily counts by date, and the periods.
#[derive(Debug, Default)]
pub struct Visits {
    by_place: HashMap<u32, Vec<VisitRecord>>,
}

impl Visits {
    /// Visits read from the store, keyed by place key.
    pub fn new(set: &ImportedSet, rows: Vec<(String, VisitRecord)>) -> Self {
        let mut by_place: HashMap<u32, Vec<VisitRecord>> = HashMap::new();
        for (key, v) in rows {
            if let Some(i) = set.index_of_key(&key) {
                by_place.entry(i).or_default().push(v);
            }
        }
        for periods in by_place.values_mut() {
            periods.sort_by_key(|v| v.start);
            // Periods that overlap an earlier one (a weekly and a monthly file of the same
            // place) would count their common days twice: the earlier-starting one is kept.
            let mut end = None;
            periods.retain(|v| {
                let keep = end.is_none_or(|e| v.start >= e);
                if keep {
                    end = Some(v.end);
                }
                keep
            });
        }
        Self { by_place }
    }

    /// A place's periods, oldest first.
    pub fn periods(&self, place: u32) -> &[VisitRecord] {
        self.by_place.get(&place).map_or(&[], Vec::as_slice)
    }

    /// Daily visits of a place from `start` to `end` inclusive (0 on a day without data).
    pub fn daily(&self, place: u32, start: NaiveDate, end: NaiveDate) -> Vec<u64> {
        let days = (end - start).num_days() + 1;
        let mut out = vec![0u64; days.max(0) as usize];
        for v in self.periods(place) {
            for (offset, count) in v.visits_by_day.iter().enumerate() {
                let day = v.start + chrono::Duration::days(offset as i64);
                if day >= start && day <= end {
                    out[(day - start).num_days() as usize] += u64::from(*count);
                }
            }
        }
        out
    }

    /// Visits of a place from `start` to `end` inclusive: the sum of [`Self::daily`], period by
    /// period, without a day array.
    pub fn total(&self, place: u32, start: NaiveDate, end: NaiveDate) -> u64 {
        let mut sum = 0;
        for v in self.periods(place) {
            let len = v.visits_by_day.len() as i64;
            let from = (start - v.start).num_days().max(0);
            let to = (end - v.start).num_days().min(len - 1);
            if from > to {
                continue;
            }
            sum += v.visits_by_day[from as usize..=to as usize]
                .iter()
                .map(|c| u64::from(*c))
                .sum::<u64>();
        }
        sum
    }

    /// Whether a place has data on every day of a range.
    pub fn covers(&self, place: u32, start: NaiveDate, end: NaiveDate) -> bool {
        let periods = self.periods(place);
        let mut day = start;
        while day <= end {
            if !periods.iter().any(|v| v.start <= day && day < v.end) {
                return false;
            }
            day += chrono::Duration::days(1);
        }
        true
    }
}
