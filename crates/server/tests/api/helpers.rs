//! `spawn_app` and the `TestApp` helpers shared by all HTTP tests.

use std::future::Future;
use std::sync::Arc;

use pi_server::config::Secret;
use pi_server::{AgentPorts, Application, Environment, Settings};
use pi_store::testing::TestDatabase;
use pi_store::{Database, Engine};
use pi_testkit::FakeAgentBackend;
use reqwest::{Client, Response};
use serde_json::{Value, json};

/// The JWT secret of every test app (tests forge tokens with it).
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// The admin of every test app (granted with `pi-server admin grant`'s code path).
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// An origin allowed by CORS in every test app.
pub const UI_ORIGIN: &str = "http://localhost:5173";

/// A running application and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub engine: Engine,
    pub db: Database,
    /// The scriptable agent backend behind this app (in `AgentMode::Fake`).
    pub agents: Arc<FakeAgentBackend>,
    /// The memory-block store of whichever agent backend runs.
    pub blocks: Arc<dyn pi_domain::agent::BlockStore>,
    /// The settings it runs with.
    pub settings: Settings,
    test_db: Arc<TestDatabase>,
}

/// Settings for a test app on `url`.
pub fn test_settings(url: &str) -> Settings {
    Settings {
        database_url: Secret::new(url),
        bind_addr: "127.0.0.1:0".into(),
        environment: Environment::Test,
        jwt_secret_key: Some(Secret::new(JWT_SECRET)),
        bcrypt_cost: 4,
        cors_allowed_origins: UI_ORIGIN.into(),
        max_body_bytes: 64 * 1024,
        places_scale: pi_server::config::PlacesScale::Small,
        // Every connection is opened at start-up: keep many parallel test apps under
        // PostgreSQL's 100.
        database_pool_size: 6,
        ..Settings::default()
    }
}

/// Which agent backend a test app runs.
#[derive(Debug, Clone)]
pub enum AgentMode {
    /// The testkit's in-memory fake (the default for HTTP tests).
    Fake,
    /// The real embedded runtime, with an LLM at this URL or the offline model.
    Embedded { llm_base_url: Option<String> },
    /// The Letta adapter, talking to a Letta at this URL (password `testpass`, default handles).
    Letta { base_url: String },
    /// The Letta adapter, talking to a real Letta server (`cargo xtask letta-it`).
    LettaLive(crate::letta_live::LiveLetta),
}

/// Starts the app on a fresh database of `backend` with the given agent backend; `None` when
/// PostgreSQL is skipped.
/// Settings are adjusted by `configure` first.
pub async fn spawn_app_configured(
    engine: Engine,
    mode: AgentMode,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let test_db = TestDatabase::new(engine).await?;
    let agents = Arc::new(FakeAgentBackend::new());
    let mut settings = test_settings(test_db.url());
    configure(&mut settings);
    let app = match &mode {
        AgentMode::Fake => Application::build_with(
            settings.clone(),
            AgentPorts::from_adapter(agents.clone(), None),
        )
        .await
        .expect("application builds"),
        AgentMode::Embedded { llm_base_url } => {
            settings.llm_base_url = llm_base_url.clone();
            Application::build(settings.clone())
                .await
                .expect("application builds")
        }
        AgentMode::Letta { base_url } => {
            settings.agent_backend = pi_server::config::AgentRuntime::Letta;
            settings.letta_base_url = base_url.clone();
            settings.letta_server_password = Some(Secret::new("testpass"));
            Application::build(settings.clone())
                .await
                .expect("application builds")
        }
        AgentMode::LettaLive(live) => {
            settings.agent_backend = pi_server::config::AgentRuntime::Letta;
            settings.letta_base_url = live.base_url.clone();
            settings.letta_server_password = Some(Secret::new(&live.password));
            settings.letta_model = live.model.clone();
            settings.letta_embedding = live.embedding.clone();
            Application::build(settings.clone())
                .await
                .expect("application builds")
        }
    };
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.database().clone();
    let blocks = app.block_store();
    tokio::spawn(app.run_until_stopped());
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Some(TestApp {
        address,
        client,
        engine,
        db,
        agents,
        blocks,
        settings,
        test_db: Arc::new(test_db),
    })
}

/// Runs `test` against a fresh app on `backend`, then removes the database even if the test
/// panicked (the panic is re-raised afterwards).
pub async fn run_on<F, Fut>(engine: Engine, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_with(engine, AgentMode::Fake, test).await;
}

/// [`run_on`] with an agent backend of choice.
pub async fn run_with<F, Fut>(engine: Engine, mode: AgentMode, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_configured(engine, mode, |_| {}, test).await;
}

