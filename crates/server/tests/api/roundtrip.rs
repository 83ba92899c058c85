//! Issue 32's main correctness test: the built-in data set exported as Overture Places GeoParquet
//! and Weekly Patterns, imported
//! and activated, answers a fixed sample of 200 tool calls with the same figures as the built-in
//! set, on both databases — wherever the published schema carries the inputs.
//!
//! Compared: places (ids, names, addresses, cities, states, ZIPs, categories, chains, metros,
//! coordinates), visits (totals, by day, week and month, per place and per chain in a metro),
//! dwell medians and distances. The built-in `compare_performance` sums the model's expected
//! visits, so the imported comparison is checked against the built-in daily visits summed. Not compared, and why (docs/DATA.md): visitors and frequency (Patterns publishes
//! visitors per week; the model computes them per range), hourly shares (the export rounds counts
//! per hour), annual visits and the orders that follow them (the model's are expected 2025
//! visits; an imported set's are its latest 365 days), benchmarks (the model's use base
//! capacity), trade areas, flows and audiences (homes by ZIP, related brands and demographics
//! are not in the export).

use std::sync::Arc;

use pi_domain::data::ImportKind;
use pi_domain::tools::{ToolContext, ToolRegistry};
use pi_server::data::{ExportRequest, ImportRequest, activate, export_patterns, import};
use pi_store::Engine;
use pi_store::testing::TestDatabase;
use serde_json::{Value, json};

pi_store::engine_tests!(pi_store::testing::on_engine => [the_builtin_set_survives_export_and_import]);

/// 64-bit LCG: the sample is the same on every run.
struct Sample(u64);

