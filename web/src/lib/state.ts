/**
 * The provable device state (PROTOCOL.md 16.2-16.4): the 442-byte device leaf (version 2), the sparse
 * Merkle map's proofs, and the per-device history accumulator. The twin of
 * `witness_protocol::state`; checked against docs/protocol-vectors.json.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, fromHex, toHex, u32be, u64be, utf8 } from './hex';
import { DecodeError, Reader } from './codec';

export const LEAF_VERSION = 2;
export const LEAF_LEN = 442;
export const MAP_PROOF_VERSION = 1;
export const KEY_BITS = 128;
export const LEAF_TAG = utf8('witness/v2/leaf');
export const NODE_TAG = utf8('witness/v2/map-node');
export const HISTORY_TAG = utf8('witness/v2/history');
export const EMPTY_HASH = new Uint8Array(32);

export interface AttestedRef {
  counter: bigint;
  /** Hex. */
  commitment: string;
  inputIndex: bigint;
}

export interface TamperRef {
  counter: bigint;
  referenceCounter: bigint;
  inputIndex: bigint;
}

export interface CorrectionRef {
  counter: bigint;
  inputIndex: bigint;
}

/** A baseline a registrar's correction set (8.2.1): public, it is in the signed correction. */
export interface CorrectedBaseline {
  /** The baseline, in metres. */
  odometerM: bigint;
  /** The input that recorded the correction. */
  inputIndex: bigint;
}

/** A registrar's ownership recovery waiting for its time (8.4.2): the current owner can object until then. */
export interface PendingRecovery {
  /** The owner key it binds, hex. */
  owner: string;
  /** When it takes effect (block time, seconds since the Unix epoch). */
  effectiveAt: bigint;
}

export interface Accumulator {
  count: bigint;
  /** Hex. */
  root: string;
  lastInput: bigint | null;
}

/** A device leaf (16.2), decoded. Hex for keys, commitments and roots. */
export interface DeviceLeaf {
  deviceId: string;
  model: number;
  /** Current Ed25519 device key, hex. */
  key: string;
  revoked: boolean;
  /** Rollbacks on record that no registrar's correction cleared. */
  openTampers: number;
  /** Derived: `openTampers > 0` (not on the wire since leaf version 2). */
  flagged: boolean;
  lastCounter: bigint | null;
  /** Owner key, hex. */
  owner: string | null;
  ownershipSequence: bigint | null;
  era: number;
  attested: bigint;
  highest: AttestedRef | null;
  /** The first reading ever attested (never a rollback); set once, never changed afterwards. */
  first: AttestedRef | null;
  tamperEvents: number;
  latestTamper: TamperRef | null;
  corrections: number;
  latestCorrection: CorrectionRef | null;
  /**
   * The baseline the latest correction set, while no reading has been attested since: then
   * it, not `highest`, is what the device is compared with (17.3 rule 6).
   */
  correctedBaseline: CorrectedBaseline | null;
  /** The vehicle the unit belongs to: the commitment to its VIN (section 4), hex. */
  vehicle: string;
  /** The unit this one replaced in its vehicle (8.2.2), hex. */
  predecessor: string | null;
  /** The unit that replaced this one: this unit is retired, the vehicle's record continues there. Hex. */
  successor: string | null;
  /** A registrar's ownership recovery waiting for its time, if any (at 352). */
  pendingRecovery: PendingRecovery | null;
  history: Accumulator;
  /** The 442 bytes it was decoded from. */
  encoded: Uint8Array;
}

function opt<T>(r: Reader, read: () => T, isZero: (v: T) => boolean): T | null {
  const present = r.bool();
  const v = read();
  if (!present && !isZero(v)) r.fail('invalid_field');
  return present ? v : null;
}

const zeros = (b: Uint8Array) => b.every((x) => x === 0);

