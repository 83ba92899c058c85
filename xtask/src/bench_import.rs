//! `cargo xtask sample-data` and `cargo xtask bench import`: large files in the published
//! schemas, written by the release server from the built-in set at `PLACES_SCALE=large` (1 M
//! places), then imported as a customer would, timed, on SQLite and PostgreSQL; then every
//! analytics tool's p50 on the imported set against the built-in one (`pi-server tool --repeat`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The sample files, under `target/sample-data` unless `--out DIR` is given.
pub struct Samples {
    pub places: PathBuf,
    pub patterns: PathBuf,
}

fn default_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")),
            PathBuf::from,
        )
        .join("sample-data")
}

/// Writes the sample files if they are missing: 1 M places as Overture GeoParquet and one week
/// of those places as a Weekly Patterns `.csv.gz` (1 M rows).
pub fn sample_data(server: &Path, extra: &[String]) -> Result<Samples, String> {
    let dir = match extra {
        [flag, dir, ..] if flag == "--out" => PathBuf::from(dir),
        [] => default_dir(),
        other => {
            return Err(format!(
                "usage: cargo xtask sample-data [--out DIR] (got {other:?})"
            ));
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let samples = Samples {
        places: dir.join("places-overture.parquet"),
        patterns: dir.join("patterns-week.csv.gz"),
    };
    let export = |args: &[&str], out: &Path| -> Result<(), String> {
        if out.exists() {
            eprintln!("xtask: {} is there already", out.display());
            return Ok(());
        }
        let partial = out.with_extension("partial");
        let mut cmd = Command::new(server);
        cmd.args(["export"])
            .args(args)
            .args(["--dataset", "synthetic", "--out"])
            .arg(&partial)
            .env("PLACES_SCALE", "large");
        crate::run(cmd)?;
        std::fs::rename(&partial, out).map_err(|e| format!("renaming {}: {e}", partial.display()))
    };
    export(&["places"], &samples.places)?;
    export(
        &["patterns", "--from", "2025-06-02", "--to", "2025-06-08"],
        &samples.patterns,
    )?;
    for f in [&samples.places, &samples.patterns] {
        let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "xtask: {} ({:.1} MiB)",
            f.display(),
            size as f64 / 1048576.0
        );
    }
    Ok(samples)
}

/// `server` run under `/usr/bin/time` (when there) to report its peak RSS on stderr.
fn measured(server: &Path) -> Command {
    let time = Path::new("/usr/bin/time");
    if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "peak-rss-kib=%M"]).arg(server);
        c
    } else {
        Command::new(server)
    }
}

/// The peak RSS, in MiB, that [`measured`] reported.
fn peak_rss(stderr: &str) -> Option<f64> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib="))
        .and_then(|k| k.trim().parse::<f64>().ok())
        .map(|k| k / 1024.0)
}

/// One timed import: rows read, rows/s, peak RSS in MiB (when `/usr/bin/time` is there).
struct Timed {
    rows: u64,
    seconds: f64,
    rss_mib: Option<f64>,
}

fn import(server: &Path, url: &str, kind: &str, file: &Path) -> Result<Timed, String> {
    let mut cmd = measured(server);
    cmd.args(["import", kind])
        .arg(file)
        .args(["--dataset", "bench"])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn");
    let started = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run pi-server import: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("pi-server import {kind} failed:\n{stdout}{stderr}"));
    }
    print!("{stdout}");
    // "imported N of M rows of F into `bench` (...)"
    let rows = stdout
        .split_whitespace()
        .skip_while(|w| *w != "of")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no row count in {stdout:?}"))?;
    let rss_mib = peak_rss(&stderr);
    Ok(Timed {
        rows,
        seconds,
        rss_mib,
    })
}

/// p50 in ms of `repeat` calls of a tool (after one warm-up call) on the configured database.
fn tool_p50(server: &Path, url: &str, name: &str, args: &str) -> Result<(f64, String), String> {
    tool_timed(server, url, name, args).map(|t| (t.p50_ms, t.output))
}

/// One tool's timing.
struct ToolRun {
    p50_ms: f64,
    output: String,
    /// The process's peak RSS in MiB (the loaded set included).
    rss_mib: Option<f64>,
    /// The loaded stored set's index, in bytes a place.
    index_bytes: Option<f64>,
}

/// p50 in ms, the output, the process's peak RSS and the loaded set's index size.
fn tool_timed(server: &Path, url: &str, name: &str, args: &str) -> Result<ToolRun, String> {
    let mut cmd = measured(server);
    cmd.args(["tool", name, args, "--repeat", "30"])
        .env("DATABASE_URL", url)
        .env("PLACES_SCALE", "large")
        .env("RUST_LOG", "warn");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run pi-server tool: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let p50 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("p50 "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|ms| ms.parse().ok())
        .ok_or_else(|| format!("{name}: no timing in {stderr}{stdout}"))?;
    // "index of `bench`: 1000000 places, 96.1 bytes a place"
    let index_bytes = stderr
        .lines()
        .find(|l| l.starts_with("index of "))
        .and_then(|l| l.rsplit(", ").next())
        .and_then(|l| l.split_whitespace().next())
        .and_then(|b| b.parse().ok());
    Ok(ToolRun {
        p50_ms: p50,
        output: stdout,
        rss_mib: peak_rss(&stderr),
        index_bytes,
    })
}

/// The top place id of a `search_places` answer.
fn top_place(output: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(output).ok()?;
    value["places"][0]["id"].as_str().map(str::to_owned)
}

