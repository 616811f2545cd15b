import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from './hex';
import { publicKeyFromSeed, verifyStrict } from './ed25519';
import { seal } from './hpke';
import { decodeOwnerQuery, domainBytes, ownerQuerySignedMessage } from './protocol';
import { decodeLeaf } from './state';
import { encodeNoticeOutput, decodeNoticeOutput } from './notices';
import type { HistoryKeys, InspectAnswer } from './api';
import {
  accumulatorOf,
  checkAccumulator,
  decodeListed,
  fetchAllNotices,
  fetchHistoryKeys,
  HistoryError,
  noticesFromNode,
  openHistory,
  type ListedNotice,
  type NoticesPage,
} from './history';
import { ofKind, str, vector } from '../test/vectors';

const acc = vector('history_accumulator_state_device');
const DEVICE = str(acc, 'device_id');
const LEAF = decodeLeaf(fromHex(str(acc, 'leaf')));
const PAYLOADS = (acc.notices as string[]).map(fromHex);
const listed = (payloads: Uint8Array[]): ListedNotice[] => payloads.map((p, i) => ({ input_index: 0, output_index: 100 + i, payload: toHex(p) }));
const NOTICES = decodeListed(DEVICE, listed(PAYLOADS)).notices;

/** The era keys of the vectors' device, as the backend would hand them to the current owner. */
function keysFor(detailEras: number[]): HistoryKeys {
  const odometer = new Map<number, string>();
  const detail = new Map<number, string>();
  for (const v of ofKind('history_notice')) {
    if (!v.valid || v.device_id !== DEVICE || !v.fields) continue;
    const era = (v.fields as { era: number }).era;
    if (typeof v.odometer_key === 'string') odometer.set(era, v.odometer_key);
    if (typeof v.detail_key === 'string') detail.set(era, v.detail_key);
  }
  return {
    device_id: DEVICE,
    odometer: [...odometer].map(([era, key]) => ({ era, key })),
    detail: [...detail].filter(([era]) => detailEras.includes(era)).map(([era, key]) => ({ era, key })),
  };
}

describe('the accumulator check (vector history_accumulator_state_device)', () => {
  it('all notices, in any order and with duplicates: complete', () => {
    const shuffled = [...NOTICES].reverse().concat(NOTICES.slice(0, 2));
    expect(checkAccumulator(LEAF.history, shuffled).result).toEqual({ status: 'complete', count: 12 });
  });
  it('a missing notice', () => {
    expect(checkAccumulator(LEAF.history, NOTICES.filter((n) => n.position !== 3n)).result).toMatchObject({ status: 'incomplete', reason: expect.stringMatching(/notice 3 of 12 is missing/) });
  });
  it('an altered notice (a reading entry changed)', () => {
    const altered = PAYLOADS.map((p) => p.slice());
    const third = altered[2] as Uint8Array;
    third[80] = (third[80] ?? 0) ^ 1;
    const { notices } = decodeListed(DEVICE, listed(altered));
    expect(checkAccumulator(LEAF.history, notices).result).toMatchObject({ status: 'incomplete', reason: expect.stringMatching(/altered/) });
  });
  it('two different notices at one position', () => {
    const other = decodeListed(DEVICE, listed([PAYLOADS[0] as Uint8Array])).notices[0];
    if (!other) throw new Error('no notice');
    const fake = { ...other, payload: new Uint8Array([...other.payload, 0]) };
    expect(checkAccumulator(LEAF.history, [...NOTICES, fake]).result).toMatchObject({ status: 'incomplete', reason: expect.stringMatching(/position 0/) });
  });
  it('an older leaf: the newer notices are set apart', () => {
    const fold = (acc.folds as { count: number; root: string; last_input: number }[])[3];
    if (!fold) throw new Error('no fold');
    const older = accumulatorOf({ count: fold.count, root: fold.root, last_input: fold.last_input });
    const checked = checkAccumulator(older, NOTICES);
    expect(checked.result).toEqual({ status: 'complete', count: 4 });
    expect(checked.newer.map((n) => Number(n.position))).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
  });
  it('other devices\' and undecodable notices are skipped', () => {
    const r = decodeListed(DEVICE, [...listed(PAYLOADS), { input_index: 1, output_index: 9, payload: 'ff' }]);
    expect(r.notices).toHaveLength(12);
    expect(r.undecodable).toEqual([{ outputIndex: 9, code: 'unsupported_version' }]);
  });
});