/** Decodes a leaf; only the canonical encoding is accepted (absent fields all zeros). */
export function decodeLeaf(bytes: Uint8Array): DeviceLeaf {
  const r = new Reader(bytes, 'leaf');
  if (r.u8() !== LEAF_VERSION) r.fail('unsupported_version');
  const deviceId = toHex(r.take(16));
  const model = r.u32();
  const key = toHex(r.take(32));
  const revoked = r.bool();
  const openTampers = r.u32();
  const lastCounter = r.optU64();
  const owner = opt(r, () => r.take(32), zeros);
  const ownershipSequence = r.optU64();
  const era = r.u32();
  const attested = r.u64();
  const attestedRef = () =>
    opt(
      r,
      () => ({ counter: r.u64(), commitment: r.take(32), inputIndex: r.u64() }),
      (h) => h.counter === 0n && zeros(h.commitment) && h.inputIndex === 0n,
    );
  const highest = attestedRef();
  const first = attestedRef();
  const tamperEvents = r.u32();
  const latestTamper = opt(
    r,
    () => ({ counter: r.u64(), referenceCounter: r.u64(), inputIndex: r.u64() }),
    (t) => t.counter === 0n && t.referenceCounter === 0n && t.inputIndex === 0n,
  );
  const corrections = r.u32();
  const latestCorrection = opt(
    r,
    () => ({ counter: r.u64(), inputIndex: r.u64() }),
    (c) => c.counter === 0n && c.inputIndex === 0n,
  );
  const correctedBaseline = opt(
    r,
    () => ({ odometerM: r.u64(), inputIndex: r.u64() }),
    (b) => b.odometerM === 0n && b.inputIndex === 0n,
  );
  const vehicle = toHex(r.take(32));
  const predecessor = opt(r, () => r.take(16), zeros);
  const successor = opt(r, () => r.take(16), zeros);
  const pendingRecovery = opt(
    r,
    () => ({ owner: r.take(32), effectiveAt: r.u64() }),
    (p) => zeros(p.owner) && p.effectiveAt === 0n,
  );
  const count = r.u64();
  const root = toHex(r.take(32));
  const lastInput = r.optU64();
  r.finish();
  return {
    deviceId,
    model,
    key,
    revoked,
    openTampers,
    flagged: openTampers > 0,
    lastCounter,
    owner: owner ? toHex(owner) : null,
    ownershipSequence,
    era,
    attested,
    highest: highest ? { counter: highest.counter, commitment: toHex(highest.commitment), inputIndex: highest.inputIndex } : null,
    first: first ? { counter: first.counter, commitment: toHex(first.commitment), inputIndex: first.inputIndex } : null,
    tamperEvents,
    latestTamper,
    corrections,
    latestCorrection,
    correctedBaseline,
    vehicle,
    predecessor: predecessor ? toHex(predecessor) : null,
    successor: successor ? toHex(successor) : null,
    pendingRecovery: pendingRecovery ? { owner: toHex(pendingRecovery.owner), effectiveAt: pendingRecovery.effectiveAt } : null,
    history: { count, root, lastInput },
    encoded: bytes.slice(),
  };
}

/**
 * The input at which a unit replaced its predecessor (8.2.2), when its leaf still tells it: a
 * replacement sets the new unit's corrected baseline, recorded at the replacement's input, and
 * only a correction could have set it since (then the latest correction is at or after it).
 */
export function replacementInput(leaf: {
  predecessor: string | null;
  correctedBaseline: { inputIndex: bigint | number } | null;
  latestCorrection: { inputIndex: bigint | number } | null;
}): bigint | undefined {
  const b = leaf.correctedBaseline;
  if (leaf.predecessor === null || !b) return undefined;
  if (leaf.latestCorrection && BigInt(leaf.latestCorrection.inputIndex) >= BigInt(b.inputIndex)) return undefined;
  return BigInt(b.inputIndex);
}

