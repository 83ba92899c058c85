//! Data sets on both engines: imports stage, then swap in one transaction; a failed, an
//! interrupted or a repeated import leaves the data set as it was; coverage and history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use pi_domain::data::{
    Batch, Begin, DataError, DataService, DatasetRepo, ImportFile, ImportKind, ImportOptions,
    ImportStatus, PatternsRow, PlaceRecord, RecordBatches, Rejection, Rows, VisitRecord,
};
use pi_store::testing::TestDatabase;
use pi_store::{Engine, SeaOrmDatasetRepo};
use sea_orm::{ConnectionTrait, Statement};

pi_store::engine_tests!(pi_store::testing::on_engine => [
    imports_merge_into_a_data_set_with_coverage_and_history,
    a_failed_import_leaves_the_data_set_as_it_was,
    a_killed_import_is_cleared_by_the_next_one,
    activate_and_drop,
    places_are_read_page_by_page_with_their_recent_visits,
    an_import_committed_while_another_stages_leaves_its_rows,
    kept_totals_are_of_the_current_version_only,
]);

struct Scripted(VecDeque<Result<Batch, String>>);

#[async_trait]
impl RecordBatches for Scripted {
    async fn next_batch(&mut self) -> Option<Result<Batch, String>> {
        self.0.pop_front()
    }
}

fn place(key: &str, brand: Option<&str>, region: &str) -> PlaceRecord {
    PlaceRecord {
        key: key.into(),
        name: format!("Place {key}"),
        brand: brand.map(str::to_owned),
        category: Some("coffee_shop".into()),
        sub_category: None,
        lat: 30.27,
        lon: -97.74,
        street: Some("1 Main St".into()),
        city: Some("Austin".into()),
        region: Some(region.into()),
        postcode: Some("78701".into()),
        country: Some("US".into()),
        confidence: Some(0.9),
        closed: false,
    }
}

fn week(key: &str, start: &str, daily: u32) -> PatternsRow {
    let start = NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap();
    PatternsRow {
        place: place(key, Some("Starbucks"), "TX"),
        visits: VisitRecord {
            start,
            end: start + chrono::Duration::days(7),
            raw_visits: u64::from(daily) * 7,
            raw_visitors: Some(u64::from(daily) * 5),
            visits_by_day: vec![daily; 7],
            visits_by_hour: Some(vec![daily / 24; 24]),
            median_dwell: Some(12.5),
            dwell_buckets: vec![("<5".into(), 3), ("5-10".into(), 4)],
            home_areas: vec![("484530011001".into(), 40)],
            related_brands: vec![("H-E-B".into(), 12.0)],
            distance_from_home: Some(4000.0),
        },
    }
}

fn file(kind: ImportKind, sha: &str) -> ImportFile {
    ImportFile {
        kind,
        format: if kind == ImportKind::Places {
            "csv"
        } else {
            "patterns"
        }
        .into(),
        file_name: format!("{sha}.csv"),
        sha256: sha.into(),
        bytes: 100,
    }
}

fn batches(items: Vec<Result<Batch, String>>) -> Scripted {
    Scripted(items.into())
}

fn places_batch(rows: Vec<PlaceRecord>, rejected: Vec<Rejection>) -> Result<Batch, String> {
    Ok(Batch {
        rows: Rows::Places(rows),
        rejected,
    })
}

fn patterns_batch(rows: Vec<PatternsRow>) -> Result<Batch, String> {
    Ok(Batch {
        rows: Rows::Patterns(rows),
        rejected: vec![],
    })
}

async fn setup(
    engine: Engine,
) -> Option<(TestDatabase, pi_store::Database, Arc<SeaOrmDatasetRepo>)> {
    let test_db = TestDatabase::new(engine).await?;
    let db = pi_store::connect(test_db.url()).await.unwrap();
    db.migrate().await.unwrap();
    let repo = Arc::new(SeaOrmDatasetRepo::new(db.clone()));
    Some((test_db, db, repo))
}

