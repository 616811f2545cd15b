import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './hex';
import { L, isValidPublicKey, publicKeyFromSeed, sign, verifyStrict } from './ed25519';
import {
  commitmentOf,
  decodeOpening,
  decodeOwnerQuery,
  decodeObjection,
  decodeOwnershipStatement,
  decodePossessionProof,
  domainBytes,
  encodeObjection,
  encodeOwnerQuery,
  encodeOwnershipStatement,
  encodeReading,
  encodeRelease,
  objectionSignedMessage,
  formatFaultCode,
  ownerQuerySignedMessage,
  ownershipSignedMessage,
  parseFaultCode,
  parseTransferCode,
  possessionSignedMessage,
  releaseSignedMessage,
  RELEASE_LEN,
  signObjection,
  signOwnerQuery,
  signRelease,
  TRANSFER_CODE_PREFIX,
  transferCodeText,
  verifyObjection,
  verifyOwnershipStatement,
  verifyPossessionProof,
  verifyRelease,
} from './protocol';
import { str, vector, vectors } from '../test/vectors';

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

describe('ownership statements (vectors ownership_pairing, ownership_sale_released)', () => {
  for (const name of ['ownership_pairing', 'ownership_sale_released']) {
    it(`${name}: decodes, re-encodes, and verifies the device signature over the body alone`, () => {
      const v = vector(name);
      const backend = fromHex(v.domain);
      const bytes = fromHex(must(v.message));
      const s = decodeOwnershipStatement(bytes);
      expect(toHex(encodeOwnershipStatement(s))).toBe(v.message);
      expect(toHex(ownershipSignedMessage(s, backend))).toBe(v.signed_message);
      expect(toHex(s.deviceSignature)).toBe(v.signature);
      expect(verifyOwnershipStatement(s, fromHex(must(v.signer_public_key)), backend)).toBe(true);
      expect(s.consent.kind).toBe(name === 'ownership_pairing' ? 'first_pairing' : 'release');
      const other = fromHex(vector('possession_proof').signer_public_key ?? '');
      expect(verifyOwnershipStatement(s, other, backend)).toBe(false);
      // The input carries it as message kind 4.
      expect((v.input as string).endsWith('04' + must(v.message))).toBe(true);
    });
  }

  it('ownership_pairing: consent 0, nothing between it and the device signature (first pairing, 121 bytes)', () => {
    const bytes = fromHex(must(vector('ownership_pairing').message));
    expect(bytes.length).toBe(56 + 1 + 64);
    expect(bytes[56]).toBe(0);
  });

  it('refuses a consent byte other than 0 and 1, a statement cut short and trailing bytes', () => {
    const bytes = fromHex(must(vector('ownership_pairing').message));
    const two = bytes.slice();
    two[56] = 2;
    expect(() => decodeOwnershipStatement(two)).toThrow(/consent/);
    expect(() => decodeOwnershipStatement(bytes.slice(0, -1))).toThrow(/truncated/);
    expect(() => decodeOwnershipStatement(new Uint8Array([...bytes, 0]))).toThrow(/trailing/);
    // A first pairing relabelled as a release lacks its 68 bytes.
    const relabelled = bytes.slice();
    relabelled[56] = 1;
    expect(() => decodeOwnershipStatement(relabelled)).toThrow(/truncated/);
  });
});

