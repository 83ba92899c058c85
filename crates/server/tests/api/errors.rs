//! actix's own errors come back as our JSON `{detail, code}`, never plain text or a 500.

use crate::helpers::{TestApp, error_body};

pi_store::engine_tests!(crate::helpers::run_named => [
    unknown_route_is_json_404,
    wrong_method_is_json_405,
    malformed_json_is_400,
    missing_or_wrong_content_type_is_415,
    oversized_body_is_413,
]);

async fn unknown_route_is_json_404(app: TestApp) {
    let body = error_body(app.get("/no/such/route").await, 404, "not_found").await;
    assert!(body["detail"].as_str().unwrap().contains("/no/such/route"));
    let response = app.client.post(app.url("/auth/nope")).send().await.unwrap();
    error_body(response, 404, "not_found").await;
}

async fn wrong_method_is_json_405(app: TestApp) {
    let response = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(response.headers().get("allow").unwrap(), "GET");
    error_body(response, 405, "method_not_allowed").await;
    let response = app.get("/auth/login").await;
    error_body(response, 405, "method_not_allowed").await;
}

async fn malformed_json_is_400(app: TestApp) {
    for body in ["{\"email\": ", "{not json}", "", "{} trailing", "nul"] {
        let response = app
            .client
            .post(app.url("/auth/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        error_body(response, 400, "invalid_json").await;
    }
}

async fn missing_or_wrong_content_type_is_415(app: TestApp) {
    let json = r#"{"email":"a@example.com","password":"password123"}"#;
    let response = app
        .client
        .post(app.url("/auth/login"))
        .body(json)
        .send()
        .await
        .unwrap();
    error_body(response, 415, "unsupported_media_type").await;
    let response = app
        .client
        .post(app.url("/auth/login"))
        .header("content-type", "text/plain")
        .body(json)
        .send()
        .await
        .unwrap();
    error_body(response, 415, "unsupported_media_type").await;
    // A charset parameter is fine.
    let response = app
        .client
        .post(app.url("/auth/login"))
        .header("content-type", "application/json; charset=utf-8")
        .body(json)
        .send()
        .await
        .unwrap();
    error_body(response, 401, "invalid_credentials").await;
}

async fn oversized_body_is_413(app: TestApp) {
    // The test app's limit is 64 KiB.
    let big = format!(
        r#"{{"email":"a@example.com","password":"x","display_name":"{}"}}"#,
        "n".repeat(70 * 1024)
    );
    let response = app
        .client
        .post(app.url("/auth/signup"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    error_body(response, 413, "payload_too_large").await;
}
