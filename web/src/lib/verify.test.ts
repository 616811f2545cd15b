import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from './hex';
import { encodeNoticeOutput, encodeStateNotice } from './notices';
import { decodeLeaf, encodeLeaf } from './state';
import { mapProofOf, rootOf } from '../test/maps';
import type { NodeOutput } from './node';
import type { InspectAnswer } from './api';
import { decisionInfo, errorText, humanizeReason, proveDevice, rejectionText, verdictInfo, verifyDevice, type StepId, type VerifyIO } from './verify';
import { str, vector } from '../test/vectors';

// The application the verdict vectors' possession proofs are signed for (PROTOCOL.md 3.5).
const APP = '0x' + vector('verdict_consistent').application;
const CONSENSUS = '0x' + '22'.repeat(20);
const ANCHORS = { chainId: 31337, application: APP, consensus: CONSENSUS };
const CLAIM = { lastProcessedBlock: 120, outputsRoot: '0x' + 'ab'.repeat(32), blockNumber: 125, blockTimestamp: 1_790_000_000, txHash: '0x' + 'cd'.repeat(32) };
const SIBLINGS = Array.from({ length: 63 }, (_, i) => '0x' + toHex(new Uint8Array(32).fill(i + 1)));

/** A one-device map: its root is the leaf's hash, its proof has depth 0. */
function soleProofOf(leaf: Uint8Array): string {
  return toHex(concatBytes(new Uint8Array([1, 1, 0]), new Uint8Array(16), leaf));
}

interface World {
  io: VerifyIO;
  deviceId: string;
  leaf: Uint8Array;
  /** Device ids the node was asked to prove, in order. */
  asked: string[];
}

/**
 * An honest world built from a verdict vector (the device, its leaf, proof and opening); the
 * map holds the leaf, the vector's predecessors (the vehicle's earlier units) unless
 * `units` says otherwise.
 */
function world(name: string, patch: Partial<VerifyIO> = {}, n = 7, units?: Uint8Array[]): World {
  const v = vector(name);
  const leaf = fromHex(str(v, 'leaf'));
  const deviceId = str(v, 'device_id');
  const leaves = [leaf, ...(units ?? ((v.predecessors as string[] | undefined) ?? []).map(fromHex))];
  const root = toHex(rootOf(leaves));
  const asked: string[] = [];
  const state = encodeStateNotice({ inputIndex: BigInt(Math.max(0, n - 1)), blockNumber: 118n, blockTimestamp: 1_789_999_000n, devices: BigInt(leaves.length), mapRoot: root, globals: '00'.repeat(32) });
  const raw = '0x' + toHex(encodeNoticeOutput(state));
  const history = '0x' + toHex(encodeNoticeOutput(new Uint8Array([2, 5, 0])));
  const outputs: NodeOutput[] = [
    { epoch_index: '0x1', input_index: `0x${(n - 1).toString(16)}`, index: '0x10', raw_data: history, output_hashes_siblings: SIBLINGS },
    { epoch_index: '0x1', input_index: `0x${(n - 1).toString(16)}`, index: '0x11', raw_data: raw, output_hashes_siblings: SIBLINGS },
  ];
  const io: VerifyIO = {
    chainId: async () => 31337,
    applicationConsensus: async () => CONSENSUS,
    latestAcceptedClaim: async () => CLAIM,
    inputCountAt: async (_app, block) => (block === 'latest' ? n + 3 : n),
    epochLength: async () => 10,
    headTime: async () => CLAIM.blockTimestamp + 90,
    validateOutput: async (_app, output, index) => (output === raw && index === 0x11n ? { ok: true } : { ok: false, reason: 'InvalidOutputsMerkleRoot' }),
    outputsOfInput: async (i) => (i === n - 1 ? outputs : []),
    deviceProof: async (id, input): Promise<InspectAnswer> => {
      asked.push(id);
      return { type: 'device_proof', device_id: id, input_index: input, map_root: root, proof: toHex(mapProofOf(leaves, fromHex(id))) };
    },
    backendKey: async () => fromHex(v.backend_public_key),
    requestProof: async () => ({ proof: str(v, 'possession_proof') }),
    requestOpening: async () => {
      if (typeof v.opening !== 'string') throw new Error('no opening');
      return { opening: v.opening };
    },
    nonce: () => str(v, 'nonce'),
    now: () => 1_790_000_600,
    ...patch,
  };
  return { io, deviceId, leaf, asked };
}

