/** Byte helpers: lowercase hex without `0x` (the protocol's text form), big-endian integers. */

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Accepts an optional `0x` prefix; throws on odd length or a non-hex digit. */
export function fromHex(text: string): Uint8Array {
  const clean = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (clean.length % 2 !== 0) throw new Error('hex string has an odd number of digits');
  if (!/^[0-9a-fA-F]*$/.test(clean)) throw new Error('hex string contains a non-hex character');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function u16be(v: number): Uint8Array {
  return new Uint8Array([(v >>> 8) & 0xff, v & 0xff]);
}

export function u32be(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`u32 out of range: ${v}`);
  return new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

export function u64be(v: bigint | number): Uint8Array {
  let x = BigInt(v);
  if (x < 0n || x >= 1n << 64n) throw new Error(`u64 out of range: ${v}`);
  const out = new Uint8Array(8);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** A `0x` quantity or decimal string or number, as used by the node's JSON-RPC. */
export function parseQuantity(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.length > 0) {
    const n = v.startsWith('0x') ? parseInt(v, 16) : Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export function quantity(n: number | bigint): string {
  return '0x' + BigInt(n).toString(16);
}

/** Cryptographically random bytes (works without a secure context). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** Sequential big-endian reader that reports where a layout ended early. */
export class ByteReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly what = 'message') {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  bytes(n: number): Uint8Array {
    if (this.remaining < n) throw new Error(`${this.what} is truncated`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    return this.bytes(1)[0] ?? 0;
  }

  u16(): number {
    const b = this.bytes(2);
    return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  }

  u32(): number {
    const b = this.bytes(4);
    return (((b[0] ?? 0) << 24) >>> 0) + ((b[1] ?? 0) << 16) + ((b[2] ?? 0) << 8) + (b[3] ?? 0);
  }

  u64(): bigint {
    let v = 0n;
    for (const b of this.bytes(8)) v = (v << 8n) | BigInt(b);
    return v;
  }

  finish(): void {
    if (this.remaining !== 0) throw new Error(`${this.what} has ${this.remaining} trailing byte(s)`);
  }
}
