//! What a customer's files say, once read and checked: places, their visits per period, and the
//! rows left out. Produced by the readers (`pi-ingest`), stored by the data-set repository,
//! answered from by the analytics tools.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A place as a file describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceRecord {
    /// The file's id of the place (`placekey`, `store_id`, Overture `id`, `fsq_place_id`, `id`).
    pub key: String,
    pub name: String,
    /// Brand (chain) name, when the place belongs to one.
    pub brand: Option<String>,
    /// The source's category label (Overture `categories.primary`, SafeGraph `top_category`,
    /// the last level of Foursquare's first label).
    pub category: Option<String>,
    /// A finer label where the source has one (SafeGraph `sub_category`, Overture's first
    /// alternate category).
    pub sub_category: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub street: Option<String>,
    pub city: Option<String>,
    /// State or region code.
    pub region: Option<String>,
    pub postcode: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Overture's confidence (0–1).
    pub confidence: Option<f64>,
    /// Closed for good (Overture `operating_status`, Foursquare `date_closed`, SafeGraph
    /// `closed_on`).
    pub closed: bool,
}

/// Visits to one place over one period (a week or a month of a Patterns file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitRecord {
    /// First day of the period.
    pub start: NaiveDate,
    /// Day after the period (exclusive), as `date_range_end` is published.
    pub end: NaiveDate,
    pub raw_visits: u64,
    pub raw_visitors: Option<u64>,
    /// One count per day of the period.
    pub visits_by_day: Vec<u32>,
    /// Visits by hour of day (24 values), summed over the period: from `visits_by_each_hour`
    /// (weekly) or `popularity_by_hour` (monthly).
    pub visits_by_hour: Option<Vec<u32>>,
    /// Minutes.
    pub median_dwell: Option<f64>,
    /// `bucketed_dwell_times`: bucket label → visits, in the file's order.
    pub dwell_buckets: Vec<(String, u64)>,
    /// Where visitors live: census block group (12 digits) from `visitor_home_cbgs`, or tract
    /// (11 digits) from `visitor_home_aggregation` → visitors.
    pub home_areas: Vec<(String, u64)>,
    /// `related_same_day_brand` (or `related_same_month_brand`): brand → % of visitors.
    pub related_brands: Vec<(String, f64)>,
    /// Median distance from home, metres.
    pub distance_from_home: Option<f64>,
}

/// One line of a Patterns file: the place and its visits in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternsRow {
    pub place: PlaceRecord,
    pub visits: VisitRecord,
}

/// A row left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// 1-based line of the file (CSV, header = line 1) or 1-based row (Parquet).
    pub line: u64,
    /// The column at fault (`row` when the row as a whole is).
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.reason)
    }
}
