/** The printable mileage certificate: its summary, the odometer chart, the anchors and the QR code. */
import type { CertificateFindings } from '../lib/certificate';
import { formatDate, formatInt } from '../lib/format';
import { OdometerChart } from './charts';
import { QrCode } from './QrCode';
import { QR_MAX_BYTES } from './qr';
import { certificateFileName, certificatePoints, summaryRows } from './certificateSummary';

export function CertificateSheet({ findings: f, bytes }: { findings: CertificateFindings; bytes: Uint8Array }) {
  const rows = summaryRows(f).filter(([k]) => !/^Anchors/.test(k) && k !== 'Outputs root L1 must have accepted');
  return (
    <article className="print-sheet" data-testid="cert-sheet" aria-labelledby="sheet-heading">
      <header className="sheet-head">
        <h2 id="sheet-heading">Mileage certificate</h2>
        <p className="muted">
          The Witness · device <code>{f.deviceId}</code> · as of block {formatInt(f.asOfBlock)}, {formatDate(f.blockTimestamp)}
        </p>
      </header>
      <div className="sheet-body">
        <table className="table compact sheet-summary" data-testid="cert-sheet-summary">
          <caption className="visually-hidden">Summary of the certificate</caption>
          <tbody>
            {rows.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="sheet-qr">
          {f.level === 'summary' && bytes.length <= QR_MAX_BYTES ? (
            <QrCode bytes={bytes} label={`QR code of the certificate of device ${f.deviceId}`} maxPx={480} />
          ) : (
            <p className="muted" data-testid="cert-qr-too-large">
              This {f.level} certificate ({formatInt(bytes.length)} bytes) is too large for a QR code, which holds {formatInt(QR_MAX_BYTES)} bytes at most: it travels as the file{' '}
              <code>{certificateFileName(f.deviceId, 'binary')}</code> or its text form.
            </p>
          )}
        </div>
      </div>
      <OdometerChart points={certificatePoints(f)} title="Odometer, as the certificate proves it" />
      <section className="sheet-anchors" aria-label="Trust anchors">
        <h3>Trust anchors</h3>
        <p className="small">
          Chain id <code>{f.anchors.chainId}</code> · application <code>{f.anchors.application}</code> · consensus <code>{f.anchors.consensus}</code>
        </p>
        <p className="small">
          Outputs root L1 must have accepted: <code>0x{f.outputsRoot}</code> (output {String(f.outputIndex)}, claim in block {formatInt(f.claimBlock)}).
        </p>
      </section>
      <p className="small muted sheet-how">
        To check: scan the QR code or open the file on the dashboard’s “Check a certificate” page, or run <code>witness certificate verify {certificateFileName(f.deviceId, 'binary')}</code>,
        with the anchors above pinned from a source you trust. Every proof checks offline; only L1 can confirm that the outputs root was accepted and whether later claims
        show something newer.
      </p>
    </article>
  );
}
