//! The verdict rules of docs/PROTOCOL.md 17.3, one by one and in their order.

use witness_protocol::state::{AttestedRef, DeviceLeaf, TamperRef};
use witness_protocol::verdict::{Decision, Evidence, Verdict, decide};
use witness_protocol::{
    BackendSecretKey, DeviceId, Domain, ModelId, Opening, PossessionProof, Reading, SigningKey,
};

use crate::rng;

const NONCE: [u8; 32] = [0x6e; 32];

struct Case {
    device: SigningKey,
    id: DeviceId,
    domain: Domain,
    leaf: DeviceLeaf,
    opening: Opening,
}

fn reading(odometer_m: u64) -> Reading {
    Reading {
        timestamp: 1_790_000_000,
        odometer_m,
        fuel_ml: 100,
        engine_s: 5_000,
        faults: vec![],
    }
}

/// A device whose leaf's highest attested reading (counter 5, 40,000 km) the device can open;
/// counters consumed up to 6.
fn case() -> Case {
    let mut rng = rng(40);
    let device = SigningKey::generate(&mut rng);
    let id = DeviceId::random(&mut rng);
    let domain =
        witness_protocol::fixture::domain(BackendSecretKey::generate(&mut rng).public_key());
    let opening = Opening {
        device_id: id,
        counter: 5,
        blinding: [0xb1; 32],
        reading: reading(40_000_000),
    };
    let mut leaf = DeviceLeaf::new(id, ModelId(1), device.public_key().to_bytes());
    leaf.last_counter = Some(6);
    leaf.attested = 5;
    leaf.highest = Some(AttestedRef {
        counter: 5,
        commitment: opening.commitment().unwrap(),
        input_index: 9,
    });
    Case {
        device,
        id,
        domain,
        leaf,
        opening,
    }
}

impl Case {
    fn proof(&self, odometer_m: u64, counter: u64) -> PossessionProof {
        PossessionProof::sign(
            &self.device,
            &self.domain,
            self.id,
            NONCE,
            counter,
            reading(odometer_m),
        )
        .unwrap()
    }

    fn decide(
        &self,
        leaf: Option<&DeviceLeaf>,
        proof: &PossessionProof,
        opening: Option<&Opening>,
    ) -> Decision {
        decide(&Evidence {
            device_id: self.id,
            leaf,
            proof,
            nonce: &NONCE,
            domain: &self.domain,
            opening,
            predecessors: &[],
        })
    }

    fn honest(&self) -> Decision {
        self.decide(
            Some(&self.leaf),
            &self.proof(41_000_000, 6),
            Some(&self.opening),
        )
    }
}

fn codes(decision: &Decision) -> Vec<&'static str> {
    decision.findings.iter().map(|f| f.code).collect()
}

fn flag(leaf: &mut DeviceLeaf) {
    leaf.open_tampers = 1;
    leaf.tamper_events = 1;
    leaf.latest_tamper = Some(Box::new(TamperRef {
        counter: 6,
        reference_counter: 5,
        input_index: 10,
    }));
}

#[test]
fn an_honest_device_at_or_above_its_highest_reading_is_consistent() {
    let c = case();
    let decision = c.honest();
    assert_eq!(decision.verdict, Verdict::Consistent);
    assert_eq!(codes(&decision), ["consistent"]);
    let equal = c.decide(Some(&c.leaf), &c.proof(40_000_000, 7), Some(&c.opening));
    assert_eq!(equal.verdict, Verdict::Consistent);
}

#[test]
fn rule_1_a_proven_absent_device_is_unknown() {
    let c = case();
    let decision = c.decide(None, &c.proof(1, 1), None);
    assert_eq!(decision.verdict, Verdict::UnknownDevice);
    assert_eq!(codes(&decision), ["unknown_device"]);
}

#[test]
fn rule_2_a_revoked_device_is_revoked_whatever_it_answers() {
    let mut c = case();
    c.leaf.revoked = true;
    let stranger = SigningKey::generate(&mut rng(41));
    let forged = PossessionProof::sign(&stranger, &c.domain, c.id, [0; 32], 0, reading(1)).unwrap();
    assert_eq!(
        c.decide(Some(&c.leaf), &forged, None).verdict,
        Verdict::Revoked
    );
}

#[test]
fn rule_3_an_answer_for_another_device_or_nonce_is_not_fresh() {
    let c = case();
    let mut other_nonce = c.proof(41_000_000, 6);
    other_nonce.nonce = [1; 32];
    let mut other_device = c.proof(41_000_000, 6);
    other_device.device_id = DeviceId([7; 16]);
    for proof in [other_nonce, other_device] {
        let decision = c.decide(Some(&c.leaf), &proof, Some(&c.opening));
        assert_eq!(decision.verdict, Verdict::CannotConfirm);
        assert_eq!(codes(&decision), ["proof_not_fresh"]);
    }
}

