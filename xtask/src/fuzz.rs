//! `cargo xtask fuzz [sqlite|postgres|all]`: outside-in fuzzing of the HTTP API, driven by the
//! server's own OpenAPI document, with Schemathesis (pinned, installed from PyPI).
//!
//! Everything lives under `PI_FUZZ_HOME` (default `/var/tmp/pi-fuzz`) so repeat runs reuse it:
//! `venv/` holds Schemathesis (reused while `venv/.pi-fuzz-ready` names the pinned version) and
//! `reports/` the outcome of the last invocation: per database and token kind the console output
//! (`<db>-<kind>.txt`), a JUnit report (`<db>-<kind>.xml`) and the server's log
//! (`<db>-<kind>-server.log`).
//!
//! Each of the four runs (SQLite, PostgreSQL × a user's token, an admin's) starts the release
//! `pi-server` on a free loopback port against a fresh database (a temp SQLite file, or a
//! `pi_fuzz_<random>` database created on `TEST_DATABASE_URL` and dropped afterwards), signs up
//! two accounts — one made an admin with `pi-server admin grant` — with a conversation each, so
//! that path ids exist, and runs `st run` on `/openapi.json` with every check, a bounded number of
//! examples per operation, one worker and a fixed seed. Nothing is excluded: the stream route
//! ends by itself, and cleanup only touches agents of this throwaway database. The task fails
//! when any run reports a failure or an error; there is no skip: without Python 3.11+, PyPI or
//! PostgreSQL it fails with the reason.

use crate::local::{
    PgDatabase, Scratch, Server, ServerEnv, free_port, http, login, random_hex, signup,
};
use crate::run_quiet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The Schemathesis release we run (the newest 4.x when this task was written; needs Python 3.11+).
const SCHEMATHESIS: &str = "4.32.5";
/// Test cases per operation and phase: keeps the four runs (two databases × two tokens) to about
/// five minutes on 2 cores.
const MAX_EXAMPLES: u32 = 30;
/// Fixed seed: the same code gives the same requests, so a failure can be replayed.
const SEED: u64 = 20_250_101;

/// The databases the suite can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What one `st run` reported.
#[derive(Debug, Default)]
struct Summary {
    db: &'static str,
    kind: &'static str,
    selected: String,
    tested: u64,
    generated: u64,
    unique_failures: u64,
    errors: u64,
    /// `code title: count` per failure kind as Schemathesis groups them, then errors and warnings.
    details: Vec<String>,
    exit_ok: bool,
    seconds: f64,
}

impl Summary {
    fn failed(&self) -> bool {
        !self.exit_ok || self.unique_failures > 0 || self.errors > 0
    }
}

