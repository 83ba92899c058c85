//! The Pi backend server: configuration, adapter wiring and start-up.
//!
//! This crate only wires: it reads [`Settings`], builds the adapters (store, security), builds
//! the domain services on them, and hands them to the HTTP adapter.

pub mod admin;
pub mod agents;
pub mod config;
pub mod data;
pub mod file_import;
pub mod probe;
pub mod seed;
pub mod startup;
pub mod telemetry;
pub mod tool_cli;
pub mod tools;

pub use agents::AgentPorts;
pub use config::{ConfigError, Environment, Settings};
pub use startup::Application;
