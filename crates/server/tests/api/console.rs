//! The console at `/`: the page and its assets come from the binary, revalidate by ETag, compress,
//! and never shadow or change the API's own answers.

use serde_json::Value;

use crate::helpers::{TestApp, error_body};

pi_store::engine_tests!(crate::helpers::run_named => [
    the_page_is_served_at_the_root_with_a_strict_policy,
    every_asset_the_page_names_is_served_with_its_type,
    assets_revalidate_by_etag_and_compress,
    unknown_or_escaping_asset_paths_are_json_404s,
    the_api_is_unchanged_beside_the_console,
]);

async fn the_page_is_served_at_the_root_with_a_strict_policy(app: TestApp) {
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-cache");
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/console/app.js">"#));
    // The page loads nothing from another origin.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let head = app.client.head(app.url("/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

async fn every_asset_the_page_names_is_served_with_its_type(app: TestApp) {
    let html = app.get("/").await.text().await.unwrap();
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/console/"))
        .collect();
    assert!(assets.len() >= 7, "{assets:?}");
    for path in assets.into_iter().chain([
        "/console/vendor/states-10m.json",
        "/console/vendor/LICENSES.txt",
    ]) {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let expected = match path.rsplit('.').next().unwrap() {
            "js" => "javascript",
            "css" => "text/css",
            "json" => "application/json",
            "svg" => "image/svg+xml",
            "txt" => "text/plain",
            other => panic!("unexpected asset type {other}"),
        };
        assert!(kind.contains(expected), "{path}: {kind}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
    }
    // The map's outlines are real geography: the 50 states, DC and territories.
    let states: Value = app
        .get("/console/vendor/states-10m.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        states["objects"]["states"]["geometries"]
            .as_array()
            .unwrap()
            .len()
            >= 51
    );
}

async fn assets_revalidate_by_etag_and_compress(app: TestApp) {
    let first = app.get("/console/app.js").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\"") && etag.len() == 68, "{etag}");
    let size = first.bytes().await.unwrap().len();
    let again = app
        .client
        .get(app.url("/console/app.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    // Weak comparison (RFC 9110 §13.1.2): a proxy that strips or adds `W/` still gets a 304.
    for tag in [etag.trim_start_matches("W/").to_owned(), "*".to_owned()] {
        let revalidated = app
            .client
            .get(app.url("/console/app.js"))
            .header("if-none-match", format!("\"x\", {tag}"))
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304, "{tag}");
    }
    let stale = app
        .client
        .get(app.url("/console/app.js"))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    let gzip = app
        .client
        .get(app.url("/console/vendor/chart.umd.min.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let compressed = gzip.bytes().await.unwrap().len();
    let plain = app
        .get("/console/vendor/chart.umd.min.js")
        .await
        .bytes()
        .await
        .unwrap()
        .len();
    assert!(compressed * 2 < plain, "{compressed} vs {plain}");
    assert!(size > 0);
}

async fn unknown_or_escaping_asset_paths_are_json_404s(app: TestApp) {
    for path in [
        "/console/nope.js",
        "/console/index.html",
        "/console/../Cargo.toml",
        "/console/%2e%2e/%2e%2e/Cargo.toml",
        "/console/vendor/",
    ] {
        let response = app.get(path).await;
        error_body(response, 404, "not_found").await;
    }
    let post = app
        .client
        .post(app.url("/"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    error_body(post, 405, "method_not_allowed").await;
}

async fn the_api_is_unchanged_beside_the_console(app: TestApp) {
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    error_body(app.get("/nope").await, 404, "not_found").await;
    assert_eq!(app.get("/openapi.json").await.status(), 200);
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(
        paths.keys().all(|p| p != "/" && !p.starts_with("/console")),
        "the console is not part of the API contract"
    );
    // The SSE stream is not compressed (it would hold deltas back) even when gzip is accepted.
    let token = app.signup_token("console-stream@example.com").await;
    let conversation = app.conversation_id(&token).await;
    let response = app
        .client
        .post(app.url(&format!(
            "/chat/conversations/{conversation}/messages/stream"
        )))
        .bearer_auth(&token)
        .header("accept-encoding", "gzip")
        .json(&serde_json::json!({"content": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-encoding").is_none());
    let body = response.text().await.unwrap();
    assert!(body.contains("event: done"), "{body}");
}
