//! Conversations and messages over HTTP, with the fake agent backend.

use pi_domain::agent::AgentError;
use serde_json::{Value, json};

use crate::helpers::{AgentMode, TestApp, error_body, run_with};

pi_store::engine_tests!(crate::helpers::run_named => [
    full_chat_flow,
    conversation_title_is_validated_and_kept,
    the_list_gives_back_each_conversation_as_created,
    pagination_walks_every_conversation_once_newest_activity_first,
    rename_and_delete_cascade,
    another_users_conversation_is_404,
    unknown_or_malformed_conversation_id_is_404,
    content_must_be_1_to_16000_characters,
    concurrent_first_messages_create_one_agent,
    agent_failure_keeps_the_user_message_and_resending_is_safe,
    agent_timeout_is_504,
    a_vanished_agent_is_replaced,
    legacy_echo_still_answers,
    chat_routes_require_a_token,
    one_message_costs_a_fixed_number_of_sql_statements,
    each_read_route_costs_one_sql_statement,
    thirty_two_concurrent_senders_on_one_conversation_all_succeed,
]);

async fn full_chat_flow(app: TestApp) {
    let token = app.signup_token("chat@example.com").await;
    assert_eq!(app.me_json(&token).await["agent_id"], Value::Null);
    let conv = app.create_conversation(&token).await;
    assert_eq!(conv["title"], Value::Null);
    let id = conv["id"].as_str().unwrap();

    let response = app
        .send_message(&token, id, "Which coffee chains are busiest in Austin?")
        .await;
    assert_eq!(response.status(), 201);
    let exchange: Value = response.json().await.unwrap();
    assert_eq!(exchange["user_message"]["role"], "user");
    assert_eq!(
        exchange["user_message"]["content"],
        "Which coffee chains are busiest in Austin?"
    );
    assert_eq!(exchange["assistant_message"]["role"], "agent");
    assert_eq!(
        exchange["assistant_message"]["content"],
        "Echo: Which coffee chains are busiest in Austin?"
    );
    assert_eq!(exchange["steps"][0]["type"], "reasoning");

    // The agent was created lazily, from the template, with the user's name in `human`.
    let me = app.me_json(&token).await;
    let agent_id = me["agent_id"].as_str().unwrap().to_owned();
    let spec = app
        .agents
        .spec_of(&pi_domain::agent::AgentId(agent_id.clone()))
        .unwrap();
    let human = spec
        .memory_blocks
        .iter()
        .find(|b| b.label == "human")
        .unwrap();
    assert!(
        human.value.contains("User name: Test User"),
        "{}",
        human.value
    );
    assert_eq!(spec.metadata["pi_user_id"], me["id"]);

    app.send_message(&token, id, "And in Dallas?").await;
    let messages: Value = app.messages(&token, id).await.json().await.unwrap();
    let messages = messages["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "agent", "user", "agent"]);
    assert_eq!(messages[3]["content"], "Echo: And in Dallas?");
    for m in messages {
        assert!(chrono::DateTime::parse_from_rfc3339(m["created_at"].as_str().unwrap()).is_ok());
    }

    // Title from the first message; updated_at moved.
    let list: Value = app.get_json("/chat/conversations", &token).await;
    let listed = &list["conversations"][0];
    assert_eq!(listed["title"], "Which coffee chains are busiest in Austin");
    assert!(listed["updated_at"].as_str().unwrap() > conv["updated_at"].as_str().unwrap());
    assert_eq!(list["next_cursor"], Value::Null);
    assert_eq!(app.agents.created_count(), 1);
}

async fn conversation_title_is_validated_and_kept(app: TestApp) {
    let token = app.signup_token("title@example.com").await;
    let response = app
        .post_authed(
            "/chat/conversations",
            &token,
            &json!({"title": "  Q3 site review "}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let conv: Value = response.json().await.unwrap();
    assert_eq!(conv["title"], "Q3 site review");
    // A given title is not replaced by the first message.
    app.send_message(&token, conv["id"].as_str().unwrap(), "hello there")
        .await;
    let list: Value = app.get_json("/chat/conversations", &token).await;
    assert_eq!(list["conversations"][0]["title"], "Q3 site review");
    for bad in [
        json!({"title": ""}),
        json!({"title": "x".repeat(256)}),
        json!({"title": 5}),
    ] {
        let response = app.post_authed("/chat/conversations", &token, &bad).await;
        let body = error_body(response, 422, "validation_error").await;
        assert_eq!(body["errors"][0]["field"], "title");
    }
    // A JSON `{}` is as good as no body.
    let response = app
        .post_authed("/chat/conversations", &token, &json!({}))
        .await;
    assert_eq!(response.status(), 201);
}

/// Titles with the list query's separators and JSON's special characters, and no title, come
/// back as created, with their ids and times, newest first.
async fn the_list_gives_back_each_conversation_as_created(app: TestApp) {
    let token = app.signup_token("list-fields@example.com").await;
    let mut created = Vec::new();
    for title in [
        json!({"title": "Dallas, Austin, \"Houston\""}),
        json!({}),
        json!({"title": ",,"}),
        json!({"title": "back\\slash ☕ [1,2] {\"a\":null}"}),
    ] {
        let response = app.post_authed("/chat/conversations", &token, &title).await;
        assert_eq!(response.status(), 201);
        created.push(response.json::<Value>().await.unwrap());
    }
    created.reverse();
    let list: Value = app.get_json("/chat/conversations", &token).await;
    assert_eq!(list["conversations"], Value::Array(created));
}

async fn pagination_walks_every_conversation_once_newest_activity_first(app: TestApp) {
    let token = app.signup_token("pages@example.com").await;
    let mut created = Vec::new();
    for _ in 0..7 {
        created.push(app.conversation_id(&token).await);
    }
    // Activity on the oldest moves it to the top.
    app.send_message(&token, &created[0], "bump").await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/chat/conversations?limit=3&before={c}"),
            None => "/chat/conversations?limit=3".to_owned(),
        };
        let page: Value = app.get_json(&path, &token).await;
        pages += 1;
        for c in page["conversations"].as_array().unwrap() {
            seen.push((
                c["updated_at"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen[0].1, created[0]);
    let mut ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 7);
    for pair in seen.windows(2) {
        let a = chrono::DateTime::parse_from_rfc3339(&pair[0].0).unwrap();
        let b = chrono::DateTime::parse_from_rfc3339(&pair[1].0).unwrap();
        assert!(a >= b);
    }
    for bad in ["limit=0", "limit=101", "limit=abc", "before=garbage"] {
        let response = app
            .get_authed(&format!("/chat/conversations?{bad}"), &token)
            .await;
        error_body(response, 422, "validation_error").await;
    }
}

async fn rename_and_delete_cascade(app: TestApp) {
    let token = app.signup_token("rename@example.com").await;
    let id = app.conversation_id(&token).await;
    app.send_message(&token, &id, "hello").await;
    let response = app
        .client
        .patch(app.url(&format!("/chat/conversations/{id}")))
        .bearer_auth(&token)
        .json(&json!({"title": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let renamed: Value = response.json().await.unwrap();
    assert_eq!(renamed["title"], "Renamed");

    let delete = || {
        app.client
            .delete(app.url(&format!("/chat/conversations/{id}")))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(delete().await.unwrap().status(), 204);
    error_body(
        app.messages(&token, &id).await,
        404,
        "conversation_not_found",
    )
    .await;
    error_body(delete().await.unwrap(), 404, "conversation_not_found").await;
    let list: Value = app.get_json("/chat/conversations", &token).await;
    assert_eq!(list["conversations"], json!([]));
}

async fn another_users_conversation_is_404(app: TestApp) {
    let ada = app.signup_token("ada@example.com").await;
    let bob = app.signup_token("bob@example.com").await;
    let id = app.conversation_id(&ada).await;
    app.send_message(&ada, &id, "private").await;
    let sent_before = app.agents.sent_count();

    error_body(app.messages(&bob, &id).await, 404, "conversation_not_found").await;
    error_body(
        app.send_message(&bob, &id, "hi").await,
        404,
        "conversation_not_found",
    )
    .await;
    let patch = app
        .client
        .patch(app.url(&format!("/chat/conversations/{id}")))
        .bearer_auth(&bob)
        .json(&json!({"title": "mine"}))
        .send()
        .await
        .unwrap();
    error_body(patch, 404, "conversation_not_found").await;
    let delete = app
        .client
        .delete(app.url(&format!("/chat/conversations/{id}")))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    error_body(delete, 404, "conversation_not_found").await;
    let list: Value = app.get_json("/chat/conversations", &bob).await;
    assert_eq!(list["conversations"], json!([]));
    // Nothing reached an agent, and Ada's conversation is intact.
    assert_eq!(app.agents.sent_count(), sent_before);
    let messages: Value = app.messages(&ada, &id).await.json().await.unwrap();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 2);
}

async fn unknown_or_malformed_conversation_id_is_404(app: TestApp) {
    let token = app.signup_token("unknown@example.com").await;
    let random = uuid::Uuid::new_v4().to_string();
    error_body(
        app.messages(&token, &random).await,
        404,
        "conversation_not_found",
    )
    .await;
    error_body(
        app.send_message(&token, &random, "hi").await,
        404,
        "conversation_not_found",
    )
    .await;
    error_body(app.messages(&token, "not-a-uuid").await, 404, "not_found").await;
}

async fn content_must_be_1_to_16000_characters(app: TestApp) {
    let token = app.signup_token("content@example.com").await;
    let id = app.conversation_id(&token).await;
    for bad in [String::new(), "  \n\t ".into(), "é".repeat(16_001)] {
        let body = error_body(
            app.send_message(&token, &id, &bad).await,
            422,
            "validation_error",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "content");
    }
    let response = app
        .post_authed(
            &format!("/chat/conversations/{id}/messages"),
            &token,
            &json!({}),
        )
        .await;
    error_body(response, 422, "validation_error").await;
    assert_eq!(app.agents.sent_count(), 0);
    let max = "é".repeat(16_000);
    assert_eq!(app.send_message(&token, &id, &max).await.status(), 201);
}

async fn concurrent_first_messages_create_one_agent(app: TestApp) {
    app.agents.set_latency(std::time::Duration::from_millis(20));
    let token = app.signup_token("racer@example.com").await;
    let id = app.conversation_id(&token).await;
    let (app, statuses) = app.concurrent_sends(10, &token, &id, "message").await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(
        app.agents.created_count(),
        1,
        "exactly one agent was created"
    );
    let agents = app.agents.agent_ids();
    assert_eq!(agents.len(), 1);
    assert_eq!(app.me_json(&token).await["agent_id"], agents[0].0);
    let messages: Value = app.messages(&token, &id).await.json().await.unwrap();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 20);
}

async fn agent_failure_keeps_the_user_message_and_resending_is_safe(app: TestApp) {
    let token = app.signup_token("flaky@example.com").await;
    let id = app.conversation_id(&token).await;
    app.agents
        .fail_next([AgentError::Unavailable("connection refused".into())]);
    let body = error_body(
        app.send_message(&token, &id, "are you there?").await,
        502,
        "agent_unavailable",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("saved"));
    let messages: Value = app.messages(&token, &id).await.json().await.unwrap();
    let messages = messages["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "the user message is kept, no fake reply");
    assert_eq!(messages[0]["role"], "user");

    assert_eq!(
        app.send_message(&token, &id, "are you there?")
            .await
            .status(),
        201
    );
    let messages: Value = app.messages(&token, &id).await.json().await.unwrap();
    let roles: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "user", "agent"]);
}

async fn agent_timeout_is_504(app: TestApp) {
    let token = app.signup_token("slow@example.com").await;
    let id = app.conversation_id(&token).await;
    app.agents.fail_next([AgentError::Timeout]);
    error_body(
        app.send_message(&token, &id, "hello").await,
        504,
        "agent_timeout",
    )
    .await;
    let messages: Value = app.messages(&token, &id).await.json().await.unwrap();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 1);
}

async fn a_vanished_agent_is_replaced(app: TestApp) {
    use pi_domain::agent::AgentGateway;
    let token = app.signup_token("phoenix@example.com").await;
    let id = app.conversation_id(&token).await;
    app.send_message(&token, &id, "first").await;
    let old = app.me_json(&token).await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.agents
        .delete_agent(&pi_domain::agent::AgentId(old.clone()))
        .await
        .unwrap();
    assert_eq!(app.send_message(&token, &id, "second").await.status(), 201);
    let new = app.me_json(&token).await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(old, new);
    assert_eq!(app.agents.agent_ids().len(), 1);
}

async fn legacy_echo_still_answers(app: TestApp) {
    let token = app.signup_token("legacy@example.com").await;
    let response = app
        .post_authed("/chat/messages", &token, &json!({"message": "ping"}))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"reply": "ping"}));
    let response = app
        .post_authed("/chat/messages", &token, &json!({"message": ""}))
        .await;
    error_body(response, 422, "validation_error").await;
}

async fn chat_routes_require_a_token(app: TestApp) {
    let id = uuid::Uuid::new_v4();
    let requests = [
        app.client.post(app.url("/chat/conversations")),
        app.client.get(app.url("/chat/conversations")),
        app.client
            .patch(app.url(&format!("/chat/conversations/{id}"))),
        app.client
            .delete(app.url(&format!("/chat/conversations/{id}"))),
        app.client
            .get(app.url(&format!("/chat/conversations/{id}/messages"))),
        app.client
            .post(app.url(&format!("/chat/conversations/{id}/messages"))),
        app.client.post(app.url("/chat/messages")),
    ];
    for request in requests {
        let response = request.json(&json!({})).send().await.unwrap();
        error_body(response, 401, "not_authenticated").await;
    }
}

/// The write path never answers "database is locked" (SQLite) or deadlocks.
async fn thirty_two_concurrent_senders_on_one_conversation_all_succeed(app: TestApp) {
    let token = app.signup_token("crowd@example.com").await;
    let id = app.conversation_id(&token).await;
    app.send_message(&token, &id, "create the agent first")
        .await;
    let (app, statuses) = app.concurrent_sends(32, &token, &id, "sender").await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let messages: Value = app.messages(&token, &id).await.json().await.unwrap();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 2 + 64);
}

