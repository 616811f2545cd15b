/**
 * A vehicle's units (PROTOCOL.md 8.2.2: a workshop replaces the telematics unit or the
 * instrument cluster) in words a buyer reads: which unit replaced which, and what each earlier
 * unit's record holds. Pure: the device page, the verify page and the certificate's pages use
 * the same text.
 */
import type { LeafView } from './api';
import { formatInt } from './format';
import { replacementInput } from './state';

/** What the words need of a unit's leaf: a decoded leaf, or a node's LeafView through {@link factsOfView}. */
export interface UnitFacts {
  deviceId: string;
  attested: number | bigint;
  tamperEvents: number;
  openTampers: number;
  corrections: number;
  predecessor: string | null;
  successor: string | null;
  correctedBaseline: { inputIndex: number | bigint } | null;
  latestCorrection: { inputIndex: number | bigint } | null;
}

/** The facts of a node's (unproven) leaf view. */
export function factsOfView(v: LeafView): UnitFacts {
  return {
    deviceId: v.device_id,
    attested: v.attested,
    tamperEvents: v.tamper_events,
    openTampers: v.open_tampers,
    corrections: v.corrections,
    predecessor: v.predecessor,
    successor: v.successor,
    correctedBaseline: v.corrected_baseline && { inputIndex: v.corrected_baseline.input_index },
    latestCorrection: v.latest_correction && { inputIndex: v.latest_correction.input_index },
  };
}

const count = (n: number | bigint, one: string, many = `${one}s`) => `${formatInt(Number(n))} ${Number(n) === 1 ? one : many}`;

/** `12 attested readings, 2 rollbacks (1 open), 1 registrar correction`. */
export function unitRecordText(u: UnitFacts): string {
  const rollbacks = u.tamperEvents === 0 ? 'no rollback' : `${count(u.tamperEvents, 'rollback')} (${u.openTampers === 0 ? 'none' : formatInt(u.openTampers)} open)`;
  const corrections = u.corrections > 0 ? `, ${count(u.corrections, 'registrar correction')}` : '';
  return `${count(u.attested, 'attested reading')}, ${rollbacks}${corrections}`;
}

/**
 * One earlier unit, and when it was replaced if known:
 * `unit replaced at input 41; the vehicle's record includes unit 0a…: 12 attested readings, 2 rollbacks (1 open)`.
 */
export function earlierUnitText(unit: UnitFacts, replacedAt?: number | bigint): string {
  const at = replacedAt !== undefined ? ` at input ${formatInt(Number(replacedAt))}` : '';
  return `unit replaced${at}; the vehicle's record includes unit ${unit.deviceId}: ${unitRecordText(unit)}`;
}

/**
 * The lines of a vehicle's earlier units, newest first: each with the input at which the unit
 * after it replaced it, when that unit's leaf still tells it (`known` may name it, e.g. from the
 * history's `replaces` entry, by the old unit's id).
 */
export function earlierUnitLines<T extends UnitFacts>(leaf: UnitFacts, earlier: readonly T[], known: ReadonlyMap<string, bigint> = new Map()): { unit: T; replacedAt?: bigint; text: string }[] {
  return earlier.map((unit, k) => {
    const newer: UnitFacts = k === 0 ? leaf : (earlier[k - 1] as T);
    const replacedAt = known.get(unit.deviceId) ?? replacementInput(newer);
    return { unit, ...(replacedAt !== undefined ? { replacedAt } : {}), text: earlierUnitText(unit, replacedAt) };
  });
}

/** `this unit was replaced by 0b…; check the vehicle's current unit`. */
export function replacedByText(successor: string): string {
  return `this unit was replaced by ${successor}; check the vehicle's current unit`;
}

/** Whether a vehicle is flagged: any of its units (this one, or one before it) has a rollback no correction cleared. */
export function vehicleFlagged(leaf: UnitFacts, earlier: readonly UnitFacts[]): boolean {
  return [leaf, ...earlier].some((u) => u.openTampers > 0);
}

/** `VIN WTN1ERVPT76V2AGYM matches the record`. */
export function vinText(vin: string): string {
  return `VIN ${vin} matches the record`;
}

/** Sentence case. */
export function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
