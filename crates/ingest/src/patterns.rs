//! Advan / SafeGraph Weekly and Monthly Patterns, as published: CSV, optionally gzipped, one
//! row per place and period, with JSON arrays and objects in cells.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::guard::{self, Limits};
use crate::value::{coordinates, count, date, json_counts, json_pairs, number, text};
use crate::{IngestError, Item, PatternsRow, PlaceRecord, Progress, Rejection, VisitRecord};

/// Columns read; the first group is required.
const REQUIRED: [&str; 7] = [
    "location_name",
    "latitude",
    "longitude",
    "date_range_start",
    "date_range_end",
    "raw_visit_counts",
    "visits_by_day",
];

/// The longest period a row may cover (a monthly file's month).
const MAX_PERIOD_DAYS: i64 = 31;

/// Streams the rows of a Patterns file.
pub struct PatternsReader {
    csv: csv::Reader<Box<dyn Read + Send>>,
    columns: HashMap<String, usize>,
    /// `placekey` or `store_id`.
    key: &'static str,
    width: usize,
    record: csv::StringRecord,
    rows: u64,
    consumed: Arc<AtomicU64>,
    size: u64,
    done: bool,
}

impl std::fmt::Debug for PatternsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternsReader")
            .field("key", &self.key)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl PatternsReader {
    /// Opens a `.csv` or `.csv.gz` file and checks its header.
    pub fn open(path: &Path, limits: Limits) -> Result<Self, IngestError> {
        Self::with(guard::open_text(path, limits)?)
    }

    /// Reads from any byte source of `size` bytes (an upload).
    pub fn from_reader(
        source: Box<dyn Read + Send>,
        size: u64,
        limits: Limits,
    ) -> Result<Self, IngestError> {
        Self::with(guard::guard_text(source, size, limits)?)
    }

    fn with(opened: guard::Opened) -> Result<Self, IngestError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(opened.reader);
        let header = csv.headers().map_err(csv_fatal)?.clone();
        let columns = header_index(&header)?;
        let key = if columns.contains_key("placekey") {
            "placekey"
        } else if columns.contains_key("store_id") {
            "store_id"
        } else {
            return Err(IngestError::Format(
                "not a Patterns file: the header has neither `placekey` nor `store_id`".into(),
            ));
        };
        if let Some(missing) = REQUIRED.iter().find(|c| !columns.contains_key(**c)) {
            return Err(IngestError::Format(format!(
                "not a Patterns file: the header lacks `{missing}`"
            )));
        }
        Ok(Self {
            csv,
            columns,
            key,
            width: header.len(),
            record: csv::StringRecord::new(),
            rows: 0,
            consumed: opened.consumed,
            size: opened.size,
            done: false,
        })
    }

    /// The column that keys places: `placekey` or `store_id`.
    pub fn key_column(&self) -> &'static str {
        self.key
    }

    /// Rows read and bytes consumed so far.
    pub fn progress(&self) -> Progress {
        Progress {
            rows: self.rows,
            bytes: guard::load(&self.consumed),
            total_rows: None,
            total_bytes: self.size,
        }
    }

    fn cell(&self, name: &str) -> Option<&str> {
        self.columns.get(name).and_then(|i| self.record.get(*i))
    }

    fn parse(&self) -> Result<PatternsRow, (&'static str, String)> {
        let key = text(self.cell(self.key)).ok_or((self.key, "missing".to_owned()))?;
        let name =
            text(self.cell("location_name")).ok_or(("location_name", "missing".to_owned()))?;
        let lat = number(self.cell("latitude")).map_err(|e| ("latitude", e))?;
        let lon = number(self.cell("longitude")).map_err(|e| ("longitude", e))?;
        let (lat, lon) = coordinates(lat, lon)?;
        let start = date(self.cell("date_range_start")).map_err(|e| ("date_range_start", e))?;
        let end = date(self.cell("date_range_end")).map_err(|e| ("date_range_end", e))?;
        let days = (end - start).num_days();
        if days <= 0 {
            return Err((
                "date_range_end",
                format!("{end} is not after date_range_start {start}"),
            ));
        }
        if days > MAX_PERIOD_DAYS {
            return Err((
                "date_range_end",
                format!("the period is {days} days; a row covers a week or a month"),
            ));
        }
        let raw_visits = count(self.cell("raw_visit_counts"))
            .map_err(|e| ("raw_visit_counts", e))?
            .ok_or(("raw_visit_counts", "missing".to_owned()))?;
        let raw_visitors =
            count(self.cell("raw_visitor_counts")).map_err(|e| ("raw_visitor_counts", e))?;
        let visits_by_day = json_counts(self.cell("visits_by_day"))
            .map_err(|e| ("visits_by_day", e))?
            .ok_or(("visits_by_day", "missing".to_owned()))?;
        if visits_by_day.len() as i64 != days {
            return Err((
                "visits_by_day",
                format!(
                    "has {} values for a period of {days} days",
                    visits_by_day.len()
                ),
            ));
        }
        let visits_by_hour = self.hours(days as usize)?;
        let median_dwell = number(self.cell("median_dwell")).map_err(|e| ("median_dwell", e))?;
        let dwell_buckets = json_pairs(self.cell("bucketed_dwell_times"))
            .map_err(|e| ("bucketed_dwell_times", e))?;
        let mut home_areas: Vec<(String, u64)> =
            json_pairs(self.cell("visitor_home_cbgs")).map_err(|e| ("visitor_home_cbgs", e))?;
        if home_areas.is_empty() {
            home_areas = json_pairs(self.cell("visitor_home_aggregation"))
                .map_err(|e| ("visitor_home_aggregation", e))?;
        }
        let related_column = if self.columns.contains_key("related_same_day_brand") {
            "related_same_day_brand"
        } else {
            "related_same_month_brand"
        };
        let related_brands =
            json_pairs(self.cell(related_column)).map_err(|e| (related_column, e))?;
        let distance_from_home =
            number(self.cell("distance_from_home")).map_err(|e| ("distance_from_home", e))?;
        let brand = text(self.cell("brands")).map(|b| {
            // Several brands are comma-separated; the first is the place's.
            b.split(',').next().unwrap_or("").trim().to_owned()
        });
        let place = PlaceRecord {
            key,
            name,
            brand: brand.filter(|b| !b.is_empty()),
            category: text(self.cell("top_category")),
            sub_category: text(self.cell("sub_category")),
            lat,
            lon,
            street: text(self.cell("street_address")),
            city: text(self.cell("city")),
            region: text(self.cell("region")),
            postcode: text(self.cell("postal_code")),
            country: text(self.cell("iso_country_code")),
            confidence: None,
            closed: text(self.cell("closed_on")).is_some(),
        };
        let visits = VisitRecord {
            start,
            end,
            raw_visits,
            raw_visitors,
            visits_by_day,
            visits_by_hour,
            median_dwell,
            dwell_buckets,
            home_areas,
            related_brands,
            distance_from_home,
        };
        let labels = visits
            .home_areas
            .iter()
            .map(|(k, _)| k)
            .chain(visits.related_brands.iter().map(|(k, _)| k));
        if let Some(field) = crate::value::nul_field(&place) {
            return Err((field, "contains a NUL byte".to_owned()));
        }
        for label in labels {
            if label.contains('\0') {
                return Err(("row", "a JSON key contains a NUL byte".to_owned()));
            }
        }
        Ok(PatternsRow { place, visits })
    }

    /// Visits by hour of day: weekly `visits_by_each_hour` (24 per day, folded), or monthly
    /// `popularity_by_hour` (24).
    fn hours(&self, days: usize) -> Result<Option<Vec<u32>>, (&'static str, String)> {
        if let Some(each) =
            json_counts(self.cell("visits_by_each_hour")).map_err(|e| ("visits_by_each_hour", e))?
        {
            if each.len() != days * 24 {
                return Err((
                    "visits_by_each_hour",
                    format!("has {} values for {days} days of 24 hours", each.len()),
                ));
            }
            let mut hours = vec![0u32; 24];
            for (i, v) in each.iter().enumerate() {
                hours[i % 24] = hours[i % 24].saturating_add(*v);
            }
            return Ok(Some(hours));
        }
        match json_counts(self.cell("popularity_by_hour")).map_err(|e| ("popularity_by_hour", e))? {
            Some(h) if h.len() != 24 => Err((
                "popularity_by_hour",
                format!("has {} values, not 24", h.len()),
            )),
            other => Ok(other),
        }
    }
}

