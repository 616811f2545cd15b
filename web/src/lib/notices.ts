/**
 * Outputs as the v2 contracts see them (ABI `Notice(bytes)`, selector 0xc258d6e5), the
 * backend's notices of version 2 (PROTOCOL.md 16.4-16.5: the state notice that ends every
 * input, and the history notices with their sealed values), and the outputs Merkle root a
 * proof leads to (height 63, leaf keccak256(output)). The twin of `witness_protocol::notice`.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes, fromHex, toHex, u32be, u64be, utf8 } from './hex';
import { DecodeError, Reader } from './codec';
import { sha256 } from '@noble/hashes/sha2.js';
import { commitmentOf, encodeReading, formatFaultCode, type Reading } from './protocol';

export const NOTICE_SELECTOR = 'c258d6e5';
export const NOTICE_VERSION = 2;
export const NOTICE_STATE = 4;
export const NOTICE_HISTORY = 5;
export const STATE_NOTICE_LEN = 98;
export const MAX_HISTORY_ENTRIES = 65216;
export const MAX_TEXT = 1024;
export const MAX_READINGS_PER_ENVELOPE = 64;
const U64_MAX = (1n << 64n) - 1n;
export const SECONDS_PER_DAY = 86_400;

// ---- Notice(bytes) ----

function word(raw: Uint8Array, at: number): bigint {
  let v = 0n;
  for (const b of raw.slice(at, at + 32)) v = (v << 8n) | BigInt(b);
  return v;
}

/** The payload of an ABI-encoded `Notice(bytes)` output (strict: one canonical encoding). */
export function decodeNoticeOutput(raw: Uint8Array): Uint8Array {
  if (raw.length < 4 + 64) throw new Error('output too short to be a notice');
  if (toHex(raw.slice(0, 4)) !== NOTICE_SELECTOR) throw new Error('output is not a notice (wrong selector)');
  if (word(raw, 4) !== 32n) throw new Error('notice: unexpected ABI offset');
  const length = word(raw, 4 + 32);
  const start = 4 + 64;
  if (length > BigInt(raw.length - start)) throw new Error('notice: payload is truncated');
  const n = Number(length);
  const paddedEnd = start + Math.ceil(n / 32) * 32;
  if (raw.length !== paddedEnd) throw new Error('notice: unexpected ABI length');
  if (raw.slice(start + n).some((b) => b !== 0)) throw new Error('notice: non-zero ABI padding');
  return raw.slice(start, start + n);
}

export function encodeNoticeOutput(payload: Uint8Array): Uint8Array {
  const w = (v: number) => {
    const out = new Uint8Array(32);
    out.set(u64be(v), 24);
    return out;
  };
  const padded = new Uint8Array(Math.ceil(payload.length / 32) * 32);
  padded.set(payload);
  return concatBytes(fromHex(NOTICE_SELECTOR), w(32), w(payload.length), padded);
}

/** Root of the height-63 output tree reached from `output` at `index` with `siblings` (0x hex). */
export function outputsMerkleRoot(output: Uint8Array, index: bigint, siblings: string[]): string {
  if (siblings.length !== 63) throw new Error(`expected 63 siblings, got ${siblings.length}`);
  let node = keccak_256(output);
  let i = index;
  for (const sibling of siblings) {
    const s = fromHex(sibling);
    if (s.length !== 32) throw new Error('a sibling is not 32 bytes');
    node = (i & 1n) === 0n ? keccak_256(concatBytes(node, s)) : keccak_256(concatBytes(s, node));
    i >>= 1n;
  }
  return '0x' + toHex(node);
}

// ---- notices, version 2 ----

/** The kind of a version-2 notice. */
export function noticeKind(payload: Uint8Array): number {
  if (payload.length < 1) throw new DecodeError('truncated', 'notice');
  if (payload[0] !== NOTICE_VERSION) throw new DecodeError('unsupported_version', 'notice');
  if (payload.length < 2) throw new DecodeError('truncated', 'notice');
  return payload[1] as number;
}

