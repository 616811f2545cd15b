/**
 * The verifier (PROTOCOL.md 17): trusts the pinned anchors and the chain's consensus, and
 * nothing else. The chain says which claim is the latest and how many inputs it covers; a
 * node is asked for the state notice of the claim's last input (proven on chain with
 * `Application.validateOutput`) and for the device's map path (checked against that
 * notice's root); the device answers a fresh nonce and opens its highest attested reading;
 * the verdict is decided here (verdict.ts). A failure of V1-V7 is `cannot_confirm` with its
 * reason; nothing falls back to what a node says.
 *
 * Network access is passed in ({@link VerifyIO}), so all of it is unit-testable.
 */
import type { InspectAnswer } from './api';
import type { AcceptedClaim } from './l1';
import type { TrustAnchors } from './anchors';
import type { NodeOutput } from './node';
import { fromHex, parseQuantity } from './hex';
import { codeOf } from './codec';
import { decodeNoticeOutput, decodeStateNotice, outputsMerkleRoot, type StateNotice } from './notices';
import { verifyMapProof, type DeviceLeaf } from './state';
import { decide, type Decision, type Finding, type VerdictCode } from './verdict';
import { decodeOpening, decodePossessionProof, domainBytes, type Opening, type PossessionProof } from './protocol';

export type Tone = 'good' | 'bad' | 'warn' | 'neutral';

export type ValidateResult = { ok: true } | { ok: false; reason: string };

/** What the verifier asks of the world. */
export interface VerifyIO {
  /** Chain: `eth_chainId`. */
  chainId(): Promise<number>;
  /** Chain: `Application(app).getOutputsMerkleRootValidator()`. */
  applicationConsensus(app: string): Promise<string>;
  /** Chain: the newest `ClaimAccepted` of `consensus` for `app`. */
  latestAcceptedClaim(consensus: string, app: string): Promise<AcceptedClaim | null>;
  /** Chain: `InputBox.getNumberOfInputs(app)` at a block. */
  inputCountAt(app: string, block: number | 'latest'): Promise<number>;
  /** Chain: the latest block's time (s): the claim's age is measured against it. */
  headTime(): Promise<number | undefined>;
  /** Chain: the consensus' `getEpochLength()`, if it has one. */
  epochLength(consensus: string): Promise<number | undefined>;
  /** Chain: `Application.validateOutput(output, (index, siblings))` as an eth_call. */
  validateOutput(app: string, output: string, index: bigint, siblings: string[]): Promise<ValidateResult>;
  /** Node: every output of an input (`cartesi_listOutputs` with `input_index`), in order. */
  outputsOfInput(inputIndex: number): Promise<NodeOutput[]>;
  /** Node: inspect `{"type":"device_proof", …}`. */
  deviceProof(deviceId: string, inputIndex: number): Promise<InspectAnswer>;
  /** Node: the backend's public key (inspect config; possession proofs are bound to it). */
  backendKey(): Promise<Uint8Array>;
  /** Device: a possession proof for `nonce` (hex). */
  requestProof(deviceId: string, nonce: string): Promise<{ proof: string }>;
  /** Device: the opening of reading `counter`. */
  requestOpening(deviceId: string, counter: bigint): Promise<{ opening: string }>;
  /** 32 random bytes, hex. */
  nonce(): string;
  /** Seconds since the epoch. */
  now(): number;
}

export type StepId = 'anchors' | 'claim' | 'notice' | 'onchain' | 'path' | 'device' | 'decide';
export type StepState = 'running' | 'ok' | 'warn' | 'fail' | 'skipped';

export const STEPS: [StepId, string][] = [
  ['anchors', 'The chain and the application are the pinned ones (V1, V2)'],
  ['claim', 'The latest accepted claim and the inputs it covers (V3, V4)'],
  ['notice', "The state notice of the claim's last input, from the node (V5)"],
  ['onchain', 'The state notice is proven on chain: Application.validateOutput (V6)'],
  ['path', "The device's leaf and path, and those of the vehicle's earlier units, checked against the notice's map root (V7, V7a)"],
  ['device', 'The device signs a fresh challenge and opens its highest attested reading (V8)'],
  ['decide', 'Decide (V9, PROTOCOL.md 17.3)'],
];

