//! Signup, login, `/auth/me`, admins.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp, error_body, within_auth_cache_ttl};

pi_store::engine_tests!(crate::helpers::run_named => [
    signup_returns_201_with_a_token_and_the_public_user,
    register_is_an_alias_of_signup,
    signup_then_login_then_me,
    email_is_case_insensitive_and_unique,
    concurrent_signups_with_one_email_create_one_user,
    signup_lists_every_invalid_field,
    missing_fields_are_422_not_400,
    password_limits_are_bytes,
    display_name_limits,
    unknown_email_and_wrong_password_get_the_same_answer,
    only_the_operator_makes_admins,
    admin_grant_command_runs_against_the_servers_database,
    login_refuses_a_longer_password_sharing_the_first_72_bytes,
    login_and_me_return_one_user_object,
    failed_logins_are_throttled_per_account_across_replicas,
    concurrent_correct_logins_are_never_throttled,
    the_auth_cache_serves_repeat_requests_and_bounds_staleness_across_replicas,
], super::behind_a_trusted_proxy => [clients_behind_a_trusted_proxy_are_counted_apart],
   super::with_a_low_client_limit => [a_client_cannot_pick_its_address_with_x_forwarded_for]);

/// Two attempts per client address; the loopback proxy the tests connect through is trusted.
async fn behind_a_trusted_proxy<F, Fut>(engine: pi_store::Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    with_two_attempts_per_client(engine, "127.0.0.1, ::1", test).await;
}

/// Two attempts per client address; no proxy is trusted.
async fn with_a_low_client_limit<F, Fut>(engine: pi_store::Engine, _name: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    with_two_attempts_per_client(engine, "", test).await;
}

async fn with_two_attempts_per_client<F, Fut>(engine: pi_store::Engine, trusted: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let trusted = trusted.to_owned();
    crate::helpers::run_configured(
        engine,
        crate::helpers::AgentMode::Fake,
        |s| {
            s.login_max_attempts_per_client = 2;
            s.trusted_proxies = trusted;
        },
        test,
    )
    .await;
}

