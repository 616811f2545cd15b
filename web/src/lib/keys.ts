/**
 * Owner keys live only in this browser (localStorage): one Ed25519 seed per device, made
 * when the device is paired. The gateway never sees them. Export/import lets a person move
 * them to another browser.
 */
import { fromHex, randomBytes, toHex } from './hex';
import { publicKeyFromSeed } from './ed25519';

const KEY = 'witness.owner-keys.v1';

export interface OwnerKey {
  deviceId: string;
  seed: string;
  publicKey: string;
  createdAt: number;
  /** Set once the device signed a statement binding this key. */
  sequence?: number;
}

type Store = Record<string, OwnerKey>;

function read(): Store {
  try {
    const text = globalThis.localStorage?.getItem(KEY);
    const parsed = text ? (JSON.parse(text) as Store) : {};
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

function write(store: Store) {
  globalThis.localStorage?.setItem(KEY, JSON.stringify(store));
}

export function ownerKey(deviceId: string): OwnerKey | undefined {
  return read()[deviceId.toLowerCase()];
}

export function allOwnerKeys(): OwnerKey[] {
  return Object.values(read());
}

/** A fresh key for `deviceId`, stored as pending (not yet bound). Replaces any earlier one. */
export function newOwnerKey(deviceId: string): OwnerKey {
  const seed = randomBytes(32);
  const key: OwnerKey = { deviceId: deviceId.toLowerCase(), seed: toHex(seed), publicKey: toHex(publicKeyFromSeed(seed)), createdAt: Date.now() };
  return key;
}

export function saveOwnerKey(key: OwnerKey) {
  const store = read();
  store[key.deviceId] = key;
  write(store);
}

export function seedOf(key: OwnerKey): Uint8Array {
  return fromHex(key.seed);
}

export function exportKeys(): string {
  return JSON.stringify({ format: 'witness-owner-keys/v1', keys: allOwnerKeys() }, null, 2);
}

/** Imports keys, checking each seed matches its public key. Returns how many were added. */
export function importKeys(text: string): number {
  const parsed = JSON.parse(text) as { keys?: OwnerKey[] };
  const keys = Array.isArray(parsed.keys) ? parsed.keys : [];
  const store = read();
  let added = 0;
  for (const k of keys) {
    if (typeof k.seed !== 'string' || typeof k.deviceId !== 'string') continue;
    if (toHex(publicKeyFromSeed(fromHex(k.seed))) !== k.publicKey) continue;
    store[k.deviceId.toLowerCase()] = { ...k, deviceId: k.deviceId.toLowerCase() };
    added++;
  }
  write(store);
  return added;
}
