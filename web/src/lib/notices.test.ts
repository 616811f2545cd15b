import { describe, expect, it } from 'vitest';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex, u32be, u64be, utf8 } from './hex';
import { codeOf } from './codec';
import {
  commitReading,
  decodeHistoryNotice,
  decodeOpenedHistoryNotice,
  encodeOpenedHistoryNotice,
  decodeNoticeOutput,
  decodeStateNotice,
  encodeNoticeOutput,
  encodeStateNotice,
  encodeCorrection,
  openHistoryValues,
  outputsMerkleRoot,
  type HistoryEntry,
  type HistoryNotice,
} from './notices';
import { ofKind, str, vector, type Vector } from '../test/vectors';
import { encodeReading, type Reading } from './protocol';

const encodeReadingBytes = (r: Reading | undefined) => encodeReading(r as Reading);

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
    case 'envelope':
      return { type: 'envelope', first_counter: Number(e.firstCounter), count: e.count };
    case 'reading':
      return { type: 'reading', counter: Number(e.counter), commitment: e.commitment, rollback_of: num(e.rollbackOf) };
    case 'corrected':
      return {
        type: 'corrected',
        registrar: e.registrar,
        cleared: e.cleared,
        device_id: e.correction.deviceId,
        counter: Number(e.correction.counter),
        odometer_m: num(e.correction.odometerM),
        baseline_m: num(e.correction.baselineM),
        reason: e.correction.reason,
        evidence: e.correction.evidence,
        evidence_digest: e.correction.evidenceDigest,
        note: e.correction.note,
      };
    case 'key_rotated':
      return { type: 'key_rotated', new_key: e.newKey };
    case 'revoked':
      return { type: 'revoked', reason: e.reason };
    case 'owner_changed':
      return { type: 'owner_changed', sequence: Number(e.sequence), consented: e.consented, owner: e.owner };
    case 'replaced_by':
      return { type: 'replaced_by', new_device: e.newDevice, registrar: e.registrar };
    case 'replaces':
      return { type: 'replaces', old_device: e.oldDevice, baseline_m: Number(e.baselineM), registrar: e.registrar };
    case 'recovery_started':
      return { type: 'recovery_started', registrar: e.registrar, owner: e.owner, effective_at: Number(e.effectiveAt) };
    case 'recovery_ended':
      return { type: 'recovery_ended', outcome: e.outcome };
    case 'owner_recovered':
      return { type: 'owner_recovered', owner: e.owner };
    case 'reinstated':
      return { type: 'reinstated', reason: e.reason };
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
  it('has vectors, the corrections (kind 8, kind 3 retired) among them', () => {
    expect(all.length).toBeGreaterThan(20);
    const names = all.map((v) => v.name);
    for (const n of ['history_invalid_retired_entry_kind_3', 'history_invalid_unknown_entry_kind', 'history_correction_and_key_rotation']) expect(names).toContain(n);
  });
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
      expect(toHex(n.odometerAad)).toBe(v.odometer_aad);
      expect(toHex(n.detailAad)).toBe(v.detail_aad);
      expect(n.detailAad.length).toBe(55);
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

  it('every reading entry follows its envelope entry, counters in its range', () => {
    const v = vector('history_three_readings_with_rollback');
    const n = decodeHistoryNotice(fromHex(str(v, 'notice')));
    expect(n.entries.map((e) => (e.kind === 'envelope' ? `envelope ${e.firstCounter}+${e.count}` : `${e.kind} ${e.kind === 'reading' ? e.counter : ''}`))).toEqual([
      'envelope 2+2',
      'reading 2',
      'reading 3',
      'envelope 4+1',
      'reading 4',
    ]);
    // A notice built without its first envelope entry does not open (the decoder refuses it too).
    const built = { ...n, entries: n.entries.slice(1) };
    expect(errorOf(() => openHistoryValues(built, fromHex(str(v, 'odometer_key'))))).toBe('invalid_field');
  });

  it('the detail part opens each reading with a blinding derived from its envelope key (7.2)', () => {
    const v = vector('history_three_readings_with_rollback');
    const n = decodeHistoryNotice(fromHex(str(v, 'notice')));
    const opened = openHistoryValues(n, fromHex(str(v, 'odometer_key')), fromHex(str(v, 'detail_key')));
    const plain = fromHex(str(v, 'detail_plaintext'));
    // Envelope (2, 2): key at 0, readings 2 and 3 (13 bytes, 15 with one fault code: no
    // odometer); envelope (4, 1): its key after them.
    const second = 32 + 13 + 15;
    const blinding = (key: Uint8Array, counter: number) => toHex(sha256(concatBytes(utf8('witness/v1/blinding'), key, u64be(counter))));
    expect(opened.map((o) => o.detail?.blinding)).toEqual([
      blinding(plain.slice(0, 32), 2),
      blinding(plain.slice(0, 32), 3),
      blinding(plain.slice(second, second + 32), 4),
    ]);
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

  it('reading entries carry no counter: the k-th after an envelope entry has its first counter + k', () => {
    const v = vector('history_three_readings_with_rollback');
    const bytes = fromHex(str(v, 'notice'));
    // Envelope (2, 2) at 56: kind, first counter 57..65, count 65; reading entries of 34 bytes.
    expect(bytes[56]).toBe(7);
    expect(toHex(bytes.slice(57, 65))).toBe(toHex(u64be(2)));
    expect(bytes[66]).toBe(2);
    expect(bytes[100]).toBe(2);
    const shifted = bytes.slice();
    shifted.set(u64be(20), 57);
    const n = decodeHistoryNotice(shifted);
    expect(n.entries.filter((e) => e.kind === 'reading').map((e) => (e.kind === 'reading' ? e.counter : 0n))).toEqual([20n, 21n, 4n]);
    // The odometer part's AAD covers the entries: it no longer opens.
    expect(errorOf(() => openHistoryValues(n, fromHex(str(v, 'odometer_key'))))).toBe('decryption_failed');
  });

  it("the detail part's AAD is the header alone; the odometer part's the header and the entries", () => {
    const v = vector('history_three_readings_with_rollback');
    const n = decodeHistoryNotice(fromHex(str(v, 'notice')));
    const payload = fromHex(str(v, 'notice'));
    expect(toHex(n.detailAad)).toBe(toHex(payload.slice(0, 55)));
    expect(toHex(n.odometerAad)).toBe(toHex(payload.slice(0, n.odometerAad.length)));
    expect(n.odometerAad.length).toBe(56 + 10 + 34 + 42 + 10 + 34);
    // Entries changed where no commitment covers them (the rollback's reference): the odometer
    // part fails; with the notice's own odometer AAD the details would still open.
    const altered = { ...n, entries: n.entries.map((e) => (e.kind === 'reading' && e.rollbackOf !== null ? { ...e, rollbackOf: 1n } : e)) };
    const reencoded = concatBytes(n.odometerAad.slice(0, 134), u64be(1), n.odometerAad.slice(142));
    expect(errorOf(() => openHistoryValues({ ...altered, odometerAad: reencoded }, fromHex(str(v, 'odometer_key')), fromHex(str(v, 'detail_key'))))).toBe('decryption_failed');
    expect(openHistoryValues({ ...altered, odometerAad: n.odometerAad }, fromHex(str(v, 'odometer_key')), fromHex(str(v, 'detail_key'))).length).toBe(3);
  });
});

