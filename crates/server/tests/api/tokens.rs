//! Every kind of bad token is a 401 with a JSON body and `WWW-Authenticate: Bearer`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

use crate::helpers::{JWT_SECRET, TestApp, error_body};

pi_store::engine_tests!(crate::helpers::run_named => [
    missing_or_malformed_authorization_is_401,
    expired_token_is_401,
    tampered_signature_is_401,
    alg_none_is_401,
    token_signed_with_another_secret_is_401,
    token_for_an_unknown_user_is_401,
    valid_forged_token_with_the_right_secret_works,
]);

fn forge(secret: &str, sub: &str, exp_offset_secs: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    encode(
        &Header::default(),
        &json!({"sub": sub, "iat": now, "exp": now + exp_offset_secs}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn user_id(app: &TestApp) -> (String, String) {
    let token = app.signup_token("tok@example.com").await;
    let me: serde_json::Value = app.me(&token).await.json().await.unwrap();
    (me["id"].as_str().unwrap().to_owned(), token)
}

async fn assert_401(app: &TestApp, token: &str) {
    let response = app.me(token).await;
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    error_body(response, 401, "not_authenticated").await;
}

async fn missing_or_malformed_authorization_is_401(app: TestApp) {
    let response = app.get("/auth/me").await;
    error_body(response, 401, "not_authenticated").await;
    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer    ",
        "token abc",
        "garbage",
    ] {
        let response = app
            .client
            .get(app.url("/auth/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        error_body(response, 401, "not_authenticated").await;
    }
    assert_401(&app, "garbage").await;
    assert_401(&app, "a.b.c").await;
}

async fn expired_token_is_401(app: TestApp) {
    let (id, _) = user_id(&app).await;
    let token = forge(JWT_SECRET, &id, -10);
    let response = app.me(&token).await;
    let body = error_body(response, 401, "not_authenticated").await;
    assert!(body["detail"].as_str().unwrap().contains("expired"));
}

async fn tampered_signature_is_401(app: TestApp) {
    let (_, token) = user_id(&app).await;
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
    sig[0] ^= 0x01;
    assert_401(&app, &format!("{rest}.{}", URL_SAFE_NO_PAD.encode(sig))).await;
    // A changed payload with the original signature is refused too.
    let (header, _) = rest.split_once('.').unwrap();
    let other = URL_SAFE_NO_PAD.encode(
        json!({"sub": uuid::Uuid::new_v4().to_string(), "iat": 0, "exp": 9_999_999_999i64})
            .to_string(),
    );
    assert_401(&app, &format!("{header}.{other}.{signature}")).await;
}

async fn alg_none_is_401(app: TestApp) {
    let (id, _) = user_id(&app).await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload =
        URL_SAFE_NO_PAD.encode(json!({"sub": id, "iat": 0, "exp": 9_999_999_999i64}).to_string());
    assert_401(&app, &format!("{header}.{payload}.")).await;
    assert_401(&app, &format!("{header}.{payload}")).await;
}

async fn token_signed_with_another_secret_is_401(app: TestApp) {
    let (id, _) = user_id(&app).await;
    assert_401(
        &app,
        &forge("another-secret-another-secret-12345", &id, 600),
    )
    .await;
}

async fn token_for_an_unknown_user_is_401(app: TestApp) {
    let token = forge(JWT_SECRET, &uuid::Uuid::new_v4().to_string(), 600);
    assert_401(&app, &token).await;
    assert_401(&app, &forge(JWT_SECRET, "not-a-uuid", 600)).await;
}

async fn valid_forged_token_with_the_right_secret_works(app: TestApp) {
    // Guards the tests above: the forging helper itself produces tokens the server accepts.
    let (id, _) = user_id(&app).await;
    assert_eq!(app.me(&forge(JWT_SECRET, &id, 600)).await.status(), 200);
}
