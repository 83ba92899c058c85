//! `cargo xtask bench api [sqlite|postgres|all] [--secs N] [--passes N] [--connections N]
//! [--scale small|default] [--only ROUTE] [--allocator mimalloc|system]`: the release server's
//! HTTP throughput against the ceiling of its own stack, on this machine, in one run.
//!
//! For each database it starts `pi-server` and `pi-ceiling` (an actix-web route returning a
//! constant, and the same plus one primary-key select through pi-store's pool) on a fresh
//! database, prepares a user with 20 conversations, one of them with 6 messages, and sends each
//! route back to back on 32 keep-alive connections (`load.rs`), the passes interleaved, reporting
//! medians. Each read route is printed as a fraction of its ceiling: `/healthz` of the constant
//! route, the authenticated reads of the primary-key route. It also reports the server's idle
//! and peak resident memory and its cold start (exec to the first `/health` 200 on a migrated
//! database).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::load::{self, Outcome, Target};
use crate::local::{
    PgDatabase, Scratch, Server, ServerEnv, free_port, http, json_string, random_hex, signup,
};

/// The original Python backend on this machine (issue 16: wrk, 32 connections, medians of three
/// passes), for the last column: `(SQLite, PostgreSQL)` requests per second.
const ORIGINAL: &[(&str, f64, f64)] = &[
    ("GET /healthz", 5_699.0, 5_699.0),
    ("GET /auth/me", 1_049.0, 652.0),
    ("GET /chat/conversations", 713.0, 526.0),
    ("GET …/messages", 659.0, 422.0),
    ("POST …/messages", 15.9, 37.6),
];

#[derive(Debug)]
struct Options {
    engines: Vec<&'static str>,
    secs: u64,
    passes: usize,
    connections: usize,
    scale: &'static str,
    /// Only routes whose name contains this (the ceilings always run).
    only: Option<String>,
    /// `mimalloc` (the default build) or `system` (glibc's malloc: `--no-default-features`).
    allocator: &'static str,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        engines: vec!["sqlite", "postgres"],
        secs: 5,
        passes: 3,
        connections: 32,
        scale: "small",
        only: None,
        allocator: "mimalloc",
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .cloned()
        };
        match arg.as_str() {
            "sqlite" => o.engines = vec!["sqlite"],
            "postgres" => o.engines = vec!["postgres"],
            "all" => {}
            "--secs" => o.secs = value("--secs")?.parse().map_err(|_| "--secs: a number")?,
            "--passes" => {
                o.passes = value("--passes")?
                    .parse()
                    .map_err(|_| "--passes: a number")?
            }
            "--connections" => {
                o.connections = value("--connections")?
                    .parse()
                    .map_err(|_| "--connections: a number")?;
            }
            "--scale" => {
                o.scale = match value("--scale")?.as_str() {
                    "small" => "small",
                    "default" => "default",
                    "large" => "large",
                    other => return Err(format!("--scale: small, default or large, not {other}")),
                }
            }
            "--only" => o.only = Some(value("--only")?),
            "--allocator" => {
                o.allocator = match value("--allocator")?.as_str() {
                    "mimalloc" => "mimalloc",
                    "system" => "system",
                    other => return Err(format!("--allocator: mimalloc or system, not {other}")),
                }
            }
            other => return Err(format!("bench api: unknown argument {other}")),
        }
    }
    Ok(o)
}

/// One measured row: the route's name and the median outcome per pass.
#[derive(Debug, Clone)]
struct Row {
    name: &'static str,
    ceiling: Option<&'static str>,
    outcomes: Vec<Outcome>,
}

impl Row {
    fn median(&self) -> Outcome {
        let mut sorted = self.outcomes.clone();
        sorted.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
        sorted[sorted.len() / 2].clone()
    }
}

/// What one database's run found.
#[derive(Debug)]
struct EngineReport {
    engine: &'static str,
    rows: Vec<Row>,
    idle_rss_kib: u64,
    peak_rss_kib: u64,
    cold_start_ms: Vec<f64>,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let o = options(args)?;
    let (server_bin, ceiling_bin) = build(o.allocator)?;
    let mut reports = Vec::new();
    for engine in &o.engines {
        reports.push(bench_engine(engine, &o, &server_bin, &ceiling_bin)?);
    }
    print(&o, &reports);
    let errors: u64 = reports
        .iter()
        .flat_map(|r| &r.rows)
        .flat_map(|row| &row.outcomes)
        .map(|out| out.errors)
        .sum();
    if errors > 0 {
        return Err(format!("{errors} requests failed (see the table)"));
    }
    Ok(())
}

