//! The readers against the committed sample files (written by pyarrow and Python's csv from the
//! published schemas: `fixtures/make_fixtures.py`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use pi_ingest::{
    IngestError, Item, Limits, PatternsReader, PatternsRow, PlaceRecord, PlacesFormat,
    PlacesReader, Rejection,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn split<T>(items: impl Iterator<Item = Result<Item<T>, IngestError>>) -> (Vec<T>, Vec<Rejection>) {
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for item in items {
        match item.unwrap() {
            Item::Row(r) => rows.push(r),
            Item::Rejected(r) => rejected.push(r),
        }
    }
    (rows, rejected)
}

fn places(name: &str, format: PlacesFormat) -> (Vec<PlaceRecord>, Vec<Rejection>) {
    split(PlacesReader::open(&fixture(name), format, Limits::default()).unwrap())
}

#[test]
fn overture_places_are_read_from_geoparquet() {
    let (rows, rejected) = places("overture_places.parquet", PlacesFormat::Overture);
    assert_eq!(rows.len(), 3);
    let starbucks = &rows[1];
    assert_eq!(starbucks.key, "08f2a100e1b3a0b903a8f8c2d7f5b1e3");
    assert_eq!(starbucks.name, "Starbucks");
    assert_eq!(starbucks.brand.as_deref(), Some("Starbucks"));
    assert_eq!(starbucks.category.as_deref(), Some("coffee_shop"));
    assert_eq!((starbucks.lat, starbucks.lon), (30.27, -97.75));
    assert_eq!(starbucks.city.as_deref(), Some("Austin"));
    assert_eq!(starbucks.region.as_deref(), Some("TX"));
    assert_eq!(starbucks.postcode.as_deref(), Some("78701"));
    assert_eq!(starbucks.confidence, Some(0.98));
    assert!(!starbucks.closed);
    let closed = &rows[2];
    assert_eq!(closed.name, "<img src=x onerror=alert(1)>");
    assert_eq!(closed.sub_category.as_deref(), Some("burger_restaurant"));
    assert!(closed.closed);
    assert_eq!(
        rejected
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect::<Vec<_>>(),
        [(4, "latitude"), (5, "names.primary")]
    );
}

#[test]
fn foursquare_places_are_read_from_parquet() {
    let (rows, rejected) = places("foursquare_places.parquet", PlacesFormat::Foursquare);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].key, "4b0588f4f964a520a6d322e3");
    assert_eq!(rows[0].category.as_deref(), Some("Pizzeria"));
    assert_eq!(rows[0].city.as_deref(), Some("New York"));
    assert!(!rows[0].closed);
    assert!(rows[1].closed, "date_closed is set");
    assert_eq!(
        rejected
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect::<Vec<_>>(),
        [(3, "fsq_place_id"), (4, "longitude")]
    );
}

#[test]
fn a_file_of_another_format_is_refused_with_the_missing_column() {
    let err = PlacesReader::open(
        &fixture("foursquare_places.parquet"),
        PlacesFormat::Overture,
        Limits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("`id`"), "{err}");
    let err = PlacesReader::open(
        &fixture("places.csv"),
        PlacesFormat::Overture,
        Limits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a Parquet file"), "{err}");
}

#[test]
fn plain_csv_places_are_read() {
    let (rows, rejected) = places("places.csv", PlacesFormat::Csv);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].name, "Lift Gym, \"North\"");
    assert_eq!(rows[1].brand.as_deref(), Some("Lift"));
    assert_eq!(rejected[0].line, 4);
    assert_eq!(rejected[0].field, "latitude");
}

fn patterns(name: &str) -> (Vec<PatternsRow>, Vec<Rejection>) {
    split(PatternsReader::open(&fixture(name), Limits::default()).unwrap())
}

#[test]
fn weekly_patterns_keyed_by_placekey() {
    let reader = PatternsReader::open(&fixture("patterns_weekly.csv"), Limits::default()).unwrap();
    assert_eq!(reader.key_column(), "placekey");
    let (rows, rejected) = patterns("patterns_weekly.csv");
    assert_eq!(rows.len(), 4);
    let first = &rows[0];
    assert_eq!(first.place.key, "222-222@5vg-7gv-d7q");
    assert_eq!(
        first.place.category.as_deref(),
        Some("Restaurants and Other Eating Places")
    );
    assert_eq!(first.visits.start.to_string(), "2024-01-01");
    assert_eq!(first.visits.end.to_string(), "2024-01-08");
    assert_eq!(
        first.visits.visits_by_day,
        [120, 130, 125, 128, 140, 160, 150]
    );
    assert_eq!(first.visits.raw_visits, 953);
    let hours = first.visits.visits_by_hour.as_ref().unwrap();
    assert_eq!(hours.len(), 24);
    // The writer's hours are `day // 24 + hour % 3`: folded over the week's 168 hours.
    let expected: u64 = first
        .visits
        .visits_by_day
        .iter()
        .map(|d| 24 * u64::from(d / 24) + 24)
        .sum();
    assert_eq!(hours.iter().map(|h| u64::from(*h)).sum::<u64>(), expected);
    assert_eq!(
        hours[1] - hours[0],
        7,
        "hour 1 gets one more per day than hour 0"
    );
    assert_eq!(first.visits.dwell_buckets[0], ("<5".to_owned(), 10));
    assert_eq!(first.visits.home_areas[0], ("484530011001".to_owned(), 40));
    assert_eq!(first.visits.related_brands[0].0, "Whole Foods Market");
    assert_eq!(first.visits.distance_from_home, Some(5120.0));
    assert_eq!(rows[2].place.brand.as_deref(), Some("Starbucks"));
    assert_eq!(rows[3].place.name, "<img src=x onerror=alert(1)>");
    let seen: Vec<(u64, &str)> = rejected
        .iter()
        .map(|r| (r.line, r.field.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (6, "placekey"),
            (7, "latitude"),
            (8, "visitor_home_cbgs"),
            (9, "date_range_end"),
            (10, "visits_by_day"),
            (11, "row"),
        ]
    );
    assert!(rejected[3].reason.contains("not after"), "{}", rejected[3]);
    assert!(
        rejected[5].reason.contains("has 4 fields"),
        "{}",
        rejected[5]
    );
}

