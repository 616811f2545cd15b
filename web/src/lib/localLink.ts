/** A device's local link (the Bluetooth stand-in served by the fleet; CORS open). */
import { requestJson } from './http';
import type { Reading } from './protocol';

const what = 'the device local link';
const base = (url: string) => url.replace(/\/+$/, '');

export interface LocalDevice {
  device_id: string;
  model?: number;
  model_name?: string;
  handle?: string;
  scenario?: string | null;
  [key: string]: unknown;
}

export async function listLocalDevices(url: string): Promise<LocalDevice[]> {
  const { data } = await requestJson<unknown>(`${base(url)}/devices`, { what, credentials: 'omit', timeoutMs: 8000 });
  const list = Array.isArray(data) ? data : ((data as { devices?: unknown[] })?.devices ?? []);
  return (list as Record<string, unknown>[]).map((d) => ({ ...d, device_id: String(d.device_id ?? d.id).toLowerCase() }) as LocalDevice);
}

export interface ProofAnswer {
  proof: string;
  reading?: Reading;
  counter?: number;
}

export async function requestProof(url: string, deviceId: string, nonceHex: string): Promise<ProofAnswer> {
  const { data } = await requestJson<ProofAnswer>(`${base(url)}/devices/${deviceId}/proof`, { body: { nonce: nonceHex }, what, credentials: 'omit' });
  if (!data || typeof data.proof !== 'string') throw new Error('The device did not return a proof.');
  return data;
}

export async function pairDevice(url: string, deviceId: string, ownerPublicKeyHex: string): Promise<{ statement: string; sequence?: number }> {
  const { data } = await requestJson<{ statement: string; sequence?: number }>(`${base(url)}/devices/${deviceId}/pair`, {
    body: { owner_public_key: ownerPublicKeyHex },
    what,
    credentials: 'omit',
  });
  if (!data || typeof data.statement !== 'string') throw new Error('The device did not return an ownership statement.');
  return data;
}

/** The device's answer for one of its readings: the opening (7.4) and, from devices that give it, the envelope's commitment key (7.1, hex). */
export interface OpeningAnswer {
  opening: string;
  commitment_key?: string;
  reading?: Reading;
}

export async function requestOpening(url: string, deviceId: string, counter: number | bigint): Promise<OpeningAnswer> {
  const { data } = await requestJson<OpeningAnswer>(`${base(url)}/devices/${deviceId}/history/${counter}`, {
    what,
    credentials: 'omit',
  });
  if (!data || typeof data.opening !== 'string') throw new Error('The device did not return an opening.');
  return data;
}