async function run(w: World) {
  const steps: [StepId, string][] = [];
  const r = await verifyDevice(w.io, ANCHORS, w.deviceId, (id, state) => steps.push([id, state]));
  return { r, steps };
}

describe('verifyDevice (V1-V9 against a simulated chain, node and device)', () => {
  it('consistent, as of the claim, with the unclaimed inputs counted', async () => {
    const { r, steps } = await run(world('verdict_consistent'));
    expect(r.decision.verdict).toBe('consistent');
    expect(r.asOf).toMatchObject({ block: 120, epoch: 12, epochLength: 10, covered: 7, unclaimed: 3, claimTime: CLAIM.blockTimestamp, headTime: CLAIM.blockTimestamp + 90 });
    expect(r.stateOutputIndex).toBe(0x11);
    expect(steps.filter(([, s]) => s === 'ok').map(([id]) => id)).toEqual(['anchors', 'claim', 'notice', 'onchain', 'path', 'device', 'decide']);
  });

  it('rollback from the proven leaf and the opening', async () => {
    expect((await run(world('verdict_rollback'))).r.decision.verdict).toBe('rollback');
  });

  const cannot = async (w: World, code: string, step?: StepId, anchors = ANCHORS) => {
    const r = await verifyDevice(w.io, anchors, w.deviceId);
    expect(r.decision.verdict).toBe('cannot_confirm');
    expect(r.decision.findings[0]?.code).toBe(code);
    if (step) expect(r.failedStep).toBe(step);
    return r;
  };

  it('no anchors: cannot confirm, and says how to pin', async () => {
    const r = await verifyDevice(world('verdict_consistent').io, undefined, 'aa'.repeat(16));
    expect(r.decision).toMatchObject({ verdict: 'cannot_confirm', findings: [{ code: 'no_anchors', detail: expect.stringMatching(/pin/) }] });
  });

  it('V1: another chain', () => cannot(world('verdict_consistent', { chainId: async () => 1 }), 'chain_mismatch', 'anchors'));
  it('V1: the chain cannot be asked', () => cannot(world('verdict_consistent', { chainId: async () => Promise.reject(new Error('down')) }), 'chain_unreachable', 'anchors'));
  it('V2: another consensus', () => cannot(world('verdict_consistent', { applicationConsensus: async () => '0x' + '33'.repeat(20) }), 'application_mismatch', 'anchors'));
  it('V3: no accepted claim', () => cannot(world('verdict_consistent', { latestAcceptedClaim: async () => null }), 'no_accepted_claim', 'claim'));
  it('V4: the claim covers no input', () => cannot(world('verdict_consistent', {}, 0), 'no_input_claimed', 'claim'));

  it('V5: the node withholds the state notice (its last output is another notice)', async () => {
    const w = world('verdict_consistent');
    const outputs = await w.io.outputsOfInput(6);
    await cannot(world('verdict_consistent', { outputsOfInput: async () => outputs.slice(0, 1) }), 'state_notice_missing', 'notice');
  });
  it('V5: the node is behind the claim (no outputs)', () => cannot(world('verdict_consistent', { outputsOfInput: async () => [] }), 'state_notice_missing', 'notice'));
  it("V5: the node answers an older input's state notice, relabelled", async () => {
    const older = world('verdict_consistent', {}, 6);
    const outputs = (await older.io.outputsOfInput(5)).map((o) => ({ ...o, input_index: '0x6' }));
    await cannot(world('verdict_consistent', { outputsOfInput: async () => outputs }), 'state_notice_missing', 'notice');
  });
  it('V6: the chain refuses the proof (a forged notice)', () => cannot(world('verdict_consistent', { validateOutput: async () => ({ ok: false, reason: 'InvalidOutputsMerkleRoot' }) }), 'proof_refused', 'onchain'));
  it('V6: no proof from the node', async () => {
    const w = world('verdict_consistent');
    const outputs = (await w.io.outputsOfInput(6)).map((o) => ({ ...o, output_hashes_siblings: null }));
    await cannot(world('verdict_consistent', { outputsOfInput: async () => outputs }), 'proof_refused', 'onchain');
  });

  it('V7: a forged leaf (its open rollback cleared) does not check against the proven root', async () => {
    const w = world('verdict_flagged');
    const forged = w.leaf.slice();
    expect(forged.slice(54, 58)).toEqual(new Uint8Array([0, 0, 0, 1])); // one open rollback
    forged[57] = 0;
    const r = await cannot(
      world('verdict_flagged', { deviceProof: async (id, input) => ({ type: 'device_proof', device_id: id, input_index: input, map_root: '00', proof: soleProofOf(forged) }) }),
      'path_invalid',
      'path',
    );
    expect(r.decision.findings[0]?.detail).toMatch(/root_mismatch/);
    // The honest path of the same device: flagged.
    expect((await run(w)).r.decision.verdict).toBe('flagged');
  });
  it('V7: a forged path', () =>
    cannot(
      world('verdict_consistent', {
        deviceProof: async (id, input) => {
          const leaf = fromHex(str(vector('verdict_consistent'), 'leaf'));
          return { type: 'device_proof', device_id: id, input_index: input, map_root: '00', proof: toHex(concatBytes(new Uint8Array([1, 1, 1, 0x80]), new Uint8Array(15), new Uint8Array(32).fill(9), leaf)) };
        },
      }),
      'path_invalid',
      'path',
    ));
  it('V7: the node refuses the path', () =>
    cannot(world('verdict_consistent', { deviceProof: async () => ({ type: 'error', error: 'not_kept', detail: 'gone' }) }), 'path_invalid', 'path'));

  it('V8: the device does not answer', () => cannot(world('verdict_consistent', { requestProof: async () => Promise.reject(new Error('offline')) }), 'device_unreachable', 'device'));
  it('V8: a replayed answer (another nonce)', () => cannot(world('verdict_consistent', { nonce: () => 'ff'.repeat(32) }), 'proof_not_fresh'));
  it('V8: no opening', () => cannot(world('verdict_consistent', { requestOpening: async () => Promise.reject(new Error('no')) }), 'opening'));

  it('proveDevice alone gives the proven leaf and the claim', async () => {
    const w = world('verdict_consistent');
    const p = await proveDevice(w.io, ANCHORS, w.deviceId);
    expect(p.ok && p.leaf?.deviceId).toBe(w.deviceId);
    expect(p.ok && p.asOf.block).toBe(120);
  });

  it('proveDevice also hands back what a certificate needs: the map proof, the output siblings, the outputs root', async () => {
    const w = world('verdict_consistent');
    const p = await proveDevice(w.io, ANCHORS, w.deviceId);
    if (!p.ok) throw new Error('not proven');
    expect(toHex(p.mapProof)).toBe(soleProofOf(w.leaf));
    expect(p.earlierUnits).toEqual([]);
    expect(p.stateSiblings).toEqual(SIBLINGS);
    expect(p.outputsRoot).toBe(CLAIM.outputsRoot);
    expect(p.stateOutputIndex).toBe(0x11);
  });

  it('an unknown device is proven absent', async () => {
    const w = world('verdict_consistent');
    const r = await verifyDevice(w.io, ANCHORS, 'ee'.repeat(16));
    // The one-device map's leaf belongs to another id whose first 0 bits agree: absent.
    expect(r.decision.verdict).toBe('unknown_device');
    expect(r.leaf).toBeNull();
  });
});