#[test]
fn monthly_patterns_keyed_by_store_id_from_gzip() {
    let reader =
        PatternsReader::open(&fixture("patterns_monthly.csv.gz"), Limits::default()).unwrap();
    assert_eq!(reader.key_column(), "store_id");
    let (rows, rejected) = patterns("patterns_monthly.csv.gz");
    assert!(rejected.is_empty(), "{rejected:?}");
    let target = &rows[0];
    assert_eq!(target.place.key, "store-0001");
    assert_eq!(target.visits.visits_by_day.len(), 31);
    assert_eq!(target.visits.visits_by_hour.as_ref().unwrap()[12], 220);
    assert_eq!(
        target.visits.related_brands,
        [("Cub Foods".to_owned(), 30.0)]
    );
}

fn patterns_text(text: &str) -> Result<(Vec<PatternsRow>, Vec<Rejection>), IngestError> {
    let reader = PatternsReader::from_reader(
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        text.len() as u64,
        Limits::default(),
    )?;
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for item in reader {
        match item? {
            Item::Row(r) => rows.push(r),
            Item::Rejected(r) => rejected.push(r),
        }
    }
    Ok((rows, rejected))
}

const HEADER: &str = "placekey,location_name,latitude,longitude,date_range_start,date_range_end,raw_visit_counts,visits_by_day";

#[test]
fn hostile_files_are_refused_or_their_rows_rejected() {
    let repeated = format!("{HEADER},latitude\n");
    let err = patterns_text(&repeated).unwrap_err();
    assert!(
        matches!(&err, IngestError::Refused(m) if m.contains("repeats the column `latitude`")),
        "{err}"
    );

    let deep = format!(
        "{HEADER}\nk,Deep,30,-97,2024-01-01,2024-01-02,1,\"{}{}\"\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (rows, rejected) = patterns_text(&deep).unwrap();
    assert!(rows.is_empty());
    assert_eq!(rejected[0].field, "visits_by_day");

    let no_key = "location_name,latitude\nx,1\n";
    let err = patterns_text(no_key).unwrap_err();
    assert!(err.to_string().contains("placekey"), "{err}");

    let nul = format!("{HEADER}\nk,Nul\u{0}Name,30,-97,2024-01-01,2024-01-02,1,[1]\n");
    let (rows, rejected) = patterns_text(&nul).unwrap();
    assert!(rows.is_empty());
    assert_eq!(
        (rejected[0].field.as_str(), rejected[0].reason.as_str()),
        ("name", "contains a NUL byte")
    );

    let long_period = format!("{HEADER}\nk,Year,30,-97,2024-01-01,2025-01-01,1,[1]\n");
    let (_, rejected) = patterns_text(&long_period).unwrap();
    assert!(rejected[0].reason.contains("366 days"), "{}", rejected[0]);
}

#[test]
fn a_huge_cell_is_refused_without_reading_it_into_memory() {
    let limits = Limits {
        max_record_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut text = format!("{HEADER}\nk,\"").into_bytes();
    text.extend(std::iter::repeat_n(b'x', 100 << 20));
    let size = text.len() as u64;
    let reader =
        PatternsReader::from_reader(Box::new(std::io::Cursor::new(text)), size, limits).unwrap();
    let errors: Vec<IngestError> = reader.filter_map(Result::err).collect();
    assert!(
        matches!(&errors[..], [IngestError::Refused(m)] if m.contains("longer than 1 MiB")),
        "{errors:?}"
    );
}

#[test]
fn places_formats_are_told_by_content() {
    use pi_ingest::detect_places_format as detect;
    assert_eq!(
        detect(&fixture("overture_places.parquet")).unwrap(),
        PlacesFormat::Overture
    );
    assert_eq!(
        detect(&fixture("foursquare_places.parquet")).unwrap(),
        PlacesFormat::Foursquare
    );
    assert_eq!(detect(&fixture("places.csv")).unwrap(), PlacesFormat::Csv);
}

#[test]
fn written_patterns_read_back_the_same() {
    let (rows, _) = patterns("patterns_weekly.csv");
    let mut writer = pi_ingest::write::PatternsWriter::new(Vec::new()).unwrap();
    for row in &rows {
        writer.write(row).unwrap();
    }
    let (bytes, written) = writer.finish().unwrap();
    assert_eq!(written, rows.len() as u64);
    let size = bytes.len() as u64;
    let again: Vec<PatternsRow> = PatternsReader::from_reader(
        Box::new(std::io::Cursor::new(bytes)),
        size,
        Limits::default(),
    )
    .unwrap()
    .map(|item| match item.unwrap() {
        Item::Row(r) => r,
        Item::Rejected(r) => panic!("{r}"),
    })
    .collect();
    // The weekly hours are written folded (popularity_by_hour); everything else is as read.
    assert_eq!(again, rows);
}
