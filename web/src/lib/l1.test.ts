import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { decodeEventLog, encodeFunctionData, parseAbi, parseAbiItem } from 'viem';
import { toHex, utf8 } from './hex';
import {
  CLAIM_ACCEPTED_TOPIC,
  INPUT_BOX,
  SELECTORS,
  acceptedClaimsAfter,
  addressWord,
  applicationConsensus,
  chainId,
  checkAnchors,
  claimAcceptedFilter,
  decodeAddress,
  decodeClaimAcceptedLog,
  decodeUint,
  encodeCall,
  inputCountAt,
  latestAcceptedClaim,
  type RpcLog,
} from './l1';

const APP = '0x5B0f7c9bb9d6F4c9d2a1e1c0a9B1a0f1E2d3C4b5';
const app = APP.toLowerCase();
const CONSENSUS = '0x9d4ae0e6a1d1b2f6e2b6fa9d3b3f4c1f0e1d2c3b';
const ROOT = '0x' + 'ab'.repeat(32);

function keccakHex(text: string): string {
  return toHex(keccak_256(utf8(text)));
}

/** `@cartesi/rollups` artifacts at the repository root (npm ci there); the checks skip without them. */
function artifact(name: string): { abi: { type: string; name?: string; inputs?: { name: string; type: string; indexed?: boolean }[] }[]; methodIdentifiers: Record<string, string> } | undefined {
  const url = new URL(`../../../node_modules/@cartesi/rollups/out/${name}.sol/${name}.json`, import.meta.url);
  return existsSync(url) ? JSON.parse(readFileSync(url, 'utf8')) : undefined;
}
const haveArtifacts = artifact('Application') !== undefined;

describe('selectors and topics', () => {
  it('are keccak256 of the signatures', () => {
    expect(SELECTORS.getOutputsMerkleRootValidator).toBe(keccakHex('getOutputsMerkleRootValidator()').slice(0, 8));
    expect(SELECTORS.getDeploymentBlockNumber).toBe(keccakHex('getDeploymentBlockNumber()').slice(0, 8));
    expect(SELECTORS.getNumberOfInputs).toBe(keccakHex('getNumberOfInputs(address)').slice(0, 8));
    expect(CLAIM_ACCEPTED_TOPIC).toBe('0x' + keccakHex('ClaimAccepted(address,uint256,bytes32)'));
  });

  it.skipIf(!haveArtifacts)('match the @cartesi/rollups 2.2.0 artifacts', () => {
    const application = artifact('Application')!;
    expect(application.methodIdentifiers['getOutputsMerkleRootValidator()']).toBe(SELECTORS.getOutputsMerkleRootValidator);
    expect(application.methodIdentifiers['getDeploymentBlockNumber()']).toBe(SELECTORS.getDeploymentBlockNumber);
    // v2.2 has no getConsensus().
    expect(application.methodIdentifiers['getConsensus()']).toBeUndefined();
    expect(artifact('InputBox')!.methodIdentifiers['getNumberOfInputs(address)']).toBe(SELECTORS.getNumberOfInputs);
    for (const name of ['IConsensus', 'Authority', 'Quorum']) {
      const event = artifact(name)!.abi.find((e) => e.type === 'event' && e.name === 'ClaimAccepted');
      expect(event?.inputs, name).toEqual([
        { name: 'appContract', type: 'address', indexed: true, internalType: 'address' },
        { name: 'lastProcessedBlockNumber', type: 'uint256', indexed: false, internalType: 'uint256' },
        { name: 'outputsMerkleRoot', type: 'bytes32', indexed: false, internalType: 'bytes32' },
      ]);
    }
  });
});

