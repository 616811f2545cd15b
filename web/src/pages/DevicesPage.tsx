import { useEffect, useState } from 'react';
import { useApp, useAsync } from '../lib/app';
import { claimDevice, deviceNotices, myDevices, type GatewayDevice } from '../lib/gateway';
import { badgeFor, publicDevice, type PublicDevice } from '../lib/devices';
import { ownerKey, newOwnerKey, saveOwnerKey, seedOf, exportKeys, importKeys } from '../lib/keys';
import { decodeListed, fetchHistoryKeys, openHistory, type HistoryRow } from '../lib/history';
import { ownerKeysRelay } from '../lib/relay';
import { listLocalDevices, pairDevice, type LocalDevice } from '../lib/localLink';
import { decodeOwnershipStatement, isDeviceId, verifyOwnershipStatement } from '../lib/protocol';
import { fromHex, toHex } from '../lib/hex';
import { mapLimit } from '../lib/http';
import { formatDate, formatKm } from '../lib/format';
import { href } from '../lib/router';
import { Alert, Card, Field, Hex, Loading, PageTitle, StatusBadge, Steps, type Step } from '../components/ui';

interface Row {
  device: GatewayDevice;
  pub?: PublicDevice;
  pubError?: string;
  last?: HistoryRow;
  historyError?: string;
  hasKey: boolean;
}

export function DevicesPage() {
  const app = useApp();
  const { user } = app;
  const [claimed, setClaimed] = useState(0);

  const list = useAsync(async () => {
    if (!user) return [] as GatewayDevice[];
    return myDevices();
  }, [user, claimed]);

  if (user === undefined) return <Loading label="Checking your session…" />;
  if (user === null) {
    return (
      <>
        <PageTitle>My devices</PageTitle>
        {app.userError ? (
          <Alert title="The gateway could not be reached" onRetry={app.refreshUser}>
            {app.userError}
          </Alert>
        ) : (
          <Alert tone="neutral" title="Log in to see your devices">
            <a href={href('/login')}>Log in</a> or <a href={href('/signup')}>create an account</a>. Verifying a car does not need an account: <a href={href('/verify')}>verify</a>.
          </Alert>
        )}
      </>
    );
  }

  return (
    <>
      <PageTitle sub="Devices you claimed. Their history is decrypted here, in your browser, with owner keys that never leave it.">My devices</PageTitle>
      {list.loading && !list.data && <Loading label="Loading your devices…" />}
      {list.error && (
        <Alert title="Could not load your devices" onRetry={list.reload}>
          {list.error}
        </Alert>
      )}
      {list.data && <DeviceTable devices={list.data} />}
      <ClaimPanel onClaimed={() => setClaimed((n) => n + 1)} />
      <KeysPanel />
    </>
  );
}

