import { useMemo } from 'react';
import { formatInt } from '../lib/format';
import { QR_MAX_BYTES, QUIET_ZONE, qrMatrix, qrSvgPath } from './qr';

/**
 * A certificate's QR code as SVG: whole pixels per module on screen (so a screenshot or a
 * camera reads it), a fixed size on paper (see the print styles). For bytes over
 * {@link QR_MAX_BYTES} it says why there is none.
 */
export function QrCode({ bytes, label, maxPx = 560 }: { bytes: Uint8Array; label: string; maxPx?: number }) {
  const m = useMemo(() => (bytes.length <= QR_MAX_BYTES ? qrMatrix(bytes) : undefined), [bytes]);
  if (!m) {
    return (
      <p className="muted" data-testid="cert-qr-too-large">
        {formatInt(bytes.length)} bytes are too large for a QR code (at most {formatInt(QR_MAX_BYTES)}): hand over the file or its text form instead.
      </p>
    );
  }
  const side = m.size + 2 * QUIET_ZONE;
  const scale = Math.max(3, Math.floor(maxPx / side));
  return (
    <figure className="qr" style={{ width: side * scale, maxWidth: '100%' }}>
      <svg
        viewBox={`0 0 ${side} ${side}`}
        width={side * scale}
        height={side * scale}
        shapeRendering="crispEdges"
        role="img"
        aria-label={label}
        data-testid="cert-qr"
        data-version={m.version}
        data-bytes={bytes.length}
      >
        <rect width={side} height={side} fill="#fff" />
        <path d={qrSvgPath(m)} fill="#000" />
      </svg>
      <figcaption className="muted small">
        QR code version {m.version}, error correction L, {formatInt(bytes.length)} bytes in one byte-mode segment.
      </figcaption>
    </figure>
  );
}
