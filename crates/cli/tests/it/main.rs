//! End-to-end tests of the `witness` binary.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod certificate;
mod chain_up;
mod commands;
mod system;
mod util;
