/**
 * The parts of the Witness wire protocol (docs/PROTOCOL.md) the browser needs: readings in
 * their standalone encoding, possession proofs (8.5), owner queries (8.6), ownership
 * statements (8.4), the owner's release and its transfer code (8.4.1) and the owner's
 * objection to a recovery (8.4.2). Every signature covers `tag ‖ domain ‖ body`, the domain being the
 * deployment: chain id, application address and backend key (3.5).
 */
import { ByteReader, concatBytes, fromHex, toHex, u16be, u32be, u64be, utf8 } from './hex';
import { sha256 } from '@noble/hashes/sha2.js';
import { publicKeyFromSeed, sign, verifyStrict } from './ed25519';

export const OWNERSHIP_TAG = utf8('witness/v2/ownership');
export const OWNERSHIP_RELEASE_TAG = utf8('witness/v2/ownership-release');
export const OBJECTION_TAG = utf8('witness/v2/objection');
export const POSSESSION_TAG = utf8('witness/v2/possession');
export const OWNER_QUERY_TAG = utf8('witness/v2/owner-query');
export const QUERY_VERSION = 2;
export const MAX_FAULTS = 32;

/** A reading as JSON (inspect answers, local link): odometer in metres, time in seconds. */
export interface Reading {
  timestamp: number;
  odometer_m: number;
  fuel_ml: number;
  engine_s: number;
  faults: string[];
}

/** Section 3.5: `u64(chain id) ‖ application (20) ‖ backend key (32)`, what every signature is bound to. */
export function domainBytes(chainId: number | bigint, application: Uint8Array, backendKey: Uint8Array): Uint8Array {
  if (application.length !== 20) throw new Error('the application address must be 20 bytes');
  if (backendKey.length !== 32) throw new Error('the backend public key must be 32 bytes');
  return concatBytes(u64be(BigInt(chainId)), application, backendKey);
}

export function signedBytes(tag: Uint8Array, domain: Uint8Array, body: Uint8Array): Uint8Array {
  if (domain.length !== 60) throw new Error('the domain must be 60 bytes (domainBytes)');
  return concatBytes(tag, domain, body);
}

const SYSTEMS = ['P', 'C', 'B', 'U'] as const;

/** `0x0301` → `P0301` (SAE J2012 as OBD-II mode 03 sends it). */
export function formatFaultCode(code: number): string {
  return (SYSTEMS[(code >> 14) & 3] ?? 'P') + (code & 0x3fff).toString(16).toUpperCase().padStart(4, '0');
}

export function parseFaultCode(text: string): number {
  const m = /^([PCBU])([0-3][0-9A-F]{3})$/i.exec(text);
  if (!m || !m[1] || !m[2]) throw new Error(`not a fault code: ${text}`);
  return (SYSTEMS.indexOf(m[1].toUpperCase() as (typeof SYSTEMS)[number]) << 14) | parseInt(m[2], 16);
}

/** `timestamp u32 | odometer_m u64 | fuel_ml u32 | engine_s u32 | n u8 | n × u16`. */
export function encodeReading(r: Reading): Uint8Array {
  if (r.faults.length > MAX_FAULTS) throw new Error('too many fault codes');
  return concatBytes(
    u32be(r.timestamp),
    u64be(BigInt(r.odometer_m)),
    u32be(r.fuel_ml),
    u32be(r.engine_s),
    new Uint8Array([r.faults.length]),
    ...r.faults.map((f) => u16be(parseFaultCode(f))),
  );
}

