import { useEffect, useState, type FormEvent } from 'react';
import { useApp } from '../lib/app';
import { inspect } from '../lib/node';
import { publicDevice } from '../lib/devices';
import { listLocalDevices, requestOpening, requestProof, type LocalDevice } from '../lib/localLink';
import { commitmentOf, decodeOpening, decodePossessionProof, isDeviceId, sameReading, verifyPossessionProof, type Reading } from '../lib/protocol';
import { fromHex, randomBytes, toHex } from '../lib/hex';
import { attestationsToProve, interpretVerifyReport, proveAttestation, verdictInfo, type AttestedValue, type ProofResult, type VerifyReport } from '../lib/verify';
import { applicationOf, proofIO } from '../lib/proofs';
import { formatDate, formatKm } from '../lib/format';
import { Alert, Card, Field, Hex, PageTitle, Steps, type Step } from '../components/ui';
import { EndpointsPanel } from '../components/EndpointsPanel';
import { describeLocal } from './DevicesPage';

interface Outcome {
  report?: VerifyReport;
  proofs: { role: string; value: AttestedValue; result: ProofResult }[];
  deviceReading?: Reading;
  deviceCounter?: bigint;
}

const STEP_TITLES: [string, string][] = [
  ['nonce', 'Make a fresh random challenge'],
  ['read', 'Read the device over its local link'],
  ['sig', "Check the device's signature (key from the rollup's registry)"],
  ['verdict', 'Ask the rollup for its verdict (node inspect, directly)'],
  ['chain', 'Prove the attesting notice on chain (Application.validateOutput)'],
  ['opening', 'Have the device open the attested commitment'],
];

