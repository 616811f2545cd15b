/**
 * Certificates as files: blob URLs for the downloads, and the hand-over to the printable
 * page (the same tab's sessionStorage, as the text form, so a reload keeps it).
 */
import { certificateFromInput, certificateToText } from '../lib/certificate';

export const PRINT_KEY = 'witness.certificate.print.v1';

/** A blob URL for `data`; the caller revokes it ({@link URL.revokeObjectURL}). */
export function blobUrl(data: Uint8Array | string, type: string): string {
  const part: BlobPart = typeof data === 'string' ? data : (data.slice().buffer as ArrayBuffer);
  return URL.createObjectURL(new Blob([part], { type }));
}

/** Keeps `bytes` for the printable page of this tab. */
export function keepForPrint(bytes: Uint8Array): void {
  try {
    globalThis.sessionStorage?.setItem(PRINT_KEY, certificateToText(bytes));
  } catch {
    /* storage unavailable: the printable page says there is nothing to print */
  }
}

/** The certificate kept for the printable page, if any. */
export function keptForPrint(): Uint8Array | undefined {
  try {
    const text = globalThis.sessionStorage?.getItem(PRINT_KEY);
    return text ? certificateFromInput(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the bytes of a file the person chose. */
export async function fileBytes(file: Blob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
