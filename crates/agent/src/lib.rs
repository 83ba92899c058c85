//! The embedded agent runtime (SPEC §1, §7.2, §7.3): Pi agents in-process.
//!
//! [`EmbeddedAgentBackend`] implements the domain's `AgentGateway` and `BlockStore` over the
//! `AgentStore` port (persisted in the project's database by `pi-store`), runs the agent loop
//! against a [`LanguageModel`](pi_domain::agent::runtime::LanguageModel) — any OpenAI-compatible
//! endpoint ([`openai::OpenAiClient`]) or the deterministic [`offline::OfflineModel`] — and
//! executes tools in-process: the registry's tools plus the built-in memory tools.

mod backend;
mod memory;
pub mod offline;
pub mod openai;

pub use backend::{EmbeddedAgentBackend, RuntimeConfig};
