//! Helpers shared by the HTTP benchmarks.

use serde_json::{Value, json};

/// Signs up `email` on the server at `base` and returns the access token.
pub async fn signup(client: &reqwest::Client, base: &str, email: &str) -> String {
    let signup: Value = client
        .post(format!("{base}/auth/signup"))
        .json(&json!({"email": email, "password": "password123", "display_name": "Bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    signup["access_token"].as_str().unwrap().to_owned()
}

/// Creates a conversation and returns its id.
pub async fn conversation(client: &reqwest::Client, base: &str, token: &str) -> String {
    let conv: Value = client
        .post(format!("{base}/chat/conversations"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    conv["id"].as_str().unwrap().to_owned()
}
