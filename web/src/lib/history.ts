/**
 * An owner's view of a device's history (PROTOCOL.md 16.4): the history notices are public
 * but their values are sealed per ownership era. The owner signs an owner query with the key
 * kept in this browser; the backend answers the era keys sealed to a one-time X25519 key
 * (8.7, AAD: the query's signature); the notices are fetched (from the gateway, which only
 * relays) and opened here. Refolding them must give the accumulator in the device's leaf
 * (proven against L1 when anchors are pinned): only then is the history complete and
 * unaltered.
 */
import type { AccumulatorView, HistoryKeys, InspectAnswer } from './api';
import { fromHex, toHex } from './hex';
import { generateKeyPair, openSealed } from './hpke';
import { encodeOwnerQuery, signOwnerQuery, type Reading } from './protocol';
import { codeOf } from './codec';
import { decodeHistoryNotice, keyFor, openHistoryValues, SECONDS_PER_DAY, type HistoryEntry, type HistoryNotice } from './notices';
import { EMPTY_HASH, foldNotice, type Accumulator } from './state';
import { errorText } from './verify';

export class HistoryError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'HistoryError';
  }
}

// ---- keys ----

/** `ownerQueryHex → the backend's answer` (through the gateway, or the node directly). */
export type KeysRelay = (ownerQueryHex: string) => Promise<InspectAnswer>;

export interface KeysRequest {
  deviceId: string;
  ownerSeed: Uint8Array;
  /** The deployment the query is signed for (`domainBytes`). */
  domain: Uint8Array;
  relay: KeysRelay;
  /** A lower bound of the chain's time (seconds), if known: the query must not expire before it. */
  chainTime?: number;
}

/** Opens a `history_keys` answer with the query's response key. */
export function openKeysAnswer(answer: InspectAnswer, responseKey: { secretKey: Uint8Array; publicKey: Uint8Array }, signature: Uint8Array, deviceId: string): HistoryKeys {
  if (answer.type === 'error') throw new HistoryError(errorText(answer.error, answer.detail), answer.error);
  if (answer.type !== 'history_keys') throw new HistoryError(`The rollup answered ${answer.type} instead of history keys.`, 'unexpected_answer');
  let keys: HistoryKeys;
  try {
    keys = JSON.parse(new TextDecoder().decode(openSealed(responseKey, fromHex(answer.sealed), signature))) as HistoryKeys;
  } catch (e) {
    throw new HistoryError(`The sealed keys do not open: ${(e as Error).message}`, 'decryption_failed');
  }
  if (keys.device_id !== deviceId.toLowerCase() || !Array.isArray(keys.odometer) || !Array.isArray(keys.detail)) {
    throw new HistoryError('The sealed keys are for another device, or malformed.', 'malformed_plaintext');
  }
  return keys;
}

/** Signs an owner query, has it relayed, opens the keys. */
export async function fetchHistoryKeys(req: KeysRequest): Promise<HistoryKeys> {
  const responseKey = generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = Math.max(now, req.chainTime ?? 0) + 3600;
  const query = signOwnerQuery({ deviceId: req.deviceId, responseKey: responseKey.publicKey, expiresAt }, req.ownerSeed, req.domain);
  const answer = await req.relay(toHex(encodeOwnerQuery(query)));
  return openKeysAnswer(answer, responseKey, query.signature, req.deviceId);
}

// ---- notices ----

/** One notice as the gateway lists it. */
export interface ListedNotice {
  input_index: number;
  output_index: number;
  /** The notice's payload, hex (the gateway's word: checked by the accumulator). */
  payload: string;
}

export interface NoticesPage {
  device_id: string;
  /** The node's current leaf as the gateway saw it (unproven). */
  leaf?: unknown;
  notices: ListedNotice[];
  next_before?: number | null;
}

export type NoticesFetch = (before: number | undefined) => Promise<NoticesPage>;

/** Every page, newest first, up to `max` notices. */
export async function fetchAllNotices(fetchPage: NoticesFetch, max = 5000): Promise<{ notices: ListedNotice[]; first?: NoticesPage; truncated: boolean }> {
  const notices: ListedNotice[] = [];
  let before: number | undefined;
  let first: NoticesPage | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await fetchPage(before);
    first ??= page;
    notices.push(...(page.notices ?? []));
    const next = page.next_before;
    if (next === null || next === undefined || (page.notices ?? []).length === 0 || notices.length >= max || (before !== undefined && next >= before)) {
      return { notices, first, truncated: notices.length >= max && next !== null && next !== undefined };
    }
    before = next;
  }
  return { notices, first, truncated: true };
}

