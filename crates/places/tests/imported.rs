//! The tools over an imported data set: figures are the files' own, what the files lack is
//! said, and ids, brands and metros resolve as over the built-in set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, Utc};
use pi_domain::data::{Coverage, PlaceRecord, StoredPlace, VisitRecord};
use pi_places::imported::tools::{places_needed, run_json};
use pi_places::imported::{ImportedSet, Visits};
use serde_json::{Value, json};

fn place(
    key: &str,
    name: &str,
    brand: Option<&str>,
    category: &str,
    lat: f64,
    lon: f64,
) -> PlaceRecord {
    PlaceRecord {
        key: key.into(),
        name: name.into(),
        brand: brand.map(str::to_owned),
        category: Some(category.into()),
        sub_category: None,
        lat,
        lon,
        street: Some("1 Congress Ave".into()),
        city: Some("Austin".into()),
        region: Some("TX".into()),
        postcode: Some("78701".into()),
        country: Some("US".into()),
        confidence: None,
        closed: false,
    }
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A week of `daily` visits from `start`.
fn week(start: &str, daily: u32, visitors: u64) -> VisitRecord {
    let start = date(start);
    VisitRecord {
        start,
        end: start + chrono::Duration::days(7),
        raw_visits: u64::from(daily) * 7,
        raw_visitors: Some(visitors),
        visits_by_day: vec![daily; 7],
        visits_by_hour: Some(
            (0..24)
                .map(|h| if h == 8 { 3 * daily } else { daily / 4 })
                .collect(),
        ),
        median_dwell: Some(10.0),
        dwell_buckets: vec![("<5".into(), 1), ("5-10".into(), 3)],
        home_areas: vec![],
        related_brands: vec![],
        distance_from_home: None,
    }
}

struct Fixture {
    set: ImportedSet,
    rows: Vec<(String, VisitRecord)>,
}

/// Three coffee places in Austin (one Starbucks), a dentist (not analysed), a closed bar;
/// 2023-01-02 … 2024-01-14 of weekly visits for two of them.
fn fixture() -> Fixture {
    let mut rows = Vec::new();
    let mut monday = date("2023-01-02");
    while monday <= date("2024-01-08") {
        let in_2024 = monday.format("%Y").to_string() == "2024";
        let mut a = week(&monday.to_string(), if in_2024 { 110 } else { 100 }, 500);
        a.home_areas = vec![
            ("484530011001".into(), 40),
            ("484530011002".into(), 12),
            ("484530017122".into(), 4),
        ];
        a.distance_from_home = Some(5120.0);
        a.related_brands = vec![
            ("Whole Foods Market".into(), 9.0),
            ("Chick-fil-A".into(), 4.0),
            ("Starbucks".into(), 3.0),
        ];
        rows.push(("a".to_owned(), a));
        let mut sb = week(&monday.to_string(), 300, 1000);
        sb.related_brands = vec![("Starbucks".into(), 20.0), ("H-E-B".into(), 10.0)];
        rows.push(("sb".to_owned(), sb));
        monday += chrono::Duration::days(7);
    }
    let recent = |key: &str| -> u64 {
        rows.iter()
            .filter(|(k, v)| k == key && v.start >= date("2023-01-15"))
            .map(|(_, v)| v.raw_visits)
            .sum()
    };
    let mut closed = place("x", "Closed Bar", None, "bar", 30.27, -97.74);
    closed.closed = true;
    let stored = vec![
        StoredPlace {
            recent_visits: recent("a"),
            record: place("a", "Bean There", None, "coffee_shop", 30.2672, -97.7431),
        },
        StoredPlace {
            recent_visits: recent("sb"),
            record: place(
                "sb",
                "Starbucks",
                Some("Starbucks"),
                "coffee_shop",
                30.27,
                -97.75,
            ),
        },
        StoredPlace {
            recent_visits: 0,
            record: place("c", "Quiet Cafe", None, "Cafe", 30.30, -97.70),
        },
        StoredPlace {
            recent_visits: 0,
            record: place("d", "Smile Dental", None, "dentist", 30.28, -97.74),
        },
        StoredPlace {
            recent_visits: 0,
            record: closed,
        },
    ];
    let coverage = Coverage {
        places: 5,
        brands: 1,
        categories: 3,
        regions: 1,
        visit_rows: rows.len() as u64,
        first_day: Some(date("2023-01-02")),
        last_day: Some(date("2024-01-14")),
    };
    Fixture {
        set: ImportedSet::build("acme", Utc::now(), coverage, stored),
        rows,
    }
}

fn call(f: &Fixture, name: &str, args: Value) -> (Value, bool) {
    let needed = places_needed(&f.set, name, &args);
    let needed = match needed {
        Ok(n) => n,
        Err(e) => return (json!({ "error": e }), true),
    };
    let keys: Vec<&str> = needed.iter().map(|i| f.set.key(*i)).collect();
    let rows = f
        .rows
        .iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .cloned()
        .collect();
    let visits = Visits::new(&f.set, rows);
    let (text, error) = run_json(&f.set, &visits, name, args);
    (serde_json::from_str(&text).unwrap(), error)
}

#[test]
fn only_open_places_of_pi_categories_are_analysed() {
    let f = fixture();
    assert_eq!(f.set.places.len(), 3);
    assert_eq!(f.set.unanalysed, 2, "the dentist and the closed bar");
    let (out, error) = call(
        &f,
        "search_places",
        json!({"geo": {"type": "metro", "name": "Austin"}}),
    );
    assert!(!error, "{out}");
    assert_eq!(out["total"], 3);
    // Busiest first, by the latest 365 days.
    assert_eq!(out["places"][0]["id"], "place:sb");
    assert_eq!(out["places"][0]["chain_id"], "chain:starbucks");
    assert_eq!(out["places"][0]["metro_id"], "metro:austin");
    assert_eq!(out["places"][0]["annual_visits"], 300 * 7 * 52);
    assert!(
        out["places"][0].get("sqft").is_none(),
        "no floor areas in the files"
    );
    assert_eq!(out["metadata"]["synthetic"], false);
    assert_eq!(out["metadata"]["dataset"], "acme");
    let (out, _) = call(
        &f,
        "search_places",
        json!({"geo": {"type": "point_radius", "lat": 30.2672, "lon": -97.7431, "radius_km": 2}, "chains": ["Starbucks"]}),
    );
    assert_eq!(out["total"], 1);
    assert!(out["places"][0]["distance_km"].as_f64().unwrap() < 1.0);
    let (out, error) = call(
        &f,
        "search_places",
        json!({"geo": {"type": "metro", "name": "austin"}, "chains": ["Dunkin"]}),
    );
    assert!(error);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("no brand \"Dunkin\""),
        "{out}"
    );
}