describe('a correction entry (kind 8: registrar ‖ cleared ‖ the correction as signed, PROTOCOL.md 16.4, 8.2.1)', () => {
  const v = vector('history_correction_and_key_rotation');
  const bytes = fromHex(str(v, 'notice'));
  const n = decodeHistoryNotice(bytes);
  const entry = n.entries[0] as Extract<HistoryEntry, { kind: 'corrected' }>;
  // The entry starts at 56 (after the header and the entry count): kind 8, the registrar at 57, cleared at 89, the correction from 90.
  const at = 56;

  it('decodes the correction as the registrar signed it', () => {
    expect(entry.kind).toBe('corrected');
    expect(entry).toMatchObject({ cleared: true, correction: { counter: 3n, odometerM: 10_295_000n, baselineM: null, reason: 'sensor_fault', evidence: 'diagnostic_log' } });
    expect(bytes[at]).toBe(8);
    expect(bytes[at + 33]).toBe(1);
    // The correction's bytes are exactly its encoding: the entry is 110 + varint + note bytes
    // (16.4's table says 147 + var; the fields it lists add up to 110).
    const c = encodeCorrection(entry.correction);
    expect(toHex(bytes.slice(at + 34, at + 34 + c.length))).toBe(toHex(c));
    expect(1 + 32 + 1 + c.length).toBe(110 + 1 + utf8(entry.correction.note).length);
    expect(n.entries[1]?.kind).toBe('key_rotated');
    expect(bytes[at + 34 + c.length]).toBe(4);
  });

  it('refuses a kind 3 entry, a cleared byte, a present flag, a reason or an evidence type out of range, a present flag 0 with a value', () => {
    const set = (offset: number, value: number) => {
      const b = bytes.slice();
      b[offset] = value;
      return errorOf(() => decodeHistoryNotice(b));
    };
    expect(set(at, 3)).toBe('unknown_kind');
    expect(set(at + 33, 2)).toBe('invalid_field');
    const c = at + 34;
    // device 16, counter 8: has_odometer at +24, odometer +25..33, has_baseline +33, baseline +34..42, reason +42, evidence +43.
    expect(set(c + 24, 2)).toBe('invalid_field');
    expect(set(c + 24, 0)).toBe('invalid_field');
    expect(set(c + 33 + 8, 1)).toBe('invalid_field');
    expect(set(c + 42, 0)).toBe('invalid_field');
    expect(set(c + 42, 4)).toBe('invalid_field');
    expect(set(c + 43, 5)).toBe('invalid_field');
    expect(set(c + 43, 4)).toBeUndefined();
    expect(set(c + 42, 1)).toBeUndefined();
  });

  it('encodes every reason and evidence type by its byte, and refuses a note over 256 bytes', () => {
    const base = entry.correction;
    expect(encodeCorrection({ ...base, reason: 'cluster_replaced', evidence: 'workshop_record' })[42]).toBe(1);
    expect(encodeCorrection({ ...base, reason: 'data_entry_error', evidence: 'registry_record' }).slice(42, 44)).toEqual(new Uint8Array([3, 4]));
    expect(errorOf(() => encodeCorrection({ ...base, note: 'x'.repeat(257) }))).toBe('oversize');
  });
});

