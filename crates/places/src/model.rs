//! The visit model: visits are computed, never stored (SPEC §8).
//!
//! `daily visits = base × calendar(category, day) × trend(chain, day) × noise(place, day)`,
//! where the calendar combines weekday shape, seasonality and holidays, the trend is a yearly
//! growth rate per chain, and the noise is deterministic per place and day.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use crate::catalog::{CHAINS, Category};
use crate::dataset::{Dataset, NONE, Poi};
use crate::rng::{hash, normal};

/// First day with data.
pub const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2023, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};
/// Last day with data.
pub const LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2025, 12, 31) {
    Some(d) => d,
    None => panic!("valid date"),
};
/// Number of days with data.
pub const DAYS: usize = 1096;

/// Day index (0 = 2023-01-01) of a date inside the data range.
pub fn day_index(date: NaiveDate) -> usize {
    (date - FIRST_DAY).num_days().clamp(0, DAYS as i64 - 1) as usize
}

/// The date of a day index.
pub fn date_of(day: usize) -> NaiveDate {
    FIRST_DAY + Duration::days(day as i64)
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

fn last_monday_of_may(year: i32) -> Option<NaiveDate> {
    (1..=5)
        .rev()
        .find_map(|n| nth_weekday(year, 5, Weekday::Mon, n))
}

/// Holiday effect on a category for a date (1.0 on ordinary days).
pub fn holiday_factor(category: Category, date: NaiveDate) -> f32 {
    use Category::*;
    let y = date.year();
    let (m, d) = (date.month(), date.day());
    let retail = matches!(
        category,
        Mall | BigBox | WholesaleClub | HomeImprovement | Grocery
    );
    let thanksgiving = nth_weekday(y, 11, Weekday::Thu, 4);
    if Some(date) == thanksgiving {
        return match category {
            Grocery => 0.5,
            Cinema => 1.2,
            Convenience => 0.8,
            Bar => 0.7,
            _ => 0.35,
        };
    }
    if thanksgiving.map(|t| t - Duration::days(1)) == Some(date) {
        return match category {
            Grocery => 1.45,
            Bar => 1.6,
            _ => 1.0,
        };
    }
    if thanksgiving.map(|t| t + Duration::days(1)) == Some(date) {
        return match category {
            Mall => 2.1,
            BigBox => 1.9,
            HomeImprovement | WholesaleClub => 1.3,
            Coffee => 1.1,
            Fitness => 0.7,
            _ => 1.0,
        };
    }
    match (m, d) {
        (12, 24) => match category {
            Grocery => 1.3,
            Mall => 1.2,
            BigBox => 1.1,
            Fitness => 0.5,
            _ => 0.85,
        },
        (12, 25) => match category {
            Cinema => 1.6,
            Convenience => 0.7,
            Coffee | Qsr => 0.4,
            Bar => 0.5,
            Pharmacy => 0.3,
            _ => 0.1,
        },
        (12, 31) => match category {
            Bar => 1.8,
            Grocery => 1.2,
            _ => 1.0,
        },
        (1, 1) => match category {
            Fitness => 0.7,
            _ if retail => 0.6,
            _ => 0.85,
        },
        (7, 3) if category == Grocery => 1.35,
        (7, 4) => match category {
            Bar => 1.4,
            Golf => 1.2,
            Cinema => 1.1,
            Grocery => 0.7,
            _ if retail => 0.75,
            _ => 1.0,
        },
        _ => {
            let super_bowl = nth_weekday(y, 2, Weekday::Sun, 2);
            if Some(date) == super_bowl {
                return match category {
                    Bar => 1.5,
                    Grocery => 1.15,
                    Cinema => 0.6,
                    _ => 1.0,
                };
            }
            if super_bowl.map(|s| s - Duration::days(1)) == Some(date) && category == Grocery {
                return 1.2;
            }
            let memorial = last_monday_of_may(y);
            let labor = nth_weekday(y, 9, Weekday::Mon, 1);
            if Some(date) == memorial || Some(date) == labor {
                return match category {
                    HomeImprovement => 1.35,
                    Golf => 1.3,
                    BigBox => 1.1,
                    Fitness => 0.8,
                    _ => 1.0,
                };
            }
            1.0
        }
    }
}

/// Weekday × season × holiday for a category on a day index.
pub fn calendar_factor(category: Category, day: usize) -> f32 {
    let date = date_of(day);
    let p = category.params();
    let weekday = p.weekday[date.weekday().num_days_from_monday() as usize];
    // Interpolate seasonality between month midpoints so months do not step.
    let m = date.month0() as usize;
    let frac = (date.day() as f32 - 15.0) / 30.0;
    let season = if frac >= 0.0 {
        p.season[m] * (1.0 - frac) + p.season[(m + 1) % 12] * frac
    } else {
        p.season[m] * (1.0 + frac) + p.season[(m + 11) % 12] * -frac
    };
    weekday * season * holiday_factor(category, date)
}

/// Growth multiplier of a chain (or independents) on a day index.
pub fn trend(chain: u16, day: usize) -> f64 {
    let growth = if chain == NONE {
        0.01
    } else {
        f64::from(CHAINS[chain as usize].growth)
    };
    (1.0 + growth).powf(day as f64 / 365.25)
}

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