export interface AsOf {
  /** The claim's `lastProcessedBlockNumber`. */
  block: number;
  epochLength?: number;
  /** `block div epochLength`. */
  epoch?: number;
  /** Block time (s) of the ClaimAccepted event. */
  claimTime: number;
  /** The chain's latest block time (s) when verified, if known (else the browser's clock). */
  headTime?: number;
  claimTx: string;
  claimBlock: number;
  /** Inputs the claim covers: `0 ..= covered − 1`. */
  covered: number;
  /** Inputs added since, not yet claimed. */
  unclaimed?: number;
}

export interface VerifyResult {
  decision: Decision;
  /** The step whose failure made it `cannot_confirm`. */
  failedStep?: StepId;
  asOf?: AsOf;
  state?: StateNotice;
  stateOutputIndex?: number;
  /** `undefined`: not proven; `null`: proven absent. */
  leaf?: DeviceLeaf | null;
  /** The vehicle's earlier units proven against the same state notice (V7a), newest first. */
  earlierUnits?: DeviceLeaf[];
  nonce?: string;
  proof?: PossessionProof;
  opening?: Opening;
  /** ms spent. */
  elapsedMs: number;
}

export type OnStep = (id: StepId, state: StepState, detail?: string) => void;

class Stop extends Error {
  constructor(
    readonly step: StepId,
    readonly finding: Finding,
  ) {
    super(finding.detail);
  }
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** An earlier unit of the vehicle, proven against the same state notice (V7a). */
export interface ProvenUnit {
  leaf: DeviceLeaf;
  /** Its map proof (16.3) as the node gave it: what a certificate carries (18.2). */
  mapProof: Uint8Array;
}

/** Most earlier units asked for (a vehicle has as many as replacements; the bound only stops a node's loop). */
export const MAX_EARLIER_UNITS = 16;

type LeafAt = { ok: true; leaf: DeviceLeaf | null; proof: Uint8Array } | { ok: false; why: 'unreachable' | 'invalid'; detail: string };

/** The node's map proof of `deviceId` as of `input`, checked against `root` (V7). */
async function leafAt(io: VerifyIO, deviceId: string, input: number, root: Uint8Array, whose: string): Promise<LeafAt> {
  let answer: InspectAnswer;
  try {
    answer = await io.deviceProof(deviceId, input);
  } catch (e) {
    return { ok: false, why: 'unreachable', detail: msg(e) };
  }
  if (answer.type === 'error') return { ok: false, why: 'invalid', detail: `The node refused ${whose} path as of input ${input}: ${answer.error}: ${answer.detail}` };
  if (answer.type !== 'device_proof') return { ok: false, why: 'invalid', detail: `The node answered ${answer.type} instead of a device proof.` };
  let proof: Uint8Array;
  try {
    proof = fromHex(answer.proof);
  } catch {
    return { ok: false, why: 'invalid', detail: 'The map proof is not hex.' };
  }
  const outcome = verifyMapProof(proof, deviceId, root);
  if (!outcome.ok) return { ok: false, why: 'invalid', detail: `${whose[0]?.toUpperCase()}${whose.slice(1)} path does not check against the proven map root (${outcome.code}): ${outcome.detail}.` };
  return { ok: true, leaf: outcome.member ? outcome.leaf : null, proof };
}

/** What V1-V7 establish: the device's leaf (or its absence) as of the latest claim. */
export interface ProvenState {
  ok: true;
  asOf: AsOf;
  state: StateNotice;
  stateOutputIndex: number;
  /** `null`: proven absent. */
  leaf: DeviceLeaf | null;
  /** The map proof (16.3) as the node gave it, checked against the state notice's map root. */
  mapProof: Uint8Array;
  /**
   * V7a: the vehicle's earlier units (the leaf's predecessor, its predecessor, …, at most 16),
   * newest first, each proven against the same map root, up to the first the node does not prove.
   */
  earlierUnits: ProvenUnit[];
  /** The earlier unit the node did not prove, and why (the verdict says `previous_unit`). */
  earlierMissing?: { deviceId: string; why: string };
  /** The state notice's 63 output siblings (0x hex, level 0 first), accepted by `validateOutput`. */
  stateSiblings: string[];
  /** The claim's outputs root (0x hex), from its ClaimAccepted event. */
  outputsRoot: string;
}

export interface NotProven {
  ok: false;
  step: StepId;
  finding: Finding;
  asOf?: AsOf;
  state?: StateNotice;
}

/** V1-V7: proves `deviceId`'s leaf against the latest claim of the pinned application. Never throws. */
export async function proveDevice(io: VerifyIO, anchors: TrustAnchors | undefined, deviceIdRaw: string, onStep: OnStep = () => {}): Promise<ProvenState | NotProven> {
  const deviceId = deviceIdRaw.trim().toLowerCase();
  const out: { asOf?: AsOf; state?: StateNotice } = {};
  let current: StepId = 'anchors';
  const step = (id: StepId) => {
    current = id;
    onStep(id, 'running');
  };
  const stop = (code: string, detail: string): never => {
    throw new Stop(current, { code, detail });
  };
  try {
    // V1, V2
    step('anchors');
    if (!anchors) stop('no_anchors', 'No trust anchors are pinned: open the pin link `witness up` printed, open its anchors file, or type the chain id, application and consensus.');
    const a = anchors as TrustAnchors;
    const id = await io.chainId().catch((e) => stop('chain_unreachable', `The chain's RPC could not be asked: ${msg(e)}`));
    if (id !== a.chainId) stop('chain_mismatch', `The chain RPC serves chain ${id}; the pinned chain id is ${a.chainId}.`);
    const consensus = await io.applicationConsensus(a.application).catch((e) => stop('application_mismatch', `Application ${a.application} could not be asked for its consensus: ${msg(e)}`));
    if (consensus.toLowerCase() !== a.consensus.toLowerCase()) {
      stop('application_mismatch', `Application ${a.application} is validated by ${consensus}, not by the pinned consensus ${a.consensus}.`);
    }
    onStep('anchors', 'ok', `Chain ${id}; application ${a.application} validated by ${a.consensus}.`);

    // V3, V4
    step('claim');
    const claim = await io.latestAcceptedClaim(a.consensus, a.application).catch((e) => stop('chain_unreachable', `The claims could not be read from the chain: ${msg(e)}`));
    if (!claim) stop('no_accepted_claim', 'The consensus has accepted no claim for this application yet: nothing is final on chain.');
    const c = claim as AcceptedClaim;
    const n = await io.inputCountAt(a.application, c.lastProcessedBlock).catch((e) => stop('chain_unreachable', `InputBox.getNumberOfInputs at block ${c.lastProcessedBlock} failed: ${msg(e)}`));
    if (n === 0) stop('no_input_claimed', `The latest claim (block ${c.lastProcessedBlock}) covers no input.`);
    const [epochLength, latestCount, headTime] = await Promise.all([
      io.epochLength(a.consensus).catch(() => undefined),
      io.inputCountAt(a.application, 'latest').catch(() => undefined),
      io.headTime().catch(() => undefined),
    ]);
    const asOf: AsOf = {
      block: c.lastProcessedBlock,
      epochLength,
      epoch: epochLength ? Math.floor(c.lastProcessedBlock / epochLength) : undefined,
      claimTime: c.blockTimestamp,
      headTime,
      claimTx: c.txHash,
      claimBlock: c.blockNumber,
      covered: n,
      unclaimed: latestCount !== undefined ? Math.max(0, latestCount - n) : undefined,
    };
    out.asOf = asOf;
    onStep('claim', 'ok', `Claim accepted in block ${c.blockNumber} for blocks up to ${c.lastProcessedBlock}: inputs 0 to ${n - 1}.`);

    // V5
    step('notice');
    const last = n - 1;
    const outputs = await io.outputsOfInput(last).catch((e) => stop('state_notice_missing', `The node could not list the outputs of input ${last}: ${msg(e)}`));
    const output = outputs[outputs.length - 1];
    if (!output) stop('state_notice_missing', `The node has no outputs for input ${last}: it is behind the claim, or withholds the state notice.`);
    const o = output as NodeOutput;
    let state: StateNotice;
    let raw: Uint8Array;
    try {
      raw = fromHex(o.raw_data);
      state = decodeStateNotice(decodeNoticeOutput(raw));
    } catch (e) {
      return stop('state_notice_missing', `The last output the node gives for input ${last} is not a state notice (${msg(e)}): it withholds the notice, or answers another input's.`);
    }
    if (state.inputIndex !== BigInt(last)) stop('state_notice_missing', `The node's state notice is for input ${state.inputIndex}, not for input ${last}, the claim's last.`);
    if (state.blockNumber > BigInt(c.lastProcessedBlock)) stop('state_notice_missing', `The state notice names block ${state.blockNumber}, after the claim's block ${c.lastProcessedBlock}.`);
    out.state = state;
    onStep('notice', 'ok', `Input ${last}: ${state.devices} device(s), map root ${state.mapRoot.slice(0, 16)}…`);

    // V6
    step('onchain');
    const index = parseQuantity(o.index);
    if (index === undefined || !Number.isSafeInteger(index) || index < 0) return stop('proof_refused', 'The node gave no usable output index.');
    const siblings = o.output_hashes_siblings;
    if (!siblings || siblings.length !== 63) stop('proof_refused', 'The node gave no 63-hash proof for the state notice.');
    try {
      outputsMerkleRoot(raw, BigInt(index), siblings as string[]);
    } catch (e) {
      stop('proof_refused', `The node's proof is malformed: ${msg(e)}`);
    }
    const valid = await io.validateOutput(a.application, o.raw_data, BigInt(index), siblings as string[]);
    if (!valid.ok) stop('proof_refused', `Application.validateOutput refused the state notice: ${valid.reason}.`);
    onStep('onchain', 'ok', `Output ${index} is proven against an accepted outputs root.`);

    // V7
    step('path');
    const root = fromHex(state.mapRoot);
    const at = await leafAt(io, deviceId, last, root, "the device's");
    if (!at.ok) return stop('path_invalid', at.why === 'unreachable' ? `The node could not be asked for the device's path: ${at.detail}` : at.detail);
    const { leaf, proof: proofBytes } = at;
    // V7a: the vehicle's earlier units, against the same root. One the node does not prove is
    // left out: the verdict then says the record is incomplete, never that it is clean.
    const earlierUnits: ProvenUnit[] = [];
    let missing: { deviceId: string; why: string } | undefined;
    for (let next = leaf?.predecessor ?? null; next !== null && earlierUnits.length < MAX_EARLIER_UNITS; ) {
      const unit = await leafAt(io, next, last, root, `the earlier unit ${next}'s`);
      if (!unit.ok || !unit.leaf) {
        missing = { deviceId: next, why: unit.ok ? 'the node proves it absent' : unit.detail };
        break;
      }
      earlierUnits.push({ leaf: unit.leaf, mapProof: unit.proof });
      next = unit.leaf.predecessor;
    }
    const said = leaf
      ? `Leaf proven: ${leaf.attested} attested reading(s), ${leaf.tamperEvents} rollback(s) on record (${leaf.openTampers} not cleared by a correction), ${leaf.corrections} correction(s), counter ${leaf.lastCounter ?? '—'}.`
      : 'Proven absent: the claimed state has no device with this id.';
    const units = earlierUnits.length ? ` The vehicle's ${earlierUnits.length} earlier unit(s) proven against the same root (V7a): ${earlierUnits.map((u) => u.leaf.deviceId).join(', ')}.` : '';
    if (missing) onStep('path', 'warn', `${said}${units} The earlier unit ${missing.deviceId} is not proven (${missing.why}): the vehicle's record is incomplete.`);
    else onStep('path', 'ok', `${said}${units}`);
    return { ok: true, asOf, state, stateOutputIndex: index, leaf, mapProof: proofBytes, earlierUnits, ...(missing ? { earlierMissing: missing } : {}), stateSiblings: [...(siblings as string[])], outputsRoot: c.outputsRoot };
  } catch (e) {
    const s = e instanceof Stop ? e : new Stop(current, { code: 'cannot_confirm', detail: msg(e) });
    onStep(s.step, 'fail', s.finding.detail);
    const at = STEPS.findIndex(([x]) => x === s.step);
    STEPS.forEach(([id], i) => i > at && onStep(id, 'skipped'));
    return { ok: false, step: s.step, finding: s.finding, ...out };
  }
}

/** Runs V1-V9 for `deviceId` with the pinned `anchors`. Never throws. */
export async function verifyDevice(io: VerifyIO, anchors: TrustAnchors | undefined, deviceIdRaw: string, onStep: OnStep = () => {}): Promise<VerifyResult> {
  const t0 = Date.now();
  const deviceId = deviceIdRaw.trim().toLowerCase();
  const proven = await proveDevice(io, anchors, deviceId, onStep);
  if (!proven.ok) {
    return { asOf: proven.asOf, state: proven.state, decision: { verdict: 'cannot_confirm', findings: [proven.finding] }, failedStep: proven.step, elapsedMs: Date.now() - t0 };
  }
  const base = { asOf: proven.asOf, state: proven.state, stateOutputIndex: proven.stateOutputIndex, leaf: proven.leaf, earlierUnits: proven.earlierUnits.map((u) => u.leaf) };
  const done = (r: Omit<VerifyResult, 'elapsedMs'>): VerifyResult => ({ ...r, elapsedMs: Date.now() - t0 });

  // V8
  const leaf = proven.leaf;
  if (!leaf) {
    onStep('device', 'skipped', 'No device to read: the proven state has no device with this id.');
    const decision: Decision = { verdict: 'unknown_device', findings: [{ code: 'unknown_device', detail: 'the proven state has no device with this id' }] };
    onStep('decide', 'warn', verdictInfo(decision.verdict).label);
    return done({ ...base, decision });
  }
  onStep('device', 'running');
  const nonce = io.nonce();
  let proof: PossessionProof;
  let domain: Uint8Array;
  try {
    const [answer, key] = await Promise.all([io.requestProof(deviceId, nonce), io.backendKey()]);
    if (!anchors) throw new Error('no trust anchors are pinned');
    domain = domainBytes(anchors.chainId, fromHex(anchors.application), key);
    proof = decodePossessionProof(fromHex(answer.proof));
  } catch (e) {
    const finding = { code: 'device_unreachable', detail: `The device gave no readable answer to the challenge: ${msg(e)}` };
    onStep('device', 'fail', finding.detail);
    onStep('decide', 'skipped');
    return done({ ...base, nonce, decision: { verdict: 'cannot_confirm', findings: [finding] }, failedStep: 'device' });
  }
  let opening: Opening | undefined;
  let openingNote = '';
  if (leaf.highest) {
    try {
      opening = decodeOpening(fromHex((await io.requestOpening(deviceId, leaf.highest.counter)).opening));
    } catch (e) {
      openingNote = ` It gave no opening of counter ${leaf.highest.counter} (${codeOf(e) ?? msg(e)}).`;
    }
  }
  onStep('device', 'ok', `The device shows ${proof.reading.odometer_m} m at counter ${proof.counter}.${openingNote}`);

  // V9
  onStep('decide', 'running');
  const decision = decide({ deviceId, leaf, proof, nonce, domain, opening, predecessors: base.earlierUnits });
  const info = decisionInfo(decision);
  onStep('decide', info.tone === 'good' ? 'ok' : info.tone === 'bad' ? 'fail' : 'warn', info.label);
  return done({ ...base, nonce, proof, opening, decision });
}

// ---- words ----

const VERDICTS: Record<VerdictCode, { tone: Tone; label: string; summary: string }> = {
  consistent: {
    tone: 'good',
    label: 'Consistent',
    summary:
      "The odometer the device shows now agrees with its history as proven on chain: at or above its highest attested reading (or the baseline a registrar's correction set), and no rollback on record that a correction did not clear.",
  },
  rollback: {
    tone: 'bad',
    label: 'Rollback detected',
    summary: "The device shows less distance than its highest reading attested on chain (or than the baseline a registrar's correction set): the odometer was wound back.",
  },
  flagged: {
    tone: 'warn',
    label: 'Tamper history',
    summary:
      "The proven state has a rollback on record that no registrar's correction cleared (in this unit, or in a unit the vehicle had before it), or the device counts behind what the rollup consumed (a clone or a reset).",
  },
  revoked: {
    tone: 'bad',
    label: 'Revoked',
    summary: 'A registrar revoked this device; its readings are no longer accepted.',
  },
  unknown_device: {
    tone: 'warn',
    label: 'Unknown device',
    summary: 'The state proven on chain has no device with this id.',
  },
  no_history: {
    tone: 'warn',
    label: 'No history yet',
    summary: 'The device is registered but no reading of it is attested yet: there is nothing to compare it with.',
  },
  cannot_confirm: {
    tone: 'bad',
    label: 'Cannot confirm',
    summary: 'A check failed, so nothing is concluded about this device. The reason is below; no answer of a node or gateway is used instead.',
  },
};

export function verdictInfo(verdict: string): { tone: Tone; label: string; summary: string } {
  return VERDICTS[verdict as VerdictCode] ?? { tone: 'neutral', label: verdict, summary: 'A verdict this page does not know.' };
}

/**
 * The words of a decision: its verdict's, except for a unit replaced in its vehicle (`revoked`
 * with finding `replaced`), which is retired rather than revoked: the buyer checks the vehicle's
 * current unit.
 */
export function decisionInfo(decision: Decision): { tone: Tone; label: string; summary: string } {
  if (decision.verdict === 'revoked' && decision.findings[0]?.code === 'replaced') {
    return {
      tone: 'warn',
      label: 'Replaced unit',
      summary: "A workshop fitted the car with a new unit: this one's readings are no longer accepted, and the vehicle's record continues on the new unit.",
    };
  }
  return verdictInfo(decision.verdict);
}

/** Words for each reason code of V1-V8. */
export const REASONS: Record<string, string> = {
  no_anchors: 'no trust anchors pinned',
  chain_unreachable: 'the chain could not be asked',
  chain_mismatch: 'the chain is not the pinned one',
  application_mismatch: "the application's consensus is not the pinned one",
  no_accepted_claim: 'no claim accepted on chain yet',
  no_input_claimed: 'the latest claim covers no input',
  state_notice_missing: "the node does not give the claim's state notice",
  proof_refused: 'the chain refused the state notice',
  path_invalid: "the device's path does not check against the proven root",
  device_unreachable: 'the device did not answer',
  proof_not_fresh: "the device's answer is not for this challenge",
  device_signature: "the device's signature does not verify",
  opening: 'the device did not open its highest attested reading',
  previous_unit: "the record of a unit the vehicle had before is missing or does not link to this one",
};

const ERRORS: Record<string, string> = {
  bad_proof: 'The device returned a proof the rollup could not decode.',
  invalid_proof: "The proof's signature does not verify under the device's registered key.",
  stale_proof: "The device's reading is older than the rollup's freshness window.",
  bad_query: 'The rollup did not understand the question.',
  bad_device_id: 'The device id is not 32 hex digits.',
  unknown_device: 'No device with this id is registered.',
  not_owner: 'Your owner key is not the one bound to this device on the rollup (the claim is still pending, or someone claimed it after you).',
  expired_owner_query: 'The request expired before the rollup saw it.',
  invalid_owner_query: "The rollup did not accept the request's signature.",
  bad_owner_query: 'The rollup could not decode the request.',
  no_right_to_see: 'The rollup needs an owner query or a possession proof to hand out history keys.',
  bad_response_key: 'The rollup could not seal its answer to the response key.',
  not_processed: 'The rollup has not processed that input yet.',
  not_kept: 'The rollup no longer keeps the map as of that input.',
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
  revoked_device: 'the device was revoked',
  replaced_device: "the unit was replaced in its vehicle: the vehicle's current unit takes its readings",
  vehicle_bound: 'the vehicle has a unit already: a second one comes only by a replacement',
  wrong_vehicle: "the unit is not the vehicle's current unit",
  baseline_below_record: "the replacement's baseline is below the kilometres on record",
  unauthorized_sender: 'the input was not sent by an authorized gateway',
  not_admin: 'the gateway authorization was not sent by the admin',
  timestamp_in_future: 'the reading is dated in the future',
  timestamp_too_old: 'the reading is too old',
  stale_sequence: 'the sequence number is not above the last one',
  bad_release_signature: 'the release is not signed by the current owner',
  release_required: "the device has an owner: a new owner needs that owner's release (a transfer code)",
  release_expired: 'the transfer code had expired',
  not_owned: 'the device has no owner to object',
  recovery_pending: 'an ownership recovery is pending already',
  no_pending_recovery: 'there is no pending ownership recovery to object to',
  not_owner: "the objection is not signed by the device's current owner",
  untrusted_registrar: 'the registrar is not trusted',
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
