import { describe, expect, it } from 'vitest';
import jsQR from 'jsqr';
import { fromHex } from '../lib/hex';
import { str, vector } from '../test/vectors';
import { create } from 'qrcode';
import { QR_MAX_BYTES, QUIET_ZONE, QrTooLarge, decodeQrBytes, qrMatrix, qrPixels, qrSvgPath } from './qr';

function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('certificate QR codes (byte mode, error correction L)', () => {
  it('round-trips the summary certificate vector through qrcode and jsqr', () => {
    const bytes = fromHex(str(vector('certificate_summary'), 'certificate'));
    const m = qrMatrix(bytes);
    const { data, width, height } = qrPixels(m, 3);
    expect(decodeQrBytes(jsQR, data, width, height)).toEqual(bytes);
  });

  it('round-trips any bytes, zeros and 0xff included, up to 2,900 bytes', () => {
    for (const bytes of [new Uint8Array([0]), new Uint8Array(64).fill(0xff), pattern(1783, 7), pattern(QR_MAX_BYTES, 9)]) {
      const m = qrMatrix(bytes);
      const { data, width, height } = qrPixels(m, 3);
      expect(decodeQrBytes(jsQR, data, width, height, false)).toEqual(bytes);
    }
  });

  it('takes the smallest version that fits at level L: 2,900 bytes need version 40', () => {
    expect(qrMatrix(pattern(17)).version).toBe(1);
    expect(qrMatrix(pattern(18)).version).toBe(2);
    const m = qrMatrix(pattern(QR_MAX_BYTES));
    expect(m.version).toBe(40);
    expect(m.size).toBe(177);
  });

  it('never draws version 23, which jsqr 1.4.0 misreads (its alignment pattern table is wrong there)', () => {
    // 1,047 bytes: what a summary of the e2e system measured; the smallest version at L is 23.
    const bytes = pattern(1047, 3);
    const plain = create([{ data: bytes, mode: 'byte' }], { errorCorrectionLevel: 'L' });
    expect(plain.version).toBe(23);
    const side = plain.modules.size;
    const raw = { size: side, version: 23, modules: Uint8Array.from({ length: side * side }, (_, i) => (plain.modules.get(Math.floor(i / side), i % side) ? 1 : 0)) };
    const bad = qrPixels(raw, 3);
    // If this starts to pass, jsqr was fixed and version 23 can be drawn again.
    expect(decodeQrBytes(jsQR, bad.data, bad.width, bad.height)).toBeUndefined();
    const m = qrMatrix(bytes);
    expect(m.version).toBe(24);
    const good = qrPixels(m, 3);
    expect(decodeQrBytes(jsQR, good.data, good.width, good.height)).toEqual(bytes);
  });

  it('decodes every version from 1 to 40 but 23 (one size per version)', () => {
    // Byte capacity at level L per version (ISO 18004 table 7); one length that needs each version.
    const capacity = [17, 32, 53, 78, 106, 134, 154, 192, 230, 271, 321, 367, 425, 458, 520, 586, 644, 718, 792, 858, 929, 1003, 1091, 1171, 1273, 1367, 1465, 1528, 1628, 1732, 1840, 1952, 2068, 2188, 2303, 2431, 2563, 2699, 2809, 2953];
    for (let v = 1; v <= 40; v++) {
      const n = Math.min(QR_MAX_BYTES, capacity[v - 1] as number);
      const bytes = pattern(n, v);
      const m = qrMatrix(bytes);
      expect(m.version).toBe(v === 23 ? 24 : v);
      const p = qrPixels(m, 2);
      expect(decodeQrBytes(jsQR, p.data, p.width, p.height, false), `version ${v}`).toEqual(bytes);
    }
  }, 60000);

  it('refuses more than 2,900 bytes', () => {
    expect(() => qrMatrix(pattern(QR_MAX_BYTES + 1))).toThrow(QrTooLarge);
  });

  it('draws every dark module once in the SVG path, offset by the quiet zone', () => {
    const m = qrMatrix(pattern(100));
    const path = qrSvgPath(m);
    let area = 0;
    for (const run of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g)) {
      const [, x, y, w, back] = run.map(Number) as number[];
      expect(w).toBe(back);
      expect(x).toBeGreaterThanOrEqual(QUIET_ZONE);
      expect(y).toBeGreaterThanOrEqual(QUIET_ZONE);
      expect((x as number) + (w as number)).toBeLessThanOrEqual(m.size + QUIET_ZONE);
      area += w as number;
    }
    expect(area).toBe(m.modules.reduce((a, b) => a + b, 0));
    // The finder pattern's top row: seven dark modules at the corner.
    expect(path.startsWith(`M${QUIET_ZONE} ${QUIET_ZONE}h7v1h-7z`)).toBe(true);
  });

  it('finds no code in a blank picture', () => {
    const side = 120;
    expect(decodeQrBytes(jsQR, new Uint8ClampedArray(side * side * 4).fill(255), side, side)).toBeUndefined();
  });
});
