/**
 * "Create certificate" on the device page: the owner proves the device's state against the
 * latest accepted claim (as the Verify page does), has the device open its readings, and
 * gets the certificate as a file, as text and (summary) as a QR code, with a printable page.
 */
import { useEffect, useMemo, useState } from 'react';
import { useApp } from '../lib/app';
import type { HistoryKeys } from '../lib/api';
import { CertificateError, IssueError, certificateToText, issueCertificate, type CertificateFindings, type CertLevel } from '../lib/certificate';
import { verifyIO } from '../lib/proofs';
import { deviceNotices } from '../lib/gateway';
import { formatInt } from '../lib/format';
import { href, navigate } from '../lib/router';
import { Alert, Card, Field, KeyValues, Loading } from './ui';
import { QrCode } from './QrCode';
import { QR_MAX_BYTES } from './qr';
import { blobUrl, keepForPrint } from './certificateFiles';
import { certificateFileName, readingText, refusalText, vehicleText } from './certificateSummary';

interface Made {
  bytes: Uint8Array;
  findings: CertificateFindings;
  text: string;
  warnings: string[];
}

export function CreateCertificate({ deviceId, keys, keysPending }: { deviceId: string; keys?: HistoryKeys; keysPending?: boolean }) {
  const app = useApp();
  const [level, setLevel] = useState<CertLevel>('summary');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code?: string; message: string }>();
  const [made, setMade] = useState<Made>();
  const [copied, setCopied] = useState(false);
  const [vin, setVin] = useState('');
  const [salt, setSalt] = useState('');
  const config = app.config;
  const anchors = config?.anchors?.anchors;

  const urls = useMemo(() => (made ? { binary: blobUrl(made.bytes, 'application/octet-stream'), text: blobUrl(made.text + '\n', 'text/plain') } : undefined), [made]);
  useEffect(
    () => () => {
      if (urls) {
        URL.revokeObjectURL(urls.binary);
        URL.revokeObjectURL(urls.text);
      }
    },
    [urls],
  );

  const create = async () => {
    if (!config || !anchors) return;
    setBusy(true);
    setError(undefined);
    setMade(undefined);
    setCopied(false);
    try {
      const io = verifyIO(config.endpoints, { application: anchors.application, backendPublicKey: config.anchors?.backendPublicKey });
      const { bytes, findings, warnings } = await issueCertificate({
        level,
        deviceId,
        io,
        anchors,
        keys,
        // The VIN is disclosed only when the owner gives it with its salt (from the car's papers).
        ...(vin.trim() || salt.trim() ? { vehicle: { vin: vin.trim(), salt: salt.trim() } } : {}),
        localLinkUrl: config.endpoints.localLinkUrl,
        // The gateway only relays the notices (they are checked against the proven record); without it they are walked back on the node.
        fetchNotices: (before) => deviceNotices(deviceId, before),
      });
      setMade({ bytes, findings, text: certificateToText(bytes), warnings });
    } catch (e) {
      const code = e instanceof CertificateError || e instanceof IssueError ? e.code : typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : undefined;
      setError({ code, message: (e as Error)?.message ?? String(e) });
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!made) return;
    try {
      await globalThis.navigator.clipboard.writeText(made.text);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  const print = () => {
    if (!made) return;
    keepForPrint(made.bytes);
    navigate('/certificate/print');
  };

  return (
    <Card title="Create certificate" id="certificate-heading">
      <p className="muted">
        What you hand a buyer: this device’s state proven as of the latest claim accepted on L1, checkable offline by anyone. A summary fits a QR code; a full certificate carries
        every history notice{keys ? ', with the readings of the eras your keys open' : ''}.
      </p>
      {!anchors && (
        <Alert tone="warn" title="Pin the trust anchors first">
          A certificate is proven against the chain’s latest claim: pin the anchors on the <a href={href('/verify')}>Verify page</a>.
        </Alert>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <fieldset className="choice">
          <legend>Level</legend>
          <label>
            <input type="radio" name="cert-level" value="summary" checked={level === 'summary'} onChange={() => setLevel('summary')} /> Summary: the record, its first and highest
            attested readings (fits a QR code)
          </label>
          <label>
            <input type="radio" name="cert-level" value="full" checked={level === 'full'} onChange={() => setLevel('full')} /> Full: every reading on record (a file, too large
            for a QR code){level === 'full' && !keys ? (keysPending ? ' — your history keys are still loading' : ' — without your history keys, readings stay sealed') : ''}
          </label>
        </fieldset>
        <details className="disclose">
          <summary>Disclose the car's VIN (optional)</summary>
          <p className="muted small">
            The record names the car only by a sealed commitment to its VIN. To let the buyer check that the record is this car's, disclose the VIN with its salt: both are on the
            car's papers. Leave them empty to keep the VIN private.
          </p>
          <div className="row">
            <Field label="VIN" id="cert-vin" hint="17 characters: digits and capital letters except I, O and Q.">
              <input id="cert-vin" value={vin} onChange={(e) => setVin(e.target.value.toUpperCase())} spellCheck={false} autoComplete="off" maxLength={17} aria-describedby="cert-vin-hint" />
            </Field>
            <Field label="VIN salt" id="cert-vin-salt" hint="64 hexadecimal digits, from the car's papers.">
              <input id="cert-vin-salt" value={salt} onChange={(e) => setSalt(e.target.value)} spellCheck={false} autoComplete="off" aria-describedby="cert-vin-salt-hint" />
            </Field>
          </div>
        </details>
        <button type="submit" className="button" disabled={busy || !anchors}>
          {busy ? 'Creating…' : 'Create certificate'}
        </button>
      </form>
      {busy && <Loading label="Proving the device against the latest accepted claim and asking the device to open its readings…" />}
      {error && (
        <Alert title="Could not create the certificate">
          <span data-testid="cert-create-error" data-code={error.code ?? ''}>
            {error.message || (error.code ? refusalText(error.code) : '')}
            {error.code ? ` (${error.code})` : ''}
          </span>
        </Alert>
      )}
      {made && urls && (
        <div
          data-testid="cert-created"
          data-level={made.findings.level}
          data-bytes={made.bytes.length}
          data-device={made.findings.deviceId}
          data-highest-m={made.findings.highest ? String(made.findings.highest.reading.odometer_m) : ''}
        >
          <div className="alert alert-good" role="status">
            <strong className="alert-title">
              {made.findings.level === 'summary' ? 'Summary' : 'Full'} certificate created: {formatInt(made.bytes.length)} bytes, as of block {formatInt(made.findings.asOfBlock)}
            </strong>
            <div>It checks offline here against your pinned anchors. Hand the buyer the file, its text or the QR code.</div>
          </div>
          {made.warnings.length > 0 && (
            <Alert tone="warn" title="Left out">
              <ul>
                {made.warnings.map((w, i) => (
                  <li key={i}>{w}</li>
                ))}
              </ul>
            </Alert>
          )}
          <KeyValues
            items={[
              ['Highest attested', readingText(made.findings.highest)],
              ['First attested', readingText(made.findings.first)],
              ['Attested readings', formatInt(Number(made.findings.leaf.attested))],
              ['Vehicle', vehicleText(made.findings)],
              ...(made.findings.earlierUnits.length > 0 ? ([['Earlier units of the vehicle', `${formatInt(made.findings.earlierUnits.length)}, proven with it`]] as [string, string][]) : []),
              ...(made.findings.level === 'full'
                ? ([['History', `${formatInt(made.findings.notices)} notice(s); ${formatInt(made.findings.disclosed.length)} reading(s) disclosed whole, ${formatInt(made.findings.odometerOnly.length)} as dated odometer, ${formatInt(made.findings.undisclosed.length)} sealed`]] as [string, string][])
                : []),
            ]}
          />
          <p className="row cert-actions">
            <a className="button" href={urls.binary} download={certificateFileName(deviceId, 'binary')} data-testid="cert-download">
              Download the file ({certificateFileName(deviceId, 'binary')})
            </a>
            <a className="button secondary" href={urls.text} download={certificateFileName(deviceId, 'text')} data-testid="cert-download-text">
              Download the text form
            </a>
            <button type="button" className="button secondary" onClick={() => void copy()}>
              {copied ? 'Text copied' : 'Copy the text'}
            </button>
            <button type="button" className="button secondary" onClick={print} data-testid="cert-print-link">
              Printable page
            </button>
          </p>
          {made.findings.level === 'summary' && made.bytes.length <= QR_MAX_BYTES ? (
            <QrCode bytes={made.bytes} label={`QR code of the certificate of device ${deviceId}`} />
          ) : (
            <p className="muted" data-testid="cert-qr-too-large">
              {made.findings.level === 'full'
                ? `A full certificate carries every history notice (about 100 KB for a year of driving): too large for a QR code, which holds ${formatInt(QR_MAX_BYTES)} bytes at most. Hand over the file or its text form; a summary fits a QR code.`
                : `This certificate is ${formatInt(made.bytes.length)} bytes: too large for a QR code (at most ${formatInt(QR_MAX_BYTES)} bytes). Hand over the file or its text form.`}
            </p>
          )}
          <details>
            <summary>The text form</summary>
            <textarea className="cert-text" readOnly rows={8} value={made.text} aria-label="The certificate's text form" data-testid="cert-text-form" />
          </details>
        </div>
      )}
    </Card>
  );
}
