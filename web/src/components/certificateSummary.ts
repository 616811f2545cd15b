/**
 * What a verified certificate says, in words (PROTOCOL.md 18): the rows of its summary, the
 * points of its odometer chart, and plain-language reasons for refusals and for what it
 * cannot know offline. Pure: the pages and the tests use the same text.
 */
import type { CertAnchors, CertificateFindings, DatedOdometer, ProvenReading } from '../lib/certificate';
import { SECONDS_PER_DAY } from '../lib/notices';
import { formatDate, formatDay, formatInt, formatKm } from '../lib/format';
import { baselineText, correctionsText, correctionText, rollbacksText } from '../lib/corrections';
import { replacementInput } from '../lib/state';
import { capitalized, earlierUnitLines, replacedByText, vehicleFlagged, vinText } from '../lib/units';
import type { OdometerPoint } from './charts';

/** Plain-language reasons for the refusal codes (18.5), and for what the text form can refuse. */
export const REFUSALS: Record<string, string> = {
  not_a_certificate: 'This is not a Witness certificate: it does not start like one, and it is not the text form of one.',
  unsupported_version: 'The certificate is of a version this page does not know.',
  truncated: 'The certificate is cut short: part of it is missing (a partial download, or a copy that lost its end).',
  trailing_bytes: 'Something follows the end of the certificate: it was altered or two files were joined.',
  invalid_field: 'A field of the certificate holds a value that is not allowed: it was altered, or made wrongly.',
  oversize: 'A part of the certificate is larger than the format allows.',
  non_canonical_varint: 'A length in the certificate is not written the one allowed way: it was altered.',
  invalid_base64: 'The text is not the base64 of a certificate (a character is wrong or missing).',
  invalid_text: 'The text is not a certificate: the lines between BEGIN and END are not base64.',
  chain_mismatch: 'The certificate is for another chain than the one you pinned.',
  application_mismatch: 'The certificate is for another application than the one you pinned.',
  consensus_mismatch: 'The certificate names another consensus contract than the one you pinned.',
  claim_mismatch: 'The state the certificate carries is not covered by the claim it names.',
  outputs_root_mismatch: 'The proof of the state notice does not lead to the outputs root the certificate names: the state was altered.',
  root_mismatch: "The device's path does not lead to the state's root: the device's record was altered.",
  wrong_device: 'The record or a history notice inside is another device’s.',
  opening_missing: 'The reading the record names is not opened in the certificate.',
  wrong_commitment: 'An opened reading is not the one the record names.',
  commitment_mismatch: 'An opened reading does not match what was recorded on chain: the reading was altered.',
  history_mismatch:
    'The history notices do not add up to the device’s record: a notice is missing, altered or out of order, a disclosed reading was altered, or the rollbacks and corrections in the history do not match the record’s count of open rollbacks.',
  history_key_mismatch: 'A history key in the certificate does not open the notices it is given for.',
  vehicle_mismatch: 'The VIN (and its salt) in the certificate do not match the vehicle on record: the certificate names another car, or was altered.',
  previous_unit:
    "This unit replaced an earlier one in its vehicle, and the certificate does not carry the earlier unit's proven record (or carries one that does not link to it): the vehicle's record would be incomplete.",
  decryption_failed: 'A sealed part of the certificate does not open: it was altered.',
  malformed_plaintext: 'A sealed part of the certificate opens to something that does not decode.',
  empty: 'There is nothing to check: open a file, paste the text or read a QR code.',
  no_qr_code: 'No QR code was found in the picture.',
};

/** The reason for `code`, in words. */
export function refusalText(code: string): string {
  return REFUSALS[code] ?? `The certificate was refused (${code}).`;
}

/** What a certificate cannot know offline (18.4), by code. */
export const CANNOT_KNOW: Record<string, string> = {
  outputs_root_accepted: 'Whether the chain really accepted the outputs root it names: only L1 can say (check it on L1 below).',
  later_claims: 'Whether claims accepted after this one show something newer, such as a rollback after the certificate was made: verify the car now for its current state.',
};

