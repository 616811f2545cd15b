import { describe, expect, it } from 'vitest';
import { combineConfig, endpointsFromGatewayConfig, inspectUrlFor } from './config';
import { badgeFor } from './devices';
import type { DeviceAnswer, LeafView } from './api';

describe('endpoints', () => {
  it('maps GET /v1/config', () => {
    expect(
      endpointsFromGatewayConfig({
        node_inspect_url: 'http://127.0.0.1:10012/inspect/0xabc',
        node_rpc_url: 'http://127.0.0.1:10011/rpc',
        chain_rpc_url: 'http://127.0.0.1:8545',
        application: '0xabc',
        chain_id: 31337,
        local_link_url: 'http://127.0.0.1:9700',
        backend_public_key: 'ff'.repeat(32),
      }),
    ).toEqual({
      nodeInspectUrl: 'http://127.0.0.1:10012/inspect/0xabc',
      nodeRpcUrl: 'http://127.0.0.1:10011/rpc',
      chainRpcUrl: 'http://127.0.0.1:8545',
      application: '0xabc',
      chainId: 31337,
      localLinkUrl: 'http://127.0.0.1:9700',
      gatewayBackendKey: 'ff'.repeat(32),
    });
    // What the gateway leaves out (null, missing or empty) is not suggested.
    expect(endpointsFromGatewayConfig({ node_rpc_url: 'http://n/rpc', chain_rpc_url: null, application: '', chain_id: null })).toEqual({ nodeRpcUrl: 'http://n/rpc' });
    expect(endpointsFromGatewayConfig({})).toEqual({});
  });

  it('builds the inspect URL from any of its forms', () => {
    expect(inspectUrlFor('http://n:1/inspect/0xabc', '')).toBe('http://n:1/inspect/0xabc');
    expect(inspectUrlFor('http://n:1/inspect/', '0xabc')).toBe('http://n:1/inspect/0xabc');
    expect(inspectUrlFor('http://n:1', '0xabc')).toBe('http://n:1/inspect/0xabc');
    expect(() => inspectUrlFor('http://n:1', '')).toThrow(/application/);
    expect(inspectUrlFor('http://n:1/inspect/0xabc', '0xdef', true)).toBe('http://n:1/inspect/0xdef');
  });
});

describe('with pinned anchors', () => {
  const pinned = { anchors: { chainId: 31337, application: '0x' + '11'.repeat(20), consensus: '0x' + '22'.repeat(20) }, source: 'link' as const, pinnedAt: 1 };
  it("the gateway's application and chain id are not used, and a difference is named", () => {
    const fromGateway = endpointsFromGatewayConfig({ node_inspect_url: 'http://n:1/inspect/0xdead', application: '0xdead', chain_id: 31338, chain_rpc_url: 'http://c:1' });
    const c = combineConfig(fromGateway, {}, pinned);
    expect(c.endpoints).toMatchObject({ application: pinned.anchors.application, chainId: 31337, nodeInspectUrl: `http://n:1/inspect/${pinned.anchors.application}`, chainRpcUrl: 'http://c:1' });
    expect(c.advertised).toEqual({ chainId: 31338, application: '0xdead' });
    expect(c.conflicts).toEqual([
      'The gateway advertises chain id 31338; you pinned 31337.',
      `The gateway advertises application 0xdead; you pinned ${pinned.anchors.application}.`,
    ]);
  });
  it('agreeing values are no conflict (whatever their case); no anchors, no conflict', () => {
    const fromGateway = endpointsFromGatewayConfig({ application: '0x' + '11'.repeat(20).toUpperCase().replace('0X', '0x'), chain_id: 31337 });
    expect(combineConfig(fromGateway, {}, pinned).conflicts).toEqual([]);
    expect(combineConfig(endpointsFromGatewayConfig({ application: '0xdead', chain_id: 5 }), {}, undefined)).toMatchObject({ conflicts: [], endpoints: { application: '0xdead' } });
  });
});

describe('status badges', () => {
  const leaf: LeafView = {
    device_id: 'aa',
    model: 1,
    public_key: '00',
    status: 'active',
    revoked: false,
    flagged: false,
    open_tampers: 0,
    last_counter: 3,
    owner: 'k1',
    ownership_sequence: 1,
    era: 1,
    attested: 3,
    highest: { counter: 3, commitment: '00', input_index: 2 },
    first: { counter: 3, commitment: '00', input_index: 2 },
    tamper_events: 0,
    latest_tamper: null,
    corrections: 0,
    latest_correction: null,
    corrected_baseline: null,
    vehicle: 'dd'.repeat(32),
    predecessor: null,
    successor: null,
    pending_recovery: null,
    history: { count: 1, root: '00', last_input: 2 },
  };
  const base: DeviceAnswer = { device_id: 'aa', exists: true, input_index: 9, leaf };
  const withLeaf = (patch: Partial<LeafView>): DeviceAnswer => ({ ...base, leaf: { ...leaf, ...patch } });
  it('orders revoked, tamper, pending, verified', () => {
    expect(badgeFor(base, 'k1').kind).toBe('verified');
    expect(badgeFor(withLeaf({ owner: 'other' }), 'k1')).toMatchObject({ kind: 'pending', why: expect.stringMatching(/another owner key/) });
    expect(badgeFor(withLeaf({ owner: null }), 'k1')).toMatchObject({ kind: 'pending', why: 'Waiting for the rollup to record your claim.' });
    // A pending recovery is said before anything about the owner: the owner has a week to object.
    expect(badgeFor(withLeaf({ pending_recovery: { owner: 'ee'.repeat(32), effective_at: 1_790_000_000 } }), 'k1')).toMatchObject({
      kind: 'recovery',
      why: expect.stringMatching(/ownership recovery .* unless the owner objects/),
    });
    expect(badgeFor(withLeaf({ pending_recovery: { owner: 'ee'.repeat(32), effective_at: 1_790_000_000 }, status: 'flagged', flagged: true, open_tampers: 1 }), 'k1').kind).toBe('tamper');
    expect(badgeFor(base, undefined).kind).toBe('pending');
    expect(badgeFor(withLeaf({ highest: null }), 'k1').kind).toBe('pending');
    expect(badgeFor(withLeaf({ status: 'flagged', flagged: true, open_tampers: 1, tamper_events: 2 }), 'k1')).toMatchObject({ kind: 'tamper', why: expect.stringMatching(/1 of 2 rollback/) });
    // Rollbacks on record, every one cleared by a registrar's correction: not a tamper alert.
    expect(badgeFor(withLeaf({ tamper_events: 2, corrections: 2, latest_correction: { counter: 5, input_index: 8 } }), 'k1').kind).toBe('verified');
    expect(badgeFor(withLeaf({ status: 'revoked', revoked: true }), 'k1')).toMatchObject({ kind: 'revoked' });
    // A unit replaced in its vehicle is retired: said before a tamper alert, naming its successor.
    expect(badgeFor(withLeaf({ status: 'replaced', successor: 'bb'.repeat(16), flagged: true, open_tampers: 1 }), 'k1')).toMatchObject({
      kind: 'replaced',
      why: `This unit was replaced by ${'bb'.repeat(16)}; check the vehicle's current unit.`,
    });
    // The unit that replaced another is judged on its own badge.
    expect(badgeFor(withLeaf({ predecessor: 'cc'.repeat(16) }), 'k1').kind).toBe('verified');
    expect(badgeFor({ device_id: 'aa', exists: false, input_index: 3, leaf: null }, 'k1').kind).toBe('pending');
    expect(badgeFor(undefined, 'k1').kind).toBe('unknown');
  });
});
