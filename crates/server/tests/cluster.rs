//! `cargo xtask cluster`: three release replicas on one PostgreSQL behind HAProxy (Debian's
//! package, configured from `deploy/haproxy/haproxy.cfg`), all on loopback. It measures
//! throughput and latency with 1, 2 and 3 replicas, then restarts every replica in turn under
//! load (SIGTERM, restart, ready: no request may fail) and SIGKILLs one under load (only requests
//! in flight on it may fail). Every acknowledged turn must be stored exactly once, with a reply.
//!
//! Ignored by `cargo test`: xtask runs it with the release binary in `PI_SERVER_BIN`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pi_store::Engine;
use pi_store::testing::TestDatabase;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

const JWT: &str = "cluster-secret-cluster-secret-cluster-0123";
/// Concurrent clients of every load run.
const CLIENTS: usize = 16;
/// Length of each throughput run.
const RUN: Duration = Duration::from_secs(15);

fn binary() -> String {
    std::env::var("PI_SERVER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_pi-server").to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Replica {
    port: u16,
    child: Child,
}

async fn start_replica(url: &str, port: u16) -> Replica {
    let child = Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("ENVIRONMENT", "production")
        .env("JWT_SECRET_KEY", JWT)
        .env("BCRYPT_COST", "10")
        .env("TRUSTED_PROXIES", "127.0.0.1")
        .env("SHUTDOWN_TIMEOUT_SECS", "30")
        // HAProxy marks a replica down after 2 failed checks 2 s apart (later when the 2 cores
        // are saturated): readiness fails for 8 s before the listener closes.
        .env("SHUTDOWN_DELAY_SECS", "8")
        .env("RUST_LOG", "warn")
        .env("LOG_FORMAT", "json")
        .stdout(log_file(port))
        .stderr(log_file(port))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_ready(port).await;
    Replica { port, child }
}

/// Where a replica's logs go: `PI_CLUSTER_LOGS` (default `/tmp/pi-cluster-logs`), one file per
/// port, appended across restarts.
fn log_file(port: u16) -> std::fs::File {
    let dir = std::env::var("PI_CLUSTER_LOGS").unwrap_or_else(|_| "/tmp/pi-cluster-logs".into());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{dir}/replica-{port}.log"))
        .unwrap()
}

async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/health/ready"))
            .send()
            .await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica on {port} did not get ready");
}

fn signal(child: &Child, signal: &str) {
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The repository's HAProxy configuration with loopback servers instead of Docker's DNS.
fn haproxy_config(servers: &[u16]) -> String {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/haproxy/haproxy.cfg"
    ))
    .unwrap();
    let (mut out, mut skipping) = (String::new(), false);
    for line in template.lines() {
        if line.starts_with("resolvers ") {
            skipping = true;
            continue;
        }
        if skipping {
            skipping = !line.trim().is_empty();
            continue;
        }
        if line.trim_start().starts_with("server-template") {
            for (i, port) in servers.iter().enumerate() {
                out.push_str(&format!("    server api{} 127.0.0.1:{port}\n", i + 1));
            }
            continue;
        }
        out.push_str(&line.replace(" init-addr none resolvers docker", ""));
        out.push('\n');
    }
    out
}

struct Balancer {
    child: Child,
    _dir: tempfile::TempDir,
}

async fn start_haproxy(port: u16, servers: &[u16]) -> Balancer {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, haproxy_config(servers)).unwrap();
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&cfg)
        .env("PI_LB_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("haproxy (apt-get install haproxy)");
    // Every server answers through the balancer before the run starts.
    let client = reqwest::Client::new();
    let mut ok = 0;
    for _ in 0..400 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/health/ready"))
            .send()
            .await
            && r.status() == 200
        {
            ok += 1;
            if ok >= servers.len() * 2 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ok >= servers.len() * 2, "HAProxy on {port} does not answer");
    Balancer { child, _dir: dir }
}

