import { useEffect, useState, type FormEvent } from 'react';
import { useApp } from '../lib/app';
import { listLocalDevices, type LocalDevice } from '../lib/localLink';
import { isDeviceId } from '../lib/protocol';
import { STEPS, decisionInfo, humanizeReason, verifyDevice, REASONS, type StepId, type VerifyResult } from '../lib/verify';
import { verifyIO } from '../lib/proofs';
import { formatAgo, formatDate, formatInt, formatKm } from '../lib/format';
import { Alert, Card, Field, Hex, KeyValues, PageTitle, Steps, type Step } from '../components/ui';
import { EndpointsPanel } from '../components/EndpointsPanel';
import { AnchorsPanel } from '../components/AnchorsPanel';
import { describeLocal } from './DevicesPage';
import { baselineText, correctionsText, rollbacksText } from '../lib/corrections';
import { replacementInput } from '../lib/state';
import { linkedUnits } from '../lib/verdict';
import { capitalized, earlierUnitLines, replacedByText } from '../lib/units';

export function VerifyPage({ initialDevice }: { initialDevice: string }) {
  const app = useApp();
  const [deviceId, setDeviceId] = useState(initialDevice);
  const [nearby, setNearby] = useState<LocalDevice[]>();
  const [nearbyError, setNearbyError] = useState<string>();
  const [steps, setSteps] = useState<Step[]>([]);
  const [result, setResult] = useState<VerifyResult>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => setDeviceId(initialDevice), [initialDevice]);

  const linkUrl = app.endpoints?.localLinkUrl ?? '';

  const look = async () => {
    setNearbyError(undefined);
    try {
      setNearby(await listLocalDevices(linkUrl));
    } catch (e) {
      setNearbyError((e as Error).message);
    }
  };

  const run = (e: FormEvent) => {
    e.preventDefault();
    void verify(deviceId);
  };

  const verify = async (raw: string) => {
    const id = raw.trim().toLowerCase();
    setDeviceId(id);
    setError(undefined);
    setResult(undefined);
    if (!isDeviceId(id)) {
      setError('A device id is 32 hexadecimal digits.');
      return;
    }
    const config = app.config;
    if (!config) {
      setError('Still loading the configuration; try again in a moment.');
      return;
    }
    setBusy(true);
    const s: Step[] = STEPS.map(([sid, title]) => ({ id: sid, title, state: 'waiting' }));
    setSteps([...s]);
    const onStep = (sid: StepId, state: Step['state'], detail?: string) => {
      const i = s.findIndex((x) => x.id === sid);
      s[i] = { ...(s[i] as Step), state, ...(detail !== undefined ? { detail: humanizeReason(detail) } : {}) };
      setSteps([...s]);
    };
    try {
      const anchors = config.anchors?.anchors;
      const io = verifyIO(config.endpoints, { application: anchors?.application ?? config.endpoints.application, backendPublicKey: config.anchors?.backendPublicKey });
      const r = await verifyDevice(io, anchors, id, onStep);
      setResult(r);
      // For measurements (e2e): the last verification's time in the browser.
      (globalThis as { __witnessLastVerifyMs?: number }).__witnessLastVerifyMs = r.elapsedMs;
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageTitle sub="The chain says which claim is final and how many inputs it covers; the state notice of its last input is proven on chain; the device's leaf is checked against that notice; the device signs a fresh challenge. The verdict is decided here, in this browser. Neither the gateway nor a node is trusted for any of it.">
        Verify a car
      </PageTitle>
      <AnchorsPanel />
      <EndpointsPanel />
      <Card>
        <form className="row" onSubmit={run}>
          <Field label="Device id" id="verify-device" hint="32 hexadecimal digits, shown on the device.">
            <input
              id="verify-device"
              list="nearby-devices"
              value={deviceId}
              onChange={(e) => setDeviceId(e.target.value)}
              aria-describedby="verify-device-hint"
              spellCheck={false}
              autoComplete="off"
            />
          </Field>
          <datalist id="nearby-devices">
            {nearby?.map((d) => (
              <option key={d.device_id} value={d.device_id}>
                {describeLocal(d)}
              </option>
            ))}
          </datalist>
          <button type="button" className="button secondary" onClick={look}>
            List devices on the local link
          </button>
          <button type="submit" className="button" disabled={busy}>
            {busy ? 'Verifying…' : 'Read device and verify'}
          </button>
        </form>
        {nearbyError && <Alert title="Could not reach the local link">{nearbyError}</Alert>}
        {nearby && nearby.length === 0 && (
          <p className="muted small" role="status">
            No device answered on the local link.
          </p>
        )}
        {nearby && nearby.length > 0 && (
          <ul className="device-pick" aria-label="Devices on the local link" data-testid="nearby-devices" tabIndex={0}>
            {nearby.map((d) => (
              <li key={d.device_id} data-device={d.device_id} data-scenario={d.scenario ?? ''}>
                <Hex value={d.device_id} keep={8} label="Device" /> <span className="muted">{describeLocal(d)}</span>
                <button type="button" className="button small" disabled={busy} onClick={() => void verify(d.device_id)} aria-label={`Read and verify device ${d.device_id}`}>
                  Verify
                </button>
              </li>
            ))}
          </ul>
        )}
      </Card>
      {steps.length > 0 && (
        <Card title="Checks" id="checks-heading">
          <div aria-live="polite">
            <Steps steps={steps} label="Verification steps" />
          </div>
        </Card>
      )}
      {error && <Alert title="Verification could not finish">{error}</Alert>}
      {result && <Result result={result} onVerify={(id) => void verify(id)} busy={busy} />}
    </>
  );
}