/// A failed login from `client` (as the proxy reports it) with an email nobody else uses.
async fn failed_login_from(app: &TestApp, client: &str, n: usize) -> u16 {
    app.client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", format!("1.2.3.4, {client}"))
        .json(&json!({"email": format!("nobody{n}@example.com"), "password": "wrong-one"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Behind a trusted proxy, each client's attempts count apart (the proxy's own address would
/// lump every user together); the spoofable left part of the header is not what counts.
async fn clients_behind_a_trusted_proxy_are_counted_apart(app: TestApp) {
    assert_eq!(failed_login_from(&app, "203.0.113.1", 1).await, 401);
    assert_eq!(failed_login_from(&app, "203.0.113.1", 2).await, 401);
    assert_eq!(failed_login_from(&app, "203.0.113.1", 3).await, 429);
    assert_eq!(failed_login_from(&app, "203.0.113.2", 4).await, 401);
}

/// Without a trusted proxy the header is the client's own claim: a new address in it does not
/// buy new attempts.
async fn a_client_cannot_pick_its_address_with_x_forwarded_for(app: TestApp) {
    assert_eq!(failed_login_from(&app, "203.0.113.1", 1).await, 401);
    assert_eq!(failed_login_from(&app, "203.0.113.2", 2).await, 401);
    assert_eq!(failed_login_from(&app, "203.0.113.3", 3).await, 429);
}

async fn signup_returns_201_with_a_token_and_the_public_user(app: TestApp) {
    let response = app
        .signup("Ada@Example.com", "correct horse", "  Ada  ")
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
    let user = &body["user"];
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["display_name"], "Ada");
    assert_eq!(user["is_admin"], false);
    assert_eq!(user["agent_id"], Value::Null);
    assert_eq!(user["personas"], json!([]));
    assert!(user.get("hashed_password").is_none() && user.get("password").is_none());
    // RFC 3339 timestamps.
    let created = user["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
}

async fn register_is_an_alias_of_signup(app: TestApp) {
    let response = app
        .post_json(
            "/auth/register",
            &json!({"email": "reg@example.com", "password": "password123", "display_name": "R"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        app.login("reg@example.com", "password123").await.status(),
        200
    );
}

async fn signup_then_login_then_me(app: TestApp) {
    let signup: Value = app
        .signup("grace@example.com", "hopper-1906", "Grace")
        .await
        .json()
        .await
        .unwrap();
    let response = app.login("GRACE@example.com ", "hopper-1906").await;
    assert_eq!(response.status(), 200);
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["user"]["id"], signup["user"]["id"]);
    let token = login["access_token"].as_str().unwrap();

    let response = app.me(token).await;
    assert_eq!(response.status(), 200);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["id"], signup["user"]["id"]);
    assert_eq!(me["email"], "grace@example.com");
    assert_eq!(me["display_name"], "Grace");
}

async fn email_is_case_insensitive_and_unique(app: TestApp) {
    assert_eq!(
        app.signup("dup@example.com", "password123", "A")
            .await
            .status(),
        201
    );
    let response = app.signup("DUP@example.COM", "password456", "B").await;
    error_body(response, 409, "email_taken").await;
    // The first password still works; the second never took effect.
    assert_eq!(
        app.login("dup@example.com", "password123").await.status(),
        200
    );
    assert_eq!(
        app.login("dup@example.com", "password456").await.status(),
        401
    );
}

async fn concurrent_signups_with_one_email_create_one_user(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let attempts = (0..8).map(|i| {
        let app = std::sync::Arc::clone(&app);
        tokio::spawn(async move {
            app.signup("race@example.com", &format!("password-{i}"), "Racer")
                .await
                .status()
                .as_u16()
        })
    });
    let mut statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
}

async fn signup_lists_every_invalid_field(app: TestApp) {
    let response = app
        .post_json(
            "/auth/signup",
            &json!({"email": "not-an-email", "password": "short", "display_name": ""}),
        )
        .await;
    let body = error_body(response, 422, "validation_error").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password", "display_name"]);
    for e in body["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
}

async fn missing_fields_are_422_not_400(app: TestApp) {
    let response = app.post_json("/auth/signup", &json!({})).await;
    let body = error_body(response, 422, "validation_error").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
    let response = app
        .post_json(
            "/auth/signup",
            &json!({"email": 42, "password": "x", "display_name": "y"}),
        )
        .await;
    let body = error_body(response, 422, "validation_error").await;
    assert_eq!(body["errors"][0]["field"], "email");
    let response = app.post_json("/auth/login", &json!(["a", "b"])).await;
    error_body(response, 422, "validation_error").await;
}

async fn password_limits_are_bytes(app: TestApp) {
    let max = "p".repeat(72);
    assert_eq!(app.signup("max@example.com", &max, "M").await.status(), 201);
    assert_eq!(app.login("max@example.com", &max).await.status(), 200);
    let body = error_body(
        app.signup("over@example.com", &"p".repeat(73), "O").await,
        422,
        "validation_error",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "password");
    // 25 × '€' is 25 characters but 75 bytes: refused, because bcrypt would cut it.
    error_body(
        app.signup("euro@example.com", &"€".repeat(25), "E").await,
        422,
        "validation_error",
    )
    .await;
    error_body(
        app.signup("seven@example.com", "1234567", "S").await,
        422,
        "validation_error",
    )
    .await;
}

async fn display_name_limits(app: TestApp) {
    assert_eq!(
        app.signup("long@example.com", "password123", &"n".repeat(255))
            .await
            .status(),
        201
    );
    let body = error_body(
        app.signup("longer@example.com", "password123", &"n".repeat(256))
            .await,
        422,
        "validation_error",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "display_name");
}

async fn unknown_email_and_wrong_password_get_the_same_answer(app: TestApp) {
    app.signup("known@example.com", "password123", "K").await;
    let wrong_password = app.login("known@example.com", "password999").await;
    let unknown_email = app.login("ghost@example.com", "password123").await;
    let malformed_email = app.login("not an email", "password123").await;
    let a = error_body(wrong_password, 401, "invalid_credentials").await;
    let b = error_body(unknown_email, 401, "invalid_credentials").await;
    let c = error_body(malformed_email, 401, "invalid_credentials").await;
    assert_eq!(a, b);
    assert_eq!(b, c);
}

/// Signing up with an address once listed in `ADMIN_EMAILS` grants nothing; the operator's
/// `pi-server admin grant|revoke` does, effective on the user's next request (same token).
async fn only_the_operator_makes_admins(app: TestApp) {
    let body: Value = app
        .signup(ADMIN_EMAIL, "password123", "Admin")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["user"]["is_admin"], false);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(app.me_json(token).await["is_admin"], false);
    assert_eq!(app.get_authed("/letta/agents", token).await.status(), 403);

    // The operator's command is another process: the server sees it within its auth cache's
    // TTL, not necessarily on the very next request.
    app.set_admin(ADMIN_EMAIL, true).await;
    within_auth_cache_ttl(&app, "admin grant", || async {
        app.get_authed("/letta/agents", token).await.status() == 200
    })
    .await;
    assert_eq!(app.me_json(token).await["is_admin"], true);

    app.set_admin("ADMIN@example.com", false).await;
    within_auth_cache_ttl(&app, "admin revoke", || async {
        app.get_authed("/letta/agents", token).await.status() == 403
    })
    .await;
    assert_eq!(app.me_json(token).await["is_admin"], false);
}

/// The real binary: `pi-server admin grant` on the app's database; an unknown email fails
/// with a message and a non-zero exit.
async fn admin_grant_command_runs_against_the_servers_database(app: TestApp) {
    let token = app.signup_token("ops@example.com").await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pi-server"))
            .args(args)
            .env("DATABASE_URL", app.settings.database_url.expose())
            .env("ENVIRONMENT", "test")
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let granted = run(&["admin", "grant", "ops@example.com"]);
    assert!(granted.status.success(), "{granted:?}");
    assert!(String::from_utf8_lossy(&granted.stdout).contains("ops@example.com is now an admin"));
    within_auth_cache_ttl(&app, "admin grant", || async {
        app.me_json(&token).await["is_admin"] == true
    })
    .await;
    let unknown = run(&["admin", "grant", "nobody@example.com"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("must sign up first"));
    let revoked = run(&["admin", "revoke", "ops@example.com"]);
    assert!(revoked.status.success(), "{revoked:?}");
    within_auth_cache_ttl(&app, "admin revoke", || async {
        app.me_json(&token).await["is_admin"] == false
    })
    .await;
}

/// bcrypt compares 72 bytes: a longer password that starts with the real one is refused
/// exactly like a wrong password.
async fn login_refuses_a_longer_password_sharing_the_first_72_bytes(app: TestApp) {
    let password = "p".repeat(72);
    assert_eq!(
        app.signup("long@example.com", &password, "Long")
            .await
            .status(),
        201
    );
    assert_eq!(app.login("long@example.com", &password).await.status(), 200);
    let longer = app
        .login("long@example.com", &format!("{password}extra"))
        .await;
    let wrong = app.login("long@example.com", "wrong-password").await;
    let a = error_body(longer, 401, "invalid_credentials").await;
    let b = error_body(wrong, 401, "invalid_credentials").await;
    assert_eq!(a, b);
}

/// Login, signup and `/auth/me` return the same user object, with the personas and the
/// handle of the highest-confidence one (`persona_handle`, read by the chat UI).
async fn login_and_me_return_one_user_object(app: TestApp) {
    let signup: Value = app
        .signup("pat@example.com", "password123", "Pat")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signup["user"]["personas"], json!([]));
    assert_eq!(signup["user"]["persona_handle"], Value::Null);
    // The persona tool acts for its caller (admins may run tools directly).
    let token = app.admin_token().await;
    for (handle, confidence) in [("mall_leasing", 0.4), ("qsr_real_estate", 0.9)] {
        let response = app
            .post_authed(
                "/tools/update_user_persona_profile_in_db",
                &token,
                &json!({"persona_handle": handle, "confidence_score": confidence}),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    let login: Value = app
        .login(ADMIN_EMAIL, "correct horse battery")
        .await
        .json()
        .await
        .unwrap();
    let me = app.me_json(&token).await;
    assert_eq!(login["user"], me);
    assert_eq!(me["persona_handle"], "qsr_real_estate");
    assert_eq!(me["personas"][0]["persona_handle"], "qsr_real_estate");
    assert_eq!(me["personas"].as_array().unwrap().len(), 2);
}

/// Issue 31 (4): eight simultaneous correct logins to one account, over two replicas, all
/// succeed (three got 429: attempts in flight were counted as failures); failures still are.
async fn concurrent_correct_logins_are_never_throttled(app: TestApp) {
    assert_eq!(
        app.signup("crowd@example.com", "password123", "Crowd")
            .await
            .status(),
        201
    );
    let replica = app.restarted().await;
    let logins = (0..8).map(|i| {
        let server = if i % 2 == 0 { &app } else { &replica };
        server.login("crowd@example.com", "password123")
    });
    let statuses: Vec<u16> = futures::future::join_all(logins)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses, [200; 8]);
    let failures = (0..8).map(|i| {
        let server = if i % 2 == 0 { &app } else { &replica };
        server.login("crowd@example.com", "wrong-password")
    });
    let statuses: Vec<u16> = futures::future::join_all(failures)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let after = app.login("crowd@example.com", "password123").await;
    assert_eq!(after.status(), 429, "five failures lock the account");
}

/// Issue 11 (13): five attempts per account per window, then 429 with `Retry-After` — the
/// same for an unknown email, even with the right password, and on a second replica sharing
/// the database. A successful login before the limit clears the count.
async fn failed_logins_are_throttled_per_account_across_replicas(app: TestApp) {
    assert_eq!(
        app.signup("vic@example.com", "password123", "Vic")
            .await
            .status(),
        201
    );
    for _ in 0..4 {
        error_body(
            app.login("vic@example.com", "wrong-one").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    // A success clears the account's count…
    assert_eq!(
        app.login("vic@example.com", "password123").await.status(),
        200
    );
    // …so five more failures are allowed, spread over two replicas.
    let replica = app.restarted().await;
    for i in 0..5 {
        let server = if i % 2 == 0 { &app } else { &replica };
        error_body(
            server.login("VIC@example.com", "wrong-two").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    for (server, password) in [(&replica, "wrong-three"), (&app, "password123")] {
        let response = server.login("vic@example.com", password).await;
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        error_body(response, 429, "too_many_requests").await;
    }
    // Unknown emails are counted and answered the same way.
    for _ in 0..5 {
        error_body(
            app.login("ghost@example.com", "whatever1").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let ghost = error_body(
        app.login("ghost@example.com", "whatever1").await,
        429,
        "too_many_requests",
    )
    .await;
    let known = error_body(
        app.login("vic@example.com", "whatever1").await,
        429,
        "too_many_requests",
    )
    .await;
    assert_eq!(ghost, known);
}

/// Authentication reads users through a cache (`AUTH_CACHE_TTL_MS`): a repeat request costs no
/// user query; this process's own writes are seen at once (the agent created by the first
/// message); a change made elsewhere — here an admin revoke by the operator while another
/// replica holds the admin in its cache — reaches that replica within the TTL.
async fn the_auth_cache_serves_repeat_requests_and_bounds_staleness_across_replicas(app: TestApp) {
    let token = app.admin_token().await;
    let before = app.db.statements_executed();
    app.me_json(&token).await;
    let first = app.db.statements_executed() - before;
    let before = app.db.statements_executed();
    app.me_json(&token).await;
    let repeat = app.db.statements_executed() - before;
    assert_eq!(repeat + 1, first, "a repeat /auth/me skips the user query");

    assert!(app.me_json(&token).await["agent_id"].is_null());
    let conversation = app.conversation_id(&token).await;
    assert_eq!(
        app.send_message(&token, &conversation, "hello")
            .await
            .status(),
        201
    );
    assert!(
        app.me_json(&token).await["agent_id"].is_string(),
        "this process's own write is seen at once"
    );

    let mut settings = app.settings.clone();
    settings.auth_cache_ttl_ms = 400;
    let replica = pi_server::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", replica.port());
    tokio::spawn(replica.run_until_stopped());
    let tools = || async {
        app.client
            .get(format!("{base}/tools"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(tools().await, 200);
    app.set_admin(ADMIN_EMAIL, false).await;
    let revoked = std::time::Instant::now();
    while tools().await != 403 {
        assert!(
            revoked.elapsed() < std::time::Duration::from_millis(400 + 1000),
            "the revoke did not reach the replica within AUTH_CACHE_TTL_MS (400 ms) + 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
