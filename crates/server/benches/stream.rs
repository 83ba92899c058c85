//! Streamed replies: time to the first `assistant_delta` against time to `done`, with a local
//! OpenAI-compatible LLM that streams 200 tokens 20 ms apart (`pi_testkit::openai`, model
//! `pi-fake-tokens`), through `POST /chat/conversations/{id}/messages/stream`.
//!
//! - Embedded runtime (SQLite): the fake runs in this process, so its own clock marks when each
//!   request arrived and when its first and last token left. Reported per turn: the first
//!   delta's lag behind the model's first token, and the server's own time per turn (request to
//!   `done`, minus the time the LLM spent from receiving the request to its last token), beside
//!   the same exchange with a fake agent that writes the same 200 pieces 20 ms apart (its own
//!   writing time subtracted likewise): the difference is the runtime's own share.
//! - Letta (needs `cargo xtask letta-up`; SKIP otherwise): the same model behind the live Letta
//!   (handle `openai-proxy/pi-fake-tokens`); first delta and `done` as the client sees them.
//!
//! Run with `cargo xtask bench stream`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pi_server::config::{AgentRuntime, Secret};
use pi_server::{AgentPorts, Application, Environment, Settings};
use pi_store::Engine;
use pi_store::testing::TestDatabase;
use pi_testkit::live::LettaEnv;
use pi_testkit::openai::{FakeLlm, TOKENS, TOKENS_MODEL_ID};
use serde_json::json;

struct Target {
    base: String,
    token: String,
    conversation: String,
    client: reqwest::Client,
    db: TestDatabase,
}

async fn start(configure: impl FnOnce(&mut Settings)) -> Target {
    start_with(configure, None).await
}

async fn start_with(configure: impl FnOnce(&mut Settings), agents: Option<AgentPorts>) -> Target {
    let db = TestDatabase::new(Engine::Sqlite).await.unwrap();
    let mut settings = Settings {
        database_url: Secret::new(db.url()),
        bind_addr: "127.0.0.1:0".into(),
        environment: Environment::Test,
        jwt_secret_key: Some(Secret::new("bench-secret-bench-secret-bench-secret")),
        bcrypt_cost: 4,
        rust_log: "warn".into(),
        // No tool runs here: the small data set builds in a moment and then leaves the two
        // cores to the turns measured (the default one would be built during them).
        places_scale: pi_server::config::PlacesScale::Small,
        ..Settings::default()
    };
    configure(&mut settings);
    let app = match agents {
        Some(agents) => Application::build_with(settings, agents).await.unwrap(),
        None => Application::build(settings).await.unwrap(),
    };
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let token = support::signup(&client, &base, "bench@example.com").await;
    let conversation = support::conversation(&client, &base, &token).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    Target {
        base,
        token,
        conversation,
        client,
        db,
    }
}