describe("V7a: the vehicle's earlier units, proven against the same map root", () => {
  const after = 'verdict_consistent_after_replacement';
  const oldOf = (name: string) => decodeLeaf(fromHex((vector(name).predecessors as string[])[0] as string));

  it("proves the new unit's predecessor at the same input and decides for the vehicle", async () => {
    const w = world(after);
    const steps: [StepId, string, string | undefined][] = [];
    const r = await verifyDevice(w.io, ANCHORS, w.deviceId, (id, state, detail) => steps.push([id, state, detail]));
    const old = oldOf(after);
    expect(w.asked).toEqual([w.deviceId, old.deviceId]);
    expect(r.decision.verdict).toBe('consistent');
    expect(r.decision.findings.map((x) => x.code)).toEqual(['consistent', 'unit_replaced']);
    expect(r.earlierUnits?.map((u) => u.deviceId)).toEqual([old.deviceId]);
    const path = steps.find(([id, state]) => id === 'path' && state === 'ok');
    expect(path?.[2]).toContain(`The vehicle's 1 earlier unit(s) proven against the same root (V7a): ${old.deviceId}.`);
    const p = await proveDevice(w.io, ANCHORS, w.deviceId);
    if (!p.ok) throw new Error('not proven');
    expect(p.earlierUnits.map((u) => toHex(u.leaf.encoded))).toEqual(vector(after).predecessors);
    expect(p.earlierUnits[0] && toHex(p.earlierUnits[0].mapProof)).toBe(toHex(mapProofOf([w.leaf, old.encoded], fromHex(old.deviceId))));
    expect(p.earlierMissing).toBeUndefined();
  });

  it("an open rollback in the earlier unit flags the vehicle; the replacement's baseline is the reference", async () => {
    expect((await run(world('verdict_flagged_in_previous_unit'))).r.decision.verdict).toBe('flagged');
    expect((await run(world('verdict_rollback_below_replacement_baseline'))).r.decision.verdict).toBe('rollback');
  });

  const incomplete = async (w: World, why: RegExp) => {
    const steps: [StepId, string, string | undefined][] = [];
    const r = await verifyDevice(w.io, ANCHORS, w.deviceId, (id, state, detail) => steps.push([id, state, detail]));
    expect(r.decision.verdict).toBe('cannot_confirm');
    expect(r.decision.findings.map((x) => x.code)).toEqual(['previous_unit']);
    expect(r.failedStep).toBeUndefined();
    const warned = steps.find(([id, state]) => id === 'path' && state === 'warn');
    expect(warned?.[2]).toMatch(why);
    expect(warned?.[2]).toContain("the vehicle's record is incomplete");
  };

  it('a unit the node does not prove is left out: the record is incomplete (previous_unit), never clean', async () => {
    const old = oldOf(after);
    const refusing = world(after);
    const honest = refusing.io.deviceProof;
    refusing.io.deviceProof = async (id, input) => (id === old.deviceId ? { type: 'error', error: 'not_kept', detail: 'gone' } : honest(id, input));
    await incomplete(refusing, /not_kept/);
    // Proven absent: a map without the earlier unit.
    await incomplete(world(after, {}, 7, []), /the node proves it absent/);
    // A path for another root.
    const other = world(after);
    const elsewhere = toHex(mapProofOf([other.leaf, old.encoded, encodeLeaf({ ...old, deviceId: 'ee'.repeat(16) })], fromHex(old.deviceId)));
    const real = other.io.deviceProof;
    other.io.deviceProof = async (id, input) => (id === old.deviceId ? { type: 'device_proof', device_id: id, input_index: input, map_root: '00', proof: elsewhere } : real(id, input));
    await incomplete(other, /root_mismatch/);
    // The vector whose earlier unit names another successor: proven, and does not link.
    expect((await run(world('verdict_previous_unit_does_not_link'))).r.decision.findings[0]?.code).toBe('previous_unit');
  });

  it("stops after 16 earlier units (a node's loop)", async () => {
    const old = oldOf(after);
    const leaf = decodeLeaf(fromHex(str(vector(after), 'leaf')));
    // The earlier unit names the new one as its predecessor: a cycle.
    const looping = encodeLeaf({ ...old, predecessor: leaf.deviceId });
    const w = world(after, {}, 7, [looping]);
    const r = await verifyDevice(w.io, ANCHORS, w.deviceId);
    expect(w.asked).toHaveLength(1 + 16);
    expect(r.decision.findings[0]?.code).toBe('previous_unit');
  });
});