export function VerifyPage({ initialDevice }: { initialDevice: string }) {
  const app = useApp();
  const [deviceId, setDeviceId] = useState(initialDevice);
  const [nearby, setNearby] = useState<LocalDevice[]>();
  const [nearbyError, setNearbyError] = useState<string>();
  const [steps, setSteps] = useState<Step[]>([]);
  const [outcome, setOutcome] = useState<Outcome>();
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
    setOutcome(undefined);
    if (!isDeviceId(id)) {
      setError('A device id is 32 hexadecimal digits.');
      return;
    }
    if (!app.endpoints) {
      setError('Still loading the configuration; try again in a moment.');
      return;
    }
    const endpoints = app.endpoints;
    setBusy(true);
    const s: Step[] = STEP_TITLES.map(([sid, title]) => ({ id: sid, title, state: 'waiting' }));
    const set = (sid: string, patch: Partial<Step>) => {
      const i = s.findIndex((x) => x.id === sid);
      s[i] = { ...(s[i] as Step), ...patch };
      setSteps([...s]);
    };
    setSteps([...s]);
    const out: Outcome = { proofs: [] };
    try {
      set('nonce', { state: 'running' });
      const nonce = toHex(randomBytes(32));
      set('nonce', { state: 'ok', detail: <>Nonce <Hex value={nonce} /></> });

      set('read', { state: 'running' });
      const answer = await requestProof(endpoints.localLinkUrl, id, nonce);
      const proof = decodePossessionProof(fromHex(answer.proof));
      if (proof.deviceId !== id) throw new Error(`The device answered as ${proof.deviceId}, not ${id}.`);
      if (proof.nonce !== nonce) throw new Error('The device signed another challenge than ours: a replayed answer.');
      out.deviceReading = proof.reading;
      out.deviceCounter = proof.counter;
      setOutcome({ ...out });
      const jsonDiffers = answer.reading && !sameReading(answer.reading, proof.reading);
      set('read', {
        state: jsonDiffers ? 'warn' : 'ok',
        detail: (
          <>
            The device shows <strong>{formatKm(proof.reading.odometer_m)}</strong> at {formatDate(proof.reading.timestamp)}, counter {String(proof.counter)}
            {jsonDiffers ? ". The local link's unsigned summary differs from the signed reading; only the signed one is used." : '.'}
          </>
        ),
      });

      set('sig', { state: 'running' });
      const [backend, inspectUrl] = await Promise.all([app.backend(), app.inspectUrl()]);
      const pub = await publicDevice(inspectUrl, id);
      if (!pub.exists || !pub.public_key) {
        set('sig', { state: 'warn', detail: 'The rollup has no key for this device: it is not registered.' });
      } else if (verifyPossessionProof(proof, fromHex(pub.public_key), backend.backendPublicKey)) {
        set('sig', { state: 'ok', detail: <>Valid under the registered key <Hex value={pub.public_key} /></> });
      } else {
        set('sig', { state: 'fail', detail: "The signature does not verify under the registered key: this is not the registered device, or its answer was altered." });
      }
      if (app.config?.endpoints.gatewayBackendKey && app.config.endpoints.gatewayBackendKey !== backend.backendPublicKeyHex) {
        set('sig', { detail: <>{s.find((x) => x.id === 'sig')?.detail} Warning: the gateway states another backend key than the rollup.</> });
      }

      set('verdict', { state: 'running' });
      const { report: raw } = await inspect(inspectUrl, { type: 'verify', proof: answer.proof });
      const report = interpretVerifyReport(raw);
      out.report = report;
      setOutcome({ ...out });
      if (report.kind === 'error') {
        set('verdict', { state: 'fail', detail: report.message });
        set('chain', { state: 'skipped' });
        set('opening', { state: 'skipped' });
        return;
      }
      const info = verdictInfo(report.verdict);
      set('verdict', { state: info.tone === 'good' ? 'ok' : info.tone === 'bad' ? 'fail' : 'warn', detail: <>Verdict: <strong>{info.label}</strong></> });

      const targets = attestationsToProve(report);
      if (targets.length === 0) {
        set('chain', { state: 'skipped', detail: 'Nothing attested yet, so nothing to prove.' });
        set('opening', { state: 'skipped' });
        return;
      }
      set('chain', { state: 'running' });
      const io = proofIO(endpoints, applicationOf(endpoints, inspectUrl));
      for (const t of targets) {
        const result = await proveAttestation(io, id, t.value);
        out.proofs.push({ role: t.role, value: t.value, result });
        setOutcome({ ...out, proofs: [...out.proofs] });
      }
      const worst = out.proofs.some((p) => p.result.status === 'failed') ? 'fail' : out.proofs.some((p) => p.result.status === 'pending_claim') ? 'warn' : 'ok';
      set('chain', {
        state: worst,
        detail: worst === 'ok' ? 'Proven on chain.' : worst === 'warn' ? 'Attested, waiting for the epoch to be claimed on chain.' : 'Not proven: see below.',
      });

      set('opening', { state: 'running' });
      const target = targets[0]?.value;
      try {
        if (!target) throw new Error('nothing to open');
        const o = await requestOpening(endpoints.localLinkUrl, id, target.counter);
        const opening = decodeOpening(fromHex(o.opening));
        const commitment = commitmentOf(opening);
        const matches = opening.deviceId === id && opening.counter === BigInt(target.counter) && commitment === target.commitment && sameReading(opening.reading, target.reading);
        set('opening', {
          state: matches ? 'ok' : 'fail',
          detail: matches
            ? `The commitment published for counter ${target.counter} opens to ${formatKm(opening.reading.odometer_m)}: the attested value is bound on chain.`
            : `The device's opening does not match the published commitment for counter ${target.counter}.`,
        });
      } catch (err) {
        set('opening', { state: 'skipped', detail: `The device gave no opening (${(err as Error).message}); the verdict above does not depend on it.` });
      }
    } catch (err) {
      const running = s.find((x) => x.state === 'running');
      if (running) set(running.id, { state: 'fail', detail: (err as Error).message });
      for (const x of s) if (x.state === 'waiting') set(x.id, { state: 'skipped' });
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageTitle sub="The device signs its current reading together with a fresh challenge; this page checks the signature itself, asks the rollup node directly for its verdict, and proves the attesting notice on the chain. The gateway is not trusted for any of it.">
        Verify a car
      </PageTitle>
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
      {error && !outcome?.report && <Alert title="Verification could not finish">{error}</Alert>}
      {outcome?.report && <Result outcome={outcome} />}
    </>
  );
}

