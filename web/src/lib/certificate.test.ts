import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes, fromHex, toHex, u16be, u32be, u64be, utf8 } from './hex';
import { encodeReading, parseFaultCode, type Reading } from './protocol';
import { decodeHistoryNotice, decodeOpenedHistoryNotice, encodeCorrection, encodeNoticeOutput, encodeOpenedHistoryNotice, encodeStateNotice, openHistoryValues, type Correction, type StateNotice } from './notices';
import { decodeLeaf, encodeLeaf, EMPTY_HASH, foldNotice, leafHash, LEAF_LEN, type LeafFields } from './state';
import { CLAIM_ACCEPTED_TOPIC, SELECTORS, addressWord, type RpcLog } from './l1';
import type { HistoryKeys, InspectAnswer } from './api';
import type { NodeOutput } from './node';
import type { VerifyIO } from './verify';
import { decodeListed } from './history';
import {
  buildCertificate,
  certificateFromInput,
  certificateToText,
  checkCertificateOnL1,
  decodeCertificate,
  encodeCertificate,
  issueCertificate,
  verifyCertificateOffline,
  CertificateError,
  IssueError,
  IS_OUTPUTS_MERKLE_ROOT_VALID,
  MAX_OPENING_LEN,
  TEXT_BEGIN,
  TEXT_END,
  zeroHashes,
  type CertAnchors,
  type CertificateFindings,
  type IssueInputs,
  type IssueNotice,
} from './certificate';
import { ofKind, str, vector, type Vector } from '../test/vectors';
import { simulatedVehicle, vehicleCommitment } from './vehicle';
import { mapProofOf, rootOf } from '../test/maps';

// ---- helpers: what the backend and the device do, written out from PROTOCOL.md ----

const label = (s: string, n = 32) => sha256(utf8(s)).slice(0, n);
const H = (...parts: Uint8Array[]) => sha256(concatBytes(...parts));
const varint = (v: number): Uint8Array => {
  const out: number[] = [];
  let x = v;
  do {
    const low = x & 0x7f;
    x = Math.floor(x / 128);
    out.push(x > 0 ? low | 0x80 : low);
  } while (x > 0);
  return new Uint8Array(out);
};
const vbytes = (b: Uint8Array) => concatBytes(varint(b.length), b);
const optU64 = (v: bigint | null) => concatBytes(new Uint8Array([v === null ? 0 : 1]), u64be(v ?? 0n));

/** 7.2, 7.3 */
const blinding = (key: Uint8Array, counter: bigint) => H(utf8('witness/v1/blinding'), key, u64be(counter));
const commit = (device: Uint8Array, key: Uint8Array, counter: bigint, r: Reading) => H(utf8('witness/v1/commit'), device, u64be(counter), blinding(key, counter), encodeReading(r));
/** 7.4 */
const openingBytes = (device: Uint8Array, key: Uint8Array, counter: bigint, r: Reading) => concatBytes(device, u64be(counter), blinding(key, counter), encodeReading(r));

interface Env {
  key: Uint8Array;
  first: bigint;
  readings: Reading[];
  /** Per reading: the reference counter when it is a rollback. */
  rollbackOf?: (bigint | null)[];
}

interface NoticeSpec {
  input: bigint;
  timestamp: bigint;
  era: number;
  position: bigint;
  previous: bigint | null;
  /** Entries before the envelopes (already encoded). */
  events?: Uint8Array[];
  envelopes?: Env[];
}

const registeredEntry = (model: number, registrar: Uint8Array) => concatBytes(new Uint8Array([1]), u32be(model), registrar);
const ownerChangedEntry = (sequence: bigint, owner: Uint8Array) => concatBytes(new Uint8Array([6]), u64be(sequence), new Uint8Array([1]), owner);
/** 16.4 kind 8: registrar ‖ cleared ‖ the correction as signed (8.2.1). */
const correctedEntry = (registrar: Uint8Array, cleared: boolean, c: Correction) => concatBytes(new Uint8Array([8]), registrar, new Uint8Array([cleared ? 1 : 0]), encodeCorrection(c));

/** A history notice (16.4) sealed under the era's keys. */
function sealNotice(device: Uint8Array, n: NoticeSpec, odoKey: Uint8Array, detKey: Uint8Array, extraOdometer = new Uint8Array()): Uint8Array {
  const header = concatBytes(new Uint8Array([2, 5]), device, u64be(n.input), u64be(n.timestamp), u32be(n.era), u64be(n.position), optU64(n.previous));
  const entries: Uint8Array[] = [...(n.events ?? [])];
  const odo: Uint8Array[] = [];
  const det: Uint8Array[] = [];
  for (const e of n.envelopes ?? []) {
    entries.push(concatBytes(new Uint8Array([7]), u64be(e.first), new Uint8Array([e.readings.length])));
    det.push(e.key);
    e.readings.forEach((r, i) => {
      const counter = e.first + BigInt(i);
      const ref = e.rollbackOf?.[i] ?? null;
      entries.push(concatBytes(new Uint8Array([2]), commit(device, e.key, counter, r), ref === null ? new Uint8Array([0]) : concatBytes(new Uint8Array([1]), u64be(ref))));
      odo.push(u32be(Math.floor(r.timestamp / 86_400)), u64be(BigInt(r.odometer_m)));
      det.push(u32be(r.timestamp), u32be(r.fuel_ml), u32be(r.engine_s), new Uint8Array([r.faults.length]), ...r.faults.map((f) => u16be(parseFaultCode(f))));
    });
  }
  const aad = concatBytes(header, varint(entries.length), ...entries);
  if (odo.length === 0) return concatBytes(aad, new Uint8Array([0, 0]));
  const nonce = (part: number) => concatBytes(u64be(n.input), u32be(part));
  const odoCt = chacha20poly1305(odoKey, nonce(0), aad).encrypt(concatBytes(...odo, extraOdometer));
  const detCt = chacha20poly1305(detKey, nonce(1), header).encrypt(concatBytes(...det));
  return concatBytes(aad, vbytes(odoCt), vbytes(detCt));
}

/** The outputs tree (height 63) over `outputs` (ABI-encoded): the proof of `index` and the root. */
function outputsTree(outputs: Uint8Array[], index: number): { siblings: Uint8Array[]; root: Uint8Array } {
  const zero = zeroHashes();
  let nodes: Uint8Array[] = outputs.map((o) => keccak_256(o));
  let position = index;
  const siblings: Uint8Array[] = [];
  for (let level = 0; level < 63; level++) {
    siblings.push(nodes[position ^ 1] ?? (zero[level] as Uint8Array));
    const next: Uint8Array[] = [];
    for (let i = 0; i < nodes.length; i += 2) next.push(keccak_256(concatBytes(nodes[i] as Uint8Array, nodes[i + 1] ?? (zero[level] as Uint8Array))));
    nodes = next;
    position >>= 1;
  }
  return { siblings, root: nodes[0] as Uint8Array };
}

function leafOf(fields: Partial<LeafFields> & { deviceId: string }): LeafFields {
  return {
    model: 7,
    key: toHex(label(`key ${fields.deviceId}`)),
    revoked: false,
    openTampers: 0,
    lastCounter: null,
    owner: null,
    ownershipSequence: null,
    era: 0,
    attested: 0n,
    highest: null,
    first: null,
    tamperEvents: 0,
    latestTamper: null,
    corrections: 0,
    latestCorrection: null,
    correctedBaseline: null,
    vehicle: toHex(label(`vehicle of ${fields.deviceId}`)),
    predecessor: null,
    successor: null,
    pendingRecovery: null,
    history: { count: 0n, root: toHex(EMPTY_HASH), lastInput: null },
    ...fields,
  };
}

const reading = (timestamp: number, odometer_m: number, faults: string[] = []): Reading => ({ timestamp, odometer_m, fuel_ml: 700 + (odometer_m % 97), engine_s: 3_600_000 + (timestamp % 10_000), faults });

const errorOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof CertificateError) return e.code;
    throw e;
  }
};

// ---- the story: a car in two ownership eras ----

const APP = '0x' + 'a1'.repeat(20);
const CONSENSUS = '0x' + 'c0'.repeat(20);
const ANCHORS: CertAnchors = { chainId: 31337, application: APP, consensus: CONSENSUS };

interface StoryOptions {
  longOdometer?: boolean;
  /** The entries of input 9 before the change of owner (default: the correction clearing counter 5). */
  corrections?: (c: Correction, registrar: Uint8Array) => Uint8Array[];
  /** Fields of the device's leaf to change. */
  leaf?: Partial<LeafFields>;
  /** More leaves in the map (the vehicle's earlier units, …). */
  units?: LeafFields[];
}

function story(opts: StoryOptions = {}) {
  const device = label('certificate test car', 16);
  const deviceId = toHex(device);
  const odo = [label('K_odo era 0'), label('K_odo era 1')];
  const det = [label('K_det era 0'), label('K_det era 1')];
  const envKeys = [label('envelope 1'), label('envelope 2'), label('envelope 3')];
  const r = [
    undefined,
    reading(1_790_100_000, 81_000_000),
    reading(1_790_103_600, 81_025_000, ['P0301']),
    reading(1_790_107_200, 81_050_000),
    reading(1_790_200_000, 81_300_000),
    // A rollback: below counter 4.
    reading(1_790_203_600, 60_000_000, ['P0420', 'U0001']),
    reading(1_790_400_000, 81_900_000),
    reading(1_790_403_600, 81_950_000),
  ] as Reading[];
  const owner = label('the buyer');
  // Input 9: a registrar clears the rollback at counter 5 (a sensor fault: the reading's value
  // corrected, the baseline unchanged), then the car changes hands.
  const correction: Correction = {
    deviceId,
    counter: 5n,
    odometerM: 81_320_000n,
    baselineM: null,
    reason: 'sensor_fault',
    evidence: 'diagnostic_log',
    evidenceDigest: toHex(label('the diagnostic log')),
    note: 'odometer sensor fault at counter 5; the cluster showed 81,320 km',
  };
  const registrar = label('registrar');
  const specs: NoticeSpec[] = [
    { input: 3n, timestamp: 1_790_000_000n, era: 0, position: 0n, previous: null, events: [registeredEntry(7, label('registrar'))] },
    { input: 5n, timestamp: 1_790_107_300n, era: 0, position: 1n, previous: 3n, envelopes: [{ key: envKeys[0] as Uint8Array, first: 1n, readings: [r[1], r[2], r[3]] as Reading[] }] },
    { input: 8n, timestamp: 1_790_203_700n, era: 0, position: 2n, previous: 5n, envelopes: [{ key: envKeys[1] as Uint8Array, first: 4n, readings: [r[4], r[5]] as Reading[], rollbackOf: [null, 4n] }] },
    { input: 9n, timestamp: 1_790_300_000n, era: 1, position: 3n, previous: 8n, events: [...(opts.corrections ? opts.corrections(correction, registrar) : [correctedEntry(registrar, true, correction)]), ownerChangedEntry(1n, owner)] },
    { input: 12n, timestamp: 1_790_403_700n, era: 1, position: 4n, previous: 9n, envelopes: [{ key: envKeys[2] as Uint8Array, first: 6n, readings: [r[6], r[7]] as Reading[] }] },
  ];
  // `longOdometer`: a backend that sealed 12 bytes too many in notice 1's odometer part.
  const payloads = specs.map((s, i) => sealNotice(device, s, odo[s.era] as Uint8Array, det[s.era] as Uint8Array, opts.longOdometer && i === 1 ? new Uint8Array(12) : undefined));
  let root: Uint8Array = EMPTY_HASH;
  for (const p of payloads) root = foldNotice(root, p);
  const commitmentOf = (counter: number, key: Uint8Array) => toHex(commit(device, key, BigInt(counter), r[counter] as Reading));
  const leaf = leafOf({
    deviceId,
    lastCounter: 7n,
    owner: toHex(owner),
    ownershipSequence: 1n,
    era: 1,
    attested: 6n,
    highest: { counter: 7n, commitment: commitmentOf(7, envKeys[2] as Uint8Array), inputIndex: 12n },
    first: { counter: 1n, commitment: commitmentOf(1, envKeys[0] as Uint8Array), inputIndex: 5n },
    openTampers: 0,
    tamperEvents: 1,
    latestTamper: { counter: 5n, referenceCounter: 4n, inputIndex: 8n },
    corrections: 1,
    latestCorrection: { counter: 5n, inputIndex: 9n },
    history: { count: BigInt(payloads.length), root: toHex(root), lastInput: 12n },
    ...opts.leaf,
  });
  const leafBytes = encodeLeaf(leaf);
  const neighbours = [0, 1, 2, 3, 4, 5].map((i) => encodeLeaf(leafOf({ deviceId: toHex(label(`neighbour ${i}`, 16)) })));
  const unitLeaves = (opts.units ?? []).map((u) => encodeLeaf(u));
  const leaves = [...neighbours, ...unitLeaves, leafBytes];
  const state: StateNotice = { inputIndex: 12n, blockNumber: 1_200n, blockTimestamp: 1_790_403_700n, devices: BigInt(leaves.length), mapRoot: toHex(rootOf(leaves)), globals: toHex(label('globals')) };
  const statePayload = encodeStateNotice(state);
  // Outputs: other devices' outputs, the notices, the state notice of input 12 last.
  const outputs = [encodeNoticeOutput(utf8('earlier output')), ...payloads.map(encodeNoticeOutput), encodeNoticeOutput(utf8('another device, input 12')), encodeNoticeOutput(statePayload)];
  const stateIndex = outputs.length - 1;
  const tree = outputsTree(outputs, stateIndex);
  const claim = { lastProcessedBlock: 1_210, claimBlock: 1_215, outputsRoot: toHex(tree.root) };
  const opening = (counter: number, key: Uint8Array) => openingBytes(device, key, BigInt(counter), r[counter] as Reading);
  const envelopeValues = (spec: NoticeSpec) => (spec.envelopes ?? []).map((e) => ({ commitmentKey: e.key, readings: e.readings }));
  return {
    device,
    deviceId,
    correction,
    registrar,
    odo,
    det,
    envKeys,
    readings: r,
    specs,
    payloads,
    leaf: decodeLeaf(leafBytes),
    leafBytes,
    leaves,
    neighbours,
    state,
    statePayload,
    outputs,
    stateIndex,
    tree,
    claim,
    highestOpening: opening(7, envKeys[2] as Uint8Array),
    firstOpening: opening(1, envKeys[0] as Uint8Array),
    opening,
    envelopeValues,
    mapProof: mapProofOf(leaves, device),
    /** The map proofs of `opts.units`, in their order. */
    unitProofs: (opts.units ?? []).map((u) => mapProofOf(leaves, fromHex(u.deviceId))),
  };
}

