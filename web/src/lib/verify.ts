/**
 * The verifier's logic: what the rollup's verdict means, and whether the notice that attests a
 * value is on chain. Network access is passed in, so all of it is unit-testable.
 */
import type { Hex } from 'viem';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { fromHex, parseQuantity, toHex } from './hex';
import { decodeNoticeOutput, findAttestation, outputsMerkleRoot, parseNoticePayload, type AttestedEntry } from './notices';
import type { Reading } from './protocol';
import type { NodeOutput } from './node';
import type { ValidateResult } from './chain';

export type Verdict = 'consistent' | 'rollback' | 'unknown_device' | 'revoked' | 'flagged';
export type Tone = 'good' | 'bad' | 'warn' | 'neutral';

export interface AttestedValue {
  counter: number;
  reading: Reading;
  commitment: string;
  input_index: number;
  block_timestamp: number;
  notice_index: number | null;
}

export type VerifyReport =
  | {
      kind: 'verdict';
      verdict: Verdict;
      reasons: string[];
      deviceId: string;
      deviceReading?: Reading;
      deviceCounter?: number;
      lastAttested?: AttestedValue;
      highestAttested?: AttestedValue;
      tamperEvents: number;
    }
  | { kind: 'error'; code: string; message: string };

const VERDICTS: Record<Verdict, { tone: Tone; label: string; summary: string }> = {
  consistent: {
    tone: 'good',
    label: 'Consistent',
    summary: 'The odometer the device shows now agrees with everything attested on chain.',
  },
  rollback: {
    tone: 'bad',
    label: 'Rollback detected',
    summary: 'The device shows less distance than the rollup already attested: the odometer was wound back.',
  },
  flagged: {
    tone: 'warn',
    label: 'Tamper history',
    summary: 'The device has tampering on record (or a counter that went backwards), without a registrar correction.',
  },
  revoked: {
    tone: 'bad',
    label: 'Revoked',
    summary: 'The registrar revoked this device; its readings are no longer accepted.',
  },
  unknown_device: {
    tone: 'warn',
    label: 'Unknown device',
    summary: 'No device with this id is registered with the rollup.',
  },
};

export function verdictInfo(verdict: string): { tone: Tone; label: string; summary: string } {
  return VERDICTS[verdict as Verdict] ?? { tone: 'neutral', label: verdict, summary: 'The rollup gave a verdict this page does not know.' };
}

const ERRORS: Record<string, string> = {
  bad_proof: 'The device returned a proof the rollup could not decode.',
  invalid_proof: "The proof's signature does not verify under the device's registered key: this is not the registered device, or the reading was altered.",
  stale_proof: "The device's reading is older than the rollup's freshness window: its clock or reading is out of date.",
  bad_query: 'The rollup did not understand the question.',
  bad_device_id: 'The device id is not 32 hex digits.',
  unknown_device: 'No device with this id is registered.',
  not_owner: 'Your owner key is not the one bound to this device on the rollup (the claim is still pending, or someone claimed it after you).',
  expired_owner_query: 'The history request expired before the rollup saw it.',
  invalid_owner_query: "The rollup did not accept the history request's signature.",
  bad_owner_query: 'The rollup could not decode the history request.',
  no_right_to_see: 'The rollup needs an owner query or a possession proof to show history.',
  bad_response_key: 'The rollup could not seal its answer to the response key.',
};

/** The rollup's reasons speak in metres; people read kilometres. */
export function humanizeReason(text: string): string {
  return text.replace(/\b(\d{4,}) m\b/g, (_, m: string) => `${(Number(m) / 1000).toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} km`);
}

const REJECTIONS: Record<string, string> = {
  bad_signature: 'the signature does not verify',
  stale_counter: 'the counter is not above the last accepted one (a replay, a reordering, or a clone)',
  decryption_failed: 'the sealed readings do not open under their header',
  malformed_plaintext: 'the readings inside do not decode',
  unknown_device: 'the device is not registered',
  device_revoked: 'the device was revoked',
  revoked: 'the device was revoked',
  unauthorized_sender: 'the input was not sent by an authorized gateway',
  timestamp_in_future: 'the reading is dated in the future',
  timestamp_too_old: 'the reading is too old',
  stale_sequence: 'the sequence number is not above the last one',
  not_owner: 'the release is not signed by the current owner',
};

/** Words for a rejection reason code, if known. */
export function rejectionText(code: string): string | undefined {
  return REJECTIONS[code];
}

export function errorText(code: string, detail?: string): string {
  const known = ERRORS[code];
  if (known) return detail && !known.includes(detail) && detail !== code ? `${known} (${detail})` : known;
  return detail ? `${code}: ${detail}` : code;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : parseQuantity(v));

function attested(v: unknown): AttestedValue | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const a = v as Record<string, unknown>;
  const counter = num(a.counter);
  if (counter === undefined || !a.reading) return undefined;
  return {
    counter,
    reading: a.reading as Reading,
    commitment: String(a.commitment ?? ''),
    input_index: num(a.input_index) ?? -1,
    block_timestamp: num(a.block_timestamp) ?? 0,
    notice_index: a.notice_index === null || a.notice_index === undefined ? null : (num(a.notice_index) ?? null),
  };
}