/** The state after one input (16.5): the last output of every processed input. */
export interface StateNotice {
  inputIndex: bigint;
  blockNumber: bigint;
  blockTimestamp: bigint;
  devices: bigint;
  /** Hex. */
  mapRoot: string;
  /** Hex. */
  globals: string;
}

export function decodeStateNotice(payload: Uint8Array): StateNotice {
  if (noticeKind(payload) !== NOTICE_STATE) throw new DecodeError('unknown_kind', 'state notice');
  const r = new Reader(payload.slice(2), 'state notice');
  const n: StateNotice = {
    inputIndex: r.u64(),
    blockNumber: r.u64(),
    blockTimestamp: r.u64(),
    devices: r.u64(),
    mapRoot: toHex(r.take(32)),
    globals: toHex(r.take(32)),
  };
  r.finish();
  return n;
}

export function encodeStateNotice(n: StateNotice): Uint8Array {
  return concatBytes(
    new Uint8Array([NOTICE_VERSION, NOTICE_STATE]),
    u64be(n.inputIndex),
    u64be(n.blockNumber),
    u64be(n.blockTimestamp),
    u64be(n.devices),
    fromHex(n.mapRoot),
    fromHex(n.globals),
  );
}

/** Why a registrar corrected a record (8.2.1), by wire byte 1, 2, 3. */
export const CORRECTION_REASONS = ['cluster_replaced', 'sensor_fault', 'data_entry_error'] as const;
export type CorrectionReason = (typeof CORRECTION_REASONS)[number];
/** What a correction rests on (8.2.1), by wire byte 1, 2, 3, 4. */
export const EVIDENCE_TYPES = ['workshop_record', 'inspection_report', 'diagnostic_log', 'registry_record'] as const;
export type EvidenceType = (typeof EVIDENCE_TYPES)[number];
/** The longest note of a correction, in bytes of UTF-8 (`MAX_REASON_LEN`). */
export const MAX_NOTE_LEN = 256;

/** A registrar's correction of one device's record (op 7, 8.2.1), as it signed it. */
export interface Correction {
  /** Hex. */
  deviceId: string;
  /** The consumed counter whose reading (or the rollback recorded at it) it corrects. */
  counter: bigint;
  /** The reading's right value, when it was wrong (the original stays on record). */
  odometerM: bigint | null;
  /** The new baseline, when the correction moves it. */
  baselineM: bigint | null;
  reason: CorrectionReason;
  evidence: EvidenceType;
  /** SHA-256 of the document the registrar keeps, hex (all zeros when there is none to name). */
  evidenceDigest: string;
  note: string;
}

/** `device_id 16 ‖ counter u64 ‖ has_odometer u8 ‖ odometer u64 ‖ has_baseline u8 ‖ baseline u64 ‖ reason u8 ‖ evidence u8 ‖ digest 32 ‖ note text(256)`. */
export function readCorrection(r: Reader): Correction {
  const deviceId = toHex(r.take(16));
  const counter = r.u64();
  const odometerM = r.optU64();
  const baselineM = r.optU64();
  const reason = CORRECTION_REASONS[r.u8() - 1] ?? r.fail('invalid_field');
  const evidence = EVIDENCE_TYPES[r.u8() - 1] ?? r.fail('invalid_field');
  const evidenceDigest = toHex(r.take(32));
  const note = r.text(MAX_NOTE_LEN);
  return { deviceId, counter, odometerM, baselineM, reason, evidence, evidenceDigest, note };
}

/** The correction's bytes as signed (8.2.1); a note over 256 bytes is `oversize`. */
export function encodeCorrection(c: Correction): Uint8Array {
  const opt = (v: bigint | null) => concatBytes(new Uint8Array([v === null ? 0 : 1]), u64be(v ?? 0n));
  const note = utf8(c.note);
  if (note.length > MAX_NOTE_LEN) throw new DecodeError('oversize', 'correction note');
  const device = fromHex(c.deviceId);
  const digest = fromHex(c.evidenceDigest);
  if (device.length !== 16 || digest.length !== 32) throw new DecodeError('invalid_field', 'correction');
  return concatBytes(
    device,
    u64be(c.counter),
    opt(c.odometerM),
    opt(c.baselineM),
    new Uint8Array([CORRECTION_REASONS.indexOf(c.reason) + 1, EVIDENCE_TYPES.indexOf(c.evidence) + 1]),
    digest,
    varintBytes(note.length),
    note,
  );
}

