/**
 * Mileage certificates (docs/PROTOCOL.md section 18): one device's proven state as of an
 * accepted claim, with the readings its owner discloses, checkable offline by anyone holding
 * the bytes and the trust anchors. The twin of `witness_protocol::certificate`; checked
 * against the `certificate` vectors of docs/protocol-vectors.json.
 *
 * - {@link decodeCertificate} / {@link encodeCertificate}: the strict binary format (18.2).
 * - {@link verifyCertificateOffline}: every proof it carries, in the order of 18.4 (the
 *   vehicle's VIN and earlier units of steps 5a-5b; for a full one, the corrected record of
 *   step 7a too), first failure reported as a {@link CertificateError} with the stable code of 18.5.
 * - {@link checkCertificateOnL1}: what only L1 can tell (is the outputs root accepted, are
 *   there later claims).
 * - {@link certificateToText} / {@link certificateFromInput}: the text form (18.6).
 * - {@link buildCertificate} / {@link issueCertificate}: issuance, from parts or from the
 *   chain, a node, the owner's era keys and the device's local link.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { HistoryKeys } from './api';
import { DecodeError, Reader } from './codec';
import { concatBytes, equalBytes, fromHex, toHex, u32be, u64be, utf8 } from './hex';
import { acceptedClaimsAfter, checkAnchors, claimAcceptedFilter, decodeClaimAcceptedLog, ethRpc, latestAcceptedClaim, normalizeAddress, type AcceptedClaim, type RpcLog, type ScanOptions } from './l1';
import { requestOpening as localLinkOpening } from './localLink';
import {
  decodeHistoryNotice,
  decodeNoticeOutput,
  decodeOpenedHistoryNotice,
  decodeStateNotice,
  encodeNoticeOutput,
  encodeOpenedHistoryNotice,
  encodeStateNotice,
  keyFor,
  openHistoryValues,
  commitReading,
  readStandalone,
  STATE_NOTICE_LEN,
  type Correction,
  type EnvelopeValues,
  type HistoryEntry,
  type HistoryNotice,
  type OpenedValue,
  type StateNotice,
} from './notices';
import { commitmentOf, encodeReading, type Opening, type Reading } from './protocol';
import { decodeMapProof, foldAll, KEY_BITS, LEAF_LEN, verifyMapProof, type AttestedRef, type DeviceLeaf } from './state';
import { isVin, opensVehicle, VIN_LEN, type VehicleIdentity } from './vehicle';
import { checkAccumulator, decodeListed, fetchAllNotices, noticesFromNode, type ListedNotice, type NoticesFetch } from './history';
import { proveDevice, type OnStep, type VerifyIO } from './verify';

// ---- constants ----

/** The first four bytes of every certificate (ASCII `WTNC`). */
export const CERTIFICATE_MAGIC = utf8('WTNC');
/** The certificate format version this implementation reads and writes. */
export const CERTIFICATE_VERSION = 1;
/** Height of the Cartesi v2 outputs Merkle tree. */
export const OUTPUTS_TREE_HEIGHT = 63;
/** Largest map proof (version, terminal, depth, bitmap, 128 siblings, a leaf). */
export const MAX_MAP_PROOF_LEN = 19 + 32 * KEY_BITS + LEAF_LEN;
/** Largest opening (7.4): 77 bytes and 32 fault codes. */
export const MAX_OPENING_LEN = 77 + 2 * 32;
/** Largest history notice a full certificate carries, in either form (the machine's 2 MiB output buffer). */
export const MAX_NOTICE_LEN = 2 * 1024 * 1024;
/** Smallest odometer key entry: era u32 ‖ key 32 (the bound of its count, section 2). */
export const MIN_ODOMETER_KEY_LEN = 36;
/** Most earlier units a certificate carries (18.2; a car has its unit replaced a few times). */
export const MAX_EARLIER_UNITS = 16;
/** Smallest earlier-unit item: its length and a map proof's first byte (the bound of its count). */
export const MIN_EARLIER_UNIT_LEN = 2;
/** Smallest notice item (18.2): form, length, and a notice's version and kind. */
export const MIN_CERT_NOTICE_LEN = 4;
/** What a certificate cannot know offline, by stable code (18.4). */
export const CANNOT_KNOW_OFFLINE = ['outputs_root_accepted', 'later_claims'] as const;
/** Text form armour (18.6). */
export const TEXT_BEGIN = '-----BEGIN WITNESS CERTIFICATE-----';
export const TEXT_END = '-----END WITNESS CERTIFICATE-----';

/** The refusal codes of 18.5 (decoding, then verifying), and `history_key_mismatch`. */
export const CERTIFICATE_CODES = [
  'not_a_certificate',
  'unsupported_version',
  'truncated',
  'trailing_bytes',
  'invalid_field',
  'oversize',
  'non_canonical_varint',
  'chain_mismatch',
  'application_mismatch',
  'consensus_mismatch',
  'claim_mismatch',
  'outputs_root_mismatch',
  'root_mismatch',
  'wrong_device',
  'opening_missing',
  'wrong_commitment',
  'commitment_mismatch',
  'history_mismatch',
  'history_key_mismatch',
  'vehicle_mismatch',
  'previous_unit',
] as const;

// ---- types ----

export type CertLevel = 'summary' | 'full';

/** The three trust anchors (17.1); addresses lowercase, `0x`-prefixed. */
export interface CertAnchors {
  chainId: number;
  application: string;
  consensus: string;
}

/**
 * Why a certificate is refused: a stable code of 18.5 (decoding codes include those of the
 * embedded objects: `unknown_kind`, `invalid_text`, …) or `history_key_mismatch`.
 */
export class CertificateError extends Error {
  constructor(
    readonly code: string,
    detail?: string,
  ) {
    super(detail ? `${code.replace(/_/g, ' ')}: ${detail}` : code.replace(/_/g, ' '));
    this.name = 'CertificateError';
  }
}

/** The state notice's place in the outputs tree: its index and its 63 siblings, level 0 first. */
export interface OutputProof {
  index: bigint;
  siblings: Uint8Array[];
}

/** The claim a certificate rests on, as L1 records it. */
export interface ClaimRef {
  /** The claim's `lastProcessedBlockNumber`. */
  lastProcessedBlock: bigint;
  /** The block of the `ClaimAccepted` event. */
  claimBlock: bigint;
  /** The claim's outputs root when the issuer wrote it (32 bytes). */
  outputsRoot: Uint8Array | null;
}

/** One history notice of a full certificate: form 0 the published payload, form 1 the opened form (18.2). */
export type CertNotice = { form: 0; payload: Uint8Array } | { form: 1; opened: Uint8Array };

/** An era whose sealed notices' dated odometer values the certificate discloses. */
export interface OdometerKey {
  era: number;
  /** `K_odo(era)`, 32 bytes. */
  key: Uint8Array;
}

/** A decoded certificate (18.2). */
export interface Certificate {
  level: CertLevel;
  /** The anchors it names (the chain id is a u64 on the wire). */
  anchors: { chainId: bigint; application: string; consensus: string };
  /** Hex. */
  deviceId: string;
  claim: ClaimRef;
  /** The state notice (16.5). */
  state: StateNotice;
  outputProof: OutputProof;
  /** The map proof (16.3), its canonical bytes (checked when decoded and encoded). */
  mapProof: Uint8Array;
  highest: Opening | null;
  first: Opening | null;
  /** The vehicle's VIN and salt, when the seller discloses them (5a: they must open the leaf's vehicle id). */
  vehicle: VehicleIdentity | null;
  /** The map proofs (16.3) of the vehicle's earlier units, newest first, canonical bytes (5b). */
  earlierUnits: Uint8Array[];
  /** Full only: by era strictly ascending. */
  odometerKeys: OdometerKey[];
  /** Full only: every history notice of the device, in accumulator order. */
  notices: CertNotice[];
}