type Story = ReturnType<typeof story>;
const S = story();

function summaryInputs(s: Story = S, patch: Partial<IssueInputs> = {}): IssueInputs {
  return {
    level: 'summary',
    anchors: ANCHORS,
    deviceId: s.deviceId,
    claim: s.claim,
    stateNotice: s.statePayload,
    outputIndex: s.stateIndex,
    outputSiblings: s.tree.siblings,
    mapProof: s.mapProof,
    highest: s.highestOpening,
    first: s.firstOpening,
    ...patch,
  };
}

/** Eras 0 sealed with its odometer key, era 1 opened (the buyer's view of a car they sell on). */
function fullNotices(s: Story = S, openEras = [1], keyEras = [0]): { notices: IssueNotice[]; odometerKeys: { era: number; key: Uint8Array }[] } {
  const notices: IssueNotice[] = s.specs.map((spec, i) =>
    openEras.includes(spec.era) && spec.envelopes ? { form: 1, payload: s.payloads[i] as Uint8Array, envelopes: s.envelopeValues(spec) } : { form: 0, payload: s.payloads[i] as Uint8Array },
  );
  return { notices, odometerKeys: keyEras.map((era) => ({ era, key: s.odo[era] as Uint8Array })) };
}

function fullInputs(s: Story = S, openEras = [1], keyEras = [0], patch: Partial<IssueInputs> = {}): IssueInputs {
  return { ...summaryInputs(s), level: 'full', ...fullNotices(s, openEras, keyEras), ...patch };
}

const SUMMARY = buildCertificate(summaryInputs());
const FULL = buildCertificate(fullInputs());

/** Re-encodes a decoded certificate after `edit`. */
function edited(bytes: Uint8Array, edit: (c: ReturnType<typeof decodeCertificate>) => void): Uint8Array {
  const c = decodeCertificate(bytes);
  edit(c);
  return encodeCertificate(c);
}

/** Offsets of the fixed part (18.2). */
const AT = { version: 4, level: 5, chain: 6, application: 14, consensus: 34, device: 54, lastProcessed: 70, claimBlock: 78, rootPresent: 86, root: 87, state: 119, outputIndex: 217, bitmap: 225, siblings: 233 };

// ---- the vectors ----

function findingsJson(f: CertificateFindings): Record<string, unknown> {
  const proven = (p: { counter: bigint; reading: Reading; rollback: boolean }) => ({ counter: Number(p.counter), rollback: p.rollback, reading: p.reading });
  return {
    level: f.level,
    device_id: f.deviceId,
    as_of_block: f.asOfBlock,
    claim_block: f.claimBlock,
    input_index: Number(f.inputIndex),
    block_timestamp: f.blockTimestamp,
    outputs_root: f.outputsRoot,
    output_index: Number(f.outputIndex),
    leaf: toHex(f.leaf.encoded),
    highest: f.highest ? proven(f.highest) : null,
    first: f.first ? proven(f.first) : null,
    disclosed: f.disclosed.map(proven),
    odometer_only: f.odometerOnly.map((d) => ({ counter: Number(d.counter), day: d.day, odometer_m: Number(d.odometerM), rollback: d.rollback })),
    undisclosed: f.undisclosed.map(Number),
    notices: f.notices,
    vin: f.vin,
    earlier_units: f.earlierUnits.map((u) => toHex(u.encoded)),
    corrections: f.corrections.length,
    cannot_know: f.cannotKnow,
  };
}

function pinnedOf(v: Vector): CertAnchors | undefined {
  const p = v.pinned as { chain_id: number; application: string; consensus: string } | null;
  return p ? { chainId: p.chain_id, application: '0x' + p.application, consensus: '0x' + p.consensus } : undefined;
}

describe('certificate vectors (kind certificate)', () => {
  const all = ofKind('certificate');
  it('has vectors, valid and invalid', () => {
    expect(all.filter((v) => v.valid).length).toBeGreaterThanOrEqual(3);
    expect(all.filter((v) => !v.valid).length).toBeGreaterThanOrEqual(15);
    const names = all.map((v) => v.name);
    for (const n of ['certificate_vehicle_mismatch', 'certificate_earlier_unit_without_a_predecessor']) expect(names).toContain(n);
  });
  for (const v of all) {
    it(v.name, () => {
      const bytes = fromHex(str(v, 'certificate'));
      const pinned = pinnedOf(v);
      if (v.valid) {
        const f = verifyCertificateOffline(bytes, pinned);
        expect(findingsJson(f)).toEqual(v.findings);
        // The vectors' stories have no correction (their findings name none).
        expect(f.corrections).toEqual([]);
        expect(f.anchorsPinned).toBe(pinned !== undefined);
        if (pinned) expect(f.anchors).toEqual(pinned);
        expect(toHex(encodeCertificate(decodeCertificate(bytes)))).toBe(toHex(bytes));
      } else {
        expect(errorOf(() => verifyCertificateOffline(bytes, pinned))).toBe(v.expected_error);
        // What decodes re-encodes to the same bytes (the refusal is the verifier's).
        let decoded: ReturnType<typeof decodeCertificate> | undefined;
        try {
          decoded = decodeCertificate(bytes);
        } catch {
          decoded = undefined;
        }
        if (decoded) expect(toHex(encodeCertificate(decoded))).toBe(toHex(bytes));
      }
    });
  }
});

describe('the vectors\' vehicle (PROTOCOL.md 4, 18.2)', () => {
  it('the summary discloses the simulated vehicle of "certificate-car", which opens the leaf\'s vehicle id', () => {
    const v = vector('certificate_summary');
    const f = verifyCertificateOffline(fromHex(str(v, 'certificate')), pinnedOf(v));
    const car = simulatedVehicle(sha256(utf8('witness vector seed/certificate-car')));
    expect(car.vin).toBe((v.findings as { vin: string }).vin);
    expect(f.vin).toBe(car.vin);
    expect(vehicleCommitment(car.vin, car.salt)).toBe(f.leaf.vehicle);
    expect(toHex(decodeCertificate(fromHex(str(v, 'certificate'))).vehicle?.salt ?? new Uint8Array())).toBe(toHex(car.salt));
  });
  it('certificate_vehicle_mismatch is the same VIN under another salt; the earlier-unit vector is the leaf of another device', () => {
    const bad = decodeCertificate(fromHex(str(vector('certificate_vehicle_mismatch'), 'certificate')));
    const good = decodeCertificate(fromHex(str(vector('certificate_summary'), 'certificate')));
    expect(bad.vehicle?.vin).toBe(good.vehicle?.vin);
    expect(toHex(bad.vehicle?.salt ?? new Uint8Array())).not.toBe(toHex(good.vehicle?.salt ?? new Uint8Array()));
    // With the right salt it verifies.
    expect(verifyCertificateOffline(encodeCertificate({ ...bad, vehicle: good.vehicle }), pinnedOf(vector('certificate_vehicle_mismatch'))).vin).toBe(good.vehicle?.vin);
    const phantom = decodeCertificate(fromHex(str(vector('certificate_earlier_unit_without_a_predecessor'), 'certificate')));
    expect(phantom.earlierUnits).toHaveLength(1);
    // Without it, the summary's bytes.
    expect(toHex(encodeCertificate({ ...phantom, earlierUnits: [] }))).toBe(str(vector('certificate_summary'), 'certificate'));
  });
});

// ---- round trips ----