#[test]
fn a_place_summary_adds_up_the_files_days() {
    let f = fixture();
    let (out, error) = call(
        &f,
        "get_place_summary",
        json!({
            "place_ids": ["place:a"], "start_date": "2024-01-01", "end_date": "2024-01-14",
            "granularity": "week", "include_benchmark": true, "include_rollup": true
        }),
    );
    assert!(!error, "{out}");
    let row = &out["places"][0];
    assert_eq!(row["visits"]["total"], 110 * 14);
    assert_eq!(
        row["visits"]["by_period"][0],
        json!({"period": "2024-01-01", "visits": 770})
    );
    assert_eq!(row["visitors"], 1000, "two weeks of 500 visitors");
    assert_eq!(row["visit_frequency"], 1.54);
    // The same two weeks a year earlier (2023-01-01 is a Sunday without data: no yoy) and the
    // two weeks before (100 a day).
    assert!(row["trend"]["yoy_change_pct"].is_null(), "{row}");
    assert_eq!(row["trend"]["pop_change_pct"], 10.0);
    assert_eq!(row["dwell"]["median_minutes"], 10.0);
    assert_eq!(
        row["dwell"]["histogram"][1],
        json!({"bucket": "5-10", "share": 0.75})
    );
    let hours: Vec<f64> = serde_json::from_value(row["hourly_distribution"].clone()).unwrap();
    assert_eq!(hours.len(), 24);
    assert!(hours[8] > 0.2 && hours[8] == *hours.iter().max_by(|a, b| a.total_cmp(b)).unwrap());
    // Peers with visits: Bean There and Starbucks.
    assert_eq!(row["benchmark"]["peer_count"], 2);
    assert!(row["benchmark"]["index"].as_f64().unwrap() < 100.0);
    assert_eq!(out["rollup"]["visits"]["total"], 110 * 14);

    let (out, _) = call(
        &f,
        "get_place_summary",
        json!({"place_ids": ["place:a"], "start_date": "2024-01-08", "end_date": "2024-01-14"}),
    );
    assert_eq!(
        out["places"][0]["trend"]["yoy_change_pct"], 10.0,
        "2023-01-09…15 had 100 a day"
    );

    let (out, error) = call(
        &f,
        "get_place_summary",
        json!({"place_ids": ["place:a"], "start_date": "2025-01-01"}),
    );
    assert!(error);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("has visits from 2023-01-02 to 2024-01-14"),
        "{out}"
    );
}

