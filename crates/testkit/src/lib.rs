//! Test doubles for Pi's agent ports and the LLM boundary.
//!
//! [`FakeAgentBackend`] implements `AgentGateway` and `BlockStore` in memory (DashMap). Its
//! replies, latency and failures are scriptable, and it counts what it was asked to do, so tests
//! can assert e.g. that concurrent first messages created exactly one agent. It is a dev-only
//! crate: the shipped server never depends on it.

pub mod letta;
pub mod live;
mod llm;
pub mod openai;

pub use llm::{LlmStep, ScriptedLlm};

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use dashmap::DashMap;
use pi_domain::agent::{
    AgentError, AgentGateway, AgentId, AgentMessage, AgentReply, AgentSpec, AgentStep,
    AgentSummary, Block, BlockId, BlockSpec, BlockStore, Page, Passage, StepObserver, Usage,
};

type ReplyFn = dyn Fn(&AgentId, &AgentMessage) -> AgentReply + Send + Sync;

#[derive(Debug, Clone)]
struct FakeAgent {
    summary: AgentSummary,
    /// Attached blocks, in attachment order (own blocks first).
    blocks: Vec<BlockId>,
    /// Blocks created with the agent (deleted with it).
    own_blocks: Vec<BlockId>,
    spec: AgentSpec,
    received: Vec<AgentMessage>,
    archival: Vec<Passage>,
}

/// A scriptable in-memory agent backend.
pub struct FakeAgentBackend {
    agents: DashMap<AgentId, FakeAgent>,
    blocks: DashMap<BlockId, Block>,
    reply: Mutex<Box<ReplyFn>>,
    failures: Mutex<VecDeque<AgentError>>,
    latency: Mutex<Duration>,
    /// Observed replies write their text in this many pieces, this far apart.
    pacing: Mutex<Option<(usize, Duration)>>,
    /// When each paced reply started and wrote its last piece.
    paced: Mutex<Vec<(Instant, Instant)>>,
    created: AtomicUsize,
    deleted: AtomicUsize,
    sent: AtomicUsize,
}

impl std::fmt::Debug for FakeAgentBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAgentBackend")
            .field("agents", &self.agents.len())
            .field("blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

impl Default for FakeAgentBackend {
    fn default() -> Self {
        Self::new()
    }
}

/// The default reply: one reasoning step and `Echo: <content>`.
pub fn echo_reply(_: &AgentId, message: &AgentMessage) -> AgentReply {
    AgentReply {
        steps: vec![
            AgentStep::Reasoning {
                text: "The user said something; I will echo it.".into(),
            },
            AgentStep::Assistant {
                text: format!("Echo: {}", message.content),
            },
        ],
        usage: Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            total_tokens: 15,
            step_count: 1,
        },
    }
}

fn not_found(what: &str, id: &str) -> AgentError {
    AgentError::NotFound(format!("{what} {id}"))
}

impl FakeAgentBackend {
    /// An empty backend that echoes.
    pub fn new() -> Self {
        Self {
            agents: DashMap::new(),
            blocks: DashMap::new(),
            reply: Mutex::new(Box::new(echo_reply)),
            failures: Mutex::new(VecDeque::new()),
            latency: Mutex::new(Duration::ZERO),
            pacing: Mutex::new(None),
            paced: Mutex::new(Vec::new()),
            created: AtomicUsize::new(0),
            deleted: AtomicUsize::new(0),
            sent: AtomicUsize::new(0),
        }
    }

    /// Replaces how the fake answers messages.
    pub fn set_reply(
        &self,
        f: impl Fn(&AgentId, &AgentMessage) -> AgentReply + Send + Sync + 'static,
    ) {
        *self.reply.lock().unwrap_or_else(|p| p.into_inner()) = Box::new(f);
    }

