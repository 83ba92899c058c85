//! Letta adapter: the domain's `AgentGateway` and `BlockStore` over Letta's v1 REST API
//! (observed on Letta 0.16.8).
//!
//! `client` speaks HTTP (routes, retries, error answers as `AgentError`s), `wire` holds Letta's
//! request and answer bodies, `stream` puts a token-streamed round back together, `gateway` the
//! agents, archival memory and the approval loop that
//! runs our tools here as Letta client-side tools, `block_store` the memory blocks agents share.

mod backend;
mod block_store;
mod client;
mod gateway;
mod stream;
mod wire;

pub use backend::{LettaBackend, LettaBlockStore};
pub use client::LettaConfig;