describe('words', () => {
  it('verdicts', () => {
    expect(verdictInfo('consistent').tone).toBe('good');
    expect(verdictInfo('rollback')).toMatchObject({ tone: 'bad', label: 'Rollback detected' });
    expect(verdictInfo('cannot_confirm').tone).toBe('bad');
    expect(verdictInfo('no_history').tone).toBe('warn');
    expect(verdictInfo('new_kind')).toMatchObject({ tone: 'neutral', label: 'new_kind' });
    // A unit replaced in its vehicle is retired, not revoked by a registrar.
    expect(decisionInfo({ verdict: 'revoked', findings: [{ code: 'replaced', detail: '' }] })).toMatchObject({ tone: 'warn', label: 'Replaced unit' });
    expect(decisionInfo({ verdict: 'revoked', findings: [{ code: 'revoked', detail: '' }] })).toMatchObject({ label: 'Revoked' });
    expect(rejectionText('replaced_device')).toMatch(/current unit/);
  });
  it('reasons in kilometres, error codes and rejections in words', () => {
    expect(humanizeReason('the device shows 40000000 m, below the 152000000 m attested')).toBe('the device shows 40,000.0 km, below the 152,000.0 km attested');
    expect(errorText('not_owner')).toMatch(/owner key/);
    expect(errorText('weird', 'detail')).toBe('weird: detail');
    expect(rejectionText('stale_counter')).toMatch(/replay/);
  });
});