/// One streamed turn: (sent, first delta, done) instants and the number of deltas.
async fn turn(t: &Target) -> (Instant, Instant, Instant, usize) {
    let sent = Instant::now();
    let mut response = t
        .client
        .post(format!(
            "{}/chat/conversations/{}/messages/stream",
            t.base, t.conversation
        ))
        .bearer_auth(&t.token)
        .json(&json!({"content": "Say something long"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (mut first, mut deltas, mut body) = (None, 0, String::new());
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = body.find("\n\n") {
            let event: String = body.drain(..end + 2).collect();
            if event.starts_with("event: assistant_delta") {
                deltas += 1;
                first.get_or_insert_with(Instant::now);
            } else if event.starts_with("event: done") {
                return (sent, first.unwrap(), Instant::now(), deltas);
            } else if event.starts_with("event: error") {
                panic!("{event}");
            }
        }
    }
    panic!("the stream ended without done");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn embedded(rt: &tokio::runtime::Runtime, turns: usize) {
    let llm = rt.block_on(async { FakeLlm::start().unwrap() });
    let target = rt.block_on(start(|s| {
        s.llm_base_url = Some(llm.base_url().to_owned());
        s.llm_model = TOKENS_MODEL_ID.into();
    }));
    rt.block_on(turn(&target)); // creates the agent
    let (mut lag, mut first, mut done, mut own) = (vec![], vec![], vec![], vec![]);
    let (mut before_llm, mut after_llm) = (vec![], vec![]);
    for _ in 0..turns {
        let before = llm.timings().len();
        let (sent, first_delta, finished, deltas) = rt.block_on(turn(&target));
        assert!(deltas >= TOKENS / 2, "{deltas} deltas");
        let timing = llm.timings()[before];
        lag.push(ms(first_delta - timing.first_piece));
        first.push(ms(first_delta - sent));
        done.push(ms(finished - sent));
        own.push(ms((finished - sent) - (timing.last_piece - timing.received)));
        before_llm.push(ms(timing.received - sent));
        after_llm.push(ms(finished - timing.last_piece));
    }
    // The same exchange with a fake agent that writes the same text in the same pieces at the
    // same pace: what the server costs without the runtime (HTTP, auth, the chat service's SQL,
    // the SSE writer), measured under the same conditions (a mostly idle machine between pieces
    // runs the same code slower than a busy one).
    let fake = std::sync::Arc::new(pi_testkit::FakeAgentBackend::new());
    let text = (1..=TOKENS)
        .map(|i| format!("token{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    fake.set_reply(move |_, _| pi_domain::agent::AgentReply {
        steps: vec![pi_domain::agent::AgentStep::Assistant { text: text.clone() }],
        usage: pi_domain::agent::Usage::default(),
    });
    fake.set_pacing(TOKENS, pi_testkit::openai::SLOW_PIECE);
    let bare = rt.block_on(start_with(
        |_| {},
        Some(AgentPorts::from_adapter(fake.clone(), None)),
    ));
    rt.block_on(turn(&bare));
    let mut without = vec![];
    for _ in 0..turns {
        let before = fake.paced_spans().len();
        let (sent, _, finished, deltas) = rt.block_on(turn(&bare));
        assert!(deltas >= TOKENS / 2, "{deltas} deltas");
        let (start, last) = fake.paced_spans()[before];
        without.push(ms((finished - sent) - (last - start)));
    }
    println!(
        "embedded runtime, {TOKENS} tokens x 20 ms (SQLite, n={turns}): first delta p50 {:.1} ms after sending \
         ({:.2} ms after the model's first token), done p50 {:.1} ms; server's own time per turn p50 {:.2} ms, \
         of which the same exchange with a fake agent paced like the model takes p50 {:.2} ms: the runtime's own share ≈ {:.2} ms",
        median(first),
        median(lag),
        median(done),
        median(own.clone()),
        median(without.clone()),
        median(own) - median(without)
    );
    println!(
        "  of the server's own time: request to the LLM's receipt p50 {:.2} ms, last token to done p50 {:.2} ms",
        median(before_llm),
        median(after_llm)
    );
    rt.block_on(target.db.destroy());
    rt.block_on(bare.db.destroy());
}

fn letta(rt: &tokio::runtime::Runtime, turns: usize) {
    let live = match LettaEnv::load() {
        Ok(live) => live,
        Err(e) => {
            println!("SKIP letta streaming: {e} (run `cargo xtask letta-up`)");
            return;
        }
    };
    let target = rt.block_on(start(|s| {
        s.agent_backend = AgentRuntime::Letta;
        s.letta_base_url = live.base_url.clone();
        s.letta_server_password = Some(Secret::new(&live.password));
        s.letta_model = format!("openai-proxy/{TOKENS_MODEL_ID}");
        s.letta_embedding = live.embedding.clone();
    }));
    rt.block_on(turn(&target));
    let (mut first, mut done) = (vec![], vec![]);
    for _ in 0..turns {
        let (sent, first_delta, finished, _) = rt.block_on(turn(&target));
        first.push(ms(first_delta - sent));
        done.push(ms(finished - sent));
    }
    println!(
        "letta 0.16.8, {TOKENS} tokens x 20 ms (n={turns}): first delta p50 {:.1} ms after sending, done p50 {:.1} ms",
        median(first),
        median(done)
    );
    rt.block_on(target.db.destroy());
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let full_run = std::env::args().any(|a| a == "--bench");
    let turns = if full_run { 10 } else { 1 };
    embedded(&rt, turns);
    letta(&rt, turns);
    // Criterion's own estimate of one whole streamed turn would be ~4 s a sample: the figures
    // above are the measurement; this keeps `cargo bench` output uniform.
    c.bench_function("stream/sse_event_scan", |b| {
        let events = "event: assistant_delta\ndata: {\"text\":\" token\"}\n\n".repeat(200);
        b.iter(|| events.matches("\n\n").count());
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