/** A reading the certificate proves in full, with its date (its device timestamp). */
export interface ProvenReading {
  counter: bigint;
  reading: Reading;
  /** Recorded as a rollback (full level only; the highest and first attested never are). */
  rollback: boolean;
}

/** A dated odometer value a full certificate discloses with an era's odometer key. */
export interface DatedOdometer {
  counter: bigint;
  /** UTC day: `timestamp div 86,400`. */
  day: number;
  odometerM: bigint;
  rollback: boolean;
}

/** A registrar's correction in the history a full certificate proves (18.4 step 7a). */
export interface RecordedCorrection {
  /** The input that recorded it. */
  inputIndex: bigint;
  /** The registrar that signed it, hex. */
  registrar: string;
  /** It cleared the rollback recorded at its counter. */
  cleared: boolean;
  /** What it says, as signed. */
  correction: Correction;
}

/** What a certificate proves offline, and what it cannot know (18.4). */
export interface CertificateFindings {
  level: CertLevel;
  /** The anchors it names (equal to the pinned ones when they were given). */
  anchors: CertAnchors;
  anchorsPinned: boolean;
  /** Hex. */
  deviceId: string;
  /** The claim's lastProcessedBlockNumber. */
  asOfBlock: number;
  /** The claim's block (the ClaimAccepted event's), as the certificate names it. */
  claimBlock: number;
  /** The input whose state notice the certificate carries. */
  inputIndex: bigint;
  /** That input's block time (s). */
  blockTimestamp: number;
  /** The outputs root L1 must have accepted, hex (no `0x`). */
  outputsRoot: string;
  /** The state notice's output index (for `validateOutput`). */
  outputIndex: bigint;
  /** The proven leaf. */
  leaf: DeviceLeaf;
  /** The VIN, when the certificate discloses it: it opens the leaf's vehicle commitment (5a). */
  vin: string | null;
  /**
   * The vehicle's earlier units, newest first, proven against the same state notice and linked
   * to the leaf (5b): the vehicle's record is theirs and the leaf's.
   */
  earlierUnits: DeviceLeaf[];
  highest?: ProvenReading;
  first?: ProvenReading;
  /** Full: every reading of the opened notices, proven by its commitment, by counter. */
  disclosed: ProvenReading[];
  /** Full: the readings of sealed notices opened with their era's odometer key, by counter. */
  odometerOnly: DatedOdometer[];
  /** Full: counters of the other readings on record, ascending. */
  undisclosed: bigint[];
  /** Full: history notices proven complete against the leaf's accumulator. */
  notices: number;
  /**
   * Full: the registrar corrections on record, oldest first. The rollbacks the history
   * records, less those the corrections cleared, are the leaf's open ones (checked).
   */
  corrections: RecordedCorrection[];
  /** What only L1 can tell (codes of {@link CANNOT_KNOW_OFFLINE}). */
  cannotKnow: string[];
}

// ---- the outputs tree ----

let zeroCache: Uint8Array[] | undefined;

/** `zero[0]` = 32 zero bytes, `zero[k+1] = keccak256(zero[k] ‖ zero[k])`. */
export function zeroHashes(): Uint8Array[] {
  if (!zeroCache) {
    const z: Uint8Array[] = [new Uint8Array(32)];
    for (let k = 1; k < OUTPUTS_TREE_HEIGHT; k++) z.push(keccak_256(concatBytes(z[k - 1] as Uint8Array, z[k - 1] as Uint8Array)));
    zeroCache = z;
  }
  return zeroCache;
}

/** The root `output` (ABI-encoded) folds to with `proof`. */
export function outputProofRoot(output: Uint8Array, proof: OutputProof): Uint8Array {
  let hash = keccak_256(output);
  proof.siblings.forEach((s, level) => {
    hash = ((proof.index >> BigInt(level)) & 1n) === 1n ? keccak_256(concatBytes(s, hash)) : keccak_256(concatBytes(hash, s));
  });
  return hash;
}

// ---- helpers ----

const U63 = 1n << 63n;

function fail(code: string, detail?: string): never {
  throw new CertificateError(code, detail);
}

/** Runs a decoder; its `DecodeError` becomes a `CertificateError` with the same code. */
function coded<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DecodeError) throw new CertificateError(e.code, e.message);
    throw e;
  }
}

/** A bounded count of section 2 read as a u64 (as Rust's `count(usize::MAX, k)`: a huge count is `truncated`). */
function countOf(r: Reader, minItem: number): number {
  const c = r.varint();
  if (c * BigInt(minItem) > BigInt(r.remaining)) r.fail('truncated');
  return Number(c);
}

function bytes32(v: string | Uint8Array, what: string): Uint8Array {
  const b = typeof v === 'string' ? fromHex(v) : v;
  if (b.length !== 32) fail('invalid_field', `${what} is not 32 bytes`);
  return b;
}

function address(text: string, what: string): Uint8Array {
  try {
    return fromHex(normalizeAddress(text));
  } catch {
    return fail('invalid_field', `${what} is not an address`);
  }
}

/** An opening (7.4), decoded on its own with the protocol's codes. */
export function decodeOpeningStrict(bytes: Uint8Array): Opening {
  return coded(() => {
    const r = new Reader(bytes, 'opening');
    const deviceId = toHex(r.take(16));
    const counter = r.u64();
    const blinding = r.take(32);
    const { reading, bytes: readingBytes } = readStandalone(r);
    r.finish();
    return { deviceId, counter, blinding, reading, readingBytes };
  });
}

export function encodeOpening(o: Opening): Uint8Array {
  return concatBytes(fromHex(o.deviceId), u64be(o.counter), o.blinding, o.readingBytes);
}

function varBytes(b: Uint8Array): Uint8Array {
  return concatBytes(varint(BigInt(b.length)), b);
}

function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = v;
  do {
    const low = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x > 0n ? low | 0x80 : low);
  } while (x > 0n);
  return new Uint8Array(out);
}

const levelByte = (l: CertLevel) => (l === 'summary' ? 1 : 2);

// ---- encoding ----

/**
 * The binary certificate (18.2). Refuses what cannot be written (`invalid_field`, `oversize`:
 * a bad length, keys out of order, notices in a summary, a map proof that does not decode);
 * the notices' bytes are written as given (the decoder checks them).
 */
