//! Pi's domain: entities, ports and services.
//!
//! This crate is plain Rust. It knows no HTTP framework, no ORM, no HTTP client, no JWT or bcrypt
//! library: adapters implement the ports declared here, and services are written only against
//! those ports (`Arc<dyn Port>`), so that tests can swap in mocks or a real database.

pub mod admin;
pub mod agent;
pub mod auth;
pub mod chat;
pub mod data;
pub mod health;
pub mod persona;
mod repo;
pub mod search;
pub mod seed;
pub mod tools;
pub mod user;
pub mod validation;

pub use repo::{RepoError, StorageUnavailable};
pub use validation::{FieldError, ValidationErrors};
