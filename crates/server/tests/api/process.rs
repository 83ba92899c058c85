//! The real binary: configuration errors at start-up, JSON logs, graceful shutdown.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

pub(crate) fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pi-server"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn production_without_jwt_secret_refuses_to_start() {
    let output = binary()
        .env("ENVIRONMENT", "production")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("JWT_SECRET_KEY"), "{stderr}");
}

#[tokio::test]
async fn an_invalid_value_names_its_variable() {
    let output = binary()
        .env("ACCESS_TOKEN_EXPIRE_MINUTES", "an hour")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ACCESS_TOKEN_EXPIRE_MINUTES"), "{stderr}");
}

/// Starts the binary on a temp SQLite file with JSON logs, makes a request with a known request
/// id, checks the log line carries it, then sends SIGTERM and expects a clean exit.
#[tokio::test]
async fn json_logs_carry_the_request_id_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = binary()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("pi.db").display()),
        )
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", "json")
        .env("JWT_SECRET_KEY", "a-secret-that-must-never-be-logged-123")
        .env("BCRYPT_COST", "4")
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();

    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/health");
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(r) = client
            .get(&url)
            .header("x-request-id", "trace-me-123")
            .send()
            .await
        {
            ok = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "server did not come up");

    let mut seen = false;
    let mut all = Vec::new();
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .unwrap_or(Ok(None))
    {
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        all.push(line.clone());
        if value["span"]["request_id"] == "trace-me-123" && value["message"] == "request finished" {
            seen = true;
            break;
        }
    }
    assert!(seen, "no JSON log line with the request id: {all:#?}");
    assert!(
        all.iter()
            .all(|l| !l.contains("a-secret-that-must-never-be-logged"))
    );

    let pid = child.id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(40), child.wait())
        .await
        .expect("server stops after SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    // Issue 31 (7): the last word is that it exits, not "closing database pool".
    let mut last = None;
    while let Ok(Some(line)) = lines.next_line().await {
        last = Some(line);
    }
    let last: serde_json::Value = serde_json::from_str(&last.unwrap()).unwrap();
    assert_eq!(last["message"], "database pool closed; exiting");
}

