//! Analytics benchmarks (`cargo xtask bench places`):
//! data-set build time and memory per scale; `search_places` point-radius (~50 results) at the
//! largest scale built — index query, end-to-end tool call with JSON, and a linear-scan
//! baseline; `get_place_summary` over one year at daily granularity, and a baseline that
//! recomputes the calendar per day instead of using the precomputed table.
//!
//! `PLACES_BENCH_SCALES=small,default,large` (default all three) limits the scales built.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pi_places::dataset::{Dataset, Scale};
use pi_places::geo::haversine_km;
use pi_places::model::{self, calendar_factor};
use pi_places::tools::run_json;

// The server binary uses the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use serde_json::json;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn p50_p99(mut f: impl FnMut(), n: usize) -> (Duration, Duration) {
    for _ in 0..n / 10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort_unstable();
    (samples[n / 2], samples[n * 99 / 100])
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

/// A radius around (lat, lon) holding about `target` places.
fn radius_for(data: &Dataset, lat: f64, lon: f64, target: usize) -> f64 {
    let (mut lo, mut hi) = (0.01, 50.0);
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if data.places_within(lat, lon, mid).len() < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

fn bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let scales: Vec<Scale> = if full {
        std::env::var("PLACES_BENCH_SCALES")
            .unwrap_or_else(|_| "small,default,large".into())
            .split(',')
            .filter_map(|s| Scale::parse(s.trim()))
            .collect()
    } else {
        vec![Scale::Small]
    };
    // Load the ZIP database once so build times measure our own work.
    drop(Dataset::build(Scale::Small, 1));
    let mut largest = None;
    for scale in scales {
        let before = rss_kb();
        let started = Instant::now();
        let data = Dataset::build(scale, 42);
        let elapsed = started.elapsed();
        let after = rss_kb();
        let n = data.pois.len();
        println!(
            "build {:<7}: {:>8} places in {:>7.1} ms; RSS +{:.1} MB = {:.0} bytes/place (estimated heap {:.0} bytes/place)",
            scale.as_str(),
            n,
            elapsed.as_secs_f64() * 1e3,
            after.saturating_sub(before) as f64 / 1024.0,
            after.saturating_sub(before) as f64 * 1024.0 / n as f64,
            data.approx_bytes() as f64 / n as f64,
        );
        largest = Some(data);
    }
    let data = largest.expect("at least one scale");
    let (lat, lon) = (30.2672, -97.7431);
    let r = radius_for(&data, lat, lon, 50);
    let found = data.places_within(lat, lon, r).len();
    let args = json!({"geo": {"type": "point_radius", "lat": lat, "lon": lon, "radius_km": r}, "limit": 100});
    let summary_args = json!({"place_ids": ["place:123"], "start_date": "2025-01-01", "end_date": "2025-12-31", "granularity": "day"});

    if full {
        let n = 20_000;
        let (p50, p99) = p50_p99(|| drop(black_box(data.places_within(lat, lon, r))), n);
        println!(
            "search index query ({} places, r={r:.3} km, {} scale): p50 {} p99 {}",
            found,
            data.scale.as_str(),
            us(p50),
            us(p99)
        );
        let (p50, p99) = p50_p99(
            || drop(black_box(run_json(&data, "search_places", args.clone()))),
            5_000,
        );
        println!(
            "search_places tool end to end (args parsing, filters, JSON text): p50 {} p99 {}",
            us(p50),
            us(p99)
        );
        let scan = || {
            data.pois
                .iter()
                .enumerate()
                .filter(|(_, p)| haversine_km(lat, lon, f64::from(p.lat), f64::from(p.lon)) <= r)
                .count()
        };
        let (p50, p99) = p50_p99(
            || {
                black_box(scan());
            },
            50,
        );
        println!(
            "baseline linear scan (haversine over all {} places): p50 {} p99 {}",
            data.pois.len(),
            us(p50),
            us(p99)
        );
        let (p50, p99) = p50_p99(
            || {
                drop(black_box(run_json(
                    &data,
                    "get_place_summary",
                    summary_args.clone(),
                )))
            },
            5_000,
        );
        println!(
            "get_place_summary tool, 1 place, 365 days, daily, JSON text (incl. YoY and PoP periods): p50 {} p99 {}",
            us(p50),
            us(p99)
        );
        let naive = || {
            let p = &data.pois[123];
            (model::day_index(chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap())..model::DAYS)
                .map(|d| {
                    f64::from(p.base)
                        * f64::from(calendar_factor(p.category, d))
                        * model::trend(p.chain, d)
                })
                .sum::<f64>()
        };
        let (p50, p99) = p50_p99(
            || {
                black_box(naive());
            },
            5_000,
        );
        println!(
            "baseline: 365 days recomputing the calendar per day (no table, no JSON): p50 {} p99 {}",
            us(p50),
            us(p99)
        );
    }

    c.bench_function("search_places/index_query", |b| {
        b.iter(|| black_box(data.places_within(lat, lon, r)))
    });
    c.bench_function("search_places/tool_with_json", |b| {
        b.iter(|| black_box(run_json(&data, "search_places", args.clone())))
    });
    c.bench_function("get_place_summary/one_year_daily", |b| {
        b.iter(|| black_box(run_json(&data, "get_place_summary", summary_args.clone())))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