impl Iterator for PatternsReader {
    type Item = Result<Item<PatternsRow>, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.csv.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => match e.into_kind() {
                csv::ErrorKind::Io(io) => {
                    self.done = true;
                    Some(Err(guard::classify(io)))
                }
                csv::ErrorKind::Utf8 { pos, err } => {
                    self.rows += 1;
                    Some(Ok(Item::Rejected(Rejection {
                        line: pos.map_or(0, |p| p.line()),
                        field: "row".into(),
                        reason: format!("not UTF-8: {err}"),
                    })))
                }
                other => {
                    self.done = true;
                    Some(Err(IngestError::Format(format!(
                        "unreadable CSV: {other:?}"
                    ))))
                }
            },
            Ok(true) => {
                self.rows += 1;
                let line = self.record.position().map_or(0, |p| p.line());
                if self.record.len() != self.width {
                    return Some(Ok(Item::Rejected(Rejection {
                        line,
                        field: "row".into(),
                        reason: format!(
                            "has {} fields; the header has {}",
                            self.record.len(),
                            self.width
                        ),
                    })));
                }
                Some(Ok(match self.parse() {
                    Ok(row) => Item::Row(row),
                    Err((field, reason)) => Item::Rejected(Rejection {
                        line,
                        field: field.into(),
                        reason,
                    }),
                }))
            }
        }
    }
}

/// Column positions by name; a repeated name is refused (which one would be meant?).
pub(crate) fn header_index(
    header: &csv::StringRecord,
) -> Result<HashMap<String, usize>, IngestError> {
    let mut columns = HashMap::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}').to_owned();
        if name.is_empty() {
            continue;
        }
        if columns.insert(name.clone(), i).is_some() {
            return Err(IngestError::Refused(format!(
                "the header repeats the column `{name}`"
            )));
        }
    }
    Ok(columns)
}

/// A CSV error that ends reading.
pub(crate) fn csv_fatal(e: csv::Error) -> IngestError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => guard::classify(io),
        other => IngestError::Format(format!("unreadable CSV header: {other:?}")),
    }
}
