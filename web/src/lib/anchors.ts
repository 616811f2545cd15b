/**
 * Trust anchors (PROTOCOL.md 17.1): the chain id, the application and its consensus
 * contract, pinned by the person, never taken from the gateway. They come from a link the
 * person followed (`…/#pin=<base64url of JSON>`, as `witness up` prints), an anchors file
 * (`.witness/anchors.json`), or typing them; each is kept with where it came from.
 *
 * Endpoint URLs that travel with a pin (chain RPC, node) are not anchors: everything read
 * from them is checked against the anchors.
 */
import type { TrustAnchors as AnchorsJson } from './api';
import { fromHex, toHex } from './hex';

export type AnchorSource = 'link' | 'file' | 'typed';

export interface TrustAnchors {
  chainId: number;
  /** Lowercase `0x` address. */
  application: string;
  /** Lowercase `0x` address. */
  consensus: string;
}

export interface PinnedAnchors {
  anchors: TrustAnchors;
  /**
   * The backend's X25519 key, when the pin carries it (`backend_public_key`): possession
   * proofs are bound to it. Otherwise the node's word is used (a wrong key only makes the
   * device's signature fail).
   */
  backendPublicKey?: string;
  source: AnchorSource;
  /** ms since the epoch. */
  pinnedAt: number;
  /** For `file`: the file's name. */
  origin?: string;
}

/** Endpoints that may travel with a pin (suggestions, checked like any other). */
export interface PinEndpoints {
  chainRpcUrl?: string;
  nodeRpcUrl?: string;
  nodeInspectUrl?: string;
}

export const ANCHORS_KEY = 'witness.anchors.v1';

export const SOURCE_WORDS: Record<AnchorSource, string> = {
  link: 'a link you opened',
  file: 'an anchors file you opened',
  typed: 'typed in by you',
};

export function normalizeAddress(text: string, what: string): string {
  const t = text.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(t)) throw new Error(`${what} must be a 0x-prefixed 20-byte address`);
  return '0x' + toHex(fromHex(t));
}

export function parseChainId(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? (v.trim().startsWith('0x') ? parseInt(v.trim(), 16) : Number(v.trim())) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error('chain id must be a positive integer');
  return n;
}

/** Validates the JSON of a pin (`{"chain_id","application","consensus", …urls}`). */
export function parsePinJson(value: unknown): { anchors: TrustAnchors; endpoints: PinEndpoints; backendPublicKey?: string } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('the anchors are not a JSON object');
  // The shape is the generated `TrustAnchors` (crates/protocol/src/api.rs); every field is
  // still checked, since the JSON comes from a link or a file.
  const o = value as Partial<Record<keyof AnchorsJson, unknown>>;
  const str = (k: keyof AnchorsJson) => (typeof o[k] === 'string' ? (o[k] as string) : '');
  const anchors: TrustAnchors = {
    chainId: parseChainId(o.chain_id),
    application: normalizeAddress(str('application'), 'application'),
    consensus: normalizeAddress(str('consensus'), 'consensus'),
  };
  const endpoints: PinEndpoints = {};
  const url = (k: keyof AnchorsJson): string | undefined => {
    const v = str(k);
    if (!v) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
      return v;
    } catch {
      return undefined;
    }
  };
  endpoints.chainRpcUrl = url('chain_rpc_url');
  endpoints.nodeRpcUrl = url('node_rpc_url');
  endpoints.nodeInspectUrl = url('node_inspect_url');
  const key = str('backend_public_key').toLowerCase().replace(/^0x/, '');
  if (key && !/^[0-9a-f]{64}$/.test(key)) throw new Error('backend_public_key must be 32 bytes of hex');
  return { anchors, endpoints, ...(key ? { backendPublicKey: key } : {}) };
}

function base64urlDecode(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  const bin = atob(padded);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

export function base64urlEncode(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The pin in a location hash (`#pin=…`, also after a route: `#/verify?pin=…` or `#/verify&pin=…`), if any. */
export function pinFromHash(hash: string): string | undefined {
  const m = /[#?&]pin=([A-Za-z0-9_-]+={0,2})/.exec(hash);
  return m?.[1];
}

/** Decodes a pin link's value. Throws a readable error. */
export function decodePin(value: string): ReturnType<typeof parsePinJson> {
  let json: unknown;
  try {
    json = JSON.parse(base64urlDecode(value));
  } catch {
    throw new Error('the link does not carry base64url-encoded JSON');
  }
  return parsePinJson(json);
}

/** A pin link for `anchors` on the dashboard at `base`. */
export function pinLink(base: string, anchors: TrustAnchors, endpoints: PinEndpoints = {}): string {
  const pin: AnchorsJson = {
    chain_id: anchors.chainId,
    application: anchors.application,
    consensus: anchors.consensus,
    ...(endpoints.chainRpcUrl ? { chain_rpc_url: endpoints.chainRpcUrl } : {}),
    ...(endpoints.nodeRpcUrl ? { node_rpc_url: endpoints.nodeRpcUrl } : {}),
    ...(endpoints.nodeInspectUrl ? { node_inspect_url: endpoints.nodeInspectUrl } : {}),
  };
  const json = JSON.stringify(pin);
  return `${base.replace(/\/?$/, '/')}#pin=${base64urlEncode(json)}`;
}

export function loadAnchors(): PinnedAnchors | undefined {
  try {
    const text = globalThis.localStorage?.getItem(ANCHORS_KEY);
    if (!text) return undefined;
    const p = JSON.parse(text) as PinnedAnchors;
    const { anchors, backendPublicKey } = parsePinJson({
      chain_id: p.anchors.chainId,
      application: p.anchors.application,
      consensus: p.anchors.consensus,
      backend_public_key: p.backendPublicKey,
    });
    if (p.source !== 'link' && p.source !== 'file' && p.source !== 'typed') return undefined;
    return { anchors, ...(backendPublicKey ? { backendPublicKey } : {}), source: p.source, pinnedAt: Number(p.pinnedAt) || 0, origin: typeof p.origin === 'string' ? p.origin : undefined };
  } catch {
    return undefined;
  }
}

export function saveAnchors(anchors: TrustAnchors, source: AnchorSource, origin?: string, backendPublicKey?: string): PinnedAnchors {
  const pinned: PinnedAnchors = { anchors, source, pinnedAt: Date.now(), ...(origin ? { origin } : {}), ...(backendPublicKey ? { backendPublicKey } : {}) };
  globalThis.localStorage?.setItem(ANCHORS_KEY, JSON.stringify(pinned));
  return pinned;
}

export function clearAnchors(): void {
  globalThis.localStorage?.removeItem(ANCHORS_KEY);
}

/** What a gateway advertises, compared with the pinned anchors: one line per difference. */
export function anchorConflicts(pinned: TrustAnchors | undefined, advertised: { chainId?: number; application?: string }): string[] {
  if (!pinned) return [];
  const out: string[] = [];
  if (advertised.chainId !== undefined && advertised.chainId !== pinned.chainId) {
    out.push(`The gateway advertises chain id ${advertised.chainId}; you pinned ${pinned.chainId}.`);
  }
  if (advertised.application) {
    let app: string | undefined;
    try {
      app = normalizeAddress(advertised.application, 'application');
    } catch {
      app = advertised.application;
    }
    if (app !== pinned.application) out.push(`The gateway advertises application ${advertised.application}; you pinned ${pinned.application}.`);
  }
  return out;
}
