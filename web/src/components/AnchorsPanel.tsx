import { useState, type ChangeEvent, type FormEvent } from 'react';
import { pinLinkOutcome, useApp } from '../lib/app';
import { clearAnchors, parsePinJson, saveAnchors, SOURCE_WORDS } from '../lib/anchors';
import { loadOverrides, saveOverrides } from '../lib/config';
import { formatMs } from '../lib/format';
import { Alert, Field, Hex, KeyValues } from './ui';

/**
 * The trust anchors (PROTOCOL.md 17.1): each shown with where it came from; pinned from an
 * anchors file or typed here (or from a pin link, see app.tsx). A gateway that advertises
 * other values is named plainly, and its values are not used.
 */
export function AnchorsPanel() {
  const { config, reloadConfig } = useApp();
  const [typing, setTyping] = useState(false);
  const [draft, setDraft] = useState({ chain_id: '', application: '', consensus: '' });
  const [error, setError] = useState<string>();
  if (!config) return null;
  const pinned = config.anchors;

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    setError(undefined);
    const file = e.target.files?.[0];
    if (!file) return;
    try {
      const { anchors, endpoints, backendPublicKey } = parsePinJson(JSON.parse(await file.text()));
      saveAnchors(anchors, 'file', file.name, backendPublicKey);
      const overrides = { ...loadOverrides() };
      if (endpoints.chainRpcUrl) overrides.chainRpcUrl = endpoints.chainRpcUrl;
      if (endpoints.nodeRpcUrl) overrides.nodeRpcUrl = endpoints.nodeRpcUrl;
      if (endpoints.nodeInspectUrl) overrides.nodeInspectUrl = endpoints.nodeInspectUrl;
      saveOverrides(overrides);
      reloadConfig();
    } catch (err) {
      setError(`${file.name}: ${(err as Error).message}`);
    }
    e.target.value = '';
  };

  const onTyped = (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const { anchors } = parsePinJson(draft);
      saveAnchors(anchors, 'typed');
      setTyping(false);
      reloadConfig();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const source = pinned ? `${SOURCE_WORDS[pinned.source]}${pinned.origin ? ` (${pinned.origin})` : ''}, ${formatMs(pinned.pinnedAt)}` : '';

  return (
    <section className="card anchors" aria-labelledby="anchors-heading" data-testid="anchors" data-pinned={pinned ? pinned.source : 'none'}>
      <div className="card-head">
        <h2 id="anchors-heading">Trust anchors</h2>
      </div>
      {pinLinkOutcome.error && <Alert title="Pin link refused">{pinLinkOutcome.error}</Alert>}
      {pinned ? (
        <KeyValues
          items={[
            ['Chain id', <span key="c" data-testid="anchor-chain-id">{pinned.anchors.chainId} <span className="muted">— from {source}</span></span>],
            ['Application', <span key="a" data-testid="anchor-application"><code className="hex">{pinned.anchors.application}</code> <span className="muted">— from {source}</span></span>],
            ['Consensus', <span key="k" data-testid="anchor-consensus"><code className="hex">{pinned.anchors.consensus}</code> <span className="muted">— from {source}</span></span>],
            [
              'Backend key',
              pinned.backendPublicKey ? (
                <span key="b"><Hex value={pinned.backendPublicKey} /> <span className="muted">— from {source}</span></span>
              ) : (
                <span key="b" className="muted">not pinned: the node's word is used (a wrong key only makes the device's signature fail)</span>
              ),
            ],
          ]}
        />
      ) : (
        <Alert tone="warn" title="No trust anchors pinned">
          Without them this page cannot say more than “cannot confirm”: it would not know which chain, application and consensus to trust. Pin them
          from a source you trust: open the link <code>witness up</code> printed (it ends in <code>#pin=…</code>), open its anchors file
          (<code>.witness/anchors.json</code>), or type them below. They are never taken from the gateway.
        </Alert>
      )}
      {config.conflicts.length > 0 && (
        <div className="alert alert-bad" role="alert" data-testid="anchor-conflict">
          <strong className="alert-title">The gateway advertises other anchors: refused</strong>
          <ul>
            {config.conflicts.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
          <div>This page uses only your pinned values; nothing the gateway advertises about the chain or the application is used.</div>
        </div>
      )}
      {!pinned && (config.advertised.application || config.advertised.chainId !== undefined) && (
        <p className="muted small">
          The gateway suggests chain {config.advertised.chainId ?? '—'} and application <code>{config.advertised.application ?? '—'}</code>; as a gateway's word
          these are not used for verifying.
        </p>
      )}
      <div className="row">
        <label className="button secondary small file-button">
          Open an anchors file
          <input type="file" accept="application/json,.json" onChange={onFile} className="visually-hidden" aria-label="Open an anchors file" />
        </label>
        <button type="button" className="button secondary small" onClick={() => setTyping((t) => !t)} aria-expanded={typing}>
          Type the anchors
        </button>
        {pinned && (
          <button
            type="button"
            className="button secondary small"
            onClick={() => {
              clearAnchors();
              reloadConfig();
            }}
          >
            Forget the anchors
          </button>
        )}
      </div>
      {typing && (
        <form onSubmit={onTyped} aria-label="Type the trust anchors">
          <Field label="Chain id" id="anchor-chain" hint="e.g. 31337 for a local anvil">
            <input id="anchor-chain" value={draft.chain_id} onChange={(e) => setDraft((d) => ({ ...d, chain_id: e.target.value }))} inputMode="numeric" spellCheck={false} />
          </Field>
          <Field label="Application address" id="anchor-app" hint="0x… (20 bytes)">
            <input id="anchor-app" value={draft.application} onChange={(e) => setDraft((d) => ({ ...d, application: e.target.value }))} spellCheck={false} />
          </Field>
          <Field label="Consensus address" id="anchor-consensus-input" hint="0x… the application's Authority or Quorum">
            <input id="anchor-consensus-input" value={draft.consensus} onChange={(e) => setDraft((d) => ({ ...d, consensus: e.target.value }))} spellCheck={false} />
          </Field>
          <button type="submit" className="button small">
            Pin these anchors
          </button>
        </form>
      )}
      {error && <Alert title="Could not pin the anchors">{error}</Alert>}
    </section>
  );
}