describe('the replacement entries (kind 9 replaced by, kind 10 replaces: PROTOCOL.md 16.4, 8.2.2)', () => {
  const oldUnit = '0a'.repeat(16);
  const newUnit = '0b'.repeat(16);
  const registrar = '7b'.repeat(32);
  /** A notice of one input without readings: header (55 bytes), the entries, two empty ciphertexts. */
  const notice = (device: string, ...entries: Uint8Array[]) =>
    concatBytes(new Uint8Array([2, 5]), fromHex(device), u64be(40), u64be(1_790_000_000), u32be(0), u64be(3), new Uint8Array([1]), u64be(31), new Uint8Array([entries.length]), ...entries, new Uint8Array([0, 0]));
  const replacedBy = concatBytes(new Uint8Array([9]), fromHex(newUnit), fromHex(registrar));
  const replaces = concatBytes(new Uint8Array([10]), fromHex(oldUnit), u64be(152_000_000), fromHex(registrar));
  const registered = concatBytes(new Uint8Array([1]), u32be(3), fromHex(registrar));

  it('are 49 and 57 bytes, kind included, and decode to the units they name', () => {
    expect(replacedBy.length).toBe(49);
    expect(replaces.length).toBe(57);
    const old = decodeHistoryNotice(notice(oldUnit, replacedBy));
    expect(old.entries).toEqual([{ kind: 'replaced_by', newDevice: newUnit, registrar }]);
    // The new unit's notice of the same input: registered, then replaces.
    const fresh = decodeHistoryNotice(notice(newUnit, registered, replaces));
    expect(fresh.entries.map(entryJson)).toEqual([
      { type: 'registered', model: 3, registrar },
      { type: 'replaces', old_device: oldUnit, baseline_m: 152_000_000, registrar },
    ]);
    // No readings: nothing sealed, nothing to open.
    expect(openHistoryValues(fresh, new Uint8Array(32))).toEqual([]);
  });

  it('refuses them cut short, and a kind 15 as unknown', () => {
    const full = notice(newUnit, replaces);
    expect(errorOf(() => decodeHistoryNotice(concatBytes(full.slice(0, full.length - 3))))).toBe('truncated');
    const fifteen = full.slice();
    fifteen[56] = 15;
    expect(errorOf(() => decodeHistoryNotice(fifteen))).toBe('unknown_kind');
    // A reading entry may not follow them without its envelope entry.
    const reading = concatBytes(new Uint8Array([2]), new Uint8Array(32), new Uint8Array([0]));
    expect(errorOf(() => decodeHistoryNotice(notice(oldUnit, replacedBy, reading)))).toBe('invalid_field');
  });
});

