//! The Witness wire protocol.
//!
//! Devices seal readings to the rollup backend ([`Envelope::seal`]); the gateway checks
//! their signatures without being able to read them ([`Envelope::verify_signature`]) and
//! packs them into [`RollupInput`]s; the backend opens them ([`Envelope::open`]) and
//! publishes hiding [`Commitment`]s that devices can later open to verifiers. Every byte
//! layout is specified in `docs/PROTOCOL.md`.
//!
//! No I/O, `no_std` + `alloc`: the same code runs on devices, in the gateway, in the
//! browser-facing tools and inside the Cartesi machine.
#![no_std]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "api")]
pub mod api;
pub mod catalogue;
pub mod certificate;
pub mod codec;
mod commitment;
mod envelope;
mod error;
#[cfg(feature = "fixture")]
pub mod fixture;
mod hpke_receiver;
mod input;
mod keys;
mod messages;
pub mod notice;
mod reading;
mod response;
pub mod state;
#[cfg(feature = "vectors")]
pub mod vectors;
pub mod verdict;

pub use commitment::{
    BLINDING_TAG, COMMITMENT_EXPORTER_CONTEXT, COMMITMENT_TAG, Commitment, CommitmentKey, Opening,
    commitment_of,
};
pub use envelope::{
    AEAD_TAG_LEN, CounterStep, ENC_LEN, ENVELOPE_SIGNING_TAG, ENVELOPE_VERSION, Envelope,
    HPKE_INFO, Header, MAX_CIPHERTEXT_LEN, MAX_COUNTER_GAP, MAX_READINGS_PER_ENVELOPE, Opened,
    SUITE_ED25519_X25519_CHACHA, Sealed,
};
pub use error::{Error, Result};
pub use input::{INPUT_VERSION, MAX_INPUT_LEN, MAX_MESSAGES, Message, RollupInput, kind};
pub use keys::{
    BackendPublicKey, BackendSecretKey, DeviceId, Domain, ModelId, PublicKey, Signature,
    SigningKey, VEHICLE_TAG, VehicleId, VehicleIdentity,
};
pub use messages::{
    Consent, Correction, CorrectionReason, EvidenceType, GatewayAuthorization, MAX_REASON_LEN,
    OBJECTION_TAG, OWNER_QUERY_TAG, OWNERSHIP_RELEASE_TAG, OWNERSHIP_TAG, OwnerObjection,
    OwnerQuery, OwnershipStatement, POSSESSION_TAG, PossessionProof, QUERY_VERSION,
    RECOVERY_DELAY_S, REGISTRAR_TAG, RegistrarAction, RegistrarMessage, Release, TransferCode,
    signed_bytes,
};
pub use reading::{
    FaultCode, MAX_FAULTS_PER_READING, READING_FORMAT_V1, Reading, pack_readings, unpack_readings,
};
pub use response::{RESPONSE_HPKE_INFO, open_response, seal_response};

/// Verifies every envelope's signature with the strict rules of [`PublicKey::verify`] and
/// reports the first failure by position. Ed25519 batch verification is deliberately not
/// used: its cofactored equation accepts signatures (torsion components in R) that strict
/// verification rejects, so a gateway using it would relay envelopes the backend refuses.
pub fn verify_envelopes(
    items: &[(&Envelope, &PublicKey)],
    domain: &Domain,
) -> core::result::Result<(), (usize, Error)> {
    for (index, (envelope, key)) in items.iter().enumerate() {
        envelope
            .verify_signature(key, domain)
            .map_err(|error| (index, error))?;
    }
    Ok(())
}