/// A signed-up user with a conversation.
#[derive(Clone)]
struct User {
    email: String,
    token: String,
    conversation: String,
}

/// One request's outcome.
#[derive(Clone)]
struct Sample {
    kind: &'static str,
    started: Instant,
    latency: Duration,
    ok: bool,
    detail: String,
    /// The text of an acknowledged turn.
    acked: Option<String>,
}

async fn setup_users(base: &str, n: usize) -> Vec<User> {
    let client = reqwest::Client::new();
    let mut users = Vec::new();
    for i in 0..n {
        let email = format!("load{i}@example.com");
        let signup: Value = client
            .post(format!("{base}/auth/signup"))
            .json(&json!({"email": email, "password": "password123", "display_name": "Load"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = signup["access_token"].as_str().unwrap().to_owned();
        let conv: Value = client
            .post(format!("{base}/chat/conversations"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        users.push(User {
            email,
            token,
            conversation: conv["id"].as_str().unwrap().to_owned(),
        });
    }
    users
}

/// One request of the mix: per 20, 10 chat turns, 6 reads, 3 streamed turns, 1 login.
async fn one_request(
    client: &reqwest::Client,
    base: &str,
    user: &User,
    n: u64,
    tag: &str,
) -> Sample {
    let started = Instant::now();
    let conv = &user.conversation;
    let (kind, result): (&'static str, Result<Option<String>, String>) = match n % 20 {
        0..=9 => {
            let text = format!("How busy are coffee shops in Austin? [{tag}-{n}]");
            let r = client
                .post(format!("{base}/chat/conversations/{conv}/messages"))
                .bearer_auth(&user.token)
                .json(&json!({ "content": text }))
                .send()
                .await;
            (
                "turn",
                match r {
                    Ok(r) if r.status() == 201 => Ok(Some(text)),
                    Ok(r) => Err(format!("{}", r.status())),
                    Err(e) => Err(format!("{e:?}")),
                },
            )
        }
        10..=15 => {
            let r = client
                .get(format!("{base}/chat/conversations/{conv}/messages"))
                .bearer_auth(&user.token)
                .send()
                .await;
            let r = match r {
                Ok(r) if r.status() == 200 => {
                    r.bytes().await.map(|_| None).map_err(|e| e.to_string())
                }
                Ok(r) => Err(format!("{}", r.status())),
                Err(e) => Err(format!("{e:?}")),
            };
            ("read", r)
        }
        16..=18 => {
            let text = format!("Compare foot traffic of coffee shops in Austin [{tag}-{n}]");
            let r = client
                .post(format!("{base}/chat/conversations/{conv}/messages/stream"))
                .bearer_auth(&user.token)
                .json(&json!({ "content": text }))
                .send()
                .await;
            let r = match r {
                Ok(r) if r.status() == 200 => match r.text().await {
                    Ok(body) if body.contains("event: done") => Ok(Some(text)),
                    Ok(body) => Err(format!(
                        "stream without done: {}",
                        body.chars().rev().take(200).collect::<String>()
                    )),
                    Err(e) => Err(format!("{e:?}")),
                },
                Ok(r) => Err(format!("{}", r.status())),
                Err(e) => Err(format!("{e:?}")),
            };
            ("stream", r)
        }
        _ => {
            let r = client
                .post(format!("{base}/auth/login"))
                .json(&json!({"email": user.email, "password": "password123"}))
                .send()
                .await;
            let r = match r {
                Ok(r) if r.status() == 200 => Ok(None),
                Ok(r) => Err(format!("{}", r.status())),
                Err(e) => Err(format!("{e:?}")),
            };
            ("login", r)
        }
    };
    let (ok, detail, acked) = match result {
        Ok(acked) => (true, String::new(), acked),
        Err(e) => (false, e, None),
    };
    Sample {
        kind,
        started,
        latency: started.elapsed(),
        ok,
        detail,
        acked,
    }
}

/// `CLIENTS` clients send requests back to back until `stop` is set.
async fn load(
    base: String,
    users: Vec<User>,
    tag: &'static str,
    stop: Arc<AtomicBool>,
) -> Vec<Sample> {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for w in 0..CLIENTS {
        let (base, user, stop, samples) = (
            base.clone(),
            users[w % users.len()].clone(),
            stop.clone(),
            samples.clone(),
        );
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap();
            let mut n = w as u64 * 7;
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                mine.push(one_request(&client, &base, &user, n, &format!("{tag}-{w}")).await);
                n += 1;
            }
            samples.lock().await.extend(mine);
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    Arc::try_unwrap(samples).ok().unwrap().into_inner()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn report(label: &str, samples: &[Sample], took: Duration) {
    let mut line = format!(
        "{label}: {} requests in {:.1} s = {:.0}/s, {} failed",
        samples.len(),
        took.as_secs_f64(),
        samples.len() as f64 / took.as_secs_f64(),
        samples.iter().filter(|s| !s.ok).count()
    );
    for kind in ["turn", "read", "stream", "login"] {
        let mut l: Vec<Duration> = samples
            .iter()
            .filter(|s| s.kind == kind && s.ok)
            .map(|s| s.latency)
            .collect();
        l.sort();
        line.push_str(&format!(
            "; {kind} n={} p50 {:.1} ms p99 {:.1} ms",
            l.len(),
            percentile(&l, 0.5),
            percentile(&l, 0.99)
        ));
    }
    println!("{line}");
}

/// Every acknowledged turn's user message is stored once, followed by an assistant reply.
async fn check_stored(url: &str, samples: &[Sample]) -> (usize, usize) {
    let db = pi_store::connect(url).await.unwrap();
    let rows = db
        .connection()
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT content, role, conversation_id, created_at FROM messages ORDER BY created_at, id",
        ))
        .await
        .unwrap();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut answered = HashSet::new();
    let mut last_user: std::collections::HashMap<String, String> = Default::default();
    for row in rows {
        let content: String = row.try_get("", "content").unwrap();
        let role: String = row.try_get("", "role").unwrap();
        let conv: String = row
            .try_get::<uuid::Uuid>("", "conversation_id")
            .map(|u| u.to_string())
            .unwrap_or_else(|_| row.try_get("", "conversation_id").unwrap());
        if role == "user" {
            *seen.entry(content.clone()).or_default() += 1;
            last_user.insert(conv, content);
        } else if role == "agent"
            && let Some(question) = last_user.remove(&conv)
        {
            answered.insert(question);
        }
    }
    db.close().await.unwrap();
    let acked: Vec<&String> = samples.iter().filter_map(|s| s.acked.as_ref()).collect();
    for text in &acked {
        assert_eq!(
            seen.get(*text),
            Some(&1),
            "acknowledged turn stored once: {text}"
        );
        assert!(
            answered.contains(*text),
            "acknowledged turn has its reply: {text}"
        );
    }
    let stored = acked.len();
    (acked.len(), stored)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a long load run: cargo xtask cluster"]
async fn cluster() {
    let test_db = TestDatabase::new(Engine::Postgres)
        .await
        .expect("PostgreSQL");
    let url = test_db.url().to_owned();
    let migrated = Command::new(binary())
        .env("DATABASE_URL", &url)
        .env("ENVIRONMENT", "test")
        .env("RUST_LOG", "error")
        .arg("migrate")
        .status()
        .await
        .unwrap();
    assert!(migrated.success());
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut replicas = Vec::new();
    for port in &ports {
        replicas.push(start_replica(&url, *port).await);
    }
    let lb_port = free_port();
    let base = format!("http://127.0.0.1:{lb_port}");
    println!(
        "cluster: 3 release replicas (PostgreSQL, embedded runtime with the offline model, BCRYPT_COST 10) behind HAProxy on {base}; {CLIENTS} clients; mix per 20 requests: 10 chat turns, 6 history reads, 3 streamed turns, 1 login"
    );

    // Throughput with 1, 2 and 3 replicas.
    let mut all = Vec::new();
    let mut users = Vec::new();
    for n in 1..=3 {
        let mut lb = start_haproxy(lb_port, &ports[..n]).await;
        if users.is_empty() {
            users = setup_users(&base, CLIENTS).await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let run = tokio::spawn(load(
            base.clone(),
            users.clone(),
            ["one", "two", "three"][n - 1],
            stop.clone(),
        ));
        tokio::time::sleep(RUN).await;
        stop.store(true, Ordering::Relaxed);
        let samples = run.await.unwrap();
        report(&format!("{n} replica(s)"), &samples, started.elapsed());
        for s in samples.iter().filter(|s| !s.ok).take(5) {
            println!("  failed {}: {}", s.kind, s.detail);
        }
        all.extend(samples);
        lb.child.kill().await.unwrap();
        lb.child.wait().await.unwrap();
    }

    // Rolling restart under load.
    let mut lb = start_haproxy(lb_port, &ports).await;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let run = tokio::spawn(load(base.clone(), users.clone(), "rolling", stop.clone()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    for replica in &mut replicas {
        signal(&replica.child, "-TERM");
        let status = replica.child.wait().await.unwrap();
        assert!(status.success(), "a replica left the drain with {status}");
        *replica = start_replica(&url, replica.port).await;
        // HAProxy sees it up again after `rise` checks.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let samples = run.await.unwrap();
    report(
        "rolling restart of all 3 (SIGTERM, restart, ready)",
        &samples,
        started.elapsed(),
    );
    for s in samples.iter().filter(|s| !s.ok).take(10) {
        println!("  failed {}: {}", s.kind, s.detail);
    }
    let rolling_failed = samples.iter().filter(|s| !s.ok).count();
    all.extend(samples.clone());
    let (acked, _) = check_stored(&url, &samples).await;
    println!(
        "  rolling restart: {} requests sent, {rolling_failed} failed, {acked} acknowledged turns all stored once with a reply",
        samples.len()
    );

    // SIGKILL one replica under load.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let run = tokio::spawn(load(base.clone(), users.clone(), "kill", stop.clone()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let killed_at = Instant::now();
    signal(&replicas[1].child, "-KILL");
    replicas[1].child.wait().await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.store(true, Ordering::Relaxed);
    let samples = run.await.unwrap();
    report("SIGKILL of 1 of 3", &samples, started.elapsed());
    let failed: Vec<&Sample> = samples.iter().filter(|s| !s.ok).collect();
    for s in failed.iter().take(10) {
        println!(
            "  failed {} (started {:.0} ms before the kill): {}",
            s.kind,
            killed_at.saturating_duration_since(s.started).as_secs_f64() * 1e3,
            s.detail
        );
    }
    // A request sent within 100 ms of the kill may already be on its way to the dying
    // process (HAProxy connected before the kernel tore the listener down): in flight.
    let after_kill = failed
        .iter()
        .filter(|s| s.started > killed_at + Duration::from_millis(100))
        .count();
    let (acked, _) = check_stored(&url, &samples).await;
    println!(
        "  SIGKILL: {} requests sent, {} failed ({} of them sent more than 100 ms after the kill), {acked} acknowledged turns all stored once with a reply",
        samples.len(),
        failed.len(),
        after_kill
    );

    lb.child.kill().await.unwrap();
    for replica in &mut replicas {
        let _ = replica.child.kill().await;
    }
    test_db.destroy().await;
    assert_eq!(
        rolling_failed, 0,
        "no request may fail during a rolling restart"
    );
    assert_eq!(
        after_kill, 0,
        "only requests in flight on the killed replica may fail"
    );
}
