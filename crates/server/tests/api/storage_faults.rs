//! Issue 30's fault suite: the real binary under 8 senders that retry with their
//! `Idempotency-Key`, through storage faults: PostgreSQL restarted, PostgreSQL backends killed
//! mid-transaction (on a cluster of the suite's own, never the one other tests use), and SQLite
//! on a disk that fills up and is freed. Each run counts acknowledged, lost and duplicated
//! turns, the statuses seen and the time to recover, prints them as a table row, and fails on
//! any loss, duplicate, 500 or a recovery slower than 10 s.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::process::{free_port, start_server_with};

/// Concurrent senders.
const SENDERS: usize = 8;
/// Longest a turn may keep being retried.
const TURN_DEADLINE: Duration = Duration::from_secs(40);
/// Longest the service may take to serve again after a fault ends.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Tally {
    acknowledged: Vec<(usize, String)>,
    statuses: BTreeMap<String, usize>,
    successes: Vec<Instant>,
    gave_up: usize,
}

/// What one run saw.
#[derive(Debug)]
struct Report {
    acknowledged: usize,
    lost: usize,
    duplicated: usize,
    /// Conversations whose messages are not strictly user, reply, user, reply, …
    unanswered: usize,
    statuses: BTreeMap<String, usize>,
    recovery: Duration,
    gave_up: usize,
}

impl Report {
    fn row(&self, fault: &str) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        format!(
            "| {fault} | {} | {} | {} | {} | {:.2} s | {} |",
            self.acknowledged,
            self.lost,
            self.duplicated,
            self.gave_up,
            self.recovery.as_secs_f64(),
            statuses.join(", ")
        )
    }

    fn assert_clean(&self, fault: &str) {
        eprintln!(
            "| fault | acknowledged | lost | duplicated | gave up | recovery | statuses |\n|---|---:|---:|---:|---:|---:|---|\n{}",
            self.row(fault)
        );
        assert!(self.acknowledged > 0, "{fault}: nothing acknowledged");
        assert_eq!(self.lost, 0, "{fault}: acknowledged turns lost");
        assert_eq!(self.duplicated, 0, "{fault}: user messages stored twice");
        assert_eq!(
            self.unanswered, 0,
            "{fault}: a conversation is not user/reply pairs"
        );
        assert_eq!(self.gave_up, 0, "{fault}: turns never acknowledged");
        assert!(
            !self.statuses.keys().any(|s| s.starts_with("500")),
            "{fault}: a storage fault answered 500: {:?}",
            self.statuses
        );
        assert!(
            self.recovery <= RECOVERY_BOUND,
            "{fault}: recovery took {:?}",
            self.recovery
        );
    }
}

