//! Project tasks, run as `cargo xtask <task>`.
//!
//! - `test`    — every test of the workspace (unit, integration on SQLite and PostgreSQL).
//! - `migrate` — apply database migrations to `DATABASE_URL` (default: the embedded SQLite file).
//! - `seed`    — migrations, the persona catalogue and demo users (`pi-server seed`).
//! - `arch`    — check the architecture invariants of docs/ARCHITECTURE.md with `cargo tree -i`.
//! - `lint`    — `cargo fmt --check`, `cargo clippy -D warnings`, then `arch`.
//! - `bench`   — criterion benchmarks (`cargo xtask bench [chat|places|personas|letta|search|stream|turn_io]`),
//!   and `cargo xtask bench api`: the release server's throughput against its stack's ceiling;
//!   `cargo xtask bench import [sqlite|postgres|all]`: 1 M places and 1 M Patterns rows imported
//!   by the release binary (rows/s, peak RSS), then every tool's p50 on them vs the built-in set.
//! - `sample-data` — large files in the published schemas (`cargo xtask sample-data [--out DIR]`):
//!   1 M places as Overture GeoParquet, a week of them as Weekly Patterns `.csv.gz`.
//! - `letta-up` / `letta-down` — a real Letta 0.16.8 server (+ PostgreSQL/pgvector, fake LLM)
//!   provisioned from the package registries, cached under `PI_LETTA_HOME`.
//! - `letta-it` — `letta-up`, the live Letta suite (`LETTA_IT=1`), `letta-down`.
//! - `eval`    — the offline model's public evaluation (`eval/questions.json`) through the HTTP
//!   API, scored per category.
//! - `fuzz`    — Schemathesis fuzzing of the API from its OpenAPI document, against the release
//!   server on SQLite and PostgreSQL (`cargo xtask fuzz [sqlite|postgres|all]`); cached under
//!   `PI_FUZZ_HOME`.
//! - `cluster` — three release replicas on PostgreSQL behind HAProxy (Debian's package, with
//!   `deploy/haproxy/haproxy.cfg`): throughput with 1/2/3 replicas, a rolling restart and a
//!   SIGKILL under load (`crates/server/tests/cluster.rs`).
//! - `browser` — the console's browser suite (`console/tests/browser.mjs`): Debian's Chromium
//!   (installed when missing) driven by playwright-core (npm, `console/package-lock.json`) against
//!   the release server; first checks that `console/public/vendor` matches the lockfile.

mod arch;
mod bench_api;
mod bench_import;
mod fuzz;
mod letta;
mod load;
mod local;

use std::process::{Command, ExitCode};

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs `cmd` to completion; its stdout, or its output in the error. Only the program is named
/// in the error: arguments may hold credentials (database URLs).
pub(crate) fn run_quiet(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The last `lines` lines of a log file (empty when unreadable).
pub(crate) fn tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn run(mut cmd: Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

fn test(extra: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--all-targets"])
        .args(extra);
    run(cmd)?;
    let mut doc = cargo();
    doc.args(["test", "--workspace", "--doc"]);
    run(doc)
}

fn bench(extra: &[String]) -> Result<(), String> {
    if extra.first().map(String::as_str) == Some("api") {
        return bench_api::run(&extra[1..]);
    }
    if extra.first().map(String::as_str) == Some("import") {
        return bench_import::run(&local::build_server()?, &extra[1..]);
    }
    // Each benchmark lives in the crate it measures.
    let targets: &[(&str, &str)] = &[
        ("chat", "pi-server"),
        ("places", "pi-places"),
        ("personas", "pi-server"),
        ("letta", "pi-server"),
        ("search", "pi-store"),
        ("stream", "pi-server"),
        ("turn_io", "pi-store"),
    ];
    let wanted: Vec<&(&str, &str)> = match extra.first().map(String::as_str) {
        None | Some("all") => targets.iter().collect(),
        Some(name) => targets.iter().filter(|(b, _)| *b == name).collect(),
    };
    if wanted.is_empty() {
        return Err(format!(
            "unknown benchmark; one of: {}",
            targets.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
        ));
    }
    for (bench, package) in wanted {
        let mut cmd = cargo();
        cmd.args(["bench", "--package", package, "--bench", bench]);
        run(cmd)?;
    }
    Ok(())
}

fn seed() -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "--bin",
        "pi-server",
        "--",
        "seed",
    ]);
    run(cmd)
}

fn migrate() -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "--bin", "pi-server", "--", "migrate"]);
    run(cmd)
}

fn arch() -> Result<(), String> {
    let mut violations = Vec::new();
    let mut metadata = cargo();
    metadata.args(["metadata", "--format-version", "1", "--no-deps"]);
    let json = run_quiet(metadata, "cargo metadata")?;
    let metadata: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("cargo metadata: {e}"))?;
    let edges = arch::edges(&metadata);
    violations.extend(arch::violations(&edges));
    let root = metadata["workspace_root"].as_str().unwrap_or(".");
    let root_manifest = std::path::Path::new(root).join("Cargo.toml");
    let text = std::fs::read_to_string(&root_manifest)
        .map_err(|e| format!("cannot read {}: {e}", root_manifest.display()))?;
    violations.extend(arch::workspace_forbids_unsafe(&text));
    violations.extend(arch::io_in_places(
        &std::path::Path::new(root).join("crates/places/src"),
    ));
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest = std::path::Path::new(package["manifest_path"].as_str().unwrap_or_default());
        if let Some(dir) = manifest.parent() {
            violations.extend(arch::file_cycles(name, &dir.join("src")));
        }
        let text = std::fs::read_to_string(manifest)
            .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
        violations.extend(arch::workspace_lints(name, &text));
    }
    // Transitively too: the domain reaches no infrastructure through any crate.
    for krate in arch::FORBIDDEN_IN_DOMAIN {
        let output = cargo()
            .args([
                "tree",
                "--package",
                "pi-domain",
                "--edges",
                "normal,build",
                "--invert",
                krate,
            ])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() && !output.stdout.is_empty() {
            violations.push(format!(
                "pi-domain depends on {krate}:\n{}",
                String::from_utf8_lossy(&output.stdout)
            ));
        } else if !output.status.success() && !stderr.contains("did not match any packages") {
            return Err(format!("cargo tree failed for {krate}: {stderr}"));
        }
    }
    if violations.is_empty() {
        eprintln!(
            "xtask: architecture invariants hold ({} dependency edges checked; no import cycle between files; pi-places does no I/O; pi-domain reaches none of {:?})",
            edges.len(),
            arch::FORBIDDEN_IN_DOMAIN
        );
        Ok(())
    } else {
        Err(format!(
            "architecture violations:\n  {}",
            violations.join("\n  ")
        ))
    }
}

