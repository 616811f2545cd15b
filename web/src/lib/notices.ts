/**
 * Outputs as the v2 contracts see them (`Notice(bytes)`, selector 0xc258d6e5) and the
 * backend's binary notice payloads (crates/backend/src/outputs.rs), plus the output Merkle
 * root a proof leads to (height 63, leaf keccak256(output)).
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ByteReader, concatBytes, fromHex, toHex } from './hex';

export const NOTICE_SELECTOR = 'c258d6e5';
export const NOTICE_ATTESTATION = 1;
export const NOTICE_TAMPER = 2;
export const NOTICE_CORRECTION = 3;

export interface AttestedEntry {
  deviceId: string;
  counter: bigint;
  commitment: string;
  envelopeHash: string;
}

export type NoticePayload =
  | { kind: 'attestation'; inputIndex: bigint; blockTimestamp: bigint; entries: AttestedEntry[] }
  | { kind: 'tamper'; deviceId: string; counter: bigint; referenceCounter: bigint; inputIndex: bigint; commitment: string }
  | { kind: 'correction'; deviceId: string; counter: bigint; registrar: string; inputIndex: bigint };

/** The payload of an ABI-encoded `Notice(bytes)` output. */
export function decodeNoticeOutput(raw: Uint8Array): Uint8Array {
  if (raw.length < 4 + 64) throw new Error('output too short to be a notice');
  if (toHex(raw.slice(0, 4)) !== NOTICE_SELECTOR) throw new Error('output is not a notice (wrong selector)');
  const word = (at: number): bigint => {
    let v = 0n;
    for (const b of raw.slice(at, at + 32)) v = (v << 8n) | BigInt(b);
    return v;
  };
  const offset = word(4);
  if (offset !== 32n) throw new Error('notice: unexpected ABI offset');
  const length = Number(word(4 + 32));
  const start = 4 + 64;
  if (start + length > raw.length) throw new Error('notice: payload is truncated');
  const paddedEnd = start + Math.ceil(length / 32) * 32;
  if (raw.length !== paddedEnd) throw new Error('notice: unexpected ABI length');
  return raw.slice(start, start + length);
}

export function encodeNoticeOutput(payload: Uint8Array): Uint8Array {
  const word = (v: number) => {
    const w = new Uint8Array(32);
    let x = BigInt(v);
    for (let i = 31; i >= 0 && x > 0n; i--) {
      w[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return w;
  };
  const padded = new Uint8Array(Math.ceil(payload.length / 32) * 32);
  padded.set(payload);
  return concatBytes(fromHex(NOTICE_SELECTOR), word(32), word(payload.length), padded);
}

export function parseNoticePayload(payload: Uint8Array): NoticePayload {
  const r = new ByteReader(payload, 'notice');
  const version = r.u8();
  if (version !== 1) throw new Error(`notice version ${version} is not supported`);
  const kind = r.u8();
  let out: NoticePayload;
  if (kind === NOTICE_ATTESTATION) {
    const inputIndex = r.u64();
    const blockTimestamp = r.u64();
    const count = r.u32();
    if (count * 88 > r.remaining) throw new Error('notice is truncated');
    const entries: AttestedEntry[] = [];
    for (let i = 0; i < count; i++) {
      entries.push({ deviceId: toHex(r.bytes(16)), counter: r.u64(), commitment: toHex(r.bytes(32)), envelopeHash: toHex(r.bytes(32)) });
    }
    out = { kind: 'attestation', inputIndex, blockTimestamp, entries };
  } else if (kind === NOTICE_TAMPER) {
    out = { kind: 'tamper', deviceId: toHex(r.bytes(16)), counter: r.u64(), referenceCounter: r.u64(), inputIndex: r.u64(), commitment: toHex(r.bytes(32)) };
  } else if (kind === NOTICE_CORRECTION) {
    out = { kind: 'correction', deviceId: toHex(r.bytes(16)), counter: r.u64(), registrar: toHex(r.bytes(32)), inputIndex: r.u64() };
  } else {
    throw new Error(`unknown notice kind ${kind}`);
  }
  r.finish();
  return out;
}

/** What the notice says about `deviceId`'s reading `counter` (with its commitment, if known). */
export function findAttestation(
  notice: NoticePayload,
  deviceId: string,
  counter: number | bigint,
  commitment?: string,
): { found: true; entry: AttestedEntry } | { found: false; reason: string } {
  if (notice.kind !== 'attestation') return { found: false, reason: `the notice is a ${notice.kind} notice, not an attestation` };
  const entry = notice.entries.find((e) => e.deviceId === deviceId.toLowerCase() && e.counter === BigInt(counter));
  if (!entry) return { found: false, reason: `the notice has no entry for device ${deviceId} at counter ${counter}` };
  if (commitment && entry.commitment !== commitment.toLowerCase()) {
    return { found: false, reason: 'the notice commits to a different reading than the one the rollup reported' };
  }
  return { found: true, entry };
}

/** Root of the height-63 output tree reached from `output` at `index` with `siblings`. */
export function outputsMerkleRoot(output: Uint8Array, index: bigint, siblings: string[]): string {
  if (siblings.length !== 63) throw new Error(`expected 63 siblings, got ${siblings.length}`);
  let node = keccak_256(output);
  let i = index;
  for (const sibling of siblings) {
    const s = fromHex(sibling);
    node = (i & 1n) === 0n ? keccak_256(concatBytes(node, s)) : keccak_256(concatBytes(s, node));
    i >>= 1n;
  }
  return '0x' + toHex(node);
}