export function encodeCertificate(cert: Certificate): Uint8Array {
  const parts: Uint8Array[] = [CERTIFICATE_MAGIC, new Uint8Array([CERTIFICATE_VERSION, levelByte(cert.level)])];
  parts.push(u64be(cert.anchors.chainId), address(cert.anchors.application, 'application'), address(cert.anchors.consensus, 'consensus'));
  const device = fromHex(cert.deviceId);
  if (device.length !== 16) fail('invalid_field', 'the device id is not 16 bytes');
  parts.push(device);
  const root = cert.claim.outputsRoot;
  parts.push(u64be(cert.claim.lastProcessedBlock), u64be(cert.claim.claimBlock), new Uint8Array([root ? 1 : 0]), root ? bytes32(root, 'outputs root') : new Uint8Array(32));
  parts.push(coded(() => encodeStateNotice(cert.state)));
  // Output proof: index, bitmap of the siblings that differ from the empty subtree, those siblings.
  const { index, siblings } = cert.outputProof;
  if (index < 0n || index >= U63) fail('invalid_field', 'the output index is not below 2^63');
  if (siblings.length !== OUTPUTS_TREE_HEIGHT) fail('invalid_field', `the output proof has ${siblings.length} siblings, not 63`);
  const zero = zeroHashes();
  let bitmap = 0n;
  const set: Uint8Array[] = [];
  siblings.forEach((s, level) => {
    bytes32(s, 'a sibling');
    if (!equalBytes(s, zero[level] as Uint8Array)) {
      bitmap |= 1n << BigInt(level);
      set.push(s);
    }
  });
  parts.push(u64be(index), u64be(bitmap), ...set);
  if (cert.mapProof.length > MAX_MAP_PROOF_LEN) fail('oversize', 'the map proof is too long');
  coded(() => decodeMapProof(cert.mapProof));
  parts.push(varBytes(cert.mapProof));
  for (const opening of [cert.highest, cert.first]) {
    if (!opening) {
      parts.push(new Uint8Array([0]));
      continue;
    }
    const b = encodeOpening(opening);
    if (b.length > MAX_OPENING_LEN) fail('oversize', 'an opening is too long');
    parts.push(new Uint8Array([1]), varBytes(b));
  }
  if (cert.vehicle) {
    const vin = utf8(cert.vehicle.vin);
    if (vin.length !== VIN_LEN || !isVin(cert.vehicle.vin)) fail('invalid_field', 'not a VIN of ISO 3779');
    parts.push(new Uint8Array([1]), vin, bytes32(cert.vehicle.salt, 'the vehicle salt'));
  } else {
    parts.push(new Uint8Array([0]));
  }
  if (cert.earlierUnits.length > MAX_EARLIER_UNITS) fail('oversize', `more than ${MAX_EARLIER_UNITS} earlier units`);
  parts.push(varint(BigInt(cert.earlierUnits.length)));
  for (const proof of cert.earlierUnits) {
    if (proof.length > MAX_MAP_PROOF_LEN) fail('oversize', "an earlier unit's map proof is too long");
    coded(() => decodeMapProof(proof));
    parts.push(varBytes(proof));
  }
  if (cert.level === 'full') {
    cert.odometerKeys.forEach((k, i) => {
      const prev = cert.odometerKeys[i - 1];
      if (prev && prev.era >= k.era) fail('invalid_field', 'the odometer keys are not by era strictly ascending');
    });
    parts.push(varint(BigInt(cert.odometerKeys.length)));
    for (const k of cert.odometerKeys) parts.push(u32be(k.era), bytes32(k.key, 'an odometer key'));
    parts.push(varint(BigInt(cert.notices.length)));
    for (const n of cert.notices) {
      const b = n.form === 0 ? n.payload : n.opened;
      if (b.length > MAX_NOTICE_LEN) fail('oversize', 'a notice is too long');
      parts.push(new Uint8Array([n.form]), varBytes(b));
    }
  } else if (cert.notices.length || cert.odometerKeys.length) {
    fail('invalid_field', 'a summary carries no notices and no keys');
  }
  return concatBytes(...parts);
}

// ---- decoding ----

/** A notice of a full certificate as decoded in step 1 (form 1 rebuilt). */
type DecodedNotice = { form: 0; notice: HistoryNotice } | { form: 1; notice: HistoryNotice; envelopes: EnvelopeValues[] };

/** Decodes a certificate (18.2); only the canonical encoding is accepted. Throws {@link CertificateError}. */
export function decodeCertificate(bytes: Uint8Array): Certificate {
  return decodeParts(bytes).cert;
}

function decodeParts(bytes: Uint8Array): { cert: Certificate; decoded: DecodedNotice[] } {
  const head = bytes.slice(0, 4);
  if (!equalBytes(head, CERTIFICATE_MAGIC)) {
    // Fewer than 4 bytes that begin the magic: cut short, not something else.
    if (head.length < 4 && equalBytes(head, CERTIFICATE_MAGIC.slice(0, head.length))) fail('truncated', 'the certificate is cut short');
    fail('not_a_certificate', 'the bytes do not start with WTNC');
  }
  return coded(() => {
    const r = new Reader(bytes, 'certificate');
    r.take(4);
    if (r.u8() !== CERTIFICATE_VERSION) r.fail('unsupported_version');
    const lv = r.u8();
    if (lv !== 1 && lv !== 2) r.fail('invalid_field');
    const level: CertLevel = lv === 1 ? 'summary' : 'full';
    const anchors = { chainId: r.u64(), application: '0x' + toHex(r.take(20)), consensus: '0x' + toHex(r.take(20)) };
    const deviceId = toHex(r.take(16));
    const lastProcessedBlock = r.u64();
    const claimBlock = r.u64();
    const hasRoot = r.bool();
    const root = r.take(32);
    if (!hasRoot && root.some((b) => b !== 0)) r.fail('invalid_field');
    const state = decodeStateNotice(r.take(STATE_NOTICE_LEN));
    const index = r.u64();
    if (index >= U63) r.fail('invalid_field');
    const bitmap = r.u64();
    if (bitmap >= U63) r.fail('invalid_field');
    const zero = zeroHashes();
    const siblings: Uint8Array[] = [];
    for (let level = 0; level < OUTPUTS_TREE_HEIGHT; level++) {
      if (((bitmap >> BigInt(level)) & 1n) === 0n) {
        siblings.push(zero[level] as Uint8Array);
        continue;
      }
      const s = r.take(32);
      // A canonical empty subtree is written as a clear bit only.
      if (equalBytes(s, zero[level] as Uint8Array)) r.fail('invalid_field');
      siblings.push(s);
    }
    const mapProof = r.varBytes(MAX_MAP_PROOF_LEN);
    decodeMapProof(mapProof);
    const opening = (): Opening | null => {
      if (!r.bool()) return null;
      const b = r.varBytes(MAX_OPENING_LEN);
      try {
        return decodeOpeningStrict(b);
      } catch (e) {
        if (e instanceof CertificateError) throw new DecodeError(e.code, 'opening');
        throw e;
      }
    };
    const highest = opening();
    const first = opening();
    let vehicle: VehicleIdentity | null = null;
    if (r.bool()) {
      let vin: string;
      try {
        // A leading byte-order mark is part of the VIN's bytes, not skipped.
        vin = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(r.take(VIN_LEN));
      } catch (e) {
        if (e instanceof DecodeError) throw e;
        return r.fail('invalid_text');
      }
      const salt = r.take(32);
      // A VIN outside ISO 3779 is refused when it is read, as everywhere (PROTOCOL.md 4, 18.2).
      if (!isVin(vin)) return r.fail('invalid_field');
      vehicle = { vin, salt };
    }
    const earlierUnits: Uint8Array[] = [];
    const units = r.count(MAX_EARLIER_UNITS, MIN_EARLIER_UNIT_LEN);
    for (let i = 0; i < units; i++) {
      const proof = r.varBytes(MAX_MAP_PROOF_LEN);
      decodeMapProof(proof);
      earlierUnits.push(proof);
    }
    const odometerKeys: OdometerKey[] = [];
    const notices: CertNotice[] = [];
    const decoded: DecodedNotice[] = [];
    if (level === 'full') {
      const keys = countOf(r, MIN_ODOMETER_KEY_LEN);
      for (let i = 0; i < keys; i++) {
        const key = { era: r.u32(), key: r.take(32) };
        const last = odometerKeys[odometerKeys.length - 1];
        if (last && last.era >= key.era) r.fail('invalid_field');
        odometerKeys.push(key);
      }
      const count = countOf(r, MIN_CERT_NOTICE_LEN);
      for (let i = 0; i < count; i++) {
        // The form is checked as soon as it is read; each notice is decoded in its form.
        const form = r.u8();
        if (form > 1) r.fail('invalid_field');
        const b = r.varBytes(MAX_NOTICE_LEN);
        if (form === 0) {
          decoded.push({ form: 0, notice: decodeHistoryNotice(b) });
          notices.push({ form: 0, payload: b });
        } else {
          decoded.push({ form: 1, ...decodeOpenedHistoryNotice(b) });
          notices.push({ form: 1, opened: b });
        }
      }
    }
    r.finish();
    const cert: Certificate = {
      level,
      anchors,
      deviceId,
      claim: { lastProcessedBlock, claimBlock, outputsRoot: hasRoot ? root : null },
      state,
      outputProof: { index, siblings },
      mapProof,
      highest,
      first,
      vehicle,
      earlierUnits,
      odometerKeys,
      notices,
    };
    return { cert, decoded };
  });
}

