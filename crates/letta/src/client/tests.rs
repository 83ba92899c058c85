//! Unit tests of routes and error answers.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn ids_are_encoded_as_path_segments_and_values_as_query_pairs() {
    let route =
        Route::item(&["agents", "a b/c?d#e%f", "archival-memory"]).query("query", "x&y=z +1");
    let url = route.url("http://letta:8283/").unwrap();
    assert_eq!(
        url.as_str(),
        "http://letta:8283/v1/agents/a%20b%2Fc%3Fd%23e%25f/archival-memory?query=x%26y%3Dz+%2B1"
    );
    let url = Route::collection(&["agents"])
        .url("http://letta/prefix/")
        .unwrap();
    assert_eq!(url.as_str(), "http://letta/prefix/v1/agents/");
}

#[test]
fn dot_and_empty_ids_name_nothing() {
    for bad in ["", ".", ".."] {
        assert!(matches!(
            Route::item(&["agents", bad]).url("http://letta"),
            Err(AgentError::NotFound(_))
        ));
    }
    assert!(matches!(
        Route::item(&["health"]).url("not a url"),
        Err(AgentError::Unavailable(_))
    ));
}

#[test]
fn error_bodies_are_read_leniently() {
    assert_eq!(ErrorBody::parse(r#"{"detail": "gone"}"#).detail(), "gone");
    let conflict = ErrorBody::parse(r#"{"detail": {"code": "X", "message": "busy"}}"#);
    assert_eq!(conflict.detail(), "busy");
    assert_eq!(ErrorBody::parse(r#"{"detail": [1]}"#).detail(), "");
    assert_eq!(ErrorBody::parse("<html>").detail(), "");
    let llm = ErrorBody::parse(r#"{"error": {"type": "llm_error", "message": "m"}}"#);
    assert_eq!(llm.llm_error().unwrap().kind, "llm_error");
    assert!(ErrorBody::parse(r#"{"error": "x"}"#).llm_error().is_none());
}

#[test]
fn sse_events_survive_any_chunking() {
    let stream = "data: {\"a\":\"caf\u{e9}\"}\r\n\r\n: keep-alive\n\nevent: error\ndata: {\"detail\":\"boom\"}\n\ndata: [DONE]\n\n";
    let expected = vec![
        SseEvent::Data("{\"a\":\"caf\u{e9}\"}".into()),
        SseEvent::Error("{\"detail\":\"boom\"}".into()),
        SseEvent::Done,
    ];
    // Every split point, including inside the two-byte 'é'.
    for cut in 0..=stream.len() {
        let mut reader = SseReader::default();
        let (a, b) = stream.as_bytes().split_at(cut);
        let mut events = reader.push(a);
        events.extend(reader.push(b));
        assert_eq!(events, expected, "cut at {cut}");
    }
}

#[test]
fn stream_errors_name_what_failed() {
    let llm = stream_error(r#"{"error":{"type":"llm_timeout","message":"slow"}}"#);
    assert!(
        matches!(&llm, AgentError::Unavailable(m) if m.contains("llm_timeout")),
        "{llm:?}"
    );
    let detail = stream_error(r#"{"detail":"boom"}"#);
    assert!(
        matches!(&detail, AgentError::Unavailable(m) if m.contains("boom")),
        "{detail:?}"
    );
    let bare = stream_error("Internal error");
    assert!(
        matches!(&bare, AgentError::Unavailable(m) if m.contains("no details")),
        "{bare:?}"
    );
}
