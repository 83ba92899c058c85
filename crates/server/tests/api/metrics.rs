//! `GET /metrics`: Prometheus text, labelled by route pattern; guarded by loopback (the client
//! resolved through trusted proxies) or a token.

use pi_server::Application;
use pi_server::config::Secret;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_body};
use crate::process::{free_port, start_server_with};

pi_store::engine_tests!(crate::helpers::run_named => [
    a_metrics_token_is_required_once_configured,
]);

/// One replica (its own process: the recorder is process-wide) after a known set of requests,
/// its agent on an OpenAI-compatible LLM (a fake one).
#[tokio::test]
async fn a_replica_reports_its_traffic_turns_tools_throttling_pool_and_process() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/pi.db?mode=rwc", dir.path().display());
    let port = free_port();
    let llm = pi_testkit::openai::FakeLlm::start().unwrap();
    // Start-up waited for one `GET /health` answered 200.
    let mut server = start_server_with(
        &url,
        port,
        &[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("LOGIN_MAX_ATTEMPTS_PER_ACCOUNT", "2"),
            ("LLM_BASE_URL", llm.base_url()),
            ("LLM_MODEL", pi_testkit::openai::MODEL_ID),
        ],
    )
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let health = client.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200);
    }
    let conv = "0b6f1c9e-3f43-4a36-9a55-6f1e0d3f2a11";
    let anonymous = client
        .get(format!("{base}/chat/conversations/{conv}/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let missing = client
        .get(format!("{base}/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // A turn with a tool call, and a throttled login.
    let signup: Value = client
        .post(format!("{base}/auth/signup"))
        .json(&json!({"email": "m@example.com", "password": "password123", "display_name": "M"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().unwrap();
    let created: Value = client
        .post(format!("{base}/chat/conversations"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let said = client
        .post(format!(
            "{base}/chat/conversations/{}/messages",
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(token)
        .json(&json!({"content": "I lead real estate for a QSR chain"}))
        .send()
        .await
        .unwrap();
    assert_eq!(said.status(), 201);
    for _ in 0..3 {
        client
            .post(format!("{base}/auth/login"))
            .json(&json!({"email": "m@example.com", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
    }

    // Behind a trusted proxy on this host, the client it names is who asks: not loopback.
    let proxied = client
        .get(format!("{base}/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 403);
    let response = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    for expected in [
        "pi_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 3",
        "pi_http_requests_total{method=\"GET\",route=\"/chat/conversations/{id}/messages\",status=\"401\"} 1",
        "route=\"unmatched\",status=\"404\"} 1",
        "pi_http_request_duration_seconds_count{route=\"/health\"} 3",
        "# TYPE pi_http_request_duration_seconds histogram",
        "pi_agent_turn_duration_seconds_count{backend=\"embedded\",outcome=\"ok\"} 1",
        "pi_tool_call_duration_seconds_count{tool=\"update_user_persona_profile_in_db\",outcome=\"ok\"} 1",
        "pi_login_throttled_total 1",
        "pi_llm_request_duration_seconds_count{status=\"200\"} 2",
        &format!(
            "pi_db_pool_connections{{state=\"max\"}} {}",
            pi_store::sqlite_pool()
        ),
        "pi_db_pool_connections{state=\"in_use\"}",
        "pi_process_resident_memory_bytes ",
        "pi_process_open_fds ",
        "pi_process_cpu_seconds_total ",
        "pi_build_info{version=\"",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert!(!text.contains(conv), "raw paths never become labels");
    server.kill().await.unwrap();
    server.wait().await.unwrap();
}

async fn a_metrics_token_is_required_once_configured(app: TestApp) {
    let mut settings = app.settings.clone();
    settings.metrics_token = Some(Secret::new("metrics-token-123"));
    let guarded = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", guarded.port());
    tokio::spawn(guarded.run_until_stopped());
    let without = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    let body: Value = error_body(without, 403, "metrics_forbidden").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("METRICS_TOKEN"), "{detail}");
    // Issue 31 (6): this loopback caller is refused, so the message must not offer loopback.
    assert!(!detail.contains("loopback"), "{detail}");
    let wrong = app
        .client
        .get(format!("{base}/metrics"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let with = app
        .client
        .get(format!("{base}/metrics"))
        .bearer_auth("metrics-token-123")
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    assert!(
        with.text()
            .await
            .unwrap()
            .contains("pi_http_requests_total")
    );
    // The console's admin view reads them with the admin's own token; a user's token does not.
    let user = app.signup_token("metrics-user@example.com").await;
    let as_user = app
        .client
        .get(format!("{base}/metrics"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    error_body(as_user, 403, "metrics_forbidden").await;
    let admin = app.admin_token().await;
    let as_admin = app
        .client
        .get(format!("{base}/metrics"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(as_admin.status(), 200);
    // Auth schemes are case-insensitive (RFC 9110 §11.1).
    for scheme in ["bearer", "BEARER"] {
        let response = app
            .client
            .get(format!("{base}/metrics"))
            .header("authorization", format!("{scheme} metrics-token-123"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
}
