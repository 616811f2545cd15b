//! Integration tests of the gateway (one binary): in-process router tests, storage on SQLite
//! and PostgreSQL (`WITNESS_TEST_POSTGRES_URL`), the submitter against a real anvil, crash
//! safety of the binary under SIGKILL, and the whole pipeline with the node and backend.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod api;
mod common;
mod crash;
mod e2e;
mod store;
mod submitter;