export function cannotKnowText(code: string): string {
  return CANNOT_KNOW[code] ?? code;
}

export const LEVEL_WORDS: Record<string, string> = {
  summary: 'Summary (the record and its highest and first attested readings)',
  full: 'Full (every history notice of the device)',
};

/** `152,000.0 km on 2026-09-21 14:13 UTC (counter 42)`. */
export function readingText(r: ProvenReading | undefined): string {
  if (!r) return 'none';
  return `${formatKm(Number(r.reading.odometer_m))} on ${formatDate(r.reading.timestamp)} (counter ${r.counter})`;
}

/** A dated odometer's day (a UTC day number) in seconds. */
export function daySeconds(d: DatedOdometer): number {
  return d.day * SECONDS_PER_DAY;
}

export function anchorsText(a: CertAnchors): string {
  return `chain ${a.chainId}, application ${a.application}, consensus ${a.consensus}`;
}

export function statusText(f: CertificateFindings): string {
  const leaf = f.leaf;
  if (leaf.revoked) return 'revoked by a registrar';
  if (leaf.successor) return `replaced: ${replacedByText(leaf.successor)}`;
  if (leaf.flagged) return `flagged: ${formatInt(leaf.openTampers)} of ${formatInt(leaf.tamperEvents)} rollback(s) on record not cleared by a registrar's correction`;
  const earlier = f.earlierUnits.filter((u) => u.flagged);
  if (earlier.length > 0) {
    return `flagged: ${earlier.map((u) => `${formatInt(u.openTampers)} of ${formatInt(u.tamperEvents)} rollback(s) of the vehicle's earlier unit ${u.deviceId}`).join(', ')} not cleared by a registrar's correction`;
  }
  const all = [leaf, ...f.earlierUnits].reduce((n, u) => n + u.tamperEvents, 0);
  if (all > 0) return `${formatInt(all)} rollback(s) on record${f.earlierUnits.length ? " in the vehicle's units" : ''}, every one cleared by a registrar's correction`;
  return 'no tampering on record';
}

/** Something a buyer must be warned about: the unit revoked or replaced, or the vehicle flagged. */
export function hasProblem(f: CertificateFindings): boolean {
  return f.leaf.revoked || f.leaf.successor !== null || vehicleFlagged(f.leaf, f.earlierUnits);
}

/** The vehicle: the VIN when disclosed, in words. */
export function vehicleText(f: CertificateFindings): string {
  if (f.vin) return `${vinText(f.vin)}: compare it with the VIN plate on the car`;
  return "VIN not disclosed: nothing in the certificate ties the record to one car's VIN (ask the seller for a certificate that discloses it)";
}

/** The vehicle's earlier units, newest first, one line each (`unit replaced at input N; …`). */
export function earlierUnitRows(f: CertificateFindings): string[] {
  return earlierUnitLines(f.leaf, f.earlierUnits).map((l) => capitalized(l.text));
}

/** What the device is compared with: the baseline a correction set, or its highest attested reading. */
export function baselineRow(f: CertificateFindings): string {
  const b = f.leaf.correctedBaseline;
  if (b) return `${baselineText(b, replacementInput(f.leaf) === b.inputIndex)} (no reading attested since: a verifier compares the car with it, not with the highest attested reading)`;
  return 'the highest attested reading';
}

/** A full certificate's corrections, oldest first, one line each. */
export function correctionLines(f: CertificateFindings): string[] {
  return f.corrections.map((c) => correctionText(c.correction, c.cleared, c.inputIndex));
}

export function asOfText(f: CertificateFindings): string {
  return `block ${formatInt(f.asOfBlock)} (claim in block ${formatInt(f.claimBlock)}), state of input ${f.inputIndex} dated ${formatDate(f.blockTimestamp)}`;
}

/** The summary of a certificate, one `[label, value]` row each. */
export function summaryRows(f: CertificateFindings): [string, string][] {
  const leaf = f.leaf;
  const rows: [string, string][] = [
    ['Device', f.deviceId],
    ['Vehicle', vehicleText(f)],
    ['Level', LEVEL_WORDS[f.level] ?? f.level],
    ['Highest attested reading', readingText(f.highest)],
    ['First attested reading', readingText(f.first)],
    ['Attested readings', formatInt(Number(leaf.attested))],
    ['Rollbacks on record', rollbacksText(leaf.openTampers, leaf.tamperEvents)],
    ['Registrar corrections', correctionsText(leaf.corrections, leaf.latestCorrection)],
    ...(leaf.correctedBaseline ? ([['Baseline', baselineRow(f)]] as [string, string][]) : []),
    ['Ownership changes (era)', formatInt(leaf.era)],
    ...earlierUnitRows(f).map((line, i): [string, string] => [`Earlier unit ${i + 1}`, line]),
    ['Status', statusText(f)],
    ['As of', asOfText(f)],
  ];
  if (f.level === 'full') {
    rows.push(['History', `${formatInt(f.notices)} notice(s) proven complete: ${formatInt(f.disclosed.length)} whole reading(s) disclosed, ${formatInt(f.odometerOnly.length)} dated odometer value(s), ${formatInt(f.undisclosed.length)} reading(s) not disclosed`]);
    correctionLines(f).forEach((line, i) => rows.push([`Correction ${i + 1}`, line]));
  }
  rows.push(['Outputs root L1 must have accepted', `0x${f.outputsRoot} (output ${f.outputIndex})`]);
  rows.push([f.anchorsPinned ? 'Anchors (match the ones you pinned)' : 'Anchors the certificate claims (not pinned)', anchorsText(f.anchors)]);
  return rows;
}

/** The summary as plain text, one `Label: value` line each. */
export function summaryText(f: CertificateFindings): string {
  return summaryRows(f)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

/**
 * Every reading the certificate proves, for the odometer chart: one point per counter. A
 * rollback a registrar's correction cleared is marked as corrected, not as a tamper event.
 */
export function certificatePoints(f: CertificateFindings): OdometerPoint[] {
  const cleared = new Set(f.corrections.filter((c) => c.cleared).map((c) => c.correction.counter));
  const kindOf = (counter: bigint, rollback: boolean): OdometerPoint['kind'] => (!rollback ? 'attested' : cleared.has(counter) ? 'corrected' : 'rollback');
  const words = (counter: bigint, rollback: boolean, what: string) => (!rollback ? what : cleared.has(counter) ? "Rollback cleared by a registrar's correction" : 'Tamper event');
  const byCounter = new Map<bigint, OdometerPoint>();
  const whole = (r: ProvenReading, what: string) => {
    byCounter.set(r.counter, {
      time: r.reading.timestamp,
      km: Number(r.reading.odometer_m) / 1000,
      kind: kindOf(r.counter, r.rollback),
      label: `${words(r.counter, r.rollback, what)}: ${formatKm(Number(r.reading.odometer_m))} at ${formatDate(r.reading.timestamp)} (counter ${r.counter})`,
    });
  };
  for (const d of f.odometerOnly) {
    byCounter.set(d.counter, {
      time: daySeconds(d),
      km: Number(d.odometerM) / 1000,
      kind: kindOf(d.counter, d.rollback),
      label: `${words(d.counter, d.rollback, 'Attested')}: ${formatKm(Number(d.odometerM))} on ${formatDay(daySeconds(d))} (counter ${d.counter}, dated odometer)`,
    });
  }
  for (const r of f.disclosed) whole(r, 'Attested');
  if (f.first) whole(f.first, 'First attested');
  if (f.highest) whole(f.highest, 'Highest attested');
  return [...byCounter.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, p]) => p);
}

/** `<device>.wtnc` and `<device>.wtnc.txt`. */
export function certificateFileName(deviceId: string, form: 'binary' | 'text'): string {
  return `${deviceId}.wtnc${form === 'text' ? '.txt' : ''}`;
}
