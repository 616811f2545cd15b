/**
 * HPKE (RFC 9180) base mode, suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * ChaCha20-Poly1305, single-shot (sequence 0), from @noble primitives. Plain JavaScript, so it
 * also works where WebCrypto's `subtle` is unavailable (a dashboard served over plain HTTP on
 * a LAN address). Cross-checked against @hpke/core and the Rust implementation in the tests.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { extract, expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes, randomBytes, u16be, utf8 } from './hex';

/** HPKE info of sealed responses (PROTOCOL.md 3.3). */
export const RESPONSE_INFO = utf8('witness/v1/response');

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const KEM_SUITE = concatBytes(utf8('KEM'), u16be(KEM_ID));
const HPKE_SUITE = concatBytes(utf8('HPKE'), u16be(KEM_ID), u16be(KDF_ID), u16be(AEAD_ID));
const V1 = utf8('HPKE-v1');
const EMPTY = new Uint8Array(0);

function labeledExtract(suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concatBytes(V1, suite, utf8(label), ikm), salt);
}

function labeledExpand(suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  return expand(sha256, prk, concatBytes(u16be(length), V1, suite, utf8(label), info), length);
}

export interface X25519KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** RFC 9180 7.1.3 DeriveKeyPair for X25519. */
export function deriveKeyPair(ikm: Uint8Array): X25519KeyPair {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'dkp_prk', ikm);
  const secretKey = labeledExpand(KEM_SUITE, prk, 'sk', EMPTY, 32);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** A fresh one-time key pair (for the owner query's response key). */
export function generateKeyPair(): X25519KeyPair {
  return deriveKeyPair(randomBytes(32));
}

function dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(secretKey, publicKey);
  if (shared.every((b) => b === 0)) throw new Error('HPKE: invalid encapsulated key');
  return shared;
}

function extractAndExpand(dhSecret: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dhSecret);
  return labeledExpand(KEM_SUITE, prk, 'shared_secret', kemContext, 32);
}

function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const pskIdHash = labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(HPKE_SUITE, EMPTY, 'info_hash', info);
  const context = concatBytes(new Uint8Array([0x00]), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, 'secret', EMPTY);
  return {
    key: labeledExpand(HPKE_SUITE, secret, 'key', context, 32),
    nonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, 12),
  };
}

/** Opens `enc 32 ‖ ciphertext` sealed to `recipient`. Throws a readable error on failure. */
export function openSealed(recipient: X25519KeyPair, sealed: Uint8Array, aad: Uint8Array, info = RESPONSE_INFO): Uint8Array {
  if (sealed.length < 32 + 16) throw new Error('sealed answer is truncated');
  const enc = sealed.slice(0, 32);
  const sharedSecret = extractAndExpand(dh(recipient.secretKey, enc), concatBytes(enc, recipient.publicKey));
  const { key, nonce } = keySchedule(sharedSecret, info);
  try {
    return chacha20poly1305(key, nonce, aad).decrypt(sealed.slice(32));
  } catch {
    throw new Error('the sealed answer does not open with this response key (wrong key, or altered in transit)');
  }
}

/** Seals to `recipientPublicKey`: `enc 32 ‖ ciphertext`. `ephemeralSeed` only for tests. */
export function seal(recipientPublicKey: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, info = RESPONSE_INFO, ephemeralSeed?: Uint8Array): Uint8Array {
  const eph = deriveKeyPair(ephemeralSeed ?? randomBytes(32));
  const sharedSecret = extractAndExpand(dh(eph.secretKey, recipientPublicKey), concatBytes(eph.publicKey, recipientPublicKey));
  const { key, nonce } = keySchedule(sharedSecret, info);
  return concatBytes(eph.publicKey, chacha20poly1305(key, nonce, aad).encrypt(plaintext));
}