// ---- offline verification ----

function checkNamed(named: AttestedRef | null, opening: Opening | null, deviceId: string, what: string): ProvenReading | undefined {
  if (!named) {
    if (opening) fail('wrong_commitment', `the leaf names no ${what} attested reading, yet an opening is given`);
    return undefined;
  }
  if (!opening) fail('opening_missing', `the leaf names the ${what} attested reading (counter ${named.counter}) and no opening is given`);
  if (opening.deviceId !== deviceId || opening.counter !== named.counter) {
    fail('wrong_commitment', `the ${what} opening is for device ${opening.deviceId} counter ${opening.counter}, the leaf names counter ${named.counter}`);
  }
  if (commitmentOf(opening) !== named.commitment) fail('commitment_mismatch', `the ${what} reading (counter ${named.counter}) does not match its commitment`);
  return { counter: opening.counter, reading: opening.reading, rollback: false };
}

type ReadingEntry = Extract<HistoryEntry, { kind: 'reading' }>;
const readingEntries = (n: HistoryNotice): ReadingEntry[] => n.entries.filter((e): e is ReadingEntry => e.kind === 'reading');
const byCounter = <T extends { counter: bigint }>(a: T, b: T) => (a.counter < b.counter ? -1 : a.counter > b.counter ? 1 : 0);

