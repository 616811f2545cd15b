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

use alloc::vec::Vec;
#[cfg(feature = "std")]
extern crate std;

pub mod codec;
mod commitment;
mod envelope;
mod error;
mod input;
mod keys;
mod messages;
mod reading;
mod response;
#[cfg(feature = "vectors")]
pub mod vectors;

pub use commitment::{
    BLINDING_TAG, COMMITMENT_EXPORTER_CONTEXT, COMMITMENT_TAG, Commitment, CommitmentKey, Opening,
};
pub use envelope::{
    AEAD_TAG_LEN, ENC_LEN, ENVELOPE_SIGNING_TAG, ENVELOPE_VERSION, Envelope, HPKE_INFO, Header,
    MAX_CIPHERTEXT_LEN, MAX_READINGS_PER_ENVELOPE, Opened, SUITE_ED25519_X25519_CHACHA, Sealed,
};
pub use error::{Error, Result};
pub use input::{INPUT_VERSION, MAX_INPUT_LEN, MAX_MESSAGES, Message, RollupInput, kind};
pub use keys::{
    BackendPublicKey, BackendSecretKey, DeviceId, ModelId, PublicKey, Signature, SigningKey,
};
pub use messages::{
    GatewayAuthorization, MAX_REASON_LEN, OWNER_QUERY_TAG, OWNERSHIP_RELEASE_TAG, OWNERSHIP_TAG,
    OwnerQuery, OwnershipStatement, POSSESSION_TAG, PossessionProof, QUERY_VERSION, REGISTRAR_TAG,
    RegistrarAction, RegistrarMessage, signed_bytes,
};
pub use reading::{
    FaultCode, MAX_FAULTS_PER_READING, READING_FORMAT_V1, Reading, pack_readings, unpack_readings,
};
pub use response::{RESPONSE_HPKE_INFO, open_response, seal_response};

/// Verifies many envelope signatures at once (Ed25519 batch verification, about twice as
/// fast per signature). Accepts only if every signature is valid; on failure, callers fall
/// back to [`Envelope::verify_signature`] one by one to find the culprits.
pub fn verify_envelopes_batch(items: &[(&Envelope, &PublicKey)]) -> Result<()> {
    let messages: Vec<Vec<u8>> = items.iter().map(|(e, _)| e.signed_message()).collect();
    let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let signatures: Vec<ed25519_dalek::Signature> = items
        .iter()
        .map(|(e, _)| ed25519_dalek::Signature::from_bytes(&e.signature().0))
        .collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = items.iter().map(|(_, k)| *k.inner()).collect();
    ed25519_dalek::verify_batch(&message_refs, &signatures, &keys).map_err(|_| Error::BadSignature)
}