describe('calldata and return values', () => {
  it('encodes address arguments like viem', () => {
    const abi = parseAbi(['function getNumberOfInputs(address appContract) view returns (uint256)', 'function getOutputsMerkleRootValidator() view returns (address)']);
    const data = encodeCall(SELECTORS.getNumberOfInputs, APP);
    expect(data).toBe('0x61a93c87000000000000000000000000' + app.slice(2));
    expect(data).toBe(encodeFunctionData({ abi, functionName: 'getNumberOfInputs', args: [app as `0x${string}`] }));
    expect(encodeCall(SELECTORS.getOutputsMerkleRootValidator)).toBe('0xa94dfc5a');
    expect(encodeCall(SELECTORS.getOutputsMerkleRootValidator)).toBe(encodeFunctionData({ abi, functionName: 'getOutputsMerkleRootValidator' }));
    expect(() => encodeCall(SELECTORS.getNumberOfInputs, '0x1234')).toThrow(/not an address/);
    expect(() => encodeCall(SELECTORS.getNumberOfInputs, '0x' + 'zz'.repeat(20))).toThrow();
  });

  it('decodes uint256 and address words', () => {
    expect(decodeUint('0x' + '00'.repeat(31) + '2a')).toBe(42);
    expect(decodeUint('0x' + '00'.repeat(24) + '001fffffffffffff')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => decodeUint('0x' + '00'.repeat(24) + '0020000000000000')).toThrow(/too large/);
    expect(() => decodeUint('0x')).toThrow(/empty answer/);
    expect(decodeAddress('0x' + addressWord(APP))).toBe(app);
    expect(() => decodeAddress('0x01' + addressWord(APP).slice(2))).toThrow(/not an ABI-encoded address/);
  });
});

/** A ClaimAccepted log built by hand (no `blockTimestamp`, as older nodes answer). */
function claimLog(block: number, logIndex: number, lastProcessed: number, root = ROOT, address = CONSENSUS, forApp = app): RpcLog {
  return {
    address,
    topics: [CLAIM_ACCEPTED_TOPIC, '0x' + addressWord(forApp)],
    data: '0x' + lastProcessed.toString(16).padStart(64, '0') + root.slice(2),
    blockNumber: '0x' + block.toString(16),
    transactionHash: '0x' + (block * 100 + logIndex).toString(16).padStart(64, '0'),
    logIndex: '0x' + logIndex.toString(16),
    removed: false,
  };
}

/**
 * A ClaimAccepted log as anvil 1.7.1 returned it: the Authority of the deterministic test
 * deployment (epoch length 4) accepting `submitClaim(app, 23, 0x0202…)`. Its ClaimSubmitted is
 * the same transaction's log 0.
 */
const ANVIL_LOG: RpcLog = {
  address: '0xbbe48c7d9834a5846c84e05dfa8775a3d1abbdc9',
  blockNumber: '0x19',
  blockTimestamp: '0x6b0ecd1b',
  data: '0x00000000000000000000000000000000000000000000000000000000000000170202020202020202020202020202020202020202020202020202020202020202',
  logIndex: '0x1',
  removed: false,
  topics: ['0x0f2cd00a405c0d1a66050307b6722c4788db6ed57aa3589a5c38da535cc3ce63', '0x000000000000000000000000bb807cb1b100a20dbfed13cc16874334d7314876'],
  transactionHash: '0x405fffc87032718ac5a411ea8e913dae69dab48478ed8620f17793a48f6ed7ae',
};

