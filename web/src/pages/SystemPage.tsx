import { useApp, useAsync } from '../lib/app';
import { gatewaySystem } from '../lib/gateway';
import { decodeJsonHex, getApplication, recentReports } from '../lib/node';
import { rejectionText } from '../lib/verify';
import { parseQuantity } from '../lib/hex';
import { formatAgo, formatBatching, formatDate, formatInt, formatMs } from '../lib/format';
import { Alert, Card, Hex, KeyValues, Loading, PageTitle } from '../components/ui';
import { EndpointsPanel } from '../components/EndpointsPanel';
import type { ReactNode } from 'react';
import type { Report } from '../lib/api';

interface Rejection {
  source: string;
  input_index?: number;
  device_id?: string;
  counter?: number;
  reason: string;
  detail?: string;
}

export function SystemPage() {
  const app = useApp();
  const endpoints = app.endpoints;

  const chain = useAsync(async () => {
    if (!endpoints) throw new Error('Loading…');
    const { chainHead } = await import('../lib/chain');
    return chainHead(endpoints.chainRpcUrl);
  }, [endpoints]);

  const node = useAsync(async () => {
    if (!endpoints) throw new Error('Loading…');
    const application = await getApplication(endpoints.nodeRpcUrl, endpoints.application || undefined);
    const processed = parseQuantity(application.processed_inputs);
    let onChain: bigint | undefined;
    if (application.iinputbox_address && application.iapplication_address) {
      try {
        const { inputsOnChain } = await import('../lib/chain');
        onChain = await inputsOnChain(endpoints.chainRpcUrl, application.iinputbox_address, application.iapplication_address);
      } catch {
        onChain = undefined;
      }
    }
    const reports = await recentReports(endpoints.nodeRpcUrl, application.iapplication_address ?? endpoints.application, 200);
    const rejections: Rejection[] = [];
    for (const r of reports.reports) {
      const j = decodeJsonHex(r.raw_data) as Report | undefined;
      if (j?.type === 'input_refused') {
        rejections.push({ source: 'rollup: whole input', input_index: j.input_index, reason: j.reason, detail: j.detail });
      } else if (j?.type === 'message_rejected') {
        rejections.push({ source: 'rollup: message', input_index: j.input_index, device_id: j.device_id, counter: j.counter, reason: j.reason });
      }
    }
    return { application, processed, onChain, rejections: rejections.reverse() };
  }, [endpoints]);

  // The gateway's own figures are for registrars and admins; owners and visitors see the rest.
  const mayAskGateway = !!app.user && app.user.role !== 'owner';
  const gateway = useAsync(async () => (mayAskGateway ? gatewaySystem() : undefined), [mayAskGateway]);

  const g = gateway.data;
  const gwRejections: Rejection[] = (g?.recent_rejections ?? []).map((r) => ({
    source: `gateway: ${r.kind}`,
    input_index: r.input_index ?? undefined,
    device_id: r.device_id ?? undefined,
    counter: r.counter ?? undefined,
    reason: r.reason,
  }));
  const lag = node.data?.onChain !== undefined && node.data.processed !== undefined ? Number(node.data.onChain) - node.data.processed : undefined;

  const reload = () => {
    chain.reload();
    node.reload();
    gateway.reload();
  };

  return (
    <>
      <PageTitle sub="Each figure is read from its own source: the chain, the rollup node and the gateway.">System</PageTitle>
      <div className="row">
        <button type="button" className="button secondary" onClick={reload}>
          Refresh
        </button>
      </div>
      <EndpointsPanel />
      <div className="grid-3">
        <Card title="Chain" id="chain-heading">
          {chain.loading && !chain.data && <Loading />}
          {chain.error && <Alert title="Could not ask the chain">{chain.error}</Alert>}
          {chain.data && (
            <KeyValues
              items={[
                ['Head block', formatInt(Number(chain.data.number))],
                ['Head time', `${formatDate(Number(chain.data.timestamp))} (${formatAgo(Number(chain.data.timestamp))})`],
                ['Chain id', chain.data.chainId],
              ]}
            />
          )}
        </Card>
        <Card title="Rollup node" id="node-heading">
          {node.loading && !node.data && <Loading />}
          {node.error && <Alert title="Could not ask the rollup node">{node.error}</Alert>}
          {node.data && (
            <KeyValues
              items={[
                ['Application', <Hex key="a" value={node.data.application.iapplication_address} />],
                ['State', node.data.application.state ?? '—'],
                ...(node.data.application.reason ? ([['Reason', node.data.application.reason]] as [ReactNode, ReactNode][]) : []),
                ['Inputs processed', formatInt(node.data.processed)],
                ['Inputs on chain', node.data.onChain !== undefined ? formatInt(Number(node.data.onChain)) : '—'],
                ['Lag', lag !== undefined ? <span className={lag > 0 ? 'warn-text' : 'good-text'}>{lag} input(s) behind</span> : '—'],
                ['Epoch length', `${formatInt(parseQuantity(node.data.application.epoch_length))} blocks`],
              ]}
            />
          )}
        </Card>
        <Card title="Gateway" id="gateway-heading">
          {gateway.loading && !g && <Loading />}
          {gateway.error && <Alert title="Could not ask the gateway">{gateway.error}</Alert>}
          {g && (
            <KeyValues
              items={[
                ['Waiting to be sent', formatInt(g.queue.pending_messages)],
                ['Sent, not yet mined', formatInt(g.queue.submitted_messages)],
                ['In mined inputs', formatInt(g.queue.included_messages)],
                ['Rejected by the rollup', formatInt(g.queue.rejected_messages)],
                ['Oldest not yet mined', formatMs(g.queue.oldest_unincluded_at)],
                ['Inputs mined', formatInt(g.queue.inputs_included)],
                ['Gas used', formatInt(g.queue.gas_used_total)],
                ['Chain head (its view)', g.chain_head != null ? formatInt(g.chain_head) : 'unreachable'],
                ['Node processed (its view)', g.node_processed_inputs != null ? formatInt(g.node_processed_inputs) : 'unreachable'],
                ['Submitter', g.submitter_enabled ? 'on' : 'off'],
                ['Batching', formatBatching(g.batching)],
                ['Account', <Hex key="g" keep={4} value={g.gateway_address ?? undefined} />],
                ['Database', g.database],
              ]}
            />
          )}
          {!mayAskGateway && (
            <p className="muted">
              The gateway's queue figures are shown to registrar and admin accounts{app.user ? '' : ' (log in)'}. The chain and rollup figures here come from their own sources.
            </p>
          )}
        </Card>
      </div>
      <Card title="Recent rejections" id="rejections-heading">
        {(node.loading || gateway.loading) && <Loading />}
        {node.error && <p className="muted">The rollup's rejections are unavailable while its node cannot be reached.</p>}
        {!node.loading && !gateway.loading && node.data && gwRejections.length + node.data.rejections.length === 0 && <p className="muted">No rejections recorded.</p>}
        {gwRejections.length + (node.data?.rejections.length ?? 0) > 0 && (
          <div className="table-wrap">
            <table className="table" data-testid="rejections-table">
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Input</th>
                  <th scope="col">Device</th>
                  <th scope="col">Counter</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {[...gwRejections, ...(node.data?.rejections ?? [])].slice(0, 100).map((r, i) => (
                  <tr key={i}>
                    <td>{r.source}</td>
                    <td>{r.input_index ?? '—'}</td>
                    <td>
                      <Hex value={r.device_id} />
                    </td>
                    <td>{r.counter ?? '—'}</td>
                    <td>
                      <code>{r.reason}</code>
                      {rejectionText(r.reason) ? <div className="small">{rejectionText(r.reason)}</div> : null}
                      {r.detail ? <div className="small muted">{r.detail}</div> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
