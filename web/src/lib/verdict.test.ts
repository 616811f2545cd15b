import { describe, expect, it } from 'vitest';
import { fromHex } from './hex';
import { decodeLeaf } from './state';
import { decodeOpening, decodePossessionProof, type Opening } from './protocol';
import { decide } from './verdict';
import { ofKind, str } from '../test/vectors';

describe('verdict rules (vectors of kind verdict, PROTOCOL.md 17.3)', () => {
  const all = ofKind('verdict');
  it('has a vector for each rule', () => {
    expect(new Set(all.map((v) => v.expected_verdict))).toEqual(new Set(['unknown_device', 'revoked', 'cannot_confirm', 'no_history', 'flagged', 'rollback', 'consistent']));
  });
  for (const v of all) {
    it(`${v.name}: ${String(v.description ?? '')}`, () => {
      const leaf = typeof v.leaf === 'string' ? decodeLeaf(fromHex(v.leaf)) : null;
      let opening: Opening | undefined;
      if (typeof v.opening === 'string') {
        try {
          opening = decodeOpening(fromHex(v.opening));
        } catch {
          opening = undefined; // an opening that does not decode is no opening
        }
      }
      const decision = decide({
        deviceId: str(v, 'device_id'),
        leaf,
        proof: decodePossessionProof(fromHex(str(v, 'possession_proof'))),
        nonce: str(v, 'nonce'),
        domain: fromHex(v.domain),
        opening,
      });
      expect(decision.verdict).toBe(v.expected_verdict);
      expect(decision.findings[0]?.code).toBe(v.expected_finding);
    });
  }
});