/// Rows an import has staged and not merged: in place under `~<import id>` (SQLite) or in the
/// staging tables (PostgreSQL).
const STAGED: &str = "SELECT (SELECT COUNT(*) FROM dataset_places WHERE dataset LIKE '~%') \
     + (SELECT COUNT(*) FROM dataset_visits WHERE dataset LIKE '~%') \
     + (SELECT COUNT(*) FROM dataset_stage_places) + (SELECT COUNT(*) FROM dataset_stage_visits)";

async fn count(db: &pi_store::Database, sql: &str) -> i64 {
    let conn = db.connection();
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn imports_merge_into_a_data_set_with_coverage_and_history(engine: Engine) {
    let Some((_t, db, repo)) = setup(engine).await else {
        return;
    };
    let service = DataService::new(repo.clone());
    let bad = Rejection {
        line: 3,
        field: "latitude".into(),
        reason: "95 is out of range".into(),
    };
    let mut places = batches(vec![places_batch(
        vec![
            place("a", None, "TX"),
            place("b", Some("Starbucks"), "TX"),
            place("c", Some("Target"), "MN"),
        ],
        vec![bad.clone()],
    )]);
    let report = service
        .import(
            "acme",
            &file(ImportKind::Places, "p1"),
            &mut places,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.import.status, ImportStatus::Done);
    assert_eq!(report.import.counts.rows_read, 4);
    assert_eq!(report.import.counts.rows_imported, 3);
    assert_eq!(report.import.counts.rejections, [bad]);
    let coverage = report.coverage.unwrap();
    assert_eq!(
        (coverage.places, coverage.brands, coverage.regions),
        (3, 2, 2)
    );

    // Patterns for a known place and a new one; two weeks each, in two batches, the second
    // repeating a week (the later row wins).
    let mut weeks = batches(vec![
        patterns_batch(vec![
            week("a", "2024-01-01", 100),
            week("d", "2024-01-01", 50),
        ]),
        patterns_batch(vec![
            week("a", "2024-01-08", 110),
            week("d", "2024-01-08", 55),
            week("d", "2024-01-08", 56),
            // The first batch's week again: the later row wins across batches too.
            week("a", "2024-01-01", 101),
        ]),
    ]);
    let report = service
        .import(
            "acme",
            &file(ImportKind::Patterns, "w1"),
            &mut weeks,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    let coverage = report.coverage.unwrap();
    assert_eq!(coverage.places, 4, "d came from the patterns file");
    assert_eq!(coverage.visit_rows, 4);
    assert_eq!(coverage.first_day.unwrap().to_string(), "2024-01-01");
    assert_eq!(coverage.last_day.unwrap().to_string(), "2024-01-14");
    assert_eq!(
        count(&db, "SELECT raw_visits FROM dataset_visits WHERE dataset = 'acme' AND place_key = 'd' AND period_start = '2024-01-08'").await,
        56 * 7
    );
    assert_eq!(
        count(&db, "SELECT raw_visits FROM dataset_visits WHERE dataset = 'acme' AND place_key = 'a' AND period_start = '2024-01-01'").await,
        101 * 7
    );
    assert_eq!(count(&db, STAGED).await, 0, "no staged rows left");

    // The same file again adds nothing and reads nothing.
    let mut again = batches(vec![Err("must not be read".into())]);
    let report = service
        .import(
            "acme",
            &file(ImportKind::Patterns, "w1"),
            &mut again,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    assert!(report.already_imported);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM dataset_visits WHERE dataset = 'acme'"
        )
        .await,
        4
    );

    let history = service.imports("acme").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].file.kind, ImportKind::Patterns, "newest first");
    let (active, sets) = service.list().await.unwrap();
    assert_eq!(active, "synthetic");
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].coverage, coverage);

    if engine == Engine::Postgres {
        // Statistics refreshed by the import itself, so a tool's read plans by place_key.
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname IN \
                 ('dataset_places', 'dataset_visits') AND last_analyze IS NOT NULL"
            )
            .await,
            2
        );
    }
}

