//! `GET /tools` and `POST /tools/{name}` (admin).

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_body};

pi_store::engine_tests!(crate::helpers::run_named => [tools_are_listed_and_run_by_admins_only]);

async fn tools_are_listed_and_run_by_admins_only(app: TestApp) {
    let user = app.signup_token("user@example.com").await;
    let admin = app.admin_token().await;

    error_body(app.get_authed("/tools", &user).await, 403, "forbidden").await;
    error_body(
        app.post_authed("/tools/list_metros", &user, &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    error_body(app.get("/tools").await, 401, "not_authenticated").await;

    let list = app.get_json("/tools", &admin).await;
    let names: Vec<&str> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for expected in [
        "search_places",
        "get_place_summary",
        "compare_performance",
        "get_trade_area_profile",
        "get_audience_profile",
        "get_visit_flows",
        "list_metros",
        "nearby_competitors",
        "distance_between",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(list["tools"][0]["parameters"]["type"], "object");

    let response = app
        .post_authed(
            "/tools/search_places",
            &admin,
            &json!({"geo": {"type": "metro", "name": "Austin"}, "categories": ["coffee"], "limit": 3}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["metadata"]["synthetic"], true);
    let places = result["places"].as_array().unwrap();
    assert!(!places.is_empty());
    assert!(
        places
            .iter()
            .all(|p| p["category"] == "coffee" && p["metro_id"] == "metro:austin")
    );

    // No body means no arguments.
    let response = app
        .client
        .post(app.url("/tools/list_metros"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let metros: Value = response.json().await.unwrap();
    assert!(metros["metros"].as_array().unwrap().len() >= 50);

    let body = error_body(
        app.post_authed(
            "/tools/get_place_summary",
            &admin,
            &json!({"place_ids": ["place:999999999"]}),
        )
        .await,
        422,
        "tool_error",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("place:999999999"));
    // Like every 422: an `errors` array naming what was wrong.
    assert_eq!(body["errors"][0]["field"], "arguments");
    assert_eq!(body["errors"][0]["message"], body["detail"]);
    // Arguments are an object; a bare number is refused before the tool runs.
    for bare in [json!(5), json!("x"), json!([1])] {
        let body = error_body(
            app.post_authed("/tools/list_available_personas", &admin, &bare)
                .await,
            422,
            "validation_error",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "body", "{bare}");
    }
    error_body(
        app.post_authed("/tools/no_such_tool", &admin, &json!({}))
            .await,
        404,
        "tool_not_found",
    )
    .await;
}