// ---- the accumulator ----

export type Completeness =
  | { status: 'complete'; count: number }
  | { status: 'incomplete'; reason: string };

/** An accumulator from a leaf's JSON view. */
export function accumulatorOf(view: AccumulatorView): Accumulator {
  return { count: BigInt(view.count), root: view.root, lastInput: view.last_input === null ? null : BigInt(view.last_input) };
}

/**
 * Checks that `notices` (one device's, any order, duplicates allowed) hold exactly the `count`
 * notices `acc` folds, each at its position, linked to its predecessor, ending at the
 * accumulator's last input, and that they refold to its root. Notices at positions ≥ count
 * are newer than the accumulator and are returned apart.
 */
export function checkAccumulator(acc: Accumulator, notices: HistoryNotice[]): { result: Completeness; covered: HistoryNotice[]; newer: HistoryNotice[] } {
  const count = acc.count;
  const byPosition = new Map<bigint, HistoryNotice>();
  const newer: HistoryNotice[] = [];
  for (const n of notices) {
    if (n.position >= count) {
      if (!newer.some((x) => x.position === n.position)) newer.push(n);
      continue;
    }
    const seen = byPosition.get(n.position);
    if (seen && toHex(seen.payload) !== toHex(n.payload)) {
      return { result: { status: 'incomplete', reason: `two different notices claim position ${n.position}` }, covered: [], newer };
    }
    byPosition.set(n.position, n);
  }
  newer.sort((a, b) => (a.position < b.position ? -1 : 1));
  const covered: HistoryNotice[] = [];
  for (let p = 0n; p < count; p++) {
    const n = byPosition.get(p);
    if (!n) return { result: { status: 'incomplete', reason: `notice ${p} of ${count} is missing` }, covered, newer };
    const prev = covered[covered.length - 1];
    if ((prev ? prev.inputIndex : null) !== n.previousInput) {
      return { result: { status: 'incomplete', reason: `notice ${p} does not link to the notice before it` }, covered, newer };
    }
    covered.push(n);
  }
  const last = covered[covered.length - 1];
  if ((last ? last.inputIndex : null) !== acc.lastInput) {
    return { result: { status: 'incomplete', reason: `the last notice is from input ${last?.inputIndex ?? 'none'}, the leaf names input ${acc.lastInput ?? 'none'}` }, covered, newer };
  }
  let root: Uint8Array = EMPTY_HASH;
  for (const n of covered) root = foldNotice(root, n.payload);
  if (toHex(root) !== acc.root.toLowerCase()) {
    return { result: { status: 'incomplete', reason: 'the notices refold to another accumulator root: one was altered' }, covered, newer };
  }
  return { result: { status: 'complete', count: covered.length }, covered, newer };
}

// ---- opening ----

/** What the page shows per reading. */
export interface HistoryRow {
  counter: bigint;
  inputIndex: bigint;
  blockTimestamp: bigint;
  era: number;
  rollbackOf: bigint | null;
  commitment: string;
  /** The envelope that carried it (its notice's envelope entry before it): its first counter and reading count. With the notice's input and device it locates the envelope. */
  envelope: { firstCounter: bigint; count: number };
  /** `detail`: whole reading, checked against its commitment; `odometer`: dated odometer only (an earlier owner's era); `sealed`: no key. */
  level: 'detail' | 'odometer' | 'sealed';
  odometerM?: number;
  /** UTC day start (s), with `odometer`. */
  day?: number;
  reading?: Reading;
  /** Why the values did not open. */
  error?: string;
  /** Newer than the accumulator the page checked against. */
  unchecked: boolean;
}

export interface HistoryEvent {
  entry: Exclude<HistoryEntry, { kind: 'reading' | 'envelope' }>;
  inputIndex: bigint;
  blockTimestamp: bigint;
  era: number;
}

export interface OpenedHistory {
  rows: HistoryRow[];
  events: HistoryEvent[];
  notices: number;
  /** Notices the page could not decode (by output index). */
  undecodable: { outputIndex: number; code: string }[];
}