async fn a_failed_import_leaves_the_data_set_as_it_was(engine: Engine) {
    let Some((_t, db, repo)) = setup(engine).await else {
        return;
    };
    let service = DataService::new(repo.clone());
    let mut first = batches(vec![places_batch(vec![place("a", None, "TX")], vec![])]);
    service
        .import(
            "acme",
            &file(ImportKind::Places, "p1"),
            &mut first,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    let before = service.list().await.unwrap().1;

    // A batch is staged, then the file turns out unreadable.
    let mut broken = batches(vec![
        places_batch(
            vec![place("a", Some("Changed"), "CA"), place("z", None, "CA")],
            vec![],
        ),
        Err("refused: the gzip stream inflates more than 100×".into()),
    ]);
    let err = service
        .import(
            "acme",
            &file(ImportKind::Places, "p2"),
            &mut broken,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DataError::Unreadable { .. }), "{err}");
    assert_eq!(service.list().await.unwrap().1, before);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM dataset_places").await,
        1,
        "the data set is as it was"
    );
    assert_eq!(count(&db, STAGED).await, 0, "staged rows deleted");
    let history = service.imports("acme").await.unwrap();
    assert_eq!(history[0].status, ImportStatus::Failed);
    assert!(history[0].error.as_deref().unwrap().contains("inflates"));

    // Too many bad rows: also nothing.
    let bad = |line| Rejection {
        line,
        field: "id".into(),
        reason: "missing".into(),
    };
    let mut noisy = batches(vec![places_batch(
        vec![place("y", None, "TX")],
        vec![bad(2), bad(3)],
    )]);
    let err = service
        .import(
            "acme",
            &file(ImportKind::Places, "p3"),
            &mut noisy,
            ImportOptions {
                max_errors: Some(1),
            },
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DataError::TooManyErrors { .. }), "{err}");
    assert_eq!(service.list().await.unwrap().1, before);

    // A new data set whose first import fails does not appear.
    let mut broken = batches(vec![
        places_batch(vec![place("q", None, "TX")], vec![]),
        Err("cut".into()),
    ]);
    assert!(
        service
            .import(
                "other",
                &file(ImportKind::Places, "p4"),
                &mut broken,
                ImportOptions::default(),
                &|_| {}
            )
            .await
            .is_err()
    );
    assert_eq!(service.list().await.unwrap().1.len(), 1);
}

async fn a_killed_import_is_cleared_by_the_next_one(engine: Engine) {
    let Some((_t, db, repo)) = setup(engine).await else {
        return;
    };
    // A process begins an import, stages rows and dies (no commit, no abort).
    let Begin::Started(killed) = repo
        .begin_import("acme", &file(ImportKind::Places, "k1"))
        .await
        .unwrap()
    else {
        panic!("started");
    };
    repo.stage_places(killed, &[place("a", None, "TX"), place("b", None, "TX")])
        .await
        .unwrap();
    // And a row staged in place under `~<id>`, as an importer of an earlier release staged on
    // PostgreSQL too: it goes with the rest.
    let conn = db.connection();
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO dataset_places (dataset, place_key, name, lat, lon, closed) \
         VALUES ($1, 'legacy', 'Legacy', 0, 0, false)",
        vec![format!("~{killed}").into()],
    ))
    .await
    .unwrap();
    assert_eq!(count(&db, STAGED).await, 3);
    assert!(
        repo.datasets().await.unwrap().is_empty(),
        "staged rows are not a data set"
    );

    // Fresh: another import leaves it alone (it may still be running elsewhere).
    let Begin::Started(second) = repo
        .begin_import("acme", &file(ImportKind::Places, "k2"))
        .await
        .unwrap()
    else {
        panic!("started");
    };
    assert_eq!(
        repo.import(killed).await.unwrap().unwrap().status,
        ImportStatus::Running
    );

    // Its heartbeat ages past ten minutes: the next import clears it.
    let conn = db.connection();
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "UPDATE dataset_imports SET heartbeat_at = heartbeat_at - 700000 WHERE id = $1",
        vec![killed.into()],
    ))
    .await
    .unwrap();
    repo.begin_import("acme", &file(ImportKind::Places, "k3"))
        .await
        .unwrap();
    let record = repo.import(killed).await.unwrap().unwrap();
    assert_eq!(record.status, ImportStatus::Failed);
    assert!(record.error.unwrap().contains("interrupted"));
    assert_eq!(count(&db, STAGED).await, 0);
    assert!(
        repo.stage_places(killed, &[place("c", None, "TX")])
            .await
            .is_err(),
        "a cleared import cannot stage"
    );
    let counts = pi_domain::data::ImportCounts::default();
    assert!(
        repo.commit_import(killed, &counts).await.is_err(),
        "nor commit"
    );
    assert!(repo.datasets().await.unwrap().is_empty());
    assert_eq!(
        repo.import(second).await.unwrap().unwrap().status,
        ImportStatus::Running
    );
}