function varintBytes(n: number): Uint8Array {
  const out: number[] = [];
  let x = n;
  do {
    const low = x & 0x7f;
    x = Math.floor(x / 128);
    out.push(x > 0 ? low | 0x80 : low);
  } while (x > 0);
  return new Uint8Array(out);
}

/** Why a pending ownership recovery ended without taking effect (8.4.2), by wire byte 1, 2, 3. */
export const RECOVERY_OUTCOMES = ['objected', 'superseded', 'retired'] as const;
export type RecoveryOutcome = (typeof RECOVERY_OUTCOMES)[number];

export type HistoryEntry =
  | { kind: 'registered'; model: number; registrar: string }
  | { kind: 'envelope'; firstCounter: bigint; count: number }
  /** `counter` is not on the wire: the k-th reading entry after an envelope entry has `firstCounter + k`. */
  | { kind: 'reading'; counter: bigint; commitment: string; rollbackOf: bigint | null }
  /**
   * Kind 8: a registrar's correction as signed (public: it is on chain), and whether it
   * cleared the rollback recorded at its counter. Kind 3 (the draft's correction) is retired.
   */
  | { kind: 'corrected'; registrar: string; cleared: boolean; correction: Correction }
  | { kind: 'key_rotated'; newKey: string }
  | { kind: 'revoked'; reason: string }
  /** Kind 6: a new owner key, by the current owner's release (`consented`) or the device's first pairing. */
  | { kind: 'owner_changed'; sequence: bigint; consented: boolean; owner: string }
  /** Kind 9: the unit was replaced in its vehicle by `newDevice` (8.2.2); no reading of it follows. */
  | { kind: 'replaced_by'; newDevice: string; registrar: string }
  /** Kind 10: the unit replaced `oldDevice` in its vehicle, starting from the baseline the registrar stated. */
  | { kind: 'replaces'; oldDevice: string; baselineM: bigint; registrar: string }
  /** Kind 11: a registrar started an ownership recovery to `owner`, taking effect at `effectiveAt` (block time) unless the owner objects (8.4.2). */
  | { kind: 'recovery_started'; registrar: string; owner: string; effectiveAt: bigint }
  /** Kind 12: the pending recovery ended without taking effect. */
  | { kind: 'recovery_ended'; outcome: RecoveryOutcome }
  /** Kind 13: the pending recovery took effect: `owner` is bound; entries after it are in the next era. */
  | { kind: 'owner_recovered'; owner: string }
  /** Kind 14: a revoked unit was reinstated: its readings are accepted again. */
  | { kind: 'reinstated'; reason: string };

/** One device's entries of one input (16.4). */
export interface HistoryNotice {
  deviceId: string;
  inputIndex: bigint;
  blockTimestamp: bigint;
  era: number;
  /** The device's history notices before this one. */
  position: bigint;
  previousInput: bigint | null;
  entries: HistoryEntry[];
  odometerCiphertext: Uint8Array;
  detailCiphertext: Uint8Array;
  /** The odometer part's AAD: from the version byte to the end of the entries. */
  odometerAad: Uint8Array;
  /** The detail part's AAD: the header, from the version byte to the end of the previous-input field. */
  detailAad: Uint8Array;
  /** The whole payload (what the accumulator hashes). */
  payload: Uint8Array;
}

/**
 * One entry; a reading entry gets the counter its envelope's range owes next (none:
 * `invalid_field`, after its fields). Without `commitments` (the opened form of a
 * certificate, PROTOCOL.md 18.2 form 1) a reading entry has no commitment on the wire: it is
 * left empty and `at` gets the offset where it belongs.
 */
