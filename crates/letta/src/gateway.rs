//! `AgentGateway` over Letta: agents, archival memory, and messages, our tools running here as
//! Letta client-side tools. Each message carries their schemas; a `requires_approval` stop is
//! answered with their results (the approval loop), and a `409` left by a crash while an approval
//! was pending is resolved before the message is sent again.

use async_trait::async_trait;
use pi_domain::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentReply, AgentSpec, AgentStep,
    AgentSummary, Block, Page, Passage, StepLog, StepObserver, Usage,
};
use pi_domain::tools::ToolContext;
use pi_domain::user::UserId;
use reqwest::Method;
use serde_json::{Value, json};

use crate::LettaBackend;
use crate::client::{CONFLICT, Repeat, Route};
use crate::wire::{
    AgentRef, AgentState, BlockResponse, CreateAgent, CreateBlock, CreatePassage, LettaMessage,
    LettaResponse, MessageCreate, PassageResponse, SearchResponse, SendMessages, ToolCall,
    ToolReturn, ToolReturns, ToolStatus, UpdateAgentTags, UserMessage,
};

/// Most approval round trips per user message.
const MAX_APPROVALS: usize = 8;

fn agent_route(agent: &AgentId, rest: &[&str]) -> Route {
    let mut segments = vec!["agents", agent.0.as_str()];
    segments.extend_from_slice(rest);
    Route::item(&segments)
}

impl LettaBackend {
    async fn post_messages(
        &self,
        agent: &AgentId,
        messages: MessageCreate<'_>,
    ) -> Result<LettaResponse, AgentError> {
        let client_tools = self.tools.schemas();
        let body = SendMessages {
            messages: vec![messages],
            client_tools,
        };
        self.client
            .send(Method::POST, &agent_route(agent, &["messages"]), &body)
            .await
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
        if let Err(e) = self.post_messages(agent, answer).await {
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
}

/// Records the steps and usage of one Letta answer; returns the tool calls Letta waits on (none
/// once the turn is over).
fn steps_of(response: LettaResponse, steps: &mut StepLog, usage: &mut Usage) -> Vec<ToolCall> {
    let requires_approval = response.requires_approval();
    let mut approvals = Vec::new();
    for message in response.messages {
        match message {
            LettaMessage::Reasoning { reasoning } => {
                steps.push(AgentStep::Reasoning { text: reasoning });
            }
            LettaMessage::Assistant { content } => steps.push(AgentStep::Assistant {
                text: content.text(),
            }),
            LettaMessage::ToolCall { tool_call } => steps.push(AgentStep::ToolCall {
                call_id: tool_call.tool_call_id,
                name: tool_call.name,
                arguments: tool_call.arguments,
            }),
            LettaMessage::ToolReturn {
                tool_call_id,
                name,
                tool_return,
                status,
            } => {
                // Letta echoes the returns we posted: keep the one we recorded.
                let recorded = steps.steps().iter().any(
                    |s| matches!(s, AgentStep::ToolReturn { call_id, .. } if *call_id == tool_call_id),
                );
                if !recorded {
                    steps.push(AgentStep::ToolReturn {
                        call_id: tool_call_id,
                        name: name.unwrap_or_default(),
                        output: tool_return,
                        is_error: status == Some(ToolStatus::Error),
                    });
                }
            }
            request @ LettaMessage::ApprovalRequest { .. } => {
                for call in request.approval_calls() {
                    steps.push(AgentStep::ToolCall {
                        call_id: call.tool_call_id.clone(),
                        name: call.name.clone(),
                        arguments: call.arguments.clone(),
                    });
                    approvals.push(call);
                }
            }
            LettaMessage::Other => {}
        }
    }
    let u = response.usage;
    usage.prompt_tokens += u.prompt_tokens;
    usage.completion_tokens += u.completion_tokens;
    usage.total_tokens += u.total_tokens;
    usage.step_count += u.step_count;
    if requires_approval {
        approvals
    } else {
        Vec::new()
    }
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
        let user = || {
            MessageCreate::User(UserMessage {
                content: &message.content,
            })
        };
        let mut response = match self.post_messages(agent, user()).await {
            Err(AgentError::Rejected(m)) if m.starts_with(CONFLICT) => {
                tracing::warn!(agent_id = %agent, "resolving a pending approval before sending");
                self.close_pending_approval(agent).await;
                self.post_messages(agent, user()).await?
            }
            other => other?,
        };
        let mut steps = StepLog::new(Some(observer));
        let mut usage = Usage::default();
        for round in 0..=MAX_APPROVALS {
            let approvals = steps_of(response, &mut steps, &mut usage);
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
            response = self.post_messages(agent, answer).await?;
        }
        steps.push(AgentStep::Assistant {
            text: format!("I stopped after {MAX_APPROVALS} tool rounds without a final answer."),
        });
        Ok(AgentReply {
            steps: steps.into_steps(),
            usage,
        })
    }

    async fn get_agent(&self, agent: &AgentId) -> Result<AgentSummary, AgentError> {
        let route = agent_route(agent, &[]).query("include", "agent.tags");
        let found: AgentState = self.client.get(&route).await?;
        Ok(found.into())
    }

    async fn list_agents(
        &self,
        limit: usize,
        cursor: Option<String>,
        tag: Option<String>,
    ) -> Result<Page<AgentSummary>, AgentError> {
        // Newest first, explicitly: `after` then continues in that order.
        let mut route = Route::collection(&["agents"])
            .query("limit", limit + 1)
            .query("order", "desc")
            .query("include", "agent.tags");
        if let Some(tag) = tag {
            route = route.query("tags", tag).query("match_all_tags", true);
        }
        if let Some(after) = cursor {
            route = route.query("after", after);
        }
        let listed: Vec<AgentState> = self.client.get(&route).await?;
        let mut items: Vec<AgentSummary> = listed.into_iter().map(Into::into).collect();
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Page {
            next_cursor: if more {
                items.last().map(|a| a.id.0.clone())
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