#[tokio::test]
async fn tool_command_prints_json_without_a_server() {
    let output = binary()
        .env("PLACES_SCALE", "small")
        .args([
            "tool",
            "search_places",
            r#"{"geo":{"type":"point_radius","lat":30.27,"lon":-97.74,"radius_km":10},"categories":["coffee"],"limit":5}"#,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let places = value["places"].as_array().unwrap();
    assert!(!places.is_empty());
    for p in places {
        assert_eq!(p["category"], "coffee");
        assert!(p["distance_km"].as_f64().unwrap() <= 10.0);
        assert_eq!(p["state"], "TX");
    }

    let output = binary()
        .env("PLACES_SCALE", "small")
        .args(["tool", "list"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["tools"].as_array().unwrap().len(), 9);

    let output = binary()
        .env("PLACES_SCALE", "small")
        .args([
            "tool",
            "get_place_summary",
            r#"{"place_ids":["place:1"],"start_date":"2025-02-01","end_date":"2025-01-01"}"#,
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        value["error"]
            .as_str()
            .unwrap()
            .contains("before start_date")
    );
}

/// SIGTERM with `SHUTDOWN_DELAY_SECS`: `/health/ready` fails at once (a `shutdown` check) so a
/// load balancer stops routing here, while requests are still served until the delay is over;
/// then the process drains and exits 0.
#[tokio::test]
async fn sigterm_first_fails_readiness_then_stops_after_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/pi.db?mode=rwc", dir.path().display());
    let port = free_port();
    let mut server = start_server_with(&url, port, &[("SHUTDOWN_DELAY_SECS", "2")]).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["shutdown"]["status"], "ok");

    let signalled = std::time::Instant::now();
    let pid = server.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Readiness fails as soon as the signal is handled: waited for, not slept on.
    let mut ready = None;
    for _ in 0..100 {
        let answer = client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        if answer.status() == 503 {
            ready = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready = ready.expect("readiness fails within 2 s of SIGTERM");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["shutdown"]["status"], "error", "{body}");
    // Still serving during the delay.
    let signup = client
        .post(format!("{base}/auth/signup"))
        .json(&serde_json::json!({"email": "late@example.com", "password": "password123", "display_name": "Late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 201);

    let status = tokio::time::timeout(Duration::from_secs(20), server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(signalled.elapsed() >= Duration::from_secs(2));
}

/// `pi-server health` (the container health check): 0 while the server on `BIND_ADDR` answers
/// 200 (`0.0.0.0` is asked on loopback), 1 naming the URL when nothing answers.
#[tokio::test]
async fn health_command_probes_the_local_server() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/pi.db?mode=rwc", dir.path().display());
    let port = free_port();
    let mut server = start_server(&url, port).await;
    let probe = |bind: String, ready: bool| {
        let mut cmd = binary();
        cmd.env("BIND_ADDR", bind).arg("health");
        if ready {
            cmd.arg("--ready");
        }
        cmd.output()
    };
    for ready in [false, true] {
        let output = probe(format!("0.0.0.0:{port}"), ready).await.unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(body["status"], if ready { "ready" } else { "ok" });
        if ready {
            // The load balancers' checks by default (issue 31: a Letta outage must fail both
            // or neither), every check with `--checks all`.
            let checks: Vec<&String> = body["checks"].as_object().unwrap().keys().collect();
            assert_eq!(checks, ["database", "shutdown"]);
        }
    }
    let all = binary()
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .args(["health", "--ready", "--checks", "all"])
        .output()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    assert!(body["checks"].get("agent_backend").is_some(), "{body}");
    server.kill().await.unwrap();
    server.wait().await.unwrap();

    let output = probe(format!("127.0.0.1:{port}"), false).await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("GET http://127.0.0.1:{port}/health")),
        "{stderr}"
    );
}

/// Starts the binary on `database_url` and waits for `/health`.
pub(crate) async fn start_server(database_url: &str, port: u16) -> tokio::process::Child {
    start_server_with(database_url, port, &[]).await
}

/// [`start_server`] with more environment variables.
pub(crate) async fn start_server_with(
    database_url: &str,
    port: u16,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    let child = binary()
        .envs(env.iter().copied())
        .env("DATABASE_URL", database_url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("ENVIRONMENT", "test")
        .env("JWT_SECRET_KEY", "kill-test-secret-kill-test-secret-0123")
        .env("BCRYPT_COST", "4")
        .env("PLACES_SCALE", "small")
        .env("DATABASE_POOL_SIZE", "6")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            && r.status() == 200
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not come up on {port}");
}

pi_store::engine_tests!(pi_store::testing::on_engine => [sigkill_under_load_loses_no_acknowledged_turn]);

/// Issue 11: SIGKILL while 32 senders are mid-turn. After a restart on the same database every
/// acknowledged turn (201) is there exactly once with its reply; no message is stored twice.
async fn sigkill_under_load_loses_no_acknowledged_turn(engine: pi_store::Engine) {
    use serde_json::{Value, json};
    let Some(test_db) = pi_store::testing::TestDatabase::new(engine).await else {
        return;
    };
    let port = free_port();
    let mut server = start_server(test_db.url(), port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let signup: Value = client
        .post(format!("{base}/auth/signup"))
        .json(&json!({"email": "load@example.com", "password": "password123", "display_name": "Load"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let mut conversations = Vec::new();
    for _ in 0..32 {
        let c: Value = client
            .post(format!("{base}/chat/conversations"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        conversations.push(c["id"].as_str().unwrap().to_owned());
    }
    // Each sender posts numbered messages until the server dies; it keeps what was acknowledged.
    let acks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let senders: Vec<_> = conversations
        .iter()
        .enumerate()
        .map(|(s, conv)| {
            let (client, token, url, acks) = (
                client.clone(),
                token.clone(),
                format!("{base}/chat/conversations/{conv}/messages"),
                acks.clone(),
            );
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for m in 0.. {
                    let content = format!("sender {s} message {m}: coffee shops in Austin");
                    let Ok(response) = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "content": content }))
                        .send()
                        .await
                    else {
                        break;
                    };
                    if response.status() != 201 {
                        break;
                    }
                    let Ok(exchange) = response.json::<Value>().await else {
                        break;
                    };
                    acknowledged.push(exchange);
                    acks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                acknowledged
            })
        })
        .collect();
    // Kill once turns are flowing (the first ones wait for the data set to build).
    for _ in 0..600 {
        if acks.load(std::sync::atomic::Ordering::SeqCst) >= 64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.start_kill().unwrap(); // SIGKILL, mid-turn for most senders
    server.wait().await.unwrap();
    let mut acknowledged = Vec::new();
    for s in senders {
        acknowledged.extend(s.await.unwrap());
    }
    assert!(!acknowledged.is_empty(), "no turn finished before the kill");

    let port = free_port();
    let mut restarted = start_server(test_db.url(), port).await;
    let base = format!("http://127.0.0.1:{port}");
    let mut stored: Vec<Value> = Vec::new();
    for conv in &conversations {
        let page: Value = client
            .get(format!("{base}/chat/conversations/{conv}/messages"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stored.extend(page["messages"].as_array().unwrap().iter().cloned());
    }
    let ids: std::collections::HashMap<&str, &Value> = stored
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m))
        .collect();
    for exchange in &acknowledged {
        for side in ["user_message", "assistant_message"] {
            let id = exchange[side]["id"].as_str().unwrap();
            let found = ids
                .get(id)
                .unwrap_or_else(|| panic!("acknowledged {side} {id} lost"));
            assert_eq!(found["content"], exchange[side]["content"]);
        }
    }
    let mut user_texts: Vec<&str> = stored
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    let total = user_texts.len();
    user_texts.sort_unstable();
    user_texts.dedup();
    assert_eq!(user_texts.len(), total, "a user message was stored twice");
    assert!(total >= acknowledged.len());
    restarted.start_kill().unwrap();
    restarted.wait().await.unwrap();
    test_db.destroy().await;
}

/// SIGTERM while a reply is streaming: the server takes no new connections, but the open stream
/// runs to `done` within `SHUTDOWN_TIMEOUT_SECS`, the reply is stored, and the process exits 0.
#[tokio::test]
async fn sigterm_lets_an_open_stream_finish() {
    let llm = pi_testkit::openai::FakeLlm::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("pi.db").display());
    let mut server = start_server_with(
        &database_url,
        port,
        &[
            ("LLM_BASE_URL", llm.base_url()),
            ("LLM_MODEL", pi_testkit::openai::SLOW_MODEL_ID),
            ("SHUTDOWN_TIMEOUT_SECS", "20"),
        ],
    )
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let signup: serde_json::Value = client
        .post(format!("{base}/auth/signup"))
        .json(&serde_json::json!({"email": "drain@example.com", "password": "a-long-password-1", "display_name": "Dee"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let conv: serde_json::Value = client
        .post(format!("{base}/chat/conversations"))
        .bearer_auth(&token)
        .header("content-length", "0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conv = conv["id"].as_str().unwrap().to_owned();
    let mut response = client
        .post(format!("{base}/chat/conversations/{conv}/messages/stream"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"content": "Which coffee chains are busiest in Austin?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = String::new();
    while !body.contains("event: assistant_delta") {
        let chunk = response.chunk().await.unwrap().expect("stream open");
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let pid = server.id().unwrap();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    // The listener closes as soon as the signal is handled: waited for, not slept on.
    let mut refused = false;
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "a new connection is accepted 2 s into draining");
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(body.contains("event: done"), "the stream was cut: {body}");
    let exit = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("server stops after the stream")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    llm.stop().await;
}

/// Issue 31 (1): `deploy/.env.example` as shipped does not start a production server, and the
/// refusal says why: the value is the example's placeholder (not "too short").
#[tokio::test]
async fn the_shipped_env_example_is_refused_as_a_placeholder() {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/.env.example"
    ))
    .unwrap();
    let mut cmd = binary();
    for line in example.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            cmd.env(key, value);
        }
    }
    let output = cmd.arg("migrate").output().await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JWT_SECRET_KEY") && stderr.contains("example placeholder"),
        "{stderr}"
    );
    assert!(!stderr.contains("32 bytes of random data"), "{stderr}");
}

/// Issue 31 (3): `seed` under `LOG_FORMAT=json` with stdout not a terminal writes only JSON
/// events, and the generated password goes to a 0600 file, never to stdout.
#[tokio::test]
async fn seed_under_json_logs_writes_json_and_keeps_the_password_out_of_stdout() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("seed-password");
    let output = binary()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/pi.db?mode=rwc", dir.path().display()),
        )
        .env("LOG_FORMAT", "json")
        .env("BCRYPT_COST", "4")
        .env("PLACES_SCALE", "small")
        .args(["seed", "--password-file"])
        .arg(&password_file)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let password = std::fs::read_to_string(&password_file).unwrap();
    let password = password.trim();
    assert_eq!(password.len(), 16);
    let mode = std::fs::metadata(&password_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!stdout.contains(password), "the password reached stdout");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 10, "{stdout}");
    for line in lines {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(event["message"].is_string(), "{line}");
    }
    assert!(stdout.contains("written to"), "says where the password is");
}

/// Issue 31 (7): an unreachable PostgreSQL fails start-up in seconds (it took ~10.6 s, the
/// pool's acquire timeout) and names its cause once (it was repeated three times).
#[tokio::test]
async fn an_unreachable_postgres_fails_fast_naming_the_cause_once() {
    let port = free_port(); // nothing listens there
    let started = std::time::Instant::now();
    let output = binary()
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/pi"),
        )
        .arg("migrate")
        .output()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("pi-server: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(line.matches("refused").count(), 1, "{line}");
    assert!(line.contains("DATABASE_URL=postgres://"), "{line}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// Issue 33: pretty logs written to a pipe or a file carry no ANSI colour codes.
#[tokio::test]
async fn pretty_logs_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/pi.db?mode=rwc", dir.path().display()),
        )
        .env("LOG_FORMAT", "pretty")
        .arg("migrate")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("migrations applied"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "colour codes in {stdout:?}");
}
