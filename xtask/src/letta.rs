//! `cargo xtask letta-up | letta-down | letta-it`: a real Letta 0.16.8 server on this machine,
//! provisioned from the package registries only (see docs/LETTA.md).
//!
//! Everything lives under `PI_LETTA_HOME` (default `/var/tmp/pi-letta`) so repeat runs reuse it:
//! `src/` (uv.lock + alembic from the sdist), `constraints.txt`, `tools/` (a venv holding `uv`),
//! `venv/` (Letta + `pgserver`), `cache/` (uv's download cache), `pg-template-<version>/` (a
//! migrated cluster, copied instead of running initdb + alembic again). `run/` is rebuilt on every
//! `letta-up`: a fresh PostgreSQL 16 + pgvector cluster (from `pgserver`, run as user `postgres`
//! when we are root), the fake OpenAI-compatible LLM (`pi-fake-llm` from `pi-testkit`) and
//! `letta server --secure`. `run/letta.env` tells the live tests where Letta is.

use crate::{run_quiet, tail};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The last self-hostable Letta server release.
const VERSION: &str = "0.16.8";
/// Pinned helper versions (not in Letta's uv.lock).
const UV: &str = "uv==0.13.9";
const PGSERVER: &str = "pgserver==0.1.4";
/// Loopback ports of the test stack.
pub const LETTA_PORT: u16 = 18283;
const PG_PORT: u16 = 18284;
const LLM_PORT: u16 = 18300;
/// Handles Letta gives our fake models (custom `OPENAI_BASE_URL` → `openai-proxy/…`).
const MODEL: &str = "openai-proxy/pi-fake";
const EMBEDDING: &str = "openai/text-embedding-3-small";

/// Why `letta-up` did not bring a server up.
#[derive(Debug)]
pub enum UpError {
    /// This machine cannot run Letta at all (no Python 3.11+, registry unreachable).
    Impossible(String),
    /// Provisioning or start-up broke.
    Failed(String),
}

impl From<String> for UpError {
    fn from(e: String) -> Self {
        Self::Failed(e)
    }
}

struct Layout {
    home: PathBuf,
}

