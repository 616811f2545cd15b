/**
 * An owner's view of a device's history: sign an owner query with the key kept in this
 * browser, have it relayed (gateway, or the node directly), and open the sealed answer with
 * a one-time X25519 key. Nobody on the way can read it.
 */
import { fromHex, toHex } from './hex';
import { generateKeyPair, openSealed } from './hpke';
import { encodeOwnerQuery, signOwnerQuery, type Reading } from './protocol';
import { errorText } from './verify';

export interface HistoryEntry {
  event: 'registered' | 'reading' | 'rollback' | 'corrected' | 'key_rotated' | 'revoked' | 'owner_changed' | string;
  input_index: number;
  block_timestamp: number;
  notice_index: number | null;
  counter?: number;
  reading?: Reading;
  commitment?: string;
  envelope_hash?: string;
  reference_counter?: number | null;
  odometer_m?: number;
  reason?: string;
  [key: string]: unknown;
}

export interface HistoryPage {
  deviceId: string;
  total: number;
  offset: number;
  entries: HistoryEntry[];
}

/** `(ownerQueryHex, offset, limit) → report` */
export type Relay = (ownerQueryHex: string, offset: number, limit: number) => Promise<Record<string, unknown>>;

export class HistoryError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'HistoryError';
  }
}

export interface HistoryRequest {
  deviceId: string;
  ownerSeed: Uint8Array;
  backendKey: Uint8Array;
  relay: Relay;
  /** A lower bound of the chain's time (seconds), if known: the query must not expire before it. */
  chainTime?: number;
  pageSize?: number;
}

/** Opens one report `{type:"history", sealed}` with the response key. */
export function openHistoryReport(report: Record<string, unknown>, responseKey: { secretKey: Uint8Array; publicKey: Uint8Array }, signature: Uint8Array): HistoryPage {
  if (report.type === 'error' || typeof report.sealed !== 'string') {
    const code = String(report.error ?? 'unexpected_answer');
    throw new HistoryError(errorText(code, typeof report.detail === 'string' ? report.detail : undefined), code);
  }
  const plaintext = openSealed(responseKey, fromHex(report.sealed), signature);
  const body = JSON.parse(new TextDecoder().decode(plaintext)) as { device_id: string; total: number; offset: number; entries: HistoryEntry[] };
  return { deviceId: body.device_id, total: body.total, offset: body.offset, entries: body.entries ?? [] };
}

/** The whole history, newest page last (up to `maxEntries`, the most recent ones). */
export async function fetchOwnerHistory(req: HistoryRequest, maxEntries = 2000): Promise<HistoryPage> {
  const responseKey = generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = Math.max(now, req.chainTime ?? 0) + 3600;
  const query = signOwnerQuery({ deviceId: req.deviceId, responseKey: responseKey.publicKey, expiresAt }, req.ownerSeed, req.backendKey);
  const queryHex = toHex(encodeOwnerQuery(query));
  const limit = req.pageSize ?? 500;
  const first = openHistoryReport(await req.relay(queryHex, 0, Math.min(limit, maxEntries)), responseKey, query.signature);
  const skipFirst = first.total > maxEntries;
  const entries = skipFirst ? [] : [...first.entries];
  let offset = skipFirst ? first.total - maxEntries : first.entries.length;
  while (offset < first.total) {
    const page = openHistoryReport(await req.relay(queryHex, offset, limit), responseKey, query.signature);
    if (page.entries.length === 0) break;
    entries.push(...page.entries);
    offset += page.entries.length;
  }
  return { deviceId: first.deviceId, total: first.total, offset: first.total - entries.length, entries };
}

/** The readings (attested and rolled back) in time order, for charts and tables. */
export function readingsOf(entries: HistoryEntry[]): HistoryEntry[] {
  return entries.filter((e) => (e.event === 'reading' || e.event === 'rollback') && e.reading);
}

/** The last attested (non-rollback) reading. */
export function lastAttested(entries: HistoryEntry[]): HistoryEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e && e.event === 'reading' && e.reading) return e;
  }
  return undefined;
}
