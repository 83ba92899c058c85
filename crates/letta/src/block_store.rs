//! `BlockStore` over Letta: standalone blocks, shared by attaching them to several agents.

use async_trait::async_trait;
use pi_domain::agent::{AgentError, AgentId, Block, BlockId, BlockSpec, BlockStore};
use reqwest::Method;

use crate::LettaBlockStore;
use crate::client::{Repeat, Route};
use crate::wire::{AgentRef, BlockResponse, CreateBlock, UpdateBlockValue};

fn block_route(block: &BlockId, rest: &[&str]) -> Route {
    let mut segments = vec!["blocks", block.0.as_str()];
    segments.extend_from_slice(rest);
    Route::item(&segments)
}

fn attachment_route(agent: &AgentId, action: &str, block: &BlockId) -> Route {
    Route::item(&[
        "agents",
        &agent.0,
        "core-memory",
        "blocks",
        action,
        &block.0,
    ])
}

#[async_trait]
impl BlockStore for LettaBlockStore {
    async fn blocks_of_agent(&self, agent: &AgentId) -> Result<Vec<Block>, AgentError> {
        let route = Route::item(&["agents", agent.0.as_str(), "core-memory", "blocks"]);
        let blocks: Vec<BlockResponse> = self.client.get(&route).await?;
        Ok(blocks.into_iter().map(Into::into).collect())
    }

    async fn create_block(&self, spec: BlockSpec) -> Result<Block, AgentError> {
        let created: BlockResponse = self
            .client
            .send(
                Method::POST,
                &Route::collection(&["blocks"]),
                &CreateBlock::from(&spec),
            )
            .await?;
        Ok(created.into())
    }

    async fn get_block(&self, block: &BlockId) -> Result<Block, AgentError> {
        let found: BlockResponse = self.client.get(&block_route(block, &[])).await?;
        Ok(found.into())
    }

    async fn find_blocks_by_label(&self, label: &str) -> Result<Vec<Block>, AgentError> {
        let route = Route::collection(&["blocks"]).query("label", label);
        let found: Vec<BlockResponse> = self.client.get(&route).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn update_block_value(&self, block: &BlockId, value: &str) -> Result<Block, AgentError> {
        let updated: BlockResponse = self
            .client
            .send(
                Method::PATCH,
                &block_route(block, &[]),
                &UpdateBlockValue { value },
            )
            .await?;
        Ok(updated.into())
    }

    /// Idempotent on Letta, so retried like a read.
    async fn attach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        let route = attachment_route(agent, "attach", block);
        self.client
            .call::<()>(Method::PATCH, &route, None, Repeat::Safe)
            .await
    }

    async fn detach_block(&self, agent: &AgentId, block: &BlockId) -> Result<(), AgentError> {
        let route = attachment_route(agent, "detach", block);
        self.client
            .call::<()>(Method::PATCH, &route, None, Repeat::Never)
            .await
    }

    async fn agents_of_block(&self, block: &BlockId) -> Result<Vec<AgentId>, AgentError> {
        let agents: Vec<AgentRef> = self.client.get(&block_route(block, &["agents"])).await?;
        Ok(agents.into_iter().map(|a| AgentId(a.id)).collect())
    }
}
