/** A certificate's verdict: what it proves, what it cannot know offline, and what L1 said. */
import { useState } from 'react';
import type { CertificateFindings, checkCertificateOnL1 } from '../lib/certificate';
import { formatDate, formatDay, formatInt, formatKm } from '../lib/format';
import { href } from '../lib/router';
import { Hex, KeyValues } from './ui';
import { OdometerChart } from './charts';
import { anchorsText, asOfText, baselineRow, cannotKnowText, certificatePoints, daySeconds, hasProblem, LEVEL_WORDS, readingText, refusalText, statusText, vehicleText } from './certificateSummary';
import { baselineText, correctionParts, correctionsText, rollbacksText } from '../lib/corrections';
import { replacementInput } from '../lib/state';
import { capitalized, earlierUnitLines, replacedByText } from '../lib/units';

export type L1Result = Awaited<ReturnType<typeof checkCertificateOnL1>>;

export type L1State =
  | { state: 'idle' }
  | { state: 'running'; rpcUrl: string }
  | { state: 'done'; rpcUrl: string; result: L1Result }
  | { state: 'error'; rpcUrl: string; message: string };

/** A refusal: the code and the reason in words. */
export function CertificateRefusal({ code, detail }: { code: string; detail?: string }) {
  return (
    <div className="verdict verdict-bad" role="alert" data-testid="cert-verdict" data-state="refused" data-code={code}>
      <h2 className="verdict-label">
        <span aria-hidden="true">✗ </span>Certificate refused
      </h2>
      <p data-testid="cert-reason">
        <strong>{refusalText(code)}</strong>
      </p>
      <p className="small">
        Code <code>{code}</code>
        {detail && detail !== code ? `: ${detail}` : ''}
      </p>
      <p className="small">Nothing in a refused certificate is shown: no part of it is trusted.</p>
    </div>
  );
}

function L1Line({ l1, anchorsPinned }: { l1: L1State; anchorsPinned: boolean }) {
  if (l1.state === 'idle') return null;
  if (l1.state === 'running') return <p role="status">Asking the chain at {l1.rpcUrl}…</p>;
  if (l1.state === 'error') {
    return (
      <p data-testid="cert-l1" data-state="error">
        <strong>Not checked on L1:</strong> the chain at {l1.rpcUrl} could not be asked ({l1.message}). The offline verdict above stands, with what it cannot know.
      </p>
    );
  }
  const r = l1.result;
  if (!r.outputsRootAccepted) {
    return (
      <p data-testid="cert-l1" data-state="not-accepted" className="error-text">
        <strong>L1 has NOT accepted the outputs root this certificate names.</strong> Whatever it shows is not final on chain: do not rely on it.
      </p>
    );
  }
  return (
    <p data-testid="cert-l1" data-state="accepted" data-later-claims={r.laterClaims} data-claim-confirmed={String(r.claimConfirmed)}>
      <strong>On L1:</strong> the outputs root is accepted by the consensus of the {anchorsPinned ? 'pinned' : "certificate's own (unpinned)"} application
      {r.claimConfirmed ? ', in the claim the certificate names' : ' (the claim event is not where the certificate says: it names another block)'}.{' '}
      {r.laterClaims === 0
        ? 'No claim was accepted since: this is still the latest state on chain.'
        : `${formatInt(r.laterClaims)} claim(s) accepted since${r.latestClaim ? `, the latest in block ${formatInt(r.latestClaim.blockNumber)} (${formatDate(r.latestClaim.blockTimestamp)})` : ''}: the car may have more (or other) readings now; verify it for its current state.`}
    </p>
  );
}