function readEntry(r: Reader, owed: Owed, commitments = true, at?: number[]): HistoryEntry {
  switch (r.u8()) {
    case 1:
      return { kind: 'registered', model: r.u32(), registrar: toHex(r.take(32)) };
    case 2: {
      at?.push(r.position);
      const commitment = commitments ? toHex(r.take(32)) : '';
      // The reference counter is there only for a rollback.
      const rollbackOf = r.bool() ? r.u64() : null;
      if (!owed) throw new DecodeError('invalid_field', 'history notice');
      return { kind: 'reading', counter: owed.next, commitment, rollbackOf };
    }
    case 4:
      return { kind: 'key_rotated', newKey: toHex(r.take(32)) };
    case 5:
      return { kind: 'revoked', reason: r.text(MAX_TEXT) };
    case 6:
      return { kind: 'owner_changed', sequence: r.u64(), consented: r.bool(), owner: toHex(r.take(32)) };
    case 7:
      return { kind: 'envelope', firstCounter: r.u64(), count: r.u8() };
    case 8:
      return { kind: 'corrected', registrar: toHex(r.take(32)), cleared: r.bool(), correction: readCorrection(r) };
    case 9:
      return { kind: 'replaced_by', newDevice: toHex(r.take(16)), registrar: toHex(r.take(32)) };
    case 10:
      return { kind: 'replaces', oldDevice: toHex(r.take(16)), baselineM: r.u64(), registrar: toHex(r.take(32)) };
    case 11:
      return { kind: 'recovery_started', registrar: toHex(r.take(32)), owner: toHex(r.take(32)), effectiveAt: r.u64() };
    case 12:
      return { kind: 'recovery_ended', outcome: RECOVERY_OUTCOMES[r.u8() - 1] ?? r.fail('invalid_field') };
    case 13:
      return { kind: 'owner_recovered', owner: toHex(r.take(32)) };
    case 14:
      return { kind: 'reinstated', reason: r.text(MAX_TEXT) };
    default:
      // Kind 3, the version 2 draft's correction, is retired: unknown like any other.
      return r.fail('unknown_kind');
  }
}

/** The readings an envelope entry still owes: the next counter and how many. */
type Owed = { next: bigint; left: number } | null;

/**
 * 16.4's rule, entry by entry: an envelope entry is followed by exactly its `count` reading
 * entries, counters from `firstCounter` on (decoded entries get them; built ones must carry
 * them); a reading entry appears nowhere else.
 */
function stepRanges(owed: Owed, e: HistoryEntry): Owed {
  const refuse = (): never => {
    throw new DecodeError('invalid_field', 'history notice');
  };
  if (owed) {
    if (e.kind !== 'reading' || e.counter !== owed.next) return refuse();
    return owed.left > 1 ? { next: owed.next + 1n, left: owed.left - 1 } : null;
  }
  if (e.kind === 'reading') return refuse();
  if (e.kind === 'envelope') {
    if (e.count < 1 || e.count > MAX_READINGS_PER_ENVELOPE || e.firstCounter + BigInt(e.count - 1) > U64_MAX) return refuse();
    return { next: e.firstCounter, left: e.count };
  }
  return null;
}

/** Checks a whole list of entries against 16.4's envelope ranges (`invalid_field`). */
function checkRanges(entries: HistoryEntry[]): void {
  let owed: Owed = null;
  for (const e of entries) owed = stepRanges(owed, e);
  if (owed) throw new DecodeError('invalid_field', 'history notice');
}

/**
 * The smallest entry (kind ‖ empty text) is 2 bytes: the bound of the entry count (2,
 * "bounded counts"). The Rust decoder uses 33 here.
 */
const MIN_ENTRY = 2;

/** Varint-length-prefixed bytes bounded only by what is left (a longer length: `truncated`). */
function restBytes(r: Reader): Uint8Array {
  const n = r.varint();
  if (n > BigInt(r.remaining)) r.fail('truncated');
  return r.take(Number(n));
}

/**
 * A notice read up to the end of its detail ciphertext, in its published form (with the
 * reading entries' commitments) or without them; `at` gets, per reading entry, the offset of
 * its commitment (or where it belongs).
 */
