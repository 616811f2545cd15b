/**
 * "Check a certificate" (PROTOCOL.md 18): a buyer opens the file, pastes its text or reads
 * its QR code; every proof is checked here, offline, against the pinned trust anchors. With
 * a chain RPC it also asks L1 whether the outputs root was accepted and how many claims came
 * since. Nothing on this page asks the gateway.
 */
import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import { useApp } from '../lib/app';
import { loadAnchors, SOURCE_WORDS, type PinnedAnchors } from '../lib/anchors';
import { DEFAULT_ENDPOINTS, loadOverrides } from '../lib/config';
import { CertificateError, certificateFromInput, checkCertificateOnL1, verifyCertificateOffline, type CertificateFindings } from '../lib/certificate';
import { formatInt, formatMs } from '../lib/format';
import { href, navigate } from '../lib/router';
import { Alert, Card, Field, PageTitle } from '../components/ui';
import { CertificateRefusal, CertificateVerdict, type L1State } from '../components/CertificateView';
import { CertificateSheet } from '../components/CertificateSheet';
import { CameraScanner, ImageQrInput } from '../components/QrScanner';
import { fileBytes, keepForPrint, keptForPrint } from '../components/certificateFiles';
import { anchorsText } from '../components/certificateSummary';

export type Checked =
  | { kind: 'valid'; findings: CertificateFindings; bytes: Uint8Array; source: string }
  | { kind: 'refused'; code: string; detail: string; source: string };

/** Reads `input` (file bytes or text) and checks it offline against `pinned`. Never throws. */
export function checkInput(input: string | Uint8Array, pinned: PinnedAnchors | undefined, source: string): Checked {
  try {
    if (typeof input === 'string' ? input.trim() === '' : input.length === 0) return { kind: 'refused', code: 'empty', detail: '', source };
    const bytes = certificateFromInput(input);
    const findings = verifyCertificateOffline(bytes, pinned?.anchors);
    return { kind: 'valid', findings, bytes, source };
  } catch (e) {
    if (e instanceof CertificateError) {
      // The library's message starts with the code in words; the page shows the code itself.
      const words = `${e.code.replace(/_/g, ' ')}: `;
      return { kind: 'refused', code: e.code, detail: e.message.startsWith(words) ? e.message.slice(words.length) : e.message, source };
    }
    const code = (e as { code?: unknown })?.code;
    return { kind: 'refused', code: typeof code === 'string' ? code : 'invalid_field', detail: (e as Error)?.message ?? String(e), source };
  }
}

/** The chain RPC the person set (or the gateway suggested, or the default); never required. */
function chainRpc(configured: string | undefined): string {
  return loadOverrides().chainRpcUrl ?? configured ?? DEFAULT_ENDPOINTS.chainRpcUrl;
}

function PinnedLine({ pinned }: { pinned: PinnedAnchors | undefined }) {
  return (
    <p className="small" data-testid="cert-anchors" data-pinned={pinned ? pinned.source : 'none'}>
      {pinned ? (
        <>
          Checked against the trust anchors you pinned ({SOURCE_WORDS[pinned.source]}
          {pinned.origin ? `, ${pinned.origin}` : ''}, {formatMs(pinned.pinnedAt)}): {anchorsText(pinned.anchors)}.
        </>
      ) : (
        <>
          <strong>No trust anchors are pinned</strong>: a certificate is checked without them, and the page shows which anchors it claims. Pin them on the{' '}
          <a href={href('/verify')}>Verify page</a> (a pin link or an anchors file from a source you trust).
        </>
      )}
    </p>
  );
}

