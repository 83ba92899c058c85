//! The days a tool call covers, inside the data set's days.

use chrono::{Months, NaiveDate};

use super::ImportedSet;
use crate::tools::DateRangeArgs;

/// A validated range inside the data set's days.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Range {
    /// The arguments' range; by default the data set's latest 365 days.
    pub(super) fn of(set: &ImportedSet, dates: &DateRangeArgs) -> Result<Self, String> {
        let (first, last) = set.days().ok_or_else(|| {
            format!(
                "the data set `{}` has no visits (import a Patterns file)",
                set.name
            )
        })?;
        let parse_one = |name: &str, s: Option<&str>, default: NaiveDate| match s {
            None => Ok(default),
            Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| format!("{name} {s:?} is not a date (YYYY-MM-DD)")),
        };
        // The latest year, as `annual_visits` counts it.
        let default_start = last
            .succ_opt()
            .and_then(|d| d.checked_sub_months(Months::new(12)))
            .unwrap_or(last)
            .max(first);
        let start = parse_one("start_date", dates.start_date.as_deref(), default_start)?;
        let end = parse_one("end_date", dates.end_date.as_deref(), last)?;
        if start < first || start > last || end > last {
            return Err(format!(
                "the data set `{}` has visits from {first} to {last} (asked {start} to {end})",
                set.name
            ));
        }
        if end < start {
            return Err(format!("end_date {end} is before start_date {start}"));
        }
        Ok(Self { start, end })
    }

    pub(super) fn days(&self) -> usize {
        (self.end - self.start).num_days() as usize + 1
    }

    pub(super) fn previous_year(&self) -> Option<Self> {
        Some(Self {
            start: self.start.checked_sub_months(Months::new(12))?,
            end: self.end.checked_sub_months(Months::new(12))?,
        })
    }

    pub(super) fn previous_period(&self) -> Self {
        let len = chrono::Duration::days(self.days() as i64);
        Self {
            start: self.start - len,
            end: self.start - chrono::Duration::days(1),
        }
    }
}
