//! The agent admin API over HTTP, with the fake agent backend.

use pi_domain::agent::{AgentGateway, AgentId};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_body};

pi_store::engine_tests!(crate::helpers::run_named => [
    admin_only_routes_are_403_for_users_and_401_without_a_token,
    users_see_their_own_agent_memory_and_archival_only,
    archival_limit_and_query,
    admin_lists_creates_messages_and_cleans_up,
]);

/// Signs up a user, sends one message (which creates their agent) and returns
/// `(token, agent_id)`.
async fn user_with_agent(app: &TestApp, email: &str) -> (String, String) {
    let token = app.signup_token(email).await;
    let id = app.conversation_id(&token).await;
    assert_eq!(app.send_message(&token, &id, "hello").await.status(), 201);
    let agent = app.me_json(&token).await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, agent)
}

async fn admin_only_routes_are_403_for_users_and_401_without_a_token(app: TestApp) {
    let (token, agent) = user_with_agent(&app, "user@example.com").await;
    let calls = [
        ("POST", "/letta/agents".to_owned()),
        ("GET", "/letta/agents".to_owned()),
        ("POST", format!("/letta/agents/{agent}/messages")),
        ("POST", "/letta/agents/cleanup".to_owned()),
    ];
    for (method, path) in &calls {
        let request = match *method {
            "GET" => app.client.get(app.url(path)),
            _ => app
                .client
                .post(app.url(path))
                .json(&json!({"content": "hi"})),
        };
        let response = request.bearer_auth(&token).send().await.unwrap();
        error_body(response, 403, "forbidden").await;
        let request = match *method {
            "GET" => app.client.get(app.url(path)),
            _ => app
                .client
                .post(app.url(path))
                .json(&json!({"content": "hi"})),
        };
        error_body(request.send().await.unwrap(), 401, "not_authenticated").await;
    }
    for path in [
        "/letta/agents/overview".to_owned(),
        format!("/letta/agents/{agent}/memory"),
        format!("/letta/agents/{agent}/archival"),
    ] {
        error_body(app.get(&path).await, 401, "not_authenticated").await;
    }
    // Nothing was deleted by the refused cleanup.
    assert_eq!(app.agents.agent_ids().len(), 1);
}

