//! The live Letta suite: the real application with `AGENT_BACKEND=letta` against a real Letta
//! 0.16.8 server, its PostgreSQL + pgvector, and the fake OpenAI-compatible LLM behind it
//! (`pi-fake-llm`, answering like Pi's offline model). `cargo xtask letta-it` provisions the
//! stack, runs this module with `LETTA_IT=1` and takes the stack down; `.ci/run` calls it.
//! Without `LETTA_IT=1` every test here prints SKIP and returns.
//!
//! Each test runs on SQLite and PostgreSQL. Tests share the Letta server, so they assert on
//! their own agents and blocks only.

use pi_domain::agent::{AgentGateway as _, AgentId};
use reqwest::Client;
use serde_json::{Value, json};

use pi_testkit::live::LettaEnv;

use crate::helpers::{AgentMode, TestApp, ask, block, error_body, memory, sse_events};

/// The live Letta's settings (`pi_testkit::live::LettaEnv`) and the checks the suite makes on it.
#[derive(Debug, Clone)]
pub struct LiveLetta(pub LettaEnv);

impl std::ops::Deref for LiveLetta {
    type Target = LettaEnv;
    fn deref(&self) -> &LettaEnv {
        &self.0
    }
}

impl LiveLetta {
    /// `None` (after a SKIP line) unless `LETTA_IT=1`; then the settings file must exist.
    pub fn from_env(test: &str) -> Option<Self> {
        if std::env::var("LETTA_IT").ok().as_deref() != Some("1") {
            eprintln!(
                "SKIP {test}: live Letta suite (set LETTA_IT=1, or run `cargo xtask letta-it`)"
            );
            return None;
        }
        Some(Self(
            LettaEnv::load().unwrap_or_else(|e| panic!("LETTA_IT=1 but {e}")),
        ))
    }

    /// `GET` straight on Letta (to check what our server did there).
    pub async fn get(&self, path: &str) -> Value {
        let response = Client::new()
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(&self.password)
            .header("X-Stainless-Package-Version", "1.0.0")
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "GET {path}: {response:?}");
        response.json().await.unwrap()
    }

    /// The adapter itself, configured like the app's.
    pub fn adapter(&self) -> pi_letta::LettaBackend {
        pi_letta::LettaBackend::new(
            pi_letta::LettaConfig {
                base_url: self.base_url.clone(),
                password: Some(self.password.clone()),
                timeout: std::time::Duration::from_secs(60),
                model: self.model.clone(),
                embedding: self.embedding.clone(),
            },
            std::sync::Arc::new(pi_domain::tools::ToolRegistry::new()),
        )
        .unwrap()
    }
}

/// A live-Letta test on `engine`, skipped (with a SKIP line) unless `LETTA_IT=1`.
async fn with_live_letta<F, Fut>(engine: pi_store::Engine, name: &str, test: F)
where
    F: FnOnce(TestApp, LiveLetta) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(live) = LiveLetta::from_env(name) else {
        return;
    };
    let mode = crate::helpers::AgentMode::LettaLive(live.clone());
    crate::helpers::run_with(engine, mode, move |app| test(app, live)).await;
}

pi_store::engine_tests!(super::with_live_letta => [
    ready_reports_the_letta_server,
    first_message_creates_one_agent_with_the_three_pi_blocks,
    client_tool_turn_runs_search_places_here,
    persona_shared_block_is_attached_to_both_users_agents,
    archival_insert_then_search_through_the_api,
    admin_overview_lists_agents_with_owners_and_blocks,
    listing_agents_pages_through_all_of_them,
    a_streamed_client_tool_turn_reports_each_round,
    lettas_own_memory_tool_records_personal_facts,
    only_this_deployments_agents_are_listed_and_cleaned_up,
    unknown_or_malformed_agent_ids_are_404,
    an_approval_left_pending_is_answered_before_the_next_message,
], super::with_slow_live_letta => [a_letta_reply_streams_while_the_model_writes]);