/// Runs the suite on `sqlite`, `postgres` or `all` (the default).
pub fn run(args: &[String]) -> Result<(), String> {
    let dbs: &[Db] = match args.first().map(String::as_str) {
        None | Some("all") => &[Db::Sqlite, Db::Postgres],
        Some("sqlite") => &[Db::Sqlite],
        Some("postgres") => &[Db::Postgres],
        Some(other) => {
            return Err(format!(
                "unknown database {other:?}; usage: cargo xtask fuzz [sqlite|postgres|all]"
            ));
        }
    };
    let started = Instant::now();
    let home = std::env::var_os("PI_FUZZ_HOME")
        .map_or_else(|| PathBuf::from("/var/tmp/pi-fuzz"), PathBuf::from);
    let st = provision(&home)?;
    eprintln!(
        "fuzz: schemathesis {SCHEMATHESIS} ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let server = crate::local::build_server()?;
    let reports = home.join("reports");
    let _ = std::fs::remove_dir_all(&reports);
    std::fs::create_dir_all(&reports).map_err(|e| format!("{}: {e}", reports.display()))?;
    let mut summaries = Vec::new();
    for &db in dbs {
        for token in [Token::User, Token::Admin] {
            summaries.push(fuzz_run(db, token, &server, &st, &reports)?);
        }
    }
    eprintln!(
        "\nfuzz: summary (schemathesis {SCHEMATHESIS}, {MAX_EXAMPLES} examples per operation, seed {SEED}; reports in {})",
        reports.display()
    );
    for s in &summaries {
        eprintln!(
            "fuzz: {}/{}: {} operations selected, {} tested, {} test cases, {} unique failures, {} errors — {} in {:.0}s",
            s.db,
            s.kind,
            s.selected,
            s.tested,
            s.generated,
            s.unique_failures,
            s.errors,
            if s.failed() { "FAILED" } else { "ok" },
            s.seconds
        );
        for k in &s.details {
            eprintln!("fuzz:     {k}");
        }
    }
    eprintln!("fuzz: done in {:.1}s", started.elapsed().as_secs_f64());
    let failed = summaries.iter().filter(|s| s.failed()).count();
    if failed == 0 {
        Ok(())
    } else {
        Err(format!(
            "{failed} of {} fuzz runs found failures (see above and {})",
            summaries.len(),
            reports.display()
        ))
    }
}

/// The cached venv: `python3 -m venv`, then `pip install schemathesis==SCHEMATHESIS`.
/// Returns the path of `st`.
fn provision(home: &Path) -> Result<PathBuf, String> {
    let venv = home.join("venv");
    let st = venv.join("bin/st");
    let marker = venv.join(".pi-fuzz-ready");
    let wanted = format!("schemathesis {SCHEMATHESIS}\n");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) && st.exists() {
        eprintln!(
            "fuzz: schemathesis {SCHEMATHESIS} cached in {}",
            venv.display()
        );
        return Ok(st);
    }
    let python = python()?;
    eprintln!(
        "fuzz: installing schemathesis=={SCHEMATHESIS} from PyPI into {} …",
        venv.display()
    );
    std::fs::create_dir_all(home).map_err(|e| format!("cannot create {}: {e}", home.display()))?;
    let _ = std::fs::remove_dir_all(&venv);
    let mut mk = Command::new(&python);
    mk.args(["-m", "venv"]).arg(&venv);
    run_quiet(mk, "python3 -m venv")?;
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS}"));
    run_quiet(pip, "pip install").map_err(|e| {
        format!(
            "cannot install schemathesis=={SCHEMATHESIS} from PyPI (the fuzz suite needs the \
             registry to be reachable): {e}"
        )
    })?;
    if !st.exists() {
        return Err(format!(
            "schemathesis installed but {} is missing",
            st.display()
        ));
    }
    std::fs::write(&marker, &wanted)
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(st)
}

/// `python3` (3.11 or newer, as Schemathesis 4 requires), as an absolute path.
fn python() -> Result<String, String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys; print(sys.executable); print(sys.version_info >= (3, 11))",
        ])
        .output()
        .map_err(|e| {
            format!("python3 is not installed ({e}); the fuzz suite needs Python 3.11+")
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let exe = lines.next().unwrap_or_default().to_owned();
    if !out.status.success() || lines.next() != Some("True") {
        return Err(format!(
            "schemathesis {SCHEMATHESIS} needs Python 3.11+ as python3 (found {exe:?})"
        ));
    }
    Ok(exe)
}

/// Whose bearer token a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A plain account.
    User,
    /// An account made an admin with `pi-server admin grant`.
    Admin,
}