export function Result({ result, onVerify, busy }: { result: VerifyResult; onVerify: (deviceId: string) => void; busy: boolean }) {
  const { decision, asOf, leaf, proof, opening } = result;
  const info = decisionInfo(decision);
  const successor = decision.findings[0]?.code === 'replaced' ? leaf?.successor : null;
  // Only the earlier units that link to this one are the vehicle's record (17.3 rule 5).
  const linked = leaf ? linkedUnits(leaf, result.earlierUnits ?? []) : { units: [], complete: true };
  const earlier = leaf ? earlierUnitLines(leaf, linked.units) : [];
  const reason = decision.verdict === 'cannot_confirm' ? decision.findings[0] : undefined;
  const openingMatches = !!(opening && leaf?.highest && opening.counter === leaf.highest.counter);
  return (
    <section aria-labelledby="verdict-heading">
      <div
        className={`verdict verdict-${info.tone}`}
        data-testid="verdict"
        data-verdict={decision.verdict}
        data-reason={reason?.code ?? decision.findings[0]?.code ?? ''}
        role="status"
      >
        <h2 id="verdict-heading" className="verdict-label">
          <span aria-hidden="true">{info.tone === 'good' ? '✓ ' : info.tone === 'bad' ? '✗ ' : '! '}</span>
          {info.label}
        </h2>
        <p>{info.summary}</p>
        {successor && (
          <p data-testid="verify-replaced" data-successor={successor}>
            <strong>{capitalized(replacedByText(successor))}.</strong>{' '}
            <button type="button" className="button small" disabled={busy} onClick={() => onVerify(successor)}>
              Verify the current unit
            </button>
          </p>
        )}
        {reason && (
          <p data-testid="verdict-reason">
            <strong>Why: {REASONS[reason.code] ?? reason.code}.</strong> {humanizeReason(reason.detail)}
          </p>
        )}
        {!reason && !successor && decision.findings.length > 0 && (
          <ul className="reasons">
            {decision.findings.map((x, i) => (
              <li key={i} data-code={x.code}>
                {x.code === 'recovery_pending' && leaf?.pendingRecovery ? (
                  <span data-testid="verify-recovery-pending" data-effective-at={String(leaf.pendingRecovery.effectiveAt)}>
                    <strong>Ownership recovery pending:</strong> a registrar started an ownership recovery, so unless the current owner objects, the car passes to another
                    owner key on {formatDate(Number(leaf.pendingRecovery.effectiveAt))} ({formatAgo(Number(leaf.pendingRecovery.effectiveAt), asOf?.headTime)}, block time). Ask
                    the seller about it before you buy.
                  </span>
                ) : (
                  humanizeReason(x.detail)
                )}
              </li>
            ))}
          </ul>
        )}
        {asOf && (
          <p data-testid="as-of">
            As of block {formatInt(asOf.block)}
            {asOf.epoch !== undefined ? `, epoch ${formatInt(asOf.epoch)} (epochs of ${formatInt(asOf.epochLength)} blocks)` : ''}, claimed {formatAgo(asOf.claimTime, asOf.headTime)} ({formatDate(asOf.claimTime)}{asOf.headTime !== undefined ? ', by the chain’s clock' : ''}).{' '}
            {asOf.unclaimed !== undefined && (
              <span data-testid="unclaimed">
                {asOf.unclaimed === 0 ? 'Every input on chain is claimed.' : `${formatInt(asOf.unclaimed)} input(s) not yet claimed: anything they changed is not part of this verdict.`}
              </span>
            )}
          </p>
        )}
      </div>
      {(leaf || proof) && (
        <Card title="What was proven" id="values-heading">
          <KeyValues
            items={[
              ['The device now', proof ? `${formatKm(proof.reading.odometer_m)} at ${formatDate(proof.reading.timestamp)}, counter ${proof.counter}` : '—'],
              [
                'Highest attested (proven)',
                leaf?.highest
                  ? `counter ${leaf.highest.counter}, input ${leaf.highest.inputIndex}${openingMatches && opening ? `: opened by the device to ${formatKm(opening.reading.odometer_m)} at ${formatDate(opening.reading.timestamp)}` : ''}`
                  : 'none',
              ],
              [
                'Compared with',
                leaf?.correctedBaseline ? (
                  <span key="b" data-testid="verify-baseline" data-odometer-m={String(leaf.correctedBaseline.odometerM)}>
                    the {baselineText(leaf.correctedBaseline, replacementInput(leaf) === leaf.correctedBaseline.inputIndex)} (no reading attested since; no opening needed)
                  </span>
                ) : leaf?.highest ? (
                  'the highest attested reading, as the device opened it'
                ) : (
                  'nothing yet'
                ),
              ],
              ['Attested readings', leaf ? formatInt(Number(leaf.attested)) : '—'],
              [
                'Rollbacks on record',
                leaf ? (
                  <span key="rb" data-testid="verify-rollbacks" data-open={leaf.openTampers} data-total={leaf.tamperEvents}>
                    {rollbacksText(leaf.openTampers, leaf.tamperEvents)}
                    {leaf.latestTamper ? ` (latest: counter ${leaf.latestTamper.counter} fell below counter ${leaf.latestTamper.referenceCounter})` : ''}
                  </span>
                ) : (
                  '—'
                ),
              ],
              ['Registrar corrections', leaf ? correctionsText(leaf.corrections, leaf.latestCorrection) : '—'],
              [
                'Earlier units of the vehicle',
                !leaf ? '—' : leaf.predecessor === null ? "none: this is the vehicle's first unit" : `${formatInt(earlier.length)} proven against the same state (below)${linked.complete ? '' : '; the record is incomplete'}`,
              ],
              ['Last consumed counter', leaf?.lastCounter !== undefined && leaf?.lastCounter !== null ? String(leaf.lastCounter) : '—'],
              ['Device key (proven)', <Hex key="k" value={leaf?.key} />],
              ['State notice', result.stateOutputIndex !== undefined && result.state ? `output ${result.stateOutputIndex}, input ${result.state.inputIndex}, map root ${result.state.mapRoot.slice(0, 16)}…` : '—'],
              ['Claim', asOf ? <span key="t">block {formatInt(asOf.claimBlock)}, transaction <Hex value={asOf.claimTx} /></span> : '—'],
              ['Time in this browser', `${(result.elapsedMs / 1000).toFixed(2)} s`],
            ]}
          />
        </Card>
      )}
      {leaf && leaf.predecessor !== null && <EarlierUnits leaf={leaf} lines={earlier} complete={linked.complete} />}
    </section>
  );
}

