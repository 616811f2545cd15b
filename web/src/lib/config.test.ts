import { describe, expect, it } from 'vitest';
import { endpointsFromGatewayConfig, inspectUrlFor } from './config';
import { badgeFor, type PublicDevice } from './devices';

describe('endpoints', () => {
  it('maps GET /v1/config', () => {
    expect(
      endpointsFromGatewayConfig({
        node_inspect_url: 'http://127.0.0.1:10012/inspect/0xabc',
        rpc_url: 'http://127.0.0.1:8545',
        application: '0xabc',
        chain_id: 31337,
        local_link_url: 'http://127.0.0.1:9700',
        backend_public_key: 'ff'.repeat(32),
      }),
    ).toEqual({
      nodeInspectUrl: 'http://127.0.0.1:10012/inspect/0xabc',
      chainRpcUrl: 'http://127.0.0.1:8545',
      application: '0xabc',
      chainId: 31337,
      localLinkUrl: 'http://127.0.0.1:9700',
      gatewayBackendKey: 'ff'.repeat(32),
    });
    expect(endpointsFromGatewayConfig({ rpc_url: 'http://127.0.0.1:10011/rpc' })).toEqual({ nodeRpcUrl: 'http://127.0.0.1:10011/rpc' });
    expect(endpointsFromGatewayConfig({ node_rpc_url: 'http://n/rpc', chain_rpc_url: 'http://c', rpc_url: 'http://x' })).toEqual({ nodeRpcUrl: 'http://n/rpc', chainRpcUrl: 'http://c' });
  });

  it('builds the inspect URL from any of its forms', () => {
    expect(inspectUrlFor('http://n:1/inspect/0xabc', '')).toBe('http://n:1/inspect/0xabc');
    expect(inspectUrlFor('http://n:1/inspect/', '0xabc')).toBe('http://n:1/inspect/0xabc');
    expect(inspectUrlFor('http://n:1', '0xabc')).toBe('http://n:1/inspect/0xabc');
    expect(() => inspectUrlFor('http://n:1', '')).toThrow(/application/);
  });
});

describe('status badges', () => {
  const base: PublicDevice = { device_id: 'aa', exists: true, status: 'active', flagged: false, owner: 'k1', tamper_events: 0, last_attested: { counter: 3, input_index: 2, block_timestamp: 1, notice_index: 1, commitment: '00' } };
  it('orders revoked, tamper, pending, verified', () => {
    expect(badgeFor(base, 'k1').kind).toBe('verified');
    expect(badgeFor({ ...base, owner: 'other' }, 'k1').kind).toBe('pending');
    expect(badgeFor(base, undefined).kind).toBe('pending');
    expect(badgeFor({ ...base, last_attested: null }, 'k1').kind).toBe('pending');
    expect(badgeFor({ ...base, status: 'flagged', flagged: true, tamper_events: 2 }, 'k1')).toMatchObject({ kind: 'tamper', why: expect.stringMatching(/2 tamper/) });
    expect(badgeFor({ ...base, status: 'revoked', revocation_reason: 'stolen' }, 'k1')).toMatchObject({ kind: 'revoked', why: 'Revoked: stolen' });
    expect(badgeFor({ device_id: 'aa', exists: false }, 'k1').kind).toBe('pending');
    expect(badgeFor(undefined, 'k1').kind).toBe('unknown');
  });
});