#[test]
fn comparisons_and_what_the_files_lack() {
    let f = fixture();
    let (out, error) = call(
        &f,
        "compare_performance",
        json!({
            "entities": [{"type": "chain", "id": "chain:starbucks"}, {"type": "category", "id": "coffee", "metro": "austin"}],
            "start_date": "2023-02-01", "end_date": "2023-03-31"
        }),
    );
    assert!(!error, "{out}");
    assert_eq!(out["series"][0]["total"], 300.0 * 59.0);
    assert_eq!(out["series"][1]["place_count"], 3);
    assert_eq!(out["series"][1]["total"], (300.0 + 100.0) * 59.0);
    assert_eq!(
        out["series"][0]["points"][0],
        json!({"period": "2023-02", "value": 300.0 * 28.0})
    );
    assert_eq!(out["rankings"][0]["ranked"][0]["entity"], "category:coffee");

    let (out, error) = call(
        &f,
        "compare_performance",
        json!({"entities": [{"type": "place", "id": "place:a"}], "metric": "visits_per_sqft"}),
    );
    assert!(
        error && out["error"].as_str().unwrap().contains("no floor areas"),
        "{out}"
    );
    let (out, error) = call(
        &f,
        "get_audience_profile",
        json!({"place_ids": ["place:a"]}),
    );
    assert!(
        error && out["error"].as_str().unwrap().contains("no demographics"),
        "{out}"
    );

    let (out, error) = call(
        &f,
        "nearby_competitors",
        json!({"place_id": "place:sb", "radius_km": 10}),
    );
    assert!(!error, "{out}");
    assert_eq!(out["total"], 2);
    assert_eq!(out["competitors"][0]["id"], "place:a");
    let (out, _) = call(
        &f,
        "distance_between",
        json!({"from_id": "place:a", "to_id": "metro:dallas"}),
    );
    assert!(
        (out["distance_km"].as_f64().unwrap() - 293.0).abs() < 10.0,
        "{out}"
    );
    let (out, _) = call(&f, "list_metros", json!({}));
    let austin = out["metros"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "metro:austin")
        .unwrap();
    assert_eq!(austin["place_count"], 3);
    assert_eq!(austin["zip_count"], 1);
}

#[test]
fn overlapping_periods_count_their_days_once() {
    let f = fixture();
    // A monthly row for January 2024 over the weekly rows of 2024-01-01 and 2024-01-08.
    let mut month = week("2024-01-01", 1000, 1);
    month.end = date("2024-02-01");
    month.visits_by_day = vec![1000; 31];
    let mut rows: Vec<(String, VisitRecord)> =
        f.rows.iter().filter(|(k, _)| k == "a").cloned().collect();
    rows.push(("a".to_owned(), month));
    let i = f.set.place_index("place:a").unwrap();
    let visits = Visits::new(&f.set, rows);
    let daily = visits.daily(i, date("2024-01-01"), date("2024-01-14"));
    // The weekly row of 2024-01-01 starts first (same start: the earlier in the file's order is
    // kept by the stable sort), and the month that overlaps it is left out.
    assert_eq!(daily.iter().sum::<u64>(), 110 * 14);
}