/// [`run_with`], with settings adjusted by `configure`.
pub async fn run_configured<F, Fut>(
    engine: Engine,
    mode: AgentMode,
    configure: impl FnOnce(&mut Settings),
    test: F,
) where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(app) = spawn_app_configured(engine, mode, configure).await else {
        return;
    };
    let test_db = Arc::clone(&app.test_db);
    let outcome = tokio::spawn(test(app)).await;
    test_db.destroy().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

impl TestApp {
    /// A second server on the same database and settings (the first keeps running): what a
    /// restart looks like to the data.
    pub async fn restarted(&self) -> TestApp {
        let app = Application::build(self.settings.clone())
            .await
            .expect("application rebuilds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.database().clone();
        let blocks = app.block_store();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: self.client.clone(),
            engine: self.engine,
            db,
            agents: Arc::clone(&self.agents),
            blocks,
            settings: self.settings.clone(),
            test_db: Arc::clone(&self.test_db),
        }
    }

    /// Makes the database unusable (PostgreSQL: dropped; SQLite: pool closed).
    pub async fn take_database_down(&self) {
        if !self.test_db.take_down().await {
            self.db.clone().close().await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str, password: &str, display_name: &str) -> Response {
        self.post_json(
            "/auth/signup",
            &json!({"email": email, "password": password, "display_name": display_name}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Signs up a user and returns their access token.
    pub async fn signup_token(&self, email: &str) -> String {
        let response = self
            .signup(email, "correct horse battery", "Test User")
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn me(&self, token: &str) -> Response {
        self.get_authed("/auth/me", token).await
    }

    pub async fn me_json(&self, token: &str) -> Value {
        self.me(token).await.json().await.unwrap()
    }

    pub async fn post_authed(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /chat/conversations` exactly as the chat UI sends it: no body, no content type.
    pub async fn create_conversation(&self, token: &str) -> Value {
        let response = self
            .client
            .post(self.url("/chat/conversations"))
            .bearer_auth(token)
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    pub async fn send_message(&self, token: &str, conversation: &str, content: &str) -> Response {
        self.post_authed(
            &format!("/chat/conversations/{conversation}/messages"),
            token,
            &json!({"content": content}),
        )
        .await
    }

    pub async fn messages(&self, token: &str, conversation: &str) -> Response {
        self.get_authed(
            &format!("/chat/conversations/{conversation}/messages"),
            token,
        )
        .await
    }

    /// A new conversation's id.
    pub async fn conversation_id(&self, token: &str) -> String {
        self.create_conversation(token).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `GET path` with a token, as JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        self.get_authed(path, token).await.json().await.unwrap()
    }

    /// Sends `n` messages (`<prefix> <i>`) to one conversation at once; returns the app back
    /// and the statuses in send order.
    pub async fn concurrent_sends(
        self,
        n: usize,
        token: &str,
        conversation: &str,
        prefix: &str,
    ) -> (Arc<Self>, Vec<u16>) {
        let app = Arc::new(self);
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let (app, token, id) = (app.clone(), token.to_owned(), conversation.to_owned());
                let content = format!("{prefix} {i}");
                tokio::spawn(async move {
                    app.send_message(&token, &id, &content)
                        .await
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        (app, statuses)
    }

    /// `POST /chat/conversations/{id}/messages/stream`.
    pub async fn stream_message(&self, token: &str, conversation: &str, content: &str) -> Response {
        self.client
            .post(self.url(&format!(
                "/chat/conversations/{conversation}/messages/stream"
            )))
            .bearer_auth(token)
            .json(&json!({ "content": content }))
            .send()
            .await
            .unwrap()
    }

    /// Signs up the admin, grants them admin rights as an operator would
    /// (`pi-server admin grant`), and returns their token.
    pub async fn admin_token(&self) -> String {
        let token = self.signup_token(ADMIN_EMAIL).await;
        self.set_admin(ADMIN_EMAIL, true).await;
        token
    }

    /// `pi-server admin grant|revoke <email>` against this app's database.
    pub async fn set_admin(&self, email: &str, admin: bool) {
        let mut out = Vec::new();
        pi_server::admin::set_admin(&self.settings, email, admin, &mut out)
            .await
            .expect("admin flag set");
    }
}

/// Sends `text` and returns the 201 exchange (the body is shown if the status differs).
pub async fn ask(app: &TestApp, token: &str, conversation: &str, text: &str) -> Value {
    let response = app.send_message(token, conversation, text).await;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The caller's agent's memory blocks, through `GET /letta/agents/{id}/memory`.
pub async fn memory(app: &TestApp, token: &str) -> Vec<Value> {
    let agent = app.me_json(token).await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get_json(&format!("/letta/agents/{agent}/memory"), token)
        .await["blocks"]
        .as_array()
        .unwrap()
        .clone()
}

/// The block labelled `label`.
pub fn block<'a>(blocks: &'a [Value], label: &str) -> &'a Value {
    blocks.iter().find(|b| b["label"] == label).unwrap()
}

/// `(event, data)` pairs of a 200 `text/event-stream` response.
pub async fn sse_events(response: Response) -> Vec<(String, Value)> {
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let text = response.text().await.unwrap();
    text.split("\n\n")
        // Comments (`: keep-alive`) carry no event.
        .filter(|chunk| !chunk.trim().is_empty() && !chunk.starts_with(':'))
        .map(|chunk| {
            let event = chunk
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap()
                .to_owned();
            let data = chunk
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap();
            (event, serde_json::from_str(data).unwrap())
        })
        .collect()
}

/// `(event, data)` pairs of a 200 `text/event-stream` response, each with the time it arrived
/// (since the response's headers).
pub async fn timed_sse_events(mut response: Response) -> Vec<(std::time::Duration, String, Value)> {
    assert_eq!(response.status(), 200);
    let start = std::time::Instant::now();
    let mut pending = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        pending.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            let event = block.lines().find_map(|l| l.strip_prefix("event: "));
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(event), Some(data)) = (event, data) {
                events.push((
                    start.elapsed(),
                    event.to_owned(),
                    serde_json::from_str(data).unwrap(),
                ));
            }
        }
    }
    events
}

/// Checks a streamed reply was written while the model wrote it: several `assistant_delta`s,
/// the first well before `done` (the model pauses before each word), concatenating to the
/// stored reply. Returns (deltas, first delta, done) for reports.
pub fn assert_streamed_as_written(
    events: &[(std::time::Duration, String, Value)],
) -> (usize, std::time::Duration, std::time::Duration) {
    let deltas: Vec<&(std::time::Duration, String, Value)> = events
        .iter()
        .filter(|(_, e, _)| e == "assistant_delta")
        .collect();
    let names: Vec<&str> = events.iter().map(|(_, e, _)| e.as_str()).collect();
    assert!(deltas.len() >= 10, "word by word: {names:?}");
    let (done, _, _) = events.iter().find(|(_, e, _)| e == "done").unwrap();
    let first = deltas[0].0;
    // At least half of the pauses between the words came after the first delta was sent.
    let pauses = pi_testkit::openai::SLOW_PIECE * (deltas.len() as u32 - 1) / 2;
    assert!(
        *done >= first + pauses,
        "first delta at {first:?}, done at {done:?}: the reply came in one block"
    );
    let (_, _, reply) = events
        .iter()
        .find(|(_, e, _)| e == "assistant_message")
        .unwrap();
    let text: String = deltas
        .iter()
        .map(|(_, _, d)| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, reply["content"].as_str().unwrap());
    (deltas.len(), first, *done)
}

/// Reads a JSON error body and checks its shape.
pub async fn error_body(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "error content-type {content_type:?}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "body: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "detail missing: {body}"
    );
    body
}

/// [`run_on`] as an [`pi_store::engine_tests!`] runner.
pub async fn run_named<F, Fut>(engine: Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_on(engine, test).await;
}

/// The embedded runtime with the offline model, as an [`pi_store::engine_tests!`] runner.
pub async fn run_offline<F, Fut>(engine: Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_with(engine, AgentMode::Embedded { llm_base_url: None }, test).await;
}

/// `(status, body)` of a response recorded from a real Letta 0.16.8.
pub fn letta_recording(name: &str) -> (u16, Value) {
    let raw = std::fs::read_to_string(format!(
        "{}/../letta/tests/recordings/{name}.resp.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (first, body) = raw.split_once('\n').unwrap();
    (
        first.split_whitespace().nth(2).unwrap().parse().unwrap(),
        serde_json::from_str(body).unwrap(),
    )
}

/// A wiremock Letta that is healthy, creates agents, and answers messages (on the streaming
/// route) with `message`.
pub async fn letta_answering(message: wiremock::ResponseTemplate) -> wiremock::MockServer {
    let letta = wiremock::MockServer::start().await;
    let (status, body) = letta_recording("create_agent");
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex("^/v1/agents/$"))
        .respond_with(wiremock::ResponseTemplate::new(status).set_body_json(body))
        .mount(&letta)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(
            "^/v1/agents/agent-[^/]+/messages/stream$",
        ))
        .respond_with(message)
        .mount(&letta)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v1/health/"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"version": "0.16.8", "status": "ok"})),
        )
        .mount(&letta)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v1/agents/"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&letta)
        .await;
    letta
}

/// Polls `check` every 20 ms until it holds, and fails if that takes longer than the app's
/// `AUTH_CACHE_TTL_MS` plus 1 s: the documented bound on how long a change made outside this
/// process (another replica, `pi-server admin`) takes to reach it.
pub async fn within_auth_cache_ttl<F, Fut>(app: &TestApp, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let bound = std::time::Duration::from_millis(app.settings.auth_cache_ttl_ms + 1000);
    let started = std::time::Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < bound,
            "{what}: not seen within {bound:?} (AUTH_CACHE_TTL_MS + 1 s)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
