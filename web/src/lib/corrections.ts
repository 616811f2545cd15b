/**
 * A registrar's corrections (PROTOCOL.md 8.2.1) and the record they leave (16.2: open
 * rollbacks, a corrected baseline), in words a buyer reads. Pure: the device page, the
 * verify page and the certificate's pages use the same text.
 */
import type { Correction, CorrectionReason, EvidenceType } from './notices';
import { formatInt, formatKm } from './format';

/** Why a registrar corrected the record. */
export const REASON_WORDS: Record<CorrectionReason, string> = {
  cluster_replaced: 'the instrument cluster (or the odometer sensor) was replaced, so later readings start from another value',
  sensor_fault: 'the odometer sensor reported a value the car never showed',
  data_entry_error: 'a value was entered or transcribed wrongly',
};

/** What the correction rests on: a document the registrar keeps (not public; its SHA-256 is). */
export const EVIDENCE_WORDS: Record<EvidenceType, string> = {
  workshop_record: "a workshop's record of the repair",
  inspection_report: "an inspection station's report",
  diagnostic_log: "the manufacturer's diagnostic log of the unit",
  registry_record: "a registry's record (a vehicle register or an insurer)",
};

export function reasonText(reason: string): string {
  return REASON_WORDS[reason as CorrectionReason] ?? reason.replace(/_/g, ' ');
}

export function evidenceText(evidence: string, digest?: string): string {
  const words = EVIDENCE_WORDS[evidence as EvidenceType] ?? evidence.replace(/_/g, ' ');
  if (!digest) return words;
  return /^0+$/.test(digest) ? `${words} (no document named)` : `${words} (SHA-256 ${digest.slice(0, 16)}…)`;
}

const n = (v: number | bigint) => Number(v);

/**
 * `baseline 1,200.0 km set by a registrar's correction at input 78`; set by a replacement unit's
 * act (8.2.2): `baseline 152,000.0 km the unit's replacement stated at input 79`.
 */
export function baselineText(b: { odometerM: number | bigint; inputIndex: number | bigint }, byReplacement = false): string {
  const by = byReplacement ? "the unit's replacement stated" : "set by a registrar's correction";
  return `baseline ${formatKm(n(b.odometerM))} ${by} at input ${formatInt(n(b.inputIndex))}`;
}

/** Rollbacks on record, open vs all: `2: 1 still open, 1 cleared by a registrar's correction`. */
export function rollbacksText(open: number, total: number): string {
  if (total === 0 && open === 0) return 'none';
  if (open === 0) return `${formatInt(total)}, ${total === 1 ? 'cleared' : 'all cleared'} by a registrar's correction`;
  if (open >= total) return `${formatInt(total)}, ${total === 1 ? 'not cleared' : 'none cleared'} by a registrar's correction`;
  return `${formatInt(total)}: ${formatInt(open)} still open, ${formatInt(total - open)} cleared by a registrar's correction`;
}

/** The count of corrections and the latest: `1 (the latest of counter 3, at input 13)`. */
export function correctionsText(count: number, latest: { counter: number | bigint; inputIndex: number | bigint } | null): string {
  if (count === 0) return 'none';
  return latest ? `${formatInt(count)} (the latest of counter ${String(latest.counter)}, at input ${formatInt(n(latest.inputIndex))})` : formatInt(count);
}

/** What one correction did, in parts (for a table). */
export function correctionParts(c: Correction, cleared: boolean): { what: string; why: string; evidence: string; value: string; baseline: string; note: string } {
  const did: string[] = [];
  if (cleared) did.push('cleared the rollback recorded there');
  if (c.odometerM !== null) did.push(`gave the reading's right value, ${formatKm(n(c.odometerM))} (the original stays on record)`);
  if (c.baselineM !== null) did.push(`moved the baseline to ${formatKm(n(c.baselineM))}`);
  return {
    what: did.length ? did.join('; ') : 'recorded a correction',
    why: reasonText(c.reason),
    evidence: evidenceText(c.evidence, c.evidenceDigest),
    value: c.odometerM !== null ? formatKm(n(c.odometerM)) : '—',
    baseline: c.baselineM !== null ? formatKm(n(c.baselineM)) : 'unchanged',
    note: c.note,
  };
}

/** One correction in a sentence: `Counter 5, corrected at input 9: cleared the rollback recorded there; … Why: … On: … Note: “…”.` */
export function correctionText(c: Correction, cleared: boolean, inputIndex?: number | bigint): string {
  const p = correctionParts(c, cleared);
  const at = inputIndex !== undefined ? `, corrected at input ${formatInt(n(inputIndex))}` : '';
  return `Counter ${c.counter}${at}: ${p.what}. Why: ${p.why}. On: ${p.evidence}.${p.note ? ` Note: “${p.note}”.` : ''}`;
}
