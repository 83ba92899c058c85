//! Letta answers for wiremock: a recorded (or hand-written) `POST …/messages` answer as the
//! stream `POST …/messages/stream` sends it.

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

/// `{messages, stop_reason, usage}` as Letta streams it a step at a time: one `data:` event per
/// message (an `id` added where the answer has none), then `stop_reason`, `usage_statistics` and
/// `[DONE]`. A part left out of `answer` is left out of the stream.
pub fn streamed(answer: &Value) -> String {
    let mut events: Vec<Value> = Vec::new();
    if let Some(messages) = answer["messages"].as_array() {
        for (i, message) in messages.iter().enumerate() {
            let mut message = message.clone();
            if message.get("id").is_none() {
                message["id"] = json!(format!("message-{i}"));
            }
            events.push(message);
        }
    }
    if let Some(stop) = answer.get("stop_reason") {
        events.push(json!({"message_type": "stop_reason", "stop_reason": stop["stop_reason"]}));
    }
    if let Some(usage) = answer.get("usage") {
        let mut usage = usage.clone();
        usage["message_type"] = json!("usage_statistics");
        events.push(usage);
    }
    let mut sse: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    sse.push_str("data: [DONE]\n\n");
    sse
}

/// A `200 text/event-stream` answer streaming `answer` (see [`streamed`]).
pub fn stream_response(answer: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(streamed(answer), "text/event-stream")
}
