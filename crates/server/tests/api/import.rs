//! `pi-server import` and `pi-server dataset` on both databases: the committed sample files in
//! each published schema, bad rows named by line and field, `--max-errors`, re-imports that add
//! nothing, and a SIGKILLed import that leaves the data set exactly as it was.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use pi_domain::data::ImportKind;
use pi_ingest::PlacesFormat;
use pi_server::data::{ImportRequest, activate, import, list, remove};
use pi_store::Engine;
use pi_store::testing::TestDatabase;
use sea_orm::{ConnectionTrait, Statement};

pi_store::engine_tests!(pi_store::testing::on_engine => [
    sample_files_of_every_schema_import_with_their_bad_rows_named,
    a_sigkilled_import_leaves_the_data_set_as_it_was,
]);

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ingest/tests/fixtures")
        .join(name)
}

fn request(kind: ImportKind, name: &str, dataset: &str) -> ImportRequest {
    ImportRequest {
        kind,
        path: fixture(name),
        dataset: dataset.into(),
        format: None,
        max_errors: None,
    }
}

async fn scalar(url: &str, sql: &str) -> i64 {
    let db = pi_store::connect(url).await.unwrap();
    let conn = db.connection();
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    let n = row.try_get_by_index::<i64>(0).unwrap();
    db.close().await.unwrap();
    n
}

async fn sample_files_of_every_schema_import_with_their_bad_rows_named(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let settings = crate::helpers::test_settings(test_db.url());
    let mut out = Vec::new();
    let report = import(
        &settings,
        &request(ImportKind::Patterns, "patterns_weekly.csv", "acme"),
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(report.import.counts.rows_imported, 4);
    for named in [
        "line 6: placekey: missing",
        "line 7: latitude: 95 is out of range",
        "line 8: visitor_home_cbgs: not a JSON object",
        "line 9: date_range_end",
        "line 10: visits_by_day: has 6 values",
        "line 11: row: has 4 fields",
    ] {
        assert!(text.contains(named), "{named:?} in {text}");
    }

    // The same file again adds nothing.
    let mut out = Vec::new();
    let again = import(
        &settings,
        &request(ImportKind::Patterns, "patterns_weekly.csv", "acme"),
        &mut out,
    )
    .await
    .unwrap();
    assert!(again.already_imported);
    assert!(String::from_utf8(out).unwrap().contains("nothing to do"));

    for (kind, name, format, imported) in [
        (
            ImportKind::Places,
            "overture_places.parquet",
            PlacesFormat::Overture,
            3,
        ),
        (
            ImportKind::Places,
            "foursquare_places.parquet",
            PlacesFormat::Foursquare,
            2,
        ),
        (
            ImportKind::Patterns,
            "patterns_monthly.csv.gz",
            PlacesFormat::Csv,
            1,
        ),
    ] {
        let mut r = request(kind, name, "acme");
        if kind == ImportKind::Places {
            r.format = Some(format);
        }
        let report = import(&settings, &r, &mut Vec::new()).await.unwrap();
        assert_eq!(report.import.counts.rows_imported, imported, "{name}");
        assert_eq!(
            report.import.file.format,
            if kind == ImportKind::Places {
                format.as_str()
            } else {
                "patterns"
            }
        );
    }
    assert_eq!(
        scalar(
            test_db.url(),
            "SELECT COUNT(*) FROM dataset_places WHERE dataset = 'acme'"
        )
        .await,
        3 + 3 + 2 + 1
    );
    assert_eq!(
        scalar(
            test_db.url(),
            "SELECT COUNT(*) FROM dataset_visits WHERE dataset = 'acme'"
        )
        .await,
        5
    );
    // The markup in a name is stored as the text it is.
    assert_eq!(
        scalar(
            test_db.url(),
            "SELECT COUNT(*) FROM dataset_places WHERE name = '<img src=x onerror=alert(1)>'"
        )
        .await,
        2
    );

    // --max-errors 0 on a file with a bad row: nothing imported.
    let mut strict = request(ImportKind::Places, "places.csv", "acme");
    strict.max_errors = Some(0);
    let err = import(&settings, &strict, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("nothing was imported"),
        "{err:#}"
    );
    assert_eq!(
        scalar(
            test_db.url(),
            "SELECT COUNT(*) FROM dataset_places WHERE dataset = 'acme'"
        )
        .await,
        9
    );

    let mut out = Vec::new();
    activate(&settings, "acme", &mut out).await.unwrap();
    list(&settings, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("* acme  9 places"), "{text}");
    assert!(text.contains("  synthetic"), "{text}");
    assert!(
        remove(&settings, "synthetic", &mut Vec::new())
            .await
            .is_err()
    );
    remove(&settings, "acme", &mut Vec::new()).await.unwrap();
    let mut out = Vec::new();
    list(&settings, &mut out).await.unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("* synthetic"));
}

