//! Integration tests of the mock fleet against an in-test stub of the gateway's intake.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod common;
mod delivery;
mod link;
mod profiles;
mod scenarios;
mod storage;
