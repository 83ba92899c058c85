//! What our server adds on top of a real Letta server for one chat turn.
//!
//! Needs the live stack (`cargo xtask letta-up`; settings from `LETTA_IT_ENV`, default
//! `/var/tmp/pi-letta/run/letta.env`); prints SKIP without it. One user's agent answers "Hello Pi"
//! (one LLM call, no tool). Turns alternate between Letta directly (`POST /v1/agents/{id}/messages`
//! with the same body our adapter sends: the message and the nine client-tool schemas) and our
//! `POST /chat/conversations/{id}/messages` (auth, SQL, adapter, reply mapping). Reports p50/p99
//! of both and the p50 of the paired differences.
//!
//! Run with `cargo xtask bench letta`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pi_server::config::{AgentRuntime, Secret};
use pi_server::{Application, Environment, Settings};
use pi_store::Engine;
use pi_store::testing::TestDatabase;
use pi_testkit::live::LettaEnv;
use serde_json::{Value, json};

const MESSAGE: &str = "Hello Pi";

struct Target {
    base: String,
    token: String,
    conversation: String,
    agent: String,
    client_tools: Value,
    client: reqwest::Client,
    live: LettaEnv,
    db: TestDatabase,
}

async fn start(live: LettaEnv) -> Target {
    let db = TestDatabase::new(Engine::Sqlite).await.unwrap();
    let settings = Settings {
        database_url: Secret::new(db.url()),
        bind_addr: "127.0.0.1:0".into(),
        environment: Environment::Test,
        jwt_secret_key: Some(Secret::new("bench-secret-bench-secret-bench-secret")),
        bcrypt_cost: 4,
        rust_log: "warn".into(),
        agent_backend: AgentRuntime::Letta,
        letta_base_url: live.base_url.clone(),
        letta_server_password: Some(Secret::new(&live.password)),
        letta_model: live.model.clone(),
        letta_embedding: live.embedding.clone(),
        ..Settings::default()
    };
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let token = support::signup(&client, &base, "bench@example.com").await;
    let conversation = support::conversation(&client, &base, &token).await;
    let get = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
    };
    let tools: Value = get("/tools").await.unwrap().json().await.unwrap();
    let mut target = Target {
        base: base.clone(),
        token: token.clone(),
        conversation,
        agent: String::new(),
        client_tools: tools["tools"].clone(),
        client: client.clone(),
        live,
        db,
    };
    // The first message creates the agent; measure steady state.
    via_pi(&target).await;
    let me: Value = get("/auth/me").await.unwrap().json().await.unwrap();
    target.agent = me["agent_id"].as_str().unwrap().to_owned();
    target
}

async fn via_pi(t: &Target) {
    let response = t
        .client
        .post(format!(
            "{}/chat/conversations/{}/messages",
            t.base, t.conversation
        ))
        .bearer_auth(&t.token)
        .json(&json!({"content": MESSAGE}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

async fn direct(t: &Target) {
    let response = t
        .client
        .post(format!("{}/v1/agents/{}/messages", t.live.base_url, t.agent))
        .bearer_auth(&t.live.password)
        .header("X-Stainless-Package-Version", "1.0.0")
        .json(&json!({"messages": [{"role": "user", "content": MESSAGE}], "client_tools": t.client_tools}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["stop_reason"]["stop_reason"], "end_turn");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(samples: &[f64], q: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() as f64 - 1.0) * q).round() as usize]
}

fn bench(c: &mut Criterion) {
    let full_run = std::env::args().any(|a| a == "--bench");
    // As a test target (`cargo test --all-targets`) it runs only beside the live suite.
    if !full_run && std::env::var("LETTA_IT").ok().as_deref() != Some("1") {
        return;
    }
    let live = match LettaEnv::load() {
        Ok(live) => live,
        Err(e) => {
            eprintln!("SKIP letta bench: no live Letta ({e})");
            return;
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let target = rt.block_on(start(live));
    let n = if full_run { 100 } else { 2 };
    let (mut letta, mut pi, mut added) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for _ in 0..n {
            let started = Instant::now();
            direct(&target).await;
            let d = ms(started.elapsed());
            let started = Instant::now();
            via_pi(&target).await;
            let p = ms(started.elapsed());
            letta.push(d);
            pi.push(p);
            added.push(p - d);
        }
    });
    println!(
        "Letta directly: p50 {:.1} ms, p99 {:.1} ms (n={n})",
        percentile(&letta, 0.5),
        percentile(&letta, 0.99)
    );
    println!(
        "through Pi:     p50 {:.1} ms, p99 {:.1} ms (n={n})",
        percentile(&pi, 0.5),
        percentile(&pi, 0.99)
    );
    println!(
        "added by Pi (paired): p50 {:.2} ms, p90 {:.2} ms",
        percentile(&added, 0.5),
        percentile(&added, 0.9)
    );
    if full_run {
        c.bench_function("letta/chat_turn_through_pi", |b| {
            b.to_async(&rt).iter(|| via_pi(&target));
        });
        c.bench_function("letta/chat_turn_direct", |b| {
            b.to_async(&rt).iter(|| direct(&target));
        });
    }
    rt.block_on(target.db.destroy());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(10));
    targets = bench
}
criterion_main!(benches);
