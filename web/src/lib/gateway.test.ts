import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { components } from './gateway.schema';
import type { DeviceDetail } from './gateway';

// The answers below are typed by the gateway's document: one it no longer describes fails the type check.
type Schemas = components['schemas'];

const BASE = 'http://gateway.test';
const DEVICE = '26d3b382d70a0b277e991984dcc7007e';

let gw: typeof import('./gateway');
let http: typeof import('./http');
let answer: (request: Request) => Response;
let requests: Request[] = [];

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, String(v)),
    removeItem: (k) => void items.delete(k),
    clear: () => items.clear(),
    key: (i) => [...items.keys()][i] ?? null,
    get length() {
      return items.size;
    },
  };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

beforeAll(async () => {
  // Another origin than the page's: the client keeps the session's token and sends it.
  vi.stubEnv('VITE_GATEWAY_URL', BASE);
  vi.stubGlobal('localStorage', memoryStorage());
  vi.stubGlobal('sessionStorage', memoryStorage());
  vi.stubGlobal('fetch', async (request: Request) => {
    requests.push(request);
    return answer(request);
  });
  vi.resetModules();
  gw = await import('./gateway');
  http = await import('./http');
});

afterAll(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

beforeEach(() => {
  requests = [];
  answer = () => json(500, { error: 'internal', message: 'unexpected request' });
});

const account: Schemas['AccountView'] = { id: 7, username: 'alice', role: 'owner', created_at: 1_700_000_000_000 };

function receipt(status: Schemas['ReceiptStatus'], counter: number, extra: Partial<Schemas['Receipt']> = {}): Schemas['Receipt'] {
  return { envelope_hash: String(counter).padStart(64, '0'), status, kind: 'envelope', device_id: DEVICE, counter, received_at: 1_700_000_000_000 + counter, ...extra };
}

describe('sessions', () => {
  it('signing in keeps the session and answers its account; requests then carry its token', async () => {
    answer = (r) => (r.url === `${BASE}/v1/auth/login` ? json(200, { account, token: 'tok', expires_at: 2 } satisfies Schemas['SessionView']) : json(200, account));
    expect(await gw.login('alice', 'correct horse battery')).toEqual(account);
    expect(requests[0]?.method).toBe('POST');
    expect(await requests[0]?.json()).toEqual({ username: 'alice', password: 'correct horse battery' });
    expect(await gw.currentUser()).toEqual(account);
    expect(requests[1]?.url).toBe(`${BASE}/v1/auth/me`);
    expect(requests[1]?.headers.get('Authorization')).toBe('Bearer tok');
  });

  it('a refused session is no user, and after signing out nothing is asked', async () => {
    answer = () => json(401, { error: 'unauthenticated', message: 'sign in' });
    expect(await gw.currentUser()).toBeNull();
    answer = (r) => (r.url.endsWith('/v1/auth/logout') ? new Response(null, { status: 204 }) : json(500, {}));
    await gw.logout();
    requests = [];
    expect(await gw.currentUser()).toBeNull();
    expect(requests).toHaveLength(0);
  });
});

describe('devices', () => {
  it('the device detail is the answer as sent: its record, submission counts, latest receipts and the rollup view', async () => {
    const detail: DeviceDetail = {
      device: { device_id: DEVICE, model: 1, status: 'active', public_key: 'aa'.repeat(32), owner_key: 'bb'.repeat(32), owned_by_you: true, registered_at: 5 },
      submission: { accepted: 3, pending: 1, submitted: 1, included: 0, attested: 1, rejected: 0, last_counter: 2, last_received_at: 1_700_000_000_002 },
      receipts: [receipt('pending', 2), receipt('submitted', 1, { tx_hash: '0x' + '07'.repeat(32) }), receipt('attested', 0, { input_index: 4, block_number: 9, message_index: 0, tx_hash: '0x' + '06'.repeat(32) })],
      rollup: { device_id: DEVICE, exists: true, input_index: 4, leaf: null },
    };
    answer = () => json(200, detail);
    expect(await gw.deviceDetail(DEVICE)).toEqual(detail);
    expect(requests[0]?.url).toBe(`${BASE}/v1/devices/${DEVICE}`);
  });

  it('the list is the devices as sent', async () => {
    const devices: Schemas['DeviceView'][] = [{ device_id: DEVICE, model: 1, status: 'revoked', public_key: 'aa'.repeat(32), owned_by_you: false, registered_at: 5 }];
    answer = () => json(200, devices);
    expect(await gw.myDevices()).toEqual(devices);
  });

  it('a claim answers the queued receipt', async () => {
    const queued = { ...receipt('pending', 0), kind: 'ownership', counter: undefined };
    answer = () => json(202, { receipt: queued } satisfies Schemas['ClaimResponse']);
    expect(await gw.claimDevice(DEVICE, 'abcd')).toEqual(queued);
    expect(requests[0]?.url).toBe(`${BASE}/v1/devices/${DEVICE}/claim`);
    expect(await requests[0]?.json()).toEqual({ statement: 'abcd' });
  });

  it('a refusal carries the gateway code and message', async () => {
    answer = () => json(403, { error: 'forbidden', message: `device ${DEVICE} is not yours` } satisfies Schemas['ErrorBody']);
    const refused = await gw.deviceDetail(DEVICE).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(http.HttpError);
    expect(refused).toMatchObject({ status: 403, code: 'forbidden', message: `device ${DEVICE} is not yours` });
  });

  it('notice pages ask with limit and before', async () => {
    const page: Schemas['DeviceNotices'] = { device_id: DEVICE, leaf: null, notices: [{ input_index: 9, output_index: 12, payload: 'ab' }], next_before: 3 };
    answer = () => json(200, page);
    expect(await gw.deviceNotices(DEVICE, 8, 2)).toEqual(page);
    const url = new URL(requests[0]?.url ?? '');
    expect([url.pathname, url.searchParams.get('limit'), url.searchParams.get('before')]).toEqual([`/v1/devices/${DEVICE}/notices`, '2', '8']);
  });

  it("the gateway's own refusal of a history-key query reads like the backend's", async () => {
    answer = () => json(422, { error: 'bad_signature', message: 'the owner query does not verify', index: 0 });
    expect(await gw.relayHistoryKeys(DEVICE, 'ab')).toEqual({ type: 'error', error: 'bad_signature', detail: 'the owner query does not verify' });
    const keys: Schemas['HistoryKeysAnswer'] = { type: 'history_keys', device_id: DEVICE, era: 1, sealed: '00ff' };
    answer = () => json(200, keys);
    expect(await gw.relayHistoryKeys(DEVICE, 'ab')).toEqual(keys);
  });
});

describe('receipts in words', () => {
  it('says where each message is', () => {
    expect(gw.receiptStage(receipt('pending', 0))).toBe('waiting to be sent');
    expect(gw.receiptStage(receipt('submitted', 0))).toBe('sent, not yet mined');
    expect(gw.receiptStage(receipt('included', 0, { input_index: 4 }))).toBe('in input 4, not yet processed');
    expect(gw.receiptStage(receipt('attested', 0, { input_index: 4 }))).toBe('attested (input 4)');
    expect(gw.receiptStage(receipt('rejected', 0, { reason: 'replay' }))).toBe('rejected: replay');
  });
});
