/**
 * QR codes of certificates (PROTOCOL.md 18.6): the binary bytes in one byte-mode segment,
 * error correction L, the smallest version that fits, 2,900 bytes at most. Encoding with
 * `qrcode`, decoding with `jsqr`; both pure here (no DOM), so Node tests run them.
 */
import { create } from 'qrcode';
import type jsQRType from 'jsqr';

/** The most a certificate's QR code carries (18.6; version 40-L holds 2,953). */
export const QR_MAX_BYTES = 2900;

/** Light modules around the symbol, as the QR standard asks. */
export const QUIET_ZONE = 4;

export interface QrMatrix {
  /** Modules per side. */
  size: number;
  version: number;
  /** `size × size` modules, row by row: 1 dark, 0 light. */
  modules: Uint8Array;
}

export class QrTooLarge extends Error {
  constructor(readonly bytes: number) {
    super(`${bytes} bytes are more than a QR code of a certificate carries (${QR_MAX_BYTES} bytes at most)`);
    this.name = 'QrTooLarge';
  }
}

/**
 * Versions this page never draws: jsQR 1.4.0 (the decoder of the check page) has version
 * 23's alignment pattern centres wrong (6, 30, 54, 74, 102 instead of ISO 18004's 6, 30, 54,
 * 78, 102) and misreads every version-23 symbol, so the next version up is drawn instead.
 */
export const SKIPPED_VERSIONS: ReadonlySet<number> = new Set([23]);

/**
 * The QR symbol of `bytes`: one byte-mode segment, error correction L, the smallest version
 * that fits (but for {@link SKIPPED_VERSIONS}).
 */
export function qrMatrix(bytes: Uint8Array): QrMatrix {
  if (bytes.length > QR_MAX_BYTES) throw new QrTooLarge(bytes.length);
  const segments = [{ data: bytes, mode: 'byte' as const }];
  let qr = create(segments, { errorCorrectionLevel: 'L' });
  while (SKIPPED_VERSIONS.has(qr.version)) qr = create(segments, { errorCorrectionLevel: 'L', version: qr.version + 1 });
  const size = qr.modules.size;
  const modules = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) modules[y * size + x] = qr.modules.get(y, x) ? 1 : 0;
  return { size, version: qr.version, modules };
}

/**
 * One SVG path for every dark module, in module units, offset by the quiet zone: each run
 * of dark modules in a row is one rectangle (`M x y h n v 1 h -n z`).
 */
export function qrSvgPath(m: QrMatrix, margin = QUIET_ZONE): string {
  const parts: string[] = [];
  for (let y = 0; y < m.size; y++) {
    let x = 0;
    while (x < m.size) {
      if (!m.modules[y * m.size + x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < m.size && m.modules[y * m.size + x]) x++;
      parts.push(`M${start + margin} ${y + margin}h${x - start}v1h${start - x}z`);
    }
  }
  return parts.join('');
}

/** RGBA pixels of the symbol, `scale` pixels per module, with the quiet zone (for tests and canvases). */
export function qrPixels(m: QrMatrix, scale = 4, margin = QUIET_ZONE): { data: Uint8ClampedArray; width: number; height: number } {
  const side = (m.size + 2 * margin) * scale;
  const data = new Uint8ClampedArray(side * side * 4).fill(255);
  for (let y = 0; y < m.size; y++) {
    for (let x = 0; x < m.size; x++) {
      if (!m.modules[y * m.size + x]) continue;
      for (let dy = 0; dy < scale; dy++) {
        const row = ((y + margin) * scale + dy) * side;
        for (let dx = 0; dx < scale; dx++) {
          const i = (row + (x + margin) * scale + dx) * 4;
          data[i] = data[i + 1] = data[i + 2] = 0;
        }
      }
    }
  }
  return { data, width: side, height: side };
}

export type JsQR = typeof jsQRType;

/**
 * The bytes a QR code in an image carries, or `undefined` when none is found. `jsQR` is
 * passed in, so the page loads it only when it reads a code.
 */
export function decodeQrBytes(jsQR: JsQR, data: Uint8ClampedArray, width: number, height: number, thorough = true): Uint8Array | undefined {
  const code = jsQR(data, width, height, { inversionAttempts: thorough ? 'attemptBoth' : 'dontInvert' });
  if (!code) return undefined;
  return Uint8Array.from(code.binaryData);
}