/** The verdict on a certificate that passed every offline check. */
export function CertificateVerdict({
  findings: f,
  size,
  l1,
  onCheckL1,
  chainRpcUrl,
}: {
  findings: CertificateFindings;
  size: number;
  l1: L1State;
  onCheckL1?: () => void;
  chainRpcUrl?: string;
}) {
  const problem = hasProblem(f);
  const tone = l1.state === 'done' && !l1.result.outputsRootAccepted ? 'bad' : problem || !f.anchorsPinned ? 'warn' : 'good';
  const label =
    tone === 'bad' ? 'Not accepted on L1' : problem ? 'Valid certificate, with a warning' : f.anchorsPinned ? 'Valid certificate' : 'Valid against the anchors it claims (none pinned)';
  return (
    <section aria-labelledby="cert-verdict-heading">
      <div className={`verdict verdict-${tone}`} role="status" data-testid="cert-verdict" data-state="valid" data-level={f.level} data-device={f.deviceId}>
        <h2 id="cert-verdict-heading" className="verdict-label">
          <span aria-hidden="true">{tone === 'good' ? '✓ ' : tone === 'bad' ? '✗ ' : '! '}</span>
          {label}
        </h2>
        <p>
          Every proof in this {f.level} certificate checks, here in this browser, against{' '}
          {f.anchorsPinned ? 'the trust anchors you pinned' : 'the anchors it names itself (you pinned none, so nothing ties them to the real application)'}: device{' '}
          <code data-testid="cert-device">{f.deviceId}</code>, as of block {formatInt(f.asOfBlock)}.
        </p>
        {f.vin ? (
          <p data-testid="cert-vin" data-vin={f.vin}>
            <strong>VIN {f.vin} matches the record.</strong> Compare it with the VIN on the car (on its plate and on the car's papers): the record is this car's only if they are
            the same.
          </p>
        ) : (
          <p data-testid="cert-vin" data-vin="" className="small">
            The certificate does not disclose the car's VIN, so it does not show which car the record is about: ask the seller for a certificate that discloses it (they hold the
            VIN's salt with the car's papers).
          </p>
        )}
        {f.leaf.successor && (
          <p data-testid="cert-replaced" data-successor={f.leaf.successor}>
            <strong>{capitalized(replacedByText(f.leaf.successor))}.</strong> This certificate shows the record of a unit that is no longer in use.
          </p>
        )}
        {f.highest ? (
          <p>
            Highest attested reading: <strong data-testid="cert-highest" data-odometer-m={String(f.highest.reading.odometer_m)}>{formatKm(Number(f.highest.reading.odometer_m))}</strong> on{' '}
            {formatDate(f.highest.reading.timestamp)} (counter {String(f.highest.counter)}).
          </p>
        ) : (
          <p data-testid="cert-highest" data-odometer-m="">No reading of this device is attested yet.</p>
        )}
        {f.leaf.correctedBaseline && (
          <p data-testid="cert-baseline" data-odometer-m={String(f.leaf.correctedBaseline.odometerM)}>
            The car is compared with a <strong>{baselineText(f.leaf.correctedBaseline, replacementInput(f.leaf) === f.leaf.correctedBaseline.inputIndex)}</strong>, not with its highest
            attested reading: no reading has been attested since.
          </p>
        )}
        {problem && <p><strong>{statusText(f)}.</strong></p>}
        <L1Line l1={l1} anchorsPinned={f.anchorsPinned} />
      </div>

      {!f.anchorsPinned && (
        <div className="alert alert-warn" role="status" data-testid="cert-unpinned">
          <strong className="alert-title">No trust anchors pinned: checked without them</strong>
          <div>
            The certificate claims {anchorsText(f.anchors)}. Anyone can make a consistent certificate for an application of their own: pin the real anchors (the seller’s
            pin link or anchors file, on the <a href={href('/verify')}>Verify page</a>) and check again.
          </div>
        </div>
      )}

      <div className="grid-2">
        <section className="card" aria-labelledby="cert-proves-heading">
          <h2 id="cert-proves-heading">What it proves</h2>
          <KeyValues
            items={[
              ['Device', <Hex key="d" value={f.deviceId} keep={16} />],
              ['Vehicle', vehicleText(f)],
              ['Level', LEVEL_WORDS[f.level] ?? f.level],
              ['Highest attested', readingText(f.highest)],
              ['First attested', readingText(f.first)],
              ['Attested readings', formatInt(Number(f.leaf.attested))],
              ['Rollbacks on record', <span key="rb" data-testid="cert-rollbacks" data-open={f.leaf.openTampers} data-total={f.leaf.tamperEvents}>{rollbacksText(f.leaf.openTampers, f.leaf.tamperEvents)}</span>],
              ['Registrar corrections', correctionsText(f.leaf.corrections, f.leaf.latestCorrection)],
              ...(f.leaf.correctedBaseline ? ([['Baseline', baselineRow(f)]] as [string, string][]) : []),
              ['Ownership changes (era)', formatInt(f.leaf.era)],
              ['Earlier units of the vehicle', f.leaf.predecessor === null ? "none: this is the vehicle's first unit" : `${formatInt(f.earlierUnits.length)}, proven (below)`],
              ['Status', statusText(f)],
              ['As of', asOfText(f)],
              ...(f.level === 'full'
                ? ([
                  ['History notices', `${formatInt(f.notices)}, proven complete and in order`],
                  ['Readings disclosed', `${formatInt(f.disclosed.length)} whole, ${formatInt(f.odometerOnly.length)} dated odometer only, ${formatInt(f.undisclosed.length)} not disclosed`],
                ] as [string, string][])
                : []),
              ['Outputs root', <span key="r"><Hex value={`0x${f.outputsRoot}`} /> (output {String(f.outputIndex)})</span>],
              [f.anchorsPinned ? 'Anchors (pinned)' : 'Anchors (claimed)', anchorsText(f.anchors)],
              ['Size', `${formatInt(size)} bytes`],
            ]}
          />
        </section>
        <section className="card" aria-labelledby="cert-cannot-heading">
          <h2 id="cert-cannot-heading">What it cannot know offline</h2>
          {f.cannotKnow.length === 0 ? (
            <p className="muted">Nothing left open.</p>
          ) : (
            <ul data-testid="cert-cannot-know">
              {f.cannotKnow.map((c) => (
                <li key={c} data-code={c}>
                  {l1.state === 'done' && c === 'outputs_root_accepted' ? (
                    <span className={l1.result.outputsRootAccepted ? 'good-text' : 'error-text'}>{l1.result.outputsRootAccepted ? 'Checked on L1: accepted.' : 'Checked on L1: NOT accepted.'}</span>
                  ) : l1.state === 'done' && c === 'later_claims' ? (
                    <span>Checked on L1: {formatInt(l1.result.laterClaims)} claim(s) accepted since.</span>
                  ) : (
                    cannotKnowText(c)
                  )}
                </li>
              ))}
            </ul>
          )}
          <div className="row">
            {onCheckL1 && (
              <button type="button" className="button secondary" onClick={onCheckL1} disabled={l1.state === 'running' || !chainRpcUrl}>
                {l1.state === 'done' || l1.state === 'error' ? 'Check on L1 again' : 'Check on L1'}
              </button>
            )}
            <a className="button secondary" href={href(`/verify?device=${f.deviceId}`)} data-testid="cert-verify-link">
              Verify this car now
            </a>
          </div>
          <p className="muted small">
            {chainRpcUrl ? `The chain is asked at ${chainRpcUrl} (the chain setting on the Verify page).` : 'No chain RPC is set: set one on the Verify page to check on L1.'} Verifying the car now
            reads its current state from the latest claim and has the device sign a fresh challenge.
          </p>
        </section>
      </div>
      <CertificateEarlierUnits findings={f} />
      <CertificateCorrections findings={f} />
      <CertificateReadings findings={f} />
    </section>
  );
}

