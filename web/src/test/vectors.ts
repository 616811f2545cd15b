import { readFileSync } from 'node:fs';

export interface Vector {
  name: string;
  kind: string;
  valid: boolean;
  message?: string;
  signature?: string;
  signed_message?: string;
  signer_public_key?: string;
  signer_seed?: string;
  backend_public_key: string;
  /** The deployment the vector signs for (PROTOCOL.md 3.5): chain id ‖ application ‖ backend key. */
  domain: string;
  chain_id: number;
  application: string;
  nonce?: string;
  readings?: { timestamp: number; odometer_m: number; fuel_ml: number; engine_s: number; faults: string[] }[];
  device_id?: string;
  openings?: string[];
  commitments?: string[];
  release_signature?: string;
  release_signed_message?: string;
  /** The vector kinds of PROTOCOL.md 16-17 carry more fields (leaf, proof, notice, …). */
  [field: string]: unknown;
}

/** Every vector of `kind`. */
export function ofKind(kind: string): Vector[] {
  return vectors.filter((v) => v.kind === kind);
}

/** A string field of a vector (throws if missing). */
export function str(v: Vector, field: string): string {
  const x = v[field];
  if (typeof x !== 'string') throw new Error(`vector ${v.name}: no ${field}`);
  return x;
}

const file = new URL('../../../docs/protocol-vectors.json', import.meta.url);
export const vectors: Vector[] = (JSON.parse(readFileSync(file, 'utf8')) as { vectors: Vector[] }).vectors;

export function vector(name: string): Vector {
  const v = vectors.find((x) => x.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return v;
}
