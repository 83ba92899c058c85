//! `search_places`: places by geography, category, chain, text, tags and minimum visits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{check_lat_lon, check_limit};
use super::ids::{parse_category, parse_chain, parse_metro};
use super::metadata::Metadata;
use super::place::{Place, address, place_name, tags_of};
use super::spec::AnalyticsTool;
use crate::catalog::Category;
use crate::dataset::Dataset;
use crate::geo::point_in_polygon;
use crate::model::annual_visits;

/// The `search_places` tool.
#[derive(Debug, Clone, Copy)]
pub struct SearchPlaces;

/// Where to search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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

impl SearchPlacesArgs {
    /// A search of `geo` with no other filter.
    pub fn new(geo: GeoFilter) -> Self {
        Self {
            geo,
            categories: None,
            chains: None,
            text: None,
            tags: None,
            min_visits: None,
            limit: None,
            offset: None,
        }
    }
}

/// Output of `search_places`: one page of matching places.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchPlacesOutput {
    /// Nearest first with a point, else busiest first.
    pub places: Vec<Place>,
    /// Matches before paging.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub metadata: Metadata,
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
            let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
            for c in coordinates {
                for k in 0..2 {
                    min[k] = min[k].min(c[k]);
                    max[k] = max[k].max(c[k]);
                }
            }
            data.places_in_envelope(min, max)
                .filter(|i| {
                    let p = &data.pois[*i as usize];
                    point_in_polygon(f64::from(p.lon), f64::from(p.lat), coordinates)
                })
                .map(|i| (i, None))
                .collect()
        }
    })
}

impl AnalyticsTool for SearchPlaces {
    const NAME: &'static str = "search_places";
    const DESCRIPTION: &'static str = "Find places (POIs) by geography (point and radius, bounding box, metro or polygon), category, chain, text, tags and minimum annual visits. Results have ids for the other tools, addresses and annual visits; with a point, they are sorted by distance and carry distance_km.";
    type Args = SearchPlacesArgs;
    type Output = SearchPlacesOutput;

    fn example() -> Value {
        json!({"geo": {"type": "point_radius", "lat": 30.27, "lon": -97.74, "radius_km": 5}, "categories": ["coffee"], "limit": 10})
    }

    fn run(data: &Dataset, args: SearchPlacesArgs) -> Result<SearchPlacesOutput, String> {
        let limit = check_limit("limit", args.limit, 25, 100)?;
        let offset = args.offset.unwrap_or(0) as usize;
        let categories: Option<Vec<Category>> = args
            .categories
            .as_ref()
            .map(|cs| cs.iter().map(|c| parse_category(c)).collect())
            .transpose()?;
        let chains: Option<Vec<u16>> = args
            .chains
            .as_ref()
            .map(|cs| cs.iter().map(|c| parse_chain(c)).collect())
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
        Ok(SearchPlacesOutput {
            places: hits
                .iter()
                .skip(offset)
                .take(limit)
                .map(|(i, d, _)| Place::new(data, *i, *d))
                .collect(),
            total: hits.len(),
            limit,
            offset,
            metadata: Metadata::of(data),
        })
    }
}