describe('the recovery entries (kind 11 recovery started, 12 recovery ended, 13 owner recovered: PROTOCOL.md 16.4, 8.4.2)', () => {
  const device = '3be5ae7dba0f0502e42ff53fdfecc1e3';
  const registrar = '7b'.repeat(32);
  const owner = '82'.repeat(32);
  const notice = (...entries: Uint8Array[]) =>
    concatBytes(new Uint8Array([2, 5]), fromHex(device), u64be(40), u64be(1_790_000_000), u32be(2), u64be(3), new Uint8Array([1]), u64be(31), new Uint8Array([entries.length]), ...entries, new Uint8Array([0, 0]));
  const started = concatBytes(new Uint8Array([11]), fromHex(registrar), fromHex(owner), u64be(1_790_604_800));
  const ended = (outcome: number) => new Uint8Array([12, outcome]);
  const recovered = concatBytes(new Uint8Array([13]), fromHex(owner));

  it('the vectors: started, objected, started again, recovered', () => {
    const names = ['history_recovery_started', 'history_recovery_objected', 'history_recovery_started_again', 'history_owner_recovered'];
    const entries = names.map((n) => decodeHistoryNotice(fromHex(str(vector(n), 'notice'))).entries.map(entryJson));
    expect(entries.map((e) => e[0]?.type)).toEqual(['recovery_started', 'recovery_ended', 'recovery_started', 'owner_recovered']);
    expect(entries[1]).toEqual([{ type: 'recovery_ended', outcome: 'objected' }]);
    const first = vector('history_recovery_started').fields as { entries: unknown[] };
    expect(entries[0]).toEqual(first.entries);
  });

  it('are 73, 2 and 33 bytes, kind included, and decode to their fields', () => {
    expect([started.length, ended(1).length, recovered.length]).toEqual([73, 2, 33]);
    const n = decodeHistoryNotice(notice(started, ended(1), ended(2), ended(3), recovered));
    expect(n.entries).toEqual([
      { kind: 'recovery_started', registrar, owner, effectiveAt: 1_790_604_800n },
      { kind: 'recovery_ended', outcome: 'objected' },
      { kind: 'recovery_ended', outcome: 'superseded' },
      { kind: 'recovery_ended', outcome: 'retired' },
      { kind: 'owner_recovered', owner },
    ]);
    expect(openHistoryValues(n, new Uint8Array(32))).toEqual([]);
  });

  it('refuses an outcome other than 1, 2, 3, and the entries cut short', () => {
    for (const o of [0, 4, 255]) expect(errorOf(() => decodeHistoryNotice(notice(ended(o)))), `outcome ${o}`).toBe('invalid_field');
    const full = notice(started);
    expect(errorOf(() => decodeHistoryNotice(full.slice(0, full.length - 3)))).toBe('truncated');
    const short = notice(recovered);
    expect(errorOf(() => decodeHistoryNotice(short.slice(0, short.length - 3)))).toBe('truncated');
  });
});