/// The hot path stays lean: with the agent already created, one `POST …/messages` runs
/// 1 SELECT (the caller) + 2 × (UPDATE conversation RETURNING + INSERT message), each pair in
/// its own transaction. (BEGIN/COMMIT are not counted by the store's statement counter.)
async fn one_message_costs_a_fixed_number_of_sql_statements(app: TestApp) {
    let token = app.signup_token("lean@example.com").await;
    let id = app.conversation_id(&token).await;
    app.send_message(&token, &id, "warm up: creates the agent")
        .await;
    let before = app.db.statements_executed();
    assert_eq!(
        app.send_message(&token, &id, "count me").await.status(),
        201
    );
    let used = app.db.statements_executed() - before;
    assert_eq!(used, 5, "statements for one message on {:?}", app.engine);
}

/// `AGENT_BACKEND=letta` with no Letta listening: the server starts, chat answers 502 JSON with
/// the user message kept, and readiness names the reason.
#[tokio::test]
async fn server_without_a_reachable_agent_backend_answers_502_and_is_not_ready() {
    let mode = AgentMode::Letta {
        base_url: "http://127.0.0.1:9".into(),
    };
    run_with(pi_store::Engine::Sqlite, mode, |app| async move {
        let token = app.signup_token("x@example.com").await;
        let id = app.conversation_id(&token).await;
        error_body(
            app.send_message(&token, &id, "hello").await,
            502,
            "agent_unavailable",
        )
        .await;
        let messages: Value = app.messages(&token, &id).await.json().await.unwrap();
        assert_eq!(messages["messages"].as_array().unwrap().len(), 1);
        let ready = app.get("/health/ready").await;
        assert_eq!(ready.status(), 503);
        let ready: Value = ready.json().await.unwrap();
        assert_eq!(ready["checks"]["database"]["status"], "ok");
        assert_eq!(ready["checks"]["agent_backend"]["status"], "error");
        assert!(
            ready["checks"]["agent_backend"]["detail"]
                .as_str()
                .unwrap()
                .contains("Letta")
        );
        // What a load balancer asks: this replica still serves logins and history.
        let serving = app.get("/health/ready?checks=database,shutdown").await;
        assert_eq!(serving.status(), 200);
        let serving: Value = serving.json().await.unwrap();
        assert_eq!(serving["status"], "ready");
        assert!(
            serving["checks"].get("agent_backend").is_none(),
            "{serving}"
        );
        assert_eq!(serving["checks"]["shutdown"]["status"], "ok");
        let unknown = app.get("/health/ready?checks=database,disk").await;
        let body = error_body(unknown, 422, "validation_error").await;
        assert_eq!(body["errors"][0]["field"], "checks");
    })
    .await;
}

