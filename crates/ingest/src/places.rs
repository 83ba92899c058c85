//! Places files: Overture Maps Places (GeoParquet), Foursquare Open Source Places (Parquet) and a
//! plain CSV (`id,name,brand,category,latitude,longitude,street,city,region,postcode,country`).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use geo_traits::{CoordTrait, GeometryTrait, GeometryType, PointTrait};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};
use parquet::schema::types::Type;

use crate::guard::{self, Limits};
use crate::patterns::{csv_fatal, header_index};
use crate::value::{coordinates, number, text};
use crate::{IngestError, Item, PlaceRecord, Progress, Rejection};

/// The format of a places file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacesFormat {
    /// Overture Maps Places, GeoParquet.
    Overture,
    /// Foursquare Open Source Places, Parquet.
    Foursquare,
    /// The plain CSV documented in `docs/DATA.md`.
    Csv,
}

impl PlacesFormat {
    /// Parses `overture`, `foursquare` or `csv`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "overture" => Some(Self::Overture),
            "foursquare" => Some(Self::Foursquare),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overture => "overture",
            Self::Foursquare => "foursquare",
            Self::Csv => "csv",
        }
    }

    /// Top-level columns read, required first.
    fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Overture => (
                &["id", "geometry", "names"],
                &[
                    "categories",
                    "brand",
                    "addresses",
                    "confidence",
                    "operating_status",
                ],
            ),
            Self::Foursquare => (
                &["fsq_place_id", "name", "latitude", "longitude"],
                &[
                    "address",
                    "locality",
                    "region",
                    "postcode",
                    "country",
                    "fsq_category_labels",
                    "date_closed",
                ],
            ),
            Self::Csv => (&["id", "name", "latitude", "longitude"], &[]),
        }
    }
}

