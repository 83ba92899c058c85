//! One agent-provisioning step (issue 11, 11–12): whichever path creates a user's agent (chat's
//! first message, the admin route) it starts with the user's personas' shared blocks and
//! profile; whichever path assigns a persona (the tool, seed) updates the agent's profile.

use serde_json::{Value, json};

use crate::helpers::{AgentMode, TestApp, block, memory, run_with};

pi_store::engine_tests!(crate::helpers::run_named => [
    assigning_a_persona_rewrites_the_agents_profile_block,
    admin_created_agents_get_the_users_persona_blocks_and_profile,
    chat_created_agents_get_the_users_persona_blocks_and_profile,
]);

async fn assign(app: &TestApp, token: &str, handle: &str, confidence: f64) {
    let response = app
        .post_authed(
            "/tools/update_user_persona_profile_in_db",
            token,
            &json!({"persona_handle": handle, "confidence_score": confidence}),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

fn profile(blocks: &[Value]) -> String {
    block(blocks, "user_persona_profile")["value"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn assigning_a_persona_rewrites_the_agents_profile_block(app: TestApp) {
    let token = app.admin_token().await;
    let conv = app.conversation_id(&token).await;
    assert_eq!(app.send_message(&token, &conv, "hello").await.status(), 201);
    assert_eq!(
        profile(&memory(&app, &token).await),
        "Professional persona not identified yet."
    );
    assign(&app, &token, "qsr_real_estate", 0.9).await;
    let text = profile(&memory(&app, &token).await);
    assert!(
        text.starts_with("Professional persona: qsr_real_estate (confidence 0.90)"),
        "{text}"
    );
    assign(&app, &token, "mall_leasing", 0.4).await;
    let text = profile(&memory(&app, &token).await);
    assert!(
        text.contains("Other possible personas: mall_leasing (0.40)"),
        "{text}"
    );
}

/// `AgentAdminService.shared_blocks` used to be stored and never read.
async fn admin_created_agents_get_the_users_persona_blocks_and_profile(app: TestApp) {
    let token = app.admin_token().await;
    assign(&app, &token, "qsr_real_estate", 0.8).await;
    let me = app.me_json(&token).await;
    assert_eq!(me["agent_id"], Value::Null);
    let response = app
        .post_authed("/letta/agents", &token, &json!({"user_id": me["id"]}))
        .await;
    assert_eq!(response.status(), 201);
    let blocks = memory(&app, &token).await;
    assert!(block(&blocks, "qsr_real_estate_service_experience")["id"].is_string());
    assert!(
        profile(&blocks).contains("qsr_real_estate"),
        "{}",
        profile(&blocks)
    );
}

async fn chat_created_agents_get_the_users_persona_blocks_and_profile(app: TestApp) {
    let token = app.admin_token().await;
    assign(&app, &token, "mall_leasing", 0.7).await;
    let conv = app.conversation_id(&token).await;
    assert_eq!(app.send_message(&token, &conv, "hello").await.status(), 201);
    let blocks = memory(&app, &token).await;
    assert!(block(&blocks, "mall_leasing_service_experience")["id"].is_string());
    assert!(
        profile(&blocks).contains("mall_leasing"),
        "{}",
        profile(&blocks)
    );
}

/// `cargo xtask seed` links each demo user to a persona: their agent's profile says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_demo_agents_know_their_persona() {
    let mode = AgentMode::Embedded { llm_base_url: None };
    run_with(pi_store::Engine::Sqlite, mode, |app| async move {
        let settings = pi_server::Settings {
            persona_seed_password: Some(pi_server::config::Secret::new("demo-password-123")),
            ..app.settings.clone()
        };
        let mut out = Vec::new();
        pi_server::seed::run(&settings, &mut out).await.unwrap();
        let login: Value = app
            .login("demo.qsr-real-estate@example.com", "demo-password-123")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(login["user"]["persona_handle"], "qsr_real_estate");
        let token = login["access_token"].as_str().unwrap();
        let text = profile(&memory(&app, token).await);
        assert!(
            text.starts_with("Professional persona: qsr_real_estate (confidence 1.00)"),
            "{text}"
        );
    })
    .await;
}
