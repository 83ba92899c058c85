//! One streamed Letta round put back together: token pieces of a message (same `message_type`
//! and `id`) are joined, each message is handed on as soon as the next one starts, and assistant
//! text is handed on piece by piece as it arrives.

use pi_domain::agent::{AgentError, AgentStep};

use crate::wire::{StreamEvent, ToolCall, ToolCallDelta, ToolStatus, UsageStatistics};

/// A whole message of a round.
#[derive(Debug, PartialEq)]
pub(crate) enum Message {
    /// A step to record as it is (reasoning, text, Letta's own tool calls and returns).
    Step(AgentStep),
    /// Client-side tool calls Letta waits on.
    Approval(Vec<ToolCall>),
}

/// Where the pieces of a round go.
pub(crate) trait RoundSink {
    /// A message is complete.
    fn message(&mut self, message: Message);
    /// A piece of assistant text, before the [`AgentStep::Assistant`] that holds it whole.
    fn text(&mut self, piece: &str);
}

/// The message being received.
#[derive(Debug)]
enum Open {
    Reasoning(String),
    Assistant(String),
    ToolCall(ToolCallDelta),
    Approval(Vec<ToolCallDelta>),
}

impl Open {
    /// Adds the next piece of the same message.
    fn extend(&mut self, piece: Open) {
        match (self, piece) {
            (Self::Reasoning(text), Self::Reasoning(more))
            | (Self::Assistant(text), Self::Assistant(more)) => text.push_str(&more),
            (Self::ToolCall(call), Self::ToolCall(more)) => extend(call, more),
            (Self::Approval(calls), Self::Approval(more)) => {
                for piece in more {
                    add_piece(calls, piece);
                }
            }
            // Pieces of one message have one type (the key holds it).
            _ => {}
        }
    }
}