describe('build → verify: summary', () => {
  it('proves the leaf, the highest and the first attested readings', () => {
    const f = verifyCertificateOffline(SUMMARY, ANCHORS);
    expect(f).toMatchObject({
      level: 'summary',
      anchors: ANCHORS,
      anchorsPinned: true,
      deviceId: S.deviceId,
      asOfBlock: 1_210,
      claimBlock: 1_215,
      inputIndex: 12n,
      blockTimestamp: 1_790_403_700,
      outputsRoot: S.claim.outputsRoot,
      outputIndex: BigInt(S.stateIndex),
      disclosed: [],
      odometerOnly: [],
      undisclosed: [],
      notices: 0,
      cannotKnow: ['outputs_root_accepted', 'later_claims'],
    });
    expect(toHex(f.leaf.encoded)).toBe(toHex(S.leafBytes));
    expect(f.highest).toEqual({ counter: 7n, reading: S.readings[7], rollback: false });
    expect(f.first).toEqual({ counter: 1n, reading: S.readings[1], rollback: false });
    expect(f.leaf).toMatchObject({ tamperEvents: 1, corrections: 1, era: 1, attested: 6n });
  });
  it('re-encodes to the same bytes, and the layout is the one of 18.2', () => {
    expect(toHex(encodeCertificate(decodeCertificate(SUMMARY)))).toBe(toHex(SUMMARY));
    expect(toHex(SUMMARY.slice(0, 6))).toBe('57544e430101');
    expect(toHex(SUMMARY.slice(AT.chain, AT.application))).toBe(toHex(u64be(31337)));
    expect(toHex(SUMMARY.slice(AT.application, AT.consensus))).toBe('a1'.repeat(20));
    expect(toHex(SUMMARY.slice(AT.device, AT.lastProcessed))).toBe(S.deviceId);
    expect(SUMMARY[AT.rootPresent]).toBe(1);
    expect(toHex(SUMMARY.slice(AT.root, AT.state))).toBe(S.claim.outputsRoot);
    expect(toHex(SUMMARY.slice(AT.state, AT.outputIndex))).toBe(toHex(S.statePayload));
    // The siblings that differ from the empty subtree: levels 0-2 here (8 outputs).
    expect(toHex(SUMMARY.slice(AT.bitmap, AT.siblings))).toBe(toHex(u64be(0b111)));
    const c = decodeCertificate(SUMMARY);
    expect(c.outputProof.siblings.map(toHex)).toEqual(S.tree.siblings.map(toHex));
    // It ends with the two openings, no vehicle (0) and no earlier unit (count 0).
    const tail = concatBytes(new Uint8Array([1, S.highestOpening.length]), S.highestOpening, new Uint8Array([1, S.firstOpening.length]), S.firstOpening, new Uint8Array([0, 0]));
    expect(toHex(SUMMARY.slice(SUMMARY.length - tail.length))).toBe(toHex(tail));
  });
  it('unpinned: the anchors the certificate claims', () => {
    const f = verifyCertificateOffline(SUMMARY);
    expect(f.anchorsPinned).toBe(false);
    expect(f.anchors).toEqual(ANCHORS);
  });
  it('without an outputs root in the claim: computed, not compared', () => {
    const bytes = buildCertificate(summaryInputs(S, { claim: { ...S.claim, outputsRoot: null } }));
    expect(bytes[AT.rootPresent]).toBe(0);
    expect(verifyCertificateOffline(bytes, ANCHORS).outputsRoot).toBe(S.claim.outputsRoot);
  });
  it('a device with no attested reading: no openings', () => {
    const s = story();
    const bare = encodeLeaf(leafOf({ deviceId: s.deviceId }));
    const leaves = [...s.neighbours, bare];
    const state = encodeStateNotice({ ...s.state, mapRoot: toHex(rootOf(leaves)) });
    const tree = outputsTree([encodeNoticeOutput(state)], 0);
    const bytes = buildCertificate({ ...summaryInputs(s), stateNotice: state, mapProof: mapProofOf(leaves, s.device), outputIndex: 0, outputSiblings: tree.siblings, claim: { ...s.claim, outputsRoot: tree.root }, highest: null, first: null });
    const f = verifyCertificateOffline(bytes, ANCHORS);
    expect(f.highest).toBeUndefined();
    expect(f.first).toBeUndefined();
    expect(errorOf(() => verifyCertificateOffline(buildCertificate({ ...summaryInputs(s), stateNotice: state, mapProof: mapProofOf(leaves, s.device), outputIndex: 0, outputSiblings: tree.siblings, claim: { ...s.claim, outputsRoot: tree.root }, highest: null }), ANCHORS))).toBe('wrong_commitment');
  });
});

describe('build → verify: full (forms 0 and 1)', () => {
  it('era 1 opened: its readings disclosed whole; era 0 sealed with its odometer key: dated odometer values', () => {
    const f = verifyCertificateOffline(FULL, ANCHORS);
    expect(f.level).toBe('full');
    expect(f.notices).toBe(5);
    expect(f.disclosed).toEqual([
      { counter: 6n, reading: S.readings[6], rollback: false },
      { counter: 7n, reading: S.readings[7], rollback: false },
    ]);
    const day = (c: number) => Math.floor((S.readings[c] as Reading).timestamp / 86_400);
    expect(f.odometerOnly).toEqual([1, 2, 3, 4, 5].map((c) => ({ counter: BigInt(c), day: day(c), odometerM: BigInt((S.readings[c] as Reading).odometer_m), rollback: c === 5 })));
    expect(f.undisclosed).toEqual([]);
    expect(f.highest?.counter).toBe(7n);
    expect(f.first?.counter).toBe(1n);
    expect(toHex(encodeCertificate(decodeCertificate(FULL)))).toBe(toHex(FULL));
  });
  it('form 0 without keys: every reading undisclosed', () => {
    const f = verifyCertificateOffline(buildCertificate(fullInputs(S, [], [])), ANCHORS);
    expect(f.disclosed).toEqual([]);
    expect(f.odometerOnly).toEqual([]);
    expect(f.undisclosed).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
  });
  it('every notice opened: every reading disclosed, rollbacks marked', () => {
    const f = verifyCertificateOffline(buildCertificate(fullInputs(S, [0, 1], [])), ANCHORS);
    expect(f.disclosed.map((d) => [Number(d.counter), d.rollback])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, false],
      [5, true],
      [6, false],
      [7, false],
    ]);
    expect(f.disclosed[4]?.reading.faults).toEqual(['P0420', 'U0001']);
    expect(f.undisclosed).toEqual([]);
  });
  it('the keys are written by era ascending, whatever order they were given in', () => {
    const bytes = buildCertificate(fullInputs(S, [], [1, 0]));
    const c = decodeCertificate(bytes);
    expect(c.odometerKeys.map((k) => k.era)).toEqual([0, 1]);
    expect(verifyCertificateOffline(bytes, ANCHORS).odometerOnly.map((d) => Number(d.counter))).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
  it('the opened form: the notice without its commitments, then per envelope its key and its readings; rebuilt to the payload', () => {
    const spec = S.specs[2] as NoticeSpec;
    const payload = S.payloads[2] as Uint8Array;
    const opened = encodeOpenedHistoryNotice(payload, S.envelopeValues(spec));
    const values = concatBytes(S.envKeys[1] as Uint8Array, encodeReading(S.readings[4] as Reading), encodeReading(S.readings[5] as Reading));
    // Two reading entries lose 32 bytes each; the values follow the detail ciphertext.
    expect(opened.length).toBe(payload.length - 64 + values.length);
    expect(toHex(opened.slice(opened.length - values.length))).toBe(toHex(values));
    const n = decodeHistoryNotice(payload);
    // The first reading entry right after the envelope entry (kind 2, then rollback 0 without its commitment).
    const at = 55 + 1 + 10;
    expect(toHex(opened.slice(at, at + 2))).toBe('0200');
    expect(toHex(payload.slice(at + 1, at + 33))).toBe((n.entries[1] as { commitment: string }).commitment);
    const back = decodeOpenedHistoryNotice(opened);
    expect(toHex(back.notice.payload)).toBe(toHex(payload));
    expect(back.envelopes.map((e) => toHex(e.commitmentKey))).toEqual([toHex(S.envKeys[1] as Uint8Array)]);
    expect(back.envelopes[0]?.readings.map((x) => x.reading)).toEqual([S.readings[4], S.readings[5]]);
  });
  it('values that do not rebuild the commitments are refused when building, naming the counter', () => {
    const spec = S.specs[4] as NoticeSpec;
    const wrong = S.envelopeValues(spec).map((e) => ({ ...e, readings: e.readings.map((r, i) => (i === 1 ? { ...r, odometer_m: r.odometer_m + 1 } : r)) }));
    const notices = fullNotices().notices.map((n, i) => (i === 4 ? { form: 1 as const, payload: S.payloads[4] as Uint8Array, envelopes: wrong } : n));
    let err: unknown;
    try {
      buildCertificate({ ...fullInputs(), notices });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).code).toBe('commitment_mismatch');
    expect((err as Error).message).toMatch(/reading 7/);
  });
  it('the opened values a detail key gives are enough to write form 1 (openHistoryValues returns the commitment keys)', () => {
    const n = decodeHistoryNotice(S.payloads[2] as Uint8Array);
    const values = openHistoryValues(n, S.odo[0] as Uint8Array, S.det[0] as Uint8Array);
    expect(values.map((v) => v.detail?.commitmentKey)).toEqual([toHex(S.envKeys[1] as Uint8Array), toHex(S.envKeys[1] as Uint8Array)]);
    const opened = encodeOpenedHistoryNotice(n.payload, [{ commitmentKey: fromHex(values[0]?.detail?.commitmentKey as string), readings: values.map((v) => v.detail?.reading as Reading) }]);
    expect(toHex(decodeOpenedHistoryNotice(opened).notice.payload)).toBe(toHex(n.payload));
  });
});

describe('build → verify: the corrected record (18.4 step 7a)', () => {
  const full = (s: Story) => verifyCertificateOffline(buildCertificate(fullInputs(s)), ANCHORS);
  it("lists the history's corrections, oldest first, with the input, the registrar and what they cleared", () => {
    const f = verifyCertificateOffline(FULL, ANCHORS);
    expect(f.corrections).toEqual([{ inputIndex: 9n, registrar: toHex(S.registrar), cleared: true, correction: S.correction }]);
    expect(f.leaf).toMatchObject({ tamperEvents: 1, openTampers: 0, flagged: false, corrections: 1 });
    // A summary carries no history: no corrections listed (the leaf still counts them).
    expect(verifyCertificateOffline(SUMMARY, ANCHORS).corrections).toEqual([]);
  });
  it('a correction that gives a value and clears nothing leaves the rollback open: the leaf counts it, and is flagged', () => {
    const s = story({
      corrections: (c, r) => [correctedEntry(r, false, { ...c, counter: 4n, odometerM: 81_310_000n, reason: 'data_entry_error', evidence: 'inspection_report', note: '' })],
      leaf: { openTampers: 1, latestCorrection: { counter: 4n, inputIndex: 9n } },
    });
    const f = full(s);
    expect(f.leaf.flagged).toBe(true);
    expect(f.corrections.map((c) => [c.cleared, c.correction.counter, c.correction.reason])).toEqual([[false, 4n, 'data_entry_error']]);
  });
  it('two corrections, one moving the baseline: both listed in order', () => {
    const s = story({
      corrections: (c, r) => [correctedEntry(r, true, c), correctedEntry(r, false, { ...c, counter: 5n, odometerM: null, baselineM: 60_000_000n, reason: 'cluster_replaced', evidence: 'workshop_record' })],
      leaf: { corrections: 2 },
    });
    const f = full(s);
    expect(f.corrections.map((c) => [c.cleared, c.correction.baselineM])).toEqual([
      [true, null],
      [false, 60_000_000n],
    ]);
  });
  it('history_mismatch: a correction that says it cleared a rollback the history does not hold open', () => {
    // Counter 4 was attested, not a rollback.
    const notOpen = story({ corrections: (c, r) => [correctedEntry(r, true, { ...c, counter: 4n })] });
    expect(errorOf(() => full(notOpen))).toBe('history_mismatch');
    expect(() => full(notOpen)).toThrow(/cleared the rollback at counter 4, which the history does not hold open/);
    // The same rollback cleared twice.
    const twice = story({ corrections: (c, r) => [correctedEntry(r, true, c), correctedEntry(r, true, c)], leaf: { corrections: 2 } });
    expect(errorOf(() => full(twice))).toBe('history_mismatch');
    // A summary does not walk the history: it does not see it.
    expect(verifyCertificateOffline(buildCertificate(summaryInputs(notOpen)), ANCHORS).level).toBe('summary');
  });
  it("history_mismatch: the history's open rollbacks are not the leaf's", () => {
    // No correction on record, yet the leaf counts no open rollback.
    const uncleared = story({ corrections: () => [], leaf: { corrections: 0, latestCorrection: null } });
    expect(errorOf(() => full(uncleared))).toBe('history_mismatch');
    // The rollback cleared, yet the leaf still counts it open.
    const stillOpen = story({ leaf: { openTampers: 1 } });
    expect(errorOf(() => full(stillOpen))).toBe('history_mismatch');
    expect(() => full(stillOpen)).toThrow(/leaves 0 rollback\(s\) uncleared; the leaf counts 1 open/);
    expect(errorOf(() => full(story({ corrections: () => [], leaf: { corrections: 0, latestCorrection: null, openTampers: 1 } })))).toBeUndefined();
  });
});

