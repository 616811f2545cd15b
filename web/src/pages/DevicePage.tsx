import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { useApp, useAsync } from '../lib/app';
import { deviceDetail, deviceNotices, objectToRecovery, receiptStage, type DeviceDetail } from '../lib/gateway';
import { ownerKeysRelay } from '../lib/relay';
import { badgeFor, publicDevice } from '../lib/devices';
import { ownerKey, seedOf } from '../lib/keys';
import {
  accumulatorOf,
  checkAccumulator,
  decodeListed,
  fetchAllNotices,
  fetchHistoryKeys,
  noticesFromNode,
  openHistory,
  type Completeness,
  type HistoryEvent,
  type HistoryRow,
  type ListedNotice,
  type OpenedHistory,
} from '../lib/history';
import { proveDevice, type AsOf } from '../lib/verify';
import { verifyIO } from '../lib/proofs';
import { outputsOfInput } from '../lib/node';
import { decodeNoticeOutput } from '../lib/notices';
import type { Accumulator } from '../lib/state';
import type { HistoryKeys } from '../lib/api';
import { formatAgo, formatDate, formatDay, formatInt, formatKm, formatMs } from '../lib/format';
import { href } from '../lib/router';
import { OdometerChart, type OdometerPoint } from '../components/charts';
import { Alert, Card, Field, Hex, KeyValues, Loading, PageTitle, StatusBadge } from '../components/ui';
import { CreateCertificate } from '../components/CreateCertificate';
import { baselineText, correctionsText, correctionText, rollbacksText } from '../lib/corrections';
import type { LeafView } from '../lib/api';
import { replacementInput } from '../lib/state';
import { capitalized, earlierUnitLines, factsOfView, replacedByText } from '../lib/units';
import { countdownText, DEFAULT_RELEASE_HOURS, eventTitle, makeTransferCode, objectionHex, ownershipEventText, RELEASE_EXPIRY_CHOICES, type MadeTransferCode } from '../lib/ownership';
import { QrCode } from '../components/QrCode';
import { utf8 } from '../lib/hex';
import type { OwnerKey } from '../lib/keys';

/** Most earlier units walked back (as the verifier's V7a). */
const MAX_EARLIER_UNITS = 16;

const SHOWN = 50;

interface LoadedHistory {
  opened: OpenedHistory;
  keys?: HistoryKeys;
  keysError?: string;
  /** Where the notices came from. */
  noticesFrom: string;
  undecodable: number;
  /** The accumulator checked against, and how it is known. */
  against?: { acc: Accumulator; proven: boolean; asOf?: AsOf };
  proofError?: string;
  result?: Completeness;
  /** Notices newer than the proven leaf, checked against the node's current (unproven) leaf. */
  newer?: { count: number; result: Completeness };
}

