import { beforeEach, describe, expect, it } from 'vitest';
import { ANCHORS_KEY, anchorConflicts, base64urlEncode, clearAnchors, decodePin, loadAnchors, parsePinJson, pinFromHash, pinLink, saveAnchors } from './anchors';

const APP = '0x' + 'Ab'.repeat(20);
const CONSENSUS = '0x' + 'cd'.repeat(20);
const JSON_PIN = { chain_id: 31337, application: APP, consensus: CONSENSUS, chain_rpc_url: 'http://127.0.0.1:8545', node_rpc_url: 'http://127.0.0.1:10011/rpc', node_inspect_url: 'javascript:alert(1)' };

class MemoryStorage {
  private m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

describe('pins', () => {
  it('parses the anchors JSON (addresses lowercased; only http(s) endpoint URLs)', () => {
    const { anchors, endpoints } = parsePinJson(JSON_PIN);
    expect(anchors).toEqual({ chainId: 31337, application: APP.toLowerCase(), consensus: CONSENSUS });
    expect(endpoints).toEqual({ chainRpcUrl: 'http://127.0.0.1:8545', nodeRpcUrl: 'http://127.0.0.1:10011/rpc', nodeInspectUrl: undefined });
    expect(parsePinJson({ ...JSON_PIN, chain_id: '0x7a69' }).anchors.chainId).toBe(31337);
  });
  it('refuses what is not an anchor', () => {
    expect(() => parsePinJson({ ...JSON_PIN, chain_id: 0 })).toThrow(/chain id/);
    expect(() => parsePinJson({ ...JSON_PIN, application: '0x1234' })).toThrow(/application/);
    expect(() => parsePinJson({ ...JSON_PIN, consensus: undefined })).toThrow(/consensus/);
    expect(() => parsePinJson([])).toThrow(/object/);
  });
  it('a link carries base64url JSON after #pin= (also after a route)', () => {
    const link = pinLink('http://127.0.0.1:8080', parsePinJson(JSON_PIN).anchors, { chainRpcUrl: 'http://127.0.0.1:8545' });
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:8080\/#pin=[A-Za-z0-9_-]+$/);
    const value = pinFromHash(new URL(link).hash);
    expect(value && decodePin(value).anchors.application).toBe(APP.toLowerCase());
    expect(pinFromHash('#/verify?device=aa&pin=abc')).toBe('abc');
    expect(pinFromHash('#/verify?device=aa')).toBeUndefined();
    expect(() => decodePin(base64urlEncode('not json'))).toThrow(/base64url/);
  });
});

describe('stored anchors', () => {
  beforeEach(() => {
    (globalThis as { localStorage?: unknown }).localStorage = new MemoryStorage();
  });
  it('keep their source', () => {
    expect(loadAnchors()).toBeUndefined();
    saveAnchors(parsePinJson(JSON_PIN).anchors, 'file', 'anchors.json');
    expect(loadAnchors()).toMatchObject({ source: 'file', origin: 'anchors.json', anchors: { chainId: 31337 } });
    clearAnchors();
    expect(loadAnchors()).toBeUndefined();
  });
  it('a tampered store is ignored', () => {
    globalThis.localStorage.setItem(ANCHORS_KEY, JSON.stringify({ anchors: { chainId: 1, application: 'x', consensus: CONSENSUS }, source: 'link' }));
    expect(loadAnchors()).toBeUndefined();
  });
});

describe('conflicts with what a gateway advertises', () => {
  const pinned = parsePinJson(JSON_PIN).anchors;
  it('names each difference', () => {
    expect(anchorConflicts(pinned, { chainId: 31337, application: APP })).toEqual([]);
    expect(anchorConflicts(pinned, { chainId: 1 })).toEqual(['The gateway advertises chain id 1; you pinned 31337.']);
    expect(anchorConflicts(pinned, { application: '0x' + '00'.repeat(20) })).toHaveLength(1);
    expect(anchorConflicts(undefined, { chainId: 1 })).toEqual([]);
  });
});

describe('a pinned backend key', () => {
  it('travels with the pin when given, and must be 32 bytes of hex', () => {
    const key = 'ab'.repeat(32);
    expect(parsePinJson({ ...JSON_PIN, backend_public_key: key }).backendPublicKey).toBe(key);
    expect(parsePinJson(JSON_PIN).backendPublicKey).toBeUndefined();
    expect(() => parsePinJson({ ...JSON_PIN, backend_public_key: 'abcd' })).toThrow(/backend_public_key/);
  });
});