/** The units the vehicle had before this one, as proven against the same state notice (V7a). */
function EarlierUnits({ leaf, lines, complete }: { leaf: NonNullable<VerifyResult['leaf']>; lines: ReturnType<typeof earlierUnitLines>; complete: boolean }) {
  const at = replacementInput(leaf);
  const missing = complete ? null : ((lines[lines.length - 1]?.unit ?? leaf).predecessor ?? 'before it');
  return (
    <Card title="The vehicle's earlier units" id="earlier-units-heading">
      <p className="small">
        A workshop replaced this car's unit{at !== undefined ? ` at input ${formatInt(Number(at))}` : ''}: the new unit counts from the kilometres on record, and the record of the
        units before it stays part of the vehicle's. A rollback left open in an earlier unit keeps the vehicle flagged.
      </p>
      {lines.length > 0 && (
        <ul data-testid="verify-earlier-units">
          {lines.map((l) => (
            <li key={l.unit.deviceId} data-device={l.unit.deviceId} data-open={l.unit.openTampers} data-total={l.unit.tamperEvents}>
              {capitalized(l.text)}.
            </li>
          ))}
        </ul>
      )}
      {missing !== null && (
        <Alert tone="warn" title="The vehicle's record is incomplete">
          The node did not prove the earlier unit {missing} (or its record does not link to the unit after it): nothing is concluded about the kilometres it recorded.
        </Alert>
      )}
    </Card>
  );
}