export function readReading(r: ByteReader): Reading {
  const timestamp = r.u32();
  const odometer = r.u64();
  const fuel_ml = r.u32();
  const engine_s = r.u32();
  const n = r.u8();
  if (n > MAX_FAULTS) throw new Error('reading has more than 32 fault codes');
  const faults: string[] = [];
  for (let i = 0; i < n; i++) faults.push(formatFaultCode(r.u16()));
  if (odometer > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('odometer value too large to display');
  return { timestamp, odometer_m: Number(odometer), fuel_ml, engine_s, faults };
}

export function sameReading(a: Reading, b: Reading): boolean {
  return (
    a.timestamp === b.timestamp &&
    a.odometer_m === b.odometer_m &&
    a.fuel_ml === b.fuel_ml &&
    a.engine_s === b.engine_s &&
    a.faults.length === b.faults.length &&
    a.faults.every((f, i) => f.toUpperCase() === b.faults[i]?.toUpperCase())
  );
}

// ---- possession proof (8.5) ----

export interface PossessionProof {
  deviceId: string;
  nonce: string;
  counter: bigint;
  reading: Reading;
  signature: Uint8Array;
  /** The body: everything but the signature. */
  body: Uint8Array;
}

/** `version u8 | device_id 16 | nonce 32 | counter u64 | standalone reading | sig 64`. */
export function decodePossessionProof(bytes: Uint8Array): PossessionProof {
  const r = new ByteReader(bytes, 'possession proof');
  const version = r.u8();
  if (version !== QUERY_VERSION) throw new Error(`possession proof version ${version} is not supported`);
  const deviceId = toHex(r.bytes(16));
  const nonce = toHex(r.bytes(32));
  const counter = r.u64();
  const reading = readReading(r);
  const bodyLength = bytes.length - r.remaining;
  const signature = r.bytes(64);
  r.finish();
  return { deviceId, nonce, counter, reading, signature, body: bytes.slice(0, bodyLength) };
}

export function possessionSignedMessage(proof: PossessionProof, domain: Uint8Array): Uint8Array {
  return signedBytes(POSSESSION_TAG, domain, proof.body);
}

export function verifyPossessionProof(proof: PossessionProof, devicePublicKey: Uint8Array, domain: Uint8Array): boolean {
  return verifyStrict(proof.signature, possessionSignedMessage(proof, domain), devicePublicKey);
}

// ---- owner query (8.6) ----

export interface OwnerQueryFields {
  deviceId: string;
  owner: Uint8Array;
  responseKey: Uint8Array;
  expiresAt: number;
}

export interface OwnerQuery extends OwnerQueryFields {
  signature: Uint8Array;
}

/** A device id's 16 bytes (32 hex digits, else an Error). */
function deviceIdBytes(deviceId: string): Uint8Array {
  const b = fromHex(deviceId);
  if (b.length !== 16) throw new Error('device id must be 16 bytes');
  return b;
}

/** `version u8 | device_id 16 | owner 32 | response_key 32 | expires_at u32 | flags u8 (0)`. */
export function ownerQueryBody(q: OwnerQueryFields): Uint8Array {
  const deviceId = deviceIdBytes(q.deviceId);
  if (q.owner.length !== 32 || q.responseKey.length !== 32) throw new Error('keys must be 32 bytes');
  return concatBytes(new Uint8Array([QUERY_VERSION]), deviceId, q.owner, q.responseKey, u32be(q.expiresAt), new Uint8Array([0]));
}

export function ownerQuerySignedMessage(q: OwnerQueryFields, domain: Uint8Array): Uint8Array {
  return signedBytes(OWNER_QUERY_TAG, domain, ownerQueryBody(q));
}

export function encodeOwnerQuery(q: OwnerQuery): Uint8Array {
  return concatBytes(ownerQueryBody(q), q.signature);
}

export function signOwnerQuery(fields: Omit<OwnerQueryFields, 'owner'>, ownerSeed: Uint8Array, domain: Uint8Array): OwnerQuery {
  const q: OwnerQueryFields = { ...fields, owner: publicKeyFromSeed(ownerSeed) };
  return { ...q, signature: sign(ownerQuerySignedMessage(q, domain), ownerSeed) };
}

export function decodeOwnerQuery(bytes: Uint8Array): OwnerQuery {
  const r = new ByteReader(bytes, 'owner query');
  const version = r.u8();
  if (version !== QUERY_VERSION) throw new Error(`owner query version ${version} is not supported`);
  const deviceId = toHex(r.bytes(16));
  const owner = r.bytes(32);
  const responseKey = r.bytes(32);
  const expiresAt = r.u32();
  if (r.u8() !== 0) throw new Error('owner query flags must be 0');
  const signature = r.bytes(64);
  r.finish();
  return { deviceId, owner, responseKey, expiresAt, signature };
}

// ---- ownership statement (8.4), release and transfer code (8.4.1), objection (8.4.2) ----

/** A registrar's ownership recovery takes effect this long after it starts, unless the owner objects (8.4.2): seven days. */
export const RECOVERY_DELAY_S = 7 * 86_400;
/** The text form of a transfer code starts with this. */
export const TRANSFER_CODE_PREFIX = 'witness-transfer-1.';
/** `expires_at u32 ‖ signature 64`. */
export const RELEASE_LEN = 68;

/** The current owner's release of a device to whoever holds it next (8.4.1). */
export interface Release {
  /** Seconds since the Unix epoch, compared with the input's block time. */
  expiresAt: number;
  signature: Uint8Array;
}

/** Why the owner may change: 0 the device's first pairing, 1 the current owner's release. */
export type Consent = { kind: 'first_pairing' } | { kind: 'release'; release: Release };

export interface OwnershipStatement {
  deviceId: string;
  owner: Uint8Array;
  sequence: bigint;
  consent: Consent;
  deviceSignature: Uint8Array;
}

/** `device_id 16 ‖ owner 32 ‖ sequence u64`: what the device signs. */
function ownershipBody(s: Pick<OwnershipStatement, 'deviceId' | 'owner' | 'sequence'>): Uint8Array {
  if (s.owner.length !== 32) throw new Error('the owner key must be 32 bytes');
  return concatBytes(deviceIdBytes(s.deviceId), s.owner, u64be(s.sequence));
}

/** `expires_at u32 ‖ signature 64`: a transfer code's release bytes. */
export function encodeRelease(r: Release): Uint8Array {
  if (r.signature.length !== 64) throw new Error('a release signature is 64 bytes');
  return concatBytes(u32be(r.expiresAt), r.signature);
}

function readRelease(r: ByteReader): Release {
  return { expiresAt: r.u32(), signature: r.bytes(64) };
}

/** `device_id 16 | owner 32 | sequence u64 | consent u8 | [expires_at u32 | release 64 when 1] | device sig 64`. */
export function decodeOwnershipStatement(bytes: Uint8Array): OwnershipStatement {
  const r = new ByteReader(bytes, 'ownership statement');
  const deviceId = toHex(r.bytes(16));
  const owner = r.bytes(32);
  const sequence = r.u64();
  const tag = r.u8();
  if (tag > 1) throw new Error('ownership statement: invalid consent');
  const consent: Consent = tag === 1 ? { kind: 'release', release: readRelease(r) } : { kind: 'first_pairing' };
  const deviceSignature = r.bytes(64);
  r.finish();
  return { deviceId, owner, sequence, consent, deviceSignature };
}

export function encodeOwnershipStatement(s: OwnershipStatement): Uint8Array {
  const consent = s.consent.kind === 'release' ? concatBytes(new Uint8Array([1]), encodeRelease(s.consent.release)) : new Uint8Array([0]);
  return concatBytes(ownershipBody(s), consent, s.deviceSignature);
}

/** The device signs only the body, not the consent (8.4). */
export function ownershipSignedMessage(s: OwnershipStatement, domain: Uint8Array): Uint8Array {
  return signedBytes(OWNERSHIP_TAG, domain, ownershipBody(s));
}

export function verifyOwnershipStatement(s: OwnershipStatement, devicePublicKey: Uint8Array, domain: Uint8Array): boolean {
  return verifyStrict(s.deviceSignature, ownershipSignedMessage(s, domain), devicePublicKey);
}

/**
 * `OWNERSHIP_RELEASE_TAG ‖ domain ‖ device_id 16 ‖ released_sequence u64 ‖ expires_at u32`:
 * `releasedSequence` is the ownership sequence of the binding the release ends (the leaf's).
 */
export function releaseSignedMessage(domain: Uint8Array, deviceId: string, releasedSequence: bigint, expiresAt: number): Uint8Array {
  return signedBytes(OWNERSHIP_RELEASE_TAG, domain, concatBytes(deviceIdBytes(deviceId), u64be(releasedSequence), u32be(expiresAt)));
}

/** The owner releases binding `releasedSequence` of the device until `expiresAt`. */
export function signRelease(ownerSeed: Uint8Array, domain: Uint8Array, deviceId: string, releasedSequence: bigint, expiresAt: number): Release {
  return { expiresAt, signature: sign(releaseSignedMessage(domain, deviceId, releasedSequence, expiresAt), ownerSeed) };
}

export function verifyRelease(r: Release, owner: Uint8Array, domain: Uint8Array, deviceId: string, releasedSequence: bigint): boolean {
  return verifyStrict(r.signature, releaseSignedMessage(domain, deviceId, releasedSequence, r.expiresAt), owner);
}

/** What a seller hands the buyer (8.4.1): the device and the owner's release. A bearer code: it names no buyer. */
export interface TransferCode {
  deviceId: string;
  release: Release;
}

/** `witness-transfer-1.` ‖ hex(device_id 16 ‖ expires_at u32 ‖ signature 64). */
export function transferCodeText(c: TransferCode): string {
  return TRANSFER_CODE_PREFIX + toHex(concatBytes(deviceIdBytes(c.deviceId), encodeRelease(c.release)));
}

/** Parses the text form (surrounding whitespace ignored); throws an Error a person can read. */
export function parseTransferCode(text: string): TransferCode {
  const t = text.trim();
  if (!t.startsWith(TRANSFER_CODE_PREFIX)) throw new Error(`a transfer code starts with "${TRANSFER_CODE_PREFIX}"`);
  const hex = t.slice(TRANSFER_CODE_PREFIX.length);
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) throw new Error('the transfer code is damaged: it is not hexadecimal after its prefix');
  const r = new ByteReader(fromHex(hex), 'transfer code');
  const deviceId = toHex(r.bytes(16));
  const release = readRelease(r);
  r.finish();
  return { deviceId, release };
}