/// A live-Letta test whose agents' model pauses before each word
/// (`openai-proxy/pi-fake-slow`).
async fn with_slow_live_letta<F, Fut>(engine: pi_store::Engine, name: &str, test: F)
where
    F: FnOnce(TestApp, LiveLetta) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(mut live) = LiveLetta::from_env(name) else {
        return;
    };
    live.0.model = format!("openai-proxy/{}", pi_testkit::openai::SLOW_MODEL_ID);
    let mode = crate::helpers::AgentMode::LettaLive(live.clone());
    crate::helpers::run_with(engine, mode, move |app| test(app, live)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_reported_and_chat_keeps_the_message() {
    let Some(mut live) = LiveLetta::from_env("a_wrong_password_is_reported") else {
        return;
    };
    live.0.password = "not-the-password".into();
    crate::helpers::run_with(
        pi_store::Engine::Sqlite,
        AgentMode::LettaLive(live),
        |app| async move {
            let ready = app.get("/health/ready").await;
            assert_eq!(ready.status(), 503);
            let body: Value = ready.json().await.unwrap();
            assert!(body.to_string().contains("LETTA_SERVER_PASSWORD"), "{body}");
            let token = app.signup_token("ana@example.com").await;
            let conv = app.conversation_id(&token).await;
            let response = app.send_message(&token, &conv, "Hello Pi").await;
            crate::helpers::error_body(response, 502, "agent_unavailable").await;
            let messages = app
                .get_json(&format!("/chat/conversations/{conv}/messages"), &token)
                .await;
            assert_eq!(messages["messages"].as_array().unwrap().len(), 1);
            assert_eq!(messages["messages"][0]["content"], "Hello Pi");
        },
    )
    .await;
}

fn answer(exchange: &Value) -> String {
    exchange["assistant_message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn agent_of(app: &TestApp, token: &str) -> String {
    app.me_json(token).await["agent_id"]
        .as_str()
        .expect("the user has an agent")
        .to_owned()
}

fn labels(blocks: &Value) -> Vec<String> {
    let mut l: Vec<String> = blocks
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap().to_owned())
        .collect();
    l.sort();
    l
}

async fn ready_reports_the_letta_server(app: TestApp, _live: LiveLetta) {
    let ready: Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert!(ready.to_string().contains("letta 0.16.8"), "{ready}");
}

async fn first_message_creates_one_agent_with_the_three_pi_blocks(app: TestApp, live: LiveLetta) {
    let token = app.signup_token("ana@example.com").await;
    assert_eq!(app.me_json(&token).await["agent_id"], Value::Null);
    let conv = app.conversation_id(&token).await;
    let exchange = ask(&app, &token, &conv, "Hello Pi").await;
    // The fake LLM answers like the offline model: its help text, through Letta.
    assert!(answer(&exchange).starts_with("I'm Pi"), "{exchange}");
    let agent = agent_of(&app, &token).await;
    assert!(agent.starts_with("agent-"), "{agent}");

    // On Letta: the Pi template's blocks, the human block naming the user, our tags/metadata.
    let blocks = live
        .get(&format!("/v1/agents/{agent}/core-memory/blocks"))
        .await;
    assert_eq!(
        labels(&blocks),
        ["agent_persona", "human", "user_persona_profile"]
    );
    let human = blocks
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["label"] == "human")
        .unwrap();
    assert!(
        human["value"].as_str().unwrap().contains("Test User"),
        "{human}"
    );
    let on_letta = live
        .get(&format!("/v1/agents/{agent}?include=agent.tags"))
        .await;
    assert_eq!(on_letta["model"], live.model.as_str());
    assert_eq!(on_letta["embedding"], live.embedding.as_str());
    assert_eq!(on_letta["agent_type"], "letta_v1_agent");

    // A second message reuses the agent; both turns are stored in order.
    let again = ask(&app, &token, &conv, "Thanks!").await;
    assert!(!answer(&again).is_empty());
    assert_eq!(agent_of(&app, &token).await, agent);
    let messages = app
        .get_json(&format!("/chat/conversations/{conv}/messages"), &token)
        .await;
    let roles: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "agent", "user", "agent"]);
    // Letta kept the conversation too.
    let history = live
        .get(&format!("/v1/agents/{agent}/messages?limit=50"))
        .await
        .to_string();
    assert!(history.contains("Thanks!"), "{history}");
}

