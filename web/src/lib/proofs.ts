/**
 * Wiring of the verifier ({@link VerifyIO}) to the world: the chain's RPC (l1.ts for the
 * claims and input counts, viem for `validateOutput` and its revert reasons), the node's
 * JSON-RPC and inspect, and the device's local link. Which URLs are used is a setting;
 * what they answer is checked by verify.ts.
 */
import type { Hex } from 'viem';
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { Endpoints } from './config';
import { inspectUrlFor } from './config';
import { applicationConsensus, chainId, decodeUint, ethRpc, inputCountAt, latestAcceptedClaim, normalizeAddress } from './l1';
import { expectAnswer, inspect, outputsOfInput } from './node';
import { requestOpening, requestProof } from './localLink';
import { fromHex, parseQuantity, randomBytes, toHex, utf8 } from './hex';
import type { VerifyIO } from './verify';

/** `getEpochLength()` of Authority and Quorum. */
export const GET_EPOCH_LENGTH = toHex(keccak_256(utf8('getEpochLength()')).slice(0, 4));

export async function epochLength(rpcUrl: string, consensus: string): Promise<number | undefined> {
  const result = await ethRpc<string>(rpcUrl, 'eth_call', [{ to: normalizeAddress(consensus), data: '0x' + GET_EPOCH_LENGTH }, 'latest']);
  if (typeof result !== 'string' || result === '0x') return undefined;
  const n = decodeUint(result, 'epoch length');
  return n > 0 ? n : undefined;
}

export interface IOOptions {
  /** The pinned application: every node request names it. */
  application: string;
  /** The pinned backend key (hex), if the pin carried one; else the node's word. */
  backendPublicKey?: string;
}

export function verifyIO(endpoints: Endpoints, opts: IOOptions): VerifyIO {
  const chain = endpoints.chainRpcUrl;
  const app = opts.application;
  const inspectUrl = inspectUrlFor(endpoints.nodeInspectUrl, app, true);
  let key: Promise<Uint8Array> | undefined;
  return {
    chainId: () => chainId(chain),
    applicationConsensus: (a) => applicationConsensus(chain, a),
    latestAcceptedClaim: (consensus, a) => latestAcceptedClaim(chain, consensus, a),
    inputCountAt: (a, block) => inputCountAt(chain, a, block),
    epochLength: (consensus) => epochLength(chain, consensus),
    headTime: async () => parseQuantity((await ethRpc<{ timestamp?: string } | null>(chain, 'eth_getBlockByNumber', ['latest', false]))?.timestamp),
    // viem is loaded only when a proof is checked.
    validateOutput: async (a, output, index, siblings) =>
      (await import('./chain')).validateOutputOnChain(chain, a, output as Hex, index, siblings as Hex[]),
    outputsOfInput: (i) => outputsOfInput(endpoints.nodeRpcUrl, app, i),
    deviceProof: async (deviceId, inputIndex) => (await inspect(inspectUrl, { type: 'device_proof', device_id: deviceId, input_index: inputIndex })).answer,
    backendKey: opts.backendPublicKey
      ? async () => fromHex(opts.backendPublicKey as string)
      : () =>
        (key ??= inspect(inspectUrl, { type: 'config' }).then(({ answer }) => {
          const c = expectAnswer(answer, 'config');
          const k = fromHex(c.backend_public_key);
          if (k.length !== 32) throw new Error('The rollup did not state a 32-byte backend key.');
          return k;
        })),
    requestProof: (deviceId, nonce) => requestProof(endpoints.localLinkUrl, deviceId, nonce),
    requestOpening: (deviceId, counter) => requestOpening(endpoints.localLinkUrl, deviceId, Number(counter)),
    nonce: () => toHex(randomBytes(32)),
    now: () => Math.floor(Date.now() / 1000),
  };
}
