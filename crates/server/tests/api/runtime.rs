//! The embedded agent runtime end to end: the offline model, and a scripted OpenAI-compatible
//! LLM (the only fake here is at the LLM boundary).

use std::future::Future;
use std::sync::Arc;

use pi_store::Engine;
use pi_testkit::{LlmStep, ScriptedLlm};
use serde_json::{Value, json};

use crate::helpers::{AgentMode, TestApp, ask, block, error_body, memory, run_with};

async fn with_llm<F, Fut>(engine: Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp, Arc<ScriptedLlm>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let llm = Arc::new(ScriptedLlm::start().await);
    let mode = AgentMode::Embedded {
        llm_base_url: Some(llm.base_url()),
    };
    run_with(engine, mode, move |app| test(app, llm)).await;
}

pi_store::engine_tests!(
    crate::helpers::run_offline => [
        offline_answers_coffee_question_with_real_places,
        offline_records_personal_facts_in_the_human_block,
        offline_is_reported_by_readiness,
        shared_blocks_attach_to_several_agents_and_edits_reach_all,
        two_users_state_the_same_role_and_share_one_persona_block,
        a_new_agent_gets_its_users_persona_blocks_at_creation
    ],
    super::with_llm => [
        llm_loop_runs_tools_and_returns_the_final_text,
        read_only_block_edit_is_refused_with_a_readable_error,
        memory_edit_persists_across_a_restart,
        the_loop_is_bounded,
        llm_429_then_success,
        llm_rejection_is_agent_unavailable,
        a_follow_up_reaches_the_llm_with_the_earlier_turns
    ]
);

async fn offline_answers_coffee_question_with_real_places(app: TestApp) {
    let token = app.signup_token("analyst@example.com").await;
    let conv = app.conversation_id(&token).await;
    let exchange = ask(
        &app,
        &token,
        &conv,
        "Which coffee chains are busiest in Austin?",
    )
    .await;
    let answer = exchange["assistant_message"]["content"].as_str().unwrap();
    assert!(answer.contains("Starbucks"), "{answer}");
    assert!(answer.contains("Austin"), "{answer}");
    assert!(
        answer.contains("search_places"),
        "the reply names the tool: {answer}"
    );
    // Every place named in the answer exists in the data set (same ids via the tool route).
    let steps = exchange["steps"].as_array().unwrap();
    let tool_return = steps.iter().find(|s| s["type"] == "tool_return").unwrap();
    assert_eq!(tool_return["name"], "search_places");
    assert_eq!(tool_return["is_error"], false);
    let result: Value = serde_json::from_str(tool_return["output"].as_str().unwrap()).unwrap();
    let first = &result["places"][0];
    assert!(answer.contains(first["id"].as_str().unwrap()), "{answer}");
    assert!(
        result["places"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["metro_id"] == "metro:austin" && p["category"] == "coffee")
    );
}

async fn offline_records_personal_facts_in_the_human_block(app: TestApp) {
    let token = app.signup_token("zed@example.com").await;
    let conv = app.conversation_id(&token).await;
    let exchange = ask(&app, &token, &conv, "My name is Zed and I like hiking").await;
    let answer = exchange["assistant_message"]["content"].as_str().unwrap();
    assert!(answer.contains("core_memory_append"), "{answer}");
    let blocks = memory(&app, &token).await;
    let human = block(&blocks, "human")["value"].as_str().unwrap();
    assert!(
        human.contains("Name: Zed") && human.contains("hiking"),
        "{human}"
    );
    // The next turn sees it: conversation history and memory persist.
    let exchange = ask(&app, &token, &conv, "hello").await;
    assert!(
        exchange["assistant_message"]["content"]
            .as_str()
            .unwrap()
            .contains("offline")
    );
}

async fn offline_is_reported_by_readiness(app: TestApp) {
    let ready: Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert!(
        ready["checks"]["agent_backend"]["detail"]
            .as_str()
            .unwrap()
            .contains("offline")
    );
}

