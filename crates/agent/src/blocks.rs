//! Memory blocks of embedded agents ([`BlockStore`]), persisted through the [`AgentStore`]. Needs
//! no tools and no model, so persona services can be built before the agents' tools exist.

use std::sync::Arc;

use async_trait::async_trait;
use pi_domain::agent::store::{AgentRecord, AgentStore};
use pi_domain::agent::{AgentError, AgentId, Block, BlockId, BlockSpec, BlockStore};

/// Core-memory blocks of embedded agents.
#[derive(Clone)]
pub struct EmbeddedBlockStore {
    store: Arc<dyn AgentStore>,
}

impl std::fmt::Debug for EmbeddedBlockStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBlockStore").finish_non_exhaustive()
    }
}

impl EmbeddedBlockStore {
    /// Blocks kept in `store`.
    pub fn new(store: Arc<dyn AgentStore>) -> Self {
        Self { store }
    }
}

/// A fresh id such as `block-…` or `agent-…`.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// The agent, or `NotFound`.
pub(crate) async fn existing_agent(
    store: &dyn AgentStore,
    id: &AgentId,
) -> Result<AgentRecord, AgentError> {
    store
        .get_agent(id)
        .await?
        .ok_or_else(|| AgentError::NotFound(format!("agent {id}")))
}

/// Refuses an empty label or a value over the block's limit.
pub(crate) fn check_block(spec: &BlockSpec) -> Result<(), AgentError> {
    if spec.label.trim().is_empty() {
        return Err(AgentError::Rejected("block label must not be empty".into()));
    }
    if spec.value.chars().count() > spec.limit {
        return Err(AgentError::Rejected(format!(
            "value of block {:?} exceeds its limit of {} characters",
            spec.label, spec.limit
        )));
    }
    Ok(())
}

#[async_trait]
impl BlockStore for EmbeddedBlockStore {
    async fn blocks_of_agent(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        existing_agent(self.store.as_ref(), agent).await?;
        self.store.agent_blocks(agent).await
    }

    async fn create_block(&self, spec: BlockSpec) -> Result<Block, AgentError> {
        check_block(&spec)?;
        let block = Block {
            id: BlockId(new_id("block")),
            label: spec.label,
            value: spec.value,
            limit: spec.limit,
            description: spec.description,
            read_only: spec.read_only,
        };
        self.store.insert_block(block.clone()).await?;
        Ok(block)
    }

    async fn get_block(&self, block: &BlockId) -> Result<Block, AgentError> {
        self.store
            .get_block(block)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("block {block}")))
    }

    async fn find_blocks_by_label(&self, label: &str) -> Result<Vec<Block>, AgentError> {
        self.store.blocks_by_label(label).await
    }

    async fn update_block_value(&self, block: &BlockId, value: &str) -> Result<Block, AgentError> {
        let current = self.get_block(block).await?;
        if value.chars().count() > current.limit {
            return Err(AgentError::Rejected(format!(
                "value exceeds the limit of {} characters",
                current.limit
            )));
        }
        self.store
            .set_block_value(block, value)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("block {block}")))
    }

    async fn attach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        self.store.attach(agent, block).await
    }

    async fn detach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        existing_agent(self.store.as_ref(), agent).await?;
        self.store.detach(agent, block).await
    }

    async fn agents_of_block(&self, block: &BlockId) -> Result<Vec<AgentId>, AgentError> {
        self.get_block(block).await?;
        self.store.block_agents(block).await
    }
}