/// Every tool's p50 on the active set of `url`, with arguments that name its places.
/// Each tool's p50 (ms), the largest peak RSS (MiB) of the processes that ran them, and the
/// loaded set's index in bytes a place (none for the built-in set).
type ToolTimes = (Vec<(String, f64)>, Option<f64>, Option<f64>);

fn tools(server: &Path, url: &str) -> Result<ToolTimes, String> {
    let search =
        r#"{"geo":{"type":"metro","name":"metro:austin"},"categories":["coffee"],"limit":5}"#;
    let (search_ms, out) = tool_p50(server, url, "search_places", search)?;
    let place = top_place(&out).ok_or_else(|| format!("no place in {out}"))?;
    let mut rows = vec![("search_places".to_owned(), search_ms)];
    let calls = [
        ("get_place_summary", format!(r#"{{"place_ids":["{place}"]}}"#)),
        (
            "compare_performance",
            r#"{"entities":[{"type":"chain","id":"chain:starbucks","metro":"metro:austin"},{"type":"category","id":"coffee","metro":"metro:austin"}]}"#.to_owned(),
        ),
        (
            "nearby_competitors",
            format!(r#"{{"place_id":"{place}","radius_km":3}}"#),
        ),
        (
            "distance_between",
            format!(r#"{{"from_id":"{place}","to_id":"metro:dallas"}}"#),
        ),
        ("list_metros", "{}".to_owned()),
    ];
    let (mut rss, mut index) = (None, None);
    for (name, args) in calls {
        let run = tool_timed(server, url, name, &args)?;
        rss = match (rss, run.rss_mib) {
            (Some(a), Some(b)) => Some(f64::max(a, b)),
            (a, b) => a.or(b),
        };
        index = index.or(run.index_bytes);
        rows.push((name.to_owned(), run.p50_ms));
    }
    Ok((rows, rss, index))
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("bench.db").display())
}

fn postgres_url() -> Option<String> {
    let admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";
    let mut drop = Command::new("psql");
    drop.args([admin, "-qc", "DROP DATABASE IF EXISTS pi_bench_import"]);
    let mut create = Command::new("psql");
    create.args([admin, "-qc", "CREATE DATABASE pi_bench_import"]);
    let ok = crate::run_quiet(drop, "psql").is_ok() && crate::run_quiet(create, "psql").is_ok();
    ok.then(|| "postgres://postgres@127.0.0.1:5432/pi_bench_import?sslmode=disable".to_owned())
}

/// `cargo xtask bench import [sqlite|postgres|all]`.
pub fn run(server: &Path, extra: &[String]) -> Result<(), String> {
    let samples = sample_data(server, &[])?;
    let work = default_dir().join("bench-db");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let engines: Vec<&str> = match extra.first().map(String::as_str) {
        None | Some("all") => vec!["sqlite", "postgres"],
        Some(e @ ("sqlite" | "postgres")) => vec![e],
        Some(other) => return Err(format!("unknown engine {other:?} (sqlite|postgres|all)")),
    };
    let mut table = vec![
        "| engine | file | rows | seconds | rows/s | importer peak RSS |".to_owned(),
        "|---|---|---:|---:|---:|---:|".to_owned(),
    ];
    let mut tool_table = Vec::new();
    for engine in engines {
        let url = match engine {
            "sqlite" => sqlite_url(&work),
            _ => match postgres_url() {
                Some(url) => url,
                None => {
                    eprintln!("xtask: PostgreSQL is not reachable: skipping it");
                    continue;
                }
            },
        };
        for (kind, file) in [("places", &samples.places), ("patterns", &samples.patterns)] {
            let t = import(server, &url, kind, file)?;
            table.push(format!(
                "| {engine} | {kind} ({}) | {} | {:.1} | {:.0} | {} |",
                file.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                t.rows,
                t.seconds,
                t.rows as f64 / t.seconds,
                t.rss_mib
                    .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0} MiB"))
            ));
        }
        if engine == "sqlite" {
            // The built-in set first (nothing active), then the imported copy of it.
            let (synthetic, synthetic_rss, _) = tools(server, &url)?;
            let mut activate = Command::new(server);
            activate
                .args(["dataset", "activate", "bench"])
                .env("DATABASE_URL", &url);
            crate::run_quiet(activate, "pi-server dataset activate")?;
            let (imported, imported_rss, index_bytes) = tools(server, &url)?;
            tool_table
                .push("| tool | built-in set p50 | imported 1 M places p50 | ratio |".to_owned());
            tool_table.push("|---|---:|---:|---:|".to_owned());
            for ((name, a), (_, b)) in synthetic.iter().zip(&imported) {
                tool_table.push(format!(
                    "| `{name}` | {a:.2} ms | {b:.2} ms | {:.2}× |",
                    b / a.max(0.001)
                ));
            }
            let mib =
                |m: Option<f64>| m.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0} MiB"));
            tool_table.push(format!(
                "| peak RSS of a `pi-server tool` process (the set loaded) | {} | {} | |",
                mib(synthetic_rss),
                mib(imported_rss)
            ));
            tool_table.push(format!(
                "| the imported set's index in memory (target ≤ 100) | | {} bytes a place | |",
                index_bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{b:.1}"))
            ));
        }
    }
    println!("\n{}\n", table.join("\n"));
    if !tool_table.is_empty() {
        println!("{}\n", tool_table.join("\n"));
    }
    Ok(())
}