async fn shared_blocks_attach_to_several_agents_and_edits_reach_all(app: TestApp) {
    use pi_domain::agent::{AgentId, BlockSpec};
    let mut users = Vec::new();
    for email in ["one@example.com", "two@example.com", "three@example.com"] {
        let token = app.signup_token(email).await;
        let conv = app.conversation_id(&token).await;
        ask(&app, &token, &conv, "hello").await; // creates the agent
        let agent = app.me_json(&token).await["agent_id"]
            .as_str()
            .unwrap()
            .to_owned();
        users.push((token, agent));
    }
    let shared = app
        .blocks
        .create_block(BlockSpec {
            label: "mall_leasing_service_experience".into(),
            value: "Lead with cross-shopping data.".into(),
            limit: 8000,
            description: "Anonymised lessons shared by agents serving mall leasing professionals."
                .into(),
            read_only: false,
        })
        .await
        .unwrap();
    for (_, agent) in &users {
        app.blocks
            .attach_block(&AgentId(agent.clone()), &shared.id)
            .await
            .unwrap();
    }
    app.blocks
        .update_block_value(
            &shared.id,
            "Lead with cross-shopping data.\nAsk about anchor vacancies early.",
        )
        .await
        .unwrap();
    for (token, _) in &users {
        let blocks = memory(&app, token).await;
        let s = block(&blocks, "mall_leasing_service_experience");
        assert_eq!(s["id"], shared.id.0.as_str(), "the same block, not a copy");
        assert!(
            s["value"]
                .as_str()
                .unwrap()
                .ends_with("anchor vacancies early.")
        );
    }
    // The explorer draws it once: three agents, one shared block.
    let admin = app.admin_token().await;
    let overview = app.get_json("/letta/agents/overview", &admin).await;
    assert_eq!(overview["agent_count"], 3);
    assert_eq!(overview["block_count"], 3 * 3 + 1);
}