describe('ClaimAccepted logs', () => {
  it('decode a real anvil log', () => {
    expect(decodeClaimAcceptedLog(ANVIL_LOG)).toEqual({
      app: '0xbb807cb1b100a20dbfed13cc16874334d7314876',
      lastProcessedBlock: 23,
      outputsRoot: '0x' + '02'.repeat(32),
      blockNumber: 25,
      logIndex: 1,
      txHash: '0x405fffc87032718ac5a411ea8e913dae69dab48478ed8620f17793a48f6ed7ae',
      blockTimestamp: 0x6b0ecd1b,
    });
  });

  it('decode like viem', () => {
    const log = claimLog(0x1a, 3, 0x13);
    const d = decodeClaimAcceptedLog(log);
    expect(d).toEqual({ app, lastProcessedBlock: 0x13, outputsRoot: ROOT, blockNumber: 0x1a, logIndex: 3, txHash: log.transactionHash });
    const viem = decodeEventLog({
      abi: [parseAbiItem('event ClaimAccepted(address indexed appContract, uint256 lastProcessedBlockNumber, bytes32 outputsMerkleRoot)')],
      data: log.data as `0x${string}`,
      topics: log.topics as [`0x${string}`, `0x${string}`],
    });
    expect(viem.args.appContract.toLowerCase()).toBe(d.app);
    expect(Number(viem.args.lastProcessedBlockNumber)).toBe(d.lastProcessedBlock);
    expect(viem.args.outputsMerkleRoot).toBe(d.outputsRoot);
  });

  it('reject other events and malformed data', () => {
    const submitted = { ...claimLog(1, 0, 3), topics: ['0x' + keccakHex('ClaimSubmitted(address,address,uint256,bytes32)'), '0x' + addressWord(CONSENSUS), '0x' + addressWord(APP)] };
    expect(() => decodeClaimAcceptedLog(submitted)).toThrow(/not a ClaimAccepted/);
    expect(() => decodeClaimAcceptedLog({ ...claimLog(1, 0, 3), data: '0x' + '00'.repeat(32) })).toThrow(/32 bytes/);
    expect(() => decodeClaimAcceptedLog({ ...claimLog(1, 0, 3), blockNumber: null })).toThrow(/pending/);
  });

  it('filter on the consensus, the event and the application', () => {
    expect(claimAcceptedFilter(CONSENSUS.toUpperCase().replace('0X', '0x'), APP, 10, 19)).toEqual({
      address: CONSENSUS,
      topics: [CLAIM_ACCEPTED_TOPIC, '0x000000000000000000000000' + app.slice(2)],
      fromBlock: '0xa',
      toBlock: '0x13',
    });
  });
});

/** A fake node: head block, application deployment block, logs, input counts by block. */
function fakeChain(opts: { head: number; deployedAt: number; logs: RpcLog[]; inputs?: (block: number | 'latest') => number; chain?: number; consensus?: string; application?: string }) {
  const app = opts.application ?? APP.toLowerCase();
  const calls: { method: string; params: unknown[] }[] = [];
  const word = (n: number) => '0x' + n.toString(16).padStart(64, '0');
  const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
    const req = JSON.parse(String(init.body)) as { id: number; method: string; params: unknown[] };
    calls.push({ method: req.method, params: req.params });
    const answer = (result: unknown) => new Response(JSON.stringify({ jsonrpc: '2.0', id: req.id, result }), { status: 200 });
    switch (req.method) {
      case 'eth_chainId':
        return answer('0x' + (opts.chain ?? 31337).toString(16));
      case 'eth_blockNumber':
        return answer('0x' + opts.head.toString(16));
      case 'eth_getBlockByNumber':
        return answer({ number: req.params[0], timestamp: '0x' + (1_700_000_000 + parseInt(String(req.params[0]), 16) * 12).toString(16) });
      case 'eth_getLogs': {
        const f = req.params[0] as { address: string; topics: string[]; fromBlock: string; toBlock: string };
        const [from, to] = [parseInt(f.fromBlock, 16), parseInt(f.toBlock, 16)];
        return answer(
          opts.logs.filter((l) => {
            const b = parseInt(String(l.blockNumber), 16);
            return l.address === f.address && f.topics.every((t, i) => l.topics[i] === t) && b >= from && b <= to;
          }),
        );
      }
      case 'eth_call': {
        const [tx, tag] = req.params as [{ to: string; data: string }, string];
        if (tx.data === '0x' + SELECTORS.getDeploymentBlockNumber && tx.to === app) return answer(word(opts.deployedAt));
        if (tx.data === '0x' + SELECTORS.getOutputsMerkleRootValidator && tx.to === app) return answer('0x' + addressWord(opts.consensus ?? CONSENSUS));
        if (tx.data.startsWith('0x' + SELECTORS.getNumberOfInputs) && tx.to === INPUT_BOX && opts.inputs) {
          return answer(word(opts.inputs(tag === 'latest' ? 'latest' : parseInt(tag, 16))));
        }
        if (tx.to === app || tx.to === INPUT_BOX) {
          return new Response(JSON.stringify({ jsonrpc: '2.0', id: req.id, error: { code: 3, message: 'execution reverted' } }));
        }
        return answer('0x');
      }
      default:
        return new Response(JSON.stringify({ jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'method not found' } }));
    }
  });
  vi.stubGlobal('fetch', fetchMock);
  return { calls, fetchMock };
}

