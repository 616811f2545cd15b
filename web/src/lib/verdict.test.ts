import { describe, expect, it } from 'vitest';
import { fromHex } from './hex';
import { decodeLeaf } from './state';
import { decodeOpening, decodePossessionProof, type Opening } from './protocol';
import { decide, type Evidence } from './verdict';
import { ofKind, str, vector, type Vector } from '../test/vectors';

/** The evidence of a verdict vector (an opening that does not decode is no opening). */
function evidenceOf(v: Vector): Evidence {
  const leaf = typeof v.leaf === 'string' ? decodeLeaf(fromHex(v.leaf)) : null;
  let opening: Opening | undefined;
  if (typeof v.opening === 'string') {
    try {
      opening = decodeOpening(fromHex(v.opening));
    } catch {
      opening = undefined;
    }
  }
  return {
    deviceId: str(v, 'device_id'),
    leaf,
    proof: decodePossessionProof(fromHex(str(v, 'possession_proof'))),
    nonce: str(v, 'nonce'),
    domain: fromHex(v.domain),
    opening,
  };
}

/** Rules 1-4 end before the findings of the record are gathered. */
const EARLY = new Set(['unknown_device', 'revoked', 'proof_not_fresh', 'device_signature']);

describe('verdict rules (vectors of kind verdict, PROTOCOL.md 17.3)', () => {
  const all = ofKind('verdict');
  it('has a vector for each rule, the corrections among them', () => {
    expect(new Set(all.map((v) => v.expected_verdict))).toEqual(new Set(['unknown_device', 'revoked', 'cannot_confirm', 'no_history', 'flagged', 'rollback', 'consistent']));
    const names = all.map((v) => v.name);
    for (const n of ['verdict_flagged_one_of_two_corrected', 'verdict_consistent_after_correction', 'verdict_consistent_above_corrected_baseline', 'verdict_rollback_below_corrected_baseline']) {
      expect(names).toContain(n);
    }
  });
  for (const v of all) {
    it(`${v.name}: ${String(v.description ?? '')}`, () => {
      const e = evidenceOf(v);
      const decision = decide(e);
      expect(decision.verdict).toBe(v.expected_verdict);
      expect(decision.findings[0]?.code).toBe(v.expected_finding);
      // From rule 5 on, a leaf with a correction on record ends with corrections_on_record (and only then).
      const last = decision.findings[decision.findings.length - 1]?.code;
      const said = decision.findings.filter((x) => x.code === 'corrections_on_record').length;
      if (e.leaf?.latestCorrection && !EARLY.has(v.expected_finding as string)) {
        expect(last).toBe('corrections_on_record');
        expect(said).toBe(1);
      } else {
        expect(said).toBe(0);
      }
    });
  }
});

describe('the reference of rule 6: the corrected baseline when the leaf holds one', () => {
  const rebased = vector('verdict_rollback_below_corrected_baseline');

  it('compares with the baseline, not the highest: above the baseline and below the opened highest is consistent', () => {
    // The rolled-back vector's answer (101,000 km) and its valid opening of the highest
    // (152,000 km), against the leaf whose correction set a 1,200 km baseline.
    const below = evidenceOf(vector('verdict_rollback'));
    const leaf = evidenceOf(rebased).leaf;
    expect(leaf?.correctedBaseline).toEqual({ odometerM: 1_200_000n, inputIndex: 78n });
    expect(below.opening).toBeDefined();
    const d = decide({ ...below, leaf });
    expect(d.verdict).toBe('consistent');
    expect(d.findings.map((x) => x.code)).toEqual(['consistent', 'corrections_on_record']);
    expect(d.findings[0]?.detail).toBe("the device shows 101000000 m, at or above the 1200000 m baseline a registrar's correction set at input 78");
    // Without the baseline, the same answer is a rollback below the opened highest.
    expect(decide({ ...below, leaf: leaf && { ...leaf, correctedBaseline: null } }).verdict).toBe('rollback');
  });

  it('needs no opening, and names the baseline in a rollback', () => {
    const v = vector('verdict_consistent_above_corrected_baseline');
    expect(v.opening ?? null).toBeNull();
    const d = decide(evidenceOf(rebased));
    expect(d.findings[0]?.detail).toBe("the device shows 1100000 m, below the 1200000 m baseline a registrar's correction set at input 78");
    expect(decide({ ...evidenceOf(rebased), opening: undefined }).verdict).toBe('rollback');
  });

  it('counts open rollbacks, not all of them, in the tamper finding', () => {
    const d = decide(evidenceOf(vector('verdict_flagged_one_of_two_corrected')));
    expect(d.findings.map((x) => x.code)).toEqual(['tamper_on_record', 'corrections_on_record']);
    expect(d.findings[0]?.detail).toMatch(/^1 uncorrected rollback\(s\) of 2 on record/);
    expect(d.findings[1]?.detail).toBe('1 registrar correction(s) on record, the latest of counter 39 at input 78');
  });
});