/** Interprets the backend's answer to `{"type":"verify"}` (crates/backend/src/inspect.rs). */
export function interpretVerifyReport(report: Record<string, unknown>): VerifyReport {
  if (report.type === 'error' || (typeof report.error === 'string' && report.verdict === undefined)) {
    const code = String(report.error ?? 'error');
    return { kind: 'error', code, message: errorText(code, typeof report.detail === 'string' ? report.detail : undefined) };
  }
  if (typeof report.verdict !== 'string') {
    return { kind: 'error', code: 'unexpected_answer', message: 'The rollup answered without a verdict.' };
  }
  return {
    kind: 'verdict',
    verdict: report.verdict as Verdict,
    reasons: Array.isArray(report.reasons) ? report.reasons.map((r) => humanizeReason(String(r))) : [],
    deviceId: String(report.device_id ?? ''),
    deviceReading: report.device_reading as Reading | undefined,
    deviceCounter: num(report.device_counter),
    lastAttested: attested(report.last_attested),
    highestAttested: attested(report.highest_attested),
    tamperEvents: num(report.tamper_events) ?? 0,
  };
}

/**
 * The attested values worth proving on L1: for a rollback the highest attested reading (the
 * evidence against the device), and the latest one; each once.
 */
export function attestationsToProve(r: VerifyReport): { role: 'highest' | 'latest'; value: AttestedValue }[] {
  if (r.kind !== 'verdict') return [];
  const out: { role: 'highest' | 'latest'; value: AttestedValue }[] = [];
  if (r.verdict === 'rollback' && r.highestAttested) out.push({ role: 'highest', value: r.highestAttested });
  if (r.lastAttested && !out.some((o) => o.value.counter === r.lastAttested?.counter)) out.push({ role: 'latest', value: r.lastAttested });
  if (out.length === 0 && r.highestAttested) out.push({ role: 'highest', value: r.highestAttested });
  return out;
}

export type ProofStatus = 'proven' | 'pending_claim' | 'failed';

export interface ProofResult {
  status: ProofStatus;
  reason: string;
  outputIndex?: number;
  epochIndex?: number;
  root?: string;
  entry?: AttestedEntry;
}

export interface ProofIO {
  getOutput(index: number): Promise<NodeOutput>;
  validateOutput(output: Hex, index: bigint, siblings: Hex[]): Promise<ValidateResult>;
}

/**
 * Fetches the notice, checks it attests `value` for `deviceId` (same counter and commitment),
 * then asks the chain to validate it against the claimed outputs root.
 */
export async function proveAttestation(io: ProofIO, deviceId: string, value: AttestedValue): Promise<ProofResult> {
  if (value.notice_index === null) return { status: 'failed', reason: 'The rollup recorded no notice for this value.' };
  const outputIndex = value.notice_index;
  let output: NodeOutput;
  try {
    output = await io.getOutput(outputIndex);
  } catch (e) {
    return { status: 'failed', outputIndex, reason: `Could not fetch notice ${outputIndex} from the node: ${(e as Error).message}` };
  }
  const raw = fromHex(output.raw_data);
  if (output.hash && '0x' + toHex(keccak_256(raw)) !== output.hash.toLowerCase()) {
    return { status: 'failed', outputIndex, reason: 'The node gave an output whose bytes do not match its hash.' };
  }
  const inputIndex = parseQuantity(output.input_index);
  if (value.input_index >= 0 && inputIndex !== undefined && inputIndex !== value.input_index) {
    return { status: 'failed', outputIndex, reason: `Notice ${outputIndex} comes from input ${inputIndex}, not from input ${value.input_index} as the rollup said.` };
  }
  let entry: AttestedEntry;
  try {
    const found = findAttestation(parseNoticePayload(decodeNoticeOutput(raw)), deviceId, value.counter, value.commitment || undefined);
    if (!found.found) return { status: 'failed', outputIndex, reason: `Notice ${outputIndex}: ${found.reason}.` };
    entry = found.entry;
  } catch (e) {
    return { status: 'failed', outputIndex, reason: `Notice ${outputIndex} could not be read: ${(e as Error).message}.` };
  }
  const epochIndex = parseQuantity(output.epoch_index);
  const siblings = output.output_hashes_siblings;
  if (!siblings || siblings.length === 0) {
    return {
      status: 'pending_claim',
      outputIndex,
      epochIndex,
      entry,
      reason: `The notice exists and attests this reading, but its epoch${epochIndex !== undefined ? ` (${epochIndex})` : ''} is not closed and claimed on chain yet, so it cannot be proven yet.`,
    };
  }
  let root: string | undefined;
  try {
    root = outputsMerkleRoot(raw, BigInt(outputIndex), siblings);
  } catch (e) {
    return { status: 'failed', outputIndex, epochIndex, entry, reason: `The node's proof is malformed: ${(e as Error).message}.` };
  }
  const result = await io.validateOutput(output.raw_data as Hex, BigInt(outputIndex), siblings as Hex[]);
  if (result.ok) {
    return { status: 'proven', outputIndex, epochIndex, entry, root, reason: `Application.validateOutput accepted notice ${outputIndex} against the claimed outputs root.` };
  }
  return { status: 'failed', outputIndex, epochIndex, entry, root, reason: `The chain rejected the proof: ${result.reason}.` };
}
