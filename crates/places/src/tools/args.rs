//! Argument types several tools share (date ranges, place ids, entities) and the checks on them.

use std::borrow::Cow;

use chrono::{Months, NaiveDate};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::parse_place_id;
use crate::dataset::Dataset;
use crate::model::{FIRST_DAY, LAST_DAY, day_index};

/// The `start_date` and `end_date` arguments, flattened into each tool's arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DateRangeArgs {
    /// First day, YYYY-MM-DD (default 2025-01-01).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day, YYYY-MM-DD (default 2025-12-31).
    #[serde(default)]
    pub end_date: Option<String>,
}

impl DateRangeArgs {
    /// A whole calendar year.
    pub fn year(year: i32) -> Self {
        Self {
            start_date: Some(format!("{year}-01-01")),
            end_date: Some(format!("{year}-12-31")),
        }
    }

    /// The validated range these arguments name (defaults: the whole of 2025).
    pub(crate) fn range(&self) -> Result<Range, String> {
        Range::parse(self.start_date.as_deref(), self.end_date.as_deref())
    }
}

/// Arguments as JSON the way a model writes them: absent optional fields left out rather than
/// `null` (the tools read both the same).
pub fn to_arguments<T: Serialize>(args: &T) -> Result<Value, serde_json::Error> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }
    let mut value = serde_json::to_value(args)?;
    strip(&mut value);
    Ok(value)
}

/// A validated date range inside the data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub(crate) start: NaiveDate,
    pub(crate) end: NaiveDate,
}

impl Range {
    fn parse(start: Option<&str>, end: Option<&str>) -> Result<Self, String> {
        let parse_one =
            |name: &str, s: Option<&str>, default: NaiveDate| -> Result<NaiveDate, String> {
                match s {
                    None => Ok(default),
                    Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                        .map_err(|_| format!("{name} {s:?} is not a date (YYYY-MM-DD)")),
                }
            };
        let default_start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or(FIRST_DAY);
        let start = parse_one("start_date", start, default_start)?;
        let end = parse_one("end_date", end, LAST_DAY)?;
        if end < start {
            return Err(format!("end_date {end} is before start_date {start}"));
        }
        if start < FIRST_DAY || end > LAST_DAY {
            return Err(format!(
                "dates must lie within {FIRST_DAY} and {LAST_DAY} (got {start} to {end})"
            ));
        }
        Ok(Self { start, end })
    }

    pub(crate) fn days(&self) -> usize {
        (self.end - self.start).num_days() as usize + 1
    }

    pub(crate) fn indexes(&self) -> std::ops::RangeInclusive<usize> {
        day_index(self.start)..=day_index(self.end)
    }

    /// The same range one year earlier, if inside the data.
    pub(crate) fn previous_year(&self) -> Option<Self> {
        let start = self.start.checked_sub_months(Months::new(12))?;
        let end = self.end.checked_sub_months(Months::new(12))?;
        (start >= FIRST_DAY).then_some(Self { start, end })
    }

    /// The period of equal length right before, if inside the data.
    pub(crate) fn previous_period(&self) -> Option<Self> {
        let len = chrono::Duration::days(self.days() as i64);
        let start = self.start - len;
        (start >= FIRST_DAY).then_some(Self {
            start,
            end: self.start - chrono::Duration::days(1),
        })
    }
}

/// A place id argument, `place:<n>`; a plain string in the schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlaceId(pub String);

impl PlaceId {
    /// The place's index in the data set.
    pub(crate) fn index(&self, data: &Dataset) -> Result<u32, String> {
        parse_place_id(data, &self.0)
    }
}

impl From<&str> for PlaceId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl JsonSchema for PlaceId {
    fn schema_name() -> Cow<'static, str> {
        "PlaceId".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string"})
    }
}

/// Indexes of a list of place ids named `field`, which must hold 1 to `max` of them.
pub(crate) fn place_indexes(
    data: &Dataset,
    ids: &[PlaceId],
    field: &str,
    max: usize,
) -> Result<Vec<u32>, String> {
    if ids.is_empty() || ids.len() > max {
        return Err(format!("{field} must list 1 to {max} place ids"));
    }
    ids.iter().map(|id| id.index(data)).collect()
}

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// One place (`place:…`).
    Place,
    /// A chain (`chain:…` or brand name).
    Chain,
    /// A category (`coffee`, `qsr`, …).
    Category,
}

/// A place, chain or category, optionally limited to a metro.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityRef {
    /// Entity type.
    #[serde(rename = "type")]
    pub kind: EntityType,
    /// Its id.
    pub id: String,
    /// Optional metro (name or `metro:` id) for chains and categories.
    #[serde(default)]
    pub metro: Option<String>,
}

/// A page size or row count: `default` when absent, else 1 to `max`.
pub(crate) fn check_limit(
    name: &str,
    value: Option<u32>,
    default: u32,
    max: u32,
) -> Result<usize, String> {
    let v = value.unwrap_or(default);
    if v == 0 || v > max {
        return Err(format!("{name} must be between 1 and {max} (got {v})"));
    }
    Ok(v as usize)
}

/// A latitude and longitude in range.
pub(crate) fn check_lat_lon(lat: f64, lon: f64) -> Result<(), String> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(format!("latitude {lat} is out of range (-90..90)"));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(format!("longitude {lon} is out of range (-180..180)"));
    }
    Ok(())
}
