import { useEffect, useState } from 'react';
import { useApp, useAsync } from '../lib/app';
import { claimDevice, deviceNotices, myDevices, type GatewayDevice } from '../lib/gateway';
import { badgeFor, publicDevice, type PublicDevice } from '../lib/devices';
import { ownerKey, newOwnerKey, saveOwnerKey, seedOf, exportKeys, importKeys } from '../lib/keys';
import { decodeListed, fetchHistoryKeys, openHistory, type HistoryRow } from '../lib/history';
import { ownerKeysRelay } from '../lib/relay';
import { listLocalDevices, pairDevice, pressPairingButton, type LocalDevice } from '../lib/localLink';
import { decodeOwnershipStatement, isDeviceId, parseTransferCode, transferCodeText, verifyOwnershipStatement, verifyRelease, type TransferCode } from '../lib/protocol';
import { claimErrorText, PAIRING_WINDOW_S, REAL_CAR_BUTTON_TEXT } from '../lib/ownership';
import { CameraScanner, ImageQrInput } from '../components/QrScanner';
import { fromHex, toHex } from '../lib/hex';
import { HttpError, mapLimit } from '../lib/http';
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
  const [transfer, setTransfer] = useState('');
  const [transferNote, setTransferNote] = useState<{ tone: 'good' | 'warn'; text: string }>();
  const [pressForMe, setPressForMe] = useState(true);
  const [showTransfer, setShowTransfer] = useState(false);
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

  /** A transfer code pasted or read from a QR code: it names its device, which fills the id. */
  const takeTransfer = (text: string) => {
    setTransfer(text);
    if (!busy) {
      setResult(undefined);
      setSteps([]);
    }
    if (!text.trim()) return setTransferNote(undefined);
    try {
      const code = parseTransferCode(text);
      setDeviceId(code.deviceId);
      const expired = code.release.expiresAt <= Date.now() / 1000;
      setTransferNote({ tone: expired ? 'warn' : 'good', text: `Transfer code for device ${code.deviceId}, ${expired ? 'expired' : 'valid until'} ${formatDate(code.release.expiresAt)}.` });
    } catch (e) {
      setTransferNote({ tone: 'warn', text: `Not a transfer code: ${(e as Error).message}.` });
    }
  };

  const claim = async (id: string) => {
    const dev = id.trim().toLowerCase();
    setResult(undefined);
    if (!isDeviceId(dev)) {
      setResult({ tone: 'bad', text: 'A device id is 32 hexadecimal digits.' });
      return;
    }
    let code: TransferCode | undefined;
    if (transfer.trim()) {
      try {
        code = parseTransferCode(transfer);
      } catch (e) {
        setResult({ tone: 'bad', text: `The transfer code cannot be read: ${(e as Error).message}.` });
        return;
      }
      if (code.deviceId !== dev) {
        setResult({ tone: 'bad', text: `The transfer code is for device ${code.deviceId}, not ${dev}.` });
        return;
      }
    }
    setBusy(true);
    const s: Step[] = [
      { id: 'registry', title: code ? "Ask the rollup about the device and check the seller's transfer code" : 'Ask the rollup about the device', state: 'running' },
      { id: 'key', title: 'Create an owner key in this browser', state: 'waiting' },
      { id: 'button', title: pressForMe ? 'Press the pairing button (simulated fleet: over the local link)' : 'The pairing button, pressed at the car', state: 'waiting' },
      { id: 'pair', title: code ? 'The device signs an ownership statement with the transfer code (local link)' : 'The device signs an ownership statement (local link)', state: 'waiting' },
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
      const [backend, url] = await Promise.all([app.backend(), app.inspectUrl()]);
      const pub = await publicDevice(url, dev);
      if (!pub.leaf) throw new Error('The rollup does not know this device: it must be registered first.');
      const leaf = pub.leaf;
      const previous = ownerKey(dev);
      const mine = !!previous && leaf.owner === previous.publicKey;
      if (leaf.owner && !code) {
        throw new HttpError(mine ? 'You own this device already (its owner key is in this browser).' : 'release_required', 409, mine ? 'already_yours' : 'release_required');
      }
      if (code && leaf.owner) {
        if (!verifyRelease(code.release, fromHex(leaf.owner), backend.domain, dev, BigInt(leaf.ownership_sequence ?? 0))) {
          throw new Error("The transfer code is not signed by the car's current owner for its current binding: it was made for an earlier owner, or used already (a transfer code works once). Ask the seller for a new one.");
        }
        if (code.release.expiresAt <= Date.now() / 1000) throw new HttpError('expired', 409, 'release_expired');
      }
      set(0, {
        state: 'ok',
        detail: leaf.owner ? (
          <>
            Owned by <Hex value={leaf.owner} />; the transfer code is signed by that key, valid until {formatDate(code?.release.expiresAt)}
          </>
        ) : (
          'Registered, no owner yet: a first pairing'
        ),
      });
      set(1, { state: 'running' });
      const key = newOwnerKey(dev);
      // A key that owns the device now is kept until the gateway has accepted the new claim.
      if (!mine) saveOwnerKey(key);
      set(1, { state: 'ok', detail: <>Public key <Hex value={key.publicKey} /> (the secret stays in this browser)</> });
      set(2, { state: 'running' });
      if (pressForMe) {
        const pressed = await pressPairingButton(linkUrl, dev);
        set(2, { state: 'ok', detail: `Pressed: the device accepts one pairing for ${pressed.window_s} s` });
      } else {
        set(2, { state: 'ok', detail: `Pressed at the car: pair within ${PAIRING_WINDOW_S / 60} minutes` });
      }
      set(3, { state: 'running' });
      const paired = await pairDevice(linkUrl, dev, key.publicKey, code ? transferCodeText(code) : undefined);
      const statement = decodeOwnershipStatement(fromHex(paired.statement));
      if (statement.deviceId !== dev) throw new Error('The device signed a statement for another device id.');
      if (toHex(statement.owner) !== key.publicKey) throw new Error('The device signed a statement for another owner key.');
      const bound = { ...key, sequence: Number(statement.sequence) };
      if (!mine) saveOwnerKey(bound);
      set(3, { state: 'ok', detail: `Sequence ${statement.sequence}, ${statement.consent.kind === 'release' ? "on the seller's release" : 'a first pairing'}` });
      set(4, { state: 'running' });
      if (!verifyOwnershipStatement(statement, fromHex(leaf.public_key), backend.domain)) {
        throw new Error("The statement's signature does not verify under the device key the rollup registered: this is not the registered device.");
      }
      set(4, { state: 'ok', detail: <>Device key <Hex value={leaf.public_key} /> (as the node states it)</> });
      set(5, { state: 'running' });
      const receipt = await claimDevice(dev, paired.statement);
      if (mine) saveOwnerKey(bound);
      set(5, { state: 'ok', detail: <>Queued by the gateway, receipt <Hex value={receipt.envelope_hash} /> ({receipt.status})</> });
      onClaimed();
      set(6, { state: 'running', detail: 'Waiting for the next rollup input…' });
      for (let i = 0; i < 60; i++) {
        const now = await publicDevice(url, dev);
        if (now.leaf?.owner === key.publicKey) {
          set(6, { state: 'ok', detail: 'Recorded on the rollup.' });
          setResult({ tone: 'good', text: code ? 'The car is yours: the seller’s transfer code is used up. Its readings from now on, and the dated odometer values of earlier owners, are readable in this browser.' : 'The device is yours. Its history is now readable in this browser.' });
          if (code) {
            setTransfer('');
            setTransferNote(undefined);
          }
          onClaimed();
          return;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
      set(6, { state: 'warn', detail: 'Not recorded yet: the gateway has it queued. The status stays "pending" until the rollup processes it.' });
      setResult({ tone: 'warn', text: 'Claim sent. It is pending until the rollup processes it.' });
    } catch (e) {
      const text = claimErrorText(e);
      // The car has an owner: the transfer code is what is missing.
      if (e instanceof HttpError && (e.code === 'release_required' || e.code === 'release_expired')) setShowTransfer(true);
      const i = s.findIndex((x) => x.state === 'running');
      if (i >= 0) set(i, { state: 'fail', detail: text });
      setResult({ tone: 'bad', text });
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
      <div className="alert alert-neutral" data-testid="pairing-button-note">
        <strong className="alert-title">First, the pairing button</strong>
        <div>
          {REAL_CAR_BUTTON_TEXT} For the simulated fleet this page presses the button over the local link, just before pairing.
        </div>
        <label className="check">
          <input type="checkbox" checked={pressForMe} onChange={(e) => setPressForMe(e.target.checked)} /> Press the pairing button over the local link (simulated fleet)
        </label>
      </div>
      <div className="row">
        <Field label="Local link address" id="link-url">
          <input id="link-url" value={linkUrl} onChange={(e) => setLinkUrl(e.target.value)} inputMode="url" />
        </Field>
        <button type="button" className="button secondary" onClick={look}>
          Look for devices
        </button>
      </div>
      <details className="disclose transfer" open={showTransfer} onToggle={(e) => setShowTransfer(e.currentTarget.open)} data-testid="claim-transfer-section">
        <summary>Buying a car that has an owner? Its transfer code</summary>
        <p className="muted small">
          A car that has an owner passes to you only with the seller’s transfer code (“Sell this car” on their device page). Paste it or read its QR code; the claim below then
          sends it with the pairing.
        </p>
        <Field label="Transfer code" id="claim-transfer" hint="witness-transfer-1.… — it names the device, which fills the id below.">
          <textarea id="claim-transfer" className="cert-text" rows={3} value={transfer} onChange={(e) => takeTransfer(e.target.value)} spellCheck={false} autoComplete="off" aria-describedby="claim-transfer-hint" />
        </Field>
        {transferNote && (
          <p className={transferNote.tone === 'good' ? 'good-text small' : 'warn-text small'} data-testid="transfer-note">
            {transferNote.text}
          </p>
        )}
        <CameraScanner onBytes={(b) => takeTransfer(new TextDecoder().decode(b))} />
        <ImageQrInput onBytes={(b) => takeTransfer(new TextDecoder().decode(b))} onNone={(why) => setTransferNote({ tone: 'warn', text: why })} />
      </details>
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
      {result && (
        <Alert tone={result.tone}>
          <span data-testid="claim-result">{result.text}</span>
        </Alert>
      )}
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
