import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './hex';
import { L, isValidPublicKey, publicKeyFromSeed, sign, verifyStrict } from './ed25519';
import {
  commitmentOf,
  decodeOpening,
  decodeOwnerQuery,
  decodeOwnershipStatement,
  decodePossessionProof,
  domainBytes,
  encodeOwnerQuery,
  encodeReading,
  formatFaultCode,
  ownerQuerySignedMessage,
  ownershipSignedMessage,
  parseFaultCode,
  possessionSignedMessage,
  signOwnerQuery,
  verifyOwnershipStatement,
  verifyPossessionProof,
} from './protocol';
import { vector, vectors } from '../test/vectors';

const must = (v: string | undefined) => {
  if (v === undefined) throw new Error('missing vector field');
  return v;
};

describe('possession proof (vector possession_proof)', () => {
  const v = vector('possession_proof');
  const backend = fromHex(v.domain);
  const proof = decodePossessionProof(fromHex(must(v.message)));

  it('decodes the fields', () => {
    expect(proof.nonce).toBe(v.nonce);
    expect(proof.reading).toEqual(v.readings?.[0]);
    expect(toHex(proof.signature)).toBe(v.signature);
  });

  it('rebuilds exactly the signed bytes', () => {
    expect(toHex(possessionSignedMessage(proof, backend))).toBe(v.signed_message);
  });

  it('verifies under the device key and nothing else', () => {
    const key = fromHex(must(v.signer_public_key));
    expect(verifyPossessionProof(proof, key, backend)).toBe(true);
    // Another chain, application or backend key, another device's key, a changed reading: all fail.
    expect(domainBytes(v.chain_id, fromHex(v.application), fromHex(v.backend_public_key))).toEqual(backend);
    for (const offset of [7, 8, 28]) {
      const elsewhere = backend.slice();
      elsewhere[offset] = (elsewhere[offset] ?? 0) ^ 1;
      expect(verifyPossessionProof(proof, key, elsewhere)).toBe(false);
    }
    expect(verifyPossessionProof(proof, fromHex(vector('owner_query').signer_public_key ?? ''), backend)).toBe(false);
    const altered = fromHex(must(v.message));
    altered[60] = (altered[60] ?? 0) ^ 0x01; // inside the counter
    expect(verifyPossessionProof(decodePossessionProof(altered), key, backend)).toBe(false);
  });

  it('re-encodes the reading in its standalone form', () => {
    const reading = v.readings?.[0];
    if (!reading) throw new Error('no reading');
    const bytes = fromHex(must(v.message));
    const readingBytes = encodeReading(reading);
    expect(toHex(bytes.slice(1 + 16 + 32 + 8, 1 + 16 + 32 + 8 + readingBytes.length))).toBe(toHex(readingBytes));
  });

  it('rejects trailing bytes, truncation and other versions', () => {
    const bytes = fromHex(must(v.message));
    expect(() => decodePossessionProof(new Uint8Array([...bytes, 0]))).toThrow(/trailing/);
    expect(() => decodePossessionProof(bytes.slice(0, -1))).toThrow(/truncated/);
    // Version 1 signed without the chain and the application.
    const v1 = bytes.slice();
    v1[0] = 1;
    expect(() => decodePossessionProof(v1)).toThrow(/version/);
  });
});

describe('owner query (vector owner_query)', () => {
  const v = vector('owner_query');
  const backend = fromHex(v.domain);
  const message = fromHex(must(v.message));
  const q = decodeOwnerQuery(message);

  it('re-encodes from its fields to the same bytes', () => {
    expect(toHex(encodeOwnerQuery(q))).toBe(v.message);
    expect(toHex(ownerQuerySignedMessage(q, backend))).toBe(v.signed_message);
    expect(toHex(q.owner)).toBe(v.signer_public_key);
  });

  it('verifies the owner signature strictly', () => {
    expect(verifyStrict(q.signature, ownerQuerySignedMessage(q, backend), q.owner)).toBe(true);
    const bad = q.signature.slice();
    bad[63] = (bad[63] ?? 0) ^ 0x01;
    expect(verifyStrict(bad, ownerQuerySignedMessage(q, backend), q.owner)).toBe(false);
  });

  it('signing the same fields with the owner seed gives the same bytes (Ed25519 is deterministic)', () => {
    const signed = signOwnerQuery({ deviceId: q.deviceId, responseKey: q.responseKey, expiresAt: q.expiresAt }, fromHex(must(v.signer_seed)), backend);
    expect(toHex(encodeOwnerQuery(signed))).toBe(v.message);
  });

  it('rejects non-zero flags', () => {
    const bad = message.slice();
    bad[85] = 1;
    expect(() => decodeOwnerQuery(bad)).toThrow(/flags/);
  });
});