fn lint() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    arch()
}

fn skip_banner(reason: &str) {
    let line = "!".repeat(78);
    eprintln!(
        "{line}\n!! SKIP: the live Letta suite cannot run on this machine.\n!! Reason: {reason}\n{line}"
    );
}

fn letta_up() -> Result<(), String> {
    match letta::up() {
        Ok(()) => Ok(()),
        Err(letta::UpError::Impossible(reason)) => {
            skip_banner(&reason);
            Err(format!("Letta cannot be provisioned here: {reason}"))
        }
        Err(letta::UpError::Failed(e)) => {
            letta::down();
            Err(e)
        }
    }
}

/// The public evaluation of the offline model (`eval/questions.json`) through the HTTP API:
/// prints the score per category and overall; fails below 90 % overall or 75 % in a category.
fn eval() -> Result<(), String> {
    let mut cmd = cargo();
    // `--workspace` keeps the feature set (and so the build) of `cargo xtask test`.
    cmd.args([
        "test",
        "--workspace",
        "--test",
        "api",
        "eval::",
        "--",
        "--nocapture",
        "--test-threads=1",
    ]);
    run(cmd)
}

/// The local cluster run: the release binary, HAProxy (installed from Debian when missing and
/// running as root), then the ignored `cluster` test with its output.
fn cluster() -> Result<(), String> {
    let bin = local::build_server()?;
    let have_haproxy = Command::new("haproxy")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_haproxy {
        let mut update = Command::new("apt-get");
        update.args(["update", "-qq"]);
        run(update).map_err(|e| format!("HAProxy is needed (apt-get install haproxy): {e}"))?;
        let mut apt = Command::new("apt-get");
        apt.args(["install", "-y", "-qq", "haproxy"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(apt).map_err(|e| format!("HAProxy is needed (apt-get install haproxy): {e}"))?;
    }
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--workspace",
        "--test",
        "cluster",
        "--",
        "--ignored",
        "--nocapture",
    ])
    .env("PI_SERVER_BIN", bin)
    .env("REQUIRE_POSTGRES", "1");
    run(cmd)
}

/// The console's browser suite: `npm ci`, the vendored files checked against the lockfile,
/// Chromium from Debian when missing, then the suite against the release binary.
fn browser() -> Result<(), String> {
    let console = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../console");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        let mut update = Command::new("apt-get");
        update.args(["update", "-qq"]);
        run(update).map_err(|e| format!("Chromium is needed (apt-get install chromium): {e}"))?;
        let mut apt = Command::new("apt-get");
        apt.args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(apt).map_err(|e| format!("Chromium is needed (apt-get install chromium): {e}"))?;
    }
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&console);
    run(npm)?;
    let mut check = Command::new("node");
    check.args(["vendor.mjs", "--check"]).current_dir(&console);
    run(check)?;
    let bin = local::build_server()?;
    let mut suite = Command::new("node");
    suite
        .arg("tests/browser.mjs")
        .current_dir(&console)
        .env("PI_SERVER_BIN", bin)
        .env("CHROMIUM", chromium);
    run(suite)
}

/// Brings Letta up, runs the live suite against it, and always takes the stack down.
fn letta_it(extra: &[String]) -> Result<(), String> {
    match letta::up() {
        Ok(()) => {}
        Err(letta::UpError::Impossible(reason)) => {
            skip_banner(&reason);
            return Ok(());
        }
        Err(letta::UpError::Failed(e)) => {
            letta::down();
            return Err(e);
        }
    }
    let mut cmd = cargo();
    // `--workspace` keeps the feature set (and so the build) of `cargo xtask test`.
    cmd.args(["test", "--workspace", "--test", "api", "letta_live"])
        .args(extra)
        .env("LETTA_IT", "1")
        .env("LETTA_IT_ENV", letta::env_file());
    let result = run(cmd);
    letta::down();
    result
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("migrate") => migrate(),
        Some("seed") => seed(),
        Some("bench") => bench(&args[1..]),
        Some("sample-data") => {
            local::build_server().and_then(|s| bench_import::sample_data(&s, &args[1..]).map(drop))
        }
        Some("arch") => arch(),
        Some("lint") => lint(),
        Some("letta-up") => letta_up(),
        Some("letta-down") => {
            letta::down();
            eprintln!("xtask: the Letta test stack is down");
            Ok(())
        }
        Some("letta-it") => letta_it(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("eval") => eval(),
        Some("cluster") => cluster(),
        Some("browser") => browser(),
        _ => Err(
            "usage: cargo xtask <test|migrate|seed|arch|lint|bench [api|import|chat|places|personas|letta|search|stream|turn_io]|sample-data [--out DIR]|letta-up|letta-down|letta-it|fuzz [sqlite|postgres|all]|eval|cluster|browser>"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