function Result({ outcome }: { outcome: Outcome }) {
  const r = outcome.report;
  if (!r) return null;
  if (r.kind === 'error') {
    return (
      <div className="verdict verdict-bad" data-testid="verdict" data-verdict={r.code}>
        <p className="verdict-label">
          <span aria-hidden="true">✗ </span>The rollup refused the proof
        </p>
        <p>{r.message}</p>
      </div>
    );
  }
  const info = verdictInfo(r.verdict);
  const rows: [string, Reading | undefined, string][] = [
    ['The device now', outcome.deviceReading, outcome.deviceCounter !== undefined ? `counter ${outcome.deviceCounter}` : ''],
    ['Last attested', r.lastAttested?.reading, r.lastAttested ? `counter ${r.lastAttested.counter}, input ${r.lastAttested.input_index}` : ''],
    ['Highest attested', r.highestAttested?.reading, r.highestAttested ? `counter ${r.highestAttested.counter}, input ${r.highestAttested.input_index}` : ''],
  ];
  return (
    <section aria-labelledby="verdict-heading">
      <div className={`verdict verdict-${info.tone}`} data-testid="verdict" data-verdict={r.verdict} role="status">
        <h2 id="verdict-heading" className="verdict-label">
          <span aria-hidden="true">{info.tone === 'good' ? '✓ ' : info.tone === 'bad' ? '✗ ' : '! '}</span>
          {info.label}
        </h2>
        <p>{info.summary}</p>
        {r.reasons.length > 0 && (
          <ul className="reasons">
            {r.reasons.map((x, i) => (
              <li key={i}>{x}</li>
            ))}
          </ul>
        )}
        {r.tamperEvents > 0 && <p>Tamper events on record: {r.tamperEvents}.</p>}
      </div>
      <Card title="Attested values" id="values-heading">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col" />
                <th scope="col">Odometer</th>
                <th scope="col">Device time</th>
                <th scope="col">Faults</th>
                <th scope="col">Where</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([label, reading, where]) => (
                <tr key={label}>
                  <th scope="row">{label}</th>
                  <td>{formatKm(reading?.odometer_m)}</td>
                  <td>{formatDate(reading?.timestamp)}</td>
                  <td>{reading ? (reading.faults.length ? reading.faults.join(', ') : 'none') : '—'}</td>
                  <td>{where || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      {outcome.proofs.length > 0 && (
        <Card title="On chain" id="chain-heading">
          <ul className="proofs" data-testid="proofs">
            {outcome.proofs.map((p) => (
              <li key={`${p.role}-${p.value.counter}`} className={`proof proof-${p.result.status}`} data-status={p.result.status}>
                <strong>
                  {p.result.status === 'proven' ? '✓ Proven on chain' : p.result.status === 'pending_claim' ? '… Not provable yet' : '✗ Not proven'}
                </strong>{' '}
                — the {p.role} attested reading ({formatKm(p.value.reading.odometer_m)}, counter {p.value.counter}), notice {p.value.notice_index ?? '—'}
                {p.result.epochIndex !== undefined ? `, epoch ${p.result.epochIndex}` : ''}.
                <div className="small">{p.result.reason}</div>
                {p.result.root && (
                  <div className="small muted">
                    Outputs root <Hex value={p.result.root} />
                  </div>
                )}
              </li>
            ))}
          </ul>
        </Card>
      )}
    </section>
  );
}