async fn client_tool_turn_runs_search_places_here(app: TestApp, live: LiveLetta) {
    let token = app.signup_token("analyst@example.com").await;
    let conv = app.conversation_id(&token).await;
    let exchange = ask(
        &app,
        &token,
        &conv,
        "Which coffee chains are busiest in Austin?",
    )
    .await;
    let text = answer(&exchange);
    assert!(text.contains("Austin"), "{text}");
    assert!(text.contains("search_places"), "{text}");
    // Our server ran the tool (Letta only approved it): the steps carry its real output.
    let steps = exchange["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["tool_call", "tool_return", "assistant"],
        "{exchange}"
    );
    let ret = &steps[1];
    assert_eq!(ret["name"], "search_places");
    assert_eq!(ret["is_error"], false);
    let result: Value = serde_json::from_str(ret["output"].as_str().unwrap()).unwrap();
    let places = result["places"].as_array().unwrap();
    assert!(!places.is_empty());
    assert!(
        places
            .iter()
            .all(|p| p["metro_id"] == "metro:austin" && p["category"] == "coffee")
    );
    // The same output, run directly, proves the tool ran on our side with the model's arguments.
    let call = &steps[0];
    let admin = app.admin_token().await;
    let direct = app
        .post_authed(
            "/tools/search_places",
            &admin,
            &serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap(),
        )
        .await;
    assert_eq!(direct.status(), 200);
    let direct: Value = direct.json().await.unwrap();
    assert_eq!(direct["places"], result["places"]);
    // Letta recorded the approval and our tool return; nothing is left pending.
    let agent = agent_of(&app, &token).await;
    let history = live
        .get(&format!("/v1/agents/{agent}/messages?limit=50"))
        .await;
    let types: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"approval_request_message"), "{types:?}");
    assert!(types.contains(&"tool_return_message"), "{types:?}");
    let follow_up = ask(&app, &token, &conv, "Thanks").await;
    assert!(!answer(&follow_up).is_empty());
}