/** Decodes `bytes` and checks every proof it carries, in the order of 18.4. Throws {@link CertificateError}. */
export function verifyCertificateOffline(bytes: Uint8Array, pinned?: CertAnchors): CertificateFindings {
  // 1. decode (every notice too, form 1 rebuilt)
  const { cert, decoded } = decodeParts(bytes);
  // 2. pinned anchors
  if (pinned) {
    if (cert.anchors.chainId !== BigInt(pinned.chainId)) fail('chain_mismatch', `the certificate is for chain ${cert.anchors.chainId}, the pinned chain is ${pinned.chainId}`);
    if (!equalBytes(fromHex(cert.anchors.application), address(pinned.application, 'the pinned application'))) {
      fail('application_mismatch', `the certificate names application ${cert.anchors.application}, the pinned one is ${pinned.application.toLowerCase()}`);
    }
    if (!equalBytes(fromHex(cert.anchors.consensus), address(pinned.consensus, 'the pinned consensus'))) {
      fail('consensus_mismatch', `the certificate names consensus ${cert.anchors.consensus}, the pinned one is ${pinned.consensus.toLowerCase()}`);
    }
  }
  // 3. the claim covers the state notice
  const state = cert.state;
  if (state.blockNumber > cert.claim.lastProcessedBlock || cert.claim.lastProcessedBlock > cert.claim.claimBlock) {
    fail('claim_mismatch', `state notice block ${state.blockNumber}, claim up to block ${cert.claim.lastProcessedBlock}, claimed in block ${cert.claim.claimBlock}`);
  }
  // 4. the state notice's output folds to the outputs root
  const outputsRoot = outputProofRoot(encodeNoticeOutput(encodeStateNotice(state)), cert.outputProof);
  if (cert.claim.outputsRoot && !equalBytes(cert.claim.outputsRoot, outputsRoot)) {
    fail('outputs_root_mismatch', `the output proof folds to ${toHex(outputsRoot)}, the claim names ${toHex(cert.claim.outputsRoot)}`);
  }
  // 5. the device's leaf against the state notice's map root
  const outcome = verifyMapProof(coded(() => decodeMapProof(cert.mapProof)), cert.deviceId, fromHex(state.mapRoot));
  if (!outcome.ok) {
    if (outcome.code === 'wrong_prefix') fail('wrong_device', outcome.detail);
    fail(outcome.code, outcome.detail);
  }
  if (!outcome.member) fail('wrong_device', 'the map proof proves the device absent');
  const leaf = outcome.leaf;
  // 5a. the vehicle: a disclosed VIN and salt must open the leaf's vehicle commitment
  let vin: string | null = null;
  if (cert.vehicle) {
    if (!opensVehicle(cert.vehicle, leaf.vehicle)) fail('vehicle_mismatch', `the disclosed VIN ${JSON.stringify(cert.vehicle.vin)} and salt do not open the leaf's vehicle commitment ${leaf.vehicle}`);
    vin = cert.vehicle.vin;
  }
  // 5b. the vehicle's earlier units, link by link, against the same root
  const earlierUnits: DeviceLeaf[] = [];
  let next = leaf.predecessor;
  for (const [k, proof] of cert.earlierUnits.entries()) {
    if (next === null) fail('previous_unit', `earlier unit ${k + 1} is given, but ${k === 0 ? 'the leaf replaced no unit' : `unit ${earlierUnits[k - 1]?.deviceId} replaced none`}`);
    const unit = verifyMapProof(coded(() => decodeMapProof(proof)), next, fromHex(state.mapRoot));
    if (!unit.ok) {
      if (unit.code === 'wrong_prefix') fail('previous_unit', `the proof of earlier unit ${next} ends in another device's leaf`);
      fail(unit.code, `the proof of earlier unit ${next}: ${unit.detail}`);
    }
    if (!unit.member) fail('previous_unit', `the proof of earlier unit ${next} proves it absent`);
    const successor = earlierUnits[earlierUnits.length - 1]?.deviceId ?? leaf.deviceId;
    if (unit.leaf.successor !== successor) fail('previous_unit', `earlier unit ${next} names ${unit.leaf.successor ?? 'no unit'} as its successor, not ${successor}`);
    if (unit.leaf.vehicle !== leaf.vehicle) fail('previous_unit', `earlier unit ${next} belongs to another vehicle`);
    earlierUnits.push(unit.leaf);
    next = unit.leaf.predecessor;
  }
  if (next !== null) fail('previous_unit', `unit ${earlierUnits[earlierUnits.length - 1]?.deviceId ?? leaf.deviceId} replaced unit ${next}, whose proof the certificate does not carry`);
  // 6, 6b. the openings of the readings the leaf names
  const highest = checkNamed(leaf.highest, cert.highest, cert.deviceId, 'highest');
  const first = checkNamed(leaf.first, cert.first, cert.deviceId, 'first');
  const disclosed: ProvenReading[] = [];
  const odometerOnly: DatedOdometer[] = [];
  const undisclosed: bigint[] = [];
  const corrections: RecordedCorrection[] = [];
  if (cert.level === 'full') {
    // 7. every notice the device's, refolded
    const sealed: HistoryNotice[] = [];
    decoded.forEach((d, i) => {
      if (d.notice.deviceId !== cert.deviceId) fail('wrong_device', `notice ${i} is device ${d.notice.deviceId}'s`);
      if (d.form === 0) {
        sealed.push(d.notice);
        return;
      }
      const values = d.envelopes.flatMap((e) => e.readings);
      readingEntries(d.notice).forEach((e, k) => {
        disclosed.push({ counter: e.counter, reading: (values[k] as { reading: Reading }).reading, rollback: e.rollbackOf !== null });
      });
    });
    const folded = decoded.map((d) => d.notice);
    const checked = foldInOrder(folded);
    const acc = leaf.history;
    if (checked.count !== acc.count || checked.root !== acc.root || checked.lastInput !== acc.lastInput) {
      fail('history_mismatch', `the notices refold to ${checked.count} notice(s), root ${checked.root}; the leaf holds ${acc.count}, root ${acc.root}`);
    }
    // 7a. the corrected record: each rollback stays open until a correction clears it
    const open = new Set<bigint>();
    for (const notice of folded) {
      for (const e of notice.entries) {
        if (e.kind === 'reading' && e.rollbackOf !== null) open.add(e.counter);
        if (e.kind !== 'corrected') continue;
        // A correction clears the rollback at its counter exactly when one is open there.
        const wasOpen = open.delete(e.correction.counter);
        if (e.cleared && !wasOpen) {
          fail('history_mismatch', `the correction at input ${notice.inputIndex} says it cleared the rollback at counter ${e.correction.counter}, which the history does not hold open`);
        }
        if (!e.cleared && wasOpen) {
          fail('history_mismatch', `the correction at input ${notice.inputIndex} of counter ${e.correction.counter} says it cleared nothing, yet the history holds a rollback open there (the backend would have cleared it)`);
        }
        corrections.push({ inputIndex: notice.inputIndex, registrar: e.registrar, cleared: e.cleared, correction: e.correction });
      }
    }
    if (open.size !== leaf.openTampers) {
      fail('history_mismatch', `the history leaves ${open.size} rollback(s) uncleared; the leaf counts ${leaf.openTampers} open`);
    }
    // 8. sealed notices of eras whose odometer key is given: dated odometer values
    for (const notice of sealed) {
      const entries = readingEntries(notice);
      if (entries.length === 0) continue;
      const key = cert.odometerKeys.find((k) => k.era === notice.era);
      if (!key) {
        undisclosed.push(...entries.map((e) => e.counter));
        continue;
      }
      let values: OpenedValue[];
      try {
        values = openHistoryValues(notice, key.key);
      } catch (e) {
        // An AEAD failure is a key that is not the era's; a plaintext of the wrong length keeps its code.
        if (e instanceof DecodeError && e.code !== 'decryption_failed') fail(e.code, `the notice of input ${notice.inputIndex}: ${e.message}`);
        return fail('history_key_mismatch', `the odometer key of era ${notice.era} does not open the notice of input ${notice.inputIndex}`);
      }
      entries.forEach((e, k) => {
        const v = values[k] as OpenedValue;
        odometerOnly.push({ counter: e.counter, day: v.day, odometerM: v.odometerM, rollback: e.rollbackOf !== null });
      });
    }
    disclosed.sort(byCounter);
    odometerOnly.sort(byCounter);
    undisclosed.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return {
    level: cert.level,
    anchors: { chainId: Number(cert.anchors.chainId), application: cert.anchors.application, consensus: cert.anchors.consensus },
    anchorsPinned: pinned !== undefined,
    deviceId: cert.deviceId,
    asOfBlock: Number(cert.claim.lastProcessedBlock),
    claimBlock: Number(cert.claim.claimBlock),
    inputIndex: state.inputIndex,
    blockTimestamp: Number(state.blockTimestamp),
    outputsRoot: toHex(outputsRoot),
    outputIndex: cert.outputProof.index,
    leaf,
    vin,
    earlierUnits,
    ...(highest ? { highest } : {}),
    ...(first ? { first } : {}),
    disclosed,
    odometerOnly,
    undisclosed,
    notices: cert.notices.length,
    corrections,
    cannotKnow: [...CANNOT_KNOW_OFFLINE],
  };
}

/** The accumulator (16.4) of `notices` folded in the given order: count, root (hex), last input. */
function foldInOrder(notices: HistoryNotice[]): { count: bigint; root: string; lastInput: bigint | null } {
  const last = notices[notices.length - 1];
  return { count: BigInt(notices.length), root: foldAll(notices.map((n) => n.payload)).root, lastInput: last ? last.inputIndex : null };
}

// ---- on L1 ----

/** `IConsensus.isOutputsMerkleRootValid(address appContract, bytes32 outputsMerkleRoot)`. */
export const IS_OUTPUTS_MERKLE_ROOT_VALID = toHex(keccak_256(utf8('isOutputsMerkleRootValid(address,bytes32)')).slice(0, 4));

/** Asks the consensus whether it accepted `root` (hex) for `app`. */
export async function isOutputsRootAccepted(rpcUrl: string, consensus: string, app: string, root: string): Promise<boolean> {
  const data = '0x' + IS_OUTPUTS_MERKLE_ROOT_VALID + '0'.repeat(24) + normalizeAddress(app).slice(2) + toHex(bytes32(root.replace(/^0x/, ''), 'outputs root'));
  const result = await ethRpc<string>(rpcUrl, 'eth_call', [{ to: normalizeAddress(consensus), data }, 'latest']);
  if (typeof result !== 'string' || result === '0x') throw new Error(`isOutputsMerkleRootValid: no contract code at ${consensus}`);
  const word = fromHex(result);
  if (word.length !== 32 || word.slice(0, 31).some((b) => b !== 0) || (word[31] as number) > 1) throw new Error('isOutputsMerkleRootValid: not an ABI bool');
  return word[31] === 1;
}

export interface L1CertificateCheck {
  /** The certificate's consensus accepted its outputs root for its application. */
  outputsRootAccepted: boolean;
  /** A `ClaimAccepted` event with this root and last processed block is in the certificate's claim block. */
  claimConfirmed: boolean;
  /** `ClaimAccepted` events for the application after the certificate's claim block. */
  laterClaims: number;
  /** The newest of them, when there are any. */
  latestClaim?: AcceptedClaim;
}

/**
 * What only L1 can tell about a certificate that verified offline: the chain and the
 * application's consensus are the certificate's anchors (else it throws), whether the
 * consensus accepted its outputs root, whether its claim event is where it says, and how
 * many claims were accepted since (a later one may show a rollback).
 */
export async function checkCertificateOnL1(findings: CertificateFindings, rpcUrl: string, opts?: ScanOptions): Promise<L1CertificateCheck> {
  const { application, consensus } = findings.anchors;
  await checkAnchors(rpcUrl, findings.anchors);
  const outputsRootAccepted = await isOutputsRootAccepted(rpcUrl, consensus, application, findings.outputsRoot);
  const logs = await ethRpc<RpcLog[]>(rpcUrl, 'eth_getLogs', [claimAcceptedFilter(consensus, application, findings.claimBlock, findings.claimBlock)]);
  const claimConfirmed = logs
    .filter((l) => !l.removed && l.address.toLowerCase() === normalizeAddress(consensus))
    .map(decodeClaimAcceptedLog)
    .some((c) => c.outputsRoot === '0x' + findings.outputsRoot && c.lastProcessedBlock === findings.asOfBlock);
  const laterClaims = await acceptedClaimsAfter(rpcUrl, consensus, application, findings.claimBlock, opts);
  const latestClaim = laterClaims > 0 ? ((await latestAcceptedClaim(rpcUrl, consensus, application, opts)) ?? undefined) : undefined;
  return { outputsRootAccepted, claimConfirmed, laterClaims, ...(latestClaim ? { latestClaim } : {}) };
}

// ---- text form (18.6) ----

function base64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The PEM-like text form: base64 (with padding) in lines of 64 between the BEGIN and END lines. */
export function certificateToText(bytes: Uint8Array): string {
  const b64 = base64(bytes);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return [TEXT_BEGIN, ...lines, TEXT_END].join('\n') + '\n';
}

function unbase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const body = text.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  if (text.length !== body.length && text.length % 4 !== 0) return undefined;
  try {
    const bin = atob(body + '='.repeat((4 - (body.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

const isMagic = (b: Uint8Array | undefined): b is Uint8Array => !!b && b.length >= 4 && equalBytes(b.slice(0, 4), CERTIFICATE_MAGIC);

/**
 * The certificate's bytes from what a person gives: the binary file (starts with `WTNC`),
 * the text form (anywhere in the text, e.g. an e-mail), its bare base64, or hex (whitespace
 * ignored everywhere). A BEGIN line without its END line is `truncated`; anything else
 * `CertificateError('not_a_certificate')`. The bytes are not checked beyond their magic.
 */
export function certificateFromInput(input: string | Uint8Array): Uint8Array {
  if (input instanceof Uint8Array) {
    if (isMagic(input)) return input.slice();
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      return fail('not_a_certificate', 'the file is neither a certificate nor its text form');
    }
    return certificateFromInput(text);
  }
  let text = input.trim();
  if (text.length === 0) fail('not_a_certificate', 'there is nothing to read');
  const begin = text.indexOf(TEXT_BEGIN);
  if (begin >= 0) {
    const end = text.indexOf(TEXT_END, begin + TEXT_BEGIN.length);
    // A paste that lost its end (as witness_protocol::certificate::from_any says).
    if (end < 0) fail('truncated', `the text form is cut short: it has no ${TEXT_END} line`);
    text = text.slice(begin + TEXT_BEGIN.length, end);
  } else if (text.includes(TEXT_END)) {
    fail('not_a_certificate', `the text has no ${TEXT_BEGIN} line`);
  }
  const compact = text.replace(/\s+/g, '');
  if (begin < 0) {
    // Hex of a certificate starts 57544e43 (`WTNC`); its base64 starts `V1ROQ`, never hex.
    const hex = compact.replace(/^0x/i, '');
    if (/^[0-9a-fA-F]+$/.test(hex) && hex.length % 2 === 0) {
      const b = fromHex(hex);
      if (isMagic(b)) return b;
    }
  }
  const b = unbase64(compact);
  if (isMagic(b)) return b;
  return fail('not_a_certificate', begin >= 0 ? 'the text between the BEGIN and END lines is not the base64 of a certificate' : 'the text is not a certificate (text form, base64 or hex)');
}

// ---- issuance from parts ----

/** A notice to carry: form 0 the payload as published; form 1 the payload and its envelopes' values, written opened. */
export type IssueNotice =
  | { form: 0; payload: Uint8Array }
  | {
      form: 1;
      payload: Uint8Array;
      /** Per envelope entry of the notice, in order: its commitment key (7.1) and its readings. */
      envelopes: { commitmentKey: string | Uint8Array; readings: (Reading | Uint8Array)[] }[];
    };

export interface IssueInputs {
  level: CertLevel;
  anchors: CertAnchors;
  /** Hex. */
  deviceId: string;
  claim: {
    lastProcessedBlock: number | bigint;
    claimBlock: number | bigint;
    /** Hex (optionally `0x`), or null/absent to leave it out. */
    outputsRoot?: string | Uint8Array | null;
  };
  /** The state notice payload (16.5, 98 bytes). */
  stateNotice: Uint8Array;
  outputIndex: number | bigint;
  /** The state notice's 63 sibling hashes, level 0 first (as the node gives them). */
  outputSiblings: (string | Uint8Array)[];
  /** The device's map proof (16.3) against the state notice's map root. */
  mapProof: Uint8Array | string;
  /** The opening (7.4) of the leaf's highest attested reading. */
  highest?: Uint8Array | string | null;
  /** The opening of the leaf's first attested reading. */
  first?: Uint8Array | string | null;
  /** The vehicle's VIN and salt (hex or bytes), to disclose them (from the car's papers). */
  vehicle?: { vin: string; salt: string | Uint8Array } | null;
  /** The map proofs of the vehicle's earlier units, newest first (the leaf's predecessor first). */
  earlierUnits?: (Uint8Array | string)[];
  /** Full: odometer keys of the eras whose sealed notices' dated odometer values are disclosed (any order). */
  odometerKeys?: { era: number; key: string | Uint8Array }[];
  /** Full: every notice of the device, in accumulator order. */
  notices?: IssueNotice[];
}

const asBytes = (v: Uint8Array | string) => (typeof v === 'string' ? fromHex(v) : v);

/**
 * Writes a certificate from its parts (form 1 notices are written in the opened form; their
 * values must rebuild the notice's commitments, else `commitment_mismatch` naming the
 * counter). Throws {@link CertificateError}. The result is not verified: see
 * {@link verifyCertificateOffline}.
 */
export function buildCertificate(inputs: IssueInputs): Uint8Array {
  const state = coded(() => decodeStateNotice(inputs.stateNotice));
  const root = inputs.claim.outputsRoot;
  const notices: CertNotice[] = (inputs.notices ?? []).map((n) => {
    if (n.form === 0) return { form: 0, payload: n.payload };
    const envelopes = n.envelopes.map((e) => ({ commitmentKey: bytes32(e.commitmentKey, 'a commitment key'), readings: e.readings }));
    const opened = coded(() => encodeOpenedHistoryNotice(n.payload, envelopes));
    const rebuilt = coded(() => decodeOpenedHistoryNotice(opened)).notice;
    if (!equalBytes(rebuilt.payload, n.payload)) {
      const original = readingEntries(coded(() => decodeHistoryNotice(n.payload)));
      const bad = readingEntries(rebuilt).find((e, k) => e.commitment !== original[k]?.commitment);
      fail('commitment_mismatch', `the values given for reading ${bad?.counter ?? '?'} do not match its commitment`);
    }
    return { form: 1, opened };
  });
  const keys = [...(inputs.odometerKeys ?? [])].map((k) => ({ era: k.era, key: bytes32(k.key, 'an odometer key') })).sort((a, b) => a.era - b.era);
  return encodeCertificate({
    level: inputs.level,
    anchors: { chainId: BigInt(inputs.anchors.chainId), application: inputs.anchors.application, consensus: inputs.anchors.consensus },
    deviceId: inputs.deviceId.toLowerCase(),
    claim: {
      lastProcessedBlock: BigInt(inputs.claim.lastProcessedBlock),
      claimBlock: BigInt(inputs.claim.claimBlock),
      outputsRoot: root === null || root === undefined ? null : bytes32(typeof root === 'string' ? root.replace(/^0x/, '') : root, 'outputs root'),
    },
    state,
    outputProof: { index: BigInt(inputs.outputIndex), siblings: inputs.outputSiblings.map((s) => bytes32(s, 'a sibling')) },
    mapProof: asBytes(inputs.mapProof),
    highest: inputs.highest ? decodeOpeningStrict(asBytes(inputs.highest)) : null,
    first: inputs.first ? decodeOpeningStrict(asBytes(inputs.first)) : null,
    vehicle: inputs.vehicle ? { vin: inputs.vehicle.vin, salt: bytes32(inputs.vehicle.salt, 'the vehicle salt') } : null,
    earlierUnits: (inputs.earlierUnits ?? []).map(asBytes),
    odometerKeys: keys,
    notices,
  });
}

// ---- issuance in the browser ----

/** Why a certificate could not be issued (the proof of the device's state, an opening, the history, …). */
export class IssueError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IssueError';
  }
}

export interface IssueOptions {
  level: CertLevel;
  /** Hex. */
  deviceId: string;
  /** The pinned anchors: the certificate names them. */
  anchors: CertAnchors;
  /** The chain, the node and the device, as the verifier uses them (V1-V7 are run). */
  io: VerifyIO;
  /** The owner's era keys (`fetchHistoryKeys`), if the owner's key is in this browser. */
  keys?: HistoryKeys;
  /**
   * The vehicle's VIN and its salt (64 hex digits, from the car's papers), to disclose them: the
   * buyer compares the VIN with the car's plate. They must open the proven leaf's vehicle id.
   */
  vehicle?: { vin: string; salt: string };
  /** The device's local link: openings the owner's keys cannot give are asked of it. */
  localLinkUrl?: string;
  /** The gateway's list of the device's notices; without it (or when it is incomplete) they are walked back on the node. */
  fetchNotices?: NoticesFetch;
  /**
   * Full level, with `localLinkUrl`: a notice the owner's detail keys do not open is opened
   * by the device (every reading and its envelope's commitment key) and carried opened, as
   * `witness certificate issue` does. Off by default: an earlier owner's trips, fuel and fault
   * codes stay sealed (16.4 gives a new owner only the odometer keys of earlier eras).
   */
  deviceOpensNotices?: boolean;
  onStep?: OnStep;
}

export interface IssueResult {
  bytes: Uint8Array;
  findings: CertificateFindings;
  /** What was left out and why (a key that did not open a notice, …). */
  warnings: string[];
}

type Detail = NonNullable<OpenedValue['detail']>;

/** The opening (7.4) of a reading opened with the detail key. */
function openingFromDetail(deviceId: string, counter: bigint, d: Detail): Uint8Array {
  return concatBytes(fromHex(deviceId), u64be(counter), fromHex(d.blinding), encodeReading(d.reading));
}

/**
 * Issues a certificate in the browser: proves the device's leaf against the latest accepted
 * claim (V1-V7), opens its highest and first attested readings (with the owner's detail key
 * when the reading is in an era it holds, else from the device's local link), and for a
 * full certificate walks the device's notices, checks them against the proven accumulator,
 * and carries each one opened where the owner holds its era's detail key, else sealed (with
 * the era's odometer key when held). The result is verified with
 * {@link verifyCertificateOffline} against `anchors` before it is returned.
 */
export async function issueCertificate(opts: IssueOptions): Promise<IssueResult> {
  const deviceId = opts.deviceId.trim().toLowerCase();
  const warnings: string[] = [];
  const proven = await proveDevice(opts.io, opts.anchors, deviceId, opts.onStep);
  if (!proven.ok) throw new IssueError(proven.finding.code, `The device's state could not be proven: ${proven.finding.detail}`);
  const leaf = proven.leaf;
  if (!leaf) throw new IssueError('unknown_device', 'The proven state has no device with this id: there is nothing to certify.');
  // The vehicle: a disclosed VIN must be the proven leaf's, and every earlier unit must be proven.
  let vehicle: VehicleIdentity | null = null;
  if (opts.vehicle) {
    const vin = opts.vehicle.vin.trim();
    let salt: Uint8Array;
    try {
      salt = fromHex(opts.vehicle.salt.trim().replace(/^0x/i, ''));
    } catch {
      throw new IssueError('invalid_field', 'The vehicle salt is not hexadecimal: it is 64 hexadecimal digits, on the car’s papers.');
    }
    if (salt.length !== 32) throw new IssueError('invalid_field', `The vehicle salt has ${salt.length * 2} hexadecimal digits, not 64.`);
    if (!isVin(vin)) throw new IssueError('invalid_field', `“${vin}” is not a VIN: 17 characters, digits and capital letters except I, O and Q.`);
    if (!opensVehicle({ vin, salt }, leaf.vehicle)) throw new IssueError('vehicle_mismatch', `The VIN ${vin} and this salt do not open the vehicle commitment of the device's proven record: another car's papers, or a mistyped VIN or salt.`);
    vehicle = { vin, salt };
  }
  if (proven.earlierMissing) {
    throw new IssueError(
      'previous_unit',
      `This unit replaced an earlier one in its vehicle, and the node does not prove the earlier unit ${proven.earlierMissing.deviceId} (${proven.earlierMissing.why}): the vehicle's record would be incomplete.`,
    );
  }
  const lastUnit = proven.earlierUnits[proven.earlierUnits.length - 1]?.leaf ?? leaf;
  if (lastUnit.predecessor !== null) {
    throw new IssueError('previous_unit', `The vehicle has more than ${MAX_EARLIER_UNITS} earlier units: a certificate carries at most ${MAX_EARLIER_UNITS}.`);
  }
  const claimRoot = proven.outputsRoot.replace(/^0x/, '').toLowerCase();
  const proofRoot = outputProofRoot(encodeNoticeOutput(encodeStateNotice(proven.state)), { index: BigInt(proven.stateOutputIndex), siblings: proven.stateSiblings.map((s) => fromHex(s)) });
  if (toHex(proofRoot) !== claimRoot) {
    throw new IssueError('outputs_root_mismatch', `The node's proof of the state notice leads to outputs root ${toHex(proofRoot)}, not to the latest claim's ${claimRoot}.`);
  }
  const keys = opts.keys && opts.keys.device_id.toLowerCase() === deviceId ? opts.keys : undefined;
  if (opts.keys && !keys) warnings.push('The history keys given are for another device: they were not used.');
  const odometerKey = (era: number) => (keys ? keyFor(keys.odometer, era) : undefined);
  const detailKey = (era: number) => (keys ? keyFor(keys.detail, era) : undefined);

  /** Readings opened with the owner's detail keys, by counter. */
  const opened = new Map<bigint, Detail>();
  const openAll = (n: HistoryNotice): OpenedValue[] | undefined => {
    const odo = odometerKey(n.era);
    const det = detailKey(n.era);
    if (!odo || !det) return undefined;
    try {
      const values = openHistoryValues(n, odo, det);
      for (const v of values) if (v.detail) opened.set(v.counter, v.detail);
      return values;
    } catch (e) {
      warnings.push(`The detail key of era ${n.era} does not open the notice of input ${n.inputIndex} (${e instanceof DecodeError ? e.code : String(e)}).`);
      return undefined;
    }
  };

  const notices: IssueNotice[] = [];
  const eraKeys = new Map<number, Uint8Array>();
  if (opts.level === 'full') {
    const covered = await provenHistory(opts, deviceId, leaf);
    const badEras = new Set<number>();
    for (const n of covered) {
      const readings = readingEntries(n);
      if (readings.length === 0) {
        notices.push({ form: 0, payload: n.payload });
        continue;
      }
      const values = openAll(n);
      if (values) {
        notices.push({ form: 1, payload: n.payload, envelopes: envelopesOf(n, values) });
        continue;
      }
      const byDevice = opts.deviceOpensNotices && opts.localLinkUrl ? await openedByDevice(opts.localLinkUrl, deviceId, n, opened) : undefined;
      if (byDevice) {
        notices.push({ form: 1, payload: n.payload, envelopes: byDevice });
        continue;
      }
      notices.push({ form: 0, payload: n.payload });
      const odo = odometerKey(n.era);
      if (!odo || badEras.has(n.era)) continue;
      try {
        openHistoryValues(n, odo);
        eraKeys.set(n.era, odo);
      } catch (e) {
        // A key that does not open every sealed notice of its era would be refused (history_key_mismatch).
        badEras.add(n.era);
        eraKeys.delete(n.era);
        warnings.push(`The odometer key of era ${n.era} does not open the notice of input ${n.inputIndex} (${e instanceof DecodeError ? e.code : String(e)}): that era's odometer values are not disclosed.`);
      }
    }
  }

  const openingOf = async (ref: AttestedRef, what: string): Promise<Uint8Array> => {
    const matches = (b: Uint8Array) => {
      try {
        const o = decodeOpeningStrict(b);
        return o.deviceId === deviceId && o.counter === ref.counter && commitmentOf(o) === ref.commitment;
      } catch {
        return false;
      }
    };
    // The owner's history: the notice of the input that attested it, opened with its era's keys.
    if (!opened.has(ref.counter) && keys && keys.detail.length > 0) {
      try {
        const outputs = await opts.io.outputsOfInput(Number(ref.inputIndex));
        for (const o of outputs) {
          let n: HistoryNotice;
          try {
            const payload = decodeNoticeOutput(fromHex(o.raw_data));
            if (payload[0] !== 2 || payload[1] !== 5) continue;
            n = decodeHistoryNotice(payload);
          } catch {
            continue;
          }
          if (n.deviceId === deviceId && readingEntries(n).some((e) => e.counter === ref.counter)) openAll(n);
        }
      } catch (e) {
        warnings.push(`The node did not list the outputs of input ${ref.inputIndex}: ${(e as Error).message}`);
      }
    }
    const d = opened.get(ref.counter);
    if (d) {
      const b = openingFromDetail(deviceId, ref.counter, d);
      if (matches(b)) return b;
    }
    if (opts.localLinkUrl) {
      let answer: { opening: string };
      try {
        answer = await localLinkOpening(opts.localLinkUrl, deviceId, ref.counter);
      } catch (e) {
        throw new IssueError('opening_unavailable', `The ${what} attested reading (counter ${ref.counter}) is in an era whose detail key you do not hold, and the device's local link gave no opening of it: ${(e as Error).message}`);
      }
      let b: Uint8Array;
      try {
        b = fromHex(answer.opening);
      } catch {
        throw new IssueError('opening_unavailable', `The device's local link gave an opening of counter ${ref.counter} that is not hex.`);
      }
      if (matches(b)) return b;
      throw new IssueError('opening_unavailable', `The device's opening of its ${what} attested reading (counter ${ref.counter}) does not match the commitment on record.`);
    }
    throw new IssueError(
      'opening_unavailable',
      `No opening of the ${what} attested reading (counter ${ref.counter}): it is in an era whose detail key you do not hold${keys ? '' : ' (no history keys)'}, and no device local link is set to ask the device.`,
    );
  };
  const highest = leaf.highest ? await openingOf(leaf.highest, 'highest') : null;
  const first = leaf.first ? await openingOf(leaf.first, 'first') : null;

  const bytes = buildCertificate({
    level: opts.level,
    anchors: opts.anchors,
    deviceId,
    claim: { lastProcessedBlock: proven.asOf.block, claimBlock: proven.asOf.claimBlock, outputsRoot: claimRoot },
    stateNotice: encodeStateNotice(proven.state),
    outputIndex: proven.stateOutputIndex,
    outputSiblings: proven.stateSiblings,
    mapProof: proven.mapProof,
    highest,
    first,
    vehicle,
    earlierUnits: proven.earlierUnits.map((u) => u.mapProof),
    odometerKeys: [...eraKeys].map(([era, key]) => ({ era, key })),
    notices,
  });
  // What we hand out must pass the buyer's check.
  const findings = verifyCertificateOffline(bytes, opts.anchors);
  return { bytes, findings, warnings };
}

/**
 * Per envelope entry of `n`, its commitment key and readings as the device's local link gives
 * them, each checked against its reading entry's commitment; `undefined` when the device does
 * not open every reading of the notice. Opened readings are added to `opened`.
 */
async function openedByDevice(url: string, deviceId: string, n: HistoryNotice, opened: Map<bigint, Detail>): Promise<{ commitmentKey: string; readings: Uint8Array[] }[] | undefined> {
  const out: { commitmentKey: string; readings: Uint8Array[] }[] = [];
  const got: [bigint, Detail][] = [];
  for (const e of n.entries) {
    if (e.kind === 'envelope') {
      out.push({ commitmentKey: '', readings: [] });
      continue;
    }
    if (e.kind !== 'reading') continue;
    const group = out[out.length - 1];
    if (!group) return undefined;
    try {
      const answer = await localLinkOpening(url, deviceId, e.counter);
      const o = decodeOpeningStrict(fromHex(answer.opening));
      const key = answer.commitment_key;
      if (!key || o.deviceId !== deviceId || o.counter !== e.counter || commitReading(deviceId, fromHex(key), e.counter, o.readingBytes) !== e.commitment) return undefined;
      if (group.commitmentKey && group.commitmentKey !== key.toLowerCase()) return undefined;
      group.commitmentKey = key.toLowerCase();
      group.readings.push(o.readingBytes);
      got.push([e.counter, { blinding: toHex(o.blinding), reading: o.reading, commitmentKey: key.toLowerCase() }]);
    } catch {
      return undefined;
    }
  }
  for (const [c, d] of got) opened.set(c, d);
  return out.length ? out : undefined;
}

/** Per envelope entry of `n`: its commitment key and readings, from the values opened with the detail key. */
function envelopesOf(n: HistoryNotice, values: OpenedValue[]): { commitmentKey: string; readings: Reading[] }[] {
  const out: { commitmentKey: string; readings: Reading[] }[] = [];
  let k = 0;
  for (const e of n.entries) {
    if (e.kind === 'envelope') out.push({ commitmentKey: '', readings: [] });
    else if (e.kind === 'reading') {
      const d = values[k++]?.detail;
      const group = out[out.length - 1];
      if (!d || !group) throw new IssueError('history_unopened', `reading ${e.counter} was not opened`);
      group.commitmentKey = d.commitmentKey;
      group.readings.push(d.reading);
    }
  }
  return out;
}

/** The device's notices the proven leaf's accumulator folds, in order (from the gateway, else walked back on the node). */
async function provenHistory(opts: IssueOptions, deviceId: string, leaf: DeviceLeaf): Promise<HistoryNotice[]> {
  const tried: string[] = [];
  const attempt = (listed: ListedNotice[], from: string): HistoryNotice[] | undefined => {
    const { notices } = decodeListed(deviceId, listed);
    const checked = checkAccumulator(leaf.history, notices);
    if (checked.result.status === 'complete') return checked.covered;
    tried.push(`${from}: ${checked.result.reason}`);
    return undefined;
  };
  if (opts.fetchNotices) {
    try {
      const got = attempt((await fetchAllNotices(opts.fetchNotices)).notices, 'the gateway');
      if (got) return got;
    } catch (e) {
      tried.push(`the gateway: ${(e as Error).message}`);
    }
  }
  try {
    const got = attempt(await noticesFromNode((i) => opts.io.outputsOfInput(i), decodeNoticeOutput, deviceId, leaf.history.lastInput), 'the node');
    if (got) return got;
  } catch (e) {
    tried.push(`the node: ${(e as Error).message}`);
  }
  throw new IssueError('history_incomplete', `The device's history notices could not be gathered complete against its proven record (${tried.join('; ')}).`);
}
