//! The embedded agent runtime: Pi agents in-process.
//!
//! [`EmbeddedAgentBackend`] (the `AgentGateway`) and [`EmbeddedBlockStore`] (the `BlockStore`)
//! keep agents in the `AgentStore` port (the project's database, through `pi-store`). The backend
//! runs the agent loop ([`turn`]) against a [`LanguageModel`](pi_domain::agent::runtime::LanguageModel) — any OpenAI-compatible
//! endpoint ([`openai::OpenAiClient`]) or the deterministic [`offline::OfflineModel`] — and
//! executes tools in-process: the registry's tools plus the built-in memory tools.

mod backend;
mod blocks;
mod context;
mod memory;
pub mod offline;
pub mod openai;
mod turn;

pub use backend::{EmbeddedAgentBackend, RuntimeConfig};
pub use blocks::EmbeddedBlockStore;
pub use memory::schemas as memory_tool_schemas;
