use super::*;

/// Records what a round hands on, in order: `text:…` pieces and whole messages.
#[derive(Default)]
struct Log(Vec<String>, Vec<Message>);

impl RoundSink for Log {
    fn message(&mut self, message: Message) {
        self.0.push(format!("message {}", self.1.len()));
        self.1.push(message);
    }
    fn text(&mut self, piece: &str) {
        self.0.push(format!("text:{piece}"));
    }
}

fn round(events: &[&str]) -> (Log, Result<RoundEnd, AgentError>) {
    let mut log = Log::default();
    let mut round = Round::default();
    for data in events {
        if let Err(e) = round.feed(data, &mut log) {
            return (log, Err(e));
        }
    }
    let end = round.finish(&mut log);
    (log, end)
}

/// The `data:` payloads of a stream recorded from a real Letta 0.16.8.
fn recorded(name: &str) -> Vec<String> {
    let raw = std::fs::read_to_string(format!(
        "{}/tests/recordings/{name}.sse",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut reader = crate::client::SseReader::default();
    reader
        .push(raw.as_bytes())
        .into_iter()
        .filter_map(|e| match e {
            crate::client::SseEvent::Data(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn replay(name: &str) -> (Log, Result<RoundEnd, AgentError>) {
    let events = recorded(name);
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    round(&refs)
}

#[test]
fn a_recorded_token_stream_is_passed_on_piece_by_piece_then_whole() {
    let (log, end) = replay("stream_tokens");
    let end = end.unwrap();
    assert!(!end.requires_approval);
    assert_eq!(end.usage.total_tokens, 110);
    assert_eq!(
        log.0,
        [
            "text:Hello fr",
            "text:om the f",
            "text:ake LLM!",
            "message 0"
        ]
    );
    assert_eq!(
        log.1,
        [Message::Step(AgentStep::Assistant {
            text: "Hello from the fake LLM!".into()
        })]
    );
}

#[test]
fn a_recorded_tool_turn_keeps_the_call_whole_and_in_order() {
    let (log, end) = replay("stream_tokens_tool");
    end.unwrap();
    assert_eq!(log.0[..2], ["message 0", "message 1"]);
    assert_eq!(
        log.1[0],
        Message::Step(AgentStep::ToolCall {
            call_id: "call_4e227c2f9950".into(),
            name: "search_places".into(),
            arguments: r#"{"query": "opera"}"#.into(),
        })
    );
    assert!(
        matches!(&log.1[1], Message::Step(AgentStep::ToolReturn { name, is_error: false, .. }) if name == "search_places")
    );
    let Message::Step(AgentStep::Assistant { text }) = &log.1[2] else {
        panic!("{:?}", log.1)
    };
    let streamed: String = log
        .0
        .iter()
        .filter_map(|l| l.strip_prefix("text:"))
        .collect();
    assert_eq!(*text, streamed);
    assert!(text.starts_with("Done. Tool said:"), "{text}");
}

#[test]
fn approval_pieces_are_joined_per_call_and_reasoning_is_its_own_message() {
    let (log, end) = round(&[
        r#"{"message_type":"reasoning_message","id":"message-1","reasoning":"Look up "}"#,
        r#"{"message_type":"reasoning_message","id":"message-1","reasoning":"Austin."}"#,
        r#"{"message_type":"assistant_message","id":"message-1","content":"Let me check."}"#,
        r#"{"message_type":"approval_request_message","id":"message-1","tool_call":{"tool_call_id":"call-a","name":"search_places","arguments":"{\"q"},"tool_calls":{"tool_call_id":"call-a","name":"search_places","arguments":"{\"q"}}"#,
        r#"{"message_type":"approval_request_message","id":"message-1","tool_calls":{"arguments":"\":\"coffee\"}"}}"#,
        r#"{"message_type":"approval_request_message","id":"message-1","tool_calls":[{"tool_call_id":"call-b","name":"list_metros","arguments":"{}"}]}"#,
        r#"{"message_type":"ping","id":"ping-1"}"#,
        r#"{"message_type":"stop_reason","stop_reason":"requires_approval"}"#,
        r#"{"message_type":"usage_statistics","total_tokens":9}"#,
    ]);
    assert!(end.unwrap().requires_approval);
    assert_eq!(
        log.1,
        [
            Message::Step(AgentStep::Reasoning {
                text: "Look up Austin.".into()
            }),
            Message::Step(AgentStep::Assistant {
                text: "Let me check.".into()
            }),
            Message::Approval(vec![
                ToolCall {
                    tool_call_id: "call-a".into(),
                    name: "search_places".into(),
                    arguments: r#"{"q":"coffee"}"#.into(),
                },
                ToolCall {
                    tool_call_id: "call-b".into(),
                    name: "list_metros".into(),
                    arguments: "{}".into(),
                },
            ]),
        ]
    );
}

#[test]
fn a_stream_that_breaks_off_or_reports_an_error_is_an_error() {
    let (_, end) = round(&[r#"{"message_type":"assistant_message","id":"m","content":"Hel"}"#]);
    assert!(
        matches!(&end, Err(AgentError::Unavailable(m)) if m.contains("stop_reason")),
        "{end:?}"
    );
    let (_, end) = round(&[r#"{"message_type":"error_message","message":"LLM timed out"}"#]);
    assert!(
        matches!(&end, Err(AgentError::Unavailable(m)) if m.contains("LLM timed out")),
        "{end:?}"
    );
    let (_, end) = round(&[
        r#"{"message_type":"approval_request_message","id":"m","tool_call":{"arguments":"{}"}}"#,
        r#"{"message_type":"stop_reason","stop_reason":"requires_approval"}"#,
    ]);
    assert!(
        matches!(&end, Err(AgentError::Unavailable(m)) if m.contains("tool_call_id")),
        "{end:?}"
    );
    let (_, end) = round(&["not json"]);
    assert!(matches!(end, Err(AgentError::Unavailable(_))));
}

#[test]
fn a_recorded_approval_request_is_one_call_letta_waits_on() {
    let (log, end) = replay("stream_approval");
    assert!(end.unwrap().requires_approval);
    let [Message::Approval(calls)] = &log.1[..] else {
        panic!("{:?}", log.1)
    };
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "search_places");
    let args: serde_json::Value = serde_json::from_str(&calls[0].arguments).unwrap();
    assert_eq!(args["geo"]["name"], "metro:austin");
}
