//! `POST /chat/conversations/{id}/messages` latency with a zero-latency fake agent, on SQLite and
//! PostgreSQL: the cost of our server alone (HTTP, auth, SQL) per chat turn. Then the embedded
//! runtime on SQLite: one offline-model turn ("Which coffee chains are busiest in Austin?") and
//! one turn against a local scripted OpenAI-compatible LLM that calls two tools.
//!
//! Run with `cargo xtask bench chat`. Prints p50/p99 from 2,000 sequential requests per backend
//! and criterion's estimate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pi_server::config::Secret;
use pi_server::{AgentPorts, Application, Environment, Settings};
use pi_store::Engine;
use pi_store::testing::TestDatabase;
use pi_testkit::FakeAgentBackend;
use serde_json::json;

struct Target {
    base: String,
    token: String,
    conversation: String,
    client: reqwest::Client,
    _db: TestDatabase,
}

/// How the benchmarked server gets its agent.
enum Agent {
    Fake,
    Embedded(Option<String>),
}

async fn start(engine: Engine) -> Option<Target> {
    start_with(engine, Agent::Fake).await
}

async fn start_with(engine: Engine, agent: Agent) -> Option<Target> {
    let db = TestDatabase::new(engine).await?;
    let mut settings = Settings {
        database_url: Secret::new(db.url()),
        bind_addr: "127.0.0.1:0".into(),
        environment: Environment::Test,
        jwt_secret_key: Some(Secret::new("bench-secret-bench-secret-bench-secret")),
        bcrypt_cost: 4,
        rust_log: "warn".into(),
        ..Settings::default()
    };
    let app = match agent {
        Agent::Fake => {
            let fake = Arc::new(FakeAgentBackend::new());
            Application::build_with(settings, AgentPorts::from_adapter(fake, None))
                .await
                .unwrap()
        }
        Agent::Embedded(llm) => {
            settings.llm_base_url = llm;
            Application::build(settings).await.unwrap()
        }
    };
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let token = support::signup(&client, &base, "bench@example.com").await;
    let conversation = support::conversation(&client, &base, &token).await;
    let target = Target {
        base,
        token,
        conversation,
        client,
        _db: db,
    };
    // The first message creates the agent; measure steady state.
    send(&target).await;
    Some(target)
}

async fn send(t: &Target) {
    let response = t
        .client
        .post(format!(
            "{}/chat/conversations/{}/messages",
            t.base, t.conversation
        ))
        .bearer_auth(&t.token)
        .json(&json!({"content": "Which coffee chains are busiest in Austin?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

fn report(label: &str, samples: &mut [Duration]) {
    let (p50, p99) = percentiles(samples);
    println!(
        "{label}: p50 {:.3} ms, p99 {:.3} ms (n={})",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples.len()
    );
}

/// Embedded runtime turns: offline model, and a scripted LLM calling two tools per turn.
fn runtime_turns(rt: &tokio::runtime::Runtime, n: usize) {
    let Some(offline) = rt.block_on(start_with(Engine::Sqlite, Agent::Embedded(None))) else {
        return;
    };
    let mut samples: Vec<Duration> = rt.block_on(async {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            send(&offline).await;
            out.push(started.elapsed());
        }
        out
    });
    report(
        "embedded runtime, offline model turn (search_places, SQLite)",
        &mut samples,
    );

    let llm = rt.block_on(pi_testkit::ScriptedLlm::start());
    let Some(scripted) = rt.block_on(start_with(
        Engine::Sqlite,
        Agent::Embedded(Some(llm.base_url())),
    )) else {
        return;
    };
    let two_tools = || {
        pi_testkit::LlmStep::ToolCalls(vec![
            (
                "search_places".to_owned(),
                json!({"geo": {"type": "metro", "name": "austin"}, "categories": ["coffee"], "limit": 5}),
            ),
            (
                "get_place_summary".to_owned(),
                json!({"place_ids": ["place:58"], "granularity": "month"}),
            ),
        ])
    };
    let mut samples: Vec<Duration> = rt.block_on(async {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            llm.push([
                two_tools(),
                pi_testkit::LlmStep::Text("Here is what I found.".into()),
            ]);
            let started = Instant::now();
            send(&scripted).await;
            out.push(started.elapsed());
        }
        out
    });
    report(
        "embedded runtime, local scripted LLM turn with two tool calls (SQLite)",
        &mut samples,
    );
}

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.50), at(0.99))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let full_run = std::env::args().any(|a| a == "--bench");
    runtime_turns(&rt, if full_run { 300 } else { 2 });
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(target) = rt.block_on(start(engine)) else {
            eprintln!("SKIP {}: database unavailable", engine.as_str());
            continue;
        };
        if full_run {
            let mut samples: Vec<Duration> = rt.block_on(async {
                let mut out = Vec::with_capacity(2000);
                for _ in 0..2000 {
                    let started = Instant::now();
                    send(&target).await;
                    out.push(started.elapsed());
                }
                out
            });
            let (p50, p99) = percentiles(&mut samples);
            println!(
                "chat turn, zero-latency agent, {}: p50 {:.3} ms, p99 {:.3} ms (n={})",
                engine.as_str(),
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                samples.len()
            );
        }
        c.bench_function(&format!("post_message/{}", engine.as_str()), |b| {
            b.to_async(&rt).iter(|| send(&target));
        });
        rt.block_on(target._db.destroy());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(200).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
