import { useEffect, useState, type FormEvent } from 'react';
import { useApp } from '../lib/app';
import { loadOverrides, saveOverrides, type Endpoints } from '../lib/config';
import { Alert, Field } from './ui';

const FIELDS: [keyof Endpoints, string, string][] = [
  ['nodeInspectUrl', 'Rollup node: inspect', 'e.g. http://127.0.0.1:10012/inspect (the application is appended)'],
  ['nodeRpcUrl', 'Rollup node: JSON-RPC', 'e.g. http://127.0.0.1:10011/rpc'],
  ['chainRpcUrl', 'Chain: Ethereum JSON-RPC', 'e.g. http://127.0.0.1:8545'],
  ['application', 'Application contract', '0x… (asked from the node when empty; pinned trust anchors take precedence)'],
  ['localLinkUrl', 'Device local link', 'e.g. http://127.0.0.1:9700'],
];

/** Shows where verdicts and proofs come from, and lets the person choose their own sources. */
export function EndpointsPanel() {
  const { config, reloadConfig } = useApp();
  const [draft, setDraft] = useState<Partial<Endpoints>>({});
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (config) setDraft({ ...config.endpoints });
  }, [config]);

  if (!config) return null;

  const save = (e: FormEvent) => {
    e.preventDefault();
    const overrides: Partial<Endpoints> = { ...loadOverrides() };
    for (const [k] of FIELDS) {
      const v = (draft[k] as string | undefined)?.trim();
      if (v && v !== config.endpoints[k]) (overrides as Record<string, string>)[k] = v;
    }
    saveOverrides(overrides);
    setSaved(true);
    reloadConfig();
  };

  const reset = () => {
    saveOverrides({});
    setSaved(false);
    reloadConfig();
  };

  return (
    <details className="endpoints">
      <summary>
        Sources: node <code>{config.endpoints.nodeInspectUrl}</code>, chain <code>{config.endpoints.chainRpcUrl}</code>
        {config.overridden.length > 0 ? ' (your settings)' : config.gatewayError ? ' (defaults)' : ' (suggested by the gateway)'}
      </summary>
      {config.gatewayError && (
        <Alert tone="warn" title="The gateway's suggestions are unavailable">
          {config.gatewayError} Using defaults; adjust them below if needed.
        </Alert>
      )}
      <form onSubmit={save}>
        {FIELDS.map(([k, label, hint]) => (
          <Field key={k} label={label} id={`ep-${k}`} hint={hint}>
            <input
              id={`ep-${k}`}
              value={(draft[k] as string | undefined) ?? ''}
              onChange={(e) => {
                setSaved(false);
                setDraft((d) => ({ ...d, [k]: e.target.value }));
              }}
              aria-describedby={`ep-${k}-hint`}
              spellCheck={false}
            />
          </Field>
        ))}
        <div className="row">
          <button type="submit" className="button secondary">
            Save sources
          </button>
          <button type="button" className="button secondary" onClick={reset}>
            Use the gateway's suggestions
          </button>
        </div>
        {saved && <p role="status">Saved in this browser.</p>}
      </form>
    </details>
  );
}