/// Trade areas from `visitor_home_cbgs`: block groups, rolled up to tracts and counties by FIPS
/// prefix; no polygon or ZIPs invented for them.
#[test]
fn trade_areas_come_from_the_home_areas_at_their_own_geography() {
    let f = fixture();
    let (out, error) = call(
        &f,
        "get_trade_area_profile",
        json!({"place_ids": ["place:a"]}),
    );
    assert!(!error, "{out}");
    let p = &out["profiles"][0];
    assert_eq!(p["output_geography"], "block_group");
    assert_eq!(p["home_zip_count"], 3);
    assert_eq!(p["median_distance_km"], 5.1);
    assert!(p.get("polygon").is_none(), "{p}");
    let units = p["geo_units"].as_array().unwrap();
    assert_eq!(units[0]["id"], "484530011001");
    assert_eq!(units[0]["name"], "TX");
    assert_eq!(units[0]["share"], 0.714);
    assert_eq!(units[2]["share"], 0.071);
    let total = p["total_visits"].as_u64().unwrap();
    assert_eq!(
        units[0]["visits"].as_u64().unwrap(),
        (total as f64 * 40.0 / 56.0).round() as u64
    );
    // The fewest units covering 70 %: the first holds 71.4 %.
    assert_eq!(p["covered_share"], 0.714);
    assert!(
        out["metadata"]["note"]
            .as_str()
            .unwrap()
            .contains("visitor_home_cbgs")
    );

    let (out, _) = call(
        &f,
        "get_trade_area_profile",
        json!({"place_ids": ["place:a"], "output_geography": "tract"}),
    );
    let units = out["profiles"][0]["geo_units"].as_array().unwrap().clone();
    assert_eq!(units.len(), 2);
    assert_eq!(units[0]["id"], "48453001100");
    assert_eq!(units[0]["share"], 0.929);
    let (out, _) = call(
        &f,
        "get_trade_area_profile",
        json!({"place_ids": ["place:a"], "output_geography": "county"}),
    );
    assert_eq!(
        out["profiles"][0]["geo_units"],
        json!([{"id": "48453", "name": "TX", "visits": out["profiles"][0]["total_visits"], "share": 1.0, "distance_km": null}])
    );

    let (out, error) = call(
        &f,
        "get_trade_area_profile",
        json!({"place_ids": ["place:a"], "output_geography": "zip"}),
    );
    assert!(error);
    let message = out["error"].as_str().unwrap();
    assert!(
        message.contains("census block groups") && message.contains("block_group, tract, county"),
        "{message}"
    );
    let (out, error) = call(
        &f,
        "get_trade_area_profile",
        json!({"place_ids": ["place:sb"]}),
    );
    assert!(error);
    assert!(
        out["error"].as_str().unwrap().contains("has no home areas"),
        "{out}"
    );
}

