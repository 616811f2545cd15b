//! The Witness mock fleet.
//!
//! Simulated cars ([`Device`]) with a model ([`catalogue`]), a driving [`Profile`] and an
//! Ed25519 key on disk produce odometer, fuel and fault-code readings over simulated time
//! ([`SimClock`]), buffer them while out of coverage, seal them into envelopes (up to 16
//! readings each) with counters reserved durably beforehand, and post them to the gateway
//! ([`GatewayClient`]). Each keeps a local log from which it opens its commitments to
//! verifiers, signs possession proofs and ownership statements over the [`LocalLink`], and
//! may play a tamper [`Scenario`] (rollback, clone, replay, forge, swap).
//!
//! Embedding (the `witness` CLI):
//! ```no_run
//! # async fn demo(domain: witness_protocol::Domain,
//! #               registrar: witness_protocol::SigningKey) -> witness_devices::Result<()> {
//! use witness_devices::{Fleet, FleetSpec, LocalLink, RunOptions, SimClock};
//! let mut spec = FleetSpec::new(10, domain.clone());
//! spec.seed = Some(42);
//! spec.tampers.push("3=rollback".parse()?);
//! let fleet = Fleet::create(".witness/fleet", spec)?;
//! let _registrations = fleet.registration_messages(&registrar, &domain, 1)?;
//! let link = LocalLink::serve(fleet.clone(), "127.0.0.1:9700".parse().unwrap()).await?;
//! let clock = SimClock::catch_up(witness_devices::unix_now() - 3 * 86_400, 3_600.0)?;
//! let options = RunOptions::new("http://127.0.0.1:8080", clock);
//! fleet.run(options, async { let _ = tokio::signal::ctrl_c().await; }, |p| {
//!     println!("{} readings accepted", p.totals.readings_accepted);
//! }).await?;
//! link.shutdown().await?;
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod catalogue;
mod clock;
mod device;
mod error;
mod fleet;
mod json;
mod link;
mod random;
mod sim;
mod store;
mod tamper;
mod transport;

pub use clock::{SimClock, unix_now};
pub use device::{BufferSettings, Device, DeviceStats, PAIRING_WINDOW, SealedRecord, Unit};
pub use error::{Error, Result};
pub use fleet::{DeviceSummary, Fleet, FleetSpec, Progress, RunOptions};
pub use json::ReadingJson;
pub use link::{DEFAULT_LINK_ADDR, LinkHandle, LocalLink};
pub use sim::{Profile, VehicleParams};
pub use tamper::{
    DEFAULT_AFTER_READINGS, DEFAULT_ROLLBACK_KM, Scenario, TamperAssignment, TamperPlan,
};
pub use transport::{Delivery, GatewayClient, MAX_ENVELOPES_PER_POST, RetryPolicy};
