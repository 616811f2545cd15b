//! Integration tests of the node against a real anvil (one per test, on a free loopback port),
//! driving the scripted echo backend (`tests/apps/echo.rs`) through the Rollup HTTP API.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod common;
mod openrpc;
mod processing;
mod proofs;
mod qemu;
mod real_backend;
mod restart;