describe('the release and its transfer code (vector ownership_sale_released, PROTOCOL.md 8.4.1)', () => {
  const v = vector('ownership_sale_released');
  const backend = fromHex(v.domain);
  const s = decodeOwnershipStatement(fromHex(must(v.message)));
  const seller = fromHex(str(v, 'release_signer_seed'));
  const released = BigInt(v.released_sequence as number);
  const expires = v.release_expires_at as number;

  it('the statement carries the release: expiry and signature', () => {
    if (s.consent.kind !== 'release') throw new Error('no release');
    expect(s.consent.release.expiresAt).toBe(expires);
    expect(toHex(s.consent.release.signature)).toBe(v.release_signature);
    // The transfer code's text carries the device and exactly these 68 bytes.
    expect(TRANSFER_CODE_PREFIX + s.deviceId + toHex(encodeRelease(s.consent.release))).toBe(v.transfer_code);
    expect(encodeRelease(s.consent.release).length).toBe(RELEASE_LEN);
    // The released binding is the one before the statement's.
    expect(released).toBe(s.sequence - 1n);
  });

  it('rebuilds exactly the bytes the owner signs: tag, domain, device, released sequence, expiry', () => {
    expect(toHex(releaseSignedMessage(backend, s.deviceId, released, expires))).toBe(v.release_signed_message);
  });

  it('signing with the owner seed gives the same signature; it verifies under the owner key and nothing else', () => {
    const release = signRelease(seller, backend, s.deviceId, released, expires);
    expect(toHex(release.signature)).toBe(v.release_signature);
    const owner = publicKeyFromSeed(seller);
    expect(verifyRelease(release, owner, backend, s.deviceId, released)).toBe(true);
    // Another binding (one-time: the sequence moves on), device, expiry, owner or deployment: refused.
    expect(verifyRelease(release, owner, backend, s.deviceId, released + 1n)).toBe(false);
    expect(verifyRelease(release, owner, backend, 'ee'.repeat(16), released)).toBe(false);
    expect(verifyRelease({ ...release, expiresAt: expires + 1 }, owner, backend, s.deviceId, released)).toBe(false);
    expect(verifyRelease(release, s.owner, backend, s.deviceId, released)).toBe(false);
    const elsewhere = backend.slice();
    elsewhere[7] = (elsewhere[7] ?? 0) ^ 1;
    expect(verifyRelease(release, owner, elsewhere, s.deviceId, released)).toBe(false);
  });

  it('the transfer code: "witness-transfer-1." and the hex of device ‖ expiry ‖ signature, read back whitespace and all', () => {
    const release = signRelease(seller, backend, s.deviceId, released, expires);
    const text = transferCodeText({ deviceId: s.deviceId, release });
    expect(text).toBe(v.transfer_code);
    expect(text.length).toBe(TRANSFER_CODE_PREFIX.length + 2 * (16 + 68));
    const back = parseTransferCode(`  ${text}\n`);
    expect(back.deviceId).toBe(s.deviceId);
    expect(back.release.expiresAt).toBe(expires);
    expect(toHex(back.release.signature)).toBe(v.release_signature);
  });

  it('refuses another prefix, damaged hex, a code cut short or too long', () => {
    const text = transferCodeText({ deviceId: s.deviceId, release: signRelease(seller, backend, s.deviceId, released, expires) });
    expect(() => parseTransferCode(text.replace('-1.', '-2.'))).toThrow(/starts with/);
    expect(() => parseTransferCode(text.slice(0, -1))).toThrow(/hexadecimal/);
    expect(() => parseTransferCode(text.slice(0, -1) + 'g')).toThrow(/hexadecimal/);
    expect(() => parseTransferCode(text.slice(0, -2))).toThrow(/truncated/);
    expect(() => parseTransferCode(text + '00')).toThrow(/trailing/);
  });
});

describe('owner objection (vector ownership_objection, PROTOCOL.md 8.4.2)', () => {
  const v = vector('ownership_objection');
  const backend = fromHex(v.domain);
  const bytes = fromHex(must(v.message));
  const o = decodeObjection(bytes);

  it('is 120 bytes: device, owner, effective at, signature; re-encodes to the same bytes', () => {
    expect(bytes.length).toBe(120);
    expect(toHex(o.owner)).toBe(v.signer_public_key);
    expect(toHex(encodeObjection(o))).toBe(v.message);
    expect(toHex(objectionSignedMessage(o, backend))).toBe(v.signed_message);
    // The input carries it as message kind 5.
    expect((v.input as string).endsWith('05' + must(v.message))).toBe(true);
  });

  it('signing with the owner seed gives the same bytes; it verifies, and not once altered', () => {
    const signed = signObjection({ deviceId: o.deviceId, effectiveAt: o.effectiveAt }, fromHex(must(v.signer_seed)), backend);
    expect(toHex(encodeObjection(signed))).toBe(v.message);
    expect(verifyObjection(o, backend)).toBe(true);
    // Named by the time the recovery would take effect: it does not stop a later one.
    expect(verifyObjection({ ...o, effectiveAt: o.effectiveAt + 1n }, backend)).toBe(false);
    const elsewhere = backend.slice();
    elsewhere[28] = (elsewhere[28] ?? 0) ^ 1;
    expect(verifyObjection(o, elsewhere)).toBe(false);
  });

  it('refuses one cut short and trailing bytes', () => {
    expect(() => decodeObjection(bytes.slice(0, -1))).toThrow(/truncated/);
    expect(() => decodeObjection(new Uint8Array([...bytes, 0]))).toThrow(/trailing/);
  });
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