impl Layout {
    fn new() -> Self {
        Self {
            home: std::env::var_os("PI_LETTA_HOME")
                .map_or_else(|| PathBuf::from("/var/tmp/pi-letta"), PathBuf::from),
        }
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }
    fn pg_bin(&self, tool: &str) -> PathBuf {
        self.p("venv/lib/python3.11/site-packages/pgserver/pginstall/bin")
            .join(tool)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A PostgreSQL tool, as user `postgres` when we are root (PostgreSQL refuses root).
fn pg_command(layout: &Layout, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(layout.pg_bin(tool));
        c
    } else {
        Command::new(layout.pg_bin(tool))
    }
}

fn step<T>(name: &str, f: impl FnOnce() -> Result<T, UpError>) -> Result<T, UpError> {
    let started = Instant::now();
    eprintln!("letta-up: {name} …");
    let r = f();
    if r.is_ok() {
        eprintln!(
            "letta-up: {name}: done in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    r
}

/// `(status, body)` of a plain HTTP GET on loopback.
fn http_get(port: u16, path: &str, bearer: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Stainless-Package-Version: 1.0.0\r\nConnection: close\r\n"
    );
    if let Some(b) = bearer {
        let _ = write!(req, "Authorization: Bearer {b}\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map_or("", |b| b.1).to_owned();
    Some((status, body))
}

fn python() -> Result<String, UpError> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys; print(sys.executable); print(sys.version_info >= (3, 11) and sys.version_info < (3, 14))",
        ])
        .output()
        .map_err(|e| UpError::Impossible(format!("python3 is not installed ({e})")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let exe = lines.next().unwrap_or_default().to_owned();
    if lines.next() != Some("True") {
        return Err(UpError::Impossible(
            "Letta 0.16.8 needs Python 3.11–3.13 as python3".into(),
        ));
    }
    Ok(exe)
}

/// The cached part: sdist files, constraints, `uv`, the venv.
fn provision(layout: &Layout, python: &str) -> Result<(), UpError> {
    std::fs::create_dir_all(&layout.home)
        .map_err(|e| format!("cannot create {}: {e}", layout.home.display()))?;
    if !layout.p("src/uv.lock").exists() || !layout.p("constraints.txt").exists() {
        step("fetch the Letta sdist (uv.lock, alembic) from PyPI", || {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/letta/prepare.py");
            let mut cmd = Command::new(python);
            cmd.arg(script).arg(VERSION).arg(&layout.home);
            run_quiet(cmd, "fetching the sdist").map_err(|e| {
                if e.contains("urlopen error") || e.contains("URLError") {
                    UpError::Impossible(format!("the PyPI registry is unreachable: {e}"))
                } else {
                    UpError::Failed(e)
                }
            })?;
            Ok(())
        })?;
    }
    let uv = layout.p("tools/bin/uv");
    if !uv.exists() {
        step(&format!("install {UV} into a tools venv"), || {
            let mut venv = Command::new(python);
            venv.args(["-m", "venv"]).arg(layout.p("tools"));
            run_quiet(venv, "python3 -m venv")?;
            let mut pip = Command::new(layout.p("tools/bin/pip"));
            pip.args(["install", "--quiet", UV]);
            run_quiet(pip, "pip install uv")?;
            Ok(())
        })?;
    }
    let marker = layout.p("venv/.pi-letta-ready");
    let wanted = format!("letta {VERSION} {PGSERVER}\n");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        step(
            &format!(
                "install letta[server,postgres]=={VERSION} + {PGSERVER} (uv, constrained by uv.lock)"
            ),
            || {
                let _ = std::fs::remove_dir_all(layout.p("venv"));
                let mut venv = Command::new(&uv);
                venv.args(["venv", "--quiet", "--python", python])
                    .arg(layout.p("venv"))
                    .env("UV_CACHE_DIR", layout.p("cache/uv"));
                run_quiet(venv, "uv venv")?;
                let mut install = Command::new(&uv);
                install
                    .args(["pip", "install", "--quiet", "-c"])
                    .arg(layout.p("constraints.txt"))
                    .arg(format!("letta[server,postgres]=={VERSION}"))
                    .arg(PGSERVER)
                    .env("VIRTUAL_ENV", layout.p("venv"))
                    .env("UV_CACHE_DIR", layout.p("cache/uv"));
                run_quiet(install, "uv pip install")?;
                std::fs::write(&marker, &wanted)
                    .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
                Ok(())
            },
        )?;
    } else {
        eprintln!("letta-up: venv cached at {}", layout.p("venv").display());
    }
    Ok(())
}

fn spawn_detached(mut cmd: Command, log: &Path, pid_file: &Path) -> Result<u32, String> {
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    std::fs::write(pid_file, child.id().to_string()).map_err(|e| e.to_string())?;
    Ok(child.id())
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    let mut cp = Command::new("cp");
    cp.arg("-a").arg(from).arg(to);
    run_quiet(cp, "copying a PostgreSQL cluster").map(|_| ())
}

fn own_by_postgres(dir: &Path, root: bool) -> Result<(), String> {
    if root {
        let mut chown = Command::new("chown");
        chown.args(["-R", "postgres:"]).arg(dir);
        run_quiet(chown, "chown to postgres")?;
    }
    Ok(())
}

fn pg_start(layout: &Layout, run: &Path) -> Result<(), String> {
    let mut ctl = pg_command(layout, "pg_ctl");
    ctl.arg("-D")
        .arg(run.join("pg"))
        .arg("-l")
        .arg(run.join("pg.log"));
    ctl.arg("-o").arg(format!(
        "-p {PG_PORT} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
        run.display()
    ));
    ctl.args(["-w", "start"]);
    run_quiet(ctl, "pg_ctl start").map(|_| ())
}

fn pg_stop(layout: &Layout, pgdata: &Path) -> Result<(), String> {
    let mut ctl = pg_command(layout, "pg_ctl");
    ctl.arg("-D").arg(pgdata).args(["-m", "fast", "-w", "stop"]);
    run_quiet(ctl, "pg_ctl stop").map(|_| ())
}

fn fake_llm_binary() -> Result<PathBuf, String> {
    let mut build = super::cargo();
    build.args([
        "build",
        "--quiet",
        // `--workspace` keeps the feature set of `cargo xtask test`: no rebuild.
        "--workspace",
        "--bin",
        "pi-fake-llm",
    ]);
    super::run(build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")),
        PathBuf::from,
    );
    Ok(target.join("debug/pi-fake-llm"))
}

/// Provisions (cached) and starts PostgreSQL, the fake LLM and Letta.
pub fn up() -> Result<(), UpError> {
    let started = Instant::now();
    let layout = Layout::new();
    let python = python()?;
    provision(&layout, &python)?;
    down();
    let run = layout.p("run");
    let _ = std::fs::remove_dir_all(&run);
    std::fs::create_dir_all(&run).map_err(|e| format!("{}: {e}", run.display()))?;
    let root = is_root();
    let pgdata = run.join("pg");
    // Alembic goes through pg8000, which takes no ssl parameter; the server through asyncpg.
    let alembic_uri = format!("postgresql://letta:letta@127.0.0.1:{PG_PORT}/letta");
    let pg_uri = format!("{alembic_uri}?ssl=disable");
    // A migrated cluster is kept as a template: later runs copy it instead of initdb + alembic.
    let template = layout.p(&format!("pg-template-{VERSION}"));
    if template.join("PG_VERSION").exists() {
        step(
            "PostgreSQL 16 + pgvector: a copy of the migrated template",
            || {
                copy_dir(&template, &pgdata)?;
                own_by_postgres(&run, root)?;
                pg_start(&layout, &run)?;
                Ok(())
            },
        )?;
    } else {
        step(
            "PostgreSQL 16 + pgvector (pgserver) on a fresh cluster",
            || {
                std::fs::create_dir_all(&pgdata).map_err(|e| e.to_string())?;
                own_by_postgres(&run, root)?;
                let mut initdb = pg_command(&layout, "initdb");
                initdb.arg("-D").arg(&pgdata).args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]);
                run_quiet(initdb, "initdb")?;
                pg_start(&layout, &run)?;
                let psql = |db: &str, sql: &str| {
                    let mut c = pg_command(&layout, "psql");
                    c.args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &PG_PORT.to_string(),
                        "-U",
                        "postgres",
                    ])
                    .args([
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-q",
                        "-d",
                        db,
                        "-c",
                        sql,
                    ]);
                    run_quiet(c, &format!("psql {sql}"))
                };
                psql(
                    "postgres",
                    "CREATE ROLE letta LOGIN PASSWORD 'letta' SUPERUSER",
                )?;
                psql("postgres", "CREATE DATABASE letta OWNER letta")?;
                psql("letta", "CREATE EXTENSION IF NOT EXISTS vector")?;
                Ok(())
            },
        )?;
        step("alembic upgrade head (Letta's schema)", || {
            let mut alembic = Command::new(layout.p("venv/bin/alembic"));
            alembic
                .args(["upgrade", "head"])
                .current_dir(layout.p("src"))
                .env("LETTA_PG_URI", &alembic_uri)
                .env("HOME", &run)
                .env("LETTA_DIR", run.join("letta"));
            run_quiet(alembic, "alembic upgrade head")?;
            Ok(())
        })?;
        step("keep the migrated cluster as a template", || {
            pg_stop(&layout, &pgdata)?;
            let partial = layout.p("pg-template.partial");
            let _ = std::fs::remove_dir_all(&partial);
            copy_dir(&pgdata, &partial)?;
            std::fs::rename(&partial, &template).map_err(|e| e.to_string())?;
            pg_start(&layout, &run)?;
            Ok(())
        })?;
    }
    step(
        &format!("fake OpenAI-compatible LLM (pi-fake-llm) on :{LLM_PORT}"),
        || {
            let bin = fake_llm_binary()?;
            let mut cmd = Command::new(bin);
            cmd.arg(LLM_PORT.to_string());
            spawn_detached(cmd, &run.join("llm.log"), &run.join("llm.pid"))?;
            let deadline = Instant::now() + Duration::from_secs(20);
            while http_get(LLM_PORT, "/v1/models", None).is_none() {
                if Instant::now() > deadline {
                    return Err(UpError::Failed(format!(
                        "the fake LLM did not start:\n{}",
                        tail(&run.join("llm.log"), 20)
                    )));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(())
        },
    )?;
    let password = format!(
        "pi-it-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let version = step(&format!("letta server {VERSION} on :{LETTA_PORT}"), || {
        let mut cmd = Command::new(layout.p("venv/bin/letta"));
        cmd.args(["server", "--host", "127.0.0.1", "--port"])
            .arg(LETTA_PORT.to_string())
            .arg("--secure")
            // It writes openapi_letta.json into its working directory.
            .current_dir(&run)
            .env("LETTA_PG_URI", &pg_uri)
            .env("LETTA_DISABLE_SQLALCHEMY_POOLING", "false")
            .env("OPENAI_API_KEY", "sk-fake")
            .env("OPENAI_BASE_URL", format!("http://127.0.0.1:{LLM_PORT}/v1"))
            .env("LETTA_SERVER_PASSWORD", &password)
            .env("HOME", &run)
            .env("LETTA_DIR", run.join("letta"))
            .env("NO_PROXY", "127.0.0.1,localhost");
        let pid = spawn_detached(cmd, &run.join("letta.log"), &run.join("letta.pid"))?;
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Some((200, body)) = http_get(LETTA_PORT, "/v1/health/", Some(&password)) {
                return Ok(body);
            }
            if !alive(pid) || Instant::now() > deadline {
                return Err(UpError::Failed(format!(
                    "Letta did not become healthy:\n{}",
                    tail(&run.join("letta.log"), 40)
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    })?;
    let env = format!(
        "LETTA_BASE_URL=http://127.0.0.1:{LETTA_PORT}\nLETTA_SERVER_PASSWORD={password}\nLETTA_MODEL={MODEL}\nLETTA_EMBEDDING={EMBEDDING}\n"
    );
    std::fs::write(run.join("letta.env"), env).map_err(|e| e.to_string())?;
    eprintln!(
        "letta-up: Letta is up in {:.1}s: {} — settings in {}",
        started.elapsed().as_secs_f64(),
        version.trim(),
        run.join("letta.env").display()
    );
    Ok(())
}

fn kill_group(pid_file: &Path) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return;
    };
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if alive(pid) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
    }
    let _ = std::fs::remove_file(pid_file);
}

/// Stops whatever `up` started (idempotent).
pub fn down() {
    let layout = Layout::new();
    let run = layout.p("run");
    kill_group(&run.join("letta.pid"));
    kill_group(&run.join("llm.pid"));
    if run.join("pg/postmaster.pid").exists()
        && let Err(e) = pg_stop(&layout, &run.join("pg"))
    {
        eprintln!("letta-down: {e}");
    }
    let _ = std::fs::remove_file(run.join("letta.env"));
}

/// Path of the settings file the live tests read.
pub fn env_file() -> PathBuf {
    Layout::new().p("run/letta.env")
}
