//! Trade areas and same-day flows of an imported data set, from what Patterns publishes: where
//! visitors live (`visitor_home_cbgs` or `visitor_home_aggregation`) and which brands they also
//! visited that day (`related_same_day_brand`). Nothing is placed that the files do not place.
//!
//! Home areas are census block groups (12-digit FIPS), tracts (11) or, in files that give them,
//! 5-digit ZIPs. Block groups roll up to tracts and counties by FIPS prefix; ZIPs are placed at
//! the built-in ZIP centroids, so only they give distances, distance bands, cities and a polygon.
//! A period that straddles the range counts in proportion to its days inside it.

use std::collections::HashMap;
use std::sync::OnceLock;

use pi_domain::data::VisitRecord;

use super::range::Range;
use super::{ImportedSet, NO_BRAND, Visits, brand_slug};
use crate::catalog::{CHAINS, Category};
use crate::dataset::{City, Zip, load_zips};
use crate::geo::{convex_hull, haversine_km};
use crate::tools::round::{round1, round3, round6};
use crate::tools::trade_area::{
    GeoUnit, OutputGeography, Polygon, TradeAreaProfile, distance_bands, weighted_median,
};
use crate::tools::visit_flows::{GroupBy, SameDay, SameDayFlow};

/// The finest geography of a place's home areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    BlockGroup,
    Tract,
    Zip,
}

impl Level {
    fn of(key: &str) -> Option<Self> {
        if !key.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match key.len() {
            12 => Some(Self::BlockGroup),
            11 => Some(Self::Tract),
            5 => Some(Self::Zip),
            _ => None,
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Self::BlockGroup => "census block groups",
            Self::Tract => "census tracts",
            Self::Zip => "ZIPs",
        }
    }

    /// What can be reported from this level, finest first.
    fn geographies(self) -> &'static [OutputGeography] {
        match self {
            Self::BlockGroup => &[
                OutputGeography::BlockGroup,
                OutputGeography::Tract,
                OutputGeography::County,
            ],
            Self::Tract => &[OutputGeography::Tract, OutputGeography::County],
            Self::Zip => &[
                OutputGeography::Zip,
                OutputGeography::City,
                OutputGeography::DistanceBand,
            ],
        }
    }
}

fn geography_name(g: OutputGeography) -> &'static str {
    match g {
        OutputGeography::Zip => "zip",
        OutputGeography::City => "city",
        OutputGeography::DistanceBand => "distance_band",
        OutputGeography::BlockGroup => "block_group",
        OutputGeography::Tract => "tract",
        OutputGeography::County => "county",
    }
}

/// The built-in ZIP centroids, parsed once.
fn zip_table() -> &'static (HashMap<u32, Zip>, Vec<City>) {
    static TABLE: OnceLock<(HashMap<u32, Zip>, Vec<City>)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let (zips, cities) = load_zips();
        (zips.into_iter().map(|z| (z.code, z)).collect(), cities)
    })
}

/// Two-letter code of a state FIPS code.
fn state_of_fips(fips: &str) -> Option<&'static str> {
    const STATES: &[(&str, &str)] = &[
        ("01", "AL"),
        ("02", "AK"),
        ("04", "AZ"),
        ("05", "AR"),
        ("06", "CA"),
        ("08", "CO"),
        ("09", "CT"),
        ("10", "DE"),
        ("11", "DC"),
        ("12", "FL"),
        ("13", "GA"),
        ("15", "HI"),
        ("16", "ID"),
        ("17", "IL"),
        ("18", "IN"),
        ("19", "IA"),
        ("20", "KS"),
        ("21", "KY"),
        ("22", "LA"),
        ("23", "ME"),
        ("24", "MD"),
        ("25", "MA"),
        ("26", "MI"),
        ("27", "MN"),
        ("28", "MS"),
        ("29", "MO"),
        ("30", "MT"),
        ("31", "NE"),
        ("32", "NV"),
        ("33", "NH"),
        ("34", "NJ"),
        ("35", "NM"),
        ("36", "NY"),
        ("37", "NC"),
        ("38", "ND"),
        ("39", "OH"),
        ("40", "OK"),
        ("41", "OR"),
        ("42", "PA"),
        ("44", "RI"),
        ("45", "SC"),
        ("46", "SD"),
        ("47", "TN"),
        ("48", "TX"),
        ("49", "UT"),
        ("50", "VT"),
        ("51", "VA"),
        ("53", "WA"),
        ("54", "WV"),
        ("55", "WI"),
        ("56", "WY"),
        ("72", "PR"),
    ];
    let code = fips.get(..2)?;
    STATES.iter().find(|(f, _)| *f == code).map(|(_, s)| *s)
}

