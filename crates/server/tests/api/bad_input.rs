//! Bad input at every route, on both databases: control characters, NUL, oversized fields,
//! wrong types, bogus cursors and ids. Each answer is a 4xx JSON error with a clear message
//! (naming the field where there is one); never a 5xx, and nothing is half-written.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pi_store::engine_tests!(crate::helpers::run_named => [
    every_route_answers_bad_input_with_a_json_4xx,
    nul_bytes_are_refused_before_any_write,
    out_of_range_cursors_are_422_naming_before,
    admin_routes_refuse_users_before_reading_the_body,
    a_null_body_is_no_body,
    archival_search_text_is_validated,
]);

/// One bad request and what must come back.
struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn case(
    method: Method,
    path: impl Into<String>,
    body: Option<Value>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        method,
        path: path.into(),
        body,
        status,
        code,
        field,
    }
}

async fn check(app: &TestApp, token: &str, c: &Case) {
    let mut request = app
        .client
        .request(c.method.clone(), app.url(&c.path))
        .bearer_auth(token);
    if let Some(body) = &c.body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let what = format!("{} {} {:?}", c.method, c.path, c.body);
    assert_eq!(status, c.status, "{what}: {text}");
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {content_type}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], c.code, "{what}: {body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(!detail.is_empty(), "{what}: {body}");
    for leak in [
        "invalid byte sequence",
        "out of range",
        "sqlx",
        "SQL",
        "panicked",
    ] {
        assert!(
            !detail.contains(leak),
            "{what}: backend text leaked: {body}"
        );
    }
    if let Some(field) = c.field {
        assert_eq!(body["errors"][0]["field"], field, "{what}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

async fn every_route_answers_bad_input_with_a_json_4xx(app: TestApp) {
    let admin = app.admin_token().await;
    let token = app.signup_token("fuzz@example.com").await;
    let conv = app.conversation_id(&token).await;
    let messages = format!("/chat/conversations/{conv}/messages");
    let long = "x".repeat(16_001);
    let nul = "hello\u{0}world";
    let post = Method::POST;
    let get = Method::GET;
    let patch = Method::PATCH;
    let user_cases = [
        // Sign-up fields.
        case(
            post.clone(),
            "/auth/signup",
            Some(
                json!({"email": "a\u{0}@example.com", "password": "password123", "display_name": "A"}),
            ),
            422,
            "validation_error",
            Some("email"),
        ),
        case(
            post.clone(),
            "/auth/signup",
            Some(
                json!({"email": "<script>@x.example", "password": "password123", "display_name": "A"}),
            ),
            422,
            "validation_error",
            Some("email"),
        ),
        case(
            post.clone(),
            "/auth/signup",
            Some(
                json!({"email": "b@example.com", "password": "password123", "display_name": "A\u{0}"}),
            ),
            422,
            "validation_error",
            Some("display_name"),
        ),
        case(
            post.clone(),
            "/auth/signup",
            Some(json!({"email": "b@example.com", "password": 12345678, "display_name": "A"})),
            422,
            "validation_error",
            Some("password"),
        ),
        case(
            post.clone(),
            "/auth/signup",
            Some(
                json!({"email": "b@example.com", "password": "p".repeat(73), "display_name": "A"}),
            ),
            422,
            "validation_error",
            Some("password"),
        ),
        case(
            post.clone(),
            "/auth/login",
            Some(json!({"email": "fuzz@example.com", "password": "pass\u{0}word"})),
            401,
            "invalid_credentials",
            None,
        ),
        case(
            post.clone(),
            "/auth/login",
            Some(json!({"email": ["x"], "password": "x"})),
            422,
            "validation_error",
            Some("email"),
        ),
        // Conversations.
        case(
            post.clone(),
            "/chat/conversations",
            Some(json!({"title": "a\u{0}b"})),
            422,
            "validation_error",
            Some("title"),
        ),
        case(
            post.clone(),
            "/chat/conversations",
            Some(json!({"title": "line\nbreak"})),
            422,
            "validation_error",
            Some("title"),
        ),
        case(
            post.clone(),
            "/chat/conversations",
            Some(json!({"title": 5})),
            422,
            "validation_error",
            Some("title"),
        ),
        case(
            post.clone(),
            "/chat/conversations",
            Some(json!({"title": "t".repeat(256)})),
            422,
            "validation_error",
            Some("title"),
        ),
        case(
            patch.clone(),
            format!("/chat/conversations/{conv}"),
            Some(json!({"title": "a\u{0}b"})),
            422,
            "validation_error",
            Some("title"),
        ),
        case(
            patch.clone(),
            format!("/chat/conversations/{conv}"),
            Some(json!({"title": null})),
            422,
            "validation_error",
            Some("title"),
        ),
        case(
            patch.clone(),
            "/chat/conversations/not-a-uuid",
            Some(json!({"title": "ok"})),
            404,
            "not_found",
            None,
        ),
        case(
            get.clone(),
            "/chat/conversations?limit=-1",
            None,
            422,
            "validation_error",
            Some("limit"),
        ),
        case(
            get.clone(),
            "/chat/conversations?limit=abc",
            None,
            422,
            "validation_error",
            Some("limit"),
        ),
        case(
            get.clone(),
            "/chat/conversations?limit=0",
            None,
            422,
            "validation_error",
            Some("limit"),
        ),
        case(
            get.clone(),
            "/chat/conversations?limit=101",
            None,
            422,
            "validation_error",
            Some("limit"),
        ),
        case(
            get.clone(),
            "/chat/conversations?before=garbage",
            None,
            422,
            "validation_error",
            Some("before"),
        ),
        case(
            get.clone(),
            "/chat/conversations/00000000-0000-0000-0000-000000000000/messages",
            None,
            404,
            "conversation_not_found",
            None,
        ),
        // Messages.
        case(
            post.clone(),
            messages.clone(),
            Some(json!({"content": nul})),
            422,
            "validation_error",
            Some("content"),
        ),
        case(
            post.clone(),
            format!("{messages}/stream"),
            Some(json!({"content": nul})),
            422,
            "validation_error",
            Some("content"),
        ),
        case(
            post.clone(),
            messages.clone(),
            Some(json!({"content": "\u{1b}[31mred"})),
            422,
            "validation_error",
            Some("content"),
        ),
        case(
            post.clone(),
            messages.clone(),
            Some(json!({"content": long})),
            422,
            "validation_error",
            Some("content"),
        ),
        case(
            post.clone(),
            messages.clone(),
            Some(json!({"content": {"text": "hi"}})),
            422,
            "validation_error",
            Some("content"),
        ),
        case(
            post.clone(),
            "/chat/messages",
            Some(json!({"message": nul})),
            422,
            "validation_error",
            Some("message"),
        ),
        // Someone else's or no agent.
        case(
            get.clone(),
            "/letta/agents/agent-%00x/memory",
            None,
            404,
            "agent_not_found",
            None,
        ),
        case(
            get.clone(),
            "/letta/agents/agent-%00x/archival",
            None,
            404,
            "agent_not_found",
            None,
        ),
    ];
    for c in &user_cases {
        check(&app, &token, c).await;
    }
    let admin_cases = [
        case(
            get.clone(),
            "/letta/agents/agent-%00x/memory",
            None,
            404,
            "agent_not_found",
            None,
        ),
        case(
            get.clone(),
            "/letta/agents/agent-%00x/archival",
            None,
            404,
            "agent_not_found",
            None,
        ),
        case(
            get.clone(),
            format!("/letta/agents/{}/memory", "a".repeat(129)),
            None,
            404,
            "agent_not_found",
            None,
        ),
        case(
            post.clone(),
            "/letta/agents/agent-%00x/messages",
            Some(json!({"content": "hi"})),
            404,
            "agent_not_found",
            None,
        ),
        case(
            post.clone(),
            "/letta/agents/any-agent/messages",
            Some(json!({"content": nul})),
            422,
            "validation_error",
            Some("content"),
        ),
        case(
            get.clone(),
            "/letta/agents/any-agent/archival?limit=-1",
            None,
            422,
            "validation_error",
            Some("limit"),
        ),
        case(
            get.clone(),
            "/letta/agents/any-agent/archival?limit=1000",
            None,
            422,
            "validation_error",
            Some("limit"),
        ),
        case(
            post.clone(),
            "/letta/agents",
            Some(json!({"user_id": "not-a-uuid"})),
            422,
            "validation_error",
            Some("user_id"),
        ),
        case(
            post.clone(),
            "/letta/agents",
            Some(json!({"display_name": "a\u{0}b"})),
            422,
            "validation_error",
            Some("display_name"),
        ),
        case(
            post.clone(),
            "/tools/no_such_tool",
            Some(json!({})),
            404,
            "tool_not_found",
            None,
        ),
    ];
    for c in &admin_cases {
        check(&app, &admin, c).await;
    }
}

/// Issue 11 (2): PostgreSQL refused NUL with a 500 where SQLite stored it. One rule on both:
/// 422 naming the field, and nothing was written (no message, no renamed title).
async fn nul_bytes_are_refused_before_any_write(app: TestApp) {
    let token = app.signup_token("nul@example.com").await;
    let conv = app.create_conversation(&token).await;
    let id = conv["id"].as_str().unwrap();
    let response = app.send_message(&token, id, "hello\u{0}world").await;
    assert_eq!(response.status(), 422);
    let messages: Value = app.messages(&token, id).await.json().await.unwrap();
    assert_eq!(messages["messages"], json!([]));
    let renamed = app
        .client
        .patch(app.url(&format!("/chat/conversations/{id}")))
        .bearer_auth(&token)
        .json(&json!({"title": "a\u{0}b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 422);
    let list = app.get_json("/chat/conversations", &token).await;
    assert_eq!(list["conversations"][0]["title"], Value::Null);
    assert_eq!(app.agents.sent_count(), 0);
}

/// Issue 11 (3): a cursor whose instant PostgreSQL cannot represent was a 500 there and an
/// empty page on SQLite; both now say the cursor is invalid.
async fn out_of_range_cursors_are_422_naming_before(app: TestApp) {
    let token = app.signup_token("cursor@example.com").await;
    let zeros = "00000000000000000000000000000000";
    for cursor in [
        format!("-3000000000000000000_{zeros}"),
        format!("9223372036854775807_{zeros}"),
        format!("253402300800000000_{zeros}"),
        format!("-1_{zeros}"),
    ] {
        let response = app
            .get_authed(&format!("/chat/conversations?before={cursor}"), &token)
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 422, "{cursor}: {body}");
        assert_eq!(body["errors"][0]["field"], "before", "{body}");
    }
}

/// Found by schemathesis: a user got 422 for a malformed body on admin routes (telling them
/// how the body is checked) where `{}` gave 403. Admin rights are checked first.
async fn admin_routes_refuse_users_before_reading_the_body(app: TestApp) {
    let token = app.signup_token("nosy@example.com").await;
    for (path, body) in [
        ("/letta/agents", r#"{"user_id": ""}"#),
        ("/letta/agents/cleanup", "null"),
        ("/letta/agents/cleanup", r#"{"delete": "yes"}"#),
        ("/letta/agents/any/messages", r#"{"content": 5}"#),
        ("/letta/agents/any/adopt", "{"),
        ("/tools/search_places", "[1, 2]"),
    ] {
        let response = app
            .client
            .post(app.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 403, "{path} {body}: {text}");
    }
}

/// Optional bodies are documented as `T | null`: `null` means no body.
async fn a_null_body_is_no_body(app: TestApp) {
    let admin = app.admin_token().await;
    for (path, status) in [
        ("/chat/conversations", 201),
        ("/letta/agents/cleanup", 200),
        ("/letta/agents", 201),
        ("/tools/list_available_personas", 200),
    ] {
        let response = app
            .client
            .post(app.url(path))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("null")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
}

/// Archival search text reaches SQL `LIKE` (PostgreSQL refuses NUL): control characters and
/// overlong text are 422 naming `query`.
async fn archival_search_text_is_validated(app: TestApp) {
    let admin = app.admin_token().await;
    for query in ["a%00b", "%1B%5B31m", &"q".repeat(1001)] {
        let response = app
            .get_authed(
                &format!("/letta/agents/any-agent/archival?query={query}"),
                &admin,
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], "query");
    }
}