function decodeForm(payload: Uint8Array, commitments: boolean): { notice: Omit<HistoryNotice, 'payload'>; r: Reader; at: number[] } {
  if (noticeKind(payload) !== NOTICE_HISTORY) throw new DecodeError('unknown_kind', 'history notice');
  const r = new Reader(payload, 'history notice');
  r.take(2);
  const deviceId = toHex(r.take(16));
  const inputIndex = r.u64();
  const blockTimestamp = r.u64();
  const era = r.u32();
  const position = r.u64();
  const previousInput = r.optU64();
  const detailAad = r.since(0);
  const count = r.count(MAX_HISTORY_ENTRIES, MIN_ENTRY);
  const entries: HistoryEntry[] = [];
  const at: number[] = [];
  let owed: Owed = null;
  for (let i = 0; i < count; i++) {
    const entry = readEntry(r, owed, commitments, at);
    owed = stepRanges(owed, entry);
    entries.push(entry);
  }
  // The entries must not end inside an envelope's range.
  if (owed) throw new DecodeError('invalid_field', 'history notice');
  const odometerAad = r.since(0);
  // The ciphertexts are bounded only by what the notice holds (a longer length: `truncated`).
  const odometerCiphertext = restBytes(r);
  const detailCiphertext = restBytes(r);
  return { notice: { deviceId, inputIndex, blockTimestamp, era, position, previousInput, entries, odometerCiphertext, detailCiphertext, odometerAad, detailAad }, r, at };
}

export function decodeHistoryNotice(payload: Uint8Array): HistoryNotice {
  const { notice, r } = decodeForm(payload, true);
  r.finish();
  return { ...notice, payload: payload.slice() };
}

// ---- the opened form (PROTOCOL.md 18.2, a full certificate's notice form 1) ----

/** A standalone reading (5.2) as read: the reading and its exact bytes. */
export interface StandaloneReading {
  reading: Reading;
  bytes: Uint8Array;
}

/** One envelope entry's values: its commitment key (7.1) and its readings, in order. */
export interface EnvelopeValues {
  commitmentKey: Uint8Array;
  readings: StandaloneReading[];
}

/**
 * A standalone reading (5.2): `timestamp u32 ‖ odometer_m u64 ‖ fuel_ml u32 ‖ engine_s u32 ‖
 * n u8 ‖ n × u16`; more than 32 fault codes `oversize`, fewer than 2n bytes left `truncated`.
 * An odometer above 2^53 − 1 is shown rounded (the bytes stay exact).
 */
export function readStandalone(r: Reader): StandaloneReading {
  const start = r.position;
  const timestamp = r.u32();
  const odometer = r.u64();
  const fuel_ml = r.u32();
  const engine_s = r.u32();
  const n = r.u8();
  if (n > 32) r.fail('oversize');
  if (2 * n > r.remaining) r.fail('truncated');
  const faults: string[] = [];
  for (let i = 0; i < n; i++) faults.push(formatFaultCode(r.u16()));
  return { reading: { timestamp, odometer_m: Number(odometer), fuel_ml, engine_s, faults }, bytes: r.since(start) };
}

/** 7.3 with a blinding from the envelope's commitment key (7.2), hex. */
export function commitReading(deviceId: string, commitmentKey: Uint8Array, counter: bigint, standalone: Uint8Array): string {
  return commitmentOf({ deviceId, counter, blinding: blindingOf(commitmentKey, counter), reading: { timestamp: 0, odometer_m: 0, fuel_ml: 0, engine_s: 0, faults: [] }, readingBytes: standalone });
}

/**
 * Decodes a notice in the opened form and rebuilds it: each reading entry's commitment
 * computed from its envelope's commitment key, the device, its counter and its reading, put
 * back in its entry, and the values removed. The rebuilt notice's `payload` is what the
 * accumulator folds. Codes as 16.4 (and 5.2 for the readings); nothing may follow the values.
 */
