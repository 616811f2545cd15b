/**
 * A strict reader of the protocol's canonical encodings (PROTOCOL.md section 2) that fails
 * with the protocol's error codes (section 10.1), so results can be compared with the Rust
 * implementation and the test vectors code for code.
 */
import { fromHex } from './hex';

/** A decoding failure with its stable code (`truncated`, `invalid_field`, …). */
export class DecodeError extends Error {
  constructor(
    readonly code: string,
    readonly what = 'message',
  ) {
    super(`${what}: ${code.replace(/_/g, ' ')}`);
    this.name = 'DecodeError';
  }
}

/** The code of an error thrown by a decoder (`DecodeError`), else `undefined`. */
export function codeOf(e: unknown): string | undefined {
  return e instanceof DecodeError ? e.code : undefined;
}

/** Hex to bytes, or a `DecodeError('invalid_field')`. */
export function hexBytes(text: string, what: string): Uint8Array {
  try {
    return fromHex(text);
  } catch {
    throw new DecodeError('invalid_field', what);
  }
}

export class Reader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    readonly what = 'message',
  ) {}

  fail(code: string): never {
    throw new DecodeError(code, this.what);
  }

  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** The bytes read since offset `start`. */
  since(start: number): Uint8Array {
    return this.buf.slice(start, this.pos);
  }

  take(n: number): Uint8Array {
    if (n > this.remaining) this.fail('truncated');
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    return this.take(1)[0] as number;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) this.fail('invalid_field');
    return b === 1;
  }

  u16(): number {
    const b = this.take(2);
    return ((b[0] as number) << 8) | (b[1] as number);
  }

  u32(): number {
    const b = this.take(4);
    return (((b[0] as number) << 24) >>> 0) + ((b[1] as number) << 16) + ((b[2] as number) << 8) + (b[3] as number);
  }

  u64(): bigint {
    let v = 0n;
    for (const b of this.take(8)) v = (v << 8n) | BigInt(b);
    return v;
  }

  /** Unsigned LEB128, shortest form only (PROTOCOL.md 2). */
  varint(): bigint {
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      const bits = BigInt(byte & 0x7f);
      if (i === 9 && bits > 1n) this.fail('non_canonical_varint');
      value |= bits << BigInt(7 * i);
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) this.fail('non_canonical_varint');
        return value;
      }
    }
    return this.fail('non_canonical_varint');
  }

  varintAtMost(max: number): number {
    const v = this.varint();
    if (v > BigInt(max)) this.fail('oversize');
    return Number(v);
  }

  /** A count of items of at least `minItem` bytes each, at most `max` (PROTOCOL.md 2, bounded counts). */
  count(max: number, minItem: number): number {
    const c = this.varintAtMost(max);
    if (c * minItem > this.remaining) this.fail('truncated');
    return c;
  }

  /** Varint-length-prefixed bytes of at most `max` bytes. */
  varBytes(max: number): Uint8Array {
    return this.take(this.varintAtMost(max));
  }

  /** Varint-length-prefixed well-formed UTF-8 of at most `max` bytes. */
  text(max: number): string {
    const bytes = this.varBytes(max);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return this.fail('invalid_text');
    }
  }

  /** `present u8 ‖ u64`, the value zero when absent (anything else: `invalid_field`). */
  optU64(): bigint | null {
    const present = this.bool();
    const v = this.u64();
    if (!present && v !== 0n) this.fail('invalid_field');
    return present ? v : null;
  }

  finish(): void {
    if (this.remaining !== 0) this.fail('trailing_bytes');
  }
}