/** The fields a leaf is encoded from: `encoded` and the derived `flagged` are not read. */
export type LeafFields = Omit<DeviceLeaf, 'encoded' | 'flagged'>;

/** The leaf's canonical encoding (16.2), from its decoded fields. */
export function encodeLeaf(leaf: LeafFields): Uint8Array {
  const u8 = (v: number) => new Uint8Array([v]);
  const flag = (b: boolean) => u8(b ? 1 : 0);
  const optU64 = (v: bigint | null) => concatBytes(flag(v !== null), u64be(v ?? 0n));
  const bytesOf = (hex: string, n: number, what: string) => {
    const b = fromHex(hex);
    if (b.length !== n) throw new DecodeError('invalid_field', what);
    return b;
  };
  const attested = (a: AttestedRef | null) =>
    concatBytes(flag(a !== null), u64be(a?.counter ?? 0n), a ? bytesOf(a.commitment, 32, 'commitment') : new Uint8Array(32), u64be(a?.inputIndex ?? 0n));
  const unit = (id: string | null, what: string) => concatBytes(flag(id !== null), id !== null ? bytesOf(id, 16, what) : new Uint8Array(16));
  const t = leaf.latestTamper;
  const c = leaf.latestCorrection;
  const b = leaf.correctedBaseline;
  const p = leaf.pendingRecovery;
  return concatBytes(
    u8(LEAF_VERSION),
    bytesOf(leaf.deviceId, 16, 'device id'),
    u32be(leaf.model),
    bytesOf(leaf.key, 32, 'device key'),
    flag(leaf.revoked),
    u32be(leaf.openTampers),
    optU64(leaf.lastCounter),
    flag(leaf.owner !== null),
    leaf.owner !== null ? bytesOf(leaf.owner, 32, 'owner key') : new Uint8Array(32),
    optU64(leaf.ownershipSequence),
    u32be(leaf.era),
    u64be(leaf.attested),
    attested(leaf.highest),
    attested(leaf.first),
    u32be(leaf.tamperEvents),
    concatBytes(flag(t !== null), u64be(t?.counter ?? 0n), u64be(t?.referenceCounter ?? 0n), u64be(t?.inputIndex ?? 0n)),
    u32be(leaf.corrections),
    concatBytes(flag(c !== null), u64be(c?.counter ?? 0n), u64be(c?.inputIndex ?? 0n)),
    concatBytes(flag(b !== null), u64be(b?.odometerM ?? 0n), u64be(b?.inputIndex ?? 0n)),
    bytesOf(leaf.vehicle, 32, 'vehicle id'),
    unit(leaf.predecessor, 'predecessor'),
    unit(leaf.successor, 'successor'),
    concatBytes(flag(p !== null), p ? bytesOf(p.owner, 32, 'recovery owner key') : new Uint8Array(32), u64be(p?.effectiveAt ?? 0n)),
    u64be(leaf.history.count),
    bytesOf(leaf.history.root, 32, 'history root'),
    optU64(leaf.history.lastInput),
  );
}

/** `SHA-256("witness/v2/leaf" ‖ leaf)`, over the leaf's encoding. */
export function leafHash(encoded: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_TAG, encoded));
}

/** `SHA-256("witness/v2/map-node" ‖ left ‖ right)`. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_TAG, left, right));
}

/** Bit `index` (0 = most significant bit of byte 0) of a 16-byte key. */
export function keyBit(key: Uint8Array, index: number): boolean {
  return (((key[index >> 3] as number) >> (7 - (index & 7))) & 1) === 1;
}

export interface MapProof {
  /** Sibling hashes top-down (depth 1 first); the length is the terminal's depth. */
  siblings: Uint8Array[];
  /** `null`: an empty subtree. */
  leaf: DeviceLeaf | null;
}