describe('the opened form of a history notice (a full certificate\'s form 1, PROTOCOL.md 18.2)', () => {
  const v = vector('history_three_readings_with_rollback');
  const payload = fromHex(str(v, 'notice'));
  const n = decodeHistoryNotice(payload);
  const opened = openHistoryValues(n, fromHex(str(v, 'odometer_key')), fromHex(str(v, 'detail_key')));
  const plain = fromHex(str(v, 'detail_plaintext'));
  const second = 32 + 13 + 15;

  it('openHistoryValues gives each reading its envelope\'s commitment key (7.1)', () => {
    expect(opened.map((o) => o.detail?.commitmentKey)).toEqual([toHex(plain.slice(0, 32)), toHex(plain.slice(0, 32)), toHex(plain.slice(second, second + 32))]);
    // It commits the reading: the key, the counter and the standalone reading give the entry's commitment.
    const readings = n.entries.filter((e) => e.kind === 'reading');
    opened.forEach((o, k) => {
      const entry = readings[k] as { commitment: string };
      expect(commitReading(n.deviceId, fromHex(o.detail?.commitmentKey as string), o.counter, encodeReadingBytes(o.detail?.reading))).toBe(entry.commitment);
    });
  });

  it('is the notice without its commitments, then per envelope its key and its readings; it rebuilds to the payload', () => {
    const envelopes = [
      { commitmentKey: plain.slice(0, 32), readings: [opened[0]?.detail?.reading, opened[1]?.detail?.reading] as never[] },
      { commitmentKey: plain.slice(second, second + 32), readings: [opened[2]?.detail?.reading] as never[] },
    ];
    const bytes = encodeOpenedHistoryNotice(payload, envelopes);
    // Three reading entries lose 32 bytes; two keys and three readings (21, 23, 21 bytes) follow.
    expect(bytes.length).toBe(payload.length - 96 + 64 + 21 + 23 + 21);
    const back = decodeOpenedHistoryNotice(bytes);
    expect(toHex(back.notice.payload)).toBe(toHex(payload));
    expect(back.notice.entries).toEqual(n.entries);
    expect(back.envelopes.map((e) => e.readings.map((r) => r.reading))).toEqual([[opened[0]?.detail?.reading, opened[1]?.detail?.reading], [opened[2]?.detail?.reading]]);
    // Nothing may follow; the values may not be cut short.
    expect(errorOf(() => decodeOpenedHistoryNotice(concatBytes(bytes, new Uint8Array([0]))))).toBe('trailing_bytes');
    expect(errorOf(() => decodeOpenedHistoryNotice(bytes.slice(0, bytes.length - 1)))).toBe('truncated');
    // A value altered: the rebuilt commitment differs, so the rebuilt payload does.
    const altered = bytes.slice();
    altered[altered.length - 10] = (altered[altered.length - 10] as number) ^ 1;
    expect(toHex(decodeOpenedHistoryNotice(altered).notice.payload)).not.toBe(toHex(payload));
    // The envelope values must match the envelope entries.
    expect(errorOf(() => encodeOpenedHistoryNotice(payload, envelopes.slice(1)))).toBe('invalid_field');
    expect(errorOf(() => encodeOpenedHistoryNotice(payload, [envelopes[0] as never, { ...envelopes[1], readings: [] } as never]))).toBe('invalid_field');
  });

  it('a notice without reading entries is its own opened form', () => {
    const reg = fromHex(str(vector('history_registration'), 'notice'));
    expect(toHex(encodeOpenedHistoryNotice(reg, []))).toBe(toHex(reg));
    expect(toHex(decodeOpenedHistoryNotice(reg).notice.payload)).toBe(toHex(reg));
  });
});
