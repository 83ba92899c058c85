//! Writing Patterns files (`pi-server export patterns`): the columns the reader reads, with the
//! published names, CSV through the `csv` crate, gzip through `flate2` when asked.

use std::io::Write;

use crate::PatternsRow;

/// The columns written, in order.
pub const PATTERNS_COLUMNS: [&str; 23] = [
    "placekey",
    "location_name",
    "brands",
    "top_category",
    "sub_category",
    "latitude",
    "longitude",
    "street_address",
    "city",
    "region",
    "postal_code",
    "iso_country_code",
    "date_range_start",
    "date_range_end",
    "raw_visit_counts",
    "raw_visitor_counts",
    "visits_by_day",
    "popularity_by_hour",
    "median_dwell",
    "bucketed_dwell_times",
    "visitor_home_cbgs",
    "related_same_day_brand",
    "distance_from_home",
];

/// Writes Patterns rows.
pub struct PatternsWriter<W: Write> {
    csv: csv::Writer<W>,
    rows: u64,
}

impl<W: Write> std::fmt::Debug for PatternsWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternsWriter")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

fn json<T: serde::Serialize>(value: &T) -> std::io::Result<String> {
    serde_json::to_string(value).map_err(std::io::Error::other)
}

/// A JSON object of pairs in their order (a map would sort them: dwell buckets have an order).
fn object<V: serde::Serialize>(pairs: &[(String, V)]) -> std::io::Result<String> {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json(k)?);
        out.push(':');
        out.push_str(&json(v)?);
    }
    out.push('}');
    Ok(out)
}

impl<W: Write> PatternsWriter<W> {
    /// A writer that has written the header.
    pub fn new(out: W) -> std::io::Result<Self> {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(PATTERNS_COLUMNS)
            .map_err(std::io::Error::other)?;
        Ok(Self { csv, rows: 0 })
    }

    /// Writes one row.
    pub fn write(&mut self, row: &PatternsRow) -> std::io::Result<()> {
        let p = &row.place;
        let v = &row.visits;
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        let record = [
            p.key.clone(),
            p.name.clone(),
            opt(&p.brand),
            opt(&p.category),
            opt(&p.sub_category),
            p.lat.to_string(),
            p.lon.to_string(),
            opt(&p.street),
            opt(&p.city),
            opt(&p.region),
            opt(&p.postcode),
            opt(&p.country),
            format!("{}T00:00:00+00:00", v.start),
            format!("{}T00:00:00+00:00", v.end),
            v.raw_visits.to_string(),
            v.raw_visitors.map(|n| n.to_string()).unwrap_or_default(),
            json(&v.visits_by_day)?,
            v.visits_by_hour
                .as_ref()
                .map(json)
                .transpose()?
                .unwrap_or_default(),
            v.median_dwell.map(|d| d.to_string()).unwrap_or_default(),
            object(&v.dwell_buckets)?,
            object(&v.home_areas)?,
            object(&v.related_brands)?,
            v.distance_from_home
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ];
        self.csv
            .write_record(&record)
            .map_err(std::io::Error::other)?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes and returns the output and the rows written.
    pub fn finish(self) -> std::io::Result<(W, u64)> {
        let rows = self.rows;
        let out = self
            .csv
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok((out, rows))
    }
}