async fn activate_and_drop(engine: Engine) {
    let Some((_t, _db, repo)) = setup(engine).await else {
        return;
    };
    let service = DataService::new(repo.clone());
    assert!(matches!(
        service.activate("acme").await,
        Err(DataError::NotFound(_))
    ));
    let mut places = batches(vec![places_batch(vec![place("a", None, "TX")], vec![])]);
    service
        .import(
            "acme",
            &file(ImportKind::Places, "p1"),
            &mut places,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    service.activate("acme").await.unwrap();
    assert_eq!(service.active().await.unwrap(), "acme");
    service.activate("synthetic").await.unwrap();
    assert_eq!(service.active().await.unwrap(), "synthetic");
    service.activate("acme").await.unwrap();
    service.remove("acme").await.unwrap();
    assert_eq!(
        service.active().await.unwrap(),
        "synthetic",
        "dropping the active set falls back"
    );
    assert!(service.list().await.unwrap().1.is_empty());
    assert!(service.imports("acme").await.unwrap().is_empty());
    assert!(matches!(
        service.remove("acme").await,
        Err(DataError::NotFound(_))
    ));
}

/// A replica loads a set page by page, in key order, each place with its latest year's visits.
async fn places_are_read_page_by_page_with_their_recent_visits(engine: Engine) {
    use pi_domain::data::DatasetReader;
    let Some((_t, _db, repo)) = setup(engine).await else {
        return;
    };
    let service = DataService::new(repo.clone());
    let mut rows = batches(vec![patterns_batch(vec![
        week("k3", "2024-01-01", 10),
        week("k1", "2024-01-01", 20),
        week("k2", "2024-01-01", 30),
        week("k1", "2024-01-08", 1),
    ])]);
    service
        .import(
            "acme",
            &file(ImportKind::Patterns, "w1"),
            &mut rows,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(repo.coverage("acme").await.unwrap().places, 3);
    let first = repo.places("acme", None, 2).await.unwrap();
    let keys: Vec<&str> = first.iter().map(|p| p.record.key.as_str()).collect();
    assert_eq!(keys, ["k1", "k2"]);
    assert_eq!(first[0].recent_visits, 20 * 7 + 7);
    let rest = repo.places("acme", Some("k2".into()), 2).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].record.key, "k3");
    assert_eq!(rest[0].recent_visits, 70);
    assert!(
        repo.places("acme", Some("k3".into()), 2)
            .await
            .unwrap()
            .is_empty()
    );

    // A comparison's read: the counts, not the JSON cells.
    use pi_domain::data::VisitFields;
    let keys = vec!["k1".to_owned()];
    let all = repo.visits("acme", &keys, VisitFields::All).await.unwrap();
    let counts = repo
        .visits("acme", &keys, VisitFields::Counts)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(counts.len(), 2);
    for ((ka, a), (kc, c)) in all.iter().zip(&counts) {
        assert_eq!(ka, kc);
        assert_eq!(
            (a.start, a.end, a.raw_visits, a.raw_visitors),
            (c.start, c.end, c.raw_visits, c.raw_visitors)
        );
        assert_eq!(a.visits_by_day, c.visits_by_day);
        assert_eq!(a.median_dwell, c.median_dwell);
        assert!(!a.home_areas.is_empty() && c.home_areas.is_empty());
        assert!(a.visits_by_hour.is_some() && c.visits_by_hour.is_none());
    }
}

