//! `GET /metrics`: Prometheus text, labelled by route pattern; guarded by loopback or a token.

use pi_server::Application;
use pi_server::config::Secret;
use serde_json::Value;

use crate::helpers::{TestApp, error_body};

pi_store::engine_tests!(crate::helpers::run_named => [
    requests_are_counted_by_route_pattern,
    a_metrics_token_is_required_once_configured,
]);

async fn requests_are_counted_by_route_pattern(app: TestApp) {
    for _ in 0..2 {
        assert_eq!(app.get("/health").await.status(), 200);
    }
    let conv = "0b6f1c9e-3f43-4a36-9a55-6f1e0d3f2a11";
    let anonymous = app
        .get(&format!("/chat/conversations/{conv}/messages"))
        .await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.get("/no/such/route").await.status(), 404);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("pi_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"),
        "{text}"
    );
    assert!(text.contains(
        "pi_http_requests_total{method=\"GET\",route=\"/chat/conversations/{id}/messages\",status=\"401\"} 1"
    ));
    assert!(
        text.contains("route=\"unmatched\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(!text.contains(conv), "raw paths never become labels");
    assert!(text.contains("pi_http_request_duration_seconds_count{route=\"/health\"} 2"));
    assert!(text.contains("# TYPE pi_http_request_duration_seconds histogram"));
    assert!(text.contains("pi_build_info{version=\""));
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
    assert!(body["detail"].as_str().unwrap().contains("METRICS_TOKEN"));
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