export function CertificatePage() {
  const app = useApp();
  const [text, setText] = useState('');
  const [checked, setChecked] = useState<Checked>();
  const [l1, setL1] = useState<L1State>({ state: 'idle' });
  const [pinned, setPinned] = useState(loadAnchors);
  const run = useRef(0);
  const resultRef = useRef<HTMLDivElement>(null);
  const configuredRpc = app.config?.endpoints.chainRpcUrl;

  // Pins made elsewhere (another tab, the Verify page) are seen when the page is shown again.
  useEffect(() => {
    const on = () => setPinned(loadAnchors());
    globalThis.addEventListener('storage', on);
    globalThis.addEventListener('focus', on);
    return () => {
      globalThis.removeEventListener('storage', on);
      globalThis.removeEventListener('focus', on);
    };
  }, []);

  const checkL1 = async (findings: CertificateFindings) => {
    const id = run.current;
    const rpcUrl = chainRpc(configuredRpc);
    setL1({ state: 'running', rpcUrl });
    try {
      const result = await checkCertificateOnL1(findings, rpcUrl);
      if (run.current === id) setL1({ state: 'done', rpcUrl, result });
    } catch (e) {
      if (run.current === id) setL1({ state: 'error', rpcUrl, message: (e as Error)?.message ?? String(e) });
    }
  };

  const check = (input: string | Uint8Array, source: string) => {
    const id = ++run.current;
    const p = loadAnchors();
    setPinned(p);
    const c = checkInput(input, p, source);
    setChecked(c);
    setL1({ state: 'idle' });
    // L1 is asked on its own when anchors are pinned (it never holds the offline verdict up).
    if (c.kind === 'valid' && c.findings.anchorsPinned && run.current === id) void checkL1(c.findings);
    requestAnimationFrame(() => resultRef.current?.scrollIntoView({ block: 'start', behavior: 'smooth' }));
  };

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    try {
      check(await fileBytes(file), `the file ${file.name}`);
    } catch (err) {
      setChecked({ kind: 'refused', code: 'truncated', detail: `${file.name} could not be read: ${(err as Error).message}`, source: file.name });
    }
  };

  const onPaste = (e: FormEvent) => {
    e.preventDefault();
    check(text, 'the pasted text');
  };

  const print = () => {
    if (checked?.kind !== 'valid') return;
    keepForPrint(checked.bytes);
    navigate('/certificate/print');
  };

  return (
    <>
      <PageTitle sub="A seller hands you a mileage certificate: one car’s state proven as of an accepted claim on L1. Every proof is checked here, in this browser, without asking the gateway or the seller anything; only whether L1 accepted it, and what came after, needs the chain.">
        Check a certificate
      </PageTitle>
      <Card title="Open the certificate" id="cert-open-heading">
        <PinnedLine pinned={pinned} />
        <div className="grid-2">
          <div>
            <Field label="The certificate file" id="cert-file" hint="The .wtnc file (or its .txt text form) the seller gave you.">
              <input id="cert-file" type="file" accept=".wtnc,.txt,application/octet-stream,text/plain" onChange={(e) => void onFile(e)} aria-describedby="cert-file-hint" />
            </Field>
            <ImageQrInput onBytes={(bytes, name) => check(bytes, `the QR code in ${name}`)} onNone={(why, name) => setChecked({ kind: 'refused', code: 'no_qr_code', detail: why, source: name })} />
            <CameraScanner onBytes={(bytes) => check(bytes, 'the QR code read by the camera')} />
          </div>
          <form onSubmit={onPaste}>
            <div className="field">
              <label htmlFor="cert-text">Or paste its text</label>
              <textarea
                id="cert-text"
                className="cert-text"
                rows={9}
                value={text}
                onChange={(e) => setText(e.target.value)}
                spellCheck={false}
                autoComplete="off"
                placeholder={'-----BEGIN WITNESS CERTIFICATE-----\n…\n-----END WITNESS CERTIFICATE-----'}
                aria-describedby="cert-text-hint"
              />
              <p className="hint" id="cert-text-hint">
                The text between the BEGIN and END lines (as e-mailed), or the bare base64.
              </p>
            </div>
            <button type="submit" className="button">
              Check the text
            </button>
          </form>
        </div>
      </Card>
      <div ref={resultRef} aria-live="polite">
        {checked && (
          <p className="muted small" data-testid="cert-source">
            Checked {checked.source}
            {checked.kind === 'valid' ? ` (${formatInt(checked.bytes.length)} bytes)` : ''}.
          </p>
        )}
        {checked?.kind === 'refused' && <CertificateRefusal code={checked.code} detail={checked.detail} />}
        {checked?.kind === 'valid' && (
          <>
            <CertificateVerdict findings={checked.findings} size={checked.bytes.length} l1={l1} onCheckL1={() => void checkL1(checked.findings)} chainRpcUrl={chainRpc(configuredRpc)} />
            <p>
              <button type="button" className="button secondary" onClick={print}>
                Printable page
              </button>
            </p>
          </>
        )}
      </div>
    </>
  );
}

/** The printable page of the certificate kept by the device page or the check page. */
export function CertificatePrintPage() {
  const [state] = useState(() => {
    const bytes = keptForPrint();
    return bytes ? checkInput(bytes, loadAnchors(), 'the certificate to print') : undefined;
  });
  return (
    <>
      <div className="no-print">
        <PageTitle sub="Print it, or save it as PDF: the summary, the odometer chart, the anchors and the QR code a buyer scans.">Printable certificate</PageTitle>
        <p className="row">
          <button type="button" className="button" onClick={() => globalThis.print()} disabled={state?.kind !== 'valid'}>
            Print
          </button>
          <a className="button secondary" href={href('/certificate')}>
            Check a certificate
          </a>
          {state?.kind === 'valid' && (
            <a className="button secondary" href={href(`/devices/${state.findings.deviceId}`)}>
              Back to the device
            </a>
          )}
        </p>
      </div>
      {!state && (
        <Alert tone="warn" title="Nothing to print">
          Create a certificate on a device’s page, or check one on <a href={href('/certificate')}>Check a certificate</a>, then choose “Printable page”.
        </Alert>
      )}
      {state?.kind === 'refused' && <CertificateRefusal code={state.code} detail={state.detail} />}
      {state?.kind === 'valid' && <CertificateSheet findings={state.findings} bytes={state.bytes} />}
    </>
  );
}