/// Two imports at once (two data sets): the one that commits first empties only its own staged
/// rows (PostgreSQL truncates the staging tables only when no other import has rows there), and
/// the other then commits every row it staged.
async fn an_import_committed_while_another_stages_leaves_its_rows(engine: Engine) {
    let Some((_t, db, repo)) = setup(engine).await else {
        return;
    };
    let begin = |dataset: &'static str, sha: &'static str| {
        let repo = repo.clone();
        async move {
            match repo
                .begin_import(dataset, &file(ImportKind::Places, sha))
                .await
                .unwrap()
            {
                Begin::Started(id) => id,
                Begin::AlreadyImported(_) => panic!("{sha} was imported already"),
            }
        }
    };
    let slow = begin("slow", "s1").await;
    repo.stage_places(slow, &[place("a", None, "TX"), place("b", None, "TX")])
        .await
        .unwrap();
    let fast = begin("fast", "f1").await;
    repo.stage_places(fast, &[place("x", None, "MN")])
        .await
        .unwrap();
    let counts = |n: u64| pi_domain::data::ImportCounts {
        rows_read: n,
        rows_imported: n,
        ..Default::default()
    };
    let fast_coverage = repo.commit_import(fast, &counts(1)).await.unwrap();
    assert_eq!(fast_coverage.places, 1);
    // The slow import goes on staging after the other's commit, then commits everything.
    repo.stage_places(slow, &[place("c", None, "TX")])
        .await
        .unwrap();
    let slow_coverage = repo.commit_import(slow, &counts(3)).await.unwrap();
    assert_eq!(
        slow_coverage.places, 3,
        "every staged row of the slow import"
    );
    assert_eq!(count(&db, STAGED).await, 0, "no staged rows left");
}

/// Totals are kept only for the data set's current version (a replica a version behind may have
/// read newer visits), read back for that version only, and deleted by the next import.
async fn kept_totals_are_of_the_current_version_only(engine: Engine) {
    use pi_domain::data::{DatasetReader, DayTotals, GroupDays};
    let Some((_t, db, repo)) = setup(engine).await else {
        return;
    };
    let service = DataService::new(repo.clone());
    let mut places = batches(vec![places_batch(vec![place("a", None, "TX")], vec![])]);
    service
        .import(
            "acme",
            &file(ImportKind::Places, "p1"),
            &mut places,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    let version = |repo: Arc<SeaOrmDatasetRepo>| async move {
        repo.datasets()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.name == "acme")
            .unwrap()
            .updated_at
    };
    let current = version(repo.clone()).await;
    let older = current - chrono::Duration::milliseconds(1);
    let days = GroupDays {
        first_day: NaiveDate::from_ymd_opt(2024, 1, 1),
        days: vec![DayTotals {
            visits: 7,
            visitors: 2.5,
            dwell_weighted: 30.0,
            dwell_weight: 3.0,
            places: 1,
        }],
    };
    repo.keep_group_days("acme", older, "g1:x@", &days)
        .await
        .unwrap();
    let groups = ["g1:x@".to_owned(), "g1:y@".to_owned()];
    assert_eq!(repo.group_days("acme", older, &groups).await.unwrap(), []);
    repo.keep_group_days("acme", current, "g1:x@", &days)
        .await
        .unwrap();
    assert_eq!(
        repo.group_days("acme", current, &groups).await.unwrap(),
        [("g1:x@".to_owned(), days.clone())]
    );
    assert_eq!(repo.group_days("acme", older, &groups).await.unwrap(), []);

    let mut more = batches(vec![places_batch(vec![place("b", None, "TX")], vec![])]);
    service
        .import(
            "acme",
            &file(ImportKind::Places, "p2"),
            &mut more,
            ImportOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM dataset_rollups").await,
        0,
        "an import deletes the data set's kept totals"
    );
}
