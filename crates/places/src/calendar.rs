//! The calendar of the data: its days, and the effects of weekday, season, holidays and chain
//! growth on visits. Needs only the catalog, so both the data set and the visit model build on it.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use crate::catalog::{CHAINS, Category, NONE};

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
