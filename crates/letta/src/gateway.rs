//! `AgentGateway` over Letta: agents, archival memory, and messages, our tools running here as
//! Letta client-side tools. Messages go to the streaming endpoint with token streaming, so text
//! reaches the observer as Letta writes it. Each message carries the tools' schemas; a
//! `requires_approval` stop is answered with their results (the approval loop), and a `409` left
//! by a crash while an approval was pending is resolved before the message is sent again.

use async_trait::async_trait;
use pi_domain::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentReply, AgentSpec, AgentStep,
    AgentSummary, Block, Page, Passage, StepLog, StepObserver, Usage, runtime::TextSink,
};
use pi_domain::tools::ToolContext;
use pi_domain::user::UserId;
use reqwest::Method;
use serde_json::{Value, json};

use crate::LettaBackend;
use crate::client::{CONFLICT, Repeat, Route};
use crate::stream::{Message, Round, RoundEnd, RoundSink};
use crate::wire::{
    AgentRef, AgentState, BlockResponse, CreateAgent, CreateBlock, CreatePassage, LettaMessage,
    MessageCreate, PassageResponse, SearchResponse, SendMessages, ToolCall, ToolReturn,
    ToolReturns, ToolStatus, UpdateAgentTags, UserMessage,
};

/// Most approval round trips per user message.
const MAX_APPROVALS: usize = 8;

/// Most Letta calls for one page of agents (more only when Letta starts over).
const MAX_LIST_FETCHES: usize = 100;

/// Where a listing of agents goes on from: the last agent listed.
struct ListCursor {
    created_at: Option<chrono::DateTime<chrono::Utc>>,
    id: String,
}

impl ListCursor {
    /// `<created_at>|<id>`; a bare id (no time) is taken as it is.
    fn parse(cursor: &str) -> Self {
        match cursor.split_once('|') {
            Some((at, id)) => Self {
                created_at: chrono::DateTime::parse_from_rfc3339(at)
                    .ok()
                    .map(|t| t.with_timezone(&chrono::Utc)),
                id: id.to_owned(),
            },
            None => Self {
                created_at: None,
                id: cursor.to_owned(),
            },
        }
    }

    fn after(agent: &AgentSummary) -> String {
        format!("{}|{}", agent.created_at.to_rfc3339(), agent.id.0)
    }

    /// Whether `agent` comes after the cursor, newest first.
    fn precedes(&self, agent: &AgentSummary) -> bool {
        agent.id.0 != self.id && self.created_at.is_none_or(|at| agent.created_at <= at)
    }
}

fn agent_route(agent: &AgentId, rest: &[&str]) -> Route {
    let mut segments = vec!["agents", agent.0.as_str()];
    segments.extend_from_slice(rest);
    Route::item(&segments)
}

impl LettaBackend {
    /// Sends input to the agent and reads the streamed round, handing each piece to `sink`.
    async fn post_messages(
        &self,
        agent: &AgentId,
        messages: MessageCreate<'_>,
        sink: &mut (dyn RoundSink + Send),
    ) -> Result<RoundEnd, AgentError> {
        let body = SendMessages {
            messages: vec![messages],
            client_tools: self.tools.schemas(),
            stream_tokens: true,
            include_pings: true,
        };
        let mut round = Round::default();
        self.client
            .stream(
                &agent_route(agent, &["messages", "stream"]),
                &body,
                |data| round.feed(data, sink),
            )
            .await?;
        round.finish(sink)
    }

    /// One round recorded in `steps` (and `usage`); returns the tool calls Letta waits on (none
    /// once the turn is over).
    async fn round(
        &self,
        agent: &AgentId,
        messages: MessageCreate<'_>,
        steps: &mut StepLog,
        usage: &mut Usage,
    ) -> Result<Vec<ToolCall>, AgentError> {
        let mut recorder = Recorder {
            text: steps.text_sink(),
            steps,
            approvals: Vec::new(),
        };
        let end = self.post_messages(agent, messages, &mut recorder).await?;
        let u = end.usage;
        usage.prompt_tokens += u.prompt_tokens;
        usage.completion_tokens += u.completion_tokens;
        usage.total_tokens += u.total_tokens;
        usage.step_count += u.step_count;
        Ok(if end.requires_approval {
            recorder.approvals
        } else {
            Vec::new()
        })
    }

