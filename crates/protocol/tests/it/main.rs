//! Integration tests of the wire protocol.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod certificate;
mod envelope;
mod fuzzish;
mod messages;
mod notice;
mod state;
mod vectors;
mod verdict;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use witness_protocol::{
    BackendSecretKey, Correction, CorrectionReason, DeviceId, Domain, EvidenceType, FaultCode,
    Reading, SigningKey,
};

/// A correction of `counter` that gives its right value and moves the baseline.
pub(crate) fn correction(device_id: DeviceId, counter: u64) -> Correction {
    Correction {
        device_id,
        counter,
        odometer_m: Some(1_234),
        baseline_m: Some(1_000),
        reason: CorrectionReason::ClusterReplaced,
        evidence: EvidenceType::WorkshopRecord,
        evidence_digest: [0x5e; 32],
        note: "cluster replaced".into(),
    }
}

pub(crate) fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

pub(crate) struct Fixture {
    pub device: SigningKey,
    pub device_id: DeviceId,
    pub backend: BackendSecretKey,
    /// The deployment everything is signed for (`witness_protocol::fixture::domain`).
    pub domain: Domain,
}

pub(crate) fn fixture() -> Fixture {
    let mut rng = rng(1);
    let device = SigningKey::generate(&mut rng);
    let device_id = DeviceId::random(&mut rng);
    let backend = BackendSecretKey::generate(&mut rng);
    Fixture {
        device,
        device_id,
        domain: witness_protocol::fixture::domain(backend.public_key()),
        backend,
    }
}

pub(crate) fn readings(count: usize) -> Vec<Reading> {
    (0..count)
        .map(|i| Reading {
            timestamp: 1_790_000_000 + 300 * i as u32,
            odometer_m: 50_000_000 + 4_000 * i as u64,
            fuel_ml: 300,
            engine_s: 900_000 + 300 * i as u32,
            faults: if i % 5 == 4 {
                vec![FaultCode(0x0171)]
            } else {
                vec![]
            },
        })
        .collect()
}