impl Sample {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

async fn call(registry: &ToolRegistry, name: &str, args: &Value) -> Value {
    registry
        .call(name, &ToolContext::default(), args.clone())
        .await
        .unwrap()
        .to_value()
}

/// The fields of a place that must survive the trip.
fn place_fields(p: &Value) -> Value {
    json!([
        p["id"],
        p["name"],
        p["address"],
        p["city"],
        p["state"],
        p["zip"],
        p["category"],
        p["chain_id"],
        p["metro_id"],
        p["lat"],
        p["lon"]
    ])
}

async fn the_builtin_set_survives_export_and_import(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let settings = crate::helpers::test_settings(test_db.url());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("synthetic-weekly-patterns.csv.gz");
    let (from, to) = ("2025-01-06", "2025-02-02");
    let rows = export_patterns(
        &settings,
        &ExportRequest {
            dataset: "synthetic".into(),
            out: file.clone(),
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
        },
        &mut Vec::new(),
    )
    .unwrap();
    // The places as Overture GeoParquet first; the Patterns rows join them by key.
    let places_file = dir.path().join("synthetic-places.parquet");
    let written =
        pi_server::data::export_places(&settings, "synthetic", &places_file, &mut Vec::new())
            .unwrap();
    let places_report = import(
        &settings,
        &ImportRequest {
            kind: ImportKind::Places,
            path: places_file,
            dataset: "roundtrip".into(),
            format: None,
            max_errors: Some(0),
        },
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(places_report.import.file.format, "overture");
    assert_eq!(places_report.import.counts.rows_imported, written);
    let report = import(
        &settings,
        &ImportRequest {
            kind: ImportKind::Patterns,
            path: file,
            dataset: "roundtrip".into(),
            format: None,
            max_errors: Some(0),
        },
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(report.import.counts.rows_imported, rows);
    activate(&settings, "roundtrip", &mut Vec::new())
        .await
        .unwrap();

    let scale = pi_server::tools::places_scale(&settings);
    let builtin_data = pi_places::PlacesData::new(scale, settings.places_seed);
    let db = pi_store::connect(test_db.url()).await.unwrap();
    let imported_data = pi_places::PlacesData::with_datasets(
        scale,
        settings.places_seed,
        Arc::new(pi_store::SeaOrmDatasetRepo::new(db)),
    );
    let mut builtin = ToolRegistry::new();
    pi_places::register_tools(&mut builtin, &builtin_data);
    let mut imported = ToolRegistry::new();
    pi_places::register_tools(&mut imported, &imported_data);
    let places = builtin_data.get().pois.len();

    let mut sample = Sample(32);
    let mut calls = 0;
    // 100 place summaries: visits by day or week, totals, dwell medians, the place itself.
    for n in 0..100 {
        let ids: Vec<String> = (0..1 + n % 3)
            .map(|_| format!("place:{}", sample.below(places)))
            .collect();
        let granularity = if n % 2 == 0 { "day" } else { "week" };
        let args = json!({"place_ids": ids, "start_date": from, "end_date": to, "granularity": granularity, "include_rollup": true});
        let (a, b) = (
            call(&builtin, "get_place_summary", &args).await,
            call(&imported, "get_place_summary", &args).await,
        );
        assert_eq!(b["metadata"]["dataset"], "roundtrip", "{b}");
        for (x, y) in a["places"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["places"].as_array().unwrap())
        {
            assert_eq!(
                place_fields(&x["place"]),
                place_fields(&y["place"]),
                "{args}"
            );
            assert_eq!(x["visits"], y["visits"], "{args}");
            assert_eq!(
                x["dwell"]["median_minutes"], y["dwell"]["median_minutes"],
                "{args}"
            );
        }
        assert_eq!(a["rollup"]["visits"], b["rollup"]["visits"], "{args}");
        calls += 1;
    }
    // 40 searches by metro, category and sometimes chain: the same places.
    let metros = [
        "austin",
        "dallas",
        "houston",
        "chicago",
        "seattle",
        "new-york",
        "los-angeles",
        "atlanta",
        "denver",
        "phoenix",
    ];
    let categories = [
        "coffee",
        "qsr",
        "grocery",
        "pharmacy",
        "fitness",
        "convenience",
        "bar",
        "fast_casual",
    ];
    for n in 0..40 {
        let mut args = json!({"geo": {"type": "metro", "name": metros[sample.below(metros.len())]}, "categories": [categories[sample.below(categories.len())]], "limit": 100});
        if n % 4 == 0 {
            args = json!({"geo": args["geo"], "chains": ["Starbucks"], "limit": 100});
        }
        let (a, b) = (
            call(&builtin, "search_places", &args).await,
            call(&imported, "search_places", &args).await,
        );
        assert_eq!(a["total"], b["total"], "{args}");
        let set = |v: &Value| {
            let mut s: Vec<Value> = v["places"]
                .as_array()
                .unwrap()
                .iter()
                .map(place_fields)
                .collect();
            s.sort_by_key(|p| p[0].to_string());
            s
        };
        assert_eq!(set(&a), set(&b), "{args}");
        calls += 1;
    }
    // 40 distances between places and metros.
    for n in 0..40 {
        let from_id = format!("place:{}", sample.below(places));
        let to_id = if n % 2 == 0 {
            format!("place:{}", sample.below(places))
        } else {
            format!("metro:{}", metros[sample.below(metros.len())])
        };
        let args = json!({"from_id": from_id, "to_id": to_id});
        let (a, b) = (
            call(&builtin, "distance_between", &args).await,
            call(&imported, "distance_between", &args).await,
        );
        assert_eq!(a["distance_km"], b["distance_km"], "{args}");
        assert_eq!(a["from"], b["from"], "{args}");
        calls += 1;
    }
    // 20 comparisons of a chain in a metro and a place. The built-in comparison sums the
    // model's expected (noise-free) visits; the imported one sums the exported days, so its
    // totals must equal the built-in daily visits of the same places, summed.
    let chains = [
        "Starbucks",
        "McDonald's",
        "Walgreens",
        "Chick-fil-A",
        "Target",
    ];
    for _ in 0..20 {
        let (chain, metro) = (
            chains[sample.below(chains.len())],
            metros[sample.below(metros.len())],
        );
        let place = format!("place:{}", sample.below(places));
        let args = json!({
            "entities": [{"type": "chain", "id": chain, "metro": metro}, {"type": "place", "id": place}],
            "start_date": from, "end_date": to,
        });
        let (a, b) = (
            call(&builtin, "compare_performance", &args).await,
            call(&imported, "compare_performance", &args).await,
        );
        if a.get("error").is_some() {
            // A chain without places in that metro: both say so.
            assert!(b.get("error").is_some(), "{args}: {b}");
            calls += 1;
            continue;
        }
        let members = call(
            &builtin,
            "search_places",
            &json!({"geo": {"type": "metro", "name": metro}, "chains": [chain], "limit": 100}),
        )
        .await;
        let mut ids: Vec<String> = members["places"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect();
        ids.push(place.clone());
        let mut january = [0u64; 2];
        let mut total = [0u64; 2];
        let chain_count = ids.len() - 1;
        for (n, chunk) in [&ids[..chain_count], &ids[chain_count..]]
            .iter()
            .enumerate()
        {
            for part in chunk.chunks(20) {
                let s = call(&builtin, "get_place_summary", &json!({"place_ids": part, "start_date": from, "end_date": to, "granularity": "month"})).await;
                for p in s["places"].as_array().unwrap() {
                    total[n] += p["visits"]["total"].as_u64().unwrap();
                    january[n] += p["visits"]["by_period"][0]["visits"].as_u64().unwrap();
                }
            }
        }
        for (n, series) in b["series"].as_array().unwrap().iter().enumerate() {
            assert_eq!(series["entity"], a["series"][n]["entity"], "{args}");
            assert_eq!(
                series["place_count"], a["series"][n]["place_count"],
                "{args}"
            );
            assert_eq!(series["total"].as_f64(), Some(total[n] as f64), "{args}");
            assert_eq!(
                series["points"][0]["value"].as_f64(),
                Some(january[n] as f64),
                "{args}"
            );
        }
        calls += 1;
    }
    assert_eq!(calls, 200);
}