/** The current owner objects to the pending recovery that would take effect at `effectiveAt` (8.4.2). */
export interface OwnerObjection {
  deviceId: string;
  owner: Uint8Array;
  effectiveAt: bigint;
  signature: Uint8Array;
}

/** `device_id 16 ‖ owner 32 ‖ effective_at u64`. */
function objectionBody(o: Omit<OwnerObjection, 'signature'>): Uint8Array {
  if (o.owner.length !== 32) throw new Error('the owner key must be 32 bytes');
  return concatBytes(deviceIdBytes(o.deviceId), o.owner, u64be(o.effectiveAt));
}

export function objectionSignedMessage(o: Omit<OwnerObjection, 'signature'>, domain: Uint8Array): Uint8Array {
  return signedBytes(OBJECTION_TAG, domain, objectionBody(o));
}

export function signObjection(fields: { deviceId: string; effectiveAt: bigint }, ownerSeed: Uint8Array, domain: Uint8Array): OwnerObjection {
  const o = { ...fields, owner: publicKeyFromSeed(ownerSeed) };
  return { ...o, signature: sign(objectionSignedMessage(o, domain), ownerSeed) };
}

/** Checks the signature under the embedded owner key (whether it owns the device is the rollup's decision). */
export function verifyObjection(o: OwnerObjection, domain: Uint8Array): boolean {
  return verifyStrict(o.signature, objectionSignedMessage(o, domain), o.owner);
}