#[test]
fn rule_4_an_answer_not_signed_under_the_proven_key_cannot_confirm() {
    let c = case();
    // Signed by another unit.
    let clone = SigningKey::generate(&mut rng(42));
    let by_clone =
        PossessionProof::sign(&clone, &c.domain, c.id, NONCE, 6, reading(41_000_000)).unwrap();
    // Signed by the device, for another deployment.
    let elsewhere = BackendSecretKey::generate(&mut rng(43));
    let for_elsewhere = PossessionProof::sign(
        &c.device,
        &Domain {
            backend_key: elsewhere.public_key().clone(),
            ..c.domain.clone()
        },
        c.id,
        NONCE,
        6,
        reading(41_000_000),
    )
    .unwrap();
    // Altered after signing.
    let mut altered = c.proof(30_000_000, 6);
    altered.reading.odometer_m = 45_000_000;
    for proof in [by_clone, for_elsewhere, altered] {
        let decision = c.decide(Some(&c.leaf), &proof, Some(&c.opening));
        assert_eq!(decision.verdict, Verdict::CannotConfirm);
        assert_eq!(codes(&decision), ["device_signature"]);
    }
}

#[test]
fn rule_5_without_an_attested_reading_there_is_no_history_unless_flagged() {
    let mut c = case();
    c.leaf.highest = None;
    let proof = c.proof(41_000_000, 6);
    let decision = c.decide(Some(&c.leaf), &proof, None);
    assert_eq!(decision.verdict, Verdict::NoHistory);
    assert_eq!(codes(&decision), ["no_history"]);
    flag(&mut c.leaf);
    let decision = c.decide(Some(&c.leaf), &proof, None);
    assert_eq!(decision.verdict, Verdict::Flagged);
    assert_eq!(codes(&decision), ["tamper_on_record"]);
}

#[test]
fn rule_6_below_the_opened_highest_reading_is_a_rollback_even_when_flagged() {
    let mut c = case();
    let proof = c.proof(39_999_999, 6);
    let decision = c.decide(Some(&c.leaf), &proof, Some(&c.opening));
    assert_eq!(decision.verdict, Verdict::Rollback);
    assert_eq!(codes(&decision), ["rollback"]);
    flag(&mut c.leaf);
    let decision = c.decide(Some(&c.leaf), &proof, Some(&c.opening));
    assert_eq!(decision.verdict, Verdict::Rollback);
    assert_eq!(codes(&decision), ["rollback", "tamper_on_record"]);
}

#[test]
fn rule_7_a_flagged_leaf_is_flagged_even_when_the_device_shows_more() {
    let mut c = case();
    flag(&mut c.leaf);
    let decision = c.honest();
    assert_eq!(decision.verdict, Verdict::Flagged);
    assert_eq!(codes(&decision), ["tamper_on_record"]);
    // And without an opening too.
    let decision = c.decide(Some(&c.leaf), &c.proof(41_000_000, 6), None);
    assert_eq!(decision.verdict, Verdict::Flagged);
}

#[test]
fn rule_8_without_a_valid_opening_of_the_highest_reading_nothing_is_confirmed() {
    let c = case();
    let proof = c.proof(41_000_000, 6);
    let mut other_counter = c.opening.clone();
    other_counter.counter = 4;
    let mut other_device = c.opening.clone();
    other_device.device_id = DeviceId([7; 16]);
    let mut other_value = c.opening.clone();
    other_value.reading.odometer_m = 10;
    let mut other_blinding = c.opening.clone();
    other_blinding.blinding = [0; 32];
    for opening in [
        None,
        Some(&other_counter),
        Some(&other_device),
        Some(&other_value),
        Some(&other_blinding),
    ] {
        let decision = c.decide(Some(&c.leaf), &proof, opening);
        assert_eq!(decision.verdict, Verdict::CannotConfirm, "{opening:?}");
        assert_eq!(codes(&decision), ["opening"]);
    }
    // A forged opening claiming a low value cannot turn an honest device into a rollback.
    let low = c.proof(20_000_000, 6);
    assert_eq!(
        c.decide(Some(&c.leaf), &low, Some(&other_value)).verdict,
        Verdict::CannotConfirm
    );
}

#[test]
fn rule_9_a_counter_behind_the_last_consumed_one_is_flagged() {
    let c = case();
    let decision = c.decide(Some(&c.leaf), &c.proof(41_000_000, 5), Some(&c.opening));
    assert_eq!(decision.verdict, Verdict::Flagged);
    assert_eq!(codes(&decision), ["counter_behind"]);
}

#[test]
fn verdicts_have_stable_codes() {
    let all = [
        (Verdict::Consistent, "consistent"),
        (Verdict::Rollback, "rollback"),
        (Verdict::Flagged, "flagged"),
        (Verdict::Revoked, "revoked"),
        (Verdict::UnknownDevice, "unknown_device"),
        (Verdict::NoHistory, "no_history"),
        (Verdict::CannotConfirm, "cannot_confirm"),
    ];
    for (verdict, code) in all {
        assert_eq!(verdict.code(), code);
    }
}
