/** Reads from the chain (eth_call only; nothing is signed or sent). */
import { BaseError, ContractFunctionRevertedError, HttpRequestError, TimeoutError, createPublicClient, http, type Hex, type PublicClient } from 'viem';

export const applicationAbi = [
  {
    type: 'function',
    name: 'validateOutput',
    stateMutability: 'view',
    inputs: [
      { name: 'output', type: 'bytes' },
      {
        name: 'proof',
        type: 'tuple',
        components: [
          { name: 'outputIndex', type: 'uint64' },
          { name: 'outputHashesSiblings', type: 'bytes32[]' },
        ],
      },
    ],
    outputs: [],
  },
  { type: 'error', name: 'InvalidOutputHashesSiblingsArrayLength', inputs: [] },
  { type: 'error', name: 'InvalidOutputsMerkleRoot', inputs: [{ name: 'outputsMerkleRoot', type: 'bytes32' }] },
] as const;

export const inputBoxAbi = [
  {
    type: 'function',
    name: 'getNumberOfInputs',
    stateMutability: 'view',
    inputs: [{ name: 'appContract', type: 'address' }],
    outputs: [{ name: '', type: 'uint256' }],
  },
] as const;

const clients = new Map<string, PublicClient>();

export function client(rpcUrl: string): PublicClient {
  let c = clients.get(rpcUrl);
  if (!c) {
    c = createPublicClient({ transport: http(rpcUrl, { timeout: 15000, retryCount: 0 }) }) as PublicClient;
    clients.set(rpcUrl, c);
  }
  return c;
}

export type ValidateResult = { ok: true } | { ok: false; reason: string };

/** Explains a revert of validateOutput in words. */
export function explainRevert(errorName: string | undefined, args?: readonly unknown[]): string {
  switch (errorName) {
    case 'InvalidOutputsMerkleRoot':
      return `the proof leads to outputs root ${String(args?.[0] ?? '')}, which the application's consensus has not accepted (epoch not claimed yet, or a forged output)`;
    case 'InvalidOutputHashesSiblingsArrayLength':
      return 'the proof has the wrong number of siblings';
    case undefined:
      return 'the contract reverted without a reason';
    default:
      return `the contract reverted with ${errorName}`;
  }
}

/** `Application.validateOutput(output, (index, siblings))` as an eth_call: no revert = proven. */
export async function validateOutputOnChain(
  chainRpcUrl: string,
  application: string,
  output: Hex,
  outputIndex: bigint,
  siblings: Hex[],
): Promise<ValidateResult> {
  try {
    await client(chainRpcUrl).readContract({
      address: application as Hex,
      abi: applicationAbi,
      functionName: 'validateOutput',
      args: [output, { outputIndex, outputHashesSiblings: siblings }],
    });
    return { ok: true };
  } catch (e) {
    if (e instanceof BaseError) {
      const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
      if (revert instanceof ContractFunctionRevertedError) {
        return { ok: false, reason: explainRevert(revert.data?.errorName ?? revert.reason, revert.data?.args) };
      }
      return { ok: false, reason: `the chain could not be asked: ${chainError(e, chainRpcUrl).message}` };
    }
    return { ok: false, reason: `the chain could not be asked: ${(e as Error).message}` };
  }
}

/** A readable error for a failed chain read. */
export function chainError(e: unknown, chainRpcUrl: string): Error {
  if (e instanceof BaseError) {
    if (e.walk((x) => x instanceof HttpRequestError || x instanceof TimeoutError)) {
      return new Error(`Could not reach the chain's RPC at ${chainRpcUrl}. Is it running, and does it allow requests from this page (CORS)?`);
    }
    return new Error(`The chain's RPC at ${chainRpcUrl} answered with an error: ${e.shortMessage}`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

export async function chainHead(chainRpcUrl: string): Promise<{ number: bigint; timestamp: bigint; chainId: number }> {
  const c = client(chainRpcUrl);
  try {
    const [block, chainId] = await Promise.all([c.getBlock({ blockTag: 'latest' }), c.getChainId()]);
    return { number: block.number ?? 0n, timestamp: block.timestamp, chainId };
  } catch (e) {
    throw chainError(e, chainRpcUrl);
  }
}

export async function inputsOnChain(chainRpcUrl: string, inputBox: string, application: string): Promise<bigint> {
  return client(chainRpcUrl).readContract({
    address: inputBox as Hex,
    abi: inputBoxAbi,
    functionName: 'getNumberOfInputs',
    args: [application as Hex],
  });
}
