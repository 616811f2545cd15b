import { describe, expect, it } from 'vitest';
import { fromHex } from './hex';
import { decodeLeaf, encodeLeaf, type DeviceLeaf } from './state';
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
    predecessors: ((v.predecessors as string[] | undefined) ?? []).map((h) => decodeLeaf(fromHex(h))),
  };
}

/** Rules 1-5's link check end before the findings of the record are gathered. */
const EARLY = new Set(['unknown_device', 'revoked', 'replaced', 'proof_not_fresh', 'device_signature', 'previous_unit']);

describe('verdict rules (vectors of kind verdict, PROTOCOL.md 17.3)', () => {
  const all = ofKind('verdict');
  it('has a vector for each rule, the corrections among them', () => {
    expect(new Set(all.map((v) => v.expected_verdict))).toEqual(new Set(['unknown_device', 'revoked', 'cannot_confirm', 'no_history', 'flagged', 'rollback', 'consistent']));
    const names = all.map((v) => v.name);
    for (const n of [
      'verdict_flagged_one_of_two_corrected',
      'verdict_consistent_after_correction',
      'verdict_consistent_above_corrected_baseline',
      'verdict_rollback_below_corrected_baseline',
      'verdict_replaced_unit',
      'verdict_previous_unit_missing',
      'verdict_previous_unit_does_not_link',
      'verdict_consistent_after_replacement',
      'verdict_flagged_in_previous_unit',
      'verdict_rollback_below_replacement_baseline',
      'verdict_consistent_recovery_pending',
    ]) {
      expect(names).toContain(n);
    }
  });
  for (const v of all) {
    it(`${v.name}: ${String(v.description ?? '')}`, () => {
      const e = evidenceOf(v);
      const decision = decide(e);
      expect(decision.verdict).toBe(v.expected_verdict);
      expect(decision.findings[0]?.code).toBe(v.expected_finding);
      // Every finding, in order, as the vector states them.
      const codes = decision.findings.map((x) => x.code);
      expect(codes).toEqual(v.expected_findings);
      // From rule 5 on, every verdict ends with one unit_replaced per earlier unit, then one
      // corrections_on_record per unit with a correction (the leaf first), then recovery_pending
      // when the leaf has a pending recovery, and only then.
      const trailing = new Set(['unit_replaced', 'corrections_on_record', 'recovery_pending']);
      if (e.leaf && !EARLY.has(v.expected_finding as string)) {
        const units = [e.leaf, ...e.predecessors];
        const tail = [
          ...e.predecessors.map(() => 'unit_replaced'),
          ...units.filter((u) => u.latestCorrection).map(() => 'corrections_on_record'),
          ...(e.leaf.pendingRecovery ? ['recovery_pending'] : []),
        ];
        expect(codes.slice(codes.length - tail.length)).toEqual(tail);
        expect(codes.filter((c) => trailing.has(c))).toEqual(tail);
      } else {
        expect(codes.filter((c) => trailing.has(c))).toEqual([]);
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
    expect(d.findings[1]?.detail).toBe('1 registrar correction(s) on record of unit 932e87b1159e371676f11573ea4b7ebc, the latest of counter 39 at input 78');
  });
});

describe("the vehicle's units (rules 2 and 5: replacement units, PROTOCOL.md 8.2.2)", () => {
  const after = vector('verdict_consistent_after_replacement');
  /** A leaf re-encoded with some fields changed (the device's own key and answer untouched). */
  const edited = (leaf: DeviceLeaf, patch: Partial<DeviceLeaf>): DeviceLeaf => decodeLeaf(encodeLeaf({ ...leaf, ...patch }));

  it('a replaced unit is retired: revoked, naming the unit that replaced it (rule 2, before the device is asked)', () => {
    const e = evidenceOf(vector('verdict_replaced_unit'));
    const d = decide(e);
    expect(d).toMatchObject({ verdict: 'revoked', findings: [{ code: 'replaced' }] });
    expect(d.findings).toHaveLength(1);
    expect(d.findings[0]?.detail).toContain(`replaced in its vehicle by unit ${e.leaf?.successor}`);
    expect(d.findings[0]?.detail).toContain("check the vehicle's current unit");
    // Even a stale answer: rule 2 comes before rule 3.
    expect(decide({ ...e, nonce: 'ff'.repeat(32) }).findings[0]?.code).toBe('replaced');
  });

  it("the new unit without its predecessor's leaf: cannot confirm; with it: consistent, the earlier unit said", () => {
    const missing = evidenceOf(vector('verdict_previous_unit_missing'));
    expect(missing.predecessors).toEqual([]);
    expect(missing.leaf?.predecessor).not.toBeNull();
    expect(decide(missing).findings).toEqual([expect.objectContaining({ code: 'previous_unit', detail: expect.stringContaining('incomplete') })]);
    const d = decide({ ...missing, predecessors: evidenceOf(after).predecessors });
    expect(d.verdict).toBe('consistent');
    expect(d.findings.map((x) => x.code)).toEqual(['consistent', 'unit_replaced']);
    const old = evidenceOf(after).predecessors[0] as DeviceLeaf;
    expect(d.findings[1]?.detail).toBe(`the vehicle's unit ${old.deviceId} was replaced; its record (${old.attested} attested reading(s), ${old.tamperEvents} rollback(s), ${old.openTampers} not cleared) is part of the vehicle's`);
    // The reference is the baseline the replacement stated, not a correction's.
    expect(d.findings[0]?.detail).toMatch(/baseline the unit's replacement stated at input \d+$/);
  });

  it('an earlier unit that does not link: another successor, another id, another vehicle', () => {
    const e = evidenceOf(after);
    const old = e.predecessors[0] as DeviceLeaf;
    expect(decide(evidenceOf(vector('verdict_previous_unit_does_not_link'))).findings[0]?.code).toBe('previous_unit');
    for (const patch of [{ successor: 'ee'.repeat(16) }, { successor: null }, { vehicle: 'ee'.repeat(32) }]) {
      expect(decide({ ...e, predecessors: [edited(old, patch)] }).findings[0]?.code, JSON.stringify(patch)).toBe('previous_unit');
    }
    expect(decide({ ...e, predecessors: [edited(old, { deviceId: 'ee'.repeat(16) })] }).findings[0]?.code).toBe('previous_unit');
    // A unit given beyond the last predecessor is not used.
    expect(decide({ ...e, predecessors: [old, old] }).findings.map((x) => x.code)).toEqual(['consistent', 'unit_replaced']);
  });

  it('an open rollback in an earlier unit flags the vehicle, one finding per flagged unit', () => {
    const d = decide(evidenceOf(vector('verdict_flagged_in_previous_unit')));
    expect(d.verdict).toBe('flagged');
    expect(d.findings.map((x) => x.code)).toEqual(['tamper_on_record', 'unit_replaced']);
    expect(d.findings[0]?.detail).toMatch(/uncorrected rollback\(s\) of \d+ on record in the vehicle's earlier unit [0-9a-f]{32}, the latest at counter \d+/);
    expect(decide(evidenceOf(vector('verdict_rollback_below_replacement_baseline'))).findings.map((x) => x.code)).toEqual(['rollback', 'unit_replaced']);
  });

  it('three units: both earlier ones proven and said, newest first; flags and corrections per unit, the leaf first', () => {
    const e = evidenceOf(after);
    const leaf = e.leaf as DeviceLeaf;
    const middle = e.predecessors[0] as DeviceLeaf;
    const first = edited(middle, { deviceId: '0e'.repeat(16), successor: middle.deviceId, predecessor: null, openTampers: 1, tamperEvents: 2, latestTamper: { counter: 9n, referenceCounter: 8n, inputIndex: 20n }, corrections: 1, latestCorrection: { counter: 9n, inputIndex: 21n } });
    const linked = edited(middle, { predecessor: first.deviceId, openTampers: 1, tamperEvents: 1, latestTamper: { counter: 3n, referenceCounter: 2n, inputIndex: 30n } });
    const withCorrection = { ...leaf, latestCorrection: { counter: 1n, inputIndex: 50n }, corrections: 1 };
    const d = decide({ ...e, leaf: withCorrection, predecessors: [linked, first] });
    expect(d.verdict).toBe('flagged');
    expect(d.findings.map((x) => x.code)).toEqual(['tamper_on_record', 'tamper_on_record', 'unit_replaced', 'unit_replaced', 'corrections_on_record', 'corrections_on_record']);
    expect(d.findings[2]?.detail).toContain(linked.deviceId);
    expect(d.findings[3]?.detail).toContain(first.deviceId);
    expect(d.findings[4]?.detail).toContain(`of unit ${leaf.deviceId}`);
    expect(d.findings[5]?.detail).toContain(`of unit ${first.deviceId}`);
    // The oldest unit left out: the record is incomplete.
    expect(decide({ ...e, predecessors: [linked] }).findings[0]?.code).toBe('previous_unit');
  });
});

describe('a pending ownership recovery (PROTOCOL.md 8.4.2): the trailing recovery_pending finding', () => {
  const v = vector('verdict_consistent_recovery_pending');
  const e = evidenceOf(v);
  const leaf = e.leaf as DeviceLeaf;

  it('names the time it takes effect, after the corrections on record', () => {
    expect(leaf.pendingRecovery).not.toBeNull();
    const d = decide(e);
    expect(d.verdict).toBe('consistent');
    expect(d.findings.map((x) => x.code)).toEqual(['consistent', 'corrections_on_record', 'recovery_pending']);
    expect(d.findings[2]?.detail).toBe(
      `a registrar started an ownership recovery: unless the current owner objects, the device passes to another owner key at ${leaf.pendingRecovery?.effectiveAt} (block time)`,
    );
  });

  it('it does not change the verdict, and goes with the recovery', () => {
    const without = decide({ ...e, leaf: { ...leaf, pendingRecovery: null } });
    expect(without.verdict).toBe('consistent');
    expect(without.findings.map((x) => x.code)).toEqual(['consistent', 'corrections_on_record']);
    // A rollback with a recovery pending: still a rollback, the recovery said last.
    const rolled = evidenceOf(vector('verdict_rollback'));
    const withRecovery = { ...(rolled.leaf as DeviceLeaf), pendingRecovery: leaf.pendingRecovery };
    expect(decide({ ...rolled, leaf: withRecovery }).findings.map((x) => x.code)).toEqual(['rollback', 'recovery_pending']);
  });

  it('is not said before rule 5: a revoked unit with a recovery pending is only revoked', () => {
    expect(decide({ ...e, leaf: { ...leaf, revoked: true } }).findings.map((x) => x.code)).toEqual(['revoked']);
  });
});