fn build(allocator: &str) -> Result<(PathBuf, PathBuf), String> {
    let features: &[&str] = if allocator == "system" {
        &["--no-default-features"]
    } else {
        &[]
    };
    let mut bins = crate::local::build_release(&["pi-server", "pi-ceiling"], features)?.into_iter();
    match (bins.next(), bins.next()) {
        (Some(server), Some(ceiling)) => Ok((server, ceiling)),
        _ => Err("pi-server and pi-ceiling were not both built".into()),
    }
}

fn bench_engine(
    engine: &'static str,
    o: &Options,
    server_bin: &Path,
    ceiling_bin: &Path,
) -> Result<EngineReport, String> {
    let scratch = Scratch::new()?;
    let mut pg = None;
    let database_url = if engine == "sqlite" {
        format!("sqlite://{}?mode=rwc", scratch.0.join("bench.db").display())
    } else {
        let db = PgDatabase::create()?;
        let url = db.url.clone();
        pg = Some(db);
        url
    };
    let env = ServerEnv {
        database_url,
        port: free_port()?,
        jwt_secret: format!("bench-{}", random_hex(48)),
        dir: scratch.0.clone(),
        scale: o.scale,
    };
    let mut migrate = env.command(server_bin);
    migrate.arg("migrate");
    crate::run_quiet(migrate, "pi-server migrate")?;
    // Both engines: PostgreSQL's pool fills in the background, so its start-up is one
    // connection, not the whole pool (issue 31: 0.95 s before).
    let cold_start_ms = cold_starts(server_bin, &env, 5)?;

    let log = scratch.0.join("server.log");
    let server = Server::start(server_bin, &env, &log)?;
    let port = env.port;
    wait_ready(port)?;
    let token = signup(port, "bench@example.com", "bench-password-1", "Bench")?;
    let (_, me) = http(port, "GET", "/auth/me", Some(&token), None)?;
    let user_id = json_string(&me, "id").ok_or("no id in /auth/me")?;
    let mut conversations = Vec::new();
    for _ in 0..20.max(o.connections) {
        let (status, body) = http(port, "POST", "/chat/conversations", Some(&token), None)?;
        if status != 201 {
            return Err(format!(
                "POST /chat/conversations answered {status}: {body}"
            ));
        }
        conversations.push(json_string(&body, "id").ok_or("no conversation id")?);
    }
    // The list shows 20 conversations; the history route reads one with 6 messages.
    let history = conversations[0].clone();
    for text in ["Hello", "My name is Bench", "What can you do?"] {
        let body = format!(r#"{{"content":"{text}"}}"#);
        let path = format!("/chat/conversations/{history}/messages");
        let (status, reply) = http(port, "POST", &path, Some(&token), Some(&body))?;
        if status != 201 {
            return Err(format!("POST {path} answered {status}: {reply}"));
        }
    }
    let turn_paths: Vec<String> = conversations
        .iter()
        .skip(1)
        .map(|c| format!("/chat/conversations/{c}/messages"))
        .collect();
    let list = if conversations.len() > 20 {
        "/chat/conversations?limit=20"
    } else {
        "/chat/conversations"
    };

    let ceiling_env = ServerEnv {
        port: free_port()?,
        ..env.clone()
    };
    let mut ceiling = spawn_ceiling(ceiling_bin, &ceiling_env)?;

    std::thread::sleep(Duration::from_secs(2));
    let idle_rss_kib = rss_kib(server.0.id()).unwrap_or(0);
    let sampler = RssSampler::start(server.0.id());

    let targets: Vec<(&'static str, Option<&'static str>, u16, Target)> = vec![
        (
            "ceiling: constant route",
            None,
            ceiling_env.port,
            Target::get("/const", None),
        ),
        (
            "ceiling: + one primary-key select",
            None,
            ceiling_env.port,
            Target::get(format!("/pk/{user_id}"), None),
        ),
        (
            "GET /healthz",
            Some("ceiling: constant route"),
            port,
            Target::get("/healthz", None),
        ),
        (
            "GET /auth/me",
            Some("ceiling: + one primary-key select"),
            port,
            Target::get("/auth/me", Some(&token)),
        ),
        (
            "GET /chat/conversations",
            Some("ceiling: + one primary-key select"),
            port,
            Target::get(list, Some(&token)),
        ),
        (
            "GET …/messages",
            Some("ceiling: + one primary-key select"),
            port,
            Target::get(
                format!("/chat/conversations/{history}/messages"),
                Some(&token),
            ),
        ),
        (
            "POST …/messages",
            None,
            port,
            Target {
                method: "POST",
                paths: turn_paths,
                bearer: Some(token.clone()),
                body: Some(
                    r#"{"content":"How busy was the top Starbucks in Austin in 2024?"}"#.into(),
                ),
            },
        ),
    ];
    let targets: Vec<_> = targets
        .into_iter()
        .filter(|(name, ceiling, _, _)| {
            ceiling.is_none() && name.starts_with("ceiling")
                || o.only.as_deref().is_none_or(|only| name.contains(only))
        })
        .collect();
    let mut rows: Vec<Row> = targets
        .iter()
        .map(|(name, ceiling, _, _)| Row {
            name,
            ceiling: *ceiling,
            outcomes: Vec::new(),
        })
        .collect();
    for pass in 0..o.passes {
        for (i, (name, _, target_port, target)) in targets.iter().enumerate() {
            let out = load::run(
                *target_port,
                target,
                o.connections,
                Duration::from_secs(1),
                Duration::from_secs(o.secs),
            );
            eprintln!(
                "bench api: {engine} pass {}: {name}: {:.0} req/s, p99 {:.1} ms, {} errors{}",
                pass + 1,
                out.per_second(),
                f64::from(out.p99_us) / 1000.0,
                out.errors,
                out.first_error
                    .as_deref()
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            );
            rows[i].outcomes.push(out);
        }
    }
    let peak_rss_kib = sampler.stop();
    let _ = ceiling.kill();
    let _ = ceiling.wait();
    drop(server);
    drop(pg);
    Ok(EngineReport {
        engine,
        rows,
        idle_rss_kib,
        peak_rss_kib,
        cold_start_ms,
    })
}

fn spawn_ceiling(bin: &Path, env: &ServerEnv) -> Result<Child, String> {
    let child = env
        .command(bin)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http(env.port, "GET", "/const", None, None) {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("pi-ceiling did not answer GET /const".into())
}

/// Waits for `/health/ready` (the data set built, the database reachable).
fn wait_ready(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http(port, "GET", "/health/ready", None, None) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("pi-server never became ready".into())
}

/// Exec to the first `/health` 200, `n` times, on the already migrated database.
fn cold_starts(bin: &Path, env: &ServerEnv, n: usize) -> Result<Vec<f64>, String> {
    let mut times = Vec::new();
    for _ in 0..n {
        let started = Instant::now();
        let mut child = env
            .command(bin)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let deadline = started + Duration::from_secs(20);
        let up = loop {
            if let Ok((200, _)) = http(env.port, "GET", "/health", None, None) {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
        if !up {
            return Err("pi-server did not answer /health within 20 s".into());
        }
        times.push(ms);
    }
    Ok(times)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The largest resident set seen every 50 ms while the load runs.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kib) = rss_kib(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Self { stop, peak, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed)
    }
}

fn print(o: &Options, reports: &[EngineReport]) {
    println!();
    println!(
        "cargo xtask bench api: release build ({} allocator), PLACES_SCALE={}, {} connections, \
         {} s per route after 1 s of warm-up, median of {} interleaved passes; ratio = share of \
         the ceiling",
        o.allocator, o.scale, o.connections, o.secs, o.passes
    );
    println!();
    for r in reports {
        println!("{}:", r.engine);
        println!();
        println!(
            "| route | req/s | p50 ms | p99 ms | errors | ratio to ceiling | original req/s | ours / original |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for row in &r.rows {
            let m = row.median();
            let ratio = row
                .ceiling
                .and_then(|c| r.rows.iter().find(|x| x.name == c))
                .map(|c| format!("{:.2}", m.per_second() / c.median().per_second()))
                .unwrap_or_else(|| "–".into());
            let original = ORIGINAL
                .iter()
                .find(|(n, _, _)| *n == row.name)
                .map(|(_, s, p)| if r.engine == "sqlite" { *s } else { *p });
            let errors: u64 = row.outcomes.iter().map(|x| x.errors).sum();
            println!(
                "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} |",
                row.name,
                m.per_second(),
                f64::from(m.p50_us) / 1000.0,
                f64::from(m.p99_us) / 1000.0,
                errors,
                ratio,
                original.map_or_else(|| "–".into(), |v| format!("{v:.0}")),
                original.map_or_else(|| "–".into(), |v| format!("{:.1}×", m.per_second() / v)),
            );
        }
        println!();
        println!(
            "memory: idle RSS {:.1} MiB, peak RSS under load {:.1} MiB ({:.2}× idle)",
            r.idle_rss_kib as f64 / 1024.0,
            r.peak_rss_kib as f64 / 1024.0,
            r.peak_rss_kib as f64 / r.idle_rss_kib.max(1) as f64
        );
        if !r.cold_start_ms.is_empty() {
            let mut sorted = r.cold_start_ms.clone();
            sorted.sort_by(f64::total_cmp);
            println!(
                "cold start (exec to the first /health 200, migrated database): median {:.1} ms, max {:.1} ms over {}",
                sorted[sorted.len() / 2],
                sorted[sorted.len() - 1],
                sorted.len()
            );
        }
        println!();
    }
}