describe('build → verify: the notices of the vectors (history_accumulator_state_device, three eras)', () => {
  const acc = vector('history_accumulator_state_device');
  const device = str(acc, 'device_id');
  const payloads = (acc.notices as string[]).map(fromHex);
  const keys = new Map<number, { odo?: string; det?: string }>();
  for (const v of ofKind('history_notice')) {
    if (!v.valid || v.device_id !== device || !v.fields) continue;
    const era = (v.fields as { era: number }).era;
    keys.set(era, { odo: (v.odometer_key as string) ?? keys.get(era)?.odo, det: (v.detail_key as string) ?? keys.get(era)?.det });
  }
  it('the current era opened, the earlier ones sealed with their odometer keys', () => {
    const leafBytes = fromHex(str(acc, 'leaf'));
    const leaf = decodeLeaf(leafBytes);
    const notices = decodeListed(device, payloads.map((p, i) => ({ input_index: 0, output_index: i, payload: toHex(p) }))).notices;
    // The openings of the leaf's readings, from the detail keys of the vectors.
    const openingOf = (counter: bigint | undefined): Uint8Array | null => {
      if (counter === undefined) return null;
      for (const n of notices) {
        const k = keys.get(n.era);
        if (!k?.odo || !k.det) continue;
        const v = openHistoryValues(n, fromHex(k.odo), fromHex(k.det)).find((x) => x.counter === counter);
        if (v?.detail) return concatBytes(fromHex(device), u64be(counter), fromHex(v.detail.blinding), encodeReading(v.detail.reading));
      }
      throw new Error(`no opening of ${counter}`);
    };
    const issue: IssueNotice[] = notices.map((n) => {
      const hasReadings = n.entries.some((e) => e.kind === 'reading');
      const k = keys.get(n.era);
      if (n.era !== leaf.era || !hasReadings || !k?.odo || !k.det) return { form: 0, payload: n.payload };
      const values = openHistoryValues(n, fromHex(k.odo), fromHex(k.det));
      const envelopes: { commitmentKey: string; readings: Reading[] }[] = [];
      let i = 0;
      for (const e of n.entries) {
        if (e.kind === 'envelope') envelopes.push({ commitmentKey: '', readings: [] });
        if (e.kind === 'reading') {
          const d = values[i++]?.detail;
          const last = envelopes[envelopes.length - 1];
          if (!d || !last) throw new Error('not opened');
          last.commitmentKey = d.commitmentKey;
          last.readings.push(d.reading);
        }
      }
      return { form: 1, payload: n.payload, envelopes };
    });
    const state = encodeStateNotice({ inputIndex: 14n, blockNumber: 900n, blockTimestamp: 1_790_900_000n, devices: 1n, mapRoot: toHex(leafHash(leafBytes)), globals: '00'.repeat(32) });
    const tree = outputsTree([encodeNoticeOutput(state)], 0);
    const earlier = [...keys].filter(([era, k]) => era < leaf.era && k.odo).map(([era, k]) => ({ era, key: k.odo as string }));
    const bytes = buildCertificate({
      level: 'full',
      anchors: ANCHORS,
      deviceId: device,
      claim: { lastProcessedBlock: 905, claimBlock: 910, outputsRoot: tree.root },
      stateNotice: state,
      outputIndex: 0,
      outputSiblings: tree.siblings,
      mapProof: concatBytes(new Uint8Array([1, 1, 0]), new Uint8Array(16), leafBytes),
      highest: openingOf(leaf.highest?.counter),
      first: openingOf(leaf.first?.counter),
      odometerKeys: earlier,
      notices: issue,
    });
    const f = verifyCertificateOffline(bytes, ANCHORS);
    expect(f.notices).toBe(12);
    const counters = notices.flatMap((n) => n.entries.flatMap((e) => (e.kind === 'reading' ? [{ counter: e.counter, era: n.era }] : [])));
    expect(f.disclosed.map((d) => d.counter)).toEqual(counters.filter((c) => c.era === leaf.era).map((c) => c.counter));
    expect(f.odometerOnly.map((d) => d.counter)).toEqual(counters.filter((c) => c.era < leaf.era).map((c) => c.counter));
    expect(f.undisclosed).toEqual([]);
    expect(f.odometerOnly.some((d) => d.rollback)).toBe(true);
    expect(f.highest?.counter).toBe(leaf.highest?.counter);
    expect(f.first?.counter).toBe(leaf.first?.counter);
    expect(toHex(encodeCertificate(decodeCertificate(bytes)))).toBe(toHex(bytes));
  });
});

// ---- every refusal (18.5) ----

describe('refusals while decoding', () => {
  const at = (bytes: Uint8Array, offset: number, value: number) => {
    const b = bytes.slice();
    b[offset] = value;
    return b;
  };
  it('not_a_certificate: another magic', () => {
    expect(errorOf(() => verifyCertificateOffline(at(SUMMARY, 0, 0x58)))).toBe('not_a_certificate');
    expect(errorOf(() => decodeCertificate(utf8('PK\x03\x04 a zip file')))).toBe('not_a_certificate');
    expect(errorOf(() => decodeCertificate(utf8('WX')))).toBe('not_a_certificate');
  });
  it('truncated: anywhere, including inside the magic and right after the version', () => {
    expect(errorOf(() => decodeCertificate(new Uint8Array()))).toBe('truncated');
    expect(errorOf(() => decodeCertificate(utf8('WTN')))).toBe('truncated');
    expect(errorOf(() => decodeCertificate(SUMMARY.slice(0, 5)))).toBe('truncated');
    for (const cut of [6, 53, 100, 200, 230, 400, SUMMARY.length - 1]) expect(errorOf(() => decodeCertificate(SUMMARY.slice(0, cut))), `cut at ${cut}`).toBe('truncated');
    expect(errorOf(() => decodeCertificate(FULL.slice(0, FULL.length - 1)))).toBe('truncated');
  });
  it('unsupported_version, as soon as the byte is read', () => {
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.version, 2)))).toBe('unsupported_version');
    expect(errorOf(() => decodeCertificate(utf8('WTNC\x02')))).toBe('unsupported_version');
  });
  it('trailing_bytes', () => {
    expect(errorOf(() => decodeCertificate(concatBytes(SUMMARY, new Uint8Array([0]))))).toBe('trailing_bytes');
    expect(errorOf(() => decodeCertificate(concatBytes(FULL, new Uint8Array([0]))))).toBe('trailing_bytes');
    // A summary with a full certificate's tail.
    expect(errorOf(() => decodeCertificate(at(FULL, AT.level, 1)))).toBe('trailing_bytes');
  });
  it('invalid_field: the level, the root flag, an absent root not zero, the output index and bitmap, an empty sibling, an opening flag', () => {
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.level, 3)))).toBe('invalid_field');
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.level, 0)))).toBe('invalid_field');
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.rootPresent, 2)))).toBe('invalid_field');
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.rootPresent, 0)))).toBe('invalid_field');
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.outputIndex, 0x80)))).toBe('invalid_field');
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.bitmap, 0x80)))).toBe('invalid_field');
    // A set bit whose sibling is the empty subtree of its level.
    const zero = zeroHashes();
    const withEmpty = concatBytes(SUMMARY.slice(0, AT.bitmap), u64be(0b1111), SUMMARY.slice(AT.siblings, AT.siblings + 96), zero[3] as Uint8Array, SUMMARY.slice(AT.siblings + 96));
    expect(errorOf(() => decodeCertificate(withEmpty))).toBe('invalid_field');
    const mapEnd = AT.siblings + 96 + 2 + S.mapProof.length;
    expect(SUMMARY[mapEnd]).toBe(1);
    expect(errorOf(() => decodeCertificate(at(SUMMARY, mapEnd, 2)))).toBe('invalid_field');
  });
  it('invalid_field: odometer keys not by era strictly ascending; a notice form other than 0 and 1', () => {
    const c = decodeCertificate(buildCertificate(fullInputs(S, [], [0, 1])));
    c.odometerKeys = [c.odometerKeys[1], c.odometerKeys[0]] as typeof c.odometerKeys;
    expect(errorOf(() => encodeCertificate(c))).toBe('invalid_field');
    // Written by hand: era 1 then era 0; then era 0 twice.
    const raw = buildCertificate(fullInputs(S, [], [0, 1]));
    const start = raw.length - (1 + 2 * 36) - noticesLength(c.notices);
    expect(toHex(raw.slice(start, start + 5))).toBe('0200000000');
    const swapped = concatBytes(raw.slice(0, start + 1), raw.slice(start + 37, start + 73), raw.slice(start + 1, start + 37), raw.slice(start + 73));
    expect(errorOf(() => decodeCertificate(swapped))).toBe('invalid_field');
    const twice = concatBytes(raw.slice(0, start + 1), raw.slice(start + 1, start + 37), raw.slice(start + 1, start + 37), raw.slice(start + 73));
    expect(errorOf(() => decodeCertificate(twice))).toBe('invalid_field');
    // The first notice's form byte.
    const formAt = start + 73 + 1;
    expect(raw[formAt]).toBe(0);
    expect(errorOf(() => decodeCertificate(at(raw, formAt, 2)))).toBe('invalid_field');
    // The form is refused as soon as it is read, before its length.
    const cut = concatBytes(raw.slice(0, formAt), new Uint8Array([2, 0xff, 0xff]), new Uint8Array(raw.length - formAt - 3));
    expect(errorOf(() => decodeCertificate(cut))).toBe('invalid_field');
    // The notice count is bounded by 4 bytes per notice.
    const countAt = formAt - 1;
    expect(raw[countAt]).toBe(5);
    const left = raw.length - countAt - 1;
    expect(errorOf(() => decodeCertificate(concatBytes(raw.slice(0, countAt), varint(Math.floor(left / 4) + 1), raw.slice(countAt + 1))))).toBe('truncated');
  });
  it('oversize: a map proof or an opening longer than allowed', () => {
    const mapLen = AT.siblings + 96;
    // Map proof length 4,558 (one above 19 + 32 × 128 + 442) as a varint.
    expect(19 + 32 * 128 + LEAF_LEN + 1).toBe(4558);
    const big = concatBytes(SUMMARY.slice(0, mapLen), varint(4558), SUMMARY.slice(mapLen + 2));
    expect(errorOf(() => decodeCertificate(big))).toBe('oversize');
    const openingAt = mapLen + 2 + S.mapProof.length + 1;
    expect(SUMMARY[openingAt]).toBe(S.highestOpening.length);
    expect(MAX_OPENING_LEN).toBe(141);
    expect(errorOf(() => decodeCertificate(concatBytes(SUMMARY.slice(0, openingAt), varint(MAX_OPENING_LEN + 1), SUMMARY.slice(openingAt + 1))))).toBe('oversize');
    // An opening with 33 fault codes (the reading's own bound).
    const o = S.highestOpening.slice();
    o[56 + 20] = 33;
    expect(errorOf(() => decodeCertificate(concatBytes(SUMMARY.slice(0, openingAt), new Uint8Array([o.length]), o, SUMMARY.slice(openingAt + 1 + o.length))))).toBe('oversize');
  });
  it('non_canonical_varint: an overlong length', () => {
    const mapLen = AT.siblings + 96;
    const n = S.mapProof.length;
    expect(toHex(SUMMARY.slice(mapLen, mapLen + 2))).toBe(toHex(varint(n)));
    const overlong = concatBytes(SUMMARY.slice(0, mapLen), new Uint8Array([(n & 0x7f) | 0x80, (n >> 7) | 0x80, 0x00]), SUMMARY.slice(mapLen + 2));
    expect(errorOf(() => decodeCertificate(overlong))).toBe('non_canonical_varint');
  });
  it('the codes of the embedded objects: the state notice, the map proof, the leaf, an opened notice', () => {
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.state, 3)))).toBe('unsupported_version');
    expect(errorOf(() => decodeCertificate(at(SUMMARY, AT.state + 1, 5)))).toBe('unknown_kind');
    const mapAt = AT.siblings + 96 + 2;
    expect(errorOf(() => decodeCertificate(at(SUMMARY, mapAt, 2)))).toBe('unsupported_version');
    const leafAt = mapAt + S.mapProof.length - LEAF_LEN;
    expect(errorOf(() => decodeCertificate(at(SUMMARY, leafAt + 53, 2)))).toBe('invalid_field');
    // Every notice is decoded with the certificate (step 1), so before the pinned anchors are compared.
    const c = decodeCertificate(FULL);
    const opened = c.notices[4];
    if (opened?.form !== 1) throw new Error('notice 4 is opened');
    c.notices[4] = { form: 1, opened: concatBytes(opened.opened, new Uint8Array([0])) };
    const trailing = encodeCertificate(c);
    expect(errorOf(() => decodeCertificate(trailing))).toBe('trailing_bytes');
    expect(errorOf(() => verifyCertificateOffline(trailing, { ...ANCHORS, chainId: 1 }))).toBe('trailing_bytes');
    // An opened notice cut inside its values; one with 33 fault codes in a reading.
    c.notices[4] = { form: 1, opened: opened.opened.slice(0, opened.opened.length - 1) };
    expect(errorOf(() => decodeCertificate(encodeCertificate(c)))).toBe('truncated');
    const faults = opened.opened.slice();
    faults[faults.length - 1] = 33;
    c.notices[4] = { form: 1, opened: faults };
    expect(errorOf(() => decodeCertificate(encodeCertificate(c)))).toBe('oversize');
    // A form 0 notice that is no notice, or a state notice.
    const d = decodeCertificate(FULL);
    d.notices[0] = { form: 0, payload: new Uint8Array([9, 5]) };
    expect(errorOf(() => decodeCertificate(encodeCertificate(d)))).toBe('unsupported_version');
    d.notices[0] = { form: 0, payload: S.statePayload };
    expect(errorOf(() => decodeCertificate(encodeCertificate(d)))).toBe('unknown_kind');
    // A form 1 notice whose entries leave an envelope range unfinished.
    const e = decodeCertificate(FULL);
    const n1 = encodeOpenedHistoryNotice(S.payloads[1] as Uint8Array, S.envelopeValues(S.specs[1] as NoticeSpec));
    const broken = n1.slice();
    broken[55 + 1 + 9] = 4; // the envelope entry's count: 4 readings, 3 follow
    e.notices[1] = { form: 1, opened: broken };
    expect(errorOf(() => decodeCertificate(encodeCertificate(e)))).toBe('invalid_field');
  });
});

