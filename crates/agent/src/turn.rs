//! One user message being answered: the context the model sees, the steps reported, and the
//! history the turn will store. The loop that drives it lives in the backend.

use std::time::Instant;

use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LlmMessage, ToolCall};
use pi_domain::agent::store::{AgentHistoryMessage, AgentRecord, MessageRole};
use pi_domain::agent::{
    AgentError, AgentReply, AgentStep, Block, StepLog, StepObserver, ToolSchema, Usage,
};

use crate::context::{chars, fit, history_message, render_system, to_llm};

/// A turn in progress.
pub(crate) struct Turn<'a> {
    agent: &'a AgentRecord,
    tools: std::sync::Arc<[ToolSchema]>,
    /// Earlier exchanges still in the context window.
    past: Vec<LlmMessage>,
    /// This turn so far: the user's message, tool calls and their results.
    current: Vec<LlmMessage>,
    /// What the turn will append to the agent's history.
    record: Vec<AgentHistoryMessage>,
    steps: StepLog,
    usage: Usage,
    deadline: Instant,
    answered: bool,
}

impl<'a> Turn<'a> {
    /// Starts answering `content`, with the agent's recent `history` as earlier context.
    pub(crate) fn begin(
        agent: &'a AgentRecord,
        content: String,
        tools: std::sync::Arc<[ToolSchema]>,
        history: &[AgentHistoryMessage],
        observer: Option<StepObserver>,
        deadline: Instant,
    ) -> Self {
        // Start the window at a user message so no tool result is orphaned.
        let start = history
            .iter()
            .position(|m| m.role == MessageRole::User)
            .unwrap_or(history.len());
        Self {
            agent,
            tools,
            past: history[start..].iter().map(to_llm).collect(),
            current: vec![LlmMessage::User(content.clone())],
            record: vec![history_message(
                MessageRole::User,
                content,
                Vec::new(),
                None,
            )],
            steps: StepLog::new(observer),
            usage: Usage::default(),
            deadline,
            answered: false,
        }
    }

    /// Fails once the turn has used up its time.
    pub(crate) fn check_deadline(&self) -> Result<(), AgentError> {
        if Instant::now() >= self.deadline {
            tracing::warn!(agent_id = %self.agent.id, "agent turn passed its deadline");
            return Err(AgentError::Timeout);
        }
        Ok(())
    }

    /// The next model request: the system prompt with `blocks` (memory may change during the
    /// turn), as much earlier history as fits `context_chars`, and the turn so far.
    pub(crate) fn request(&mut self, blocks: &[Block], context_chars: usize) -> ChatRequest {
        let system = LlmMessage::System(render_system(self.agent, blocks));
        let budget = context_chars
            .saturating_sub(chars(&system) + self.current.iter().map(chars).sum::<usize>());
        fit(&mut self.past, budget);
        let mut messages = Vec::with_capacity(self.past.len() + self.current.len() + 1);
        messages.push(system);
        messages.extend(self.past.iter().cloned());
        messages.extend(self.current.iter().cloned());
        ChatRequest {
            model: self.agent.model.clone(),
            messages,
            tools: self.tools.clone(),
            deadline: Some(self.deadline),
            on_text: self.steps.text_sink(),
        }
    }

    /// Takes in the model's response: its usage and reasoning; its text is the answer when it
    /// calls no tool. Returns the tool calls to run (none once answered).
    pub(crate) fn respond(&mut self, response: ChatResponse) -> Vec<ToolCall> {
        self.usage.prompt_tokens += response.usage.prompt_tokens;
        self.usage.completion_tokens += response.usage.completion_tokens;
        self.usage.total_tokens += response.usage.total_tokens;
        self.usage.step_count += 1;
        if let Some(reasoning) = response.reasoning.filter(|r| !r.trim().is_empty()) {
            self.steps.push(AgentStep::Reasoning { text: reasoning });
        }
        let text = response.content.unwrap_or_default();
        if response.tool_calls.is_empty() {
            self.answer(text);
            return Vec::new();
        }
        // Text beside tool calls ("Let me look that up.") is part of the reply: a streaming
        // client has already seen it, and the stored reply is what it saw.
        if !text.trim().is_empty() {
            self.steps.push(AgentStep::Assistant { text: text.clone() });
        }
        self.current.push(LlmMessage::Assistant {
            content: (!text.is_empty()).then(|| text.clone()),
            tool_calls: response.tool_calls.clone(),
        });
        self.record.push(history_message(
            MessageRole::Assistant,
            text,
            response.tool_calls.clone(),
            None,
        ));
        response.tool_calls
    }

    /// Reports a tool call about to run.
    pub(crate) fn calling(&mut self, call: &ToolCall) {
        self.steps.push(AgentStep::ToolCall {
            call_id: call.id.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        });
    }

    /// Records a tool's result, for the model and the history.
    pub(crate) fn returned(&mut self, call: &ToolCall, output: String, is_error: bool) {
        tracing::info!(agent_id = %self.agent.id, tool = %call.name, is_error, "tool call");
        self.steps.push(AgentStep::ToolReturn {
            call_id: call.id.clone(),
            name: call.name.clone(),
            output: output.clone(),
            is_error,
        });
        self.current.push(LlmMessage::Tool {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content: output.clone(),
        });
        self.record.push(history_message(
            MessageRole::Tool,
            output,
            Vec::new(),
            Some((&call.id, &call.name)),
        ));
    }

    /// Ends the turn with an apology when the model used every step without answering.
    pub(crate) fn give_up_after(&mut self, max_steps: usize) {
        if !self.answered {
            self.answer(format!(
                "I stopped after {max_steps} steps without reaching a final answer. Please narrow the question and ask again."
            ));
        }
    }

    /// The history to store and the reply.
    pub(crate) fn finish(self) -> (Vec<AgentHistoryMessage>, AgentReply) {
        (
            self.record,
            AgentReply {
                steps: self.steps.into_steps(),
                usage: self.usage,
            },
        )
    }

    fn answer(&mut self, text: String) {
        self.steps.push(AgentStep::Assistant { text: text.clone() });
        self.record.push(history_message(
            MessageRole::Assistant,
            text,
            Vec::new(),
            None,
        ));
        self.answered = true;
    }
}