/// The state of one streamed round.
#[derive(Debug, Default)]
pub(crate) struct Round {
    /// `(message_type, id)` and content of the message being received.
    open: Option<((&'static str, String), Open)>,
    stop_reason: Option<String>,
    usage: UsageStatistics,
}

/// How a round ended.
#[derive(Debug)]
pub(crate) struct RoundEnd {
    /// Letta waits for the results of client-side tool calls.
    pub requires_approval: bool,
    pub usage: UsageStatistics,
}

impl Round {
    /// Takes one `data:` payload.
    pub(crate) fn feed(&mut self, data: &str, sink: &mut dyn RoundSink) -> Result<(), AgentError> {
        let event: StreamEvent = serde_json::from_str(data).map_err(|e| {
            AgentError::Unavailable(format!(
                "Letta's stream holds an event the adapter cannot read: {e}"
            ))
        })?;
        match event {
            StreamEvent::Reasoning { id, reasoning } => {
                self.add(("reasoning", id), Open::Reasoning(reasoning), sink)?;
            }
            StreamEvent::Assistant { id, content } => {
                let piece = content.text();
                self.add(("assistant", id), Open::Assistant(piece.clone()), sink)?;
                sink.text(&piece);
            }
            StreamEvent::ToolCall { id, tool_call } => {
                self.add(("tool_call", id), Open::ToolCall(tool_call), sink)?;
            }
            StreamEvent::ApprovalRequest {
                id,
                tool_call,
                tool_calls,
            } => {
                let pieces = match (tool_calls, tool_call) {
                    (Some(calls), _) => calls.into_vec(),
                    (None, Some(call)) => vec![call],
                    (None, None) => Vec::new(),
                };
                let mut calls = Vec::new();
                for piece in pieces {
                    add_piece(&mut calls, piece);
                }
                self.add(("approval", id), Open::Approval(calls), sink)?;
            }
            StreamEvent::ToolReturn {
                tool_call_id,
                name,
                tool_return,
                status,
            } => {
                self.close(sink)?;
                sink.message(Message::Step(AgentStep::ToolReturn {
                    call_id: tool_call_id,
                    name: name.unwrap_or_default(),
                    output: tool_return,
                    is_error: status == Some(ToolStatus::Error),
                }));
            }
            StreamEvent::StopReason { stop_reason } => {
                self.close(sink)?;
                self.stop_reason = Some(stop_reason);
            }
            StreamEvent::Usage(usage) => self.usage = usage,
            StreamEvent::Error => return Err(crate::client::stream_error(data)),
            StreamEvent::Other => {}
        }
        Ok(())
    }

    /// The stream is over: hands on the last message and says how the round ended.
    pub(crate) fn finish(mut self, sink: &mut dyn RoundSink) -> Result<RoundEnd, AgentError> {
        self.close(sink)?;
        let stop_reason = self.stop_reason.ok_or_else(|| {
            AgentError::Unavailable("Letta's stream ended without a stop_reason".into())
        })?;
        Ok(RoundEnd {
            requires_approval: stop_reason == "requires_approval",
            usage: self.usage,
        })
    }

    /// Adds a piece to the open message if it continues it; otherwise the open message is
    /// handed on and the piece starts the next one.
    fn add(
        &mut self,
        key: (&'static str, String),
        piece: Open,
        sink: &mut dyn RoundSink,
    ) -> Result<(), AgentError> {
        if let Some((open_key, open)) = &mut self.open
            && *open_key == key
        {
            open.extend(piece);
            return Ok(());
        }
        self.close(sink)?;
        self.open = Some((key, piece));
        Ok(())
    }

    fn close(&mut self, sink: &mut dyn RoundSink) -> Result<(), AgentError> {
        let Some((_, open)) = self.open.take() else {
            return Ok(());
        };
        let message = match open {
            Open::Reasoning(text) => Message::Step(AgentStep::Reasoning { text }),
            Open::Assistant(text) => Message::Step(AgentStep::Assistant { text }),
            Open::ToolCall(call) => {
                let call = whole(call)?;
                Message::Step(AgentStep::ToolCall {
                    call_id: call.tool_call_id,
                    name: call.name,
                    arguments: call.arguments,
                })
            }
            Open::Approval(calls) => {
                Message::Approval(calls.into_iter().map(whole).collect::<Result<_, _>>()?)
            }
        };
        sink.message(message);
        Ok(())
    }
}

/// Adds a piece to the call it belongs to: the call it names, else the last one.
fn add_piece(calls: &mut Vec<ToolCallDelta>, piece: ToolCallDelta) {
    let index = match &piece.tool_call_id {
        Some(id) => calls
            .iter()
            .position(|c| c.tool_call_id.as_deref() == Some(id)),
        None => calls.len().checked_sub(1),
    };
    match index {
        Some(i) => extend(&mut calls[i], piece),
        None => calls.push(piece),
    }
}

fn extend(call: &mut ToolCallDelta, piece: ToolCallDelta) {
    if call.tool_call_id.is_none() {
        call.tool_call_id = piece.tool_call_id;
    }
    if call.name.is_none() {
        call.name = piece.name;
    }
    if let Some(more) = piece.arguments {
        call.arguments
            .get_or_insert_with(String::new)
            .push_str(&more);
    }
}

/// A call whose pieces are all in; one without an id or a name cannot be answered.
fn whole(call: ToolCallDelta) -> Result<ToolCall, AgentError> {
    match (call.tool_call_id, call.name) {
        (Some(tool_call_id), Some(name)) => Ok(ToolCall {
            tool_call_id,
            name,
            arguments: call.arguments.unwrap_or_default(),
        }),
        (None, _) => Err(AgentError::Unavailable(
            "Letta's stream holds a tool call without a tool_call_id".into(),
        )),
        (_, None) => Err(AgentError::Unavailable(
            "Letta's stream holds a tool call without a name".into(),
        )),
    }
}

#[cfg(test)]
mod tests;