    /// The next `send_message` calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = AgentError>) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(errors);
    }

    /// Every call waits this long first.
    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap_or_else(|p| p.into_inner()) = latency;
    }

    /// Observed replies (`send_message_observed`) write each assistant text as `pieces` text
    /// pieces `every` apart, as a streaming model would; other steps are reported whole.
    pub fn set_pacing(&self, pieces: usize, every: Duration) {
        *self.pacing.lock().unwrap_or_else(|p| p.into_inner()) = Some((pieces.max(1), every));
    }

    /// For each paced reply so far: when it started writing and when it wrote its last piece.
    pub fn paced_spans(&self) -> Vec<(Instant, Instant)> {
        self.paced.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `create_agent` calls that succeeded.
    pub fn created_count(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    /// `delete_agent` calls that succeeded.
    pub fn deleted_count(&self) -> usize {
        self.deleted.load(Ordering::SeqCst)
    }

    /// `send_message` calls (including failed ones).
    pub fn sent_count(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    /// Agents that currently exist.
    pub fn agent_ids(&self) -> Vec<AgentId> {
        let mut ids: Vec<AgentId> = self.agents.iter().map(|e| e.key().clone()).collect();
        ids.sort();
        ids
    }

    /// The spec an agent was created from.
    pub fn spec_of(&self, agent: &AgentId) -> Option<AgentSpec> {
        self.agents.get(agent).map(|a| a.spec.clone())
    }

    /// Messages an agent received.
    pub fn received(&self, agent: &AgentId) -> Vec<AgentMessage> {
        self.agents
            .get(agent)
            .map(|a| a.received.clone())
            .unwrap_or_default()
    }

    /// Adds an agent that belongs to nobody (for cleanup tests).
    pub fn insert_orphan(&self, name: &str) -> AgentId {
        self.insert_tagged(name, &[])
    }

    /// An agent with no blocks carrying `tags` (another deployment's agent, say).
    pub fn insert_tagged(&self, name: &str, tags: &[&str]) -> AgentId {
        let id = AgentId(format!("agent-{}", uuid::Uuid::new_v4()));
        let spec = AgentSpec {
            name: name.into(),
            system_prompt: String::new(),
            memory_blocks: Vec::new(),
            block_ids: Vec::new(),
            tools: Vec::new(),
            model: "fake".into(),
            embedding: None,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            metadata: Default::default(),
        };
        self.agents
            .insert(id.clone(), Self::fresh(id.clone(), spec, Vec::new()));
        id
    }

    fn fresh(id: AgentId, spec: AgentSpec, blocks: Vec<BlockId>) -> FakeAgent {
        FakeAgent {
            summary: AgentSummary {
                id,
                name: spec.name.clone(),
                created_at: Utc::now(),
                updated_at: Some(Utc::now()),
                tags: spec.tags.clone(),
            },
            own_blocks: blocks.clone(),
            blocks,
            spec,
            received: Vec::new(),
            archival: Vec::new(),
        }
    }

    async fn pause(&self) {
        let latency = *self.latency.lock().unwrap_or_else(|p| p.into_inner());
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    fn new_block(&self, spec: BlockSpec) -> Result<Block, AgentError> {
        if spec.value.chars().count() > spec.limit {
            return Err(AgentError::Rejected(format!(
                "value of block {:?} exceeds its limit of {}",
                spec.label, spec.limit
            )));
        }
        let block = Block {
            id: BlockId(format!("block-{}", uuid::Uuid::new_v4())),
            label: spec.label,
            value: spec.value,
            limit: spec.limit,
            description: spec.description,
            read_only: spec.read_only,
        };
        self.blocks.insert(block.id.clone(), block.clone());
        Ok(block)
    }
}

#[async_trait]
impl AgentGateway for FakeAgentBackend {
    async fn create_agent(&self, spec: AgentSpec) -> Result<AgentId, AgentError> {
        self.pause().await;
        for id in &spec.block_ids {
            if !self.blocks.contains_key(id) {
                return Err(not_found("block", &id.0));
            }
        }
        let mut blocks = Vec::new();
        for block in &spec.memory_blocks {
            blocks.push(self.new_block(block.clone())?.id);
        }
        blocks.extend(spec.block_ids.iter().cloned());
        let id = AgentId(format!("agent-{}", uuid::Uuid::new_v4()));
        self.agents
            .insert(id.clone(), Self::fresh(id.clone(), spec, blocks));
        self.created.fetch_add(1, Ordering::SeqCst);
        Ok(id)
    }

    async fn send_message(
        &self,
        agent: &AgentId,
        message: AgentMessage,
    ) -> Result<AgentReply, AgentError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.pause().await;
        if let Some(error) = self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
        {
            return Err(error);
        }
        let reply = {
            let f = self.reply.lock().unwrap_or_else(|p| p.into_inner());
            f(agent, &message)
        };
        let mut entry = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| not_found("agent", &agent.0))?;
        entry.received.push(message);
        entry.summary.updated_at = Some(Utc::now());
        Ok(reply)
    }

    async fn send_message_observed(
        &self,
        agent: &AgentId,
        message: AgentMessage,
        observer: StepObserver,
    ) -> Result<AgentReply, AgentError> {
        let reply = self.send_message(agent, message).await?;
        let pacing = *self.pacing.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        for step in &reply.steps {
            if let (AgentStep::Assistant { text }, Some((pieces, every))) = (step, pacing) {
                let words: Vec<&str> = text.split_inclusive(' ').collect();
                let per = words.len().div_ceil(pieces).max(1);
                for (i, chunk) in words.chunks(per).enumerate() {
                    if i > 0 {
                        tokio::time::sleep(every).await;
                    }
                    observer.text(&chunk.concat());
                }
                self.paced
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((started, Instant::now()));
            }
            observer.step(step);
        }
        Ok(reply)
    }

    async fn get_agent(&self, agent: &AgentId) -> Result<AgentSummary, AgentError> {
        self.pause().await;
        self.agents
            .get(agent)
            .map(|a| a.summary.clone())
            .ok_or_else(|| not_found("agent", &agent.0))
    }

    async fn list_agents(
        &self,
        limit: usize,
        cursor: Option<String>,
        tag: Option<String>,
    ) -> Result<Page<AgentSummary>, AgentError> {
        self.pause().await;
        let mut all: Vec<AgentSummary> = self
            .agents
            .iter()
            .map(|a| a.summary.clone())
            .filter(|a| tag.as_ref().is_none_or(|t| a.tags.contains(t)))
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let start = match cursor {
            Some(after) => all.iter().position(|a| a.id.0 > after).unwrap_or(all.len()),
            None => 0,
        };
        let items: Vec<AgentSummary> = all.iter().skip(start).take(limit).cloned().collect();
        let next_cursor = if start + items.len() < all.len() {
            items.last().map(|a| a.id.0.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn add_tag(&self, agent: &AgentId, tag: &str) -> Result<(), AgentError> {
        self.pause().await;
        let mut entry = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| not_found("agent", &agent.0))?;
        if !entry.summary.tags.iter().any(|t| t == tag) {
            entry.summary.tags.push(tag.to_owned());
        }
        Ok(())
    }

    async fn delete_agent(&self, agent: &AgentId) -> Result<(), AgentError> {
        self.pause().await;
        let (_, removed) = self
            .agents
            .remove(agent)
            .ok_or_else(|| not_found("agent", &agent.0))?;
        for block in removed.own_blocks {
            self.blocks.remove(&block);
        }
        self.deleted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn agent_blocks(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        self.pause().await;
        let ids = self
            .agents
            .get(agent)
            .map(|a| a.blocks.clone())
            .ok_or_else(|| not_found("agent", &agent.0))?;
        Ok(ids
            .iter()
            .filter_map(|id| self.blocks.get(id).map(|b| b.clone()))
            .collect())
    }

    async fn archival_list(
        &self,
        agent: &AgentId,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError> {
        self.pause().await;
        let a = self
            .agents
            .get(agent)
            .ok_or_else(|| not_found("agent", &agent.0))?;
        Ok(a.archival.iter().rev().take(limit).cloned().collect())
    }

    async fn archival_search(
        &self,
        agent: &AgentId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Passage>, AgentError> {
        self.pause().await;
        let a = self
            .agents
            .get(agent)
            .ok_or_else(|| not_found("agent", &agent.0))?;
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let mut scored: Vec<(usize, &Passage)> = a
            .archival
            .iter()
            .map(|p| {
                let text = p.content.to_lowercase();
                (
                    words.iter().filter(|w| text.contains(w.as_str())).count(),
                    p,
                )
            })
            .filter(|(score, _)| *score > 0)
            .collect();
        scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
        Ok(scored
            .into_iter()
            .take(limit)
            .map(|(_, p)| p.clone())
            .collect())
    }

    async fn archival_insert(
        &self,
        agent: &AgentId,
        content: &str,
        tags: Vec<String>,
    ) -> Result<Passage, AgentError> {
        self.pause().await;
        if content.trim().is_empty() {
            return Err(AgentError::Rejected("passage content is empty".into()));
        }
        let mut a = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| not_found("agent", &agent.0))?;
        let passage = Passage {
            id: format!("passage-{}", uuid::Uuid::new_v4()),
            content: content.to_owned(),
            tags,
            created_at: Utc::now(),
        };
        a.archival.push(passage.clone());
        Ok(passage)
    }
}

#[async_trait]
impl BlockStore for FakeAgentBackend {
    async fn blocks_of_agent(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        AgentGateway::agent_blocks(self, agent).await
    }

    async fn create_block(&self, spec: BlockSpec) -> Result<Block, AgentError> {
        self.pause().await;
        self.new_block(spec)
    }

    async fn get_block(&self, block: &BlockId) -> Result<Block, AgentError> {
        self.pause().await;
        self.blocks
            .get(block)
            .map(|b| b.clone())
            .ok_or_else(|| not_found("block", &block.0))
    }

    async fn find_blocks_by_label(&self, label: &str) -> Result<Vec<Block>, AgentError> {
        self.pause().await;
        Ok(self
            .blocks
            .iter()
            .filter(|b| b.label == label)
            .map(|b| b.clone())
            .collect())
    }

    async fn update_block_value(&self, block: &BlockId, value: &str) -> Result<Block, AgentError> {
        self.pause().await;
        let mut b = self
            .blocks
            .get_mut(block)
            .ok_or_else(|| not_found("block", &block.0))?;
        if value.chars().count() > b.limit {
            return Err(AgentError::Rejected(format!(
                "value exceeds the limit of {}",
                b.limit
            )));
        }
        b.value = value.to_owned();
        Ok(b.clone())
    }

    async fn attach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        self.pause().await;
        if !self.blocks.contains_key(block) {
            return Err(not_found("block", &block.0));
        }
        let mut a = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| not_found("agent", &agent.0))?;
        if !a.blocks.contains(block) {
            a.blocks.push(block.clone());
        }
        Ok(())
    }

    async fn detach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        self.pause().await;
        let mut a = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| not_found("agent", &agent.0))?;
        a.blocks.retain(|b| b != block);
        Ok(())
    }

    async fn agents_of_block(&self, block: &BlockId) -> Result<Vec<AgentId>, AgentError> {
        self.pause().await;
        if !self.blocks.contains_key(block) {
            return Err(not_found("block", &block.0));
        }
        let mut ids: Vec<AgentId> = self
            .agents
            .iter()
            .filter(|a| a.blocks.contains(block))
            .map(|a| a.key().clone())
            .collect();
        ids.sort();
        Ok(ids)
    }
}