async fn users_see_their_own_agent_memory_and_archival_only(app: TestApp) {
    let (ada, ada_agent) = user_with_agent(&app, "ada@example.com").await;
    let (bob, bob_agent) = user_with_agent(&app, "bob@example.com").await;

    let overview: Value = app.get_json("/letta/agents/overview", &ada).await;
    assert_eq!(overview["agent_count"], 1);
    assert_eq!(overview["block_count"], 3);
    let agent = &overview["agents"][0];
    assert_eq!(agent["id"], ada_agent.as_str());
    assert_eq!(agent["user"]["email"], "ada@example.com");
    let labels: Vec<&str> = agent["memory_blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["agent_persona", "human", "user_persona_profile"]);
    assert!(
        chrono::DateTime::parse_from_rfc3339(overview["generated_at"].as_str().unwrap()).is_ok()
    );

    let memory: Value = app
        .get_json(&format!("/letta/agents/{ada_agent}/memory"), &ada)
        .await;
    assert_eq!(memory["agent_id"], ada_agent.as_str());
    let human = memory["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["label"] == "human")
        .unwrap();
    assert!(human["value"].as_str().unwrap().contains("Test User"));
    assert_eq!(human["limit"], 3000);
    assert_eq!(human["read_only"], false);

    // Bob's agent looks like a missing one to Ada.
    for path in [
        format!("/letta/agents/{bob_agent}/memory"),
        format!("/letta/agents/{bob_agent}/archival"),
    ] {
        error_body(app.get_authed(&path, &ada).await, 404, "agent_not_found").await;
    }
    assert_eq!(
        app.get_authed(&format!("/letta/agents/{bob_agent}/memory"), &bob)
            .await
            .status(),
        200
    );
    // A user without an agent sees an empty overview.
    let carl = app.signup_token("carl@example.com").await;
    let overview: Value = app.get_json("/letta/agents/overview", &carl).await;
    assert_eq!(overview["agents"], json!([]));
    assert_eq!(overview["agent_count"], 0);
}

async fn archival_limit_and_query(app: TestApp) {
    let (token, agent) = user_with_agent(&app, "arch@example.com").await;
    let id = AgentId(agent.clone());
    for i in 0..10 {
        let text = if i == 3 {
            "Prefers drive-thru QSR sites near highway exits".to_owned()
        } else {
            format!("note number {i}")
        };
        app.agents
            .archival_insert(&id, &text, vec!["note".into()])
            .await
            .unwrap();
    }
    let body: Value = app
        .get_json(&format!("/letta/agents/{agent}/archival"), &token)
        .await;
    assert_eq!(body["requested_limit"], 7);
    assert_eq!(body["returned_count"], 7);
    assert_eq!(body["entries"].as_array().unwrap().len(), 7);
    assert!(body["entries"][0]["content"].is_string());
    assert_eq!(body["entries"][0]["tags"], json!(["note"]));

    let body: Value = app
        .get_json(&format!("/letta/agents/{agent}/archival?limit=200"), &token)
        .await;
    assert_eq!(body["returned_count"], 10);

    let body: Value = app
        .get_authed(
            &format!("/letta/agents/{agent}/archival?limit=5&query=drive-thru%20highway"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["returned_count"], 1);
    assert!(
        body["entries"][0]["content"]
            .as_str()
            .unwrap()
            .contains("drive-thru")
    );

    for bad in ["limit=0", "limit=201", "limit=-1", "limit=many"] {
        let response = app
            .get_authed(&format!("/letta/agents/{agent}/archival?{bad}"), &token)
            .await;
        error_body(response, 422, "validation_error").await;
    }
}

async fn admin_lists_creates_messages_and_cleans_up(app: TestApp) {
    let admin = app.admin_token().await;
    let (_, ada_agent) = user_with_agent(&app, "ada@example.com").await;
    let bob = app.signup_token("bob@example.com").await;
    let bob_id = app.me_json(&bob).await["id"].as_str().unwrap().to_owned();
    // Not this deployment's: a pre-tag leftover (adoptable) and another deployment's agent.
    let orphan = app.agents.insert_orphan("leftover");
    let foreign = app
        .agents
        .insert_tagged("elsewhere", &["pi", "pi-deployment:another-one"]);

    // Create an agent for Bob (linked), then again (409), and a standalone one.
    let response = app
        .post_authed("/letta/agents", &admin, &json!({"user_id": bob_id}))
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["user"]["email"], "bob@example.com");
    assert_eq!(app.me_json(&bob).await["agent_id"], created["id"]);
    let response = app
        .post_authed("/letta/agents", &admin, &json!({"user_id": bob_id}))
        .await;
    error_body(response, 409, "agent_exists").await;
    let response = app
        .post_authed(
            "/letta/agents",
            &admin,
            &json!({"user_id": uuid::Uuid::new_v4()}),
        )
        .await;
    error_body(response, 404, "user_not_found").await;
    let response = app
        .client
        .post(app.url("/letta/agents"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let standalone: Value = response.json().await.unwrap();
    assert_eq!(standalone["user"], Value::Null);

    let list: Value = app.get_json("/letta/agents", &admin).await;
    let agents = list["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3, "only this deployment's agents: {list}");
    let ada_entry = agents
        .iter()
        .find(|a| a["id"] == ada_agent.as_str())
        .unwrap();
    assert_eq!(ada_entry["user"]["email"], "ada@example.com");

    let overview: Value = app.get_json("/letta/agents/overview", &admin).await;
    assert_eq!(overview["agent_count"], 3);
    assert_eq!(overview["block_count"], 9);

    // Admin can message any agent and sees every step; admin can read any memory.
    let response = app
        .post_authed(
            &format!("/letta/agents/{ada_agent}/messages"),
            &admin,
            &json!({"content": "status?"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let steps: Value = response.json().await.unwrap();
    let types: Vec<&str> = steps["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["reasoning", "assistant"]);
    assert_eq!(
        app.get_authed(&format!("/letta/agents/{ada_agent}/memory"), &admin)
            .await
            .status(),
        200
    );
    let response = app
        .post_authed(
            "/letta/agents/agent-does-not-exist/messages",
            &admin,
            &json!({"content": "hi"}),
        )
        .await;
    error_body(response, 404, "agent_not_found").await;

    // Cleanup reports by default: the standalone agent would go; nothing is deleted.
    let response = app
        .post_authed("/letta/agents/cleanup", &admin, &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(
        report,
        json!({"dry_run": true, "deleted_count": 1, "agent_ids": [standalone["id"]], "kept_count": 2})
    );
    assert_eq!(app.agents.agent_ids().len(), 5);

    // The pre-tag leftover is adopted explicitly, then listed and cleaned up like ours.
    let response = app
        .post_authed(&format!("/letta/agents/{orphan}/adopt"), &admin, &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let list: Value = app.get_json("/letta/agents", &admin).await;
    assert_eq!(list["agents"].as_array().unwrap().len(), 4);
    let response = app
        .post_authed("/letta/agents/cleanup", &admin, &json!({"delete": true}))
        .await;
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["deleted_count"], 2);
    assert_eq!(report["kept_count"], 2);
    let remaining = app.agents.agent_ids();
    assert_eq!(remaining.len(), 3);
    assert!(!remaining.contains(&orphan));
    assert!(remaining.contains(&AgentId(ada_agent)));
    assert!(
        remaining.contains(&foreign),
        "another deployment's agent is never touched"
    );
}