    /// Answers the approval an agent still waits on (e.g. after a crash) with an error.
    async fn close_pending_approval(&self, agent: &AgentId) {
        let latest = agent_route(agent, &["messages"])
            .query("limit", 1)
            .query("order", "desc");
        let pending: Vec<ToolCall> = match self.client.get::<Vec<LettaMessage>>(&latest).await {
            Ok(messages) => messages
                .into_iter()
                .next()
                .map(LettaMessage::approval_calls)
                .unwrap_or_default(),
            Err(e) => {
                tracing::warn!(agent_id = %agent, error = %e, "cannot read the pending approval");
                Vec::new()
            }
        };
        self.refuse(agent, pending, "interrupted").await;
    }

    /// Answers tool calls Letta waits on with an error, without running them.
    async fn refuse(&self, agent: &AgentId, calls: Vec<ToolCall>, why: &str) {
        if calls.is_empty() {
            return;
        }
        let tool_returns = calls
            .into_iter()
            .map(|call| ToolReturn {
                tool_call_id: call.tool_call_id,
                tool_return: json!({ "error": why }).to_string(),
                status: ToolStatus::Error,
            })
            .collect();
        let answer = MessageCreate::ToolReturns(ToolReturns { tool_returns });
        if let Err(e) = self.post_messages(agent, answer, &mut Discard).await {
            tracing::warn!(agent_id = %agent, error = %e, "cannot answer the pending approval");
        }
    }

    /// Output (JSON text) and whether it is an error.
    async fn run_client_tool(
        &self,
        owner: Option<UserId>,
        agent: &AgentId,
        call: &ToolCall,
    ) -> (String, bool) {
        let args: Value = serde_json::from_str(&call.arguments).unwrap_or_else(|_| json!({}));
        let ctx = ToolContext {
            user_id: owner,
            agent_id: Some(agent.clone()),
        };
        match self.tools.call(&call.name, &ctx, args).await {
            Ok(out) => (out.json().to_owned(), out.is_error()),
            Err(e) => (json!({"error": e.to_string()}).to_string(), true),
        }
    }

    /// Letta answers `200 []` for the archival memory of an agent that does not exist: an empty
    /// answer is only trusted once the agent is known to exist (`NotFound` otherwise).
    async fn known_if_empty(
        &self,
        agent: &AgentId,
        passages: Vec<Passage>,
    ) -> Result<Vec<Passage>, AgentError> {
        if passages.is_empty() {
            self.client.get_ok(&agent_route(agent, &[])).await?;
        }
        Ok(passages)
    }

    /// One turn: rounds of messages and tool approvals until Letta answers in text.
    async fn turn(
        &self,
        agent: &AgentId,
        message: AgentMessage,
        observer: StepObserver,
    ) -> Result<AgentReply, AgentError> {
        let user = || {
            MessageCreate::User(UserMessage {
                content: &message.content,
            })
        };
        let mut steps = StepLog::new(Some(observer));
        let mut usage = Usage::default();
        let mut approvals = match self.round(agent, user(), &mut steps, &mut usage).await {
            Err(AgentError::Rejected(m)) if m.starts_with(CONFLICT) => {
                tracing::warn!(agent_id = %agent, "resolving a pending approval before sending");
                self.close_pending_approval(agent).await;
                self.round(agent, user(), &mut steps, &mut usage).await?
            }
            other => other?,
        };
        for round in 0..=MAX_APPROVALS {
            if approvals.is_empty() {
                return Ok(AgentReply {
                    steps: steps.into_steps(),
                    usage,
                });
            }
            if round == MAX_APPROVALS {
                // Out of rounds: answer what Letta still waits on so the agent is not left
                // stuck on a pending approval (the next message would get a 409).
                self.refuse(agent, approvals, "too many tool rounds").await;
                break;
            }
            let mut tool_returns = Vec::new();
            for call in approvals {
                let (output, is_error) = self
                    .run_client_tool(message.on_behalf_of, agent, &call)
                    .await;
                steps.push(AgentStep::ToolReturn {
                    call_id: call.tool_call_id.clone(),
                    name: call.name,
                    output: output.clone(),
                    is_error,
                });
                tool_returns.push(ToolReturn {
                    tool_call_id: call.tool_call_id,
                    tool_return: output,
                    status: ToolStatus::of(is_error),
                });
            }
            let answer = MessageCreate::ToolReturns(ToolReturns { tool_returns });
            approvals = self.round(agent, answer, &mut steps, &mut usage).await?;
        }
        steps.push(AgentStep::Assistant {
            text: format!("I stopped after {MAX_APPROVALS} tool rounds without a final answer."),
        });
        Ok(AgentReply {
            steps: steps.into_steps(),
            usage,
        })
    }
}