function noticesLength(notices: ReturnType<typeof decodeCertificate>['notices']): number {
  return 1 + notices.reduce((n, x) => {
    const b = x.form === 0 ? x.payload : x.opened;
    return n + 1 + varint(b.length).length + b.length;
  }, 0);
}

describe('refusals while verifying, in the order of 18.4', () => {
  it('chain_mismatch, application_mismatch, consensus_mismatch (in that order)', () => {
    expect(errorOf(() => verifyCertificateOffline(SUMMARY, { ...ANCHORS, chainId: 1 }))).toBe('chain_mismatch');
    expect(errorOf(() => verifyCertificateOffline(SUMMARY, { ...ANCHORS, application: '0x' + 'a2'.repeat(20) }))).toBe('application_mismatch');
    expect(errorOf(() => verifyCertificateOffline(SUMMARY, { ...ANCHORS, consensus: '0x' + 'c1'.repeat(20) }))).toBe('consensus_mismatch');
    expect(errorOf(() => verifyCertificateOffline(SUMMARY, { chainId: 1, application: '0x' + 'a2'.repeat(20), consensus: '0x' + 'c1'.repeat(20) }))).toBe('chain_mismatch');
    expect(errorOf(() => verifyCertificateOffline(SUMMARY, { ...ANCHORS, application: '0x' + 'a2'.repeat(20), consensus: '0x' + 'c1'.repeat(20) }))).toBe('application_mismatch');
    // Checksummed or upper-case pinned addresses are the same addresses.
    expect(verifyCertificateOffline(SUMMARY, { ...ANCHORS, application: APP.toUpperCase().replace('0X', '0x') }).anchorsPinned).toBe(true);
  });
  it('claim_mismatch: the state notice after the claim, or the claim before its own last block', () => {
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { claim: { ...S.claim, lastProcessedBlock: 1_199 } })), ANCHORS))).toBe('claim_mismatch');
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { claim: { ...S.claim, claimBlock: 1_209 } })), ANCHORS))).toBe('claim_mismatch');
    // The edges hold.
    expect(verifyCertificateOffline(buildCertificate(summaryInputs(S, { claim: { lastProcessedBlock: 1_200, claimBlock: 1_200, outputsRoot: S.claim.outputsRoot } })), ANCHORS).asOfBlock).toBe(1_200);
    // Before the anchors? No: a pinned mismatch is reported first.
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { claim: { ...S.claim, claimBlock: 1 } })), { ...ANCHORS, chainId: 5 }))).toBe('chain_mismatch');
  });
  it('outputs_root_mismatch: another root, or another output index, or an altered state notice', () => {
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { claim: { ...S.claim, outputsRoot: '55'.repeat(32) } })), ANCHORS))).toBe('outputs_root_mismatch');
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { outputIndex: S.stateIndex - 1 })), ANCHORS))).toBe('outputs_root_mismatch');
    const altered = edited(SUMMARY, (c) => {
      c.state = { ...c.state, devices: c.state.devices + 1n };
    });
    expect(errorOf(() => verifyCertificateOffline(altered, ANCHORS))).toBe('outputs_root_mismatch');
  });
  it('root_mismatch: a path for another map root', () => {
    const extra = encodeLeaf(leafOf({ deviceId: toHex(label('newcomer', 16)) }));
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { mapProof: mapProofOf([...S.leaves, extra], S.device) })), ANCHORS))).toBe('root_mismatch');
  });
  it("wrong_device: another device's leaf, a proof of absence, a notice of another device", () => {
    const other = S.neighbours[0] as Uint8Array;
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { mapProof: mapProofOf(S.leaves, other.slice(1, 17)) })), ANCHORS))).toBe('wrong_device');
    // The device's own path in a map without it: its prefix leads to another leaf or nowhere.
    const absent = mapProofOf(S.neighbours, S.device);
    const stateWithout = encodeStateNotice({ ...S.state, mapRoot: toHex(rootOf(S.neighbours)) });
    const tree = outputsTree([encodeNoticeOutput(stateWithout)], 0);
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { stateNotice: stateWithout, mapProof: absent, outputIndex: 0, outputSiblings: tree.siblings, claim: { ...S.claim, outputsRoot: tree.root } })), ANCHORS))).toBe('wrong_device');
    // A history notice of another device, in place of one of ours.
    const stranger = label('stranger', 16);
    const spec = S.specs[3] as NoticeSpec;
    const foreign = sealNotice(stranger, spec, S.odo[1] as Uint8Array, S.det[1] as Uint8Array);
    const notices = fullNotices().notices.map((n, i) => (i === 3 ? { form: 0 as const, payload: foreign } : n));
    expect(errorOf(() => verifyCertificateOffline(buildCertificate({ ...fullInputs(), notices }), ANCHORS))).toBe('wrong_device');
  });
  it('opening_missing: the highest, or the first', () => {
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { highest: null })), ANCHORS))).toBe('opening_missing');
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { first: null })), ANCHORS))).toBe('opening_missing');
  });
  it('wrong_commitment: an opening of another counter or device, or given where the leaf names none', () => {
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { highest: S.firstOpening })), ANCHORS))).toBe('wrong_commitment');
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { first: S.highestOpening })), ANCHORS))).toBe('wrong_commitment');
    const otherDevice = concatBytes(label('another car', 16), S.highestOpening.slice(16));
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { highest: otherDevice })), ANCHORS))).toBe('wrong_commitment');
    // The highest is checked before the first.
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { highest: S.firstOpening, first: null })), ANCHORS))).toBe('wrong_commitment');
  });
  it('commitment_mismatch: an altered reading, the highest or the first', () => {
    const lowered = (o: Uint8Array, by: number) => {
      const b = o.slice();
      b.set(u64be(BigInt((S.readings[7] as Reading).odometer_m - by)), 56 + 4);
      return b;
    };
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { highest: lowered(S.highestOpening, 1_000_000) })), ANCHORS))).toBe('commitment_mismatch');
    const blinding = S.firstOpening.slice();
    blinding[30] = (blinding[30] as number) ^ 1;
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { first: blinding })), ANCHORS))).toBe('commitment_mismatch');
  });
  it('history_mismatch: a notice missing, altered, out of order, or a disclosed reading altered', () => {
    const base = fullNotices().notices;
    const full = (notices: IssueNotice[]) => buildCertificate({ ...fullInputs(), notices });
    expect(errorOf(() => verifyCertificateOffline(full(base.slice(1)), ANCHORS))).toBe('history_mismatch');
    expect(errorOf(() => verifyCertificateOffline(full(base.slice(0, 4)), ANCHORS))).toBe('history_mismatch');
    expect(errorOf(() => verifyCertificateOffline(full([base[1], base[0], ...base.slice(2)] as IssueNotice[]), ANCHORS))).toBe('history_mismatch');
    expect(errorOf(() => verifyCertificateOffline(full([]), ANCHORS))).toBe('history_mismatch');
    // A byte of a sealed notice's ciphertext.
    const altered = (S.payloads[1] as Uint8Array).slice();
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    expect(errorOf(() => verifyCertificateOffline(full(base.map((n, i) => (i === 1 ? { form: 0, payload: altered } : n))), ANCHORS))).toBe('history_mismatch');
    // A disclosed reading altered in the opened form: it rebuilds another commitment.
    const c = decodeCertificate(FULL);
    const opened = c.notices[4];
    if (opened?.form !== 1) throw new Error('notice 4 is opened');
    const b = opened.opened.slice();
    const odometerAt = b.length - (21 + 0) + 4; // the last reading (no fault codes): its odometer
    b[odometerAt + 7] = (b[odometerAt + 7] as number) ^ 1;
    c.notices[4] = { form: 1, opened: b };
    expect(errorOf(() => verifyCertificateOffline(encodeCertificate(c), ANCHORS))).toBe('history_mismatch');
    // A commitment key altered: every reading of its envelope changes.
    const k = opened.opened.slice();
    k[k.length - 2 * 21 - 32] = (k[k.length - 2 * 21 - 32] as number) ^ 1;
    c.notices[4] = { form: 1, opened: k };
    expect(errorOf(() => verifyCertificateOffline(encodeCertificate(c), ANCHORS))).toBe('history_mismatch');
  });
  it('history_key_mismatch: an odometer key that does not open a sealed notice of its era', () => {
    const c = decodeCertificate(FULL);
    c.odometerKeys = [{ era: 0, key: S.odo[1] as Uint8Array }];
    expect(errorOf(() => verifyCertificateOffline(encodeCertificate(c), ANCHORS))).toBe('history_key_mismatch');
    // A key for an era none of whose notices is sealed with readings is not used.
    c.odometerKeys = [{ era: 0, key: S.odo[0] as Uint8Array }, { era: 1, key: new Uint8Array(32).fill(7) }];
    expect(verifyCertificateOffline(encodeCertificate(c), ANCHORS).odometerOnly).toHaveLength(5);
    // The history is checked first: with a notice missing, history_mismatch.
    c.odometerKeys = [{ era: 0, key: S.odo[1] as Uint8Array }];
    c.notices = c.notices.slice(1);
    expect(errorOf(() => verifyCertificateOffline(encodeCertificate(c), ANCHORS))).toBe('history_mismatch');
  });
  it('an odometer part that opens to the wrong length keeps its code (malformed_plaintext), not history_key_mismatch', () => {
    const bad = story({ longOdometer: true });
    const bytes = buildCertificate(fullInputs(bad, [1], [0]));
    expect(errorOf(() => verifyCertificateOffline(bytes, ANCHORS))).toBe('malformed_plaintext');
    // Without the key nothing is opened: it verifies, those readings undisclosed.
    expect(verifyCertificateOffline(buildCertificate(fullInputs(bad, [1], [])), ANCHORS).undisclosed).toEqual([1n, 2n, 3n, 4n, 5n]);
  });
  it('a summary carries no notices and no keys (encoding refuses them)', () => {
    const c = decodeCertificate(FULL);
    c.level = 'summary';
    expect(errorOf(() => encodeCertificate(c))).toBe('invalid_field');
  });
});