enum Source {
    Parquet(RowIter<'static>),
    Csv {
        csv: Box<csv::Reader<Box<dyn Read + Send>>>,
        columns: HashMap<String, usize>,
        width: usize,
        record: csv::StringRecord,
        consumed: Arc<AtomicU64>,
    },
}

/// Streams the places of a file.
pub struct PlacesReader {
    format: PlacesFormat,
    source: Source,
    rows: u64,
    total_rows: Option<u64>,
    size: u64,
    done: bool,
}

impl std::fmt::Debug for PlacesReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlacesReader")
            .field("format", &self.format)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl PlacesReader {
    /// Opens a places file of `format` and checks its columns.
    pub fn open(path: &Path, format: PlacesFormat, limits: Limits) -> Result<Self, IngestError> {
        match format {
            PlacesFormat::Csv => Self::csv(guard::open_text(path, limits)?),
            PlacesFormat::Overture | PlacesFormat::Foursquare => {
                let file = File::open(path)?;
                let size = file.metadata()?.len();
                let reader = SerializedFileReader::new(file)
                    .map_err(|e| IngestError::Format(format!("not a Parquet file: {e}")))?;
                let total_rows = u64::try_from(reader.metadata().file_metadata().num_rows()).ok();
                let projection = projection(reader.metadata().file_metadata().schema(), format)?;
                let rows = RowIter::from_file_into(Box::new(reader))
                    .project(Some(projection))
                    .map_err(|e| IngestError::Format(format!("unreadable Parquet schema: {e}")))?;
                Ok(Self {
                    format,
                    source: Source::Parquet(rows),
                    rows: 0,
                    total_rows,
                    size,
                    done: false,
                })
            }
        }
    }

    /// Reads a plain CSV from any byte source (an upload).
    pub fn csv_from_reader(
        source: Box<dyn Read + Send>,
        size: u64,
        limits: Limits,
    ) -> Result<Self, IngestError> {
        Self::csv(guard::guard_text(source, size, limits)?)
    }

    fn csv(opened: guard::Opened) -> Result<Self, IngestError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(opened.reader);
        let header = csv.headers().map_err(csv_fatal)?.clone();
        let columns = header_index(&header)?;
        let (required, _) = PlacesFormat::Csv.columns();
        if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
            return Err(IngestError::Format(format!(
                "not a places CSV: the header lacks `{missing}`"
            )));
        }
        Ok(Self {
            format: PlacesFormat::Csv,
            source: Source::Csv {
                csv: Box::new(csv),
                columns,
                width: header.len(),
                record: csv::StringRecord::new(),
                consumed: opened.consumed,
            },
            rows: 0,
            total_rows: None,
            size: opened.size,
            done: false,
        })
    }

    /// Rows read so far, and the total where the format tells it.
    pub fn progress(&self) -> Progress {
        Progress {
            rows: self.rows,
            bytes: match &self.source {
                Source::Csv { consumed, .. } => guard::load(consumed),
                Source::Parquet(_) => 0,
            },
            total_rows: self.total_rows,
            total_bytes: self.size,
        }
    }

    fn next_parquet(&mut self) -> Option<Result<Item<PlaceRecord>, IngestError>> {
        let Source::Parquet(rows) = &mut self.source else {
            return None;
        };
        // The Parquet reader may panic on a corrupt file; that must not take the importer down.
        let next = catch_unwind(AssertUnwindSafe(|| rows.next())).unwrap_or_else(|_| {
            Some(Err(parquet::errors::ParquetError::General(
                "the file is corrupt".into(),
            )))
        });
        match next {
            None => {
                self.done = true;
                None
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Err(IngestError::Format(format!(
                    "unreadable Parquet at row {}: {e}",
                    self.rows + 1
                ))))
            }
            Some(Ok(row)) => {
                self.rows += 1;
                let parsed = match self.format {
                    PlacesFormat::Overture => overture(&row),
                    _ => foursquare(&row),
                }
                .and_then(without_nul);
                Some(Ok(match parsed {
                    Ok(place) => Item::Row(place),
                    Err((field, reason)) => Item::Rejected(Rejection {
                        line: self.rows,
                        field: field.into(),
                        reason,
                    }),
                }))
            }
        }
    }

    fn next_csv(&mut self) -> Option<Result<Item<PlaceRecord>, IngestError>> {
        let Source::Csv {
            csv,
            columns,
            width,
            record,
            ..
        } = &mut self.source
        else {
            return None;
        };
        match csv.read_record(record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                if let csv::ErrorKind::Utf8 { pos, err } = e.kind() {
                    self.rows += 1;
                    return Some(Ok(Item::Rejected(Rejection {
                        line: pos.as_ref().map_or(0, |p| p.line()),
                        field: "row".into(),
                        reason: format!("not UTF-8: {err}"),
                    })));
                }
                self.done = true;
                Some(Err(csv_fatal(e)))
            }
            Ok(true) => {
                self.rows += 1;
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != *width {
                    return Some(Ok(Item::Rejected(Rejection {
                        line,
                        field: "row".into(),
                        reason: format!("has {} fields; the header has {width}", record.len()),
                    })));
                }
                let cell = |name: &str| columns.get(name).and_then(|i| record.get(*i));
                Some(Ok(match plain(cell).and_then(without_nul) {
                    Ok(place) => Item::Row(place),
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

impl Iterator for PlacesReader {
    type Item = Result<Item<PlaceRecord>, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.source {
            Source::Parquet(_) => self.next_parquet(),
            Source::Csv { .. } => self.next_csv(),
        }
    }
}

type Parsed = Result<PlaceRecord, (&'static str, String)>;

fn without_nul(place: PlaceRecord) -> Parsed {
    match crate::value::nul_field(&place) {
        Some(field) => Err((field, "contains a NUL byte".to_owned())),
        None => Ok(place),
    }
}

/// The file's top-level columns that this format reads; a missing required one is an error.
fn projection(schema: &Type, format: PlacesFormat) -> Result<Type, IngestError> {
    let (required, optional) = format.columns();
    let fields = schema.get_fields();
    let find = |name: &str| fields.iter().find(|f| f.name() == name).cloned();
    let mut chosen = Vec::new();
    for name in required {
        chosen.push(find(name).ok_or_else(|| {
            IngestError::Format(format!(
                "not a {} places file: it has no `{name}` column",
                format.as_str()
            ))
        })?);
    }
    chosen.extend(optional.iter().filter_map(|name| find(name)));
    Type::group_type_builder(schema.name())
        .with_fields(chosen)
        .build()
        .map_err(|e| IngestError::Format(format!("unreadable Parquet schema: {e}")))
}

fn field<'a>(row: &'a Row, name: &str) -> Option<&'a Field> {
    row.get_column_iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, f)| f)
}

fn string(f: Option<&Field>) -> Option<String> {
    match f {
        Some(Field::Str(s)) => text(Some(s)),
        _ => None,
    }
}

fn group(f: Option<&Field>) -> Option<&Row> {
    match f {
        Some(Field::Group(row)) => Some(row),
        _ => None,
    }
}

fn list(f: Option<&Field>) -> &[Field] {
    match f {
        Some(Field::ListInternal(list)) => list.elements(),
        _ => &[],
    }
}

fn double(f: Option<&Field>) -> Option<f64> {
    match f {
        Some(Field::Double(v)) => Some(*v),
        Some(Field::Float(v)) => Some(f64::from(*v)),
        _ => None,
    }
}

/// One Overture place (schema: docs.overturemaps.org/schema/reference/places/place).
fn overture(row: &Row) -> Parsed {
    let key = string(field(row, "id")).ok_or(("id", "missing".to_owned()))?;
    let (lon, lat) = match field(row, "geometry") {
        Some(Field::Bytes(bytes)) => point(bytes.data()).map_err(|e| ("geometry", e))?,
        _ => return Err(("geometry", "missing".to_owned())),
    };
    let (lat, lon) = coordinates(Some(lat), Some(lon))?;
    let name = string(group(field(row, "names")).and_then(|n| field(n, "primary")))
        .ok_or(("names.primary", "missing".to_owned()))?;
    let categories = group(field(row, "categories"));
    let category = string(categories.and_then(|c| field(c, "primary")));
    let sub_category = list(categories.and_then(|c| field(c, "alternate")))
        .first()
        .and_then(|f| string(Some(f)));
    let brand = group(field(row, "brand"))
        .and_then(|b| group(field(b, "names")))
        .and_then(|n| string(field(n, "primary")));
    let address = list(field(row, "addresses"))
        .first()
        .and_then(|f| group(Some(f)));
    let part = |name: &str| address.and_then(|a| string(field(a, name)));
    let status = string(field(row, "operating_status"));
    Ok(PlaceRecord {
        key,
        name,
        brand,
        category,
        sub_category,
        lat,
        lon,
        street: part("freeform"),
        city: part("locality"),
        region: part("region").map(|r| short_region(&r)),
        postcode: part("postcode"),
        country: part("country"),
        confidence: double(field(row, "confidence")),
        closed: status.is_some_and(|s| s == "permanently_closed" || s == "closed"),
    })
}

/// `US-TX` (ISO 3166-2, as Overture writes regions) becomes `TX`.
fn short_region(region: &str) -> String {
    region.split_once('-').map_or(region, |(_, r)| r).to_owned()
}

/// (lon, lat) of a WKB point.
fn point(bytes: &[u8]) -> Result<(f64, f64), String> {
    let geometry = wkb::reader::read_wkb(bytes).map_err(|e| format!("not WKB: {e}"))?;
    match geometry.as_type() {
        GeometryType::Point(p) => p
            .coord()
            .map(|c| (c.x(), c.y()))
            .ok_or_else(|| "an empty point".to_owned()),
        _ => Err("not a point".to_owned()),
    }
}

/// One Foursquare OS place (schema: docs.foursquare.com/data-products/docs/places-os-data-schema).
fn foursquare(row: &Row) -> Parsed {
    let key = string(field(row, "fsq_place_id")).ok_or(("fsq_place_id", "missing".to_owned()))?;
    let name = string(field(row, "name")).ok_or(("name", "missing".to_owned()))?;
    let (lat, lon) = coordinates(
        double(field(row, "latitude")),
        double(field(row, "longitude")),
    )?;
    // `Dining and Drinking > Restaurant > Pizzeria`: the last level names the category.
    let labels = list(field(row, "fsq_category_labels"));
    let category = labels
        .first()
        .and_then(|f| string(Some(f)))
        .map(|l| l.rsplit('>').next().unwrap_or(&l).trim().to_owned());
    let closed = !matches!(field(row, "date_closed"), None | Some(Field::Null));
    Ok(PlaceRecord {
        key,
        name,
        brand: None,
        category,
        sub_category: None,
        lat,
        lon,
        street: string(field(row, "address")),
        city: string(field(row, "locality")),
        region: string(field(row, "region")),
        postcode: string(field(row, "postcode")),
        country: string(field(row, "country")),
        confidence: None,
        closed,
    })
}

/// One row of the plain CSV.
fn plain<'a>(cell: impl Fn(&str) -> Option<&'a str>) -> Parsed {
    let key = text(cell("id")).ok_or(("id", "missing".to_owned()))?;
    let name = text(cell("name")).ok_or(("name", "missing".to_owned()))?;
    let lat = number(cell("latitude")).map_err(|e| ("latitude", e))?;
    let lon = number(cell("longitude")).map_err(|e| ("longitude", e))?;
    let (lat, lon) = coordinates(lat, lon)?;
    Ok(PlaceRecord {
        key,
        name,
        brand: text(cell("brand")),
        category: text(cell("category")),
        sub_category: None,
        lat,
        lon,
        street: text(cell("street")),
        city: text(cell("city")),
        region: text(cell("region")),
        postcode: text(cell("postcode")),
        country: text(cell("country")),
        confidence: None,
        closed: false,
    })
}

/// The format of a places file from its content: Parquet with `fsq_place_id` is Foursquare,
/// other Parquet is Overture, anything else the plain CSV.
pub fn detect(path: &Path) -> Result<PlacesFormat, IngestError> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path)?;
    let n = file.read(&mut magic)?;
    if n < 4 || &magic != b"PAR1" {
        return Ok(PlacesFormat::Csv);
    }
    let reader = SerializedFileReader::new(File::open(path)?)
        .map_err(|e| IngestError::Format(format!("not a Parquet file: {e}")))?;
    let schema = reader.metadata().file_metadata().schema();
    let has = |name: &str| schema.get_fields().iter().any(|f| f.name() == name);
    Ok(if has("fsq_place_id") {
        PlacesFormat::Foursquare
    } else {
        PlacesFormat::Overture
    })
}
