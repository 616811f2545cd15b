/**
 * Ownership as the dashboard tells it (PROTOCOL.md 8.4): the first pairing at the car (its
 * pairing button), the owner's release as a transfer code (8.4.1), a registrar's recovery
 * and the owner's objection (8.4.2). The codecs are ./protocol's; this is what they mean to
 * a person, and the choices the pages offer.
 */
import type { HistoryEntry } from './notices';
import { HttpError } from './http';
import { signObjection, signRelease, transferCodeText, encodeObjection, type TransferCode } from './protocol';
import { formatDate, shortHex } from './format';
import { toHex } from './hex';

/** How long a device accepts pairing after its button was pressed (the simulated fleet says so too). */
export const PAIRING_WINDOW_S = 120;

/** What a real car asks of the person pairing it, before the dashboard can pair. */
export const REAL_CAR_BUTTON_TEXT =
  'On a real car the pairing button is behind the dashboard, or the unit asks for the ignition to be switched off and on twice with the key: whoever pairs has the car in hand, not only its radio range. The unit then accepts one pairing for two minutes.';

/** The expiries a seller can choose for a transfer code, in hours; 72 h by default. */
export const RELEASE_EXPIRY_CHOICES = [
  { hours: 24, label: '24 hours' },
  { hours: 72, label: '72 hours (3 days)' },
  { hours: 168, label: '7 days' },
] as const;
export const DEFAULT_RELEASE_HOURS = 72;

/** A transfer code made by the owner key in this browser. */
export interface MadeTransferCode {
  code: TransferCode;
  text: string;
  /** The binding it releases (the leaf's ownership sequence when it was made). */
  releasedSequence: bigint;
}

/**
 * The owner releases the device's current binding (`releasedSequence`, the leaf's ownership
 * sequence) for `hours` from `now` (seconds): the transfer code a buyer pairs with.
 */
export function makeTransferCode(ownerSeed: Uint8Array, domain: Uint8Array, deviceId: string, releasedSequence: bigint, hours: number, now = Math.floor(Date.now() / 1000)): MadeTransferCode {
  const expiresAt = now + Math.round(hours * 3600);
  const code: TransferCode = { deviceId, release: signRelease(ownerSeed, domain, deviceId, releasedSequence, expiresAt) };
  return { code, text: transferCodeText(code), releasedSequence };
}

/** The owner's objection to the recovery that would take effect at `effectiveAt`, hex (the gateway's `objection`). */
export function objectionHex(ownerSeed: Uint8Array, domain: Uint8Array, deviceId: string, effectiveAt: bigint | number): string {
  return toHex(encodeObjection(signObjection({ deviceId, effectiveAt: BigInt(effectiveAt) }, ownerSeed, domain)));
}

/** `6 d 23 h`, `5 h 12 min`, `42 s` left until `at` from `now` (seconds); `passed` once it has. */
export function countdownText(at: number, now = Date.now() / 1000): string {
  const left = Math.floor(at - now);
  if (left <= 0) return 'passed';
  const d = Math.floor(left / 86_400);
  const h = Math.floor((left % 86_400) / 3600);
  const m = Math.floor((left % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${left % 60} s`;
  return `${left} s`;
}

const OUTCOMES: Record<string, string> = {
  objected: 'the owner objected, so the owner key stays',
  superseded: 'the owner sold the car first (a release), so the recovery no longer applies',
  retired: 'the unit was revoked or replaced',
};

/** The ownership events of a device's history in plain words (kinds 6, 11, 12, 13); `undefined` for the others. */
export function ownershipEventText(e: HistoryEntry): string | undefined {
  switch (e.kind) {
    case 'owner_changed':
      return e.consented
        ? `the car changed hands: the previous owner released it with a transfer code, and the device bound the new owner key ${shortHex(e.owner)}`
        : `first pairing: the device bound the owner key ${shortHex(e.owner)} after its pairing button was pressed`;
    case 'recovery_started':
      return `a registrar (${shortHex(e.registrar)}) started an ownership recovery to the key ${shortHex(e.owner)}: it takes effect on ${formatDate(Number(e.effectiveAt))} unless the current owner objects`;
    case 'recovery_ended':
      return `the ownership recovery was stopped: ${OUTCOMES[e.outcome] ?? e.outcome}`;
    case 'owner_recovered':
      return `the ownership recovery took effect: the owner key is now ${shortHex(e.owner)} (readings from here on are a new owner's)`;
    default:
      return undefined;
  }
}

/** The heading of an event of a device's history. */
export function eventTitle(e: HistoryEntry): string {
  switch (e.kind) {
    case 'corrected':
      return "registrar's correction";
    case 'owner_changed':
      return e.consented ? 'sold (released by the owner)' : 'paired';
    case 'recovery_started':
      return 'ownership recovery started';
    case 'recovery_ended':
      return 'ownership recovery stopped';
    case 'owner_recovered':
      return 'ownership recovered';
    default:
      return e.kind.replace(/_/g, ' ');
  }
}

/** Why a pairing or a claim was refused, in words a buyer or an owner can act on. */
export function claimErrorText(e: unknown): string {
  const code = e instanceof HttpError ? e.code : undefined;
  switch (code) {
    case 'press_button':
      return `The device is not in pairing mode: press its pairing button (on a real car: behind the dashboard, or switch the ignition off and on twice with the key), then pair within ${PAIRING_WINDOW_S / 60} minutes.`;
    case 'release_required':
      return 'This car already has an owner. It passes to you only with the owner’s transfer code: ask the seller for it (“Sell this car” on their device page) and paste or scan it here.';
    case 'release_expired':
      return 'The transfer code has expired. Ask the seller for a new one.';
    case 'bad_signature':
      if (/release/i.test((e as Error).message))
        return 'The transfer code is not signed by the car’s current owner, or it was already used (a transfer code works once): ask the seller for a new one.';
      return (e as Error).message;
    case 'stale_sequence':
      return 'The device signed an older pairing than the one on record. Press the pairing button and try again.';
    default:
      return (e as Error)?.message ?? String(e);
  }
}
