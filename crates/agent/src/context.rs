//! What the model sees: the system prompt with core memory, and history as LLM messages.

use chrono::Utc;
use pi_domain::agent::Block;
use pi_domain::agent::runtime::{LlmMessage, ToolCall};
use pi_domain::agent::store::{AgentHistoryMessage, AgentRecord, MessageRole};

/// Renders the system prompt with the agent's core memory.
pub(crate) fn render_system(agent: &AgentRecord, blocks: &[Block]) -> String {
    let mut out = agent.system_prompt.clone();
    out.push_str("\n\n### Core memory\nThese blocks are always in your context. Edit them with core_memory_append / core_memory_replace.\n");
    for b in blocks {
        out.push_str(&format!(
            "\n<{label} characters=\"{used}/{limit}\" read_only=\"{ro}\">\n<description>{desc}</description>\n<value>\n{value}\n</value>\n</{label}>\n",
            label = b.label,
            used = b.value.chars().count(),
            limit = b.limit,
            ro = b.read_only,
            desc = b.description,
            value = b.value,
        ));
    }
    out.push_str(&format!(
        "\nCurrent date: {}.\n",
        Utc::now().format("%Y-%m-%d")
    ));
    out
}

pub(crate) fn to_llm(m: &AgentHistoryMessage) -> LlmMessage {
    match m.role {
        MessageRole::User => LlmMessage::User(m.content.clone()),
        MessageRole::Assistant => LlmMessage::Assistant {
            content: (!m.content.is_empty()).then(|| m.content.clone()),
            tool_calls: m.tool_calls.clone(),
        },
        MessageRole::Tool => LlmMessage::Tool {
            call_id: m.tool_call_id.clone().unwrap_or_default(),
            name: m.tool_name.clone().unwrap_or_default(),
            content: m.content.clone(),
        },
    }
}

pub(crate) fn chars(m: &LlmMessage) -> usize {
    match m {
        LlmMessage::System(t) | LlmMessage::User(t) => t.len(),
        LlmMessage::Assistant {
            content,
            tool_calls,
        } => {
            content.as_ref().map_or(0, String::len)
                + tool_calls
                    .iter()
                    .map(|c| c.arguments.len() + c.name.len())
                    .sum::<usize>()
        }
        LlmMessage::Tool { content, .. } => content.len(),
    }
}

/// What an earlier tool result becomes when the context is short of room.
const TRIMMED: &str = r#"{"note":"This earlier tool result was dropped to fit the context; the answer that followed it summarises it."}"#;

/// Makes `past` fit `budget` characters: first the tool results of earlier exchanges give way
/// (oldest first; the questions and answers around them stay, so follow-ups keep their
/// context), then whole exchanges (each starting at a user message), oldest first.
pub(crate) fn fit(past: &mut Vec<LlmMessage>, budget: usize) {
    let mut total: usize = past.iter().map(chars).sum();
    for message in past.iter_mut() {
        if total <= budget {
            return;
        }
        if let LlmMessage::Tool { content, .. } = message
            && content.len() > TRIMMED.len()
        {
            total -= content.len() - TRIMMED.len();
            *content = TRIMMED.to_owned();
        }
    }
    while past.iter().map(chars).sum::<usize>() > budget && !past.is_empty() {
        let next_user = past
            .iter()
            .skip(1)
            .position(|m| matches!(m, LlmMessage::User(_)))
            .map_or(past.len(), |p| p + 1);
        past.drain(..next_user);
    }
}

/// A history record to append; `call` is the `(call id, tool name)` a tool result answers.
pub(crate) fn history_message(
    role: MessageRole,
    content: String,
    tool_calls: Vec<ToolCall>,
    call: Option<(&str, &str)>,
) -> AgentHistoryMessage {
    AgentHistoryMessage {
        role,
        content,
        tool_calls,
        tool_call_id: call.map(|c| c.0.to_owned()),
        tool_name: call.map(|c| c.1.to_owned()),
        created_at: Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(question: &str, output_len: usize) -> Vec<LlmMessage> {
        vec![
            LlmMessage::User(question.into()),
            LlmMessage::Assistant {
                content: None,
                tool_calls: vec![ToolCall {
                    id: "c".into(),
                    name: "search_places".into(),
                    arguments: "{}".into(),
                }],
            },
            LlmMessage::Tool {
                call_id: "c".into(),
                name: "search_places".into(),
                content: "x".repeat(output_len),
            },
            LlmMessage::Assistant {
                content: Some(format!("answer to {question}")),
                tool_calls: Vec::new(),
            },
        ]
    }

    #[test]
    fn big_tool_results_give_way_before_the_questions_and_answers() {
        let mut past = exchange("coffee in Austin?", 30_000);
        past.extend(exchange("And in Dallas?", 30_000));
        fit(&mut past, 10_000);
        assert_eq!(past.len(), 8, "both exchanges stay");
        assert_eq!(past[0], LlmMessage::User("coffee in Austin?".into()));
        assert!(matches!(&past[2], LlmMessage::Tool { content, .. } if content == TRIMMED));
        assert!(matches!(&past[6], LlmMessage::Tool { content, .. } if content == TRIMMED));
        assert!(past.iter().map(chars).sum::<usize>() <= 10_000);
    }

    #[test]
    fn the_newest_tool_results_stay_when_trimming_older_ones_is_enough() {
        let mut past = exchange("coffee in Austin?", 30_000);
        past.extend(exchange("And in Dallas?", 5_000));
        fit(&mut past, 10_000);
        assert!(matches!(&past[2], LlmMessage::Tool { content, .. } if content == TRIMMED));
        assert!(matches!(&past[6], LlmMessage::Tool { content, .. } if content.len() == 5_000));
    }

    #[test]
    fn whole_exchanges_go_when_trimming_is_not_enough() {
        let mut past = exchange(&"q".repeat(6_000), 10);
        past.extend(exchange("And in Dallas?", 10));
        fit(&mut past, 1_000);
        assert_eq!(past[0], LlmMessage::User("And in Dallas?".into()));
    }
}