/** `device_id 16 | owner 32 | effective_at u64 | signature 64`: 120 bytes (input kind 5). */
export function encodeObjection(o: OwnerObjection): Uint8Array {
  return concatBytes(objectionBody(o), o.signature);
}

export function decodeObjection(bytes: Uint8Array): OwnerObjection {
  const r = new ByteReader(bytes, 'objection');
  const o = { deviceId: toHex(r.bytes(16)), owner: r.bytes(32), effectiveAt: r.u64(), signature: r.bytes(64) };
  r.finish();
  return o;
}

export function isDeviceId(text: string): boolean {
  return /^[0-9a-f]{32}$/.test(text);
}

// ---- commitment openings (7.3, 7.4) ----

export const COMMIT_TAG = utf8('witness/v1/commit');

export interface Opening {
  deviceId: string;
  counter: bigint;
  blinding: Uint8Array;
  reading: Reading;
  readingBytes: Uint8Array;
}

/** `device_id 16 | counter u64 | blinding 32 | standalone reading`, nothing after. */
export function decodeOpening(bytes: Uint8Array): Opening {
  const r = new ByteReader(bytes, 'opening');
  const deviceId = toHex(r.bytes(16));
  const counter = r.u64();
  const blinding = r.bytes(32);
  const start = bytes.length - r.remaining;
  const reading = readReading(r);
  r.finish();
  return { deviceId, counter, blinding, reading, readingBytes: bytes.slice(start) };
}

/** `SHA-256("witness/v1/commit" ‖ device_id ‖ u64(counter) ‖ blinding ‖ standalone reading)`, hex. */
export function commitmentOf(opening: Opening): string {
  return toHex(sha256(concatBytes(COMMIT_TAG, fromHex(opening.deviceId), u64be(opening.counter), opening.blinding, opening.readingBytes)));
}