async fn two_users_state_the_same_role_and_share_one_persona_block(app: TestApp) {
    let mut people = Vec::new();
    for email in ["ana@example.com", "ben@example.com"] {
        let token = app.signup_token(email).await;
        let conv = app.conversation_id(&token).await;
        let exchange = ask(&app, &token, &conv, "I lead real estate for a QSR chain").await;
        let answer = exchange["assistant_message"]["content"].as_str().unwrap();
        assert!(answer.contains("qsr_real_estate"), "{answer}");
        assert!(
            answer.contains("update_user_persona_profile_in_db"),
            "{answer}"
        );
        let me = app.me_json(&token).await;
        assert_eq!(
            me["personas"],
            json!([{"persona_handle": "qsr_real_estate", "confidence_score": 0.9}])
        );
        people.push(token);
    }
    let shared: Vec<Value> = {
        let mut out = Vec::new();
        for token in &people {
            out.push(
                block(
                    &memory(&app, token).await,
                    "qsr_real_estate_service_experience",
                )
                .clone(),
            );
        }
        out
    };
    assert_eq!(
        shared[0]["id"], shared[1]["id"],
        "one block shared by both agents"
    );
    assert!(
        shared[0]["description"]
            .as_str()
            .unwrap()
            .contains("Never write names")
    );
    // An edit reaches both agents.
    app.blocks
        .update_block_value(
            &pi_domain::agent::BlockId(shared[0]["id"].as_str().unwrap().to_owned()),
            "QSR real-estate leads want drive-thru stacking and lunch-peak data first.",
        )
        .await
        .unwrap();
    for token in &people {
        let b = block(
            &memory(&app, token).await,
            "qsr_real_estate_service_experience",
        )
        .clone();
        assert!(
            b["value"]
                .as_str()
                .unwrap()
                .starts_with("QSR real-estate leads")
        );
    }
    let personas = app.get_json("/personas", &people[0]).await;
    let qsr = personas["personas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["persona_handle"] == "qsr_real_estate")
        .unwrap()
        .clone();
    assert_eq!(qsr["shared_block_id"], shared[0]["id"]);
    assert_eq!(qsr["industry"], "qsr");
}

async fn a_new_agent_gets_its_users_persona_blocks_at_creation(app: TestApp) {
    let admin = app.admin_token().await;
    assert_eq!(app.me_json(&admin).await["agent_id"], Value::Null);
    let response = app
        .post_authed(
            "/tools/update_user_persona_profile_in_db",
            &admin,
            &json!({"persona_handle": "mall_leasing", "confidence_score": 0.7}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let out: Value = response.json().await.unwrap();
    assert_eq!(out["success"], true);
    assert_eq!(out["agents_attached"], 0);
    let bad = app
        .post_authed(
            "/tools/update_user_persona_profile_in_db",
            &admin,
            &json!({"persona_handle": "Mall Leasing"}),
        )
        .await;
    error_body(bad, 422, "tool_error").await;
    let conv = app.conversation_id(&admin).await;
    ask(&app, &admin, &conv, "hello").await;
    let blocks = memory(&app, &admin).await;
    assert_eq!(
        block(&blocks, "mall_leasing_service_experience")["id"],
        out["shared_block_id"]
    );
}

async fn llm_loop_runs_tools_and_returns_the_final_text(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.push([
        LlmStep::ToolCalls(vec![(
            "search_places".into(),
            json!({"geo": {"type": "metro", "name": "austin"}, "categories": ["coffee"], "limit": 3}),
        )]),
        LlmStep::Text("Austin's busiest coffee shop is a Starbucks.".into()),
    ]);
    let token = app.signup_token("llm@example.com").await;
    let conv = app.conversation_id(&token).await;
    let exchange = ask(&app, &token, &conv, "busiest coffee in Austin?").await;
    assert_eq!(
        exchange["assistant_message"]["content"],
        "Austin's busiest coffee shop is a Starbucks."
    );
    let types: Vec<&str> = exchange["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["tool_call", "tool_return", "assistant"]);
    let requests = llm.requests().await;
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    for t in [
        "search_places",
        "get_place_summary",
        "core_memory_append",
        "archival_memory_search",
        "conversation_search",
    ] {
        assert!(tools.contains(&t), "{t} missing from {tools:?}");
    }
    let system = first["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("<human") && system.contains("User name: Test User"),
        "{system}"
    );
    assert!(system.contains("read_only=\"true\""));
    // The second call carries the tool result back to the model.
    let second = &requests[1]["messages"];
    let tool_msg = second
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert!(tool_msg["content"].as_str().unwrap().contains("place:"));
    assert_eq!(
        tool_msg["tool_call_id"],
        second
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["role"] == "assistant")
            .unwrap()["tool_calls"][0]["id"]
    );
}

async fn read_only_block_edit_is_refused_with_a_readable_error(
    app: TestApp,
    llm: Arc<ScriptedLlm>,
) {
    llm.push([
        LlmStep::ToolCalls(vec![(
            "core_memory_replace".into(),
            json!({"label": "agent_persona", "old_content": "I am Pi", "new_content": "I am someone else"}),
        )]),
        LlmStep::Text("I cannot change who I am.".into()),
    ]);
    let token = app.signup_token("ro@example.com").await;
    let conv = app.conversation_id(&token).await;
    let exchange = ask(&app, &token, &conv, "change your persona").await;
    let ret = exchange["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "tool_return")
        .unwrap()
        .clone();
    assert_eq!(ret["is_error"], true);
    assert!(
        ret["output"].as_str().unwrap().contains("read-only"),
        "{ret}"
    );
    let blocks = memory(&app, &token).await;
    assert!(
        block(&blocks, "agent_persona")["value"]
            .as_str()
            .unwrap()
            .starts_with("I am Pi")
    );
    // The model saw the error text.
    let requests = llm.requests().await;
    let tool_msg = requests[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap()
        .clone();
    assert!(tool_msg["content"].as_str().unwrap().contains("read-only"));
}

async fn memory_edit_persists_across_a_restart(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.push([
        LlmStep::ToolCalls(vec![(
            "core_memory_append".into(),
            json!({"label": "human", "content": "Prefers answers as bullet lists"}),
        )]),
        LlmStep::Text("Noted.".into()),
    ]);
    let token = app.signup_token("persist@example.com").await;
    let conv = app.conversation_id(&token).await;
    ask(&app, &token, &conv, "please use bullet lists").await;
    // Over the limit: refused, value unchanged.
    llm.push([
        LlmStep::ToolCalls(vec![(
            "core_memory_append".into(),
            json!({"label": "human", "content": "x".repeat(3000)}),
        )]),
        LlmStep::Text("ok".into()),
    ]);
    let exchange = ask(&app, &token, &conv, "remember a lot").await;
    let ret = exchange["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "tool_return")
        .unwrap()
        .clone();
    assert!(
        ret["output"].as_str().unwrap().contains("limit of 3000"),
        "{ret}"
    );

    let restarted = app.restarted().await;
    let blocks = memory(&restarted, &token).await;
    let human = block(&blocks, "human")["value"].as_str().unwrap();
    assert!(
        human.ends_with("Prefers answers as bullet lists"),
        "{human}"
    );
    // History survives too: the next call's context holds the earlier exchange.
    llm.push([LlmStep::Text("hi again".into())]);
    ask(&restarted, &token, &conv, "hi").await;
    let requests = llm.requests().await;
    let last = requests.last().unwrap()["messages"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        last.iter()
            .any(|m| m["content"] == "please use bullet lists")
    );
}

async fn the_loop_is_bounded(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.repeat(LlmStep::ToolCalls(vec![("list_metros".into(), json!({}))]));
    let token = app.signup_token("loop@example.com").await;
    let conv = app.conversation_id(&token).await;
    let exchange = ask(&app, &token, &conv, "loop forever").await;
    assert!(
        exchange["assistant_message"]["content"]
            .as_str()
            .unwrap()
            .contains("stopped after 8 steps")
    );
    let calls = exchange["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "tool_call")
        .count();
    assert_eq!(calls, 8);
    assert_eq!(llm.requests().await.len(), 8);
}

async fn llm_429_then_success(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.push([
        LlmStep::Status(429),
        LlmStep::Status(503),
        LlmStep::Text("Back in business.".into()),
    ]);
    let token = app.signup_token("busy@example.com").await;
    let conv = app.conversation_id(&token).await;
    let exchange = ask(&app, &token, &conv, "hello").await;
    assert_eq!(
        exchange["assistant_message"]["content"],
        "Back in business."
    );
    assert_eq!(llm.requests().await.len(), 3);
}

async fn llm_rejection_is_agent_unavailable(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.push([LlmStep::Status(400)]);
    let token = app.signup_token("bad@example.com").await;
    let conv = app.conversation_id(&token).await;
    error_body(
        app.send_message(&token, &conv, "hello").await,
        502,
        "agent_unavailable",
    )
    .await;
    let messages: Value = app.messages(&token, &conv).await.json().await.unwrap();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 1);
}

/// No LLM listening at all: 502 with the user message kept.
#[tokio::test]
async fn llm_down_is_agent_unavailable() {
    let mode = AgentMode::Embedded {
        llm_base_url: Some("http://127.0.0.1:9/v1".into()),
    };
    run_with(Engine::Sqlite, mode, |app| async move {
        let token = app.signup_token("down@example.com").await;
        let conv = app.conversation_id(&token).await;
        error_body(
            app.send_message(&token, &conv, "hello").await,
            502,
            "agent_unavailable",
        )
        .await;
        let messages: Value = app.messages(&token, &conv).await.json().await.unwrap();
        assert_eq!(messages["messages"].as_array().unwrap().len(), 1);
    })
    .await;
}

/// The LLM path carries the conversation: "And in Dallas?" reaches the model after the earlier
/// question, its tool call and result, and the answer, in order. The history is the agent's:
/// each user has one long-lived agent (as a Letta agent has one message history), so a second
/// conversation of the same user still reaches the model after the first one's turns.
async fn a_follow_up_reaches_the_llm_with_the_earlier_turns(app: TestApp, llm: Arc<ScriptedLlm>) {
    llm.push([
        LlmStep::ToolCalls(vec![(
            "search_places".into(),
            json!({"geo": {"type": "metro", "name": "austin"}, "categories": ["coffee"], "limit": 3}),
        )]),
        LlmStep::Text("In Austin, Starbucks leads.".into()),
        LlmStep::Text("In Dallas, Starbucks leads too.".into()),
        LlmStep::Text("Hello again.".into()),
    ]);
    let token = app.signup_token("follow@example.com").await;
    let conv = app.conversation_id(&token).await;
    ask(
        &app,
        &token,
        &conv,
        "Which coffee chains are busiest in Austin?",
    )
    .await;
    ask(&app, &token, &conv, "And in Dallas?").await;
    let other = app.conversation_id(&token).await;
    ask(&app, &token, &other, "Hi").await;
    let requests = llm.requests().await;
    assert_eq!(requests.len(), 4);
    let seen = |request: &Value| -> Vec<String> {
        request["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] != "system")
            .map(|m| {
                let text = m["content"].as_str().unwrap_or_default();
                match m["role"].as_str().unwrap() {
                    "tool" => "tool result".to_owned(),
                    "assistant" if text.is_empty() => "tool call".to_owned(),
                    role => format!("{role}: {text}"),
                }
            })
            .collect()
    };
    assert_eq!(
        seen(&requests[2]),
        [
            "user: Which coffee chains are busiest in Austin?",
            "tool call",
            "tool result",
            "assistant: In Austin, Starbucks leads.",
            "user: And in Dallas?",
        ]
    );
    assert_eq!(seen(&requests[3]).len(), 7);
    assert_eq!(seen(&requests[3]).last().unwrap(), "user: Hi");
}