const RPC = 'http://chain.test:8545';

describe('lookups over JSON-RPC', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('latestAcceptedClaim scans backwards in windows and takes the newest log', async () => {
    const logs = [
      claimLog(5, 0, 3),
      claimLog(12, 1, 7, '0x' + '11'.repeat(32)),
      claimLog(12, 4, 11, '0x' + '22'.repeat(32)),
      claimLog(13, 0, 11, '0x' + '33'.repeat(32), CONSENSUS, '0x' + '42'.repeat(20)), // another application
      claimLog(14, 0, 11, '0x' + '44'.repeat(32), '0x' + '77'.repeat(20)), // another consensus
    ];
    const { calls } = fakeChain({ head: 25, deployedAt: 3, logs });
    const claim = await latestAcceptedClaim(RPC, CONSENSUS, APP, { logRange: 4 });
    expect(claim).toEqual({
      lastProcessedBlock: 11,
      outputsRoot: '0x' + '22'.repeat(32),
      blockNumber: 12,
      blockTimestamp: 1_700_000_000 + 12 * 12,
      txHash: logs[2]!.transactionHash,
    });
    const windows = calls.filter((c) => c.method === 'eth_getLogs').map((c) => (c.params[0] as { fromBlock: string; toBlock: string }));
    expect(windows.map((w) => [parseInt(w.fromBlock, 16), parseInt(w.toBlock, 16)])).toEqual([
      [22, 25],
      [18, 21],
      [14, 17],
      [10, 13],
    ]);
    expect(calls.find((c) => c.method === 'eth_getBlockByNumber')?.params).toEqual(['0xc', false]);
  });

  it("latestAcceptedClaim takes the timestamp from the log when the node includes it", async () => {
    const app2 = '0xbb807cb1b100a20dbfed13cc16874334d7314876';
    const { calls } = fakeChain({ head: 30, deployedAt: 3, logs: [ANVIL_LOG], application: app2, consensus: ANVIL_LOG.address });
    expect(await latestAcceptedClaim(RPC, ANVIL_LOG.address, app2)).toEqual({
      lastProcessedBlock: 23,
      outputsRoot: '0x' + '02'.repeat(32),
      blockNumber: 25,
      blockTimestamp: 0x6b0ecd1b,
      txHash: ANVIL_LOG.transactionHash,
    });
    expect(calls.map((c) => c.method)).not.toContain('eth_getBlockByNumber');
  });

  it('latestAcceptedClaim is null without claims and stops at the deployment block', async () => {
    const { calls } = fakeChain({ head: 9, deployedAt: 4, logs: [claimLog(3, 0, 1)] });
    expect(await latestAcceptedClaim(RPC, CONSENSUS, APP, { logRange: 3 })).toBeNull();
    const windows = calls.filter((c) => c.method === 'eth_getLogs').map((c) => c.params[0] as { fromBlock: string; toBlock: string });
    expect(windows.map((w) => [w.fromBlock, w.toBlock])).toEqual([
      ['0x7', '0x9'],
      ['0x4', '0x6'],
    ]);
  });

  it('acceptedClaimsAfter counts the claims after a block', async () => {
    const logs = [claimLog(5, 0, 3), claimLog(12, 1, 7), claimLog(12, 4, 11), claimLog(20, 0, 19)];
    fakeChain({ head: 25, deployedAt: 3, logs });
    for (const [after, n] of [[0, 4], [4, 4], [5, 3], [11, 3], [12, 1], [20, 0], [25, 0], [1000, 0]] as const) {
      expect(await acceptedClaimsAfter(RPC, CONSENSUS, APP, after, { logRange: 3 }), `after ${after}`).toBe(n);
      expect(await acceptedClaimsAfter(RPC, CONSENSUS, APP, after), `after ${after}, one window`).toBe(n);
    }
  });

  it('inputCountAt asks the InputBox at the block', async () => {
    const { calls } = fakeChain({ head: 30, deployedAt: 3, logs: [], inputs: (b) => (b === 'latest' ? 9 : b < 10 ? 2 : 5) });
    expect(await inputCountAt(RPC, APP, 7)).toBe(2);
    expect(await inputCountAt(RPC, APP, 19)).toBe(5);
    expect(await inputCountAt(RPC, APP, 'latest')).toBe(9);
    expect(calls[0]).toEqual({ method: 'eth_call', params: [{ to: INPUT_BOX, data: encodeCall(SELECTORS.getNumberOfInputs, APP) }, '0x7'] });
    expect(calls[2]?.params[1]).toBe('latest');
    // Another InputBox with no code there.
    await expect(inputCountAt(RPC, APP, 7, '0x' + '99'.repeat(20))).rejects.toThrow(/no contract code at 0x9999.* at block 7/);
  });

  it('chain id, consensus and the anchors', async () => {
    fakeChain({ head: 30, deployedAt: 3, logs: [] });
    expect(await chainId(RPC)).toBe(31337);
    expect(await applicationConsensus(RPC, APP)).toBe(CONSENSUS);
    await checkAnchors(RPC, { chainId: 31337, application: APP, consensus: CONSENSUS.toUpperCase().replace('0X', '0x') });
    await expect(checkAnchors(RPC, { chainId: 1, application: APP, consensus: CONSENSUS })).rejects.toThrow(/chain 31337, the pinned chain id is 1/);
    await expect(checkAnchors(RPC, { chainId: 31337, application: APP, consensus: '0x' + '01'.repeat(20) })).rejects.toThrow(/validated by 0x9d4ae0e6/);
    await expect(applicationConsensus(RPC, '0x' + '42'.repeat(20))).rejects.toThrow(/no contract code/);
    await expect(applicationConsensus(RPC, INPUT_BOX)).rejects.toThrow(/eth_call failed: execution reverted/);
  });
});

