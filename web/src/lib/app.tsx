/** App-wide state: endpoints, the signed-in user, and the backend's own configuration read from the node. */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { inspectUrlFor, loadConfig, type Endpoints, type LoadedConfig } from './config';
import { currentUser, type User } from './gateway';
import { expectAnswer, inspect, getApplication } from './node';
import { decodePin, pinFromHash, saveAnchors } from './anchors';
import { saveOverrides, loadOverrides } from './config';
import { fromHex } from './hex';
import { chainId } from './l1';
import { domainBytes } from './protocol';

export interface BackendConfig {
  backendPublicKey: Uint8Array;
  backendPublicKeyHex: string;
  /** The deployment signatures are bound to: chain id, application, backend key (`domainBytes`). */
  domain: Uint8Array;
  kAnonymity?: number;
  models: Map<number, string>;
  proofFreshnessS?: number;
}

interface AppState {
  config?: LoadedConfig;
  endpoints: Endpoints | undefined;
  reloadConfig: () => void;
  user: User | null | undefined;
  userError?: string;
  setUser: (u: User | null) => void;
  refreshUser: () => void;
  /** The backend's configuration from the node (never from the gateway). */
  backend: () => Promise<BackendConfig>;
  inspectUrl: () => Promise<string>;
}

const Ctx = createContext<AppState | null>(null);

/** The outcome of the last pin link this page opened (shown on the verify page). */
export const pinLinkOutcome: { error?: string; at?: number } = {};

/**
 * A link `…/#pin=<base64url JSON>` pins the trust anchors it carries (the person chose to
 * follow it); the endpoints it names become this browser's settings. The hash is then
 * replaced by the verify page's route, so a reload does not pin again.
 */
export function acceptPinLink(): boolean {
  const hash = globalThis.location?.hash ?? '';
  const value = pinFromHash(hash);
  if (!value) return false;
  try {
    const { anchors, endpoints, backendPublicKey } = decodePin(value);
    saveAnchors(anchors, 'link', undefined, backendPublicKey);
    const overrides = { ...loadOverrides() };
    if (endpoints.chainRpcUrl) overrides.chainRpcUrl = endpoints.chainRpcUrl;
    if (endpoints.nodeRpcUrl) overrides.nodeRpcUrl = endpoints.nodeRpcUrl;
    if (endpoints.nodeInspectUrl) overrides.nodeInspectUrl = endpoints.nodeInspectUrl;
    saveOverrides(overrides);
    pinLinkOutcome.error = undefined;
  } catch (e) {
    pinLinkOutcome.error = `The pin link could not be used: ${(e as Error).message}.`;
  }
  pinLinkOutcome.at = Date.now();
  globalThis.history?.replaceState(null, '', `${globalThis.location.pathname}${globalThis.location.search}#/verify`);
  globalThis.dispatchEvent?.(new HashChangeEvent('hashchange'));
  return true;
}

export function AppProvider({ children }: { children: ReactNode }) {
  const [config, setConfig] = useState<LoadedConfig>();
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [userError, setUserError] = useState<string>();
  const [configNonce, setConfigNonce] = useState(0);
  const [userNonce, setUserNonce] = useState(0);

  // A pin link opened while the dashboard is open.
  useEffect(() => {
    const on = () => {
      if (acceptPinLink()) setConfigNonce((n) => n + 1);
    };
    globalThis.addEventListener('hashchange', on);
    return () => globalThis.removeEventListener('hashchange', on);
  }, []);

  useEffect(() => {
    let live = true;
    loadConfig().then((c) => live && setConfig(c));
    return () => {
      live = false;
    };
  }, [configNonce]);

  useEffect(() => {
    let live = true;
    currentUser()
      .then((u) => {
        if (!live) return;
        setUser(u);
        setUserError(undefined);
      })
      .catch((e: Error) => {
        if (!live) return;
        setUser(null);
        setUserError(e.message);
      });
    return () => {
      live = false;
    };
  }, [userNonce]);

  // Resolved lazily and cached per endpoint set.
  const cache = useMemo(() => ({ backend: undefined as Promise<BackendConfig> | undefined, app: undefined as Promise<string> | undefined }), [config]);

  const application = useCallback(async (): Promise<string> => {
    if (!config) throw new Error('Still loading the configuration.');
    if (config.endpoints.application) return config.endpoints.application;
    cache.app ??= getApplication(config.endpoints.nodeRpcUrl).then((a) => {
      if (!a.iapplication_address) throw new Error('The node did not name its application.');
      return a.iapplication_address;
    });
    cache.app.catch(() => (cache.app = undefined));
    return cache.app;
  }, [config, cache]);

  const inspectUrl = useCallback(async () => {
    if (!config) throw new Error('Still loading the configuration.');
    if (/\/inspect\/[^/]+\/?$/.test(config.endpoints.nodeInspectUrl)) return inspectUrlFor(config.endpoints.nodeInspectUrl, '');
    return inspectUrlFor(config.endpoints.nodeInspectUrl, await application());
  }, [config, application]);

  const backend = useCallback(async (): Promise<BackendConfig> => {
    cache.backend ??= (async () => {
      if (!config) throw new Error('Still loading the configuration.');
      const [{ answer }, app, chain] = await Promise.all([
        inspect(await inspectUrl(), { type: 'config' }),
        application(),
        config.endpoints.chainId ?? chainId(config.endpoints.chainRpcUrl),
      ]);
      const c = expectAnswer(answer, 'config');
      const key = c.backend_public_key;
      if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) throw new Error('The rollup did not state its backend public key.');
      const models = new Map<number, string>();
      for (const m of c.models ?? []) models.set(m.model, m.name);
      return {
        backendPublicKey: fromHex(key),
        backendPublicKeyHex: key,
        domain: domainBytes(chain, fromHex(app), fromHex(key)),
        kAnonymity: c.k_anonymity,
        proofFreshnessS: c.proof_freshness_s,
        models,
      };
    })();
    cache.backend.catch(() => (cache.backend = undefined));
    return cache.backend;
  }, [cache, config, inspectUrl, application]);

  const value: AppState = {
    config,
    endpoints: config?.endpoints,
    reloadConfig: () => setConfigNonce((n) => n + 1),
    user,
    userError,
    setUser,
    refreshUser: () => setUserNonce((n) => n + 1),
    backend,
    inspectUrl,
  };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useApp(): AppState {
  const v = useContext(Ctx);
  if (!v) throw new Error('useApp outside AppProvider');
  return v;
}

/** Runs an async loader and tracks loading/error; `reload` runs it again. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): { data?: T; error?: string; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    fn().then(
      (data) => live && setState({ data, loading: false }),
      (e: Error) => live && setState({ error: e?.message ?? String(e), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce]);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}
