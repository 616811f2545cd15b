//! The verdict rules of docs/PROTOCOL.md section 17.3: what a verifier concludes from a
//! device leaf it proved against L1, the device's live possession proof and the device's
//! opening of its highest attested reading. Pure: the caller does the proving and the I/O.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::commitment::Opening;
use crate::keys::{DeviceId, Domain, PublicKey};
use crate::messages::PossessionProof;
use crate::state::DeviceLeaf;

/// What a verifier concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The device's reading agrees with its proven history.
    Consistent,
    /// The device shows less than its highest attested reading.
    Rollback,
    /// A rollback is on record without a correction, or the device's counter is behind.
    Flagged,
    /// A registrar retired the device.
    Revoked,
    /// The proven state has no device with this id.
    UnknownDevice,
    /// Registered, but nothing attested yet: nothing to compare with (a warning).
    NoHistory,
    /// Something needed for a verdict failed; the findings say what.
    CannotConfirm,
}

impl Verdict {
    /// Stable name.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Consistent => "consistent",
            Self::Rollback => "rollback",
            Self::Flagged => "flagged",
            Self::Revoked => "revoked",
            Self::UnknownDevice => "unknown_device",
            Self::NoHistory => "no_history",
            Self::CannotConfirm => "cannot_confirm",
        }
    }
}

/// One reason behind a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code.
    pub code: &'static str,
    /// Plain-language explanation.
    pub detail: String,
}

fn finding(code: &'static str, detail: String) -> Finding {
    Finding { code, detail }
}

/// A verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// The reasons, most important first.
    pub findings: Vec<Finding>,
}

/// What the verifier checked itself before deciding.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The device asked about.
    pub device_id: DeviceId,
    /// Its leaf as proven against the state notice (`None`: proven absent).
    pub leaf: Option<&'a DeviceLeaf>,
    /// The device's answer to the fresh nonce.
    pub proof: &'a PossessionProof,
    /// The nonce the verifier sent.
    pub nonce: &'a [u8; 32],
    /// The deployment the verifier trusts (possession proofs are bound to it): the chain
    /// and application of its anchors and the backend key (pinned, or the node's word).
    pub domain: &'a Domain,
    /// The device's opening of the leaf's highest attested reading, if it gave one.
    pub opening: Option<&'a Opening>,
}

/// Applies the rules in order (section 17.3).
pub fn decide(evidence: &Evidence<'_>) -> Decision {
    let decision = |verdict, findings| Decision { verdict, findings };
    let Some(leaf) = evidence.leaf else {
        return decision(
            Verdict::UnknownDevice,
            alloc::vec![finding(
                "unknown_device",
                "the proven state has no device with this id".into(),
            )],
        );
    };
    if leaf.revoked {
        return decision(
            Verdict::Revoked,
            alloc::vec![finding("revoked", "a registrar revoked the device".into())],
        );
    }
    let proof = evidence.proof;
    if proof.device_id != evidence.device_id || proof.nonce != *evidence.nonce {
        return decision(
            Verdict::CannotConfirm,
            alloc::vec![finding(
                "proof_not_fresh",
                "the device's answer is for another device or another nonce: a replayed answer"
                    .into(),
            )],
        );
    }
    let signed = PublicKey::from_bytes(&leaf.key)
        .and_then(|key| proof.verify(&key, evidence.domain))
        .is_ok();
    if !signed {
        return decision(
            Verdict::CannotConfirm,
            alloc::vec![finding(
                "device_signature",
                "the device's answer does not verify under the key in its proven leaf: another unit, or a forged answer"
                    .into(),
            )],
        );
    }
    let mut findings = Vec::new();
    if leaf.flagged() {
        findings.push(finding(
            "tamper_on_record",
            format!(
                "{} uncorrected rollback(s) of {} on record, the latest at counter {}",
                leaf.open_tampers,
                leaf.tamper_events,
                leaf.latest_tamper.as_ref().map_or(0, |t| t.counter)
            ),
        ));
    }
    let corrected = leaf.latest_correction.as_ref().map(|latest| {
        finding(
            "corrections_on_record",
            format!(
                "{} registrar correction(s) on record, the latest of counter {} at input {}",
                leaf.corrections, latest.counter, latest.input_index
            ),
        )
    });
    let decision = |verdict, mut findings: Vec<Finding>| {
        findings.extend(corrected.clone());
        Decision { verdict, findings }
    };
    // What the device's reading is compared with (rule 6): the baseline a correction set, a
    // public value, or else the highest attested reading, opened by the device.
    let reference = match (&leaf.corrected_baseline, leaf.highest) {
        (Some(baseline), _) => Some((
            baseline.odometer_m,
            format!(
                "the {} m baseline a registrar's correction set at input {}",
                baseline.odometer_m, baseline.input_index
            ),
        )),
        (None, Some(highest)) => evidence
            .opening
            .filter(|o| {
                o.device_id == evidence.device_id
                    && o.counter == highest.counter
                    && o.verify(&highest.commitment).is_ok()
            })
            .map(|o| {
                (
                    o.reading.odometer_m,
                    format!(
                        "the {} m attested at counter {}",
                        o.reading.odometer_m, highest.counter
                    ),
                )
            }),
        (None, None) => {
            if leaf.flagged() {
                return decision(Verdict::Flagged, findings);
            }
            return decision(
                Verdict::NoHistory,
                alloc::vec![finding(
                    "no_history",
                    "no reading attested yet: nothing to compare the device with".into(),
                )],
            );
        }
    };
    match reference {
        Some((value, what)) if proof.reading.odometer_m < value => {
            findings.insert(
                0,
                finding(
                    "rollback",
                    format!(
                        "the device shows {} m, below {what}",
                        proof.reading.odometer_m
                    ),
                ),
            );
            decision(Verdict::Rollback, findings)
        }
        _ if leaf.flagged() => decision(Verdict::Flagged, findings),
        None => decision(
            Verdict::CannotConfirm,
            alloc::vec![finding(
                "opening",
                format!(
                    "the device did not open its highest attested reading (counter {}) to the proven commitment",
                    leaf.highest.map_or(0, |h| h.counter)
                ),
            )],
        ),
        Some(_) if leaf.last_counter.is_some_and(|last| proof.counter < last) => decision(
            Verdict::Flagged,
            alloc::vec![finding(
                "counter_behind",
                format!(
                    "the device's counter {} is below the last consumed counter {}: a clone or a reset",
                    proof.counter,
                    leaf.last_counter.unwrap_or_default()
                ),
            )],
        ),
        Some((_, what)) => decision(
            Verdict::Consistent,
            alloc::vec![finding(
                "consistent",
                format!(
                    "the device shows {} m, at or above {what}",
                    proof.reading.odometer_m
                ),
            )],
        ),
    }
}