/// A Patterns file of `rows` rows (one week of `rows` places).
fn big_patterns(rows: usize) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let mut w = std::io::BufWriter::new(file.as_file_mut());
    writeln!(w, "placekey,location_name,brands,top_category,latitude,longitude,city,region,postal_code,date_range_start,date_range_end,raw_visit_counts,raw_visitor_counts,visits_by_day,visitor_home_cbgs").unwrap();
    for i in 0..rows {
        writeln!(
            w,
            "k{i:07}@5vg-7gv-d7q,Place {i},,Restaurants,{},{},Austin,TX,78701,2024-01-01T00:00:00-06:00,2024-01-08T00:00:00-06:00,70,50,\"[10,10,10,10,10,10,10]\",\"{{\"\"484530011001\"\":4}}\"",
            30.0 + (i % 1000) as f64 / 1000.0,
            -97.0 - (i / 1000) as f64 / 1000.0
        )
        .unwrap();
    }
    drop(w);
    file
}

async fn a_sigkilled_import_leaves_the_data_set_as_it_was(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let settings = crate::helpers::test_settings(test_db.url());
    import(
        &settings,
        &request(ImportKind::Patterns, "patterns_weekly.csv", "acme"),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    let mut before = Vec::new();
    list(&settings, &mut before).await.unwrap();
    let places_before = scalar(
        test_db.url(),
        "SELECT COUNT(*) FROM dataset_places WHERE dataset = 'acme'",
    )
    .await;

    let big = big_patterns(300_000);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pi-server"))
        .args(["import", "patterns"])
        .arg(big.path())
        .args(["--dataset", "acme"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", test_db.url())
        .env("ENVIRONMENT", "test")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has staged rows, well before it could finish.
    let staged_sql = "SELECT COUNT(*) FROM dataset_places WHERE dataset LIKE '~%'";
    let mut staged = 0;
    for _ in 0..600 {
        staged = scalar(test_db.url(), staged_sql).await;
        if staged > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        staged > 0 && staged < 300_000,
        "killed mid-way ({staged} staged, {status})"
    );

    let mut after = Vec::new();
    list(&settings, &mut after).await.unwrap();
    assert_eq!(
        String::from_utf8(after).unwrap(),
        String::from_utf8(before).unwrap()
    );
    assert_eq!(
        scalar(
            test_db.url(),
            "SELECT COUNT(*) FROM dataset_places WHERE dataset = 'acme'"
        )
        .await,
        places_before
    );
    assert_eq!(
        scalar(
            test_db.url(),
            "SELECT COUNT(*) FROM dataset_imports WHERE status = 'running'"
        )
        .await,
        1
    );

    // Ten minutes on, the next import clears what the killed one staged.
    let db = pi_store::connect(test_db.url()).await.unwrap();
    let conn = db.connection();
    conn.execute_raw(Statement::from_string(
        conn.get_database_backend(),
        "UPDATE dataset_imports SET heartbeat_at = heartbeat_at - 700000 WHERE status = 'running'",
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
    import(
        &settings,
        &request(ImportKind::Patterns, "patterns_monthly.csv.gz", "acme"),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(scalar(test_db.url(), staged_sql).await, 0);
    assert_eq!(
        scalar(
            test_db.url(),
            "SELECT COUNT(*) FROM dataset_places WHERE dataset = 'acme'"
        )
        .await,
        places_before + 1
    );
}
