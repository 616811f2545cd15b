/**
 * The verdict rules (PROTOCOL.md 17.3, the twin of `witness_protocol::verdict::decide`):
 * what a verifier concludes from a device leaf it proved against L1 (or proved absent), the
 * device's answer to a fresh nonce, and its opening of the leaf's highest attested reading
 * (not needed while the leaf holds a baseline a registrar's correction set: that public value
 * is the reference then).
 * Pure: proving and I/O are the caller's.
 */
import { commitmentOf, verifyPossessionProof, type Opening, type PossessionProof } from './protocol';
import { fromHex } from './hex';
import type { DeviceLeaf } from './state';

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
}

const f = (code: string, detail: string): Finding => ({ code, detail });

function safeVerify(proof: PossessionProof, key: string, domain: Uint8Array): boolean {
  try {
    return verifyPossessionProof(proof, fromHex(key), domain);
  } catch {
    return false;
  }
}

/** Applies the rules of 17.3 in order. */
export function decide(e: Evidence): Decision {
  const leaf = e.leaf;
  if (!leaf) return { verdict: 'unknown_device', findings: [f('unknown_device', 'the proven state has no device with this id')] };
  if (leaf.revoked) return { verdict: 'revoked', findings: [f('revoked', 'a registrar revoked the device')] };
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
  const findings: Finding[] = [];
  if (leaf.flagged) {
    findings.push(
      f('tamper_on_record', `${leaf.openTampers} uncorrected rollback(s) of ${leaf.tamperEvents} on record, the latest at counter ${leaf.latestTamper?.counter ?? 0n}`),
    );
  }
  // From rule 5 on, a correction on record is always said, last.
  const latest = leaf.latestCorrection;
  const corrected = latest
    ? [f('corrections_on_record', `${leaf.corrections} registrar correction(s) on record, the latest of counter ${latest.counter} at input ${latest.inputIndex}`)]
    : [];
  const decision = (verdict: VerdictCode, list: Finding[]): Decision => ({ verdict, findings: [...list, ...corrected] });
  // Rule 6's reference: the baseline a correction set (public, no opening needed), else the
  // odometer of a valid opening of the highest attested reading.
  let reference: { value: number | bigint; what: string } | undefined;
  const highest = leaf.highest;
  const baseline = leaf.correctedBaseline;
  if (baseline) {
    reference = { value: baseline.odometerM, what: `the ${baseline.odometerM} m baseline a registrar's correction set at input ${baseline.inputIndex}` };
  } else if (highest) {
    const o = e.opening;
    if (o && o.deviceId === e.deviceId.toLowerCase() && o.counter === highest.counter && commitmentOf(o) === highest.commitment) {
      reference = { value: o.reading.odometer_m, what: `the ${o.reading.odometer_m} m attested at counter ${highest.counter}` };
    }
  } else {
    // Rule 5: nothing to compare the device with.
    if (leaf.flagged) return decision('flagged', findings);
    return decision('no_history', [f('no_history', 'no reading attested yet: nothing to compare the device with')]);
  }
  if (reference && BigInt(proof.reading.odometer_m) < BigInt(reference.value)) {
    findings.unshift(f('rollback', `the device shows ${proof.reading.odometer_m} m, below ${reference.what}`));
    return decision('rollback', findings);
  }
  if (leaf.flagged) return decision('flagged', findings);
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
