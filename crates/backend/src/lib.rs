//! The Witness rollup backend: the Cartesi application that keeps the truth.
//!
//! [`State::advance`] is the deterministic state machine (no I/O, no clock but the input
//! metadata, ordered maps only); [`inspect::inspect`] answers queries; [`rollup`] drives
//! both through the Cartesi Rollup HTTP API.

pub mod config;
mod error;
pub mod fixture;
pub mod inspect;
pub mod map;
pub mod outputs;
pub mod rollup;
pub mod state;
pub mod stats;

pub use config::Config;
pub use error::BackendError;
pub use state::{AdvanceOutcome, Metadata, State};
