/**
 * The gateway's REST API under /v1 (same origin: the gateway serves this dashboard). The
 * session is the `witness_session` cookie; a bearer token, if the gateway returns one at
 * login, is kept for this tab too (for a dashboard served from another origin).
 *
 * Requests go through openapi-fetch with the types openapi-typescript generates from the
 * gateway's document (docs/openapi.json -> gateway.schema.d.ts; `npm run gen:gateway`): a path,
 * parameter or body the document does not have fails the type check, and so does a generated
 * file that no longer matches the document (`npm run typecheck`). The answers' types are the
 * document's schemas too; the few objects the document leaves open (the rollup's own answers,
 * which the gateway passes on) are the protocol's types of ./api.
 */
import createClient from 'openapi-fetch';
import { HttpError, answerError, fetchWithin } from './http';
import type { components, paths } from './gateway.schema';
import type { DeviceAnswer, InspectAnswer, StatsAnswer } from './api';

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
 * Runs one typed request and answers its body (the document's type for the operation's
 * success); errors read like `requestJson`'s (the same `fetchWithin` and `answerError`): the
 * gateway's error body (`{error, message}`) as an HttpError with status and code, a timeout or
 * an unreachable gateway in words.
 */
async function call<D>(send: (common: Common) => Promise<{ data?: D; error?: unknown; response: Response }>, timeoutMs = 20000): Promise<D> {
  const t = token();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (t) headers.Authorization = `Bearer ${t}`;
  const { data, error, response } = await send({
    headers,
    fetch: (request) => fetchWithin(request, {}, 'the gateway', timeoutMs),
  });
  if (!response.ok) throw answerError('the gateway', response, error);
  return data as D;
}

type Schemas = components['schemas'];

/** Where the dashboard finds the other parts (the document's `ClientConfig`). */
export type ClientConfig = Schemas['ClientConfig'];

/** A signed-in account (the document's `AccountView`). */
export type User = Schemas['AccountView'];

/** A device as the gateway lists it (the document's `DeviceView`). */
export type GatewayDevice = Schemas['DeviceView'];

/** Where a device's envelopes are on their way to the rollup (the document's `SubmissionCounts`). */
export type SubmissionCounts = Schemas['SubmissionCounts'];

/** The full story of one acknowledged message (the document's `Receipt`). */
export type Receipt = Schemas['Receipt'];

/**
 * One device (the document's `DeviceDetail`): the gateway's record, its envelopes' submission
 * counts and latest receipts, and the rollup's view of it, which the document leaves an open
 * object: the protocol's `DeviceAnswer` (unproven, for display).
 */
export type DeviceDetail = Omit<Schemas['DeviceDetail'], 'rollup'> & { rollup?: DeviceAnswer | null };

/** A page of a device's history notices (the document's `DeviceNotices`). */
export type DeviceNotices = Schemas['DeviceNotices'];

/** The gateway's queue, batching and recent refusals (the document's `SystemStatus`). */
export type SystemStatus = Schemas['SystemStatus'];

/** The endpoints the gateway suggests (`GET /v1/config`). */
export async function gatewayConfig(): Promise<ClientConfig> {
  return call((c) => client.GET('/v1/config', c), 8000);
}

export function isUnauthorized(e: unknown): boolean {
  return e instanceof HttpError && (e.status === 401 || e.status === 403);
}

/** The signed-in user, or null. */
export async function currentUser(): Promise<User | null> {
  if (!signedInHint()) return null;
  try {
    return await call((c) => client.GET('/v1/auth/me', c), 8000);
  } catch (e) {
    if (isUnauthorized(e)) {
      setSignedIn(false);
      return null;
    }
    throw e;
  }
}

/** Keeps a new session (its token, for a dashboard on another origin) and answers its account. */
function opened(session: Schemas['SessionView']): User {
  setToken(session.token);
  setSignedIn(true);
  return session.account;
}

export const signup = async (username: string, password: string) => opened(await call((c) => client.POST('/v1/auth/signup', { ...c, body: { username, password } })));
export const login = async (username: string, password: string) => opened(await call((c) => client.POST('/v1/auth/login', { ...c, body: { username, password } })));

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

export async function myDevices(): Promise<GatewayDevice[]> {
  return call((c) => client.GET('/v1/devices', c));
}

export async function deviceDetail(id: string): Promise<DeviceDetail> {
  const detail = await call((c) => client.GET('/v1/devices/{id}', { ...c, params: { path: { id } } }));
  return detail as DeviceDetail;
}

/** Queues an ownership statement; answers the gateway's receipt for it. */
export async function claimDevice(id: string, statementHex: string): Promise<Receipt> {
  const answer = await call((c) => client.POST('/v1/devices/{id}/claim', { ...c, params: { path: { id } }, body: { statement: statementHex } }));
  return answer.receipt;
}

/**
 * Queues the owner's objection to a pending ownership recovery (`POST /v1/devices/{id}/objection`,
 * PROTOCOL.md 8.4.2); answers the gateway's receipt for it.
 */
export async function objectToRecovery(id: string, objectionHex: string): Promise<Receipt> {
  const answer = await call((c) => client.POST('/v1/devices/{id}/objection', { ...c, params: { path: { id } }, body: { objection: objectionHex } }));
  return answer.receipt;
}

/** Relays an owner query for history keys (`POST /v1/devices/{id}/history-keys`); the answer is the backend's. */
export async function relayHistoryKeys(id: string, ownerQueryHex: string): Promise<InspectAnswer> {
  try {
    return await call((c) => client.POST('/v1/devices/{id}/history-keys', { ...c, params: { path: { id } }, body: { owner_query: ownerQueryHex } }));
  } catch (e) {
    // The gateway's own refusal of the query (422 bad_signature) reads like the backend's.
    if (e instanceof HttpError && e.status === 422 && e.code) return { type: 'error', error: e.code, detail: e.message };
    throw e;
  }
}

/** A page of the device's history notices, newest first (`GET /v1/devices/{id}/notices`; `before` is an input index, inclusive; at most 200). */
export async function deviceNotices(id: string, before: number | undefined, limit = 200): Promise<DeviceNotices> {
  const query = before === undefined ? { limit } : { limit, before };
  return call((c) => client.GET('/v1/devices/{id}/notices', { ...c, params: { path: { id }, query } }));
}

export async function receipt(hash: string): Promise<Receipt> {
  return call((c) => client.GET('/v1/receipts/{hash}', { ...c, params: { path: { hash: hash.replace(/^0x/, '') } } }));
}

/** The rollup's public statistics through the gateway: the backend's `StatsAnswer` (the document leaves it an open object). */
export async function gatewayStats(): Promise<StatsAnswer> {
  const stats = await call((c) => client.GET('/v1/stats', c));
  return stats as unknown as StatsAnswer;
}

export async function gatewaySystem(): Promise<SystemStatus> {
  return call((c) => client.GET('/v1/system', c));
}

/** Where a receipt's message is, in words. */
export function receiptStage(r: Receipt): string {
  switch (r.status) {
    case 'pending':
      return 'waiting to be sent';
    case 'submitted':
      return 'sent, not yet mined';
    case 'included':
      return `in input ${r.input_index ?? '?'}, not yet processed`;
    case 'attested':
      return `attested (input ${r.input_index ?? '?'})`;
    case 'rejected':
      return `rejected: ${r.reason ?? 'no reason given'}`;
  }
}