/** The vehicle's earlier units the certificate proves (18.4 step 5b): their records are part of the vehicle's. */
export function CertificateEarlierUnits({ findings: f }: { findings: CertificateFindings }) {
  if (f.earlierUnits.length === 0) return null;
  const at = replacementInput(f.leaf);
  return (
    <section className="card" aria-labelledby="cert-units-heading">
      <h2 id="cert-units-heading">The vehicle's earlier units</h2>
      <p className="small">
        A workshop replaced this car's unit (its telematics unit or instrument cluster){at !== undefined ? ` at input ${formatInt(Number(at))}` : ''}. The new unit counts on from the
        kilometres on record, and the record of every unit before it is part of the vehicle's, proven here against the same state: a rollback left open in an earlier unit keeps the
        vehicle flagged.
      </p>
      <ul data-testid="cert-earlier-units">
        {earlierUnitLines(f.leaf, f.earlierUnits).map((l) => (
          <li key={l.unit.deviceId} data-device={l.unit.deviceId} data-open={l.unit.openTampers} data-total={l.unit.tamperEvents} className={l.unit.flagged ? 'error-text' : undefined}>
            {capitalized(l.text)}.
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The registrar corrections on record: listed from the history in a full certificate, counted in a summary. */
export function CertificateCorrections({ findings: f }: { findings: CertificateFindings }) {
  if (f.leaf.corrections === 0 && f.corrections.length === 0) return null;
  return (
    <section className="card" aria-labelledby="cert-corrections-heading">
      <h2 id="cert-corrections-heading">Corrections by a registrar</h2>
      <p className="small">
        A registrar (the maker or a fleet operator) may correct the record when it has evidence: a replaced instrument cluster, a faulty sensor, a mistyped value. A correction
        never deletes anything: the original reading stays on record, and the correction is public, signed and named here. It clears only the one rollback it names, and it
        moves the baseline the car is compared with only when it says so.
      </p>
      {f.level === 'summary' ? (
        <p className="muted small" data-testid="cert-corrections-summary">
          {correctionsText(f.leaf.corrections, f.leaf.latestCorrection)} on record. A summary certificate counts them; the full certificate lists each one with its reason and
          evidence.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table compact" data-testid="cert-corrections">
            <caption className="visually-hidden">Registrar corrections, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Counter</th>
                <th scope="col">Recorded</th>
                <th scope="col">What it did</th>
                <th scope="col">Why</th>
                <th scope="col">Evidence</th>
                <th scope="col">Rollback cleared</th>
                <th scope="col">Corrected value</th>
                <th scope="col">New baseline</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {f.corrections.map((c, i) => {
                const p = correctionParts(c.correction, c.cleared);
                return (
                  <tr key={i} data-counter={String(c.correction.counter)} data-cleared={String(c.cleared)}>
                    <td>{String(c.correction.counter)}</td>
                    <td>input {String(c.inputIndex)}</td>
                    <td>{p.what}</td>
                    <td>{p.why}</td>
                    <td>{p.evidence}</td>
                    <td>{c.cleared ? 'yes' : 'no'}</td>
                    <td>{p.value}</td>
                    <td>{p.baseline}</td>
                    <td>{p.note || '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const SHOWN = 50;

/** The chart of every reading the certificate proves, and for a full one the tables. */
export function CertificateReadings({ findings: f }: { findings: CertificateFindings }) {
  const [all, setAll] = useState(false);
  const points = certificatePoints(f);
  const disclosed = all ? f.disclosed : f.disclosed.slice(0, SHOWN);
  const odo = all ? f.odometerOnly : f.odometerOnly.slice(0, SHOWN);
  const cleared = new Set(f.corrections.filter((c) => c.cleared).map((c) => c.correction.counter));
  const tamper = (counter: bigint) =>
    cleared.has(counter) ? <span className="badge badge-pending inline">rollback, cleared by a correction</span> : <span className="badge badge-tamper inline">tamper</span>;
  return (
    <section className="card" aria-labelledby="cert-readings-heading">
      <h2 id="cert-readings-heading">Readings the certificate proves</h2>
      <OdometerChart points={points} title="Odometer, as the certificate proves it" />
      {f.level === 'summary' && <p className="muted small">A summary proves the first and the highest attested readings and the counts; the full certificate carries every history notice.</p>}
      {f.disclosed.length > 0 && (
        <div className="table-wrap">
          <table className="table compact" data-testid="cert-disclosed">
            <caption className="visually-hidden">Whole readings disclosed, by counter</caption>
            <thead>
              <tr>
                <th scope="col">Counter</th>
                <th scope="col">Odometer</th>
                <th scope="col">Time</th>
                <th scope="col">Fuel</th>
                <th scope="col">Engine</th>
                <th scope="col">Faults</th>
              </tr>
            </thead>
            <tbody>
              {disclosed.map((r) => (
                <tr key={String(r.counter)} className={r.rollback && !cleared.has(r.counter) ? 'row-tamper' : undefined}>
                  <td>{String(r.counter)}</td>
                  <td>
                    {formatKm(Number(r.reading.odometer_m))}
                    {r.rollback && tamper(r.counter)}
                  </td>
                  <td>{formatDate(r.reading.timestamp)}</td>
                  <td>{formatInt(r.reading.fuel_ml)} mL</td>
                  <td>{formatInt(r.reading.engine_s / 3600)} h</td>
                  <td>{r.reading.faults.length ? r.reading.faults.join(', ') : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {f.odometerOnly.length > 0 && (
        <div className="table-wrap">
          <table className="table compact" data-testid="cert-odometer-only">
            <caption>Dated odometer values (opened with an era’s odometer key)</caption>
            <thead>
              <tr>
                <th scope="col">Counter</th>
                <th scope="col">Odometer</th>
                <th scope="col">Day</th>
              </tr>
            </thead>
            <tbody>
              {odo.map((d) => (
                <tr key={String(d.counter)} className={d.rollback && !cleared.has(d.counter) ? 'row-tamper' : undefined}>
                  <td>{String(d.counter)}</td>
                  <td>
                    {formatKm(Number(d.odometerM))}
                    {d.rollback && tamper(d.counter)}
                  </td>
                  <td>{formatDay(daySeconds(d))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(f.disclosed.length > SHOWN || f.odometerOnly.length > SHOWN) && (
        <button type="button" className="button secondary" onClick={() => setAll((a) => !a)}>
          {all ? `Show the first ${SHOWN}` : 'Show every reading'}
        </button>
      )}
      {f.undisclosed.length > 0 && (
        <p className="muted small">
          {formatInt(f.undisclosed.length)} reading(s) on record are not disclosed (counters {f.undisclosed.slice(0, 12).map(String).join(', ')}
          {f.undisclosed.length > 12 ? ', …' : ''}): they exist and are counted, their values are sealed.
        </p>
      )}
    </section>
  );
}
