/**
 * A device's current state as the node states it (inspect `{"type":"device"}`): unproven,
 * for dashboards. The verify page proves the leaf against L1 instead (verify.ts).
 */
import { expectAnswer, inspect } from './node';
import type { DeviceAnswer, LeafView } from './api';
import type { BadgeKind } from '../components/ui';
import { formatDate } from './format';

export type PublicDevice = DeviceAnswer;

export async function publicDevice(inspectUrl: string, deviceId: string): Promise<DeviceAnswer> {
  const { answer } = await inspect(inspectUrl, { type: 'device', device_id: deviceId });
  return expectAnswer(answer, 'device');
}

/**
 * The badge of "my devices": revoked, replaced and tamper alerts come first, then a pending
 * ownership recovery (the owner has a week to object, PROTOCOL.md 8.4.2); "pending" until the
 * rollup has bound this browser's owner key and attested a reading; then "verified".
 */
export function badgeFor(pub: DeviceAnswer | undefined, ownerKeyHex: string | undefined): { kind: BadgeKind; why: string } {
  if (!pub) return { kind: 'unknown', why: 'The rollup node could not be asked.' };
  const leaf: LeafView | null = pub.leaf;
  if (!pub.exists || !leaf) return { kind: 'pending', why: 'The rollup does not know this device yet.' };
  if (leaf.revoked) return { kind: 'revoked', why: 'Revoked by the registrar.' };
  if (leaf.successor) return { kind: 'replaced', why: `This unit was replaced by ${leaf.successor}; check the vehicle's current unit.` };
  if (leaf.flagged) return { kind: 'tamper', why: `${leaf.open_tampers} of ${leaf.tamper_events} rollback(s) on record not cleared by a registrar's correction.` };
  if (leaf.pending_recovery)
    return {
      kind: 'recovery',
      why: `A registrar started an ownership recovery to another key: it takes effect ${formatDate(leaf.pending_recovery.effective_at)} unless the owner objects (device page).`,
    };
  if (!ownerKeyHex) return { kind: 'pending', why: 'The owner key for this device is not in this browser.' };
  if (leaf.owner !== ownerKeyHex)
    return {
      kind: 'pending',
      why: leaf.owner
        ? 'The rollup records another owner key: your claim is still on its way, or the car passed on (a sale or a registrar\'s recovery).'
        : 'Waiting for the rollup to record your claim.',
    };
  if (!leaf.highest) return { kind: 'pending', why: 'No reading attested yet.' };
  return { kind: 'verified', why: 'Owned by you; attested readings and no tampering on record (as the node states it).' };
}
