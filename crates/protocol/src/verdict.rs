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
    /// The vehicle's earlier units (the leaf's predecessor, its predecessor, …), proven
    /// against the same state notice. The vehicle's record is theirs and this unit's.
    pub predecessors: &'a [DeviceLeaf],
}

/// The vehicle's units before `leaf`, checked link by link (rule 5): each is the previous
/// one's predecessor, names it as its successor and is a unit of the same vehicle. `None`
/// when one is missing or does not link, or more are given than the chain has.
fn earlier_units<'a>(leaf: &DeviceLeaf, given: &'a [DeviceLeaf]) -> Option<&'a [DeviceLeaf]> {
    let mut current = leaf;
    let mut count = 0;
    while let Some(previous) = current.predecessor() {
        let unit = given.get(count)?;
        if unit.device_id != previous
            || unit.successor() != Some(current.device_id)
            || unit.vehicle != leaf.vehicle
        {
            return None;
        }
        current = unit;
        count += 1;
    }
    // Leaves beyond the last predecessor are no unit of this vehicle's chain.
    (count == given.len()).then_some(given)
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
    if let Some(successor) = leaf.successor() {
        return decision(
            Verdict::Revoked,
            alloc::vec![finding(
                "replaced",
                format!(
                    "this unit was replaced in its vehicle by {successor}: the vehicle's record continues there, ask that unit"
                ),
            )],
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
    let Some(earlier) = earlier_units(leaf, evidence.predecessors) else {
        return decision(
            Verdict::CannotConfirm,
            alloc::vec![finding(
                "previous_unit",
                "the unit replaced an earlier one whose proven leaf is missing or does not link to it: the vehicle's record is incomplete"
                    .into(),
            )],
        );
    };
    // The vehicle's record: this unit and the ones before it, newest first.
    let units = || core::iter::once(leaf).chain(earlier);
    let flagged = units().any(DeviceLeaf::flagged);
    let mut findings = Vec::new();
    for unit in units().filter(|u| u.flagged()) {
        let which = if unit.device_id == leaf.device_id {
            String::new()
        } else {
            format!(" in the vehicle's earlier unit {}", unit.device_id)
        };
        findings.push(finding(
            "tamper_on_record",
            format!(
                "{} uncorrected rollback(s) of {} on record{which}, the latest at counter {}",
                unit.open_tampers,
                unit.tamper_events,
                unit.latest_tamper.as_ref().map_or(0, |t| t.counter)
            ),
        ));
    }
    // Findings every verdict from here on ends with: units replaced, corrections.
    let mut trailing: Vec<Finding> = earlier
        .iter()
        .map(|unit| {
            finding(
                "unit_replaced",
                format!(
                    "the vehicle's unit {} was replaced; its record ({} attested reading(s), {} rollback(s)) is part of the vehicle's",
                    unit.device_id, unit.attested, unit.tamper_events
                ),
            )
        })
        .collect();
    trailing.extend(units().filter_map(|unit| {
        unit.latest_correction.as_ref().map(|latest| {
            finding(
                "corrections_on_record",
                format!(
                    "{} registrar correction(s) on record of unit {}, the latest of counter {} at input {}",
                    unit.corrections, unit.device_id, latest.counter, latest.input_index
                ),
            )
        })
    }));
    if let Some(recovery) = &leaf.pending_recovery {
        trailing.push(finding(
            "recovery_pending",
            format!(
                "a registrar started an ownership recovery: unless the current owner objects, the device passes to another owner key at {} (block time)",
                recovery.effective_at
            ),
        ));
    }
    let decision = |verdict, mut findings: Vec<Finding>| {
        findings.extend(trailing.iter().cloned());
        Decision { verdict, findings }
    };
    // What the device's reading is compared with (rule 6): the baseline a correction or a
    // replacement stated, a public value, or else the highest attested reading, opened by
    // the device.
    let reference = match (&leaf.corrected_baseline, leaf.highest) {
        (Some(baseline), _) => Some((
            baseline.odometer_m,
            format!(
                "the {} m baseline a registrar stated at input {} (a correction, or the unit's replacement)",
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
            if flagged {
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
        _ if flagged => decision(Verdict::Flagged, findings),
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
