//! A group of places' daily totals ([`GroupDays`]): what `compare_performance` reads of a chain
//! or a category. Computed once from the places' visits and kept in the database by the
//! registry, so that the next comparison of the same group reads one row instead of every
//! place's visits; every figure a comparison gives comes from these totals, kept or not.

use chrono::NaiveDate;
use pi_domain::data::{DayTotals, GroupDays};

use super::Visits;
use super::range::Range;

/// The daily totals of `places` over all their days.
pub fn compute(visits: &Visits, places: &[u32]) -> GroupDays {
    let periods = || places.iter().flat_map(|i| visits.periods(*i));
    let Some(first) = periods().map(|v| v.start).min() else {
        return GroupDays::default();
    };
    // The last day with a count or inside a period (periods end the day after their last).
    let last = periods()
        .map(|v| {
            let counted = v.start + chrono::Duration::days(v.visits_by_day.len() as i64 - 1);
            counted.max(v.end.pred_opt().unwrap_or(v.end))
        })
        .max()
        .unwrap_or(first)
        .max(first);
    let mut days = vec![DayTotals::default(); (last - first).num_days() as usize + 1];
    for v in periods() {
        let offset = (v.start - first).num_days() as usize;
        let total: u64 = v.visits_by_day.iter().map(|d| u64::from(*d)).sum();
        for (o, count) in v.visits_by_day.iter().enumerate() {
            let day = &mut days[offset + o];
            day.visits += u64::from(*count);
            if total > 0 {
                let share = f64::from(*count) / total as f64;
                day.visitors += v.raw_visitors.unwrap_or(0) as f64 * share;
                if let Some(m) = v.median_dwell {
                    let w = v.raw_visits as f64 * share;
                    day.dwell_weighted += m * w;
                    day.dwell_weight += w;
                }
            }
        }
        // A place's kept periods do not overlap (`Visits::new`): each covers its days once.
        let covered = (v.end - v.start).num_days().max(0) as usize;
        for day in days.iter_mut().skip(offset).take(covered) {
            day.places += 1;
        }
    }
    GroupDays {
        first_day: Some(first),
        days,
    }
}

/// The days of `g` inside `r`.
fn inside(g: &GroupDays, r: Range) -> impl Iterator<Item = (NaiveDate, &DayTotals)> {
    g.first_day.into_iter().flat_map(move |first| {
        g.days
            .iter()
            .enumerate()
            .map(move |(o, t)| (first + chrono::Duration::days(o as i64), t))
            .filter(move |(day, _)| *day >= r.start && *day <= r.end)
    })
}

/// Visits inside `r`.
pub fn visits(g: &GroupDays, r: Range) -> u64 {
    inside(g, r).map(|(_, t)| t.visits).sum()
}

/// Visitors inside `r` (each period's in proportion to its visits there), rounded.
pub fn visitors(g: &GroupDays, r: Range) -> f64 {
    inside(g, r).map(|(_, t)| t.visitors).sum::<f64>().round()
}

/// The visit-weighted median dwell inside `r` (`None`: no period there has one).
pub fn dwell(g: &GroupDays, r: Range) -> Option<f64> {
    let (sum, weight) = inside(g, r).fold((0.0, 0.0), |(s, w), (_, t)| {
        (s + t.dwell_weighted, w + t.dwell_weight)
    });
    (weight > 0.0).then(|| sum / weight)
}

/// Whether each of `places` places has data on every day of `r`.
pub fn covers(g: &GroupDays, r: Range, places: usize) -> bool {
    let covered = inside(g, r)
        .take_while(|(_, t)| t.places as usize == places)
        .count();
    covered == r.days()
}