/// The same chat flow over the Letta adapter (a wiremock Letta answering with responses recorded
/// from a real Letta 0.16.8): the services do not know which backend they talk to.
#[tokio::test]
async fn chat_runs_unchanged_over_the_letta_backend() {
    use crate::helpers::{letta_answering, letta_recording};
    let (status, body) = letta_recording("send_message");
    assert_eq!(status, 200);
    let letta = letta_answering(pi_testkit::letta::stream_response(&body)).await;
    let mode = AgentMode::Letta {
        base_url: letta.uri(),
    };
    run_with(pi_store::Engine::Sqlite, mode, move |app| async move {
        let token = app.signup_token("l@example.com").await;
        let id = app.conversation_id(&token).await;
        let response = app
            .send_message(&token, &id, "Hi, plan a day in Paris")
            .await;
        assert_eq!(response.status(), 201);
        let exchange: Value = response.json().await.unwrap();
        assert_eq!(
            exchange["assistant_message"]["content"],
            "Hello from the fake LLM!"
        );
        assert_eq!(
            app.me_json(&token).await["agent_id"],
            "agent-d26d8461-5990-4a41-ae5e-27a808bc572b"
        );
        // The agent came from the Pi template; our tools travel as client-side tools.
        let requests = letta.received_requests().await.unwrap();
        let body = |suffix: &str| -> Value {
            requests
                .iter()
                .find(|r| r.method.as_str() == "POST" && r.url.path().ends_with(suffix))
                .map(|r| serde_json::from_slice(&r.body).unwrap())
                .unwrap()
        };
        assert!(
            body("/v1/agents/")["memory_blocks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["label"] == "user_persona_profile")
        );
        let tools: Vec<String> = body("/messages/stream")["client_tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            tools.contains(&"search_places".to_owned())
                && tools.contains(&"update_user_persona_profile_in_db".to_owned()),
            "{tools:?}"
        );
        let ready: Value = app.get("/health/ready").await.json().await.unwrap();
        assert_eq!(ready["checks"]["agent_backend"]["status"], "ok");
    })
    .await;
}

/// The read routes make one statement each once the user is cached (issue 16): `/auth/me` its
/// personas, the list its page, the history its messages joined to the conversation's owner
/// (an empty conversation's too).
async fn each_read_route_costs_one_sql_statement(app: TestApp) {
    let token = app.signup_token("reads@example.com").await;
    let conversation = app.conversation_id(&token).await;
    assert_eq!(
        app.send_message(&token, &conversation, "hello")
            .await
            .status(),
        201
    );
    let empty = app.conversation_id(&token).await;
    for path in [
        "/auth/me".to_owned(),
        "/chat/conversations".to_owned(),
        format!("/chat/conversations/{conversation}/messages"),
        format!("/chat/conversations/{empty}/messages"),
    ] {
        // Loads the user into the auth cache, so the measured request finds it there.
        app.me_json(&token).await;
        let before = app.db.statements_executed();
        let response = app.get_authed(&path, &token).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            app.db.statements_executed() - before,
            1,
            "statements for GET {path} on {:?}",
            app.engine
        );
    }
}
