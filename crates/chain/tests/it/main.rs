//! Integration tests against a real anvil (one per test, on a free loopback port).
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod abi;
mod anvil;
mod common;
mod deploy;
mod inputs;
mod l1;
mod outputs;
