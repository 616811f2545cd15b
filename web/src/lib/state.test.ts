import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './hex';
import { codeOf } from './codec';
import { decodeLeaf, decodeMapProof, encodeLeaf, foldAll, foldNotice, keyBit, leafHash, nodeHash, verifyMapProof, EMPTY_HASH, LEAF_LEN, type DeviceLeaf, type LeafFields } from './state';
import { ofKind, str, vector, type Vector } from '../test/vectors';

/** The JSON fields of a leaf vector, as the decoder gives them. */
function fieldsOf(leaf: DeviceLeaf): Record<string, unknown> {
  const n = (v: bigint | null) => (v === null ? null : Number(v));
  return {
    device_id: leaf.deviceId,
    model: leaf.model,
    public_key: leaf.key,
    revoked: leaf.revoked,
    open_tampers: leaf.openTampers,
    last_counter: n(leaf.lastCounter),
    owner: leaf.owner,
    ownership_sequence: n(leaf.ownershipSequence),
    era: leaf.era,
    attested: Number(leaf.attested),
    highest: leaf.highest && { counter: Number(leaf.highest.counter), commitment: leaf.highest.commitment, input_index: Number(leaf.highest.inputIndex) },
    first: leaf.first && { counter: Number(leaf.first.counter), commitment: leaf.first.commitment, input_index: Number(leaf.first.inputIndex) },
    tamper_events: leaf.tamperEvents,
    latest_tamper: leaf.latestTamper && { counter: Number(leaf.latestTamper.counter), reference_counter: Number(leaf.latestTamper.referenceCounter), input_index: Number(leaf.latestTamper.inputIndex) },
    corrections: leaf.corrections,
    latest_correction: leaf.latestCorrection && { counter: Number(leaf.latestCorrection.counter), input_index: Number(leaf.latestCorrection.inputIndex) },
    corrected_baseline: leaf.correctedBaseline && { odometer_m: Number(leaf.correctedBaseline.odometerM), input_index: Number(leaf.correctedBaseline.inputIndex) },
    vehicle: leaf.vehicle,
    predecessor: leaf.predecessor,
    successor: leaf.successor,
    pending_recovery: leaf.pendingRecovery && { owner: leaf.pendingRecovery.owner, effective_at: Number(leaf.pendingRecovery.effectiveAt) },
    history: { count: Number(leaf.history.count), root: leaf.history.root, last_input: n(leaf.history.lastInput) },
  };
}

const errorOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return codeOf(e) ?? String(e);
  }
};

describe('device leaf (vectors of kind leaf)', () => {
  const leaves = ofKind('leaf');
  it('has vectors, the version 2 ones among them', () => {
    expect(leaves.length).toBeGreaterThan(10);
    const names = leaves.map((v) => v.name);
    for (const n of [
      'leaf_invalid_version_1',
      'leaf_invalid_corrected_baseline_present_2',
      'leaf_invalid_absent_corrected_baseline_not_zero',
      'leaf_corrected',
      'leaf_invalid_predecessor_present_2',
      'leaf_invalid_absent_successor_not_zero',
      'leaf_recovery_pending',
      'leaf_recovered',
      'leaf_invalid_pending_recovery_present_2',
      'leaf_invalid_absent_pending_recovery_not_zero',
    ])
      expect(names).toContain(n);
    expect(names).not.toContain('leaf_invalid_flagged_2');
  });
  for (const v of leaves) {
    it(v.name, () => {
      const bytes = fromHex(str(v, 'leaf'));
      if (v.valid) {
        const leaf = decodeLeaf(bytes);
        expect(bytes.length).toBe(LEAF_LEN);
        expect(fieldsOf(leaf)).toEqual(v.fields);
        expect(toHex(leafHash(leaf.encoded))).toBe(v.leaf_hash);
        expect(toHex(encodeLeaf(leaf))).toBe(toHex(bytes));
        expect(leaf.flagged).toBe(leaf.openTampers > 0);
      } else {
        expect(errorOf(() => decodeLeaf(bytes))).toBe(v.expected_error);
      }
    });
  }
});