/// Visit flows from `related_same_day_brand`: same day, no order, by brand or category; the
/// origin's own brand left out; what the files cannot say is refused.
#[test]
fn visit_flows_come_from_the_same_day_brands() {
    let f = fixture();
    let (out, error) = call(
        &f,
        "get_visit_flows",
        json!({"origin_place_ids": ["place:a"], "group_by": "chain"}),
    );
    assert!(!error, "{out}");
    let r = &out["results"][0];
    assert!(r.get("before").is_none() && r.get("after").is_none(), "{r}");
    let day = &r["same_day"];
    // 52 whole weeks and 1 day of 7 of the week starting 2023-01-09, at 500 visitors a week.
    let visitors: f64 = 52.0 * 500.0 + 500.0 / 7.0;
    assert_eq!(day["visitors"], visitors.round() as u64);
    assert_eq!(day["flows"][0]["id"], "chain:whole-foods-market");
    assert_eq!(day["flows"][0]["share_of_visitors"], 0.09);
    assert_eq!(
        day["flows"][0]["visitors"],
        (0.09 * visitors).round() as u64
    );
    assert_eq!(day["flows"][2]["id"], "chain:starbucks");

    // By category: Starbucks is a coffee chain of this set; the others are Pi's known chains.
    let (out, error) = call(
        &f,
        "get_visit_flows",
        json!({"origin_place_ids": ["place:a"]})
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("group_by".into(), json!("category"));
                Value::Object(o)
            })
            .unwrap(),
    );
    assert!(!error, "{out}");
    let ids: Vec<&str> = out["results"][0]["same_day"]["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"category:coffee"), "{ids:?}");

    // Starbucks' own brand is not a flow.
    let (out, _) = call(
        &f,
        "get_visit_flows",
        json!({"origin_place_ids": ["place:sb"]}),
    );
    let flows = out["results"][0]["same_day"]["flows"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(flows.len(), 1, "{flows:?}");
    assert_eq!(flows[0]["name"], "H-E-B");

    for (args, expected) in [
        (
            json!({"origin_place_ids": ["place:a"], "group_by": "place"}),
            "not places",
        ),
        (
            json!({"origin_place_ids": ["place:a"], "window_after_minutes": 60}),
            "not within minutes",
        ),
        (
            json!({"origin_place_ids": ["place:a"], "direction": "after"}),
            "in no order",
        ),
        (
            json!({"origin_place_ids": ["place:c"]}),
            "no related_same_day_brand",
        ),
    ] {
        let (out, error) = call(&f, "get_visit_flows", args.clone());
        assert!(error, "{args}");
        assert!(
            out["error"].as_str().unwrap().contains(expected),
            "{args}: {out}"
        );
    }
}

/// A set loaded page by page answers as one built at once: keys, names and addresses come back
/// from the text arena, ids resolve by key whatever the page order.
#[test]
fn a_set_built_page_by_page_is_the_same_set() {
    let f = fixture();
    let stored: Vec<StoredPlace> = ["c", "a", "sb"]
        .iter()
        .map(|k| StoredPlace {
            recent_visits: 7,
            record: place(k, &format!("Place {k}"), None, "coffee_shop", 30.27, -97.74),
        })
        .collect();
    let mut builder = ImportedSet::builder("acme", Utc::now(), f.set.coverage.clone());
    builder.add(stored[..1].to_vec());
    builder.add(stored[1..].to_vec());
    let paged = builder.finish();
    assert_eq!(paged.places.len(), 3);
    for key in ["a", "c", "sb"] {
        let i = paged.place_index(&format!("place:{key}")).unwrap();
        assert_eq!(paged.key(i), key);
        assert_eq!(paged.place_name(i), format!("Place {key}"));
        assert_eq!(paged.city(i), Some("Austin"));
        assert_eq!(paged.postcode(i), Some("78701"));
    }
    assert!(paged.place_index("place:zz").is_err());
    assert!(paged.bytes_per_place() > 40.0);

    // In key order already (as a replica loads them), with keys before, between and after.
    let mut in_order = ImportedSet::builder("acme", Utc::now(), f.set.coverage.clone());
    in_order.add(
        ["a", "b", "d", "sb"]
            .iter()
            .map(|k| StoredPlace {
                recent_visits: 1,
                record: place(k, &format!("Place {k}"), None, "coffee_shop", 30.27, -97.74),
            })
            .collect(),
    );
    let in_order = in_order.finish();
    for key in ["a", "b", "d", "sb"] {
        let i = in_order.place_index(key).unwrap();
        assert_eq!(in_order.key(i), key);
    }
    for missing in ["", "0", "c", "e", "zz"] {
        assert!(in_order.index_of_key(missing).is_none(), "{missing:?}");
    }
}

/// Radius and box searches find exactly the places a scan of every place finds (a fixed grid
/// of places around Austin, across grid-cell edges).
#[test]
fn radius_and_box_searches_match_a_full_scan() {
    let f = fixture();
    let mut builder = ImportedSet::builder("acme", Utc::now(), f.set.coverage.clone());
    let mut stored = Vec::new();
    for row in 0..40 {
        for col in 0..40 {
            let (lat, lon) = (30.0 + row as f64 * 0.0137, -98.0 + col as f64 * 0.0151);
            stored.push(StoredPlace {
                recent_visits: 1,
                record: place(
                    &format!("k{row:02}{col:02}"),
                    "P",
                    None,
                    "coffee_shop",
                    lat,
                    lon,
                ),
            });
        }
    }
    builder.add(stored);
    let set = builder.finish();
    for (lat, lon, radius) in [
        (30.27, -97.74, 3.0),
        (30.1, -97.9, 1.5),
        (30.3, -97.5, 25.0),
    ] {
        let got: Vec<u32> = set
            .within(lat, lon, radius)
            .iter()
            .map(|(i, _)| *i)
            .collect();
        let mut want: Vec<(u32, f64)> = (0..set.places.len() as u32)
            .map(|i| {
                let p = &set.places[i as usize];
                (i, pi_places::geo::haversine_km(lat, lon, p.lat, p.lon))
            })
            .filter(|(_, d)| *d <= radius)
            .collect();
        want.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let want: Vec<u32> = want.into_iter().map(|(i, _)| i).collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "{lat},{lon} within {radius} km");
    }
    let (min, max) = ([-97.9, 30.1], [-97.7, 30.2]);
    let got = set.in_envelope(min, max);
    let want: Vec<u32> = (0..set.places.len() as u32)
        .filter(|i| {
            let p = &set.places[*i as usize];
            p.lon >= min[0] && p.lon <= max[0] && p.lat >= min[1] && p.lat <= max[1]
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

/// `Visits::total` sums what `Visits::daily` lists, for ranges inside, across and outside the
/// periods (fixed ranges: no randomness).
#[test]
fn totals_are_the_daily_counts_summed() {
    let f = fixture();
    let a = f.set.place_index("place:a").unwrap();
    let rows = f.rows.iter().filter(|(k, _)| k == "a").cloned().collect();
    let visits = Visits::new(&f.set, rows);
    for (start, end) in [
        ("2023-01-02", "2024-01-14"),
        ("2023-01-04", "2023-01-04"),
        ("2023-03-01", "2023-03-31"),
        ("2022-12-01", "2023-01-10"),
        ("2024-01-10", "2024-02-10"),
        ("2021-01-01", "2021-12-31"),
    ] {
        let (start, end) = (date(start), date(end));
        assert_eq!(
            visits.total(a, start, end),
            visits.daily(a, start, end).iter().sum::<u64>(),
            "{start} to {end}"
        );
    }
}

/// Home areas given as ZIPs: placed at the built-in ZIP centroids, so ZIPs carry cities and
/// distances, distance bands are ordered nearest first and sum to the whole, and there is a
/// polygon.
#[test]
fn home_zips_give_cities_distances_bands_and_a_polygon() {
    let mut rows = Vec::new();
    let mut w = week("2024-01-01", 100, 500);
    w.home_areas = vec![
        ("78701".into(), 60),
        ("78704".into(), 30),
        ("75201".into(), 10),
    ];
    rows.push(("z".to_owned(), w));
    let stored = vec![StoredPlace {
        recent_visits: 700,
        record: place("z", "Zed Cafe", None, "coffee_shop", 30.2672, -97.7431),
    }];
    let coverage = Coverage {
        places: 1,
        first_day: Some(date("2024-01-01")),
        last_day: Some(date("2024-01-07")),
        ..Coverage::default()
    };
    let f = Fixture {
        set: ImportedSet::build("acme", Utc::now(), coverage, stored),
        rows,
    };
    let (out, error) = call(
        &f,
        "get_trade_area_profile",
        json!({"place_ids": ["place:z"]}),
    );
    assert!(!error, "{out}");
    let p = &out["profiles"][0];
    assert_eq!(p["output_geography"], "zip");
    assert_eq!(p["geo_units"][0]["id"], "78701");
    assert_eq!(p["geo_units"][0]["name"], "Austin, TX");
    assert_eq!(p["geo_units"][0]["share"], 0.6);
    assert!(
        p["geo_units"][2]["distance_km"].as_f64().unwrap() > 250.0,
        "{p}"
    );
    assert!(
        p["polygon"]["coordinates"][0].as_array().unwrap().len() >= 3,
        "{p}"
    );
    let (out, error) = call(
        &f,
        "get_trade_area_profile",
        json!({"place_ids": ["place:z"], "output_geography": "distance_band"}),
    );
    assert!(!error, "{out}");
    let bands = out["profiles"][0]["geo_units"].as_array().unwrap();
    let ids: Vec<&str> = bands.iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["0-2 km", "2-5 km", "5-10 km", "10-20 km", "20+ km"]);
    let sum: f64 = bands.iter().map(|b| b["share"].as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 0.002, "{sum}");
    assert_eq!(bands[4]["share"], 0.1);
    let (out, error) = call(
        &f,
        "get_trade_area_profile",
        json!({"place_ids": ["place:z"], "output_geography": "tract"}),
    );
    assert!(
        error && out["error"].as_str().unwrap().contains("are ZIPs"),
        "{out}"
    );
}

/// Places of one city, region and postcode share them (the index holds each locality once), a
/// place's own locality comes back whatever its neighbours', and a place without one has none.
#[test]
fn places_share_their_locality_and_keep_their_own() {
    let f = fixture();
    let mut builder = ImportedSet::builder("acme", Utc::now(), f.set.coverage.clone());
    let mut other = place("z1", "Elsewhere", None, "coffee_shop", 32.78, -96.80);
    other.city = Some("Dallas".into());
    other.postcode = Some("75201".into());
    let mut bare = place("z2", "Nowhere", None, "coffee_shop", 32.78, -96.80);
    (bare.city, bare.region, bare.postcode) = (None, None, None);
    let mut stored: Vec<StoredPlace> = (0..10_000)
        .map(|n| StoredPlace {
            recent_visits: u64::from(u32::MAX) + 5,
            record: place(
                &format!("a{n:05}"),
                "Cafe",
                None,
                "coffee_shop",
                30.27,
                -97.74,
            ),
        })
        .collect();
    stored.extend([other, bare].map(|record| StoredPlace {
        recent_visits: 3,
        record,
    }));
    builder.add(stored);
    let set = builder.finish();
    let austin = set.place_index("a00042").unwrap();
    assert_eq!(set.city(austin), Some("Austin"));
    assert_eq!(set.region(austin), Some("TX"));
    assert_eq!(set.postcode(austin), Some("78701"));
    assert_eq!(set.street(austin), Some("1 Congress Ave"));
    // A count beyond 32 bits saturates rather than wrapping to a small number.
    assert_eq!(set.places[austin as usize].recent_visits, u32::MAX);
    let dallas = set.place_index("z1").unwrap();
    assert_eq!(set.city(dallas), Some("Dallas"));
    assert_eq!(set.postcode(dallas), Some("75201"));
    let bare = set.place_index("z2").unwrap();
    assert_eq!(
        (set.city(bare), set.region(bare), set.postcode(bare)),
        (None, None, None)
    );
    // 40 bytes a place, its key, name and street (27 here with their ends), the grid and lists
    // (~16): 83. The city, region and postcode (16 bytes with their ends) are not repeated per
    // place, else 99.
    let bytes = set.bytes_per_place();
    assert!(bytes < 90.0, "{bytes} bytes a place");
}

/// Visitors, dwell and year-over-year come from the groups' daily totals: visitors in
/// proportion to the days inside the range, the visit-weighted median dwell, and a yoy only
/// where every place of the group has the same days a year earlier.
#[test]
fn comparisons_of_visitors_dwell_and_yoy() {
    let f = fixture();
    let entities = json!([
        {"type": "chain", "id": "chain:starbucks"},
        {"type": "category", "id": "coffee", "metro": "austin"},
        {"type": "place", "id": "place:a"}
    ]);
    let totals = |metric: &str, start: &str, end: &str| {
        let (out, error) = call(
            &f,
            "compare_performance",
            json!({"entities": entities, "metric": metric, "start_date": start, "end_date": end}),
        );
        assert!(!error, "{out}");
        out["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["total"].as_f64())
            .collect::<Vec<_>>()
    };
    // 59 days of weeks of 1,000 (Starbucks) and 500 (a) visitors.
    assert_eq!(
        totals("visitors", "2023-02-01", "2023-03-31"),
        [
            Some((59.0 * 1000.0 / 7.0_f64).round()),
            Some((59.0 * 1500.0 / 7.0_f64).round()),
            Some((59.0 * 500.0 / 7.0_f64).round())
        ]
    );
    assert_eq!(
        totals("dwell", "2023-02-01", "2023-03-31"),
        [Some(10.0), Some(10.0), Some(10.0)]
    );
    // A year earlier every place but the quiet cafe (no visits at all) has data.
    assert_eq!(
        totals("yoy", "2024-01-02", "2024-01-08"),
        [Some(0.0), None, Some(10.0)]
    );
    // Before the data's first day: no yoy for anyone.
    assert_eq!(
        totals("yoy", "2024-01-01", "2024-01-07"),
        [None, None, None]
    );
}
