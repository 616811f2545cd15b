/**
 * The verdict rules (PROTOCOL.md 17.3, the twin of `witness_protocol::verdict::decide`):
 * what a verifier concludes from a device leaf it proved against L1 (or proved absent), the
 * device's answer to a fresh nonce, and its opening of the leaf's highest attested reading
 * (not needed while the leaf holds a baseline a registrar's correction or a replacement set:
 * that public value is the reference then). A verdict speaks for the vehicle: the unit's leaf
 * and the leaves of the units it replaced, proven against the same state notice (rule 5).
 * Pure: proving and I/O are the caller's.
 */
import { commitmentOf, verifyPossessionProof, type Opening, type PossessionProof } from './protocol';
import { fromHex } from './hex';
import { replacementInput, type DeviceLeaf } from './state';

export type VerdictCode = 'consistent' | 'rollback' | 'flagged' | 'revoked' | 'unknown_device' | 'no_history' | 'cannot_confirm';

export interface Finding {
  code: string;
  detail: string;
}

export interface Decision {
  verdict: VerdictCode;
  findings: Finding[];
}

export interface Evidence {
  deviceId: string;
  /** The leaf as proven against the state notice; `null`: proven absent. */
  leaf: DeviceLeaf | null;
  proof: PossessionProof;
  /** The nonce sent, hex. */
  nonce: string;
  /** The deployment the answer must be signed for (`domainBytes` of the pinned chain and application, and the backend key). */
  domain: Uint8Array;
  /** The device's opening of the leaf's highest attested reading, if it gave one. */
  opening?: Opening;
  /**
   * The vehicle's earlier units: the leaf's predecessor, its predecessor, …, newest first, each
   * proven against the same state notice (17.2 V7a). The vehicle's record is theirs and this unit's.
   */
  predecessors: DeviceLeaf[];
}

const f = (code: string, detail: string): Finding => ({ code, detail });

function safeVerify(proof: PossessionProof, key: string, domain: Uint8Array): boolean {
  try {
    return verifyPossessionProof(proof, fromHex(key), domain);
  } catch {
    return false;
  }
}

/**
 * The vehicle's units before `leaf`, checked link by link (rule 5): each is the previous one's
 * predecessor, names it as its successor and has the leaf's vehicle id. `undefined` when one is
 * missing or does not link; units given beyond the last predecessor are not used.
 */
export function earlierUnits(leaf: DeviceLeaf, given: readonly DeviceLeaf[]): DeviceLeaf[] | undefined {
  const linked = linkedUnits(leaf, given);
  return linked.complete ? linked.units : undefined;
}

/** The given units that link to `leaf` one by one (rule 5), up to the first that does not, and whether they reach the vehicle's first unit. */
export function linkedUnits(leaf: DeviceLeaf, given: readonly DeviceLeaf[]): { units: DeviceLeaf[]; complete: boolean } {
  const units: DeviceLeaf[] = [];
  let current = leaf;
  while (current.predecessor !== null) {
    const unit = given[units.length];
    if (!unit || unit.deviceId !== current.predecessor || unit.successor !== current.deviceId || unit.vehicle !== leaf.vehicle) return { units, complete: false };
    units.push(unit);
    current = unit;
  }
  return { units, complete: true };
}