describe('device leaf layout (version 2, 442 bytes: open rollbacks at 54, "first attested" at 170, corrected baseline at 269, vehicle at 286, predecessor at 318, successor at 335, pending recovery at 352, history at 393)', () => {
  const base: LeafFields = {
    deviceId: '0f'.repeat(16),
    model: 7,
    key: '11'.repeat(32),
    revoked: false,
    openTampers: 0,
    lastCounter: 9n,
    owner: null,
    ownershipSequence: null,
    era: 0,
    attested: 2n,
    highest: { counter: 9n, commitment: 'aa'.repeat(32), inputIndex: 5n },
    first: { counter: 4n, commitment: 'bb'.repeat(32), inputIndex: 3n },
    tamperEvents: 0,
    latestTamper: null,
    corrections: 0,
    latestCorrection: null,
    correctedBaseline: null,
    vehicle: 'dd'.repeat(32),
    predecessor: null,
    successor: null,
    pendingRecovery: null,
    history: { count: 2n, root: 'cc'.repeat(32), lastInput: 5n },
  };
  it('writes "first attested" right after "highest attested", like it', () => {
    const bytes = encodeLeaf(base);
    expect(bytes.length).toBe(LEAF_LEN);
    expect(LEAF_LEN).toBe(442);
    expect(bytes[0]).toBe(2);
    expect(bytes[121]).toBe(1);
    expect(toHex(bytes.slice(122, 130))).toBe('0000000000000009');
    expect(bytes[170]).toBe(1);
    expect(toHex(bytes.slice(171, 179))).toBe('0000000000000004');
    expect(toHex(bytes.slice(179, 211))).toBe('bb'.repeat(32));
    expect(toHex(bytes.slice(211, 219))).toBe('0000000000000003');
    expect(toHex(bytes.slice(393, 401))).toBe('0000000000000002');
    expect(toHex(bytes.slice(401, 433))).toBe('cc'.repeat(32));
    expect(toHex(bytes.slice(433, 442))).toBe('01' + '0000000000000005');
    const leaf = decodeLeaf(bytes);
    expect(leaf.first).toEqual(base.first);
    expect(leaf.highest).toEqual(base.highest);
  });
  it('counts open rollbacks in a u32 at 54 (flagged while not 0), and only the version 2 layout is read', () => {
    const two = encodeLeaf({ ...base, openTampers: 2, tamperEvents: 3 });
    expect(toHex(two.slice(54, 58))).toBe('00000002');
    expect(toHex(two.slice(58, 67))).toBe('01' + '0000000000000009');
    const leaf = decodeLeaf(two);
    expect(leaf).toMatchObject({ openTampers: 2, flagged: true, tamperEvents: 3 });
    expect(decodeLeaf(encodeLeaf(base))).toMatchObject({ openTampers: 0, flagged: false });
    // A version 1 leaf (315 bytes, a flagged byte at 54) is refused by its version byte.
    const v1 = two.slice(0, 315);
    v1[0] = 1;
    expect(errorOf(() => decodeLeaf(v1))).toBe('unsupported_version');
  });
  it('writes the corrected baseline at 269 (present, odometer, input); absent all zeros, else invalid_field', () => {
    const rebased = encodeLeaf({ ...base, correctedBaseline: { odometerM: 1_200_000n, inputIndex: 78n } });
    expect(rebased[269]).toBe(1);
    expect(toHex(rebased.slice(270, 278))).toBe(toHex(new Uint8Array([0, 0, 0, 0, 0, 0x12, 0x4f, 0x80])));
    expect(toHex(rebased.slice(278, 286))).toBe('000000000000004e');
    expect(decodeLeaf(rebased).correctedBaseline).toEqual({ odometerM: 1_200_000n, inputIndex: 78n });
    const none = encodeLeaf(base);
    expect(none.slice(269, 286).every((b) => b === 0)).toBe(true);
    expect(decodeLeaf(none).correctedBaseline).toBeNull();
    const dirty = none.slice();
    dirty[285] = 1;
    expect(errorOf(() => decodeLeaf(dirty))).toBe('invalid_field');
  });
  it('writes the vehicle at 286, the predecessor at 318 and the successor at 335 (present, device id); absent all zeros, else invalid_field', () => {
    const old = '0a'.repeat(16);
    const next = '0b'.repeat(16);
    const linked = encodeLeaf({ ...base, predecessor: old, successor: next });
    expect(toHex(linked.slice(286, 318))).toBe('dd'.repeat(32));
    expect(toHex(linked.slice(318, 335))).toBe('01' + old);
    expect(toHex(linked.slice(335, 352))).toBe('01' + next);
    expect(decodeLeaf(linked)).toMatchObject({ vehicle: 'dd'.repeat(32), predecessor: old, successor: next });
    const none = encodeLeaf(base);
    expect(none.slice(318, 352).every((b) => b === 0)).toBe(true);
    expect(decodeLeaf(none)).toMatchObject({ predecessor: null, successor: null });
    for (const [at, value] of [
      [318, 2],
      [335, 2],
      [330, 1],
      [351, 1],
    ] as const) {
      const dirty = none.slice();
      dirty[at] = value;
      expect(errorOf(() => decodeLeaf(dirty)), `byte ${at}`).toBe('invalid_field');
    }
    expect(errorOf(() => encodeLeaf({ ...base, vehicle: 'dd'.repeat(31) }))).toBe('invalid_field');
  });
  it('writes the pending recovery at 352 (present, owner key, effective at u64); absent all zeros, else invalid_field', () => {
    const owner = '82'.repeat(32);
    const pending = encodeLeaf({ ...base, pendingRecovery: { owner, effectiveAt: 1_791_104_800n } });
    expect(pending.length).toBe(442);
    expect(pending[352]).toBe(1);
    expect(toHex(pending.slice(353, 385))).toBe(owner);
    expect(toHex(pending.slice(385, 393))).toBe('000000006ac21720');
    expect(decodeLeaf(pending).pendingRecovery).toEqual({ owner, effectiveAt: 1_791_104_800n });
    // The history accumulator follows it, unmoved by it.
    expect(toHex(pending.slice(393))).toBe(toHex(encodeLeaf(base).slice(393)));
    const none = encodeLeaf(base);
    expect(none.slice(352, 393).every((b) => b === 0)).toBe(true);
    expect(decodeLeaf(none).pendingRecovery).toBeNull();
    for (const [at, value] of [
      [352, 2],
      [360, 1],
      [392, 1],
    ] as const) {
      const dirty = none.slice();
      dirty[at] = value;
      expect(errorOf(() => decodeLeaf(dirty)), `byte ${at}`).toBe('invalid_field');
    }
    expect(errorOf(() => encodeLeaf({ ...base, pendingRecovery: { owner: '82'.repeat(31), effectiveAt: 1n } }))).toBe('invalid_field');
    // The vectors: a recovery pending, then taken effect (the owner is the recovered key, nothing pending).
    const before = decodeLeaf(fromHex(str(vector('leaf_recovery_pending'), 'leaf')));
    const after = decodeLeaf(fromHex(str(vector('leaf_recovered'), 'leaf')));
    expect(after.owner).toBe(before.pendingRecovery?.owner);
    expect(after.pendingRecovery).toBeNull();
    expect(after.era).toBe(before.era + 1);
    expect(errorOf(() => encodeLeaf({ ...base, predecessor: '0a'.repeat(15) }))).toBe('invalid_field');
  });
  it('the verdict vectors\' units link: the new unit names the old one as predecessor, the old one it as successor, one vehicle', () => {
    const fresh = decodeLeaf(fromHex(str(vector('verdict_consistent_after_replacement'), 'leaf')));
    const old = decodeLeaf(fromHex((vector('verdict_consistent_after_replacement').predecessors as string[])[0] as string));
    expect(fresh.predecessor).toBe(old.deviceId);
    expect(old.successor).toBe(fresh.deviceId);
    expect(old.vehicle).toBe(fresh.vehicle);
    // The replacement's baseline is the new unit's corrected baseline.
    expect(fresh.correctedBaseline).not.toBeNull();
    expect(fresh.highest).toBeNull();
    const replaced = decodeLeaf(fromHex(str(vector('verdict_replaced_unit'), 'leaf')));
    expect(replaced.successor).not.toBeNull();
  });
  it('absent "first": all zeros, else invalid_field; a short or long leaf is refused', () => {
    const none = encodeLeaf({ ...base, first: null });
    expect(none.slice(170, 219).every((b) => b === 0)).toBe(true);
    expect(decodeLeaf(none).first).toBeNull();
    const dirty = none.slice();
    dirty[203] = 1;
    expect(errorOf(() => decodeLeaf(dirty))).toBe('invalid_field');
    const badPresent = none.slice();
    badPresent[170] = 2;
    expect(errorOf(() => decodeLeaf(badPresent))).toBe('invalid_field');
    expect(errorOf(() => decodeLeaf(none.slice(0, 400)))).toBe('truncated');
    expect(errorOf(() => decodeLeaf(new Uint8Array([...none, 0])))).toBe('trailing_bytes');
  });
});