/// Records a round's messages as steps (each reported as it completes), passes text pieces on,
/// and collects the client-side tool calls Letta asks for.
struct Recorder<'a> {
    steps: &'a mut StepLog,
    text: Option<TextSink>,
    approvals: Vec<ToolCall>,
}

impl RoundSink for Recorder<'_> {
    fn message(&mut self, message: Message) {
        match message {
            Message::Step(AgentStep::ToolReturn { call_id, .. })
                if self.steps.steps().iter().any(
                    |s| matches!(s, AgentStep::ToolReturn { call_id: c, .. } if *c == call_id),
                ) =>
            {
                // Letta echoes the returns we posted: keep the one we recorded.
            }
            Message::Step(step) => self.steps.push(step),
            Message::Approval(calls) => {
                for call in calls {
                    self.steps.push(AgentStep::ToolCall {
                        call_id: call.tool_call_id.clone(),
                        name: call.name.clone(),
                        arguments: call.arguments.clone(),
                    });
                    self.approvals.push(call);
                }
            }
        }
    }

    fn text(&mut self, piece: &str) {
        if let Some(sink) = &self.text {
            sink.send(piece);
        }
    }
}

/// A round nobody reads (answering a pending approval).
struct Discard;

impl RoundSink for Discard {
    fn message(&mut self, _: Message) {}
    fn text(&mut self, _: &str) {}
}

#[async_trait]
impl AgentGateway for LettaBackend {
    async fn create_agent(&self, spec: AgentSpec) -> Result<AgentId, AgentError> {
        let config = self.client.config();
        let body = CreateAgent {
            name: &spec.name,
            system: &spec.system_prompt,
            memory_blocks: spec.memory_blocks.iter().map(CreateBlock::from).collect(),
            block_ids: spec.block_ids.iter().map(|b| b.0.as_str()).collect(),
            tags: &spec.tags,
            metadata: &spec.metadata,
            model: &config.model,
            embedding: &config.embedding,
            include_base_tools: true,
        };
        let created: AgentRef = self
            .client
            .send(Method::POST, &Route::collection(&["agents"]), &body)
            .await?;
        Ok(AgentId(created.id))
    }

    async fn send_message(
        &self,
        agent: &AgentId,
        message: AgentMessage,
    ) -> Result<AgentReply, AgentError> {
        self.send_message_observed(agent, message, StepObserver::new(|_| {}))
            .await
    }

    /// Steps are reported per Letta round trip: tool calls as Letta asks for approval, their
    /// returns as soon as the tool ran here.
    async fn send_message_observed(
        &self,
        agent: &AgentId,
        message: AgentMessage,
        observer: StepObserver,
    ) -> Result<AgentReply, AgentError> {
        let started = std::time::Instant::now();
        let result = self.turn(agent, message, observer).await;
        pi_domain::agent::record_turn("letta", started, &result);
        result
    }

    async fn get_agent(&self, agent: &AgentId) -> Result<AgentSummary, AgentError> {
        let route = agent_route(agent, &[]).query("include", "agent.tags");
        let found: AgentState = self.client.get(&route).await?;
        Ok(found.into())
    }