// ---- the text form ----

describe('text form (18.6)', () => {
  it('is base64 with padding in lines of 64 between the BEGIN and END lines, and reads back', () => {
    const text = certificateToText(FULL);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(TEXT_BEGIN);
    expect(lines[lines.length - 1]).toBe(TEXT_END);
    const body = lines.slice(1, -1);
    expect(body.slice(0, -1).every((l) => l.length === 64)).toBe(true);
    expect((body[body.length - 1] as string).length).toBeLessThanOrEqual(64);
    expect(body.join('')).toBe(Buffer.from(FULL).toString('base64'));
    expect(toHex(certificateFromInput(text))).toBe(toHex(FULL));
    // Padding is kept: a length that is not a multiple of 3.
    const odd = FULL.slice(0, FULL.length - (FULL.length % 3 === 2 ? 0 : FULL.length % 3 === 1 ? 2 : 1));
    expect(odd.length % 3).toBe(2);
    expect(certificateToText(odd)).toMatch(/=\n-----END/);
    expect(toHex(certificateFromInput(certificateToText(odd)))).toBe(toHex(odd));
  });
  it('accepts the binary file, the text form in any whitespace, bare base64, and hex', () => {
    const b64 = Buffer.from(SUMMARY).toString('base64');
    const variants: (string | Uint8Array)[] = [
      SUMMARY,
      certificateToText(SUMMARY),
      certificateToText(SUMMARY).replace(/\n/g, '\r\n'),
      `  \n${certificateToText(SUMMARY).replace(/\n/g, '\n\t ')}\n\n`,
      'Here is my certificate:\n' + certificateToText(SUMMARY) + 'Regards',
      utf8(certificateToText(SUMMARY)),
      b64,
      b64.replace(/(.{50})/g, '$1 \n'),
      b64.replace(/=+$/, ''),
      toHex(SUMMARY),
      '0x' + toHex(SUMMARY).toUpperCase(),
      toHex(SUMMARY).replace(/(.{32})/g, '$1\n'),
    ];
    for (const v of variants) expect(toHex(certificateFromInput(v))).toBe(toHex(SUMMARY));
    // What comes back still verifies.
    expect(verifyCertificateOffline(certificateFromInput(certificateToText(SUMMARY)), ANCHORS).deviceId).toBe(S.deviceId);
  });
  it('refuses anything else with not_a_certificate', () => {
    const bad: (string | Uint8Array)[] = [
      '',
      '   \n ',
      'hello world',
      Buffer.from('not a certificate at all').toString('base64'),
      toHex(utf8('XTNC0000')),
      `${TEXT_BEGIN}\n${Buffer.from('nope').toString('base64')}\n${TEXT_END}`,
      `${Buffer.from(SUMMARY).toString('base64')}\n${TEXT_END}`,
      `${TEXT_BEGIN}\n${Buffer.from(SUMMARY).toString('base64').replace('A', '*')}\n${TEXT_END}`,
      new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
      utf8('PK\x03\x04'),
    ];
    for (const v of bad) expect(errorOf(() => certificateFromInput(v)), String(v).slice(0, 40)).toBe('not_a_certificate');
  });
  it('a text form that lost its END line is cut short: truncated', () => {
    const text = certificateToText(SUMMARY);
    expect(errorOf(() => certificateFromInput(text.slice(0, text.indexOf(TEXT_END))))).toBe('truncated');
    expect(errorOf(() => certificateFromInput(text.slice(0, 200)))).toBe('truncated');
  });
});

// ---- on L1 ----

function claimLog(block: number, lastProcessed: number, root: string, logIndex = 0): RpcLog {
  return {
    address: CONSENSUS,
    topics: [CLAIM_ACCEPTED_TOPIC, '0x' + addressWord(APP)],
    data: '0x' + lastProcessed.toString(16).padStart(64, '0') + root.replace(/^0x/, ''),
    blockNumber: '0x' + block.toString(16),
    transactionHash: '0x' + (block * 100 + logIndex).toString(16).padStart(64, '0'),
    logIndex: '0x' + logIndex.toString(16),
    removed: false,
  };
}

function fakeChain(opts: { logs: RpcLog[]; accepted: string[]; head?: number; chain?: number; consensus?: string }) {
  const word = (n: number) => '0x' + n.toString(16).padStart(64, '0');
  const calls: { method: string; params: unknown[] }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_url: string, init: RequestInit) => {
      const req = JSON.parse(String(init.body)) as { id: number; method: string; params: unknown[] };
      calls.push({ method: req.method, params: req.params });
      const answer = (result: unknown) => new Response(JSON.stringify({ jsonrpc: '2.0', id: req.id, result }), { status: 200 });
      switch (req.method) {
        case 'eth_chainId':
          return answer('0x' + (opts.chain ?? 31337).toString(16));
        case 'eth_blockNumber':
          return answer('0x' + (opts.head ?? 2_000).toString(16));
        case 'eth_getBlockByNumber':
          return answer({ timestamp: '0x' + (1_790_000_000 + parseInt(String(req.params[0]), 16)).toString(16) });
        case 'eth_getLogs': {
          const f = req.params[0] as { address: string; topics: string[]; fromBlock: string; toBlock: string };
          const [from, to] = [parseInt(f.fromBlock, 16), parseInt(f.toBlock, 16)];
          return answer(opts.logs.filter((l) => l.address === f.address && f.topics.every((t, i) => l.topics[i] === t) && parseInt(String(l.blockNumber), 16) >= from && parseInt(String(l.blockNumber), 16) <= to));
        }
        case 'eth_call': {
          const [tx] = req.params as [{ to: string; data: string }];
          if (tx.to === APP && tx.data === '0x' + SELECTORS.getOutputsMerkleRootValidator) return answer('0x' + addressWord(opts.consensus ?? CONSENSUS));
          if (tx.to === APP && tx.data === '0x' + SELECTORS.getDeploymentBlockNumber) return answer(word(100));
          if (tx.to === CONSENSUS && tx.data.startsWith('0x' + IS_OUTPUTS_MERKLE_ROOT_VALID)) {
            const appWord = tx.data.slice(10, 74);
            const root = tx.data.slice(74);
            return answer(word(appWord === addressWord(APP) && opts.accepted.includes(root) ? 1 : 0));
          }
          return answer('0x');
        }
        default:
          return new Response(JSON.stringify({ jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'no' } }));
      }
    }),
  );
  return calls;
}

describe('checkCertificateOnL1', () => {
  afterEach(() => vi.unstubAllGlobals());
  const f = verifyCertificateOffline(SUMMARY, ANCHORS);
  const RPC = 'http://chain.test:8545';
  it('the selector is keccak256 of isOutputsMerkleRootValid(address,bytes32)', () => {
    expect(IS_OUTPUTS_MERKLE_ROOT_VALID).toBe(toHex(keccak_256(utf8('isOutputsMerkleRootValid(address,bytes32)')).slice(0, 4)));
  });
  it('accepted, its claim where it says, no later claim', async () => {
    const calls = fakeChain({ logs: [claimLog(900, 890, '11'.repeat(32)), claimLog(1_215, 1_210, S.claim.outputsRoot)], accepted: [S.claim.outputsRoot] });
    expect(await checkCertificateOnL1(f, RPC)).toEqual({ outputsRootAccepted: true, claimConfirmed: true, laterClaims: 0 });
    const call = calls.find((c) => c.method === 'eth_call' && (c.params[0] as { data: string }).data.startsWith('0x' + IS_OUTPUTS_MERKLE_ROOT_VALID));
    expect((call?.params[0] as { to: string; data: string }).data).toBe('0x' + IS_OUTPUTS_MERKLE_ROOT_VALID + addressWord(APP) + S.claim.outputsRoot);
  });
  it('later claims are counted and the latest is named', async () => {
    fakeChain({ logs: [claimLog(1_215, 1_210, S.claim.outputsRoot), claimLog(1_300, 1_290, '22'.repeat(32)), claimLog(1_400, 1_390, '33'.repeat(32), 2)], accepted: [S.claim.outputsRoot, '22'.repeat(32), '33'.repeat(32)] });
    const r = await checkCertificateOnL1(f, RPC, { logRange: 50 });
    expect(r).toMatchObject({ outputsRootAccepted: true, claimConfirmed: true, laterClaims: 2, latestClaim: { lastProcessedBlock: 1_390, outputsRoot: '0x' + '33'.repeat(32), blockNumber: 1_400 } });
  });
  it('not accepted; a claim block that holds no such claim', async () => {
    fakeChain({ logs: [claimLog(1_216, 1_210, S.claim.outputsRoot)], accepted: [] });
    expect(await checkCertificateOnL1(f, RPC)).toMatchObject({ outputsRootAccepted: false, claimConfirmed: false, laterClaims: 1 });
  });
  it('another chain or consensus than the certificate names: refused', async () => {
    fakeChain({ logs: [], accepted: [S.claim.outputsRoot], chain: 1 });
    await expect(checkCertificateOnL1(f, RPC)).rejects.toThrow(/chain 1/);
    vi.unstubAllGlobals();
    fakeChain({ logs: [], accepted: [S.claim.outputsRoot], consensus: '0x' + 'c1'.repeat(20) });
    await expect(checkCertificateOnL1(f, RPC)).rejects.toThrow(/validated by/);
  });
});

// ---- issuance in the browser ----

const nodeOutput = (index: number, raw: Uint8Array, siblings: Uint8Array[] | null = null): NodeOutput => ({
  epoch_index: '0x1',
  input_index: '0x0',
  index: '0x' + index.toString(16),
  raw_data: '0x' + toHex(raw),
  output_hashes_siblings: siblings ? siblings.map((s) => '0x' + toHex(s)) : null,
});

/** The chain, the node and the device of the story, as the verifier sees them. */
function world(s: Story = S, patch: Partial<VerifyIO> = {}): { io: VerifyIO; asked: number[] } {
  const asked: number[] = [];
  const byInput = new Map<number, NodeOutput[]>();
  s.specs.forEach((spec, i) => {
    const list = byInput.get(Number(spec.input)) ?? [];
    list.push(nodeOutput(1 + i, s.outputs[1 + i] as Uint8Array));
    byInput.set(Number(spec.input), list);
  });
  byInput.get(12)?.push(nodeOutput(s.stateIndex - 1, s.outputs[s.stateIndex - 1] as Uint8Array), nodeOutput(s.stateIndex, s.outputs[s.stateIndex] as Uint8Array, s.tree.siblings));
  const io: VerifyIO = {
    chainId: async () => 31337,
    applicationConsensus: async () => CONSENSUS,
    latestAcceptedClaim: async () => ({ lastProcessedBlock: 1_210, outputsRoot: '0x' + s.claim.outputsRoot, blockNumber: 1_215, blockTimestamp: 1_790_500_000, txHash: '0x' + 'cd'.repeat(32) }),
    inputCountAt: async (_app, block) => (block === 'latest' ? 15 : 13),
    epochLength: async () => 10,
    headTime: async () => 1_790_500_100,
    validateOutput: async (_app, output, index, siblings) =>
      output === '0x' + toHex(s.outputs[s.stateIndex] as Uint8Array) && index === BigInt(s.stateIndex) && siblings.length === 63 ? { ok: true } : { ok: false, reason: 'InvalidOutputsMerkleRoot' },
    outputsOfInput: async (i) => {
      asked.push(i);
      return byInput.get(i) ?? [];
    },
    deviceProof: async (id, input): Promise<InspectAnswer> => ({ type: 'device_proof', device_id: id, input_index: input, map_root: s.state.mapRoot, proof: toHex(s.mapProof) }),
    backendKey: async () => new Uint8Array(32),
    requestProof: async () => {
      throw new Error('not used');
    },
    requestOpening: async () => {
      throw new Error('not used: the local link URL is');
    },
    nonce: () => '00'.repeat(32),
    now: () => 1_790_500_200,
    ...patch,
  };
  return { io, asked };
}