/// One sender: turns until `stop`, each retried with its key until acknowledged.
async fn sender(
    client: reqwest::Client,
    base: String,
    token: String,
    conv: String,
    id: usize,
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
) {
    let mut turn = 0;
    while !stop.load(Ordering::Relaxed) {
        let content = format!("sender {id} turn {turn}: how busy is Austin?");
        let key = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        loop {
            if started.elapsed() > TURN_DEADLINE {
                tally.lock().unwrap().gave_up += 1;
                break;
            }
            let sent = client
                .post(format!("{base}/chat/conversations/{conv}/messages"))
                .bearer_auth(&token)
                .header("Idempotency-Key", &key)
                .json(&json!({ "content": content }))
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            let (label, wait, done) = match sent {
                Err(e) => (
                    format!(
                        "transport error ({})",
                        if e.is_timeout() { "timeout" } else { "connect" }
                    ),
                    Duration::from_millis(250),
                    false,
                ),
                Ok(r) if r.status() == 201 => ("201".to_owned(), Duration::ZERO, true),
                Ok(r) => {
                    let status = r.status().as_u16();
                    let wait = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map_or(Duration::from_millis(250), |s| {
                            Duration::from_millis(s.min(2) * 500)
                        });
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    let code = body["code"].as_str().unwrap_or("?").to_owned();
                    // What a client retries with its key; anything else ends the turn and is
                    // counted as given up (a wrong 4xx is a failure too).
                    let retry = status >= 500 || status == 409;
                    if !retry {
                        tally.lock().unwrap().gave_up += 1;
                    }
                    (format!("{status} {code}"), wait, !retry)
                }
            };
            {
                let mut t = tally.lock().unwrap();
                *t.statuses.entry(label.clone()).or_default() += 1;
                if label == "201" {
                    t.acknowledged.push((id, content.clone()));
                    t.successes.push(Instant::now());
                }
            }
            if done {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        turn += 1;
    }
}

/// Runs the senders against `base`; `fault` runs meanwhile and returns when the fault is over.
async fn under_load<F>(base: &str, fault: F) -> Report
where
    F: std::future::Future<Output = Instant>,
{
    let client = reqwest::Client::new();
    let mut users = Vec::new();
    for id in 0..SENDERS {
        let signup: Value = client
            .post(format!("{base}/auth/signup"))
            .json(&json!({
                "email": format!("sender{id}-{}@example.com", uuid::Uuid::new_v4().simple()),
                "password": "correct horse battery",
                "display_name": "Sender"
            }))
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
        users.push((token, conv["id"].as_str().unwrap().to_owned()));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(id, (token, conv))| {
            tokio::spawn(sender(
                client.clone(),
                base.to_owned(),
                token.clone(),
                conv.clone(),
                id,
                Arc::clone(&stop),
                Arc::clone(&tally),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fault_over = fault.await;
    // Load goes on a while after the fault, then every sender finishes its turn.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let recovery = tally
        .successes
        .iter()
        .filter(|t| **t >= fault_over)
        .min()
        .map_or(Duration::MAX, |t| t.duration_since(fault_over));

    // What is stored: every acknowledged turn's user message exactly once.
    let (mut lost, mut duplicated, mut unanswered) = (0, 0, 0);
    for (id, (token, conv)) in users.iter().enumerate() {
        let page: Value = client
            .get(format!("{base}/chat/conversations/{conv}/messages"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let messages = page["messages"].as_array().unwrap();
        // Every turn was acknowledged in the end, so each stored user message has exactly one
        // reply, right after it.
        let roles: Vec<&str> = messages
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        if !roles.chunks(2).all(|pair| pair == ["user", "agent"]) {
            unanswered += 1;
        }
        for m in messages {
            if m["role"] == "user" {
                *counts
                    .entry(m["content"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        duplicated += counts.values().filter(|n| **n > 1).count();
        lost += tally
            .acknowledged
            .iter()
            .filter(|(who, content)| *who == id && !counts.contains_key(content))
            .count();
    }
    Report {
        acknowledged: tally.acknowledged.len(),
        lost,
        duplicated,
        unanswered,
        statuses: tally.statuses,
        recovery,
        gave_up: tally.gave_up,
    }
}

// ---- PostgreSQL: a cluster of the suite's own -------------------------------------------------

/// A PostgreSQL cluster only this suite uses (`pg_createcluster`, trust auth, its own port),
/// created on first use and stopped at the end.
struct OwnCluster {
    version: String,
    port: u16,
}

const CLUSTER: &str = "pifaults";

fn run(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl OwnCluster {
    /// Starts the suite's cluster (creating it when missing), or `None` after a loud SKIP when
    /// this machine cannot (no PostgreSQL server packages, not root) and `REQUIRE_FAULTS` is
    /// not `1`.
    fn start() -> Option<Self> {
        let version = std::fs::read_dir("/etc/postgresql")
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned());
        let Some(version) = version else {
            return Self::skip("no PostgreSQL server installed");
        };
        let port = 5499;
        let conf = format!("/etc/postgresql/{version}/{CLUSTER}");
        if !std::path::Path::new(&conf).exists()
            && !run(Command::new("pg_createcluster").args([
                &version,
                CLUSTER,
                "-p",
                &port.to_string(),
                "--",
                "--auth-local=trust",
                "--auth-host=trust",
            ]))
        {
            return Self::skip("pg_createcluster failed (not root?)");
        }
        // Already running is fine.
        let _ = run(Command::new("pg_ctlcluster").args([
            "--skip-systemctl-redirect",
            &version,
            CLUSTER,
            "start",
        ]));
        let cluster = Self { version, port };
        if !cluster.wait_ready(Duration::from_secs(20)) {
            return Self::skip("the suite's PostgreSQL cluster did not start");
        }
        Some(cluster)
    }

    fn skip(why: &str) -> Option<Self> {
        assert!(
            std::env::var("REQUIRE_FAULTS").as_deref() != Ok("1"),
            "REQUIRE_FAULTS=1 but {why}"
        );
        eprintln!("SKIP: {why}; the PostgreSQL fault suite did not run");
        None
    }

    fn wait_ready(&self, within: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < within {
            if run(Command::new("pg_isready").args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
            ])) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn psql(&self, sql: &str) -> bool {
        run(Command::new("psql").args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ]))
    }

    fn restart(&self) -> bool {
        run(Command::new("pg_ctlcluster").args([
            "--skip-systemctl-redirect",
            &self.version,
            CLUSTER,
            "restart",
        ]))
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = run(Command::new("pg_ctlcluster").args([
            "--skip-systemctl-redirect",
            &self.version,
            CLUSTER,
            "stop",
        ]));
    }
}

/// Both PostgreSQL faults in one test: they share the cluster, which restarts under the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_or_backends_killed_under_load_lose_and_duplicate_nothing() {
    let Some(cluster) = OwnCluster::start() else {
        return;
    };
    let name = format!("pi_faults_{}", uuid::Uuid::new_v4().simple());
    assert!(cluster.psql(&format!("CREATE DATABASE {name}")));
    let url = format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port);
    let port = free_port();
    let mut server = start_server_with(&url, port, &[]).await;
    let base = format!("http://127.0.0.1:{port}");

    let restart = under_load(&base, async {
        let cluster = &cluster;
        tokio::task::block_in_place(|| assert!(cluster.restart(), "pg_ctlcluster restart"));
        Instant::now()
    })
    .await;
    restart.assert_clean("PostgreSQL restarted");

    let killed = under_load(&base, async {
        for _ in 0..8 {
            tokio::task::block_in_place(|| {
                cluster.psql(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
            });
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Instant::now()
    })
    .await;
    killed.assert_clean("PostgreSQL backends killed ×8");

    server.kill().await.unwrap();
    let _ = cluster.psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

/// SQLite on a 16 MiB tmpfs filled to the last byte under load, then freed: 503
/// `storage_unavailable` meanwhile, readiness 503 then 200 by itself, no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_recovers_by_itself_and_loses_nothing() {
    let Some(disk) = pi_store::testing::SmallDisk::mount(16) else {
        return;
    };
    let url = format!("sqlite://{}/pi.db?mode=rwc", disk.path().display());
    let port = free_port();
    let mut server = start_server_with(&url, port, &[]).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = |client: reqwest::Client, base: String| async move {
        client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    let report = under_load(&base, async {
        disk.fill();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            ready(client.clone(), base.clone()).await,
            503,
            "readiness while the disk is full"
        );
        disk.free();
        let freed = Instant::now();
        while ready(client.clone(), base.clone()).await != 200 {
            assert!(
                freed.elapsed() < RECOVERY_BOUND,
                "readiness did not come back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        freed
    })
    .await;
    report.assert_clean("SQLite disk full for 1.5 s");
    assert!(
        report
            .statuses
            .keys()
            .any(|s| s == "503 storage_unavailable"),
        "the full disk was never seen: {:?}",
        report.statuses
    );
    server.kill().await.unwrap();
}
