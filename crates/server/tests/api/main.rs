//! HTTP integration tests: the real application on port 0, against a fresh SQLite file and a
//! fresh PostgreSQL database. Every test in `engine_tests!` runs once per database engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod agents;
mod auth;
mod bad_input;
mod chat;
mod console;
mod errors;
mod eval;
mod faults;
mod health;
mod http;
mod idempotency;
mod import;
mod letta_live;
mod metrics;
mod process;
mod provisioning;
mod replicas;
mod roundtrip;
mod runtime;
mod seed;
mod storage_faults;
mod stream;
mod tokens;
mod tools;