    /// Newest first. The cursor is `<created_at>|<id>` of the last agent listed: Letta's `after`
    /// starts over from the newest agent when the agent it names was deleted meanwhile, so
    /// agents not older than the cursor are skipped here (and fetching goes on) instead of
    /// being listed twice.
    async fn list_agents(
        &self,
        limit: usize,
        cursor: Option<String>,
        tag: Option<String>,
    ) -> Result<Page<AgentSummary>, AgentError> {
        let cursor = cursor.as_deref().map(ListCursor::parse);
        let mut after = cursor.as_ref().map(|c| c.id.clone());
        let mut items: Vec<AgentSummary> = Vec::new();
        let mut more = false;
        for _ in 0..MAX_LIST_FETCHES {
            // Newest first, explicitly: `after` then continues in that order.
            let mut route = Route::collection(&["agents"])
                .query("limit", limit + 1)
                .query("order", "desc")
                .query("include", "agent.tags");
            if let Some(tag) = &tag {
                route = route.query("tags", tag).query("match_all_tags", true);
            }
            if let Some(after) = &after {
                route = route.query("after", after);
            }
            let listed: Vec<AgentState> = self.client.get(&route).await?;
            let exhausted = listed.len() <= limit;
            after = listed.last().map(|a| a.id.clone());
            items.extend(
                listed
                    .into_iter()
                    .map(AgentSummary::from)
                    .filter(|a| cursor.as_ref().is_none_or(|c| c.precedes(a))),
            );
            if items.len() > limit {
                more = true;
                break;
            }
            if exhausted {
                break;
            }
        }
        items.truncate(limit);
        Ok(Page {
            next_cursor: if more {
                items.last().map(ListCursor::after)
            } else {
                None
            },
            items,
        })
    }

    async fn add_tag(&self, agent: &AgentId, tag: &str) -> Result<(), AgentError> {
        let current = self.get_agent(agent).await?;
        if current.tags.iter().any(|t| t == tag) {
            return Ok(());
        }
        let mut tags = current.tags;
        tags.push(tag.to_owned());
        let body = UpdateAgentTags { tags: &tags };
        self.client
            .call(
                Method::PATCH,
                &agent_route(agent, &[]),
                Some(&body),
                Repeat::Never,
            )
            .await
    }

    async fn delete_agent(&self, agent: &AgentId) -> Result<(), AgentError> {
        self.client
            .call::<()>(
                Method::DELETE,
                &agent_route(agent, &[]),
                None,
                Repeat::Never,
            )
            .await
    }

    async fn agent_blocks(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        let route = agent_route(agent, &["core-memory", "blocks"]);
        let blocks: Vec<BlockResponse> = self.client.get(&route).await?;
        Ok(blocks.into_iter().map(Into::into).collect())
    }

    async fn archival_list(
        &self,
        agent: &AgentId,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError> {
        let route = agent_route(agent, &["archival-memory"]).query("limit", limit);
        let listed: Vec<PassageResponse> = self.client.get(&route).await?;
        self.known_if_empty(agent, listed.into_iter().map(Into::into).collect())
            .await
    }

    async fn archival_search(
        &self,
        agent: &AgentId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError> {
        let route = agent_route(agent, &["archival-memory", "search"])
            .query("query", query)
            .query("top_k", limit);
        let found: SearchResponse = self.client.get(&route).await?;
        self.known_if_empty(agent, found.results.into_iter().map(Into::into).collect())
            .await
    }

    async fn archival_insert(
        &self,
        agent: &AgentId,
        content: &str,
        tags: Vec<String>,
    ) -> Result<Passage, AgentError> {
        let body = CreatePassage {
            text: content,
            tags: &tags,
        };
        let route = agent_route(agent, &["archival-memory"]);
        // Letta answers with the stored passages, embedding vectors included: only the first
        // passage's text, tags and time reach our clients.
        let created: Vec<PassageResponse> = self.client.send(Method::POST, &route, &body).await?;
        created.into_iter().next().map(Into::into).ok_or_else(|| {
            AgentError::Unavailable(format!("Letta's answer to POST {route} holds no passage"))
        })
    }
}
