/**
 * Where the parts of the system are. The gateway suggests endpoints (`GET /v1/config`); the
 * person can override them (kept in localStorage), since the verifier should not have to trust
 * the gateway about which node and chain to ask.
 */
import { gatewayConfig, type ClientConfig } from './gateway';
import { anchorConflicts, loadAnchors, type PinnedAnchors } from './anchors';

export interface Endpoints {
  /** The node's inspect endpoint for the application: `<node>/inspect/<app>`. */
  nodeInspectUrl: string;
  /** The node's JSON-RPC: `<node>/rpc`. */
  nodeRpcUrl: string;
  /** The chain's Ethereum JSON-RPC. */
  chainRpcUrl: string;
  /** The application contract address. */
  application: string;
  chainId?: number;
  /** The device fleet's local link. */
  localLinkUrl: string;
  /** The backend public key as the gateway states it (informational: checks use the node's). */
  gatewayBackendKey?: string;
}

export const DEFAULT_ENDPOINTS: Endpoints = {
  nodeInspectUrl: 'http://127.0.0.1:10012/inspect',
  nodeRpcUrl: 'http://127.0.0.1:10011/rpc',
  chainRpcUrl: 'http://127.0.0.1:8545',
  application: '',
  localLinkUrl: 'http://127.0.0.1:9700',
};

const OVERRIDES_KEY = 'witness.endpoints.v1';

/** Maps `GET /v1/config` (the document's `ClientConfig`) onto endpoints: the parts it names. */
export function endpointsFromGatewayConfig(config: ClientConfig): Partial<Endpoints> {
  const out: Partial<Endpoints> = {};
  const set = <K extends keyof Endpoints>(key: K, value: Endpoints[K] | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') out[key] = value;
  };
  set('nodeInspectUrl', config.node_inspect_url);
  set('nodeRpcUrl', config.node_rpc_url);
  set('chainRpcUrl', config.chain_rpc_url);
  set('application', config.application);
  set('chainId', config.chain_id);
  set('localLinkUrl', config.local_link_url);
  set('gatewayBackendKey', config.backend_public_key);
  return out;
}

/**
 * `<node>/inspect/<app>` from whatever form the inspect URL was given in. With `rebase`, an
 * URL that already names an application is made to name `application` instead (the pinned
 * one: a gateway's suggested URL must not pick the application).
 */
export function inspectUrlFor(nodeInspectUrl: string, application: string, rebase = false): string {
  const base = nodeInspectUrl.replace(/\/+$/, '');
  if (/\/inspect\/[^/]+$/.test(base)) return rebase && application ? base.replace(/\/inspect\/[^/]+$/, `/inspect/${application}`) : base;
  if (!application) throw new Error('The application address is not known yet: set it under Endpoints.');
  if (/\/inspect$/.test(base)) return `${base}/${application}`;
  return `${base}/inspect/${application}`;
}

export function loadOverrides(): Partial<Endpoints> {
  try {
    const text = globalThis.localStorage?.getItem(OVERRIDES_KEY);
    return text ? (JSON.parse(text) as Partial<Endpoints>) : {};
  } catch {
    return {};
  }
}

export function saveOverrides(overrides: Partial<Endpoints>): void {
  const clean = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined && v !== ''));
  globalThis.localStorage?.setItem(OVERRIDES_KEY, JSON.stringify(clean));
}

export interface LoadedConfig {
  endpoints: Endpoints;
  /** Why the gateway's suggestion could not be used, if it could not. */
  gatewayError?: string;
  overridden: (keyof Endpoints)[];
  /** The chain id and application the gateway advertises (never used when anchors are pinned). */
  advertised: { chainId?: number; application?: string };
  /** The trust anchors the person pinned. */
  anchors?: PinnedAnchors;
  /** Where the gateway's advertised values differ from the pinned anchors. */
  conflicts: string[];
}

/**
 * Combines defaults, the gateway's suggestions and the person's settings. With pinned
 * anchors, the application and chain id are the pinned ones, whatever the gateway or a
 * setting says, and the inspect URL names the pinned application.
 */
export function combineConfig(fromGateway: Partial<Endpoints>, overrides: Partial<Endpoints>, anchors: PinnedAnchors | undefined, gatewayError?: string): LoadedConfig {
  const advertised = { chainId: fromGateway.chainId, application: fromGateway.application };
  const endpoints: Endpoints = { ...DEFAULT_ENDPOINTS, ...fromGateway, ...overrides };
  if (anchors) {
    endpoints.application = anchors.anchors.application;
    endpoints.chainId = anchors.anchors.chainId;
    endpoints.nodeInspectUrl = inspectUrlFor(endpoints.nodeInspectUrl, anchors.anchors.application, true);
  }
  return {
    endpoints,
    gatewayError,
    overridden: Object.keys(overrides) as (keyof Endpoints)[],
    advertised,
    anchors,
    conflicts: anchorConflicts(anchors?.anchors, advertised),
  };
}

export async function loadConfig(): Promise<LoadedConfig> {
  let fromGateway: Partial<Endpoints> = {};
  let gatewayError: string | undefined;
  try {
    fromGateway = endpointsFromGatewayConfig(await gatewayConfig());
  } catch (e) {
    gatewayError = (e as Error).message;
  }
  return combineConfig(fromGateway, loadOverrides(), loadAnchors(), gatewayError);
}