export function decodeOpenedHistoryNotice(bytes: Uint8Array): { notice: HistoryNotice; envelopes: EnvelopeValues[] } {
  const { notice, r, at } = decodeForm(bytes, false);
  const end = r.position;
  const envelopes: EnvelopeValues[] = [];
  const commitments: string[] = [];
  let current: EnvelopeValues | undefined;
  let k = 0;
  for (const e of notice.entries) {
    if (e.kind === 'envelope') {
      const commitmentKey = r.take(32);
      const readings: StandaloneReading[] = [];
      for (let i = 0; i < e.count; i++) readings.push(readStandalone(r));
      current = { commitmentKey, readings };
      envelopes.push(current);
      k = 0;
    } else if (e.kind === 'reading') {
      // The envelope ranges put an envelope entry before every reading entry.
      const value = current?.readings[k++];
      if (!current || !value) throw new DecodeError('invalid_field', 'history notice');
      commitments.push(commitReading(notice.deviceId, current.commitmentKey, e.counter, value.bytes));
    }
  }
  r.finish();
  const parts: Uint8Array[] = [];
  let from = 0;
  at.forEach((offset, i) => {
    parts.push(bytes.slice(from, offset), fromHex(commitments[i] as string));
    from = offset;
  });
  parts.push(bytes.slice(from, end));
  return { notice: decodeHistoryNotice(concatBytes(...parts)), envelopes };
}

/**
 * The opened form of a published notice: its bytes without the reading entries'
 * commitments, then per envelope entry its commitment key and its readings (standalone).
 * `envelopes` has one item per envelope entry with as many readings as its count (else
 * `invalid_field`). The commitments are not checked here (see `decodeOpenedHistoryNotice`).
 */
export function encodeOpenedHistoryNotice(payload: Uint8Array, envelopes: { commitmentKey: Uint8Array; readings: (Reading | Uint8Array)[] }[]): Uint8Array {
  const { notice, r, at } = decodeForm(payload, true);
  r.finish();
  const groups = notice.entries.filter((e): e is Extract<HistoryEntry, { kind: 'envelope' }> => e.kind === 'envelope');
  if (groups.length !== envelopes.length) throw new DecodeError('invalid_field', 'opened notice');
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const offset of at) {
    parts.push(payload.slice(from, offset));
    from = offset + 32;
  }
  parts.push(payload.slice(from));
  groups.forEach((g, i) => {
    const values = envelopes[i] as { commitmentKey: Uint8Array; readings: (Reading | Uint8Array)[] };
    if (values.readings.length !== g.count || values.commitmentKey.length !== 32) throw new DecodeError('invalid_field', 'opened notice');
    parts.push(values.commitmentKey, ...values.readings.map((x) => (x instanceof Uint8Array ? x : encodeReading(x))));
  });
  return concatBytes(...parts);
}

/** The values of one reading of a history notice, opened with its era's keys. */
export interface OpenedValue {
  counter: bigint;
  /** UTC day: `timestamp div 86,400`. */
  day: number;
  odometerM: bigint;
  /**
   * With the detail key: the blinding (from the envelope's commitment key, 7.2), the whole
   * reading, whose commitment was checked, and its envelope's commitment key (7.1, hex: what
   * a certificate's opened notice carries).
   */
  detail?: { blinding: string; reading: Reading; commitmentKey: string };
}

function nonce(inputIndex: bigint, part: number): Uint8Array {
  return concatBytes(u64be(inputIndex), u32be(part));
}

function open(key: Uint8Array, n: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new DecodeError('invalid_field', 'history key');
  try {
    return chacha20poly1305(key, n, aad).decrypt(ciphertext);
  } catch {
    throw new DecodeError('decryption_failed', 'history values');
  }
}

const BLINDING_TAG = utf8('witness/v1/blinding');

/** 7.2: `SHA-256("witness/v1/blinding" ‖ commitment key ‖ u64 counter)`. */
function blindingOf(key: Uint8Array, counter: bigint): Uint8Array {
  return sha256(concatBytes(BLINDING_TAG, key, u64be(counter)));
}

/**
 * A reading of the detail plaintext (the standalone reading of 5.2 without its odometer),
 * rebuilt with `odometerM` from the odometer plaintext: the reading and its standalone bytes.
 */
