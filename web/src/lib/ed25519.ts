/**
 * Ed25519 as PROTOCOL.md 3.2 specifies it: pure, strict, cofactorless with a byte comparison
 * of R. Built on @noble/curves' point arithmetic; noble's own `verify` uses the cofactored
 * equation, which accepts signatures the protocol rejects, so it is not used here.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes } from './hex';

const Point = ed25519.Point;
/** Order of the prime subgroup. */
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

function leToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] ?? 0);
  return v;
}

type EdPoint = ReturnType<typeof Point.fromBytes>;

/** Decodes a point per RFC 8032 5.1.3 with canonical y; `undefined` if it does not decode. */
function decodePoint(bytes: Uint8Array): EdPoint | undefined {
  if (bytes.length !== 32) return undefined;
  const y = leToBigint(bytes) & ((1n << 255n) - 1n);
  if (y >= P) return undefined;
  try {
    const point = Point.fromBytes(bytes, false);
    // x = 0 with the sign bit set is not a valid encoding.
    if (point.toAffine().x === 0n && ((bytes[31] ?? 0) & 0x80) !== 0) return undefined;
    return point;
  } catch {
    return undefined;
  }
}

/** Whether `key` is a valid protocol public key: canonical and not of small order. */
export function isValidPublicKey(key: Uint8Array): boolean {
  const point = decodePoint(key);
  return point !== undefined && !point.isSmallOrder();
}

/** Strict verification (PROTOCOL.md 3.2 steps 1 to 5). Never throws. */
export function verifyStrict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const rBytes = signature.slice(0, 32);
  const s = leToBigint(signature.slice(32));
  if (s >= L) return false;
  const A = decodePoint(publicKey);
  if (!A || A.isSmallOrder()) return false;
  const R = decodePoint(rBytes);
  if (!R || R.isSmallOrder()) return false;
  const k = leToBigint(sha512(concatBytes(rBytes, publicKey, message))) % L;
  const sB = s === 0n ? Point.ZERO : Point.BASE.multiply(s);
  const kA = k === 0n ? Point.ZERO : A.multiplyUnsafe(k);
  return equalBytes(sB.subtract(kA).toBytes(), rBytes);
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

export function sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}