impl Token {
    fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

/// One run: the server on a fresh `db`, both accounts and a conversation each, `st run` with
/// `token`'s bearer token, then everything torn down. Every run starts from an empty database,
/// so runs do not depend on one another (login throttling, deleted conversations).
fn fuzz_run(
    db: Db,
    token: Token,
    server_bin: &Path,
    st: &Path,
    reports: &Path,
) -> Result<Summary, String> {
    let label = format!("{}-{}", db.name(), token.name());
    let scratch = Scratch::new()?;
    // Declared before the server, so dropped (the database dropped) after it stops.
    let mut pg = None;
    let database_url = match db {
        Db::Sqlite => format!("sqlite://{}?mode=rwc", scratch.0.join("fuzz.db").display()),
        Db::Postgres => {
            let created = PgDatabase::create()?;
            let url = created.url.clone();
            pg = Some(created);
            url
        }
    };
    let env = ServerEnv {
        database_url,
        port: free_port()?,
        jwt_secret: format!("fuzz-{}", random_hex(48)),
        dir: scratch.0.clone(),
        scale: "small",
    };
    let log = reports.join(format!("{label}-server.log"));
    let server = Server::start(server_bin, &env, &log)?;
    let base = format!("http://127.0.0.1:{}", env.port);
    eprintln!("fuzz: {label}: pi-server up on {base}");

    let password = format!("fuzz-{}", random_hex(20));
    let user_token = signup(env.port, "fuzz.user@example.com", &password, "Fuzz User")?;
    let admin_email = "fuzz.admin@example.com";
    let mut admin_token = signup(env.port, admin_email, &password, "Fuzz Admin")?;
    let mut grant = env.command(server_bin);
    grant.args(["admin", "grant", admin_email]);
    match run_quiet(grant, "pi-server admin grant") {
        // A fresh token, in case a role travels in it.
        Ok(_) => admin_token = login(env.port, admin_email, &password)?,
        Err(e) => eprintln!(
            "fuzz: {label}: WARNING: could not make {admin_email} an admin, so the admin run \
             sends a plain user's token: {e}"
        ),
    }
    for bearer in [&user_token, &admin_token] {
        let (status, body) = http(env.port, "POST", "/chat/conversations", Some(bearer), None)?;
        if status != 201 {
            return Err(format!(
                "POST /chat/conversations answered {status}: {body}"
            ));
        }
    }
    let bearer = match token {
        Token::User => &user_token,
        Token::Admin => &admin_token,
    };
    let summary = schemathesis(st, &base, db, token, bearer, reports, &scratch.0);
    drop(server);
    drop(pg);
    summary
}

/// One `st run` against `base` with the bearer `token`; its console output goes to the terminal
/// and to `reports/<db>-<kind>.txt`.
fn schemathesis(
    st: &Path,
    base: &str,
    db: Db,
    kind: Token,
    token: &str,
    reports: &Path,
    cwd: &Path,
) -> Result<Summary, String> {
    let name = format!("{}-{}", db.name(), kind.name());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/schemathesis.toml");
    let mut cmd = Command::new(st);
    cmd.arg("--config-file")
        .arg(config)
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["--checks", "all"])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", &SEED.to_string()])
        // Examples found in earlier runs would make runs differ: the seed alone decides.
        .args(["--generation-database", "none"])
        // One worker: operations run in a fixed order, so the seed alone decides the requests.
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--report", "junit"])
        .arg("--report-junit-path")
        .arg(reports.join(format!("{name}.xml")))
        .arg("--no-color")
        // Only our schemathesis.toml applies; loopback never goes through a proxy.
        .current_dir(cwd)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let shown = format!("{cmd:?}").replace(token, "<token>");
    eprintln!("fuzz: {name}: running {shown}");
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", st.display()))?;
    let text_path = reports.join(format!("{name}.txt"));
    let mut text =
        std::fs::File::create(&text_path).map_err(|e| format!("{}: {e}", text_path.display()))?;
    let mut output = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading st output: {e}"))?;
            println!("{line}");
            let _ = writeln!(text, "{line}");
            output.push_str(&line);
            output.push('\n');
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for st: {e}"))?;
    let mut summary = parse_summary(&output);
    summary.db = db.name();
    summary.kind = kind.name();
    summary.exit_ok = status.success();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Reads the closing sections of `st run`'s console output (`--no-color`).
fn parse_summary(output: &str) -> Summary {
    let mut s = Summary::default();
    let mut section = "";
    for line in output.lines() {
        let trimmed = line.trim();
        if !line.starts_with(' ') && trimmed.ends_with(':') {
            section = trimmed;
            continue;
        }
        match section {
            "API Operations:" => {
                if let Some(v) = trimmed.strip_prefix("Selected: ") {
                    v.clone_into(&mut s.selected);
                } else if let Some(v) = trimmed.strip_prefix("Tested: ") {
                    s.tested = v.parse().unwrap_or(0);
                }
            }
            "Test cases:" => {
                // "N generated, M found K unique failures" or "N generated, N passed".
                let words: Vec<&str> = trimmed.split([' ', ',']).collect();
                for (i, w) in words.iter().enumerate() {
                    let number = i.checked_sub(1).and_then(|p| words[p].parse::<u64>().ok());
                    match (*w, number) {
                        ("generated", Some(n)) => s.generated = n,
                        ("unique", Some(n)) => s.unique_failures = n,
                        _ => {}
                    }
                }
            }
            "Failures:" => {
                if let Some(kind) = trimmed.strip_prefix('❌') {
                    s.details.push(kind.trim().to_owned());
                }
            }
            "Errors:" => {
                if let Some(error) = trimmed.strip_prefix('🚫') {
                    s.errors += error
                        .rsplit(' ')
                        .next()
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(1);
                    s.details.push(format!("error: {}", error.trim()));
                }
            }
            "Warnings:" => {
                if let Some(warning) = trimmed.strip_prefix("⚠️") {
                    s.details.push(format!("warning: {}", warning.trim()));
                }
            }
            _ => {}
        }
    }
    s
}
