/**
 * The gateway's REST API under /v1 (same origin: the gateway serves this dashboard). The
 * session is the `witness_session` cookie; a bearer token, if the gateway returns one at
 * login, is kept for this tab too (for a dashboard served from another origin).
 *
 * Requests go through openapi-fetch with the types openapi-typescript generates from the
 * gateway's document (docs/openapi.json -> gateway.schema.d.ts; `npm run gen:gateway`): a path,
 * parameter or body the document does not have fails the type check, and so does a generated
 * file that no longer matches the document (`npm run typecheck`).
 */
import createClient from 'openapi-fetch';
import { HttpError, answerError, fetchWithin } from './http';
import type { components, paths } from './gateway.schema';
import type { DeviceAnswer, InspectAnswer } from './api';
import type { NoticesPage } from './history';

const TOKEN_KEY = 'witness.session-token';
/** Set while this browser believes it has a session, so anonymous visits send no doomed /me request. */
const SIGNED_IN_KEY = 'witness.signed-in';
const BASE: string = (import.meta.env?.VITE_GATEWAY_URL as string | undefined) ?? '';

export function gatewayUrl(path: string): string {
  return `${BASE.replace(/\/+$/, '')}${path}`;
}

function token(): string | null {
  try {
    return globalThis.sessionStorage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

function setSignedIn(on: boolean) {
  try {
    if (on) globalThis.localStorage?.setItem(SIGNED_IN_KEY, '1');
    else globalThis.localStorage?.removeItem(SIGNED_IN_KEY);
  } catch {
    /* ignore */
  }
}

function signedInHint(): boolean {
  try {
    return globalThis.localStorage?.getItem(SIGNED_IN_KEY) === '1' || !!token();
  } catch {
    return true;
  }
}

function setToken(value: string | null) {
  // Same origin: the HttpOnly cookie is the session; keep no token where scripts can read it.
  if (!BASE) return;
  try {
    if (value) globalThis.sessionStorage?.setItem(TOKEN_KEY, value);
    else globalThis.sessionStorage?.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: cookie only */
  }
}

const client = createClient<paths>({ baseUrl: BASE.replace(/\/+$/, ''), credentials: BASE ? 'include' : 'same-origin' });

/** What every request sends besides its own parameters: the bearer token, if any, and a deadline. */
type Common = {
  headers: Record<string, string>;
  fetch: (request: Request) => Promise<Response>;
};

/**
 * Runs one typed request and answers its body; errors read like `requestJson`'s (the same
 * `fetchWithin` and `answerError`): the gateway's error body (`{error, message}`) as an
 * HttpError with status and code, a timeout or an unreachable gateway in words.
 */
async function call<T>(send: (common: Common) => Promise<{ data?: unknown; error?: unknown; response: Response }>, timeoutMs = 20000): Promise<T> {
  const t = token();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (t) headers.Authorization = `Bearer ${t}`;
  const { data, error, response } = await send({
    headers,
    fetch: (request) => fetchWithin(request, {}, 'the gateway', timeoutMs),
  });
  if (!response.ok) throw answerError('the gateway', response, error);
  return data as T;
}

export interface User {
  username: string;
  role?: string;
  id?: number | string;
}

type Raw = Record<string, unknown>;

function userFrom(data: unknown): User | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as Raw;
  const u = (d.user ?? d.account ?? d) as Raw | null;
  if (!u || typeof u !== 'object') return null;
  const username = (u.username ?? u.name ?? u.email) as string | undefined;
  if (typeof username !== 'string') return null;
  return { username, role: typeof u.role === 'string' ? u.role : undefined, id: u.id as number | undefined };
}

export function isUnauthorized(e: unknown): boolean {
  return e instanceof HttpError && (e.status === 401 || e.status === 403);
}

/** The signed-in user, or null. */
export async function currentUser(): Promise<User | null> {
  if (!signedInHint()) return null;
  try {
    const data = await call<unknown>((c) => client.GET('/v1/auth/me', c), 8000);
    return userFrom(data);
  } catch (e) {
    if (isUnauthorized(e)) {
      setSignedIn(false);
      return null;
    }
    throw e;
  }
}

async function authenticate(path: '/v1/auth/signup' | '/v1/auth/login', username: string, password: string): Promise<User> {
  const data = await call<Raw>((c) => client.POST(path, { ...c, body: { username, password } }));
  const t = data && typeof data === 'object' ? (data.token ?? data.session_token) : undefined;
  setToken(typeof t === 'string' ? t : null);
  setSignedIn(true);
  return userFrom(data) ?? { username };
}

export const signup = (username: string, password: string) => authenticate('/v1/auth/signup', username, password);
export const login = (username: string, password: string) => authenticate('/v1/auth/login', username, password);

export async function logout(): Promise<void> {
  try {
    await call((c) => client.POST('/v1/auth/logout', c));
  } catch (e) {
    if (!isUnauthorized(e)) throw e;
  } finally {
    setToken(null);
    setSignedIn(false);
  }
}

/** A device in "my devices" as the gateway lists it (fields beyond `device_id` are optional). */
export interface GatewayDevice {
  device_id: string;
  public_key?: string;
  owned_by_you?: boolean;
  registered_at?: number;
  model?: number;
  model_name?: string;
  status?: string;
  owner_key?: string;
  owner_sequence?: number;
  claimed_at?: number;
  submissions?: SubmissionCounts;
  [key: string]: unknown;
}

/** Where a device's envelopes are on their way to the rollup (the document's `SubmissionCounts`). */
export type SubmissionCounts = components['schemas']['SubmissionCounts'];

/** The full story of one acknowledged message (the document's `Receipt`). */
export type Receipt = components['schemas']['Receipt'];

function normalizeDevice(d: Raw): GatewayDevice {
  const id = (d.device_id ?? d.id) as string;
  return { ...d, device_id: String(id).toLowerCase() } as GatewayDevice;
}

export async function myDevices(): Promise<GatewayDevice[]> {
  const data = await call<unknown>((c) => client.GET('/v1/devices', c));
  const list = Array.isArray(data) ? data : ((data as Raw)?.devices as unknown[] | undefined) ?? [];
  return (list as Raw[]).map(normalizeDevice);
}

export interface DeviceDetail extends GatewayDevice {
  /** The rollup's public device status as the gateway saw it (informational). */
  rollup?: DeviceAnswer | null;
  rollup_error?: string;
  /** Messages the gateway acknowledged and the rollup has not processed yet. */
  pending?: Receipt[];
  /** Recent receipts of this device (any status). */
  receipts?: Receipt[];
}

export async function deviceDetail(id: string): Promise<DeviceDetail> {
  const data = await call<Raw>((c) => client.GET('/v1/devices/{id}', { ...c, params: { path: { id } } }));
  const d = ((data as Raw).device as Raw | undefined) ?? data;
  const merged: Raw = { ...d };
  for (const key of ['pending', 'receipts', 'submissions', 'submission', 'recent', 'rollup', 'rollup_error']) {
    if ((data as Raw)[key] !== undefined && merged[key] === undefined) merged[key] = (data as Raw)[key];
  }
  if (!merged.submissions && merged.submission) merged.submissions = merged.submission;
  if (!merged.receipts && Array.isArray(merged.recent)) merged.receipts = merged.recent;
  return normalizeDevice(merged) as DeviceDetail;
}

/** Queues an ownership statement; answers the gateway's receipt for it. */
export async function claimDevice(id: string, statementHex: string): Promise<Receipt | undefined> {
  const data = await call<Raw>((c) =>
    client.POST('/v1/devices/{id}/claim', { ...c, params: { path: { id } }, body: { statement: statementHex } }),
  );
  const r = (data?.receipt ?? data) as Raw | undefined;
  return r && typeof r.envelope_hash === 'string' ? (r as unknown as Receipt) : undefined;
}

/** Relays an owner query for history keys (`POST /v1/devices/{id}/history-keys`); the answer is the backend's. */
export async function relayHistoryKeys(id: string, ownerQueryHex: string): Promise<InspectAnswer> {
  try {
    const data = await call<Raw>((c) =>
      client.POST('/v1/devices/{id}/history-keys', { ...c, params: { path: { id } }, body: { owner_query: ownerQueryHex } }),
    );
    return unwrapReport(data) as unknown as InspectAnswer;
  } catch (e) {
    // The backend's refusals (422 with its code) read like the node's error answers.
    if (e instanceof HttpError && e.status === 422 && e.code) return { type: 'error', error: e.code, detail: e.message };
    throw e;
  }
}

/** A page of the device's history notices, newest first (`GET /v1/devices/{id}/notices`; `before` is an input index, inclusive; at most 200). */
export async function deviceNotices(id: string, before: number | undefined, limit = 200): Promise<NoticesPage> {
  const query = before === undefined ? { limit } : { limit, before };
  const data = await call<Raw>((c) => client.GET('/v1/devices/{id}/notices', { ...c, params: { path: { id }, query } }));
  const notices = Array.isArray(data?.notices) ? (data.notices as Raw[]) : [];
  return {
    device_id: String(data?.device_id ?? id),
    leaf: data?.leaf,
    notices: notices.map((n) => ({ input_index: Number(n.input_index), output_index: Number(n.output_index), payload: String(n.payload ?? '') })),
    next_before: typeof data?.next_before === 'number' ? data.next_before : null,
  };
}

/** Accepts the report itself, `{report}`, or a node inspect answer `{reports:[{payload}]}`. */
export function unwrapReport(data: Raw): Raw {
  if (data && typeof data === 'object') {
    if (typeof data.type === 'string') return data;
    if (data.report && typeof data.report === 'object') return data.report as Raw;
    if (Array.isArray(data.reports) && data.reports.length > 0) {
      const first = data.reports[0] as Raw;
      if (typeof first.payload === 'string') {
        const hex = first.payload.replace(/^0x/, '');
        const bytes = new Uint8Array(hex.length / 2);
        for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
        return JSON.parse(new TextDecoder().decode(bytes)) as Raw;
      }
      return first;
    }
  }
  return data;
}

export async function receipt(hash: string): Promise<Receipt> {
  const data = await call<Raw>((c) => client.GET('/v1/receipts/{hash}', { ...c, params: { path: { hash: hash.replace(/^0x/, '') } } }));
  return ((data.receipt as Raw | undefined) ?? data) as unknown as Receipt;
}

export async function gatewayStats(): Promise<Raw> {
  return call<Raw>((c) => client.GET('/v1/stats', c));
}

export async function gatewaySystem(): Promise<Raw> {
  return call<Raw>((c) => client.GET('/v1/system', c));
}
