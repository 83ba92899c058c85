//! Writing files in the published schemas (`pi-server export patterns|places`): the columns the
//! readers read, with the published names. Patterns through the `csv` crate (gzip through
//! `flate2` when asked); Overture Places as GeoParquet through the `parquet` crate.

use std::io::Write;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::parser::parse_message_type;

use crate::{IngestError, PatternsRow, PlaceRecord};

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

/// Overture Places' columns that `pi-server export places` writes (GeoParquet 1.1, WKB points),
/// as a Parquet message type: the subset of
/// <https://docs.overturemaps.org/schema/reference/places/place/> that the reader reads.
const OVERTURE_SCHEMA: &str = "
message place {
  required binary id (STRING);
  required binary geometry;
  optional group names {
    optional binary primary (STRING);
  }
  optional group categories {
    optional binary primary (STRING);
    optional group alternate (LIST) {
      repeated group list {
        optional binary element (STRING);
      }
    }
  }
  optional double confidence;
  optional group brand {
    optional group names {
      optional binary primary (STRING);
    }
  }
  optional group addresses (LIST) {
    repeated group list {
      optional group element {
        optional binary freeform (STRING);
        optional binary locality (STRING);
        optional binary postcode (STRING);
        optional binary region (STRING);
        optional binary country (STRING);
      }
    }
  }
  optional binary operating_status (STRING);
}";

/// The GeoParquet file metadata: `geometry` is the primary column, WKB points.
const GEO_METADATA: &str = r#"{"version":"1.1.0","primary_column":"geometry","columns":{"geometry":{"encoding":"WKB","geometry_types":["Point"]}}}"#;

/// Places per row group.
const PLACES_PER_GROUP: usize = 65_536;

/// Writes places as Overture Places GeoParquet, a row group at a time.
pub struct OverturePlacesWriter<W: Write + Send> {
    writer: parquet::file::writer::SerializedFileWriter<W>,
    pending: Vec<PlaceRecord>,
    rows: u64,
}

impl<W: Write + Send> std::fmt::Debug for OverturePlacesWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverturePlacesWriter")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// A WKB point (little endian).
fn wkb_point(lon: f64, lat: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(21);
    out.push(1);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&lon.to_le_bytes());
    out.extend_from_slice(&lat.to_le_bytes());
    out
}

/// An optional string leaf: its values, and each row's definition level (`max` when present).
fn optional_strings<'a>(
    items: impl Iterator<Item = Option<&'a str>>,
    max: i16,
) -> (Vec<ByteArray>, Vec<i16>) {
    let mut values = Vec::new();
    let mut defs = Vec::new();
    for item in items {
        match item {
            Some(s) => {
                values.push(ByteArray::from(s.as_bytes().to_vec()));
                defs.push(max);
            }
            None => defs.push(max - 1),
        }
    }
    (values, defs)
}

