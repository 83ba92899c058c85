//! Unit tests of the wire types.
#![allow(clippy::unwrap_used)]

use serde::Deserialize;

use super::*;

#[test]
fn tags_accept_a_list_null_or_nothing() {
    #[derive(Deserialize)]
    struct Tagged {
        #[serde(default)]
        tags: Tags,
    }
    let parse = |s: &str| serde_json::from_str::<Tagged>(s).unwrap().tags.0;
    assert_eq!(parse(r#"{"tags": ["a", "b"]}"#), ["a", "b"]);
    assert!(parse(r#"{"tags": null}"#).is_empty());
    assert!(parse("{}").is_empty());
    assert!(serde_json::from_str::<Tagged>(r#"{"tags": [1]}"#).is_err());
}

#[test]
fn timestamps_must_be_rfc3339() {
    let ok: Timestamp = serde_json::from_str(r#""2026-11-25T17:44:18.849599+01:00""#).unwrap();
    assert_eq!(ok.0.to_rfc3339(), "2026-11-25T16:44:18.849599+00:00");
    let err = serde_json::from_str::<Timestamp>(r#""yesterday""#).unwrap_err();
    assert!(err.to_string().contains("RFC 3339"), "{err}");
}

#[test]
fn requests_have_letta_shapes() {
    let user = MessageCreate::User(UserMessage { content: "hi" });
    assert_eq!(
        serde_json::to_value(user).unwrap(),
        serde_json::json!({"role": "user", "content": "hi"})
    );
    let returns = MessageCreate::ToolReturns(ToolReturns {
        tool_returns: vec![ToolReturn {
            tool_call_id: "c".into(),
            tool_return: "{}".into(),
            status: ToolStatus::of(true),
        }],
    });
    assert_eq!(
        serde_json::to_value(returns).unwrap(),
        serde_json::json!({"type": "tool_return", "tool_returns": [
            {"tool_call_id": "c", "tool_return": "{}", "status": "error"}
        ]})
    );
}
