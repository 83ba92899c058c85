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

pi_store::engine_tests!(
    pi_store::testing::on_engine => [
        sample_files_of_every_schema_import_with_their_bad_rows_named,
        a_sigkilled_import_leaves_the_data_set_as_it_was,
        a_switch_reaches_every_replica_within_the_ttl,
        uploads_import_in_the_background_with_progress,
        comparisons_keep_their_totals_until_the_next_import,
    ],
    crate::helpers::run_offline => [pi_answers_from_the_active_data_set],
    crate::helpers::run_named => [admins_manage_data_sets_over_http],
);

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

/// A database of `engine` whose data set `acme` holds the weekly Patterns sample.
async fn weekly_acme(engine: Engine) -> Option<(TestDatabase, pi_server::config::Settings)> {
    let test_db = TestDatabase::new(engine).await?;
    let settings = crate::helpers::test_settings(test_db.url());
    import(
        &settings,
        &request(ImportKind::Patterns, "patterns_weekly.csv", "acme"),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    Some((test_db, settings))
}

/// The analytics tools of a replica on the database at `url`.
async fn replica(url: &str) -> pi_domain::tools::ToolRegistry {
    let db = pi_store::connect(url).await.unwrap();
    let data = pi_places::PlacesData::with_datasets(
        pi_places::Scale::Small,
        42,
        std::sync::Arc::new(pi_store::SeaOrmDatasetRepo::new(db)),
    );
    let mut registry = pi_domain::tools::ToolRegistry::new();
    pi_places::register_tools(&mut registry, &data);
    registry
}

/// `pi-server` on the database at `url`, with nothing else from this environment.
fn cli(url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pi-server"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("ENVIRONMENT", "test")
        .env("RUST_LOG", "error");
    cmd
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

    // `pi-server tool` answers from the active set and reports its index's size.
    let tool = cli(test_db.url())
        .args(["tool", "list_metros", "{}", "--repeat", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&tool.stderr);
    assert!(tool.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("index of `acme`: "))
        .unwrap_or_else(|| panic!("no index line in {stderr}"));
    let bytes: f64 = line
        .rsplit(", ")
        .next()
        .and_then(|b| b.split_whitespace().next())
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("no size in {line}"));
    assert!(bytes > 40.0 && bytes < 1000.0, "{line}");
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
    let Some((test_db, settings)) = weekly_acme(engine).await else {
        return;
    };
    let mut before = Vec::new();
    list(&settings, &mut before).await.unwrap();
    let places_before = scalar(
        test_db.url(),
        "SELECT COUNT(*) FROM dataset_places WHERE dataset = 'acme'",
    )
    .await;

    let big = big_patterns(300_000);
    let mut child = cli(test_db.url())
        .args(["import", "patterns"])
        .arg(big.path())
        .args(["--dataset", "acme"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has staged rows, well before it could finish.
    // Staged in place (SQLite) or in the staging table (PostgreSQL).
    let staged_sql = "SELECT (SELECT COUNT(*) FROM dataset_places WHERE dataset LIKE '~%') \
         + (SELECT COUNT(*) FROM dataset_stage_places)";
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

/// Issue 32: once a data set is active, Pi's answers come from it and say so.
async fn pi_answers_from_the_active_data_set(app: crate::helpers::TestApp) {
    let settings = app.settings.clone();
    for (kind, name) in [
        (ImportKind::Patterns, "patterns_weekly.csv"),
        (ImportKind::Places, "overture_places.parquet"),
    ] {
        import(&settings, &request(kind, name, "acme"), &mut Vec::new())
            .await
            .unwrap();
    }
    let token = app.signup_token("ana@example.com").await;
    let conversation = app.conversation_id(&token).await;
    let question = "Which coffee shops are in Austin?";
    let before = crate::helpers::ask(&app, &token, &conversation, question).await;
    let text = before["assistant_message"]["content"].as_str().unwrap();
    assert!(
        text.contains("Pi's synthetic foot-traffic data set"),
        "{text}"
    );

    activate(&settings, "acme", &mut Vec::new()).await.unwrap();
    tokio::time::sleep(pi_places::registry::ACTIVE_TTL + Duration::from_millis(200)).await;
    let after = crate::helpers::ask(&app, &token, &conversation, question).await;
    let text = after["assistant_message"]["content"].as_str().unwrap();
    // Two weeks of Patterns are not a year: the visits are said to be the data's days'.
    for expected in [
        "Starbucks (100 Congress Ave, Austin, TX 78701) — 2,204 visits in the data's 14 days [place:223-222@5vg-7gv-k2f]",
        "Bean There Coffee (100 Congress Ave, Austin, TX 78701) — 1,901 visits in the data's 14 days",
        "no visits in the data",
        "Figures come from your data set `acme`.",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert!(!text.contains("synthetic"), "{text}");

    // What the files lack is said, not invented.
    let who =
        crate::helpers::ask(&app, &token, &conversation, "Who visits Bean There Coffee?").await;
    let text = who["assistant_message"]["content"].as_str().unwrap();
    assert!(text.contains("has no demographics"), "{text}");

    // Trade areas and flows come from the files' home areas and same-day brands.
    let trade = crate::helpers::ask(
        &app,
        &token,
        &conversation,
        "Trade area of Bean There Coffee",
    )
    .await;
    let text = trade["assistant_message"]["content"].as_str().unwrap();
    for expected in [
        "median visitor travel distance 5.1 km; 3 census areas contribute visits.",
        "- block group 484530011001 (TX): 71.4% of visits",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    let flows = crate::helpers::ask(
        &app,
        &token,
        &conversation,
        "Where do visitors of Bean There Coffee go after?",
    )
    .await;
    let text = flows["assistant_message"]["content"].as_str().unwrap();
    for expected in [
        "also went the same day (1,469 visitors in the data):",
        "- grocery: 9.0% of visitors",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
}

/// Two replicas on one database: activating a data set (or the built-in one again) reaches
/// both within `ACTIVE_TTL`.
async fn a_switch_reaches_every_replica_within_the_ttl(engine: Engine) {
    use pi_domain::tools::{ToolContext, ToolRegistry};
    let Some((test_db, settings)) = weekly_acme(engine).await else {
        return;
    };
    let mut replicas = Vec::new();
    for _ in 0..2 {
        replicas.push(replica(test_db.url()).await);
    }
    let args =
        serde_json::json!({"geo": {"type": "metro", "name": "austin"}, "categories": ["coffee"]});
    let source = |registry: &ToolRegistry| {
        let registry = registry.clone();
        let args = args.clone();
        async move {
            let out = registry
                .call("search_places", &ToolContext::default(), args)
                .await
                .unwrap()
                .to_value();
            out["metadata"]["dataset"]
                .as_str()
                .unwrap_or("synthetic")
                .to_owned()
        }
    };
    for r in &replicas {
        assert_eq!(source(r).await, "synthetic");
    }
    for target in ["acme", "synthetic"] {
        activate(&settings, target, &mut Vec::new()).await.unwrap();
        let switched = std::time::Instant::now();
        for r in &replicas {
            while source(r).await != target {
                assert!(
                    switched.elapsed() < pi_places::registry::ACTIVE_TTL + Duration::from_secs(2),
                    "a replica still answers from the old set"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// `GET /datasets`, `POST /datasets/{name}/activate`, `DELETE /datasets/{name}`,
/// `GET /datasets/{name}/imports`: admin only, JSON errors naming what is wrong.
async fn admins_manage_data_sets_over_http(app: crate::helpers::TestApp) {
    use serde_json::Value;
    let user = app.signup_token("someone@example.com").await;
    let forbidden = app.get_authed("/datasets", &user).await;
    assert_eq!(forbidden.status(), 403);
    let admin = app.admin_token().await;
    import(
        &app.settings,
        &request(ImportKind::Patterns, "patterns_weekly.csv", "acme"),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    let list = app.get_json("/datasets", &admin).await;
    assert_eq!(list["active"], "synthetic");
    assert_eq!(list["datasets"][0]["name"], "synthetic");
    assert_eq!(list["datasets"][0]["builtin"], true);
    assert_eq!(list["datasets"][1]["name"], "acme");
    assert_eq!(list["datasets"][1]["coverage"]["places"], 3);
    assert_eq!(list["datasets"][1]["coverage"]["first_day"], "2024-01-01");

    let post = |path: String| {
        let (client, url, admin) = (app.client.clone(), app.url(&path), admin.clone());
        async move { client.post(url).bearer_auth(admin).send().await.unwrap() }
    };
    let delete = |path: &str| {
        let (client, url, admin) = (app.client.clone(), app.url(path), admin.clone());
        async move { client.delete(url).bearer_auth(admin).send().await.unwrap() }
    };
    crate::helpers::error_body(
        post("/datasets/nope/activate".into()).await,
        404,
        "dataset_not_found",
    )
    .await;
    let bad = crate::helpers::error_body(
        post("/datasets/Bad%20Name/activate".into()).await,
        422,
        "validation_error",
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "name");
    assert_eq!(post("/datasets/acme/activate".into()).await.status(), 204);
    assert_eq!(app.get_json("/datasets", &admin).await["active"], "acme");

    let imports = app.get_json("/datasets/acme/imports", &admin).await;
    let first: &Value = &imports["imports"][0];
    assert_eq!(first["status"], "done");
    assert_eq!(first["rows_imported"], 4);
    assert_eq!(first["rows_rejected"], 6);
    assert_eq!(
        first["rejections"][0],
        serde_json::json!({"line": 6, "field": "placekey", "reason": "missing"})
    );

    crate::helpers::error_body(delete("/datasets/synthetic").await, 409, "builtin_dataset").await;
    assert_eq!(delete("/datasets/acme").await.status(), 204);
    crate::helpers::error_body(delete("/datasets/acme").await, 404, "dataset_not_found").await;
    assert_eq!(
        app.get_json("/datasets", &admin).await["active"],
        "synthetic"
    );
}

/// Polls an import's URL until it is no longer running.
async fn finished(app: &crate::helpers::TestApp, token: &str, location: &str) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        let import = app.get_json(location, token).await;
        if import["status"] != "running" {
            return import;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{import}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `POST /datasets/{name}/imports`: the body is spooled, imported in the background, followed
/// at `Location`; the same file again is the earlier import; a bad file fails in its record; bad
/// requests are JSON 4xx naming the field; no upload is left on disk.
async fn uploads_import_in_the_background_with_progress(engine: Engine) {
    let spool = tempfile::tempdir().unwrap();
    let dir = spool.path().to_path_buf();
    let Some(app) =
        crate::helpers::spawn_app_configured(engine, crate::helpers::AgentMode::Fake, move |s| {
            s.upload_dir = Some(dir.display().to_string());
            s.max_upload_bytes = 8 << 20;
        })
        .await
    else {
        return;
    };
    let admin = app.admin_token().await;
    let upload = |query: &str, body: Vec<u8>, token: &str| {
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("/datasets/acme/imports?{query}")),
            token.to_owned(),
        );
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let patterns = std::fs::read(fixture("patterns_weekly.csv")).unwrap();

    let user = app.signup_token("someone@example.com").await;
    crate::helpers::error_body(
        upload("kind=patterns", patterns.clone(), &user).await,
        403,
        "forbidden",
    )
    .await;

    let accepted = upload(
        "kind=patterns&file_name=C:%5Cdata%5Cweek1.csv&max_errors=10",
        patterns.clone(),
        &admin,
    )
    .await;
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let running: serde_json::Value = accepted.json().await.unwrap();
    assert_eq!(running["file_name"], "week1.csv");
    assert_eq!(
        location,
        format!("/datasets/acme/imports/{}", running["id"].as_str().unwrap())
    );
    let done = finished(&app, &admin, &location).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["rows_imported"], 4);
    assert_eq!(done["rows_rejected"], 6);
    assert_eq!(done["format"], "patterns");
    let list = app.get_json("/datasets", &admin).await;
    assert_eq!(list["datasets"][1]["coverage"]["places"], 3);

    // The same bytes again: the earlier import, nothing read.
    let again = upload("kind=patterns", patterns.clone(), &admin).await;
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["id"], done["id"]);

    // A larger file: its counts grow in its record while it runs (written every 500 ms).
    let big = std::fs::read(big_patterns(20_000).path()).unwrap();
    let accepted = upload("kind=patterns", big, &admin).await;
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let mut seen_running = 0;
    let started = std::time::Instant::now();
    let done = loop {
        let import = app.get_json(&location, &admin).await;
        if import["status"] != "running" {
            break import;
        }
        seen_running = seen_running.max(import["rows_read"].as_u64().unwrap());
        assert!(started.elapsed() < Duration::from_secs(60), "{import}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done["rows_imported"], 20_000, "{done}");
    assert!(
        seen_running > 0,
        "progress seen while running: {seen_running}"
    );

    // A places file, its schema told from its content.
    let parquet = std::fs::read(fixture("overture_places.parquet")).unwrap();
    let accepted = upload("kind=places", parquet, &admin).await;
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let done = finished(&app, &admin, &location).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["format"], "overture");

    // A file that is not what it claims fails in its record; the data set is untouched.
    let places_before =
        app.get_json("/datasets", &admin).await["datasets"][1]["coverage"]["places"].clone();
    let accepted = upload("kind=patterns", b"name,city\nA,B\n".to_vec(), &admin).await;
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let failed = finished(&app, &admin, &location).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("placekey"),
        "{failed}"
    );
    assert_eq!(
        app.get_json("/datasets", &admin).await["datasets"][1]["coverage"]["places"],
        places_before
    );

    // Bad requests name what is wrong.
    for (query, body, status, code, field) in [
        (
            "kind=shops",
            patterns.clone(),
            422,
            "validation_error",
            Some("kind"),
        ),
        (
            "format=csv",
            patterns.clone(),
            422,
            "validation_error",
            Some("kind"),
        ),
        (
            "kind=places&format=geojson",
            patterns.clone(),
            422,
            "validation_error",
            Some("format"),
        ),
        (
            "kind=places&max_errors=-1",
            patterns.clone(),
            422,
            "validation_error",
            Some("max_errors"),
        ),
        (
            "kind=places&file_name=a%0Ab",
            patterns.clone(),
            422,
            "validation_error",
            Some("file_name"),
        ),
        (
            "kind=places",
            Vec::new(),
            422,
            "validation_error",
            Some("body"),
        ),
        (
            "kind=places",
            vec![b'x'; 9 << 20],
            413,
            "payload_too_large",
            None,
        ),
    ] {
        let body =
            crate::helpers::error_body(upload(query, body, &admin).await, status, code).await;
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        }
    }
    let builtin = app
        .client
        .post(app.url("/datasets/synthetic/imports?kind=places"))
        .bearer_auth(&admin)
        .body(patterns.clone())
        .send()
        .await
        .unwrap();
    crate::helpers::error_body(builtin, 409, "builtin_dataset").await;
    let unknown = format!("/datasets/acme/imports/{}", uuid::Uuid::now_v7());
    let missing = app
        .client
        .get(app.url(&unknown))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    crate::helpers::error_body(missing, 404, "import_not_found").await;

    // Every upload was deleted once its import ended (or was refused).
    let left: Vec<_> = std::fs::read_dir(spool.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A comparison keeps each chain's and category's daily totals in the database: the next one,
/// on another replica, answers from them without reading the places' visits (shown by doctoring
/// the kept row), and an import into the data set sets them aside.
async fn comparisons_keep_their_totals_until_the_next_import(engine: Engine) {
    use pi_domain::tools::{ToolContext, ToolRegistry};
    let Some((test_db, settings)) = weekly_acme(engine).await else {
        return;
    };
    activate(&settings, "acme", &mut Vec::new()).await.unwrap();
    let args = serde_json::json!({"entities": [
        {"type": "category", "id": "coffee", "metro": "metro:austin"},
        {"type": "chain", "id": "chain:starbucks"},
        {"type": "place", "id": "place:222-222@5vg-7gv-d7q"}
    ], "metric": "visits"});
    let compare = |registry: ToolRegistry| {
        let args = args.clone();
        async move {
            let out = registry
                .call("compare_performance", &ToolContext::default(), args)
                .await
                .unwrap()
                .to_value();
            assert!(out["error"].is_null(), "{out}");
            out["series"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["total"].as_f64().unwrap())
                .collect::<Vec<f64>>()
        }
    };
    let kept_sql = "SELECT COUNT(*) FROM dataset_rollups WHERE dataset = 'acme'";
    assert_eq!(scalar(test_db.url(), kept_sql).await, 0);
    let first = compare(replica(test_db.url()).await).await;
    assert!(first.iter().all(|t| *t > 0.0), "{first:?}");
    // The category in Austin and the chain everywhere; not the single place. They are kept
    // after the answer.
    let mut kept = 0;
    for _ in 0..200 {
        kept = scalar(test_db.url(), kept_sql).await;
        if kept == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(kept, 2);

    // Doctor the kept category: every day's visits doubled.
    let db = pi_store::connect(test_db.url()).await.unwrap();
    let conn = db.connection();
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT days FROM dataset_rollups WHERE grp = 'g1:category:coffee@austin'",
        ))
        .await
        .unwrap()
        .unwrap();
    let mut days: serde_json::Value =
        serde_json::from_str(&row.try_get_by_index::<String>(0).unwrap()).unwrap();
    for day in days["days"].as_array_mut().unwrap() {
        day["v"] = (day["v"].as_u64().unwrap() * 2).into();
    }
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => {
                "UPDATE dataset_rollups SET days = $1 WHERE grp = 'g1:category:coffee@austin'"
            }
            _ => "UPDATE dataset_rollups SET days = ? WHERE grp = 'g1:category:coffee@austin'",
        },
        [days.to_string().into()],
    ))
    .await
    .unwrap();
    let second = compare(replica(test_db.url()).await).await;
    assert_eq!(
        second,
        [first[0] * 2.0, first[1], first[2]],
        "another replica answers from the kept totals"
    );

    // An import into the data set sets the kept totals aside: figures from the data again.
    import(
        &settings,
        &request(ImportKind::Places, "places.csv", "acme"),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(scalar(test_db.url(), kept_sql).await, 0);
    let third = compare(replica(test_db.url()).await).await;
    assert_eq!(third, first);
    db.close().await.unwrap();
}