impl<W: Write + Send> OverturePlacesWriter<W> {
    /// Starts a file.
    ///
    /// # Errors
    /// When the sink cannot be written.
    pub fn new(sink: W) -> Result<Self, IngestError> {
        let schema = Arc::new(
            parse_message_type(OVERTURE_SCHEMA).map_err(|e| IngestError::Format(e.to_string()))?,
        );
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_key_value_metadata(Some(vec![KeyValue::new(
                    "geo".to_owned(),
                    GEO_METADATA.to_owned(),
                )]))
                .build(),
        );
        let writer = parquet::file::writer::SerializedFileWriter::new(sink, schema, props)
            .map_err(parquet_error)?;
        Ok(Self {
            writer,
            pending: Vec::with_capacity(PLACES_PER_GROUP),
            rows: 0,
        })
    }

    /// Adds a place (written with its row group).
    ///
    /// # Errors
    /// When the sink cannot be written.
    pub fn write(&mut self, place: PlaceRecord) -> Result<(), IngestError> {
        self.pending.push(place);
        if self.pending.len() >= PLACES_PER_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }

    /// Writes what is pending and the footer; returns the places written and the sink.
    ///
    /// # Errors
    /// When the sink cannot be written.
    pub fn finish(mut self) -> Result<(W, u64), IngestError> {
        self.flush_group()?;
        let sink = self.writer.into_inner().map_err(parquet_error)?;
        Ok((sink, self.rows))
    }

    fn flush_group(&mut self) -> Result<(), IngestError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let places = std::mem::take(&mut self.pending);
        let mut group = self.writer.next_row_group().map_err(parquet_error)?;
        let mut leaf = 0;
        while let Some(mut column) = group.next_column().map_err(parquet_error)? {
            match leaf {
                0 | 1 => {
                    let values: Vec<ByteArray> = places
                        .iter()
                        .map(|p| {
                            if leaf == 0 {
                                ByteArray::from(p.key.as_bytes().to_vec())
                            } else {
                                ByteArray::from(wkb_point(p.lon, p.lat))
                            }
                        })
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, None, None)
                        .map_err(parquet_error)?;
                }
                // names.primary, categories.primary: group present, value optional.
                2 | 3 => {
                    let (values, defs) = optional_strings(
                        places.iter().map(|p| {
                            if leaf == 2 {
                                Some(p.name.as_str())
                            } else {
                                p.category.as_deref()
                            }
                        }),
                        2,
                    );
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defs), None)
                        .map_err(parquet_error)?;
                }
                // categories.alternate: the sub-category as its one element, else empty.
                4 => {
                    let mut values = Vec::new();
                    let (mut defs, mut reps) = (Vec::new(), Vec::new());
                    for p in &places {
                        reps.push(0);
                        match &p.sub_category {
                            Some(s) => {
                                values.push(ByteArray::from(s.as_bytes().to_vec()));
                                defs.push(4);
                            }
                            None => defs.push(2),
                        }
                    }
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defs), Some(&reps))
                        .map_err(parquet_error)?;
                }
                5 => {
                    let values: Vec<f64> = places.iter().filter_map(|p| p.confidence).collect();
                    let defs: Vec<i16> = places
                        .iter()
                        .map(|p| i16::from(p.confidence.is_some()))
                        .collect();
                    column
                        .typed::<DoubleType>()
                        .write_batch(&values, Some(&defs), None)
                        .map_err(parquet_error)?;
                }
                // brand.names.primary: no brand is a missing `brand` group.
                6 => {
                    let values: Vec<ByteArray> = places
                        .iter()
                        .filter_map(|p| p.brand.as_ref())
                        .map(|b| ByteArray::from(b.as_bytes().to_vec()))
                        .collect();
                    let defs: Vec<i16> = places
                        .iter()
                        .map(|p| if p.brand.is_some() { 3 } else { 0 })
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defs), None)
                        .map_err(parquet_error)?;
                }
                // addresses: one element per place, each part optional; the region as ISO
                // 3166-2 (`US-TX`), as Overture writes it.
                7..=11 => {
                    let regions: Vec<Option<String>> = places
                        .iter()
                        .map(|p| {
                            p.region.as_ref().map(|r| match p.country.as_deref() {
                                Some(c) if r.len() == 2 => format!("{c}-{r}"),
                                _ => r.clone(),
                            })
                        })
                        .collect();
                    let (values, defs) = optional_strings(
                        places.iter().zip(&regions).map(|(p, region)| match leaf {
                            7 => p.street.as_deref(),
                            8 => p.city.as_deref(),
                            9 => p.postcode.as_deref(),
                            10 => region.as_deref(),
                            _ => p.country.as_deref(),
                        }),
                        4,
                    );
                    let reps = vec![0i16; places.len()];
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defs), Some(&reps))
                        .map_err(parquet_error)?;
                }
                _ => {
                    let (values, defs) = optional_strings(
                        places.iter().map(|p| {
                            Some(if p.closed {
                                "permanently_closed"
                            } else {
                                "open"
                            })
                        }),
                        1,
                    );
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defs), None)
                        .map_err(parquet_error)?;
                }
            }
            column.close().map_err(parquet_error)?;
            leaf += 1;
        }
        group.close().map_err(parquet_error)?;
        self.rows += places.len() as u64;
        Ok(())
    }
}

fn parquet_error(e: parquet::errors::ParquetError) -> IngestError {
    IngestError::Format(format!("cannot write Parquet: {e}"))
}
