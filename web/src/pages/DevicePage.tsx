import { useEffect, useMemo, useState } from 'react';
import { useApp, useAsync } from '../lib/app';
import { deviceDetail, receipt, type Receipt } from '../lib/gateway';
import { ownerRelay } from '../lib/relay';
import { badgeFor, publicDevice } from '../lib/devices';
import { ownerKey, seedOf } from '../lib/keys';
import { fetchOwnerHistory, readingsOf, type HistoryEntry } from '../lib/history';
import { proveAttestation, type ProofResult } from '../lib/verify';
import { applicationOf, proofIO } from '../lib/proofs';
import { mapLimit } from '../lib/http';
import { formatDate, formatKm, formatMs } from '../lib/format';
import { href } from '../lib/router';
import { OdometerChart, type OdometerPoint } from '../components/charts';
import { Alert, Card, Hex, KeyValues, Loading, PageTitle, StatusBadge } from '../components/ui';


const SHOWN = 50;
const AUTO_PROOFS = 8;

type ProofCell = { state: 'checking' } | { state: 'done'; result: ProofResult };

export function DevicePage({ deviceId }: { deviceId: string }) {
  const app = useApp();
  const key = ownerKey(deviceId);

  const pub = useAsync(async () => publicDevice(await app.inspectUrl(), deviceId), [deviceId, app.inspectUrl]);
  const detail = useAsync(async () => (app.user ? deviceDetail(deviceId) : undefined), [deviceId, app.user]);
  const pubSettled = !!pub.data || !!pub.error;
  const history = useAsync(async () => {
    if (!key) return undefined;
    // Wait for the public status: its last block time bounds the query's expiry from below.
    if (!pubSettled) return new Promise<never>(() => {});
    const backend = await app.backend();
    return fetchOwnerHistory({
      deviceId,
      ownerSeed: seedOf(key),
      backendKey: backend.backendPublicKey,
      relay: ownerRelay(deviceId, app.inspectUrl),
      chainTime: pub.data?.last_attested?.block_timestamp,
    });
  }, [deviceId, app.backend, pubSettled, pub.data?.owner]);

  const badge = pub.data ? badgeFor(pub.data, key?.publicKey) : undefined;
  const model = pub.data?.model;
  const modelName = useAsync(async () => (model === undefined ? undefined : (await app.backend()).models.get(model)), [model, app.backend]);

  return (
    <>
      <PageTitle sub={<>Device <Hex value={deviceId} keep={16} /></>}>
        {modelName.data ?? (model !== undefined ? `Model ${model}` : 'Device')}{' '}
        {badge && <StatusBadge kind={badge.kind} title={badge.why} />}
      </PageTitle>
      <p>
        <a href={href('/devices')}>← My devices</a> · <a href={href(`/verify?device=${deviceId}`)}>Verify this device now</a>
      </p>

      <div className="grid-2">
        <Card title="On the rollup (public)" id="public-heading">
          {pub.loading && !pub.data && <Loading label="Asking the rollup node…" />}
          {pub.error && (
            <Alert title="Could not ask the rollup node" onRetry={pub.reload}>
              {pub.error}
            </Alert>
          )}
          {pub.data && !pub.data.exists && <Alert tone="warn">The rollup does not know this device.</Alert>}
          {pub.data?.exists && (
            <KeyValues
              items={[
                ['Status', badge ? <>{badge.why}</> : '—'],
                ['Tamper events', String(pub.data.tamper_events ?? 0)],
                ['Attested readings', String(pub.data.readings ?? 0)],
                ['Last counter', pub.data.last_counter ?? '—'],
                [
                  'Last attested',
                  pub.data.last_attested ? `counter ${pub.data.last_attested.counter}, input ${pub.data.last_attested.input_index}, ${formatDate(pub.data.last_attested.block_timestamp)}` : '—',
                ],
                ['Device key', <Hex key="k" value={pub.data.public_key} />],
                [
                  'Owner key',
                  <span key="o">
                    <Hex value={pub.data.owner ?? undefined} />{' '}
                    {key && pub.data.owner === key.publicKey ? <span className="good-text">(yours)</span> : key ? <span className="warn-text">(not this browser's key yet)</span> : null}
                  </span>,
                ],
              ]}
            />
          )}
        </Card>
        <PendingCard detail={detail} />
      </div>

      <Card title="Odometer history" id="history-heading">
        {!key && (
          <Alert tone="warn" title="The owner key for this device is not in this browser">
            History is sealed to the owner. Import your keys on <a href={href('/devices')}>My devices</a>, or claim the device again with it at hand.
          </Alert>
        )}
        {key && history.loading && !history.data && <Loading label="Fetching and decrypting the history…" />}
        {key && history.error && (
          <Alert title="Could not read the history" onRetry={history.reload}>
            {history.error}
          </Alert>
        )}
        {history.data && <HistoryView deviceId={deviceId} entries={history.data.entries} total={history.data.total} receipts={detail.data?.receipts ?? detail.data?.pending ?? []} />}
      </Card>
    </>
  );
}

function PendingCard({ detail }: { detail: ReturnType<typeof useAsync<Awaited<ReturnType<typeof deviceDetail>> | undefined>> }) {
  const d = detail.data;
  const counts = d?.submissions;
  const pending = (d?.pending ?? d?.receipts ?? []).filter((r) => r.status !== 'attested' && r.status !== 'rejected');
  return (
    <Card title="Pending submissions (gateway)" id="pending-heading">
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
            ['Waiting to be sent', counts.pending ?? 0],
            ['Sent, not yet mined', counts.submitted ?? 0],
            ['Mined, not yet processed', counts.included ?? 0],
            ['Attested', counts.attested ?? 0],
            ['Rejected', counts.rejected ?? 0],
            ['Last received', formatMs(counts.last_received_at)],
          ]}
        />
      )}
      {d && pending.length === 0 && !counts && <p className="muted">Nothing pending.</p>}
      {pending.length > 0 && (
        <div className="table-wrap">
          <table className="table compact">
            <caption className="visually-hidden">Submissions not yet attested</caption>
            <thead>
              <tr>
                <th scope="col">Counter</th>
                <th scope="col">Status</th>
                <th scope="col">Received</th>
                <th scope="col">Transaction</th>
              </tr>
            </thead>
            <tbody>
              {pending.slice(0, 20).map((r) => (
                <tr key={r.envelope_hash}>
                  <td>{r.counter ?? '—'}</td>
                  <td>{r.status}</td>
                  <td>{formatMs(r.received_at)}</td>
                  <td>
                    <Hex value={r.tx_hash} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function points(entries: HistoryEntry[]): OdometerPoint[] {
  const out: OdometerPoint[] = [];
  for (const e of entries) {
    if ((e.event === 'reading' || e.event === 'rollback') && e.reading) {
      out.push({
        time: e.reading.timestamp,
        km: e.reading.odometer_m / 1000,
        kind: e.event === 'rollback' ? 'rollback' : 'attested',
        label: `${e.event === 'rollback' ? 'Tamper event' : 'Attested'}: ${formatKm(e.reading.odometer_m)} at ${formatDate(e.reading.timestamp)} (counter ${e.counter})`,
      });
    } else if (e.event === 'corrected' && typeof e.odometer_m === 'number') {
      out.push({ time: e.block_timestamp, km: e.odometer_m / 1000, kind: 'corrected', label: `Correction of counter ${e.counter} to ${formatKm(e.odometer_m)}: ${e.reason ?? ''}` });
    }
  }
  return out;
}

function HistoryView({ deviceId, entries, total, receipts }: { deviceId: string; entries: HistoryEntry[]; total: number; receipts: Receipt[] }) {
  const app = useApp();
  const [showAll, setShowAll] = useState(false);
  const [proofs, setProofs] = useState<Record<number, ProofCell>>({});
  const [txs, setTxs] = useState<Record<string, string | null>>({});
  const readings = useMemo(() => readingsOf(entries), [entries]);
  const others = entries.filter((e) => e.event !== 'reading' && e.event !== 'rollback');
  const rows = useMemo(() => [...readings].reverse(), [readings]);
  const visible = showAll ? rows : rows.slice(0, SHOWN);

  // Transaction hashes from the gateway's receipts (by envelope hash).
  useEffect(() => {
    let live = true;
    const known: Record<string, string | null> = {};
    for (const r of receipts) if (r.envelope_hash && r.tx_hash) known[r.envelope_hash] = r.tx_hash;
    setTxs((t) => ({ ...known, ...t }));
    if (!app.user) return;
    const wanted = rows
      .slice(0, 20)
      .map((e) => e.envelope_hash)
      .filter((h): h is string => !!h && !(h in known));
    void mapLimit([...new Set(wanted)], 4, async (h) => {
      try {
        const r = await receipt(h);
        if (live) setTxs((t) => ({ ...t, [h]: r.tx_hash ?? null }));
      } catch {
        if (live) setTxs((t) => ({ ...t, [h]: null }));
      }
    });
    return () => {
      live = false;
    };
  }, [rows, receipts, app.user]);

  const check = async (e: HistoryEntry) => {
    if (e.notice_index === null || e.counter === undefined || !e.reading || !app.endpoints) return;
    const idx = e.counter;
    setProofs((p) => ({ ...p, [idx]: { state: 'checking' } }));
    try {
      const url = await app.inspectUrl();
      const result = await proveAttestation(proofIO(app.endpoints, applicationOf(app.endpoints, url)), deviceId, {
        counter: e.counter,
        reading: e.reading,
        commitment: e.commitment ?? '',
        input_index: e.input_index,
        block_timestamp: e.block_timestamp,
        notice_index: e.notice_index,
      });
      setProofs((p) => ({ ...p, [idx]: { state: 'done', result } }));
    } catch (err) {
      setProofs((p) => ({ ...p, [idx]: { state: 'done', result: { status: 'failed', reason: (err as Error).message } } }));
    }
  };

  // Check the proofs of the most recent attested readings automatically.
  useEffect(() => {
    const recent = rows.filter((e) => e.event === 'reading' && e.notice_index !== null).slice(0, AUTO_PROOFS);
    void mapLimit(recent, 3, (e) => check(e));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows]);

  return (
    <>
      <OdometerChart points={points(entries)} title="Odometer over time" />
      <p className="muted small">
        {readings.length} reading(s) decrypted in this browser{total > entries.length ? ` (the latest ${entries.length} of ${total} history entries)` : ''}. The newest
        readings may still be on their way: to keep their cost on chain low, devices and the gateway send readings in batches, which can take a few days.
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
              <th scope="col">Transaction</th>
              <th scope="col">Proof on chain</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((e) => {
              const cell = e.counter !== undefined ? proofs[e.counter] : undefined;
              const tx = e.envelope_hash ? txs[e.envelope_hash] : undefined;
              return (
                <tr key={`${e.counter}-${e.input_index}`} className={e.event === 'rollback' ? 'row-tamper' : undefined}>
                  <td>{e.counter}</td>
                  <td>
                    {formatKm(e.reading?.odometer_m)}
                    {e.event === 'rollback' && (
                      <span className="badge badge-tamper inline">
                        <span aria-hidden="true">!</span> tamper{e.reference_counter != null ? ` (below counter ${e.reference_counter})` : ''}
                      </span>
                    )}
                  </td>
                  <td>{formatDate(e.reading?.timestamp)}</td>
                  <td>{e.input_index}</td>
                  <td>{tx ? <Hex value={tx} /> : <span className="muted">{tx === null ? 'not known' : '—'}</span>}</td>
                  <td>
                    <ProofStatusCell entry={e} cell={cell} onCheck={() => check(e)} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {rows.length > SHOWN && (
        <button type="button" className="button secondary" onClick={() => setShowAll((s) => !s)}>
          {showAll ? `Show the latest ${SHOWN}` : `Show all ${rows.length} readings`}
        </button>
      )}
      {others.length > 0 && (
        <details className="events">
          <summary>Other events ({others.length})</summary>
          <ul>
            {others.map((e, i) => (
              <li key={i}>
                <strong>{e.event.replace(/_/g, ' ')}</strong> at input {e.input_index}, {formatDate(e.block_timestamp)}
                {e.reason ? `: ${e.reason}` : ''}
                {e.event === 'corrected' && typeof e.odometer_m === 'number' ? ` (counter ${e.counter} → ${formatKm(e.odometer_m)})` : ''}
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

function ProofStatusCell({ entry, cell, onCheck }: { entry: HistoryEntry; cell?: ProofCell; onCheck: () => void }) {
  if (entry.event === 'rollback') return <span className="muted">tamper notice</span>;
  if (entry.notice_index === null) return <span className="muted">no notice</span>;
  if (!cell)
    return (
      <button type="button" className="button small secondary" onClick={onCheck} aria-label={`Check the proof of counter ${entry.counter}`}>
        Check
      </button>
    );
  if (cell.state === 'checking') return <span className="muted">checking…</span>;
  const r = cell.result;
  const text = r.status === 'proven' ? '✓ proven' : r.status === 'pending_claim' ? '… awaiting claim' : '✗ not proven';
  return (
    <span className={r.status === 'proven' ? 'good-text' : r.status === 'pending_claim' ? 'muted' : 'error-text'} title={r.reason}>
      {text}
      <span className="visually-hidden">: {r.reason}</span>
    </span>
  );
}