describe('ownership statements', () => {
  for (const name of ['ownership_pairing', 'ownership_sale_countersigned']) {
    it(`${name}: decodes and verifies the device signature`, () => {
      const v = vector(name);
      const backend = fromHex(v.domain);
      const s = decodeOwnershipStatement(fromHex(must(v.message)));
      expect(toHex(ownershipSignedMessage(s, backend))).toBe(v.signed_message);
      expect(verifyOwnershipStatement(s, fromHex(must(v.signer_public_key)), backend)).toBe(true);
      expect(s.release === undefined).toBe(v.release_signature === undefined);
      const other = fromHex(vector('possession_proof').signer_public_key ?? '');
      expect(verifyOwnershipStatement(s, other, backend)).toBe(false);
    });
  }
});

describe('strict Ed25519 (PROTOCOL.md 3.2)', () => {
  const seed = new Uint8Array(32).fill(7);
  const pub = publicKeyFromSeed(seed);
  const msg = new TextEncoder().encode('witness');
  const sig = sign(msg, seed);

  it('accepts a good signature', () => {
    expect(verifyStrict(sig, msg, pub)).toBe(true);
  });

  it('rejects a non-canonical S (S + L)', () => {
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] ?? 0);
    s += L;
    const malleated = sig.slice();
    for (let i = 32; i < 64; i++) {
      malleated[i] = Number(s & 0xffn);
      s >>= 8n;
    }
    expect(verifyStrict(malleated, msg, pub)).toBe(false);
  });

  it('rejects small-order and non-canonical public keys', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1; // y = 1: the neutral element, small order
    expect(isValidPublicKey(identity)).toBe(false);
    expect(verifyStrict(sig, msg, identity)).toBe(false);
    const nonCanonical = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'); // y = p
    expect(isValidPublicKey(nonCanonical)).toBe(false);
    expect(isValidPublicKey(pub)).toBe(true);
  });

  it('verifies every valid statement vector', () => {
    for (const v of vectors.filter((x) => x.valid && x.signer_public_key && x.signed_message && x.signature)) {
      expect(verifyStrict(fromHex(must(v.signature)), fromHex(must(v.signed_message)), fromHex(must(v.signer_public_key))), v.name).toBe(true);
    }
  });
});

describe('commitment openings (7.3, 7.4)', () => {
  it('every opening of every valid envelope vector recomputes its commitment', () => {
    const withOpenings = vectors.filter((v) => v.kind === 'envelope' && v.valid && v.openings);
    expect(withOpenings.length).toBeGreaterThan(0);
    for (const v of withOpenings) {
      (v.openings ?? []).forEach((hex, i) => {
        const opening = decodeOpening(fromHex(hex));
        expect(opening.deviceId).toBe(v.device_id);
        expect(commitmentOf(opening)).toBe(v.commitments?.[i]);
        expect(opening.reading).toEqual(v.readings?.[i]);
      });
    }
  });
});

describe('fault codes', () => {
  it('formats and parses OBD-II codes', () => {
    expect(formatFaultCode(0x0301)).toBe('P0301');
    expect(formatFaultCode(0xc001)).toBe('U0001');
    for (const t of ['P0301', 'C1234', 'B0001', 'U3FFF', 'P0420']) expect(formatFaultCode(parseFaultCode(t))).toBe(t);
    expect(() => parseFaultCode('P4000')).toThrow();
    expect(() => parseFaultCode('X0301')).toThrow();
  });
});
