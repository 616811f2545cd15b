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

/**
 * Presses the device's pairing button (the simulated fleet's stand-in for the button behind a
 * real car's dashboard, or the ignition-key cycle): the device then signs one ownership
 * statement within `window_s` seconds.
 */
export async function pressPairingButton(url: string, deviceId: string): Promise<{ pressed: boolean; window_s: number }> {
  const { data } = await requestJson<{ pressed?: boolean; window_s?: number }>(`${base(url)}/devices/${deviceId}/button`, { method: 'POST', what, credentials: 'omit' });
  return { pressed: data?.pressed === true, window_s: typeof data?.window_s === 'number' ? data.window_s : 120 };
}

/**
 * The device signs a statement binding `ownerPublicKeyHex` (after its button was pressed; else
 * an HttpError with code `press_button`). `transferCode`: the seller's release, for a device
 * that has an owner; without it the device signs a first pairing.
 */
export async function pairDevice(url: string, deviceId: string, ownerPublicKeyHex: string, transferCode?: string): Promise<{ statement: string; sequence?: number }> {
  const { data } = await requestJson<{ statement: string; sequence?: number }>(`${base(url)}/devices/${deviceId}/pair`, {
    body: transferCode ? { owner_public_key: ownerPublicKeyHex, transfer_code: transferCode } : { owner_public_key: ownerPublicKeyHex },
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
