/** Public facts about a device, straight from the rollup (inspect `{"type":"device"}`). */
import { inspect } from './node';
import type { BadgeKind } from '../components/ui';

export interface PublicDevice {
  device_id: string;
  exists: boolean;
  model?: number;
  status?: 'active' | 'flagged' | 'revoked' | string;
  flagged?: boolean;
  revocation_reason?: string | null;
  public_key?: string;
  owner?: string | null;
  last_counter?: number | null;
  readings?: number;
  tamper_events?: number;
  last_attested?: { counter: number; input_index: number; block_timestamp: number; notice_index: number | null; commitment: string } | null;
}

export async function publicDevice(inspectUrl: string, deviceId: string): Promise<PublicDevice> {
  const { report } = await inspect(inspectUrl, { type: 'device', device_id: deviceId });
  if (report.type === 'error') throw new Error(String(report.detail ?? report.error));
  return report as unknown as PublicDevice;
}

/**
 * The badge of "my devices": revoked and tamper alerts come first; "pending" until the rollup
 * has bound this browser's owner key and attested a reading; then "verified".
 */
export function badgeFor(pub: PublicDevice | undefined, ownerKeyHex: string | undefined): { kind: BadgeKind; why: string } {
  if (!pub) return { kind: 'unknown', why: 'The rollup node could not be asked.' };
  if (!pub.exists) return { kind: 'pending', why: 'The rollup does not know this device yet.' };
  if (pub.status === 'revoked') return { kind: 'revoked', why: pub.revocation_reason ? `Revoked: ${pub.revocation_reason}` : 'Revoked by the registrar.' };
  if (pub.flagged || pub.status === 'flagged') return { kind: 'tamper', why: `${pub.tamper_events ?? 0} tamper event(s) on record without a correction.` };
  if (!ownerKeyHex) return { kind: 'pending', why: 'The owner key for this device is not in this browser.' };
  if (pub.owner !== ownerKeyHex) return { kind: 'pending', why: 'Waiting for the rollup to record your claim.' };
  if (!pub.last_attested) return { kind: 'pending', why: 'No reading attested yet.' };
  return { kind: 'verified', why: 'Owned by you; attested readings and no tampering on record.' };
}
