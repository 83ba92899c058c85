//! The visit model: visits are computed, never stored.
//!
//! `daily visits = base × calendar(category, day) × trend(chain, day) × noise(place, day)`,
//! where the calendar combines weekday shape, seasonality and holidays, the trend is a yearly
//! growth rate per chain, and the noise is deterministic per place and day.

use crate::catalog::{CHAINS, Category, NONE};
use crate::dataset::{Dataset, Poi};
use crate::rng::{hash, normal};

pub use crate::calendar::{
    DAYS, FIRST_DAY, LAST_DAY, calendar_factor, date_of, day_index, holiday_factor, trend,
};

/// Visits to a place on a day index: an integer, deterministic in (data-set seed, place, day).
pub fn daily_visits(data: &Dataset, index: u32, day: usize) -> u64 {
    let poi = &data.pois[index as usize];
    let expected = expected_visits(data, poi, day);
    let noise = 1.0
        + 0.12
            * normal(hash(&[
                data.seed,
                u64::from(poi.seed),
                index as u64,
                day as u64,
            ]));
    (expected * noise.max(0.2)).round().max(0.0) as u64
}

/// Expected (noise-free) visits to a place on a day.
pub fn expected_visits(data: &Dataset, poi: &Poi, day: usize) -> f64 {
    f64::from(poi.base)
        * f64::from(data.calendar[poi.category as usize][day])
        * trend(poi.chain, day)
}

/// Expected visits of a place over 2025 (its "annual visits").
pub fn annual_visits(data: &Dataset, poi: &Poi) -> f64 {
    // Precomputed: the calendar's 2025 sum times the mid-year trend of the chain.
    let slot = if poi.chain == NONE {
        CHAINS.len() + poi.category as usize
    } else {
        poi.chain as usize
    };
    f64::from(poi.base) * data.annual_factor[slot]
}

/// Average visits per visitor over a period of `days`.
pub fn visit_frequency(category: Category, days: usize) -> f64 {
    let mf = f64::from(category.params().monthly_frequency);
    let days = days.max(1) as f64;
    if days <= 30.0 {
        1.0 + (mf - 1.0) * days / 30.0
    } else {
        mf * (days / 30.0).powf(0.55)
    }
}

/// Dwell-time buckets, minutes (upper bounds; the last is open).
pub const DWELL_BUCKETS: [(&str, f64); 6] = [
    ("0-5", 5.0),
    ("5-15", 15.0),
    ("15-30", 30.0),
    ("30-60", 60.0),
    ("60-120", 120.0),
    ("120+", f64::INFINITY),
];

/// (median minutes, mean minutes, share per bucket) of a category's dwell distribution,
/// with a per-place shift.
pub fn dwell(category: Category, place_seed: u32) -> (f64, f64, Vec<(&'static str, f64)>) {
    let p = category.params();
    let shift = (0.08 * normal(u64::from(place_seed) ^ 0xD3E1)).exp();
    let median = f64::from(p.dwell_median) * shift;
    let sigma = f64::from(p.dwell_sigma);
    let mean = median * (sigma * sigma / 2.0).exp();
    let cdf = |x: f64| {
        if x.is_infinite() {
            1.0
        } else {
            crate::geo::normal_cdf((x.ln() - median.ln()) / sigma)
        }
    };
    let mut prev = 0.0;
    let histogram = DWELL_BUCKETS
        .iter()
        .map(|(label, upper)| {
            let c = cdf(*upper);
            let share = c - prev;
            prev = c;
            (*label, share)
        })
        .collect();
    (median, mean, histogram)
}

/// Share of a day's visits by hour (24 values summing to 1).
pub fn hourly_shares(category: Category) -> [f64; 24] {
    let hours = category.params().hours;
    let total: f32 = hours.iter().sum();
    let mut out = [0.0; 24];
    for (o, h) in out.iter_mut().zip(hours.iter()) {
        *o = f64::from(*h / total);
    }
    out
}
