import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from './hex';
import { publicKeyFromSeed, verifyStrict } from './ed25519';
import { seal } from './hpke';
import { decodeOwnerQuery, ownerQuerySignedMessage } from './protocol';
import { fetchOwnerHistory, HistoryError, lastAttested, readingsOf, type HistoryEntry } from './history';

const BACKEND = fromHex('52f5395d5536470e0bf804fb9aea9be30a283580d84a4152c3d423af2a423e37');
const DEVICE = '26d3b382d70a0b277e991984dcc7007e';
const seed = new Uint8Array(32).fill(3);

function entry(i: number): HistoryEntry {
  return {
    event: i === 5 ? 'rollback' : 'reading',
    input_index: i,
    block_timestamp: 1790000000 + i * 600,
    notice_index: i,
    counter: i + 1,
    reading: { timestamp: 1790000000 + i * 600, odometer_m: i === 5 ? 1000 : 100000 + i * 1000, fuel_ml: 10, engine_s: i, faults: [] },
  };
}

/** A stand-in for the backend: checks the query like inspect.rs does and seals a page to its response key. */
function fakeBackend(entries: HistoryEntry[], owner: Uint8Array) {
  const seen: { offset: number; limit: number }[] = [];
  const relay = async (queryHex: string, offset: number, limit: number) => {
    seen.push({ offset, limit });
    const q = decodeOwnerQuery(fromHex(queryHex));
    if (!verifyStrict(q.signature, ownerQuerySignedMessage(q, BACKEND), q.owner)) return { type: 'error', error: 'invalid_owner_query' };
    if (toHex(q.owner) !== toHex(owner)) return { type: 'error', error: 'not_owner', detail: 'the key is not the device\'s current owner' };
    const body = { device_id: q.deviceId, total: entries.length, offset, entries: entries.slice(offset, offset + limit) };
    return { type: 'history', total: entries.length, sealed: toHex(seal(q.responseKey, utf8(JSON.stringify(body)), q.signature)) };
  };
  return { relay, seen };
}

describe('owner history', () => {
  const all = Array.from({ length: 12 }, (_, i) => entry(i));

  it('signs a query, opens the sealed pages, follows pagination', async () => {
    const backend = fakeBackend(all, publicKeyFromSeed(seed));
    const page = await fetchOwnerHistory({ deviceId: DEVICE, ownerSeed: seed, backendKey: BACKEND, relay: backend.relay, pageSize: 5 });
    expect(page.total).toBe(12);
    expect(page.entries.map((e) => e.counter)).toEqual(all.map((e) => e.counter));
    expect(backend.seen.map((s) => s.offset)).toEqual([0, 5, 10]);
  });

  it('keeps only the most recent entries beyond the cap', async () => {
    const backend = fakeBackend(all, publicKeyFromSeed(seed));
    const page = await fetchOwnerHistory({ deviceId: DEVICE, ownerSeed: seed, backendKey: BACKEND, relay: backend.relay, pageSize: 5 }, 4);
    expect(page.entries.map((e) => e.counter)).toEqual([9, 10, 11, 12]);
    expect(page.offset).toBe(8);
    expect(backend.seen.map((s) => s.offset)).toEqual([0, 8]);
  });

  it('reports a refusal in words', async () => {
    const backend = fakeBackend(all, new Uint8Array(32).fill(9));
    await expect(fetchOwnerHistory({ deviceId: DEVICE, ownerSeed: seed, backendKey: BACKEND, relay: backend.relay })).rejects.toThrow(HistoryError);
    await expect(fetchOwnerHistory({ deviceId: DEVICE, ownerSeed: seed, backendKey: BACKEND, relay: backend.relay })).rejects.toThrow(/not the one bound/);
  });

  it('picks readings and the last attested one (not a rollback)', () => {
    const withOthers: HistoryEntry[] = [{ event: 'registered', input_index: 0, block_timestamp: 1, notice_index: null }, ...all.slice(0, 6)];
    expect(readingsOf(withOthers)).toHaveLength(6);
    expect(lastAttested(withOthers)?.counter).toBe(5);
  });
});