export function DevicePage({ deviceId }: { deviceId: string }) {
  const app = useApp();
  const key = ownerKey(deviceId);

  const pub = useAsync(async () => publicDevice(await app.inspectUrl(), deviceId), [deviceId, app.inspectUrl]);
  const detail = useAsync(async () => (app.user ? deviceDetail(deviceId) : undefined), [deviceId, app.user]);
  const pubSettled = !!pub.data || !!pub.error;
  const leaf = pub.data?.leaf ?? null;

  const history = useAsync(async (): Promise<LoadedHistory | undefined> => {
    if (!pubSettled || !app.config) return new Promise<never>(() => {});
    const config = app.config;
    const endpoints = config.endpoints;
    const anchors = config.anchors?.anchors;
    const application = anchors?.application ?? endpoints.application;
    // Keys: only the owner's key in this browser opens them.
    let keys: HistoryKeys | undefined;
    let keysError: string | undefined;
    if (key) {
      try {
        const backend = await app.backend();
        keys = await fetchHistoryKeys({ deviceId, ownerSeed: seedOf(key), domain: backend.domain, relay: ownerKeysRelay(deviceId, app.inspectUrl) });
      } catch (e) {
        keysError = (e as Error).message;
      }
    }
    // The accumulator: proven against L1 when anchors are pinned, else the node's current leaf.
    let against: LoadedHistory['against'];
    let proofError: string | undefined;
    if (anchors) {
      const proven = await proveDevice(verifyIO(endpoints, { application: anchors.application, backendPublicKey: config.anchors?.backendPublicKey }), anchors, deviceId);
      if (proven.ok && proven.leaf) against = { acc: proven.leaf.history, proven: true, asOf: proven.asOf };
      else proofError = proven.ok ? 'the proven state has no device with this id' : proven.finding.detail;
    }
    const current = leaf ? accumulatorOf(leaf.history) : undefined;
    if (!against && current) against = { acc: current, proven: false };
    // The notices: listed by the gateway (it only relays them), else walked back on the node.
    let listed: ListedNotice[];
    let noticesFrom = 'the gateway';
    try {
      listed = (await fetchAllNotices((before) => deviceNotices(deviceId, before))).notices;
    } catch {
      noticesFrom = 'the rollup node';
      const last = current?.lastInput ?? against?.acc.lastInput ?? null;
      listed = await noticesFromNode((i) => outputsOfInput(endpoints.nodeRpcUrl, application, i), decodeNoticeOutput, deviceId, last);
    }
    const { notices, undecodable } = decodeListed(deviceId, listed);
    const out: LoadedHistory = { opened: openHistory(notices, keys, against?.acc.count ?? 0n), keys, keysError, noticesFrom, undecodable: undecodable.length, against, proofError };
    if (against) {
      const checked = checkAccumulator(against.acc, notices);
      out.result = checked.result;
      if (against.proven && current && current.count > against.acc.count) {
        out.newer = { count: Number(current.count - against.acc.count), result: checkAccumulator(current, notices).result };
      }
    }
    return out;
  }, [deviceId, app.backend, app.config, pubSettled, leaf?.history.root]);

  // The vehicle's earlier units, as the node states them (unproven, like the rest of this card).
  const predecessor = leaf?.predecessor ?? null;
  const units = useAsync(async (): Promise<{ units: LeafView[]; missing?: string }> => {
    const out: LeafView[] = [];
    if (predecessor === null) return { units: out };
    const url = await app.inspectUrl();
    for (let next: string | null = predecessor; next !== null && out.length < MAX_EARLIER_UNITS; ) {
      const unit: LeafView | null | undefined = (await publicDevice(url, next).catch(() => undefined))?.leaf;
      if (!unit) return { units: out, missing: next };
      out.push(unit);
      next = unit.predecessor;
    }
    return { units: out };
  }, [predecessor, app.inspectUrl]);
  // The input of each replacement, from the history's `replaces` entries when it is loaded.
  const replacedAt = useMemo(() => {
    const m = new Map<string, bigint>();
    for (const e of history.data?.opened.events ?? []) if (e.entry.kind === 'replaces') m.set(e.entry.oldDevice, e.inputIndex);
    return m;
  }, [history.data]);
  const earlier = leaf && predecessor ? earlierUnitLines(factsOfView(leaf), (units.data?.units ?? []).map(factsOfView), replacedAt) : [];

  const badge = pub.data ? badgeFor(pub.data, key?.publicKey) : undefined;
  const model = leaf?.model;
  const modelName = useAsync(async () => (model === undefined ? undefined : (await app.backend()).models.get(model)), [model, app.backend]);

  return (
    <>
      <PageTitle sub={<>Device <Hex value={deviceId} keep={16} /></>}>
        {modelName.data ?? (model !== undefined ? `Model ${model}` : 'Device')} {badge && <StatusBadge kind={badge.kind} title={badge.why} />}
      </PageTitle>
      <p>
        <a href={href('/devices')}>← My devices</a> · <a href={href(`/verify?device=${deviceId}`)}>Verify this device now</a>
      </p>
      {leaf?.pending_recovery && (
        <RecoveryAlert
          deviceId={deviceId}
          recovery={leaf.pending_recovery}
          ownerKey={key && leaf.owner === key.publicKey ? key : undefined}
          started={[...(history.data?.opened.events ?? [])].reverse().find((e) => e.entry.kind === 'recovery_started')}
          onChanged={pub.reload}
        />
      )}

      <div className="grid-2">
        <Card title="On the rollup (as the node states it)" id="public-heading">
          {pub.loading && !pub.data && <Loading label="Asking the rollup node…" />}
          {pub.error && (
            <Alert title="Could not ask the rollup node" onRetry={pub.reload}>
              {pub.error}
            </Alert>
          )}
          {pub.data && !leaf && <Alert tone="warn">The rollup does not know this device.</Alert>}
          {leaf?.successor && (
            <div className="alert alert-warn" role="status" data-testid="device-replaced" data-successor={leaf.successor}>
              <strong className="alert-title">Replaced unit</strong>
              <div>
                {capitalized(replacedByText(leaf.successor))}: a workshop fitted the car with a new unit, which carries the vehicle's record on. This unit's readings are no longer
                accepted. <a href={href(`/devices/${leaf.successor}`)}>Open the current unit</a> · <a href={href(`/verify?device=${leaf.successor}`)}>Verify it</a>
              </div>
            </div>
          )}
          {leaf && (
            <KeyValues
              items={[
                ['Status', badge ? <>{badge.why}</> : '—'],
                ['Rollbacks on record', <span key="rb" data-testid="device-rollbacks" data-open={leaf.open_tampers} data-total={leaf.tamper_events}>{rollbacksText(leaf.open_tampers, leaf.tamper_events)}</span>],
                ['Registrar corrections', correctionsText(leaf.corrections, leaf.latest_correction && { counter: leaf.latest_correction.counter, inputIndex: leaf.latest_correction.input_index })],
                ['Attested readings', formatInt(leaf.attested)],
                ['Last counter', leaf.last_counter ?? '—'],
                ['Highest attested', leaf.highest ? `counter ${leaf.highest.counter}, input ${leaf.highest.input_index}` : '—'],
                [
                  'Baseline',
                  leaf.corrected_baseline ? (
                    <span key="b" data-testid="device-baseline">
                      {baselineText({ odometerM: leaf.corrected_baseline.odometer_m, inputIndex: leaf.corrected_baseline.input_index }, replacementInput(factsOfView(leaf)) === BigInt(leaf.corrected_baseline.input_index))} (readings are compared with it until one is
                      attested at or above it)
                    </span>
                  ) : (
                    'the highest attested reading'
                  ),
                ],
                ...(predecessor
                  ? ([
                      [
                        'Earlier units of the vehicle',
                        <div key="u" data-testid="device-earlier-units">
                          {units.loading && !units.data && <span className="muted">asking the rollup node…</span>}
                          {units.error && <span className="error-text">could not ask the rollup node: {units.error}</span>}
                          {earlier.length > 0 && (
                            <ul className="units">
                              {earlier.map((l) => (
                                <li key={l.unit.deviceId} data-device={l.unit.deviceId} data-open={l.unit.openTampers} data-total={l.unit.tamperEvents}>
                                  {capitalized(l.text)}.
                                </li>
                              ))}
                            </ul>
                          )}
                          {earlier.some((l) => l.unit.openTampers > 0) && (
                            <div className="warn-text" data-testid="device-vehicle-flagged">
                              A rollback left open in an earlier unit keeps the vehicle flagged.
                            </div>
                          )}
                          {units.data?.missing && <span className="warn-text">The rollup node does not know the earlier unit {units.data.missing}: the vehicle's record is incomplete here.</span>}
                        </div>,
                      ],
                    ] as [string, ReactNode][])
                  : []),
                ['Ownership era', leaf.era],
                ['Device key', <Hex key="k" value={leaf.public_key} />],
                [
                  'Owner key',
                  <span key="o">
                    <Hex value={leaf.owner ?? undefined} />{' '}
                    {key && leaf.owner === key.publicKey ? (
                      <span className="good-text">(yours)</span>
                    ) : key && key.sequence !== undefined && leaf.ownership_sequence !== null && leaf.ownership_sequence > key.sequence ? (
                      <span className="muted" data-testid="owner-passed-on">(another owner's: the car passed on from this browser's key)</span>
                    ) : key ? (
                      <span className="warn-text">(not this browser's key yet)</span>
                    ) : null}
                  </span>,
                ],
              ]}
            />
          )}
          <p className="muted small">Unproven: for display. The verify page proves the device's leaf against the chain.</p>
        </Card>
        <PendingCard detail={detail} />
      </div>

      <Card title="Odometer history" id="history-heading">
        {!key && (
          <Alert tone="warn" title="The owner key for this device is not in this browser">
            History values are sealed to the owner. Import your keys on <a href={href('/devices')}>My devices</a>, or claim the device again with it at hand.
          </Alert>
        )}
        {history.loading && !history.data && <Loading label="Fetching the history notices, opening them and refolding the accumulator…" />}
        {history.error && (
          <Alert title="Could not read the history" onRetry={history.reload}>
            {history.error}
          </Alert>
        )}
        {history.data && <HistoryView h={history.data} />}
      </Card>

      {key && leaf && leaf.owner === key.publicKey && !leaf.revoked && !leaf.successor && <SellCard deviceId={deviceId} ownerKey={key} ownershipSequence={leaf.ownership_sequence ?? 0} />}

      <CreateCertificate deviceId={deviceId} keys={history.data?.keys} keysPending={!!key && history.loading} />
    </>
  );
}

/** The time now (seconds), every `ms`. */
function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now() / 1000), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/**
 * The owner's release (8.4.1): a one-time transfer code, signed here with the owner key this
 * browser holds, for the binding on record now; the buyer pairs at the car with it.
 */
function SellCard({ deviceId, ownerKey: owner, ownershipSequence }: { deviceId: string; ownerKey: OwnerKey; ownershipSequence: number }) {
  const app = useApp();
  const [hours, setHours] = useState<number>(DEFAULT_RELEASE_HOURS);
  const [made, setMade] = useState<MadeTransferCode>();
  const [error, setError] = useState<string>();
  const [copied, setCopied] = useState<string>();
  const now = useNow(30_000);
  const sell = async () => {
    setError(undefined);
    setCopied(undefined);
    try {
      const backend = await app.backend();
      setMade(makeTransferCode(seedOf(owner), backend.domain, deviceId, BigInt(ownershipSequence), hours));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const copy = async () => {
    if (!made) return;
    try {
      await navigator.clipboard.writeText(made.text);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('This browser did not allow copying: select the code and copy it by hand.');
    }
  };
  const expiresAt = made?.code.release.expiresAt;
  return (
    <Card title="Sell this car" id="sell-heading">
      <p>
        When you sell the car, give the buyer a <strong>transfer code</strong>: your owner key in this browser signs that you release the car. The buyer then pairs with the car
        (pressing its pairing button) and enters the code; the rollup binds their key and you are no longer the owner.
      </p>
      <div className="row">
        <Field label="The code expires after" id="sell-expiry">
          <select id="sell-expiry" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {RELEASE_EXPIRY_CHOICES.map((c) => (
              <option key={c.hours} value={c.hours}>
                {c.label}
              </option>
            ))}
          </select>
        </Field>
        <button type="button" className="button" onClick={() => void sell()}>
          {made ? 'Make a new transfer code' : 'Make a transfer code'}
        </button>
      </div>
      {error && <Alert title="Could not make the transfer code">{error}</Alert>}
      {made && expiresAt !== undefined && (
        <div data-testid="transfer-made" data-device={deviceId} data-expires-at={expiresAt} data-released-sequence={String(made.releasedSequence)}>
          <div className="transfer-made">
            <div>
              <Field label="Transfer code" id="transfer-code">
                <textarea id="transfer-code" className="cert-text transfer-code" rows={4} readOnly value={made.text} data-testid="transfer-code" onFocus={(e) => e.target.select()} />
              </Field>
              <div className="row">
                <button type="button" className="button secondary" onClick={() => void copy()}>
                  Copy the code
                </button>
                {copied && <span className="muted small" role="status">{copied}</span>}
              </div>
              <div className="alert alert-warn" role="note">
                <strong className="alert-title">What this code means</strong>
                <ul>
                  <li>
                    <strong>Whoever holds it and the car becomes the owner.</strong> It names no buyer: hand it only to your buyer, in person or privately, once you are paid.
                  </li>
                  <li>
                    <strong>It works once.</strong> When the buyer pairs with it, the binding it releases ends and the code is worthless; so are other codes you made for it.
                  </li>
                  <li>
                    <strong>It expires</strong> on {formatDate(expiresAt)} ({formatAgo(expiresAt, now)}); after that the rollup refuses it. Until it is used you stay the owner.
                  </li>
                </ul>
              </div>
            </div>
            <QrCode bytes={utf8(made.text)} label={`QR code of the transfer code of device ${deviceId}`} maxPx={300} />
          </div>
        </div>
      )}
    </Card>
  );
}

/**
 * A registrar's ownership recovery (8.4.2), shown while it waits: who it binds, when it takes
 * effect and how long is left; the owner (this browser's key) can object until then.
 */
function RecoveryAlert({
  deviceId,
  recovery,
  ownerKey: owner,
  started,
  onChanged,
}: {
  deviceId: string;
  recovery: { owner: string; effective_at: number };
  ownerKey?: OwnerKey;
  started?: HistoryEvent;
  onChanged: () => void;
}) {
  const app = useApp();
  const now = useNow(1000);
  const [state, setState] = useState<{ tone: 'good' | 'bad' | 'warn'; text: ReactNode }>();
  const [busy, setBusy] = useState(false);
  const registrar = started?.entry.kind === 'recovery_started' ? started.entry.registrar : undefined;
  const object = async () => {
    if (!owner) return;
    setBusy(true);
    setState(undefined);
    try {
      const backend = await app.backend();
      const receipt = await objectToRecovery(deviceId, objectionHex(seedOf(owner), backend.domain, deviceId, recovery.effective_at));
      setState({ tone: 'warn', text: <>Objection sent: the gateway queued it (receipt <Hex value={receipt.envelope_hash} />, {receiptStage(receipt)}). The recovery stops when the rollup processes it.</> });
      const url = await app.inspectUrl();
      for (let i = 0; i < 60; i++) {
        await new Promise((r) => setTimeout(r, 2000));
        const d = await publicDevice(url, deviceId);
        if (!d.leaf?.pending_recovery || d.leaf.pending_recovery.effective_at !== recovery.effective_at) {
          setState({ tone: 'good', text: 'The recovery is stopped: your owner key stays the owner.' });
          onChanged();
          return;
        }
      }
    } catch (e) {
      setState({ tone: 'bad', text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="alert alert-bad" role="alert" data-testid="recovery-pending" data-effective-at={recovery.effective_at} data-owner={recovery.owner}>
      <strong className="alert-title">Ownership recovery pending</strong>
      <div>
        A registrar{registrar ? <> (<Hex value={registrar} />)</> : ''} started an ownership recovery{started ? ` at input ${started.inputIndex}` : ''}: unless the current owner objects, this car
        passes to the owner key <Hex value={recovery.owner} /> on <strong>{formatDate(recovery.effective_at)}</strong> (block time).
      </div>
      <p className="recovery-countdown" data-testid="recovery-countdown">
        {recovery.effective_at > now ? `${countdownText(recovery.effective_at, now)} left to object` : 'The objection period is over: the recovery takes effect with the next input.'}
      </p>
      {owner ? (
        <>
          <p>
            A registrar starts a recovery when someone says they lost the owner key. You hold it in this browser: if you did not ask for this, object now. The recovery then does
            not take effect.
          </p>
          <button type="button" className="button" disabled={busy || recovery.effective_at <= now} onClick={() => void object()}>
            Object
          </button>
        </>
      ) : (
        <p className="small">If you own this car, open this page in the browser that holds its owner key (or import your keys on My devices) and object before then.</p>
      )}
      {state && <Alert tone={state.tone}>{state.text}</Alert>}
    </div>
  );
}

function PendingCard({ detail }: { detail: ReturnType<typeof useAsync<DeviceDetail | undefined>> }) {
  const d = detail.data;
  const counts = d?.submission;
  const notOnChain = counts ? counts.pending + counts.submitted : 0;
  return (
    <Card title="On its way to the rollup (gateway)" id="pending-heading">
      {detail.loading && !d && <Loading />}
      {detail.error && (
        <Alert title="Could not ask the gateway" onRetry={detail.reload}>
          {detail.error}
        </Alert>
      )}
      {!detail.loading && !detail.error && !d && <p className="muted">Log in to see what the gateway holds for this device.</p>}
      {counts && (
        <KeyValues
          items={[
            ['Envelopes accepted', formatInt(counts.accepted)],
            ['Waiting to be sent', formatInt(counts.pending)],
            ['Sent, not yet mined', formatInt(counts.submitted)],
            ['Mined, not yet processed', formatInt(counts.included)],
            ['Attested', formatInt(counts.attested)],
            ['Rejected', formatInt(counts.rejected)],
            ['Last received', formatMs(counts.last_received_at)],
          ]}
        />
      )}
      {d && d.receipts.length === 0 && <p className="muted">The gateway has accepted no envelope of this device yet.</p>}
      {d && d.receipts.length > 0 && (
        <>
          <p className="muted small">
            {notOnChain > 0 ? `${formatInt(notOnChain)} envelope(s) not on chain yet. ` : 'Every envelope is on chain. '}
            The latest {d.receipts.length}, newest first:
          </p>
          <div className="table-wrap">
            <table className="table compact" data-testid="receipts-table">
              <caption className="visually-hidden">The device's latest envelopes at the gateway, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Counter</th>
                  <th scope="col">Status</th>
                  <th scope="col">Received</th>
                  <th scope="col">Transaction</th>
                </tr>
              </thead>
              <tbody>
                {d.receipts.map((r) => (
                  <tr key={r.envelope_hash} data-status={r.status}>
                    <td>{r.counter ?? '—'}</td>
                    <td>{receiptStage(r)}</td>
                    <td>{formatMs(r.received_at)}</td>
                    <td>
                      <Hex value={r.tx_hash ?? undefined} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}

/** The counters whose rollback a registrar's correction cleared. */
function clearedCounters(events: HistoryEvent[]): Set<bigint> {
  const out = new Set<bigint>();
  for (const e of events) if (e.entry.kind === 'corrected' && e.entry.cleared) out.add(e.entry.correction.counter);
  return out;
}

function points(rows: HistoryRow[], cleared: Set<bigint>): OdometerPoint[] {
  const out: OdometerPoint[] = [];
  for (const r of rows) {
    if (r.odometerM === undefined) continue;
    const time = r.reading?.timestamp ?? r.day ?? Number(r.blockTimestamp);
    const when = r.reading ? formatDate(r.reading.timestamp) : r.day !== undefined ? formatDay(r.day) : '';
    const rollback = r.rollbackOf !== null;
    const corrected = rollback && cleared.has(r.counter);
    out.push({
      time,
      km: r.odometerM / 1000,
      kind: corrected ? 'corrected' : rollback ? 'rollback' : 'attested',
      label: `${corrected ? "Rollback cleared by a registrar's correction" : rollback ? 'Tamper event' : 'Attested'}: ${formatKm(r.odometerM)} at ${when} (counter ${r.counter})`,
    });
  }
  return out;
}

function StatusLine({ h }: { h: LoadedHistory }) {
  const r = h.result;
  const a = h.against;
  if (!a || !r) {
    return (
      <Alert tone="warn" title="History not checked">
        There is no leaf to check the notices against{h.proofError ? ` (${h.proofError})` : ''}.
      </Alert>
    );
  }
  const asOf = a.asOf ? ` as of block ${formatInt(a.asOf.block)} (claimed ${formatAgo(a.asOf.claimTime, a.asOf.headTime)})` : '';
  if (r.status === 'complete') {
    return (
      <div className={`alert alert-${a.proven ? 'good' : 'warn'}`} role="status" data-testid="history-status" data-status={a.proven ? 'complete' : 'unproven'}>
        <strong className="alert-title">{a.proven ? 'History complete and unaltered' : 'History matches the node’s leaf (unproven)'}</strong>
        <div>
          {a.proven
            ? `All ${r.count} history notice(s) refold to the accumulator of the device's leaf proven on chain${asOf}.`
            : `All ${r.count} notice(s) refold to the accumulator of the leaf the node states, which nothing proves: pin the trust anchors on the verify page to prove it against the chain.${h.proofError ? ` (Proof failed: ${h.proofError})` : ''}`}
          {h.newer &&
            (h.newer.result.status === 'complete'
              ? ` ${h.newer.count} newer notice(s), not yet claimed, match the node's current leaf (unproven).`
              : ` ${h.newer.count} newer notice(s), not yet claimed, do not match the node's current leaf: ${h.newer.result.reason}.`)}
        </div>
      </div>
    );
  }
  return (
    <div className="alert alert-bad" role="alert" data-testid="history-status" data-status="incomplete">
      <strong className="alert-title">History incomplete or altered</strong>
      <div>
        The notices from {h.noticesFrom} do not refold to the accumulator of the {a.proven ? `leaf proven on chain${asOf}` : "node's leaf"}: {r.reason}.
      </div>
    </div>
  );
}

function HistoryView({ h }: { h: LoadedHistory }) {
  const [showAll, setShowAll] = useState(false);
  const rows = useMemo(() => [...h.opened.rows].reverse(), [h.opened.rows]);
  const visible = showAll ? rows : rows.slice(0, SHOWN);
  const detailEras = new Set(h.keys?.detail.map((k) => k.era) ?? []);
  const odoOnly = rows.filter((r) => r.level === 'odometer').length;
  const cleared = clearedCounters(h.opened.events);
  const corrections = h.opened.events.filter((e): e is HistoryEvent & { entry: { kind: 'corrected' } } => e.entry.kind === 'corrected');
  return (
    <>
      <StatusLine h={h} />
      {h.keysError && <Alert title="Could not get the history keys">{h.keysError}</Alert>}
      <OdometerChart points={points(h.opened.rows, cleared)} title="Odometer over time" />
      <p className="muted small">
        {h.opened.notices} history notice(s) from {h.noticesFrom}, opened in this browser{h.undecodable ? `; ${h.undecodable} could not be decoded` : ''}.{' '}
        {detailEras.size > 0 ? `Whole readings of your era (${[...detailEras].join(', ')}) are checked against their commitments.` : ''}{' '}
        {odoOnly > 0 ? `${odoOnly} reading(s) of earlier owners' eras show their dated odometer only.` : ''} The newest readings may still be on their way: to keep their cost on chain
        low, devices and the gateway send readings in batches, which can take a few days.
      </p>
      <div className="table-wrap">
        <table className="table" data-testid="history-table">
          <caption className="visually-hidden">Readings, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Counter</th>
              <th scope="col">Odometer</th>
              <th scope="col">Time</th>
              <th scope="col">Input</th>
              <th scope="col">Era</th>
              <th scope="col">What is known</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((r) => (
              <tr key={`${r.counter}-${r.inputIndex}`} className={r.rollbackOf !== null && !cleared.has(r.counter) ? 'row-tamper' : undefined} data-level={r.level}>
                <td>{String(r.counter)}</td>
                <td>
                  {r.odometerM !== undefined ? formatKm(r.odometerM) : <span className="muted">sealed</span>}
                  {r.rollbackOf !== null &&
                    (cleared.has(r.counter) ? (
                      <span className="badge badge-pending inline">rollback (below counter {String(r.rollbackOf)}), cleared by a registrar's correction</span>
                    ) : (
                      <span className="badge badge-tamper inline">
                        <span aria-hidden="true">!</span> tamper (below counter {String(r.rollbackOf)})
                      </span>
                    ))}
                </td>
                <td>{r.reading ? formatDate(r.reading.timestamp) : r.day !== undefined ? formatDay(r.day) : formatDate(Number(r.blockTimestamp))}</td>
                <td>{String(r.inputIndex)}</td>
                <td>{r.era}</td>
                <td className="small">
                  {r.level === 'detail'
                    ? 'whole reading, matches its commitment'
                    : r.level === 'odometer'
                      ? detailEras.has(r.era)
                        ? `dated odometer (the detail did not open: ${r.error ?? 'unknown'})`
                        : "dated odometer (an earlier owner's era)"
                      : r.error
                        ? `did not open: ${r.error}`
                        : 'sealed (no key for this era)'}
                  {r.unchecked ? '; newer than the checked leaf' : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length > SHOWN && (
        <button type="button" className="button secondary" onClick={() => setShowAll((s) => !s)}>
          {showAll ? `Show the latest ${SHOWN}` : `Show all ${rows.length} readings`}
        </button>
      )}
      {corrections.length > 0 && (
        <section aria-labelledby="corrections-heading">
          <h3 id="corrections-heading">Corrections by a registrar ({corrections.length})</h3>
          <p className="muted small">Each is public and signed; the original readings stay on record. A correction clears only the rollback it names and moves the baseline only when it says so.</p>
          <ul data-testid="history-corrections">
            {corrections.map((e, i) => (
              <li key={i} data-counter={String(e.entry.correction.counter)} data-cleared={String(e.entry.cleared)}>
                {correctionText(e.entry.correction, e.entry.cleared, e.inputIndex)} <span className="muted small">({formatDate(Number(e.blockTimestamp))})</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {h.opened.events.length > 0 && (
        <details className="events">
          <summary>Other events ({h.opened.events.length})</summary>
          <ul>
            {h.opened.events.map((e, i) => (
              <li key={i}>
                <strong>{eventTitle(e.entry)}</strong> at input {String(e.inputIndex)}, {formatDate(Number(e.blockTimestamp))}
                {e.entry.kind === 'corrected' ? `: ${correctionText(e.entry.correction, e.entry.cleared)}` : ''}
                {e.entry.kind === 'revoked' || e.entry.kind === 'reinstated' ? `: ${e.entry.reason}` : ''}
                {ownershipEventText(e.entry) !== undefined ? `: ${ownershipEventText(e.entry)}` : ''}
                {e.entry.kind === 'replaced_by' ? `: a workshop replaced this unit with unit ${e.entry.newDevice}, which carries the vehicle's record on` : ''}
                {e.entry.kind === 'replaces' ? `: this unit replaced unit ${e.entry.oldDevice}, counting on from ${formatKm(Number(e.entry.baselineM))} (the kilometres on record)` : ''}
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}