function DeviceTable({ devices }: { devices: GatewayDevice[] }) {
  const app = useApp();
  const [rows, setRows] = useState<Row[]>(() => devices.map((d) => ({ device: d, hasKey: !!ownerKey(d.device_id) })));
  const models = useAsync(async () => (await app.backend()).models, [app.backend]);
  const modelName = (r: Row) => {
    const id = r.pub?.leaf?.model ?? r.device.model;
    return models.data?.get(id) ?? `Model ${id}`;
  };

  useEffect(() => {
    let live = true;
    setRows(devices.map((d) => ({ device: d, hasKey: !!ownerKey(d.device_id) })));
    (async () => {
      let url: string;
      try {
        url = await app.inspectUrl();
      } catch (e) {
        if (live) setRows((rs) => rs.map((r) => ({ ...r, pubError: (e as Error).message })));
        return;
      }
      await mapLimit(devices, 4, async (d, i) => {
        const update = (patch: Partial<Row>) => live && setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
        let pub: PublicDevice | undefined;
        try {
          pub = await publicDevice(url, d.device_id);
          update({ pub });
        } catch (e) {
          update({ pubError: (e as Error).message });
        }
        const key = ownerKey(d.device_id);
        // Only the account that claimed a device may have the gateway relay its queries.
        if (!key || !pub?.leaf || pub.leaf.owner !== key.publicKey || !d.owned_by_you) return;
        try {
          const backend = await app.backend();
          const [keys, page] = await Promise.all([
            fetchHistoryKeys({ deviceId: d.device_id, ownerSeed: seedOf(key), domain: backend.domain, relay: ownerKeysRelay(d.device_id, app.inspectUrl) }),
            deviceNotices(d.device_id, undefined, 8),
          ]);
          const { notices } = decodeListed(d.device_id, page.notices);
          const rows = openHistory(notices, keys, 0n).rows.filter((row) => row.rollbackOf === null && row.odometerM !== undefined);
          update({ last: rows[rows.length - 1] });
        } catch (e) {
          update({ historyError: (e as Error).message });
        }
      });
    })();
    return () => {
      live = false;
    };
  }, [devices, app]);

  if (devices.length === 0) {
    return (
      <Alert tone="neutral" title="No devices yet">
        Claim your car's device below: the browser pairs with it over its local link.
      </Alert>
    );
  }
  return (
    <Card title="Devices" id="devices-heading">
      <div className="table-wrap">
        <table className="table" aria-labelledby="devices-heading" data-testid="devices-table">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Model</th>
              <th scope="col">Status</th>
              <th scope="col">Last attested odometer</th>
              <th scope="col">Attested at</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const badge = r.pubError ? { kind: 'unknown' as const, why: r.pubError } : badgeFor(r.pub, ownerKey(r.device.device_id)?.publicKey);
              return (
                <tr key={r.device.device_id}>
                  <th scope="row">
                    <a href={href(`/devices/${r.device.device_id}`)}>
                      <Hex value={r.device.device_id} keep={8} label="Device" />
                    </a>
                  </th>
                  <td>{modelName(r)}</td>
                  <td>
                    {!r.pub && !r.pubError ? <span className="muted">checking…</span> : <StatusBadge kind={badge.kind} title={badge.why} />}
                    <div className="small muted">{badge.why}</div>
                  </td>
                  <td>
                    {r.last?.odometerM !== undefined ? formatKm(r.last.odometerM) : r.historyError ? <span className="error-text">{r.historyError}</span> : !r.hasKey ? <span className="muted">owner key not in this browser</span> : <span className="muted">—</span>}
                  </td>
                  <td>{r.last ? formatDate(r.last.reading?.timestamp ?? r.last.day ?? Number(r.last.blockTimestamp)) : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function ClaimPanel({ onClaimed }: { onClaimed: () => void }) {
  const app = useApp();
  const [linkUrl, setLinkUrl] = useState('');
  const [nearby, setNearby] = useState<LocalDevice[]>();
  const [nearbyError, setNearbyError] = useState<string>();
  const [deviceId, setDeviceId] = useState('');
  const [steps, setSteps] = useState<Step[]>([]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ tone: 'good' | 'bad' | 'warn'; text: string }>();

  useEffect(() => {
    if (app.endpoints && !linkUrl) setLinkUrl(app.endpoints.localLinkUrl);
  }, [app.endpoints, linkUrl]);

  const look = async () => {
    setNearbyError(undefined);
    setNearby(undefined);
    try {
      setNearby(await listLocalDevices(linkUrl));
    } catch (e) {
      setNearbyError((e as Error).message);
    }
  };

  const claim = async (id: string) => {
    const dev = id.trim().toLowerCase();
    setResult(undefined);
    if (!isDeviceId(dev)) {
      setResult({ tone: 'bad', text: 'A device id is 32 hexadecimal digits.' });
      return;
    }
    setBusy(true);
    const s: Step[] = [
      { id: 'key', title: 'Create an owner key in this browser', state: 'running' },
      { id: 'pair', title: 'The device signs an ownership statement (local link)', state: 'waiting' },
      { id: 'check', title: "Check the device's signature against the rollup's registry", state: 'waiting' },
      { id: 'send', title: 'Send the statement to the gateway', state: 'waiting' },
      { id: 'rollup', title: 'The rollup records you as the owner', state: 'waiting' },
    ];
    const set = (i: number, patch: Partial<Step>) => {
      s[i] = { ...(s[i] as Step), ...patch };
      setSteps([...s]);
    };
    setSteps([...s]);
    try {
      const key = newOwnerKey(dev);
      set(0, { state: 'ok', detail: <>Public key <Hex value={key.publicKey} /> (the secret stays in this browser)</> });
      set(1, { state: 'running' });
      const paired = await pairDevice(linkUrl, dev, key.publicKey);
      const statement = decodeOwnershipStatement(fromHex(paired.statement));
      if (statement.deviceId !== dev) throw new Error('The device signed a statement for another device id.');
      if (toHex(statement.owner) !== key.publicKey) throw new Error('The device signed a statement for another owner key.');
      saveOwnerKey({ ...key, sequence: Number(statement.sequence) });
      set(1, { state: 'ok', detail: `Sequence ${statement.sequence}` });
      set(2, { state: 'running' });
      const [backend, url] = await Promise.all([app.backend(), app.inspectUrl()]);
      const pub = await publicDevice(url, dev);
      if (!pub.leaf) throw new Error('The rollup does not know this device: it must be registered first.');
      const deviceKey = pub.leaf.public_key;
      if (!verifyOwnershipStatement(statement, fromHex(deviceKey), backend.domain)) {
        throw new Error("The statement's signature does not verify under the device key the rollup registered: this is not the registered device.");
      }
      set(2, { state: 'ok', detail: <>Device key <Hex value={deviceKey} /> (as the node states it)</> });
      set(3, { state: 'running' });
      const receipt = await claimDevice(dev, paired.statement);
      set(3, { state: 'ok', detail: <>Queued by the gateway, receipt <Hex value={receipt.envelope_hash} /> ({receipt.status})</> });
      onClaimed();
      set(4, { state: 'running', detail: 'Waiting for the next rollup input…' });
      for (let i = 0; i < 60; i++) {
        const now = await publicDevice(url, dev);
        if (now.leaf?.owner === key.publicKey) {
          set(4, { state: 'ok', detail: 'Recorded on the rollup.' });
          setResult({ tone: 'good', text: 'The device is yours. Its history is now readable in this browser.' });
          onClaimed();
          return;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
      set(4, { state: 'warn', detail: 'Not recorded yet: the gateway has it queued. The status stays "pending" until the rollup processes it.' });
      setResult({ tone: 'warn', text: 'Claim sent. It is pending until the rollup processes it.' });
    } catch (e) {
      const i = s.findIndex((x) => x.state === 'running');
      if (i >= 0) set(i, { state: 'fail', detail: (e as Error).message });
      setResult({ tone: 'bad', text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Claim a device" id="claim-heading">
      <p className="muted">
        Pairing needs the device at hand: the browser asks it over its local link to sign a statement binding a new owner key made here. Nobody else, the gateway included, ever
        sees that key.
      </p>
      <div className="row">
        <Field label="Local link address" id="link-url">
          <input id="link-url" value={linkUrl} onChange={(e) => setLinkUrl(e.target.value)} inputMode="url" />
        </Field>
        <button type="button" className="button secondary" onClick={look}>
          Look for devices
        </button>
      </div>
      {nearbyError && <Alert title="Could not reach the local link">{nearbyError}</Alert>}
      {nearby && nearby.length === 0 && <p className="muted">No device answered on this local link.</p>}
      {nearby && nearby.length > 0 && (
        <ul className="device-pick" aria-label="Devices on the local link" tabIndex={0}>
          {nearby.map((d) => (
            <li key={d.device_id} data-device={d.device_id} data-scenario={d.scenario ?? ""}>
              <Hex value={d.device_id} keep={8} label="Device" /> <span className="muted">{describeLocal(d)}</span>
              <button type="button" className="button small" disabled={busy} onClick={() => claim(d.device_id)} aria-label={`Claim device ${d.device_id}`}>
                Claim
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void claim(deviceId);
        }}
      >
        <Field label="Device id" id="claim-device" hint="32 hexadecimal digits, shown on the device.">
          <input id="claim-device" value={deviceId} onChange={(e) => setDeviceId(e.target.value)} aria-describedby="claim-device-hint" spellCheck={false} autoComplete="off" />
        </Field>
        <button type="submit" className="button" disabled={busy}>
          Pair and claim
        </button>
      </form>
      {steps.length > 0 && (
        <div aria-live="polite">
          <Steps steps={steps} label="Claim progress" />
        </div>
      )}
      {result && <Alert tone={result.tone}>{result.text}</Alert>}
    </Card>
  );
}

export function describeLocal(d: LocalDevice): string {
  const parts = [d.handle && d.handle !== d.device_id ? d.handle : undefined, d.model_name ?? (d.model !== undefined ? `model ${d.model}` : undefined), d.scenario ? `scenario: ${d.scenario}` : undefined];
  return parts.filter((p): p is string => typeof p === 'string' && p.length > 0).join(' · ');
}

function KeysPanel() {
  const [message, setMessage] = useState<{ tone: 'good' | 'bad'; text: string }>();
  const download = () => {
    const blob = new Blob([exportKeys()], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'witness-owner-keys.json';
    a.click();
    URL.revokeObjectURL(a.href);
  };
  const upload = async (file: File | undefined) => {
    if (!file) return;
    try {
      const n = importKeys(await file.text());
      setMessage({ tone: 'good', text: `Imported ${n} owner key(s).` });
    } catch (e) {
      setMessage({ tone: 'bad', text: `Could not import: ${(e as Error).message}` });
    }
  };
  return (
    <Card title="Owner keys in this browser" id="keys-heading">
      <p className="muted">Keys are stored in this browser only. Export them to keep a backup or to read your history from another browser.</p>
      <div className="row">
        <button type="button" className="button secondary" onClick={download}>
          Export keys
        </button>
        <label className="button secondary file-button">
          Import keys
          <input type="file" accept="application/json" className="visually-hidden" onChange={(e) => upload(e.target.files?.[0])} />
        </label>
      </div>
      {message && <Alert tone={message.tone}>{message.text}</Alert>}
    </Card>
  );
}