/** Builds a map's root from its leaves the way 16.3 defines it (the test's own reference). */
function rootOf(leaves: Uint8Array[], depth = 0): Uint8Array {
  if (leaves.length === 0) return EMPTY_HASH;
  if (leaves.length === 1) return leafHash(leaves[0] as Uint8Array);
  const bit = (l: Uint8Array) => keyBit(l.slice(1, 17), depth);
  return nodeHash(rootOf(leaves.filter((l) => !bit(l)), depth + 1), rootOf(leaves.filter(bit), depth + 1));
}

describe('device map (vectors of kind map and map_proof)', () => {
  for (const v of ofKind('map')) {
    it(`${v.name}: the root of its leaves`, () => {
      const leaves = (v.leaves as string[]).map(fromHex);
      expect(toHex(rootOf(leaves))).toBe(v.root);
    });
  }
  const proofs = ofKind('map_proof');
  it('has vectors', () => expect(proofs.length).toBeGreaterThan(15));
  for (const v of proofs) {
    it(v.name, () => {
      const root = fromHex(str(v, 'root'));
      const key = str(v, 'key');
      const bytes = fromHex(str(v, 'proof'));
      const outcome = verifyMapProof(bytes, key, root);
      if (v.valid) {
        expect(outcome.ok).toBe(true);
        if (!outcome.ok) return;
        expect(outcome.member ? 'member' : 'absent').toBe(v.outcome);
        if (outcome.member) expect(toHex(outcome.leaf.encoded)).toBe(v.member_leaf);
        // A proof for one root proves nothing about another.
        const other = root.slice();
        other[0] = (other[0] ?? 0) ^ 1;
        expect(verifyMapProof(bytes, key, other)).toMatchObject({ ok: false, code: 'root_mismatch' });
      } else {
        expect(outcome).toMatchObject({ ok: false, code: v.expected_error });
      }
    });
  }
  it('decodes the siblings top-down with EMPTY for clear bitmap bits', () => {
    const p = decodeMapProof(fromHex(str(vector('map_proof_member_device_0'), 'proof')));
    expect(p.siblings.length).toBe(5);
    expect(p.leaf?.deviceId).toBe('c7994b0299c4ccb86898dc16d42bbfc2');
  });
});

describe('history accumulator (vector history_accumulator_state_device)', () => {
  const v: Vector = vector('history_accumulator_state_device');
  const notices = (v.notices as string[]).map(fromHex);
  const folds = v.folds as { count: number; root: string }[];
  it('folds notice by notice to the recorded roots', () => {
    let root: Uint8Array = EMPTY_HASH;
    notices.forEach((n, i) => {
      root = foldNotice(root, n);
      expect(toHex(root)).toBe(folds[i]?.root);
    });
  });
  it("ends at the leaf's accumulator", () => {
    const leaf = decodeLeaf(fromHex(str(v, 'leaf')));
    expect(foldAll(notices)).toEqual({ count: Number(leaf.history.count), root: leaf.history.root });
    expect(foldAll([...notices].reverse()).root).not.toBe(leaf.history.root);
  });
});