/**
 * Against a real chain (skipped unless WITNESS_L1_RPC, WITNESS_L1_APP and WITNESS_L1_CONSENSUS
 * are set; WITNESS_L1_EXPECT may hold the JSON the Rust `L1` answered, to compare).
 */
const live = process.env.WITNESS_L1_RPC;
describe.skipIf(!live)('against a live chain', () => {
  it('reads consistent facts', async () => {
    const rpc = live as string;
    const application = process.env.WITNESS_L1_APP as string;
    const consensus = process.env.WITNESS_L1_CONSENSUS as string;
    await checkAnchors(rpc, { chainId: await chainId(rpc), application, consensus });
    const claim = await latestAcceptedClaim(rpc, consensus, application, { logRange: 5 });
    const now = await inputCountAt(rpc, application, 'latest');
    const result: Record<string, unknown> = { claim, now };
    if (claim) {
      result.covered = await inputCountAt(rpc, application, claim.lastProcessedBlock);
      result.claimsSince = await acceptedClaimsAfter(rpc, consensus, application, claim.blockNumber);
      result.claimsAll = await acceptedClaimsAfter(rpc, consensus, application, 0, { logRange: 2 });
      expect(result.covered as number).toBeLessThanOrEqual(now);
      expect(result.claimsSince).toBe(0);
    }
    if (process.env.WITNESS_L1_EXPECT) expect(result).toEqual(JSON.parse(process.env.WITNESS_L1_EXPECT));
  });
});