describe('opening the history with the era keys', () => {
  // The era of the vector's last readings: the owner before the recovery (the leaf's era is the recovered owner's, with no reading yet).
  const READING_ERA = Math.max(...NOTICES.filter((n) => n.entries.some((e) => e.kind === 'reading')).map((n) => n.era));
  it("an era's owner: whole readings of their era, dated odometer values of earlier eras", () => {
    expect(READING_ERA).toBe(LEAF.era - 1);
    const h = openHistory(NOTICES, keysFor([READING_ERA]), LEAF.history.count);
    const levels = new Map(h.rows.map((r) => [Number(r.counter), `${r.era}:${r.level}`]));
    expect([...levels.values()].every((l) => l === `${READING_ERA}:detail` || !l.startsWith(`${READING_ERA}:`))).toBe(true);
    expect(h.rows.some((r) => r.level === 'odometer')).toBe(true);
    expect(h.rows.some((r) => r.level === 'detail' && r.reading?.odometer_m === r.odometerM)).toBe(true);
    expect(h.rows.find((r) => r.rollbackOf !== null)).toMatchObject({ counter: 3n, rollbackOf: 2n, odometerM: 2500000 });
    expect(h.events.map((e) => e.entry.kind)).toEqual(expect.arrayContaining(['registered', 'owner_changed', 'revoked']));
    expect(h.rows.every((r) => !r.unchecked)).toBe(true);
  });
  it('the recovery is in the events, in order: started, objected, started again, taken effect', () => {
    const h = openHistory(NOTICES, undefined, LEAF.history.count);
    const recovery = h.events.filter((e) => ['recovery_started', 'recovery_ended', 'owner_recovered'].includes(e.entry.kind));
    expect(recovery.map((e) => e.entry.kind)).toEqual(['recovery_started', 'recovery_ended', 'recovery_started', 'owner_recovered']);
    expect(recovery[3]?.entry).toEqual({ kind: 'owner_recovered', owner: LEAF.owner });
    // The recovered owner (the leaf's era) reads every earlier reading as dated odometer only.
    const recovered = openHistory(NOTICES, keysFor([LEAF.era]), LEAF.history.count);
    expect(recovered.rows.every((r) => r.level === 'odometer' && r.era < LEAF.era)).toBe(true);
  });
  it('each reading row names the envelope of the envelope entry before it; envelope entries are no events', () => {
    const h = openHistory(NOTICES, undefined, 0n);
    const envelopes = new Map<string, string>();
    for (const n of NOTICES) {
      let range = '';
      for (const e of n.entries) {
        if (e.kind === 'envelope') range = `${e.firstCounter}+${e.count}`;
        if (e.kind === 'reading') envelopes.set(String(e.counter), range);
      }
    }
    expect(h.rows.length).toBe(6);
    for (const r of h.rows) expect(`${r.envelope.firstCounter}+${r.envelope.count}`).toBe(envelopes.get(String(r.counter)));
    expect(new Set(h.rows.map((r) => `${r.envelope.firstCounter}+${r.envelope.count}`)).size).toBe(5);
    // A reading's counter is its envelope's first counter plus its place.
    for (const r of h.rows) expect(r.counter >= r.envelope.firstCounter && r.counter < r.envelope.firstCounter + BigInt(r.envelope.count)).toBe(true);
    expect(h.events.some((e) => (e.entry.kind as string) === 'envelope')).toBe(false);
  });
  it('no keys: entries only, values sealed', () => {
    const h = openHistory(NOTICES, undefined, 0n);
    expect(h.rows.every((r) => r.level === 'sealed' && r.odometerM === undefined && r.unchecked)).toBe(true);
  });
  it('a wrong key: the values do not open', () => {
    const keys = keysFor([]);
    const wrong = { ...keys, odometer: keys.odometer.map((k) => ({ ...k, key: 'aa'.repeat(32) })) };
    const h = openHistory(NOTICES, wrong, 7n);
    expect(h.rows.every((r) => r.level === 'sealed' && r.error === 'decryption_failed')).toBe(true);
  });
});

