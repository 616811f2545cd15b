import { describe, expect, it } from 'vitest';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes, fromHex, toHex, u64be } from './hex';
import { attestationNotice, DEVICE } from '../test/fixtures';
import { decodeNoticeOutput, encodeNoticeOutput, findAttestation, outputsMerkleRoot, parseNoticePayload } from './notices';

const OTHER = '0f5b2510f0171320dffcfdc818c20c55';
const C1 = 'd77f22ab2411e965870cf3516e3c30714aa01e98b8a135c57d3dc5c4631268e7';
const E1 = 'aa'.repeat(32);

describe('notice outputs', () => {
  const payload = attestationNotice(7, [
    [OTHER, 3, 'bb'.repeat(32), 'cc'.repeat(32)],
    [DEVICE, 12, C1, E1],
  ]);

  it('ABI Notice(bytes) round-trips and is checked', () => {
    const raw = encodeNoticeOutput(payload);
    expect(toHex(raw.slice(0, 4))).toBe('c258d6e5');
    expect(raw.length % 32).toBe(4);
    expect(toHex(decodeNoticeOutput(raw))).toBe(toHex(payload));
    const voucher = raw.slice();
    voucher[0] = 0x23;
    expect(() => decodeNoticeOutput(voucher)).toThrow(/not a notice/);
    expect(() => decodeNoticeOutput(raw.slice(0, raw.length - 32))).toThrow();
  });

  it('parses an attestation notice and finds the device entry', () => {
    const n = parseNoticePayload(payload);
    expect(n.kind).toBe('attestation');
    if (n.kind !== 'attestation') return;
    expect(n.inputIndex).toBe(7n);
    expect(n.entries).toHaveLength(2);
    expect(findAttestation(n, DEVICE, 12, C1)).toMatchObject({ found: true, entry: { counter: 12n, commitment: C1, envelopeHash: E1 } });
    expect(findAttestation(n, DEVICE, 13)).toMatchObject({ found: false });
    expect(findAttestation(n, DEVICE, 12, 'ff'.repeat(32))).toMatchObject({ found: false, reason: expect.stringMatching(/different reading/) });
    expect(findAttestation(n, 'ff'.repeat(16), 12)).toMatchObject({ found: false });
  });

  it('parses tamper and correction notices, rejects unknown kinds and trailing bytes', () => {
    const tamper = concatBytes(new Uint8Array([1, 2]), fromHex(DEVICE), u64be(9), u64be(8), u64be(4), fromHex(C1));
    expect(parseNoticePayload(tamper)).toEqual({ kind: 'tamper', deviceId: DEVICE, counter: 9n, referenceCounter: 8n, inputIndex: 4n, commitment: C1 });
    expect(findAttestation(parseNoticePayload(tamper), DEVICE, 9)).toMatchObject({ found: false, reason: expect.stringMatching(/tamper/) });
    const correction = concatBytes(new Uint8Array([1, 3]), fromHex(DEVICE), u64be(9), fromHex('dd'.repeat(32)), u64be(5));
    expect(parseNoticePayload(correction)).toMatchObject({ kind: 'correction', counter: 9n, inputIndex: 5n });
    expect(() => parseNoticePayload(new Uint8Array([1, 9]))).toThrow(/unknown notice kind/);
    expect(() => parseNoticePayload(concatBytes(tamper, new Uint8Array([0])))).toThrow(/trailing/);
    expect(() => parseNoticePayload(attestationNotice(1, []).slice(0, 10))).toThrow(/truncated/);
  });
});

describe('output Merkle proofs', () => {
  // Hashes of empty subtrees: level 0 is the zero leaf.
  const zero: Uint8Array[] = [new Uint8Array(32)];
  for (let i = 1; i <= 63; i++) zero.push(keccak_256(concatBytes(zero[i - 1] as Uint8Array, zero[i - 1] as Uint8Array)));

  it('a lone output at index 0 climbs past empty subtrees', () => {
    const out = encodeNoticeOutput(attestationNotice(0, [[DEVICE, 1, C1, E1]]));
    let expected = keccak_256(out);
    for (let i = 0; i < 63; i++) expected = keccak_256(concatBytes(expected, zero[i] as Uint8Array));
    const siblings = zero.slice(0, 63).map((z) => '0x' + toHex(z));
    expect(outputsMerkleRoot(out, 0n, siblings)).toBe('0x' + toHex(expected));
  });

  it('an output at index 1 is the right child', () => {
    const a = encodeNoticeOutput(attestationNotice(0, [[DEVICE, 1, C1, E1]]));
    const b = encodeNoticeOutput(attestationNotice(1, [[DEVICE, 2, C1, E1]]));
    let expected = keccak_256(concatBytes(keccak_256(a), keccak_256(b)));
    for (let i = 1; i < 63; i++) expected = keccak_256(concatBytes(expected, zero[i] as Uint8Array));
    const siblings = ['0x' + toHex(keccak_256(a)), ...zero.slice(1, 63).map((z) => '0x' + toHex(z))];
    expect(outputsMerkleRoot(b, 1n, siblings)).toBe('0x' + toHex(expected));
    expect(() => outputsMerkleRoot(b, 1n, siblings.slice(1))).toThrow(/63 siblings/);
  });
});