/** The owner's keys: the odometer keys of every era, the detail key of the current one. */
const ownerKeys = (s: Story = S, detail = [1]): HistoryKeys => ({
  device_id: s.deviceId,
  odometer: s.odo.map((k, era) => ({ era, key: toHex(k) })),
  detail: detail.map((era) => ({ era, key: toHex(s.det[era] as Uint8Array) })),
});

/** The device's local link: it opens any of its readings. */
function localLink(s: Story = S) {
  const asked: string[] = [];
  const keyOf = (c: number) => (c <= 3 ? s.envKeys[0] : c <= 5 ? s.envKeys[1] : s.envKeys[2]) as Uint8Array;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      asked.push(url);
      const m = /\/devices\/([0-9a-f]{32})\/history\/(\d+)$/.exec(url);
      if (!m || m[1] !== s.deviceId) return new Response('{"error":"unknown"}', { status: 404 });
      const c = Number(m[2]);
      return new Response(JSON.stringify({ opening: toHex(s.opening(c, keyOf(c))), commitment_key: toHex(keyOf(c)) }), { status: 200 });
    }),
  );
  return asked;
}

describe('issueCertificate', () => {
  afterEach(() => vi.unstubAllGlobals());
  const LINK = 'http://127.0.0.1:9700';

  it('summary: the highest from the owner\'s history (era 1 detail key), the first from the local link (era 0)', async () => {
    const link = localLink();
    const { io, asked } = world();
    const r = await issueCertificate({ level: 'summary', deviceId: S.deviceId, anchors: ANCHORS, io, keys: ownerKeys(), localLinkUrl: LINK });
    expect(toHex(r.bytes)).toBe(toHex(SUMMARY));
    expect(r.findings.highest?.counter).toBe(7n);
    expect(r.findings.first?.counter).toBe(1n);
    expect(link).toEqual([`${LINK}/devices/${S.deviceId}/history/1`]);
    // Input 12 (the highest's) was read for its notice; the first's era has no detail key.
    expect(asked).toContain(12);
    expect(r.warnings).toEqual([]);
  });

  it('summary with the detail keys of both eras: no local link needed', async () => {
    const { io } = world();
    const r = await issueCertificate({ level: 'summary', deviceId: S.deviceId, anchors: ANCHORS, io, keys: ownerKeys(S, [0, 1]) });
    expect(toHex(r.bytes)).toBe(toHex(SUMMARY));
  });

  it('without keys or a local link: a clear error naming the counter', async () => {
    const { io } = world();
    const err = await issueCertificate({ level: 'summary', deviceId: S.deviceId, anchors: ANCHORS, io }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IssueError);
    expect((err as IssueError).code).toBe('opening_unavailable');
    expect((err as Error).message).toMatch(/counter 7/);
    const err1 = await issueCertificate({ level: 'summary', deviceId: S.deviceId, anchors: ANCHORS, io, keys: ownerKeys() }).catch((e: unknown) => e);
    expect((err1 as Error).message).toMatch(/first attested reading \(counter 1\)/);
  });

  it('a local link whose opening does not match the commitment: refused, naming the counter', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ opening: toHex(S.opening(6, S.envKeys[2] as Uint8Array)) }), { status: 200 })));
    const { io } = world();
    const err = await issueCertificate({ level: 'summary', deviceId: S.deviceId, anchors: ANCHORS, io, localLinkUrl: LINK }).catch((e: unknown) => e);
    expect((err as IssueError).code).toBe('opening_unavailable');
    expect((err as Error).message).toMatch(/counter 7/);
  });

  it('full: walks the notices back on the node, opens era 1, seals era 0 with its odometer key', async () => {
    localLink();
    const { io, asked } = world();
    const r = await issueCertificate({ level: 'full', deviceId: S.deviceId, anchors: ANCHORS, io, keys: ownerKeys(), localLinkUrl: LINK });
    expect(toHex(r.bytes)).toBe(toHex(FULL));
    expect(asked).toEqual(expect.arrayContaining([12, 9, 8, 5, 3]));
    expect(r.findings.disclosed.map((d) => d.counter)).toEqual([6n, 7n]);
    expect(r.findings.odometerOnly.map((d) => d.counter)).toEqual([1n, 2n, 3n, 4n, 5n]);
    const c = decodeCertificate(r.bytes);
    expect(c.notices.map((n) => n.form)).toEqual([0, 0, 0, 0, 1]);
    expect(c.odometerKeys.map((k) => k.era)).toEqual([0]);
  });

  it('full from the gateway list, and without keys: everything sealed, undisclosed', async () => {
    localLink();
    const { io } = world();
    const pages = [S.payloads.map((p, i) => ({ input_index: Number(S.specs[i]?.input), output_index: i + 1, payload: toHex(p) })).reverse()];
    const r = await issueCertificate({ level: 'full', deviceId: S.deviceId, anchors: ANCHORS, io, localLinkUrl: LINK, fetchNotices: async () => ({ device_id: S.deviceId, notices: pages[0] ?? [], next_before: null }) });
    expect(r.findings.undisclosed).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(decodeCertificate(r.bytes).notices.every((n) => n.form === 0)).toBe(true);
  });

  it('full: an incomplete history is refused; an odometer key that does not open is left out with a warning', async () => {
    localLink();
    const { io } = world(S, { outputsOfInput: async (i) => (i === 8 ? [] : (world().io.outputsOfInput(i))) });
    const err = await issueCertificate({ level: 'full', deviceId: S.deviceId, anchors: ANCHORS, io, keys: ownerKeys(), localLinkUrl: LINK }).catch((e: unknown) => e);
    expect((err as IssueError).code).toBe('history_incomplete');
    const keys = ownerKeys();
    keys.odometer = keys.odometer.map((k) => (k.era === 0 ? { ...k, key: '77'.repeat(32) } : k));
    const r = await issueCertificate({ level: 'full', deviceId: S.deviceId, anchors: ANCHORS, io: world().io, keys, localLinkUrl: LINK });
    expect(r.findings.odometerOnly).toEqual([]);
    expect(r.findings.undisclosed).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(r.warnings.join(' ')).toMatch(/odometer key of era 0/);
  });

  it('full with deviceOpensNotices: the device opens what the owner cannot (its commitment keys), every reading disclosed', async () => {
    const asked = localLink();
    const { io } = world();
    const r = await issueCertificate({ level: 'full', deviceId: S.deviceId, anchors: ANCHORS, io, keys: ownerKeys(), localLinkUrl: LINK, deviceOpensNotices: true });
    expect(r.findings.disclosed.map((d) => Number(d.counter))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(r.findings.odometerOnly).toEqual([]);
    expect(decodeCertificate(r.bytes).notices.map((n) => n.form)).toEqual([0, 1, 1, 0, 1]);
    expect(decodeCertificate(r.bytes).odometerKeys).toEqual([]);
    // Readings 1-5 asked of the device (era 0); the first attested came with them.
    expect(asked.map((u) => Number(u.split('/').pop()))).toEqual([1, 2, 3, 4, 5]);
    expect(toHex(r.bytes)).toBe(toHex(buildCertificate(fullInputs(S, [0, 1], []))));
  });

  it("full with deviceOpensNotices, a device without commitment keys: sealed with the era's odometer key", async () => {
    vi.stubGlobal('fetch', vi.fn(async (url: string) => new Response(JSON.stringify({ opening: toHex(S.opening(Number(url.split('/').pop()), (Number(url.split('/').pop()) <= 3 ? S.envKeys[0] : S.envKeys[1]) as Uint8Array)) }), { status: 200 })));
    const r = await issueCertificate({ level: 'full', deviceId: S.deviceId, anchors: ANCHORS, io: world().io, keys: ownerKeys(), localLinkUrl: LINK, deviceOpensNotices: true });
    expect(toHex(r.bytes)).toBe(toHex(FULL));
  });

  it("the device's state must be proven, and present", async () => {
    const { io } = world(S, { chainId: async () => 1 });
    const err = await issueCertificate({ level: 'summary', deviceId: S.deviceId, anchors: ANCHORS, io }).catch((e: unknown) => e);
    expect((err as IssueError).code).toBe('chain_mismatch');
    const absent = world(S, {
      deviceProof: async (id, input): Promise<InspectAnswer> => ({ type: 'device_proof', device_id: id, input_index: input, map_root: S.state.mapRoot, proof: toHex(mapProofOf(S.leaves, label('nobody', 16))) }),
    });
    const err2 = await issueCertificate({ level: 'summary', deviceId: toHex(label('nobody', 16)), anchors: ANCHORS, io: absent.io }).catch((e: unknown) => e);
    expect((err2 as IssueError).code).toBe('unknown_device');
  });

  it("the node's proof of the state notice must lead to the claim's root", async () => {
    const { io } = world(S, { latestAcceptedClaim: async () => ({ lastProcessedBlock: 1_210, outputsRoot: '0x' + '99'.repeat(32), blockNumber: 1_215, blockTimestamp: 1, txHash: '0x' }) });
    localLink();
    const err = await issueCertificate({ level: 'summary', deviceId: S.deviceId, anchors: ANCHORS, io, localLinkUrl: LINK }).catch((e: unknown) => e);
    expect((err as IssueError).code).toBe('outputs_root_mismatch');
  });
});

// ---- the vehicle: its VIN (18.4 step 5a) and its earlier units (step 5b) ----

describe('the vehicle: the VIN (18.2, 18.4 step 5a)', () => {
  const car = simulatedVehicle(utf8('the certificate test car'));
  const V = story({ leaf: { vehicle: vehicleCommitment(car.vin, car.salt) } });
  const inputs = (patch: Partial<IssueInputs> = {}) => summaryInputs(V, { vehicle: { vin: car.vin, salt: car.salt }, ...patch });

  it('is written after the first opening (present 1, the VIN, the salt: 50 bytes), then the earlier units (none: 0); the findings carry the VIN', () => {
    const bytes = buildCertificate(inputs());
    const plain = buildCertificate(summaryInputs(V));
    expect(bytes.length).toBe(plain.length + 49);
    expect(toHex(bytes.slice(bytes.length - 51))).toBe('01' + toHex(utf8(car.vin)) + toHex(car.salt) + '00');
    const f = verifyCertificateOffline(bytes, ANCHORS);
    expect(f.vin).toBe(car.vin);
    expect(verifyCertificateOffline(plain, ANCHORS).vin).toBeNull();
    expect(toHex(encodeCertificate(decodeCertificate(bytes)))).toBe(toHex(bytes));
  });

  it('vehicle_mismatch: another salt, another VIN; a VIN that is not one (lower case) is not written', () => {
    const salt = car.salt.slice();
    salt[0] = (salt[0] as number) ^ 1;
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(inputs({ vehicle: { vin: car.vin, salt } })), ANCHORS))).toBe('vehicle_mismatch');
    const other = simulatedVehicle(utf8('another car'));
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(inputs({ vehicle: { vin: other.vin, salt: car.salt } })), ANCHORS))).toBe('vehicle_mismatch');
    expect(errorOf(() => buildCertificate(inputs({ vehicle: { vin: car.vin.toLowerCase(), salt: car.salt } })))).toBe('invalid_field');
    // Checked after the device's path: a path for another root is refused first.
    const extra = encodeLeaf(leafOf({ deviceId: toHex(label('newcomer', 16)) }));
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(inputs({ vehicle: { vin: car.vin, salt }, mapProof: mapProofOf([...V.leaves, extra], V.device) })), ANCHORS))).toBe('root_mismatch');
  });

  it('decoding: a present byte other than 0 and 1 is invalid_field, a VIN that is not UTF-8 invalid_text, a VIN cut short truncated; a VIN of another length is not written', () => {
    const bytes = buildCertificate(inputs());
    const at = bytes.length - 51;
    const set = (offset: number, value: number) => {
      const b = bytes.slice();
      b[offset] = value;
      return errorOf(() => decodeCertificate(b));
    };
    expect(set(at, 2)).toBe('invalid_field');
    expect(set(at + 1, 0xff)).toBe('invalid_text');
    expect(errorOf(() => decodeCertificate(bytes.slice(0, at + 10)))).toBe('truncated');
    // UTF-8 that is no VIN of ISO 3779 (a byte-order mark, lower case) is refused when read.
    const bom = concatBytes(bytes.slice(0, at + 1), new Uint8Array([0xef, 0xbb, 0xbf]), bytes.slice(at + 4));
    expect(errorOf(() => decodeCertificate(bom))).toBe('invalid_field');
    expect(set(at + 1, 'w'.charCodeAt(0))).toBe('invalid_field');
    expect(errorOf(() => buildCertificate(inputs({ vehicle: { vin: car.vin.slice(1), salt: car.salt } })))).toBe('invalid_field');
    expect(errorOf(() => buildCertificate(inputs({ vehicle: { vin: car.vin, salt: car.salt.slice(1) } })))).toBe('invalid_field');
  });
});