describe('history keys (owner query, sealed answer)', () => {
  const backend = domainBytes(31337, new Uint8Array(20).fill(0xaa), fromHex('52f5395d5536470e0bf804fb9aea9be30a283580d84a4152c3d423af2a423e37'));
  const seed = new Uint8Array(32).fill(3);
  const owner = publicKeyFromSeed(seed);
  const relay = (keys: HistoryKeys, who = owner) => async (queryHex: string): Promise<InspectAnswer> => {
    const q = decodeOwnerQuery(fromHex(queryHex));
    if (!verifyStrict(q.signature, ownerQuerySignedMessage(q, backend), q.owner)) return { type: 'error', error: 'invalid_owner_query', detail: '' };
    if (toHex(q.owner) !== toHex(who)) return { type: 'error', error: 'not_owner', detail: "the key is not the device's current owner" };
    return { type: 'history_keys', device_id: q.deviceId, era: 2, sealed: toHex(seal(q.responseKey, utf8(JSON.stringify(keys)), q.signature)) };
  };
  it('opens the keys sealed to the one-time response key', async () => {
    const keys = keysFor([2]);
    expect(await fetchHistoryKeys({ deviceId: DEVICE, ownerSeed: seed, domain: backend, relay: relay(keys) })).toEqual(keys);
  });
  it('a refusal becomes a readable HistoryError', async () => {
    const err = await fetchHistoryKeys({ deviceId: DEVICE, ownerSeed: seed, domain: backend, relay: relay(keysFor([]), new Uint8Array(32)) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HistoryError);
    expect((err as HistoryError).code).toBe('not_owner');
  });
  it('keys for another device are refused', async () => {
    const err = await fetchHistoryKeys({ deviceId: DEVICE, ownerSeed: seed, domain: backend, relay: relay({ ...keysFor([]), device_id: 'ff'.repeat(16) }) }).catch((e: unknown) => e);
    expect((err as HistoryError).code).toBe('malformed_plaintext');
  });
});

describe('fetching the notices', () => {
  it('pages through the gateway newest first', async () => {
    const all = listed(PAYLOADS).reverse();
    const seen: (number | undefined)[] = [];
    const page = async (before: number | undefined): Promise<NoticesPage> => {
      seen.push(before);
      const from = before === undefined ? 0 : all.findIndex((n) => n.output_index < before);
      const notices = all.slice(from, from + 3);
      const last = notices[notices.length - 1];
      return { device_id: DEVICE, notices, next_before: from + 3 < all.length && last ? last.output_index : null };
    };
    const r = await fetchAllNotices(page);
    expect(r.notices.map((n) => n.output_index)).toEqual(all.map((n) => n.output_index));
    expect(seen).toEqual([undefined, 109, 106, 103]);
  });
  it('walks back on the node through the previous inputs', async () => {
    const byInput = new Map<number, { index: string; raw_data: string }[]>();
    NOTICES.forEach((n, i) => {
      const list = byInput.get(Number(n.inputIndex)) ?? [];
      list.push({ index: `0x${i.toString(16)}`, raw_data: '0x' + toHex(encodeNoticeOutput(n.payload)) });
      byInput.set(Number(n.inputIndex), list);
    });
    const asked: number[] = [];
    const got = await noticesFromNode(async (i) => (asked.push(i), byInput.get(i) ?? []), decodeNoticeOutput, DEVICE, LEAF.history.lastInput);
    expect(got).toHaveLength(12);
    expect(asked).toEqual([19, 18, 17, 16, 15, 14, 13, 12, 8, 5, 3]);
    expect(checkAccumulator(LEAF.history, decodeListed(DEVICE, got).notices).result.status).toBe('complete');
  });
});
