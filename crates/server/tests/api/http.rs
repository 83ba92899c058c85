//! Request ids, CORS for the chat UI, OpenAPI and the docs page.

use serde_json::Value;

use crate::helpers::{TestApp, UI_ORIGIN, error_body};

pi_store::engine_tests!(crate::helpers::run_named => [
    every_response_has_a_request_id,
    an_incoming_request_id_is_honoured,
    preflight_from_the_ui_origin_is_allowed_without_a_token,
    cors_headers_are_on_error_responses_too,
    other_origins_get_no_cors_grant,
    openapi_documents_every_route_and_the_bearer_scheme,
    docs_page_is_served,
]);

async fn every_response_has_a_request_id(app: TestApp) {
    for response in [
        app.get("/health").await,
        app.get("/nope").await,
        app.get("/auth/me").await,
    ] {
        let id = response
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
    let a = app.get("/health").await;
    let b = app.get("/health").await;
    assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);
}

async fn an_incoming_request_id_is_honoured(app: TestApp) {
    let response = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "ui-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "ui-trace-42");
    // An unreasonable one (too long) is replaced, not echoed.
    let long = "x".repeat(500);
    let response = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
}

async fn preflight_from_the_ui_origin_is_allowed_without_a_token(app: TestApp) {
    for path in [
        "/auth/me",
        "/auth/login",
        "/chat/conversations",
        "/anything",
    ] {
        let response = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", UI_ORIGIN)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], UI_ORIGIN);
        assert_eq!(headers["access-control-allow-credentials"], "true");
        let allowed = headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{allowed}"
        );
    }
    // A bare OPTIONS (not a preflight) is fine too, and `Allow` lists what the route has.
    for (path, allow) in [
        ("/auth/me", "GET, OPTIONS"),
        ("/chat/conversations", "POST, GET, OPTIONS"),
        ("/metrics", "GET, OPTIONS"),
    ] {
        let response = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        assert_eq!(response.headers()["allow"], allow, "{path}");
    }
    // Every method a route lacks is a 405 with `Allow`, /metrics included.
    for path in ["/metrics", "/health"] {
        let response = app
            .client
            .request(reqwest::Method::TRACE, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{path}");
        assert_eq!(response.headers()["allow"], "GET", "{path}");
    }
}

async fn cors_headers_are_on_error_responses_too(app: TestApp) {
    let response = app
        .client
        .get(app.url("/auth/me"))
        .header("origin", UI_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], UI_ORIGIN);
    error_body(response, 401, "not_authenticated").await;
    let response = app
        .client
        .get(app.url("/missing"))
        .header("origin", UI_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], UI_ORIGIN);
    error_body(response, 404, "not_found").await;
}

async fn other_origins_get_no_cors_grant(app: TestApp) {
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/auth/me"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = app
        .client
        .get(app.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

async fn openapi_documents_every_route_and_the_bearer_scheme(app: TestApp) {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    // Served as serialised once at start-up: the whole document, every time.
    use utoipa::OpenApi as _;
    assert_eq!(
        doc,
        serde_json::to_value(pi_api::ApiDoc::openapi()).unwrap()
    );
    assert_eq!(
        app.get("/openapi.json")
            .await
            .json::<Value>()
            .await
            .unwrap(),
        doc
    );
    // Every `$ref` names a component the document has (an unresolvable one stops clients and
    // fuzzers reading the operation).
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "unresolvable $ref {r}"
        );
    }
    for (path, method) in [
        ("/health", "get"),
        ("/healthz", "get"),
        ("/health/ready", "get"),
        ("/auth/signup", "post"),
        ("/auth/register", "post"),
        ("/auth/login", "post"),
        ("/auth/me", "get"),
        ("/chat/messages", "post"),
        ("/chat/conversations", "post"),
        ("/chat/conversations", "get"),
        ("/chat/conversations/{id}", "patch"),
        ("/chat/conversations/{id}", "delete"),
        ("/chat/conversations/{id}/messages", "get"),
        ("/chat/conversations/{id}/messages", "post"),
        ("/chat/conversations/{id}/messages/stream", "post"),
        ("/metrics", "get"),
        ("/personas", "get"),
        ("/letta/agents", "post"),
        ("/letta/agents", "get"),
        ("/letta/agents/overview", "get"),
        ("/letta/agents/{id}/messages", "post"),
        ("/letta/agents/{id}/memory", "get"),
        ("/letta/agents/{id}/archival", "get"),
        ("/letta/agents/cleanup", "post"),
        ("/letta/agents/{id}/adopt", "post"),
        ("/tools", "get"),
        ("/tools/{name}", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    assert!(
        doc["paths"]["/chat/conversations/{id}/messages/stream"]["post"]["responses"]["200"]
            ["content"]["text/event-stream"]
            .is_object(),
        "the stream route documents its event-stream body"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc["paths"]["/auth/me"]["get"]["security"][0]["bearer"],
        serde_json::json!([])
    );
    for schema in [
        "SignupBody",
        "LoginBody",
        "TokenResponse",
        "UserPublic",
        "ErrorBody",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
}

async fn docs_page_is_served(app: TestApp) {
    let response = app.get("/docs").await;
    assert!(response.status().is_redirection());
    let response = app.get("/docs/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    let response = app.get("/docs/swagger-ui.css").await;
    assert_eq!(response.status(), 200);
    // The page loads the document the server serves itself.
    let init = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("\"/openapi.json\""));
}