/** Applies the rules of 17.3 in order. */
export function decide(e: Evidence): Decision {
  const leaf = e.leaf;
  if (!leaf) return { verdict: 'unknown_device', findings: [f('unknown_device', 'the proven state has no device with this id')] };
  if (leaf.revoked) return { verdict: 'revoked', findings: [f('revoked', 'a registrar revoked the device')] };
  if (leaf.successor !== null) {
    return {
      verdict: 'revoked',
      findings: [f('replaced', `this unit was replaced in its vehicle by unit ${leaf.successor}: the vehicle's record continues there, check the vehicle's current unit`)],
    };
  }
  const proof = e.proof;
  if (proof.deviceId !== e.deviceId.toLowerCase() || proof.nonce !== e.nonce.toLowerCase()) {
    return { verdict: 'cannot_confirm', findings: [f('proof_not_fresh', "the device's answer is for another device or another nonce: a replayed answer")] };
  }
  if (!safeVerify(proof, leaf.key, e.domain)) {
    return {
      verdict: 'cannot_confirm',
      findings: [f('device_signature', "the device's answer does not verify under the key in its proven leaf: another unit, or a forged answer")],
    };
  }
  // Rule 5: the vehicle's record is this unit's and its earlier units'.
  const earlier = earlierUnits(leaf, e.predecessors);
  if (!earlier) {
    return {
      verdict: 'cannot_confirm',
      findings: [f('previous_unit', "the unit replaced an earlier one whose proven leaf is missing or does not link to it: the vehicle's record is incomplete")],
    };
  }
  const units = [leaf, ...earlier];
  const flagged = units.some((u) => u.flagged);
  const findings: Finding[] = [];
  for (const unit of units) {
    if (!unit.flagged) continue;
    const which = unit === leaf ? '' : ` in the vehicle's earlier unit ${unit.deviceId}`;
    findings.push(
      f('tamper_on_record', `${unit.openTampers} uncorrected rollback(s) of ${unit.tamperEvents} on record${which}, the latest at counter ${unit.latestTamper?.counter ?? 0n}`),
    );
  }
  // From rule 5 on, every verdict ends with the units replaced, then the corrections on record,
  // then a pending ownership recovery (8.4.2).
  const trailing = [
    ...earlier.map((u) =>
      f('unit_replaced', `the vehicle's unit ${u.deviceId} was replaced; its record (${u.attested} attested reading(s), ${u.tamperEvents} rollback(s), ${u.openTampers} not cleared) is part of the vehicle's`),
    ),
    ...units.flatMap((u) =>
      u.latestCorrection
        ? [f('corrections_on_record', `${u.corrections} registrar correction(s) on record of unit ${u.deviceId}, the latest of counter ${u.latestCorrection.counter} at input ${u.latestCorrection.inputIndex}`)]
        : [],
    ),
    ...(leaf.pendingRecovery
      ? [
          f(
            'recovery_pending',
            `a registrar started an ownership recovery: unless the current owner objects, the device passes to another owner key at ${leaf.pendingRecovery.effectiveAt} (block time)`,
          ),
        ]
      : []),
  ];
  const decision = (verdict: VerdictCode, list: Finding[]): Decision => ({ verdict, findings: [...list, ...trailing] });
  // Rule 6's reference: the baseline a correction or a replacement set (public, no opening
  // needed), else the odometer of a valid opening of the highest attested reading.
  let reference: { value: number | bigint; what: string } | undefined;
  const highest = leaf.highest;
  const baseline = leaf.correctedBaseline;
  if (baseline) {
    const by = replacementInput(leaf) === baseline.inputIndex ? "the unit's replacement stated" : "a registrar's correction set";
    reference = { value: baseline.odometerM, what: `the ${baseline.odometerM} m baseline ${by} at input ${baseline.inputIndex}` };
  } else if (highest) {
    const o = e.opening;
    if (o && o.deviceId === e.deviceId.toLowerCase() && o.counter === highest.counter && commitmentOf(o) === highest.commitment) {
      reference = { value: o.reading.odometer_m, what: `the ${o.reading.odometer_m} m attested at counter ${highest.counter}` };
    }
  } else {
    // Rule 5: nothing to compare the device with.
    if (flagged) return decision('flagged', findings);
    return decision('no_history', [f('no_history', 'no reading attested yet: nothing to compare the device with')]);
  }
  if (reference && BigInt(proof.reading.odometer_m) < BigInt(reference.value)) {
    findings.unshift(f('rollback', `the device shows ${proof.reading.odometer_m} m, below ${reference.what}`));
    return decision('rollback', findings);
  }
  if (flagged) return decision('flagged', findings);
  if (!reference) {
    return decision('cannot_confirm', [
      f('opening', `the device did not open its highest attested reading (counter ${highest?.counter ?? 0n}) to the proven commitment`),
    ]);
  }
  if (leaf.lastCounter !== null && proof.counter < leaf.lastCounter) {
    return decision('flagged', [f('counter_behind', `the device's counter ${proof.counter} is below the last consumed counter ${leaf.lastCounter}: a clone or a reset`)]);
  }
  return decision('consistent', [f('consistent', `the device shows ${proof.reading.odometer_m} m, at or above ${reference.what}`)]);
}