/// Share of a period's days inside the range (0 when it lies outside).
fn overlap(v: &VisitRecord, range: Range) -> f64 {
    let last = v.end - chrono::Duration::days(1);
    let start = v.start.max(range.start);
    let end = last.min(range.end);
    if end < start {
        return 0.0;
    }
    let days = (v.end - v.start).num_days().max(1) as f64;
    ((end - start).num_days() + 1) as f64 / days
}

/// Visitors by home area over the range, and the visit-weighted median distance from home (km)
/// where the files give it.
fn homes(visits: &Visits, place: u32, range: Range) -> (HashMap<String, f64>, Option<f64>) {
    let mut areas: HashMap<String, f64> = HashMap::new();
    let mut distances = Vec::new();
    for v in visits.periods(place) {
        let w = overlap(v, range);
        if w == 0.0 {
            continue;
        }
        for (area, n) in &v.home_areas {
            *areas.entry(area.clone()).or_default() += *n as f64 * w;
        }
        if let Some(m) = v.distance_from_home.filter(|m| m.is_finite() && *m >= 0.0) {
            distances.push((m / 1000.0, v.raw_visits as f64 * w));
        }
    }
    let median = (!distances.is_empty()).then(|| round1(weighted_median(distances)));
    (areas, median)
}

/// The trade area of one place of an imported set.
pub(super) fn trade_profile(
    set: &ImportedSet,
    visits: &Visits,
    place: u32,
    range: Range,
    asked: Option<OutputGeography>,
    pct: f64,
) -> Result<TradeAreaProfile, String> {
    let p = &set.places[place as usize];
    let total: u64 = visits.total(place, range.start, range.end);
    let (areas, median_from_files) = homes(visits, place, range);
    // Areas the project can place, at the coarsest level among them (a file mixing block
    // groups and tracts is read as tracts).
    let placed: Vec<(&str, f64, Level)> = areas
        .iter()
        .filter_map(|(k, n)| Level::of(k).map(|l| (k.as_str(), *n, l)))
        .filter(|(_, n, _)| *n > 0.0)
        .collect();
    let Some(level) = placed.iter().map(|(_, _, l)| *l).max() else {
        return Err(format!(
            "{} has no home areas in the data set `{}` from {} to {} (its Patterns rows have no visitor_home_cbgs or visitor_home_aggregation)",
            set.place_name(place),
            set.name,
            range.start,
            range.end
        ));
    };
    if placed.iter().any(|(_, _, l)| *l == Level::Zip) && level != Level::Zip
        || level == Level::Zip && placed.iter().any(|(_, _, l)| *l != Level::Zip)
    {
        return Err(format!(
            "the home areas of {} mix ZIPs and census areas, which do not nest",
            set.place_name(place)
        ));
    }
    let geography = asked.unwrap_or(level.geographies()[0]);
    if !level.geographies().contains(&geography) {
        return Err(format!(
            "the home areas of {} in `{}` are {}: ask for output_geography {}",
            set.place_name(place),
            set.name,
            level.plural(),
            level
                .geographies()
                .iter()
                .map(|g| geography_name(*g))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let sum: f64 = placed.iter().map(|(_, n, _)| n).sum();
    let share = |n: f64| n / sum;
    let visits_of = |s: f64| (s * total as f64).round() as u64;
    let (zips, cities) = zip_table();
    // ZIPs with their centroid distance (None: a ZIP the built-in table does not know).
    let zip_distance = |key: &str| -> Option<f64> {
        let z = zips.get(&key.parse::<u32>().ok()?)?;
        Some(haversine_km(
            p.lat,
            p.lon,
            f64::from(z.lat),
            f64::from(z.lon),
        ))
    };
    let mut units: Vec<GeoUnit> = match geography {
        OutputGeography::BlockGroup | OutputGeography::Tract | OutputGeography::County => {
            let len = match geography {
                OutputGeography::BlockGroup => 12,
                OutputGeography::Tract => 11,
                _ => 5,
            };
            let mut by: HashMap<&str, f64> = HashMap::new();
            for (k, n, _) in &placed {
                *by.entry(&k[..len]).or_default() += n;
            }
            by.into_iter()
                .map(|(id, n)| GeoUnit {
                    id: id.to_owned(),
                    name: state_of_fips(id).map(str::to_owned),
                    visits: visits_of(share(n)),
                    share: round3(share(n)),
                    distance_km: None,
                })
                .collect()
        }
        OutputGeography::Zip => placed
            .iter()
            .map(|(k, n, _)| {
                let city = k
                    .parse::<u32>()
                    .ok()
                    .and_then(|c| zips.get(&c))
                    .map(|z| &cities[z.city as usize]);
                GeoUnit {
                    id: (*k).to_owned(),
                    name: city.map(|c| format!("{}, {}", c.name, c.state)),
                    visits: visits_of(share(*n)),
                    share: round3(share(*n)),
                    distance_km: zip_distance(k).map(round1),
                }
            })
            .collect(),
        OutputGeography::City => {
            let mut by: HashMap<String, f64> = HashMap::new();
            for (k, n, _) in &placed {
                let name = k
                    .parse::<u32>()
                    .ok()
                    .and_then(|c| zips.get(&c))
                    .map(|z| &cities[z.city as usize])
                    .map_or_else(
                        || "ZIPs outside the built-in table".to_owned(),
                        |c| format!("{}, {}", c.name, c.state),
                    );
                *by.entry(name).or_default() += n;
            }
            by.into_iter()
                .map(|(id, n)| GeoUnit {
                    id,
                    name: None,
                    visits: visits_of(share(n)),
                    share: round3(share(n)),
                    distance_km: None,
                })
                .collect()
        }
        OutputGeography::DistanceBand => {
            let located: Vec<(f64, f64)> = placed
                .iter()
                .filter_map(|(k, n, _)| zip_distance(k).map(|d| (d, *n)))
                .collect();
            let known: f64 = located.iter().map(|(_, n)| n).sum();
            if known == 0.0 {
                return Err(format!(
                    "none of the home ZIPs of {} is in the built-in ZIP table, so no distance can be given",
                    set.place_name(place)
                ));
            }
            distance_bands(located.into_iter().map(|(d, n)| (d, n / known)), total)
        }
    };
    // Bands stay nearest first; other units largest share first.
    if geography != OutputGeography::DistanceBand {
        units.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.id.cmp(&b.id)));
    }
    if level == Level::Zip {
        units.truncate(50);
        return Ok(zip_profile(
            set,
            place,
            total,
            &placed,
            median_from_files,
            geography,
            pct,
            units,
        ));
    }
    // Census units have no centroids here: the fewest units covering the share, no polygon.
    let mut covered = 0.0;
    for u in &units {
        if covered >= pct / 100.0 {
            break;
        }
        covered += u.share;
    }
    units.truncate(50);
    Ok(TradeAreaProfile {
        place_id: format!("place:{}", set.key(place)),
        place_name: set.place_name(place).to_owned(),
        total_visits: total,
        output_geography: geography,
        geo_units: units,
        home_zip_count: placed.len(),
        median_distance_km: median_from_files,
        traffic_volume_pct: pct,
        covered_share: round3(covered.min(1.0)),
        polygon: None,
    })
}

/// A trade area from home ZIPs: the polygon holds the place and the nearest ZIP centroids until
/// they cover the share, as the built-in set's does.
#[allow(clippy::too_many_arguments)]
fn zip_profile(
    set: &ImportedSet,
    place: u32,
    total: u64,
    placed: &[(&str, f64, Level)],
    median_from_files: Option<f64>,
    geography: OutputGeography,
    pct: f64,
    units: Vec<GeoUnit>,
) -> TradeAreaProfile {
    let p = &set.places[place as usize];
    let (zips, _) = zip_table();
    let sum: f64 = placed.iter().map(|(_, n, _)| n).sum();
    let mut located: Vec<(f64, f64, [f64; 2])> = placed
        .iter()
        .filter_map(|(k, n, _)| {
            let z = zips.get(&k.parse::<u32>().ok()?)?;
            let (lat, lon) = (f64::from(z.lat), f64::from(z.lon));
            Some((haversine_km(p.lat, p.lon, lat, lon), n / sum, [lon, lat]))
        })
        .collect();
    located.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut covered = 0.0;
    let mut ring = vec![[p.lon, p.lat]];
    for (_, s, at) in &located {
        if covered >= pct / 100.0 {
            break;
        }
        covered += s;
        ring.push(*at);
    }
    let hull: Vec<[f64; 2]> = convex_hull(&ring)
        .into_iter()
        .map(|[x, y]| [round6(x), round6(y)])
        .collect();
    let median = median_from_files.or_else(|| {
        (!located.is_empty()).then(|| {
            round1(weighted_median(
                located.iter().map(|(d, s, _)| (*d, *s)).collect(),
            ))
        })
    });
    TradeAreaProfile {
        place_id: format!("place:{}", set.key(place)),
        place_name: set.place_name(place).to_owned(),
        total_visits: total,
        output_geography: geography,
        geo_units: units,
        home_zip_count: placed.len(),
        median_distance_km: median,
        traffic_volume_pct: pct,
        covered_share: round3(covered.min(1.0)),
        polygon: (hull.len() >= 3).then(|| Polygon {
            kind: "Polygon".into(),
            coordinates: vec![hull],
        }),
    }
}

/// The category a brand's name stands for: that of its places in the set, else of the chain
/// Pi knows by that name.
fn brand_category(set: &ImportedSet, slug: &str) -> Option<Category> {
    if let Ok(b) = set.brand_index(slug) {
        let mut counts: HashMap<Category, usize> = HashMap::new();
        for i in &set.brands[b as usize].places {
            *counts.entry(set.places[*i as usize].category).or_default() += 1;
        }
        if let Some((c, _)) = counts.into_iter().max_by_key(|(c, n)| (*n, *c as usize)) {
            return Some(c);
        }
    }
    CHAINS.iter().find(|c| c.slug == slug).map(|c| c.category)
}

/// The brands (or categories) an origin's visitors also went to the same day.
pub(super) fn same_day(
    set: &ImportedSet,
    visits: &Visits,
    origin: u32,
    range: Range,
    group_by: GroupBy,
    limit: usize,
) -> Result<SameDay, String> {
    let p = &set.places[origin as usize];
    let own = (p.brand != NO_BRAND).then(|| set.brands[p.brand as usize].slug.as_str());
    let mut visitors = 0.0;
    let mut by_brand: HashMap<String, (String, f64)> = HashMap::new();
    let mut any = false;
    for v in visits.periods(origin) {
        let w = overlap(v, range);
        if w == 0.0 {
            continue;
        }
        let people = v.raw_visitors.unwrap_or(v.raw_visits) as f64 * w;
        visitors += people;
        for (brand, pct) in &v.related_brands {
            any = true;
            let slug = brand_slug(brand);
            let e = by_brand.entry(slug).or_insert_with(|| (brand.clone(), 0.0));
            e.1 += pct.clamp(0.0, 100.0) / 100.0 * people;
        }
    }
    if !any || visitors <= 0.0 {
        return Err(format!(
            "{} has no related_same_day_brand in the data set `{}` from {} to {}",
            set.place_name(origin),
            set.name,
            range.start,
            range.end
        ));
    }
    let mut rows: Vec<(String, String, f64)> = match group_by {
        GroupBy::Chain => by_brand
            .into_iter()
            .filter(|(slug, _)| Some(slug.as_str()) != own)
            .map(|(slug, (name, n))| (format!("chain:{slug}"), name, n))
            .collect(),
        GroupBy::Category => {
            let mut by: HashMap<String, f64> = HashMap::new();
            for (slug, (_, n)) in by_brand {
                if Some(slug.as_str()) == own {
                    continue;
                }
                let name = brand_category(set, &slug).map_or("other", Category::as_str);
                *by.entry(name.to_owned()).or_default() += n;
            }
            by.into_iter()
                .map(|(c, n)| (format!("category:{c}"), c, n))
                .collect()
        }
        GroupBy::Place => {
            return Err(format!(
                "the data set `{}` names the brands visitors went to the same day (related_same_day_brand), not places: group_by chain or category",
                set.name
            ));
        }
    };
    rows.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    rows.truncate(limit);
    Ok(SameDay {
        visitors: visitors.round() as u64,
        flows: rows
            .into_iter()
            .map(|(id, name, n)| SameDayFlow {
                id,
                name,
                visitors: n.round() as u64,
                share_of_visitors: round3(n / visitors),
            })
            .collect(),
    })
}
