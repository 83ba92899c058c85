//! The built-in data set as Patterns rows (one per place and week), for `pi-server export
//! patterns` and the round trip: importing the export must give the same figures wherever the
//! published schema carries them.
//!
//! Each row carries the place (`placekey` is its index, so `place:<n>` ids survive the trip;
//! `top_category` is Pi's category name; `brands` the chain), the week's `visits_by_day` from
//! the model, visitors at the category's weekly frequency, visits by hour from the category's
//! hourly shares, and the place's dwell median and buckets. Home areas and related brands are
//! left out: the synthetic model places homes by ZIP, which the Patterns schema has no column for.

use chrono::{Datelike, NaiveDate};
use pi_domain::data::{PatternsRow, PlaceRecord, VisitRecord};

use crate::catalog::{CHAINS, NONE};
use crate::dataset::Dataset;
use crate::model::{
    DWELL_BUCKETS, FIRST_DAY, LAST_DAY, daily_visits, day_index, dwell, hourly_shares,
    visit_frequency,
};
use crate::tools::place::{address, place_name};

/// The whole weeks (Monday to Sunday) of `[from, to]` inside the data.
pub fn weeks(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let from = from.max(FIRST_DAY);
    let to = to.min(LAST_DAY);
    let mut monday =
        from + chrono::Duration::days(i64::from((7 - from.weekday().num_days_from_monday()) % 7));
    let mut out = Vec::new();
    while monday + chrono::Duration::days(6) <= to {
        out.push(monday);
        monday += chrono::Duration::days(7);
    }
    out
}

/// A place as a Patterns file describes it.
pub fn place_record(data: &Dataset, index: u32) -> PlaceRecord {
    let p = &data.pois[index as usize];
    let zip = &data.zips[p.zip as usize];
    let city = &data.cities[zip.city as usize];
    PlaceRecord {
        key: index.to_string(),
        name: place_name(data, index),
        brand: (p.chain != NONE).then(|| CHAINS[p.chain as usize].name.to_owned()),
        category: Some(p.category.as_str().to_owned()),
        sub_category: None,
        lat: f64::from(p.lat),
        lon: f64::from(p.lon),
        street: Some(address(p)),
        city: Some(city.name.to_owned()),
        region: Some(city.state.to_owned()),
        postcode: Some(format!("{:05}", zip.code)),
        country: Some("US".to_owned()),
        confidence: None,
        closed: false,
    }
}

/// One place's week starting on `monday`.
pub fn week_row(data: &Dataset, index: u32, monday: NaiveDate) -> PatternsRow {
    let p = &data.pois[index as usize];
    let first = day_index(monday);
    let visits_by_day: Vec<u32> = (first..first + 7)
        .map(|d| u32::try_from(daily_visits(data, index, d)).unwrap_or(u32::MAX))
        .collect();
    let raw_visits: u64 = visits_by_day.iter().map(|v| u64::from(*v)).sum();
    let shares = hourly_shares(p.category);
    let mut by_hour = vec![0u32; 24];
    for day in &visits_by_day {
        for (slot, share) in by_hour.iter_mut().zip(shares.iter()) {
            *slot += (f64::from(*day) * share).round() as u32;
        }
    }
    let (median, _, histogram) = dwell(p.category, p.seed);
    let dwell_buckets = histogram
        .iter()
        .zip(DWELL_BUCKETS.iter())
        .map(|((label, share), _)| {
            (
                (*label).to_owned(),
                (share * raw_visits as f64).round() as u64,
            )
        })
        .collect();
    PatternsRow {
        place: place_record(data, index),
        visits: VisitRecord {
            start: monday,
            end: monday + chrono::Duration::days(7),
            raw_visits,
            raw_visitors: Some((raw_visits as f64 / visit_frequency(p.category, 7)).round() as u64),
            visits_by_day,
            visits_by_hour: Some(by_hour),
            median_dwell: Some((median * 10.0).round() / 10.0),
            dwell_buckets,
            home_areas: Vec::new(),
            related_brands: Vec::new(),
            distance_from_home: None,
        },
    }
}