function readDetailReading(r: Reader, odometerM: bigint): { reading: Reading; bytes: Uint8Array } {
  const timestamp = r.u32();
  const fuel_ml = r.u32();
  const engine_s = r.u32();
  const n = r.u8();
  if (n > 32) r.fail('oversize');
  if (n * 2 > r.remaining) r.fail('truncated');
  const start = r.position;
  const faults: string[] = [];
  for (let i = 0; i < n; i++) faults.push(formatFaultCode(r.u16()));
  const bytes = concatBytes(u32be(timestamp), u64be(odometerM), u32be(fuel_ml), u32be(engine_s), new Uint8Array([n]), r.since(start));
  return { reading: { timestamp, odometer_m: Number(odometerM), fuel_ml, engine_s, faults }, bytes };
}

/**
 * Opens a notice's values with its era's odometer key and, if given, its detail key (then
 * every reading is rebuilt with its odometer value and checked against its commitment, 7.3,
 * and its day against the odometer part's). Fails with `decryption_failed`,
 * `malformed_plaintext` or `commitment_mismatch`.
 */
export function openHistoryValues(notice: HistoryNotice, odometerKey: Uint8Array, detailKey?: Uint8Array): OpenedValue[] {
  // A decoded notice satisfies this already; a built one may not.
  checkRanges(notice.entries);
  const readings = notice.entries.filter((e): e is Extract<HistoryEntry, { kind: 'reading' }> => e.kind === 'reading');
  if (readings.length === 0) {
    if (notice.odometerCiphertext.length || notice.detailCiphertext.length) throw new DecodeError('malformed_plaintext', 'history values');
    return [];
  }
  // The odometer part's AAD is the header and the entries: its values have no commitment.
  const odometer = open(odometerKey, nonce(notice.inputIndex, 0), notice.odometerAad, notice.odometerCiphertext);
  if (odometer.length !== 12 * readings.length) throw new DecodeError('malformed_plaintext', 'history values');
  const or = new Reader(odometer, 'history odometer values');
  const dated = readings.map(() => ({ day: or.u32(), odometerM: or.u64() }));
  const datedAt = (k: number) => {
    const d = dated[k];
    if (!d) throw new DecodeError('malformed_plaintext', 'history values');
    return d;
  };
  let details: { blinding: Uint8Array; reading: Reading; bytes: Uint8Array; key: Uint8Array }[] | undefined;
  if (detailKey) {
    // The detail part's AAD is the header alone: every reading is checked against its entry's commitment.
    const plain = open(detailKey, nonce(notice.inputIndex, 1), notice.detailAad, notice.detailCiphertext);
    const r = new Reader(plain, 'history details');
    try {
      // Per envelope entry: its commitment key (7.1), then its readings without odometer.
      const out: { blinding: Uint8Array; reading: Reading; bytes: Uint8Array; key: Uint8Array }[] = [];
      let key: Uint8Array = new Uint8Array(32);
      for (const e of notice.entries) {
        if (e.kind === 'envelope') key = r.take(32);
        // checkRanges put an envelope entry before every reading entry.
        else if (e.kind === 'reading') out.push({ blinding: blindingOf(key, e.counter), key, ...readDetailReading(r, datedAt(out.length).odometerM) });
      }
      details = out;
    } catch {
      throw new DecodeError('malformed_plaintext', 'history details');
    }
    if (r.remaining !== 0) throw new DecodeError('malformed_plaintext', 'history details');
  }
  return readings.map((entry, k) => {
    const { day, odometerM } = datedAt(k);
    const out: OpenedValue = { counter: entry.counter, day, odometerM };
    const d = details?.[k];
    if (d) {
      const commitment = commitmentOf({ deviceId: notice.deviceId, counter: entry.counter, blinding: d.blinding, reading: d.reading, readingBytes: d.bytes });
      if (commitment !== entry.commitment) throw new DecodeError('commitment_mismatch', `reading ${entry.counter}`);
      if (Math.floor(d.reading.timestamp / SECONDS_PER_DAY) !== day) {
        throw new DecodeError('malformed_plaintext', 'history values');
      }
      out.detail = { blinding: toHex(d.blinding), reading: d.reading, commitmentKey: toHex(d.key) };
    }
    return out;
  });
}

/** The key `K(era)` of a set, as bytes, if present. */
export function keyFor(keys: { era: number; key: string }[], era: number): Uint8Array | undefined {
  const k = keys.find((x) => x.era === era);
  return k ? fromHex(k.key) : undefined;
}
