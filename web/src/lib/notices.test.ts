import { describe, expect, it } from 'vitest';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex, u32be, utf8 } from './hex';
import { codeOf } from './codec';
import {
  decodeHistoryNotice,
  decodeNoticeOutput,
  decodeStateNotice,
  encodeNoticeOutput,
  encodeStateNotice,
  openHistoryValues,
  outputsMerkleRoot,
  type HistoryEntry,
  type HistoryNotice,
} from './notices';
import { ofKind, str, vector, type Vector } from '../test/vectors';

const errorOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return codeOf(e) ?? String(e);
  }
};

const num = (v: bigint | null) => (v === null ? null : Number(v));

function entryJson(e: HistoryEntry): Record<string, unknown> {
  switch (e.kind) {
    case 'registered':
      return { type: 'registered', model: e.model, registrar: e.registrar };
    case 'reading':
      return { type: 'reading', counter: Number(e.counter), commitment: e.commitment, envelope_hash: e.envelopeHash, rollback_of: num(e.rollbackOf) };
    case 'corrected':
      return { type: 'corrected', counter: Number(e.counter), odometer_m: Number(e.odometerM), registrar: e.registrar, reason: e.reason };
    case 'key_rotated':
      return { type: 'key_rotated', new_key: e.newKey };
    case 'revoked':
      return { type: 'revoked', reason: e.reason };
    case 'owner_changed':
      return { type: 'owner_changed', sequence: Number(e.sequence), consented: e.consented, owner: e.owner };
  }
}

function fieldsOf(n: HistoryNotice): Record<string, unknown> {
  return {
    device_id: n.deviceId,
    input_index: Number(n.inputIndex),
    block_timestamp: Number(n.blockTimestamp),
    era: n.era,
    position: Number(n.position),
    previous_input: num(n.previousInput),
    entries: n.entries.map(entryJson),
  };
}

describe('Notice(bytes) outputs', () => {
  const payload = fromHex(str(vector('state_notice_eight_devices'), 'notice'));
  it('round-trips and is strict', () => {
    const raw = encodeNoticeOutput(payload);
    expect(toHex(raw.slice(0, 4))).toBe('c258d6e5');
    expect(raw.length % 32).toBe(4);
    expect(toHex(decodeNoticeOutput(raw))).toBe(toHex(payload));
    const voucher = raw.slice();
    voucher[0] = 0x23;
    expect(() => decodeNoticeOutput(voucher)).toThrow(/not a notice/);
    expect(() => decodeNoticeOutput(raw.slice(0, raw.length - 32))).toThrow();
    const dirty = raw.slice();
    dirty[dirty.length - 1] = 1;
    expect(() => decodeNoticeOutput(dirty)).toThrow(/padding/);
  });

  it('computes the outputs root a proof leads to', () => {
    const raw = encodeNoticeOutput(payload);
    const siblings = Array.from({ length: 63 }, (_, i) => '0x' + toHex(new Uint8Array(32).fill(i)));
    let node = keccak_256(raw);
    let i = 5n;
    for (const s of siblings) {
      node = (i & 1n) === 0n ? keccak_256(concatBytes(node, fromHex(s))) : keccak_256(concatBytes(fromHex(s), node));
      i >>= 1n;
    }
    expect(outputsMerkleRoot(raw, 5n, siblings)).toBe('0x' + toHex(node));
    expect(outputsMerkleRoot(raw, 4n, siblings)).not.toBe('0x' + toHex(node));
    expect(() => outputsMerkleRoot(raw, 5n, siblings.slice(1))).toThrow(/63/);
  });
});

describe('state notice (vectors of kind state_notice)', () => {
  const all = ofKind('state_notice');
  it('has vectors', () => expect(all.length).toBeGreaterThan(5));
  for (const v of all) {
    it(v.name, () => {
      const bytes = fromHex(str(v, 'notice'));
      if (!v.valid) return expect(errorOf(() => decodeStateNotice(bytes))).toBe(v.expected_error);
      const n = decodeStateNotice(bytes);
      expect({
        input_index: Number(n.inputIndex),
        block_number: Number(n.blockNumber),
        block_timestamp: Number(n.blockTimestamp),
        devices: Number(n.devices),
        map_root: n.mapRoot,
        globals: n.globals,
      }).toEqual(v.fields);
      expect(toHex(encodeStateNotice(n))).toBe(toHex(bytes));
    });
  }
});

describe('history notice (vectors of kind history_notice)', () => {
  const all = ofKind('history_notice');
  it('has vectors', () => expect(all.length).toBeGreaterThan(20));
  for (const v of all) {
    it(v.name, () => {
      const bytes = fromHex(str(v, 'notice'));
      const odometerKey = v.odometer_key ? fromHex(v.odometer_key as string) : undefined;
      const detailKey = v.detail_key ? fromHex(v.detail_key as string) : undefined;
      const run = () => {
        const n = decodeHistoryNotice(bytes);
        return { n, opened: odometerKey ? openHistoryValues(n, odometerKey, detailKey) : undefined };
      };
      if (!v.valid) return expect(errorOf(run)).toBe(v.expected_error);
      const { n, opened } = run();
      expect(fieldsOf(n)).toEqual(v.fields);
      expect(toHex(n.aad)).toBe(v.aad);
      expect(toHex(n.odometerCiphertext)).toBe(v.odometer_ciphertext);
      expect(toHex(n.detailCiphertext)).toBe(v.detail_ciphertext);
      const want = (v.opened as Record<string, unknown>[]).map((o) => ({ ...o, blinding: o.blinding ?? null, reading: o.reading ?? null }));
      expect(
        (opened ?? []).map((o) => ({
          counter: Number(o.counter),
          day: o.day,
          odometer_m: Number(o.odometerM),
          blinding: o.detail?.blinding ?? null,
          reading: o.detail?.reading ?? null,
        })),
      ).toEqual(want);
    });
  }

  it('the era keys are H(tag ‖ backend secret ‖ device ‖ era) (as the backend derives them)', () => {
    const v: Vector = vector('history_three_readings_with_rollback');
    const derive = (tag: string, era: number) =>
      toHex(sha256(concatBytes(utf8(tag), fromHex(str(v, 'backend_secret_key')), fromHex(str(v, 'device_id')), u32be(era))));
    const era = (v.fields as { era: number }).era;
    expect(derive('witness/v2/history-key/odometer', era)).toBe(v.odometer_key);
    expect(derive('witness/v2/history-key/detail', era)).toBe(v.detail_key);
  });

  it('an altered ciphertext does not open', () => {
    const v = vector('history_three_readings_with_rollback');
    const n = decodeHistoryNotice(fromHex(str(v, 'notice')));
    const ct = n.detailCiphertext.slice();
    ct[0] = (ct[0] ?? 0) ^ 1;
    expect(errorOf(() => openHistoryValues({ ...n, detailCiphertext: ct }, fromHex(str(v, 'odometer_key')), fromHex(str(v, 'detail_key'))))).toBe('decryption_failed');
    // The odometer part alone still opens.
    expect(openHistoryValues({ ...n, detailCiphertext: ct }, fromHex(str(v, 'odometer_key'))).map((o) => Number(o.odometerM))).toEqual([10250000, 2500000, 10290000]);
  });
});