/** Decodes `listed` (skipping other devices' and undecodable ones). */
export function decodeListed(deviceId: string, listed: ListedNotice[]): { notices: HistoryNotice[]; undecodable: { outputIndex: number; code: string }[] } {
  const notices: HistoryNotice[] = [];
  const undecodable: { outputIndex: number; code: string }[] = [];
  for (const l of listed) {
    try {
      const n = decodeHistoryNotice(fromHex(l.payload));
      if (n.deviceId !== deviceId.toLowerCase()) {
        undecodable.push({ outputIndex: l.output_index, code: 'another_device' });
        continue;
      }
      notices.push(n);
    } catch (e) {
      undecodable.push({ outputIndex: l.output_index, code: codeOf(e) ?? 'invalid' });
    }
  }
  return { notices, undecodable };
}

/** Opens each notice with its era's keys; rows oldest first. */
export function openHistory(notices: HistoryNotice[], keys: HistoryKeys | undefined, checkedCount: bigint): OpenedHistory {
  const rows: HistoryRow[] = [];
  const events: HistoryEvent[] = [];
  const sorted = [...notices].sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  for (const n of sorted) {
    const odometerKey = keys ? keyFor(keys.odometer, n.era) : undefined;
    const detailKey = keys ? keyFor(keys.detail, n.era) : undefined;
    let values: ReturnType<typeof openHistoryValues> | undefined;
    let error: string | undefined;
    if (odometerKey) {
      try {
        values = openHistoryValues(n, odometerKey, detailKey);
      } catch (e) {
        error = codeOf(e) ?? (e as Error).message;
        if (detailKey) {
          // The detail part failed: the odometer part may still open.
          try {
            values = openHistoryValues(n, odometerKey);
          } catch {
            values = undefined;
          }
        }
      }
    }
    let k = 0;
    let envelope = { firstCounter: 0n, count: 0 };
    for (const e of n.entries) {
      if (e.kind === 'envelope') {
        // Its reading entries follow it (the decoder checked the range).
        envelope = { firstCounter: e.firstCounter, count: e.count };
        continue;
      }
      if (e.kind !== 'reading') {
        events.push({ entry: e, inputIndex: n.inputIndex, blockTimestamp: n.blockTimestamp, era: n.era });
        continue;
      }
      const v = values?.[k++];
      rows.push({
        counter: e.counter,
        inputIndex: n.inputIndex,
        blockTimestamp: n.blockTimestamp,
        era: n.era,
        rollbackOf: e.rollbackOf,
        commitment: e.commitment,
        envelope,
        level: v?.detail ? 'detail' : v ? 'odometer' : 'sealed',
        odometerM: v ? Number(v.odometerM) : undefined,
        day: v ? v.day * SECONDS_PER_DAY : undefined,
        reading: v?.detail?.reading,
        error,
        unchecked: n.position >= checkedCount,
      });
    }
  }
  return { rows, events, notices: sorted.length, undecodable: [] };
}

// ---- without the gateway: walking the notices back on the node ----

/**
 * The device's history notices read from a node, walking back from the accumulator's last
 * input through each notice's previous input (one `cartesi_listOutputs` per input): for when
 * the gateway cannot list them. Stops after `max` notices.
 */
export async function noticesFromNode(
  outputsOfInput: (input: number) => Promise<{ index: string; raw_data: string }[]>,
  decodeOutput: (raw: Uint8Array) => Uint8Array,
  deviceId: string,
  lastInput: bigint | null,
  max = 2000,
): Promise<ListedNotice[]> {
  const out: ListedNotice[] = [];
  let input = lastInput;
  const seen = new Set<string>();
  while (input !== null && out.length < max) {
    const key = String(input);
    if (seen.has(key)) break;
    seen.add(key);
    const outputs = await outputsOfInput(Number(input));
    let lowest: HistoryNotice | undefined;
    for (const o of outputs) {
      let payload: Uint8Array;
      try {
        payload = decodeOutput(fromHex(o.raw_data));
      } catch {
        continue;
      }
      if (payload[0] !== 2 || payload[1] !== 5) continue;
      let n: HistoryNotice;
      try {
        n = decodeHistoryNotice(payload);
      } catch {
        continue;
      }
      if (n.deviceId !== deviceId.toLowerCase()) continue;
      out.push({ input_index: Number(n.inputIndex), output_index: Number(o.index), payload: toHex(payload) });
      if (!lowest || n.position < lowest.position) lowest = n;
    }
    input = lowest ? lowest.previousInput : null;
  }
  return out;
}
