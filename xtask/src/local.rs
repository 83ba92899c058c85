//! Throwaway local resources for tasks that run the release server: a temp directory, a fresh
//! PostgreSQL database, the server process with a clean environment, and plain HTTP/1.1 calls.

use crate::{run_quiet, tail};
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where PostgreSQL databases are created when `TEST_DATABASE_URL` is unset.
pub(crate) const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A temp directory, removed on drop.
#[derive(Debug)]
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("pi-xtask-{}", random_hex(12)));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh PostgreSQL database on `TEST_DATABASE_URL`, dropped on drop.
#[derive(Debug)]
pub(crate) struct PgDatabase {
    admin_url: String,
    name: String,
    pub(crate) url: String,
}

impl PgDatabase {
    pub(crate) fn create() -> Result<Self, String> {
        let admin_url =
            std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
        let name = format!("pi_xtask_{}", random_hex(12));
        psql(&admin_url, &format!("CREATE DATABASE {name}")).map_err(|e| {
            format!(
                "cannot create a database on PostgreSQL at {} (TEST_DATABASE_URL): {e}",
                redact(&admin_url)
            )
        })?;
        let url = with_database(&admin_url, &name);
        Ok(Self {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.admin_url, &sql) {
            eprintln!("xtask: cannot drop database {}: {e}", self.name);
        }
    }
}

pub(crate) fn psql(url: &str, sql: &str) -> Result<String, String> {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]);
    run_quiet(cmd, &format!("psql -c {sql:?}")).map_err(|e| e.replace(url, &redact(url)))
}

/// `url` with its database (path) replaced by `name`; the query string is kept.
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = url.split_once('?').map_or((url, ""), |(h, q)| (h, q));
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority_start..].find('/') {
        Some(slash) => &head[..authority_start + slash],
        None => head,
    };
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[start..];
    let Some(at) = rest.find('@') else {
        return url.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}:***{}", &url[..start], &rest[..colon], &rest[at..]),
        None => url.to_owned(),
    }
}

/// The server's whole configuration: nothing of the caller's environment or `pi.toml` applies.
#[derive(Debug, Clone)]
pub(crate) struct ServerEnv {
    pub(crate) database_url: String,
    pub(crate) port: u16,
    pub(crate) jwt_secret: String,
    pub(crate) dir: PathBuf,
    /// `PLACES_SCALE`.
    pub(crate) scale: &'static str,
}

impl ServerEnv {
    pub(crate) fn command(&self, bin: &Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env_clear();
        for keep in ["PATH", "HOME", "TMPDIR"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        cmd.current_dir(&self.dir)
            .env("DATABASE_URL", &self.database_url)
            .env("BIND_ADDR", format!("127.0.0.1:{}", self.port))
            .env("ENVIRONMENT", "test")
            .env("JWT_SECRET_KEY", &self.jwt_secret)
            .env("BCRYPT_COST", "4")
            .env("PLACES_SCALE", self.scale)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        cmd
    }
}

/// The running server, stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub(crate) struct Server(pub(crate) Child);

impl Server {
    pub(crate) fn start(bin: &Path, env: &ServerEnv, log: &Path) -> Result<Self, String> {
        let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = env
            .command(bin)
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut server = Self(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = http(env.port, "GET", "/health", None, None) {
                return Ok(server);
            }
            let exited = matches!(server.0.try_wait(), Ok(Some(_)));
            if exited || Instant::now() > deadline {
                return Err(format!(
                    "pi-server did not answer GET /health with 200:\n{}",
                    tail(log, 30)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Signs an account up and returns its access token.
pub(crate) fn signup(port: u16, email: &str, password: &str, name: &str) -> Result<String, String> {
    let body = format!(r#"{{"email":"{email}","password":"{password}","display_name":"{name}"}}"#);
    let (status, reply) = http(port, "POST", "/auth/signup", None, Some(&body))?;
    if status != 201 {
        return Err(format!("POST /auth/signup answered {status}: {reply}"));
    }
    json_string(&reply, "access_token")
        .ok_or_else(|| format!("no access_token in the signup reply: {reply}"))
}

/// Logs in and returns a fresh access token.
pub(crate) fn login(port: u16, email: &str, password: &str) -> Result<String, String> {
    let body = format!(r#"{{"email":"{email}","password":"{password}"}}"#);
    let (status, reply) = http(port, "POST", "/auth/login", None, Some(&body))?;
    if status != 200 {
        return Err(format!("POST /auth/login answered {status}: {reply}"));
    }
    json_string(&reply, "access_token")
        .ok_or_else(|| format!("no access_token in the login reply: {reply}"))
}

/// The first string value of `key` in a JSON text (enough for tokens, which hold no escapes).
pub(crate) fn json_string(json: &str, key: &str) -> Option<String> {
    let after = &json[json.find(&format!("\"{key}\""))? + key.len() + 2..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let value = after.strip_prefix('"')?;
    Some(value[..value.find('"')?].to_owned())
}

/// `(status, body)` of one HTTP/1.1 request on loopback.
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("{method} {path}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(b) = bearer {
        let _ = write!(req, "Authorization: Bearer {b}\r\n");
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    let _ = write!(req, "Content-Length: {}\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes())
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{method} {path}: not an HTTP reply: {raw:?}"))?;
    let body = raw.split_once("\r\n\r\n").map_or("", |b| b.1).to_owned();
    Ok((status, body))
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// `n` random hex digits (names and secrets of throwaway test resources, not cryptography).
pub(crate) fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(n + 16);
    while out.len() < n {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let _ = write!(out, "{:016x}", h.finish());
    }
    out.truncate(n);
    out
}

/// Builds the release `pi-server` (`--locked`) and returns its path.
pub(crate) fn build_server() -> Result<PathBuf, String> {
    let mut bins = build_release(&["pi-server"], &[])?;
    Ok(bins.remove(0))
}

/// Builds these binaries of the workspace in release mode (`--locked`), returning their paths
/// in the same order.
pub(crate) fn build_release(bins: &[&str], extra: &[&str]) -> Result<Vec<PathBuf>, String> {
    let mut build = crate::cargo();
    build.args(["build", "--release", "--locked"]);
    build.args(extra);
    for bin in bins {
        build.args(["--bin", bin]);
    }
    crate::run(build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")),
        PathBuf::from,
    );
    bins.iter()
        .map(|bin| {
            let path = target.join("release").join(bin);
            if path.exists() {
                Ok(path)
            } else {
                Err(format!("{} was not built", path.display()))
            }
        })
        .collect()
}