describe("the vehicle's earlier units (18.2, 18.4 step 5b; PROTOCOL.md 8.2.2)", () => {
  const car = simulatedVehicle(utf8('a car with two replaced units'));
  const vehicle = vehicleCommitment(car.vin, car.salt);
  const firstId = toHex(label('the first unit', 16));
  const oldId = toHex(label('the old unit', 16));
  const first = leafOf({ deviceId: firstId, vehicle, successor: oldId, attested: 4n, tamperEvents: 1, openTampers: 0, corrections: 1, latestCorrection: { counter: 3n, inputIndex: 1n } });
  const old = leafOf({ deviceId: oldId, vehicle, predecessor: firstId, successor: S.deviceId, attested: 9n, tamperEvents: 2, openTampers: 1, latestTamper: { counter: 8n, referenceCounter: 7n, inputIndex: 2n } });
  const R = story({ leaf: { vehicle, predecessor: oldId }, units: [old, first] });
  const [oldProof, firstProof] = R.unitProofs as [Uint8Array, Uint8Array];
  const inputs = (earlierUnits: Uint8Array[], patch: Partial<IssueInputs> = {}) => summaryInputs(R, { earlierUnits, ...patch });

  it('proves each earlier unit against the same root, newest first; the findings carry their leaves', () => {
    const bytes = buildCertificate(inputs([oldProof, firstProof], { vehicle: { vin: car.vin, salt: car.salt } }));
    const f = verifyCertificateOffline(bytes, ANCHORS);
    expect(f.earlierUnits.map((u) => u.deviceId)).toEqual([oldId, firstId]);
    expect(f.earlierUnits[0]).toMatchObject({ attested: 9n, tamperEvents: 2, openTampers: 1, flagged: true, successor: S.deviceId });
    expect(f.vin).toBe(car.vin);
    expect(toHex(encodeCertificate(decodeCertificate(bytes)))).toBe(toHex(bytes));
    // The layout: a count, then each proof with its length.
    const tail = concatBytes(new Uint8Array([2]), varint(oldProof.length), oldProof, varint(firstProof.length), firstProof);
    expect(toHex(bytes.slice(bytes.length - tail.length))).toBe(toHex(tail));
    // A full certificate carries them too.
    expect(verifyCertificateOffline(buildCertificate({ ...fullInputs(R), earlierUnits: [oldProof, firstProof] }), ANCHORS).earlierUnits).toHaveLength(2);
  });

  it('previous_unit: a predecessor without its proof, a proof beyond the last predecessor, out of order, of absence', () => {
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(inputs([])), ANCHORS))).toBe('previous_unit');
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(inputs([oldProof])), ANCHORS))).toBe('previous_unit');
    expect(() => verifyCertificateOffline(buildCertificate(inputs([oldProof])), ANCHORS)).toThrow(new RegExp(`unit ${oldId} replaced unit ${firstId}, whose proof the certificate does not carry`));
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(inputs([oldProof, firstProof, firstProof])), ANCHORS))).toBe('previous_unit');
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(inputs([firstProof, oldProof])), ANCHORS))).toBe('previous_unit');
    // The plain story's leaf replaced no unit: any earlier unit is one too many.
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(S, { earlierUnits: [S.mapProof] })), ANCHORS))).toBe('previous_unit');
    // A proof of absence for the predecessor: in a map without it.
    const without = story({ leaf: { vehicle, predecessor: oldId } });
    const absent = mapProofOf(without.leaves, fromHex(oldId));
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(without, { earlierUnits: [absent] })), ANCHORS))).toBe('previous_unit');
  });

  it('previous_unit: an earlier unit naming another successor, none, or of another vehicle', () => {
    for (const patch of [{ successor: toHex(label('someone else', 16)) }, { successor: null }, { vehicle: toHex(label('another vehicle')) }]) {
      const bad = story({ leaf: { vehicle, predecessor: oldId }, units: [{ ...old, ...patch }, first] });
      expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(bad, { earlierUnits: bad.unitProofs })), ANCHORS)), JSON.stringify(patch)).toBe('previous_unit');
    }
    // The first unit names the old one, not the certificate's device.
    const skipped = story({ leaf: { vehicle, predecessor: firstId }, units: [first] });
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(summaryInputs(skipped, { earlierUnits: skipped.unitProofs })), ANCHORS))).toBe('previous_unit');
  });

  it('root_mismatch: an earlier unit proven against another root', () => {
    const extra = encodeLeaf(leafOf({ deviceId: toHex(label('newcomer', 16)) }));
    const elsewhere = mapProofOf([...R.leaves, extra], fromHex(oldId));
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(inputs([elsewhere, firstProof])), ANCHORS))).toBe('root_mismatch');
  });

  it('decoding: at most 16 earlier units (oversize), each a map proof that decodes', () => {
    const bytes = buildCertificate(inputs([oldProof, firstProof]));
    const countAt = bytes.length - (1 + varint(oldProof.length).length + oldProof.length + varint(firstProof.length).length + firstProof.length);
    expect(bytes[countAt]).toBe(2);
    const withCount = (n: number) => {
      const b = bytes.slice();
      b[countAt] = n;
      return errorOf(() => decodeCertificate(b));
    };
    expect(withCount(17)).toBe('oversize');
    expect(withCount(3)).toBe('truncated');
    const c = decodeCertificate(bytes);
    expect(errorOf(() => encodeCertificate({ ...c, earlierUnits: Array.from({ length: 17 }, () => oldProof) }))).toBe('oversize');
    const broken = oldProof.slice();
    broken[0] = 2;
    expect(errorOf(() => encodeCertificate({ ...c, earlierUnits: [broken] }))).toBe('unsupported_version');
    const raw = concatBytes(bytes.slice(0, countAt + 1 + varint(oldProof.length).length), broken, bytes.slice(countAt + 1 + varint(oldProof.length).length + oldProof.length));
    expect(errorOf(() => decodeCertificate(raw))).toBe('unsupported_version');
  });
});

describe('the corrected record (18.4 step 7a): a correction clears the rollback at its counter exactly when one is open', () => {
  it('history_mismatch: a correction that says it cleared nothing, naming an open rollback', () => {
    const s = story({ corrections: (c, r) => [correctedEntry(r, false, c)], leaf: { openTampers: 1 } });
    expect(errorOf(() => verifyCertificateOffline(buildCertificate(fullInputs(s)), ANCHORS))).toBe('history_mismatch');
    expect(() => verifyCertificateOffline(buildCertificate(fullInputs(s)), ANCHORS)).toThrow(/says it cleared nothing, yet the history holds a rollback open there/);
  });
});

describe('issueCertificate: the vehicle', () => {
  afterEach(() => vi.unstubAllGlobals());
  const LINK = 'http://127.0.0.1:9700';
  const car = simulatedVehicle(utf8('an issued car'));
  const vehicle = vehicleCommitment(car.vin, car.salt);
  const oldId = toHex(label('the replaced unit', 16));
  const old = leafOf({ deviceId: oldId, vehicle, successor: S.deviceId, attested: 5n });
  const R = story({ leaf: { vehicle, predecessor: oldId }, units: [old] });
  /** The story's world, whose node proves each device by its own path. */
  const proving = (s: Story, known: Uint8Array[]) =>
    world(s, {
      deviceProof: async (id, input): Promise<InspectAnswer> => ({ type: 'device_proof', device_id: id, input_index: input, map_root: s.state.mapRoot, proof: toHex(mapProofOf(known, fromHex(id))) }),
    });

  it('discloses the VIN and carries the earlier units the node proves (V7a)', async () => {
    localLink(R);
    const { io } = proving(R, R.leaves);
    const r = await issueCertificate({ level: 'summary', deviceId: R.deviceId, anchors: ANCHORS, io, keys: ownerKeys(R), localLinkUrl: LINK, vehicle: { vin: car.vin, salt: toHex(car.salt) } });
    expect(r.findings.vin).toBe(car.vin);
    expect(r.findings.earlierUnits.map((u) => u.deviceId)).toEqual([oldId]);
    const c = decodeCertificate(r.bytes);
    expect(c.earlierUnits.map(toHex)).toEqual(R.unitProofs.map(toHex));
    // Without the VIN: the earlier unit still, no VIN.
    const plain = await issueCertificate({ level: 'summary', deviceId: R.deviceId, anchors: ANCHORS, io, keys: ownerKeys(R), localLinkUrl: LINK });
    expect(plain.findings.vin).toBeNull();
    expect(plain.findings.earlierUnits).toHaveLength(1);
  });

  it('refuses a VIN and salt that do not open the record, and a record whose earlier unit the node does not prove', async () => {
    localLink(R);
    const { io } = proving(R, R.leaves);
    const other = simulatedVehicle(utf8('another car'));
    const wrong = await issueCertificate({ level: 'summary', deviceId: R.deviceId, anchors: ANCHORS, io, localLinkUrl: LINK, vehicle: { vin: other.vin, salt: toHex(car.salt) } }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'vehicle_mismatch' });
    const notVin = await issueCertificate({ level: 'summary', deviceId: R.deviceId, anchors: ANCHORS, io, localLinkUrl: LINK, vehicle: { vin: 'WTN-NOT-A-VIN', salt: toHex(car.salt) } }).catch((e: unknown) => e);
    expect(notVin).toMatchObject({ code: 'invalid_field', message: expect.stringMatching(/not a VIN/) });
    const shortSalt = await issueCertificate({ level: 'summary', deviceId: R.deviceId, anchors: ANCHORS, io, localLinkUrl: LINK, vehicle: { vin: car.vin, salt: 'abcd' } }).catch((e: unknown) => e);
    expect(shortSalt).toMatchObject({ code: 'invalid_field', message: expect.stringMatching(/4 hexadecimal digits, not 64/) });
    const refusing = world(R, {
      deviceProof: async (id, input): Promise<InspectAnswer> =>
        id === oldId ? { type: 'error', error: 'not_kept', detail: 'gone' } : { type: 'device_proof', device_id: id, input_index: input, map_root: R.state.mapRoot, proof: toHex(R.mapProof) },
    });
    const err = await issueCertificate({ level: 'summary', deviceId: R.deviceId, anchors: ANCHORS, io: refusing.io, keys: ownerKeys(R), localLinkUrl: LINK }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IssueError);
    expect(err).toMatchObject({ code: 'previous_unit', message: expect.stringContaining(oldId) });
  });
});
