/**
 * Reading a certificate's QR code: from the camera (getUserMedia, jsQR on video frames) or
 * from a picture (drawn to a canvas, jsQR). jsQR is loaded only when a code is read.
 */
import { useEffect, useRef, useState, type ChangeEvent } from 'react';
import { decodeQrBytes, type JsQR } from './qr';
import { Alert } from './ui';

let jsqr: Promise<JsQR> | undefined;
function loadJsQR(): Promise<JsQR> {
  jsqr ??= import('jsqr').then((m) => m.default);
  jsqr.catch(() => (jsqr = undefined));
  return jsqr;
}

/** Largest side, in pixels, a picture is decoded at. */
const MAX_SIDE = 2400;

/** The bytes of the QR code in a picture file, or `undefined` when it has none. */
export async function decodeImageFile(file: Blob): Promise<Uint8Array | undefined> {
  const [jsQR, bitmap] = await Promise.all([loadJsQR(), createImageBitmap(file)]);
  try {
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser gives no 2D canvas');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0, width, height);
    return decodeQrBytes(jsQR, ctx.getImageData(0, 0, width, height).data, width, height, true);
  } finally {
    bitmap.close();
  }
}

/** Words for why the camera could not be used. */
export function cameraErrorText(e: unknown): string {
  const name = (e as { name?: string })?.name ?? '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'The camera permission was refused. Allow the camera for this page in the browser’s settings and try again, or open the file or a picture of the QR code instead.';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found on this device. Open the certificate file, paste its text, or open a picture of the QR code instead.';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'The camera could not be started: another program may be using it. Close it and try again, or open a picture of the QR code instead.';
    default:
      return `The camera could not be used (${(e as Error)?.message || name || 'unknown error'}). Open the file or a picture of the QR code instead.`;
  }
}

/** A camera scanner: calls `onBytes` with the first QR code it reads, then stops. */
export function CameraScanner({ onBytes }: { onBytes: (bytes: Uint8Array) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | undefined>(undefined);
  const frame = useRef<number | undefined>(undefined);
  const [state, setState] = useState<'off' | 'starting' | 'scanning'>('off');
  const [error, setError] = useState<string>();

  const stop = () => {
    if (frame.current !== undefined) cancelAnimationFrame(frame.current);
    frame.current = undefined;
    stream.current?.getTracks().forEach((t) => t.stop());
    stream.current = undefined;
    if (video.current) video.current.srcObject = null;
    setState('off');
  };

  useEffect(() => stop, []);

  const start = async () => {
    setError(undefined);
    const media = globalThis.navigator?.mediaDevices;
    if (!media?.getUserMedia) {
      setError(
        globalThis.isSecureContext === false
          ? 'This browser gives no camera to this page: pages served over plain http (other than localhost) may not use it. Open the file, paste its text, or open a picture of the QR code instead.'
          : 'This browser gives no camera to pages. Open the file, paste its text, or open a picture of the QR code instead.',
      );
      return;
    }
    setState('starting');
    try {
      const [jsQR, s] = await Promise.all([loadJsQR(), media.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false })]);
      stream.current = s;
      const v = video.current;
      if (!v) {
        stop();
        return;
      }
      v.srcObject = s;
      await v.play();
      setState('scanning');
      const canvas = document.createElement('canvas');
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      let last = 0;
      const tick = (t: number) => {
        frame.current = requestAnimationFrame(tick);
        if (!ctx || t - last < 120 || v.readyState < v.HAVE_ENOUGH_DATA || !v.videoWidth) return;
        last = t;
        const scale = Math.min(1, 1280 / Math.max(v.videoWidth, v.videoHeight));
        canvas.width = Math.round(v.videoWidth * scale);
        canvas.height = Math.round(v.videoHeight * scale);
        ctx.drawImage(v, 0, 0, canvas.width, canvas.height);
        const bytes = decodeQrBytes(jsQR, ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height, false);
        if (bytes) {
          stop();
          onBytes(bytes);
        }
      };
      frame.current = requestAnimationFrame(tick);
    } catch (e) {
      stop();
      setError(cameraErrorText(e));
    }
  };

  return (
    <div className="scanner">
      <div className="row">
        {state === 'off' ? (
          <button type="button" className="button secondary" onClick={() => void start()}>
            Read the QR code with the camera
          </button>
        ) : (
          <button type="button" className="button secondary" onClick={stop}>
            Stop the camera
          </button>
        )}
      </div>
      {state === 'starting' && <p role="status">Starting the camera…</p>}
      {state === 'scanning' && (
        <p role="status" className="muted small">
          Hold the QR code steady in front of the camera, filling most of the picture.
        </p>
      )}
      <video ref={video} className="scanner-video" hidden={state === 'off'} muted playsInline aria-label="Camera picture" />
      {error && (
        <Alert tone="warn" title="No camera">
          <span data-testid="camera-error">{error}</span>
        </Alert>
      )}
    </div>
  );
}

/** A file input for a picture of a QR code. */
export function ImageQrInput({ onBytes, onNone }: { onBytes: (bytes: Uint8Array, name: string) => void; onNone: (why: string, name: string) => void }) {
  const [busy, setBusy] = useState(false);
  const onChange = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    setBusy(true);
    try {
      const bytes = await decodeImageFile(file);
      if (bytes) onBytes(bytes, file.name);
      else onNone('No QR code was found in the picture: take it straight on, sharp and with the whole code in view.', file.name);
    } catch (err) {
      onNone(`The picture could not be read: ${(err as Error).message}`, file.name);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="field">
      <label htmlFor="cert-image">A picture of the QR code</label>
      <input id="cert-image" type="file" accept="image/*" onChange={(e) => void onChange(e)} disabled={busy} aria-describedby="cert-image-hint" />
      <p className="hint" id="cert-image-hint">
        {busy ? 'Looking for the QR code…' : 'A photo or a screenshot (PNG, JPEG…); it is read here, in this browser.'}
      </p>
    </div>
  );
}