/** Decodes a map proof (16.3); only the canonical encoding is accepted. */
export function decodeMapProof(bytes: Uint8Array): MapProof {
  const r = new Reader(bytes, 'map proof');
  if (r.u8() !== MAP_PROOF_VERSION) r.fail('unsupported_version');
  const hasLeaf = r.bool();
  const depth = r.u8();
  if (depth > KEY_BITS) r.fail('oversize');
  const bitmap = r.take(16);
  // The bitmap is checked whole before any sibling is read.
  for (let i = depth; i < KEY_BITS; i++) if (keyBit(bitmap, i)) r.fail('invalid_field');
  const siblings: Uint8Array[] = [];
  for (let i = 0; i < depth; i++) {
    if (!keyBit(bitmap, i)) {
      siblings.push(EMPTY_HASH);
      continue;
    }
    const sibling = r.take(32);
    // A set bit names a non-EMPTY sibling: EMPTY is only ever encoded by a clear bit.
    if (sibling.every((b) => b === 0)) r.fail('invalid_field');
    siblings.push(sibling);
  }
  let leaf: DeviceLeaf | null = null;
  if (hasLeaf) {
    const encoded = r.take(LEAF_LEN);
    leaf = decodeLeaf(encoded);
  }
  r.finish();
  return { siblings, leaf };
}

export type MapProofOutcome =
  | { ok: true; member: true; leaf: DeviceLeaf }
  | { ok: true; member: false }
  | { ok: false; code: string; detail: string };

/**
 * Checks a proof for `deviceId` (32 hex digits) against `root`: the device's leaf, proven
 * absent, or why not (`wrong_prefix`, `root_mismatch`, or a decoding code).
 */
export function verifyMapProof(proof: MapProof | Uint8Array, deviceId: string, root: Uint8Array): MapProofOutcome {
  let p: MapProof;
  try {
    p = proof instanceof Uint8Array ? decodeMapProof(proof) : proof;
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, code: e.code, detail: e.message };
    throw e;
  }
  const key = hexKey(deviceId);
  const depth = p.siblings.length;
  if (depth > KEY_BITS) return { ok: false, code: 'oversize', detail: 'the path is deeper than 128' };
  let h: Uint8Array;
  let found: DeviceLeaf | null = null;
  if (!p.leaf) h = EMPTY_HASH;
  else if (p.leaf.deviceId === toHex(key)) {
    h = leafHash(p.leaf.encoded);
    found = p.leaf;
  } else {
    const other = hexKey(p.leaf.deviceId);
    for (let i = 0; i < depth; i++) {
      if (keyBit(other, i) !== keyBit(key, i)) {
        return { ok: false, code: 'wrong_prefix', detail: `the path ends in device ${p.leaf.deviceId}, which does not share the path's prefix` };
      }
    }
    h = leafHash(p.leaf.encoded);
  }
  for (let level = depth - 1; level >= 0; level--) {
    const s = p.siblings[level] as Uint8Array;
    h = keyBit(key, level) ? nodeHash(s, h) : nodeHash(h, s);
  }
  if (!equalBytes(h, root)) return { ok: false, code: 'root_mismatch', detail: `the path leads to root ${toHex(h)}, not to ${toHex(root)}` };
  return found ? { ok: true, member: true, leaf: found } : { ok: true, member: false };
}

function hexKey(deviceId: string): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(deviceId)) throw new DecodeError('invalid_field', 'device id');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(deviceId.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** One step of the history accumulator: `SHA-256(tag ‖ root ‖ SHA-256(notice))`. */
export function foldNotice(root: Uint8Array, notice: Uint8Array): Uint8Array {
  return sha256(concatBytes(HISTORY_TAG, root, sha256(notice)));
}

/** Folds notices (whole payloads, in emission order) from the empty accumulator. */
export function foldAll(notices: Uint8Array[]): { count: number; root: string } {
  let root: Uint8Array = EMPTY_HASH;
  for (const n of notices) root = foldNotice(root, n);
  return { count: notices.length, root: toHex(root) };
}