async fn persona_shared_block_is_attached_to_both_users_agents(app: TestApp, live: LiveLetta) {
    let mut agents = Vec::new();
    for email in ["ana@example.com", "ben@example.com"] {
        let token = app.signup_token(email).await;
        let conv = app.conversation_id(&token).await;
        let exchange = ask(&app, &token, &conv, "I lead real estate for a QSR chain").await;
        let text = answer(&exchange);
        assert!(text.contains("qsr_real_estate"), "{text}");
        assert_eq!(
            app.me_json(&token).await["personas"],
            json!([{"persona_handle": "qsr_real_estate", "confidence_score": 0.9}])
        );
        agents.push(agent_of(&app, &token).await);
    }
    let personas = app.get_json("/personas", &app.admin_token().await).await;
    let shared_id = personas["personas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["persona_handle"] == "qsr_real_estate")
        .unwrap()["shared_block_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(shared_id.starts_with("block-"), "{shared_id}");
    // On Letta: one block, attached to both agents.
    let block = live.get(&format!("/v1/blocks/{shared_id}")).await;
    assert_eq!(block["label"], "qsr_real_estate_service_experience");
    let attached: Vec<String> = live
        .get(&format!("/v1/blocks/{shared_id}/agents"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    for agent in &agents {
        assert!(attached.contains(agent), "{agent} not in {attached:?}");
        let blocks = live
            .get(&format!("/v1/agents/{agent}/core-memory/blocks"))
            .await;
        assert!(
            labels(&blocks).contains(&"qsr_real_estate_service_experience".to_owned()),
            "{blocks}"
        );
    }
    // An edit through the block store reaches both agents.
    app.blocks
        .update_block_value(
            &pi_domain::agent::BlockId(shared_id.clone()),
            "QSR real-estate leads want drive-thru stacking data first.",
        )
        .await
        .unwrap();
    for agent in &agents {
        let blocks = live
            .get(&format!("/v1/agents/{agent}/core-memory/blocks"))
            .await;
        let shared = blocks
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == shared_id.as_str())
            .unwrap()
            .clone();
        assert!(
            shared["value"]
                .as_str()
                .unwrap()
                .starts_with("QSR real-estate leads"),
            "{shared}"
        );
    }
}

async fn archival_insert_then_search_through_the_api(app: TestApp, live: LiveLetta) {
    let token = app.signup_token("cara@example.com").await;
    let conv = app.conversation_id(&token).await;
    ask(&app, &token, &conv, "Hello Pi").await;
    let agent = agent_of(&app, &token).await;
    let adapter = live.adapter();
    let id = AgentId(agent.clone());
    let first = adapter
        .archival_insert(
            &id,
            "Cara prefers drive-thru coffee sites near commuter routes.",
            vec!["preference".into()],
        )
        .await
        .unwrap();
    assert!(first.id.starts_with("passage-"), "{first:?}");
    adapter
        .archival_insert(
            &id,
            "Quarterly mall occupancy report is due in March.",
            vec![],
        )
        .await
        .unwrap();
    // Newest first, embeddings never passed on.
    let listed = app
        .get_json(&format!("/letta/agents/{agent}/archival?limit=10"), &token)
        .await;
    assert_eq!(listed["returned_count"], 2, "{listed}");
    assert!(!listed.to_string().contains("embedding"), "{listed}");
    // Semantic search (Letta + pgvector, embeddings from the fake LLM) ranks the coffee note first.
    let found = app
        .get_json(
            &format!("/letta/agents/{agent}/archival?limit=1&query=coffee%20drive-thru%20sites"),
            &token,
        )
        .await;
    assert_eq!(found["returned_count"], 1, "{found}");
    assert_eq!(found["entries"][0]["id"], first.id.as_str(), "{found}");
    assert!(
        found["entries"][0]["content"]
            .as_str()
            .unwrap()
            .contains("drive-thru coffee"),
        "{found}"
    );
}

async fn admin_overview_lists_agents_with_owners_and_blocks(app: TestApp, _live: LiveLetta) {
    let mut mine = Vec::new();
    for email in ["dan@example.com", "eve@example.com"] {
        let token = app.signup_token(email).await;
        let conv = app.conversation_id(&token).await;
        ask(&app, &token, &conv, "Hello Pi").await;
        mine.push((email, agent_of(&app, &token).await, token));
    }
    let admin = app.admin_token().await;
    let overview = app.get_json("/letta/agents/overview", &admin).await;
    // The Letta server is shared with the other live tests: find ours among all of them
    // (listing all of them pages through Letta's cursor).
    let agents = overview["agents"].as_array().unwrap();
    assert_eq!(overview["agent_count"], agents.len());
    for (email, agent, _) in &mine {
        let entry = agents
            .iter()
            .find(|a| a["id"] == agent.as_str())
            .unwrap_or_else(|| panic!("{agent} missing from the overview"));
        assert_eq!(entry["user"]["email"], *email, "{entry}");
        assert_eq!(
            labels(&entry["memory_blocks"]),
            ["agent_persona", "human", "user_persona_profile"]
        );
    }
    // A user sees only their own agent.
    let own = app.get_json("/letta/agents/overview", &mine[0].2).await;
    assert_eq!(own["agent_count"], 1);
    assert_eq!(own["agents"][0]["id"], mine[0].1.as_str());
}

async fn listing_agents_pages_through_all_of_them(app: TestApp, live: LiveLetta) {
    let mut ours = Vec::new();
    for email in ["p1@example.com", "p2@example.com", "p3@example.com"] {
        let token = app.signup_token(email).await;
        let conv = app.conversation_id(&token).await;
        ask(&app, &token, &conv, "Hello Pi").await;
        ours.push(agent_of(&app, &token).await);
    }
    // Pages of two, newest first, until the cursor runs out: every agent once.
    let adapter = live.adapter();
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = None;
    loop {
        let page = adapter.list_agents(2, cursor, None).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|a| a.id.0.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an agent came twice: {seen:?}");
    for agent in &ours {
        assert!(
            seen.contains(agent),
            "{agent} missing from {} listed",
            seen.len()
        );
    }
    // Newest first: our three agents appear in reverse creation order.
    let positions: Vec<usize> = ours
        .iter()
        .map(|a| seen.iter().position(|s| s == a).unwrap())
        .collect();
    assert!(
        positions[0] > positions[1] && positions[1] > positions[2],
        "{positions:?}"
    );
}

async fn a_streamed_client_tool_turn_reports_each_round(app: TestApp, _live: LiveLetta) {
    let token = app.signup_token("sse@example.com").await;
    let conv = app.conversation_id(&token).await;
    let events = sse_events(
        app.stream_message(&token, &conv, "Which coffee chains are busiest in Austin?")
            .await,
    )
    .await;
    let mut names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    // The reply arrives word by word: one `assistant_delta` per piece Letta streams.
    names.dedup();
    assert_eq!(
        names,
        [
            "user_message",
            "tool_call",
            "tool_return",
            "assistant_delta",
            "assistant_message",
            "done"
        ]
    );
    assert_eq!(events[1].1["name"], "search_places");
    let stored = app
        .get_json(&format!("/chat/conversations/{conv}/messages"), &token)
        .await;
    assert_eq!(stored["messages"].as_array().unwrap().len(), 2);
}

async fn lettas_own_memory_tool_records_personal_facts(app: TestApp, _live: LiveLetta) {
    let token = app.signup_token("zed@example.com").await;
    let conv = app.conversation_id(&token).await;
    let exchange = ask(
        &app,
        &token,
        &conv,
        "My name is Zed and I like outlet malls",
    )
    .await;
    // Letta ran its own tool (no approval): the adapter keeps the call and the return as steps.
    let steps = exchange["steps"].as_array().unwrap();
    let call = steps
        .iter()
        .find(|s| s["type"] == "tool_call")
        .unwrap_or_else(|| panic!("{exchange}"));
    assert_eq!(call["name"], "memory_insert");
    assert!(
        steps
            .iter()
            .any(|s| s["type"] == "tool_return" && s["is_error"] == false),
        "{exchange}"
    );
    assert!(!answer(&exchange).is_empty());
    // The fact is in the agent's human block, read back through our API.
    let blocks = memory(&app, &token).await;
    let human = block(&blocks, "human")["value"].as_str().unwrap();
    assert!(
        human.contains("Zed") && human.contains("outlet malls"),
        "{human}"
    );
}

/// Issue 11 (6): a shared Letta holds other deployments' agents. This deployment lists, shows
/// and cleans up only agents tagged with its id; cleanup reports unless asked to delete; an
/// agent from before the tag is adopted explicitly.
async fn only_this_deployments_agents_are_listed_and_cleaned_up(app: TestApp, live: LiveLetta) {
    use pi_domain::agent::PiAgentTemplate;
    let admin = app.admin_token().await;
    let conv = app.conversation_id(&admin).await;
    ask(&app, &admin, &conv, "Hello Pi").await;
    let mine = agent_of(&app, &admin).await;
    // Another deployment's agent, and an untagged one (as created before tags existed).
    let adapter = live.adapter();
    let template = PiAgentTemplate::builtin().unwrap();
    let name = pi_domain::user::DisplayName::parse("Elsewhere").unwrap();
    let mut foreign_spec = template.spec_for(&name, None, Vec::new(), &[]);
    foreign_spec.tags.push("pi-deployment:someone-else".into());
    let foreign = adapter.create_agent(foreign_spec).await.unwrap();
    let legacy = adapter
        .create_agent(template.spec_for(&name, None, Vec::new(), &[]))
        .await
        .unwrap();

    let ids = |v: &Value| -> Vec<String> {
        v["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = ids(&app.get_json("/letta/agents", &admin).await);
    assert_eq!(listed, vec![mine.clone()], "only this deployment's agent");
    let overview = app.get_json("/letta/agents/overview", &admin).await;
    assert_eq!(ids(&overview), vec![mine.clone()]);

    let response = app
        .post_authed(
            &format!("/letta/agents/{}/adopt", legacy.0),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let dry: Value = app
        .post_authed("/letta/agents/cleanup", &admin, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["agent_ids"], json!([legacy.0]));
    assert!(
        adapter.get_agent(&legacy).await.is_ok(),
        "a dry run deletes nothing"
    );
    let done: Value = app
        .post_authed("/letta/agents/cleanup", &admin, &json!({"delete": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["deleted_count"], 1);
    assert!(adapter.get_agent(&legacy).await.is_err());
    assert!(
        adapter.get_agent(&foreign).await.is_ok(),
        "never another deployment's agent"
    );
    adapter.delete_agent(&foreign).await.unwrap();
}

/// Issue 11 (7, 8): Letta answers 422 with its validation text for an id that is not
/// `agent-<uuid4>` and `200 []` for the archival memory of an unknown agent: both are 404.
async fn unknown_or_malformed_agent_ids_are_404(app: TestApp, _live: LiveLetta) {
    let admin = app.admin_token().await;
    for route in [
        "/letta/agents/not-an-agent/memory",
        "/letta/agents/not-an-agent/archival",
        "/letta/agents/agent-11111111-1111-4111-8111-111111111111/memory",
        "/letta/agents/agent-11111111-1111-4111-8111-111111111111/archival?limit=7",
    ] {
        let body = error_body(app.get_authed(route, &admin).await, 404, "agent_not_found").await;
        assert!(!body.to_string().contains("pattern"), "{route}: {body}");
    }
}

/// A crash between Letta's approval request and our answer leaves the agent waiting; Letta's
/// streaming route then refuses new messages inside a 200 stream (`CONFLICT`). The next chat
/// message answers the pending call with an error and goes through.
async fn an_approval_left_pending_is_answered_before_the_next_message(
    app: TestApp,
    live: LiveLetta,
) {
    let token = app.signup_token("crash@example.com").await;
    let conv = app.conversation_id(&token).await;
    ask(&app, &token, &conv, "Hello").await;
    let agent = agent_of(&app, &token).await;
    // What a crash leaves behind: a tool call Letta waits on, never answered.
    let pending = Client::new()
        .post(format!("{}/v1/agents/{agent}/messages", live.base_url))
        .bearer_auth(&live.password)
        .header("X-Stainless-Package-Version", "1.0.0")
        .json(&json!({
            "messages": [{"role": "user", "content": "Which coffee chains are busiest in Austin?"}],
            "client_tools": [{"name": "search_places", "description": "Search places",
                              "parameters": {"type": "object", "properties": {}}}],
        }))
        .send()
        .await
        .unwrap();
    let pending: Value = pending.json().await.unwrap();
    assert_eq!(
        pending["stop_reason"]["stop_reason"], "requires_approval",
        "{pending}"
    );
    let exchange = ask(&app, &token, &conv, "Hello again").await;
    assert!(!answer(&exchange).is_empty(), "{exchange}");
}

/// Through the HTTP API, over the real Letta with token streaming: the reply's words reach the
/// client while Letta's model is still writing (timestamps) and add up to the stored reply.
async fn a_letta_reply_streams_while_the_model_writes(app: TestApp, _live: LiveLetta) {
    let token = app.signup_token("words@example.com").await;
    let conv = app.conversation_id(&token).await;
    let events = crate::helpers::timed_sse_events(
        app.stream_message(&token, &conv, "Which coffee chains are busiest in Austin?")
            .await,
    )
    .await;
    let (deltas, first, done) = crate::helpers::assert_streamed_as_written(&events);
    eprintln!("letta: {deltas} deltas, first at {first:?}, done at {done:?}");
}
