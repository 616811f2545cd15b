/**
 * What a verifier that trusts only L1 reads from the chain, with plain JSON-RPC over fetch
 * (eth_chainId, eth_call with hand-encoded calldata, eth_getLogs, eth_getBlockByNumber):
 * the chain id, the application's consensus, the consensus's latest accepted claim for the
 * application, and the number of inputs the InputBox held at a block (at a claim's
 * `lastProcessedBlock`: the inputs the claim covers). Cartesi Rollups v2.2 ABIs; the Rust twin
 * is `witness_chain::L1`.
 *
 * Log scans go in windows of at most `logRange` blocks (public RPCs cap eth_getLogs ranges),
 * from the application's deployment block at the earliest, so every call makes a bounded number
 * of requests. Historical eth_call needs an archive node (anvil keeps every state).
 */
import { fromHex, parseQuantity, quantity, toHex } from './hex';
import { HttpError, requestJson } from './http';

/** Canonical v2.2 InputBox (CREATE2, same address on every chain). */
export const INPUT_BOX = '0x1b51e2992a2755ba4d6f7094032df91991a0cfac';

/** 4-byte selectors (keccak256 of the signature), checked in l1.test.ts and the Rust tests. */
export const SELECTORS = {
  /** `Application.getOutputsMerkleRootValidator()`: v2.2's name for the consensus getter. */
  getOutputsMerkleRootValidator: 'a94dfc5a',
  /** `Application.getDeploymentBlockNumber()`. */
  getDeploymentBlockNumber: 'b3a1acd8',
  /** `InputBox.getNumberOfInputs(address)`. */
  getNumberOfInputs: '61a93c87',
} as const;

/** topic0 of `ClaimAccepted(address indexed appContract, uint256 lastProcessedBlockNumber, bytes32 outputsMerkleRoot)` (Authority and Quorum). */
export const CLAIM_ACCEPTED_TOPIC = '0x0f2cd00a405c0d1a66050307b6722c4788db6ed57aa3589a5c38da535cc3ce63';

/** Largest block range of one eth_getLogs request unless told otherwise. */
export const DEFAULT_LOG_RANGE = 10_000;

export interface AcceptedClaim {
  /** The claim covers the inputs added up to this block. */
  lastProcessedBlock: number;
  /** 0x-hex outputs Merkle root. */
  outputsRoot: string;
  /** Block of the ClaimAccepted event. */
  blockNumber: number;
  /** Timestamp (seconds) of that block. */
  blockTimestamp: number;
  /** Transaction that emitted the event. */
  txHash: string;
}

export interface ScanOptions {
  /** At most this many blocks per eth_getLogs request (default {@link DEFAULT_LOG_RANGE}). */
  logRange?: number;
}

export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string | null;
  transactionHash: string | null;
  logIndex: string | null;
  /** Some nodes (anvil, recent geth) include the block's timestamp. */
  blockTimestamp?: string;
  removed?: boolean;
}

export interface LogFilter {
  address: string;
  topics: string[];
  fromBlock: string;
  toBlock: string;
}

let rpcId = 0;

/** One JSON-RPC call to the chain's node. */
export async function ethRpc<T = unknown>(rpcUrl: string, method: string, params: unknown[]): Promise<T> {
  const { data } = await requestJson<Record<string, unknown>>(rpcUrl, {
    method: 'POST',
    // Ethereum nodes want application/json (geth refuses text/plain).
    body: { jsonrpc: '2.0', id: ++rpcId, method, params },
    what: "the chain's RPC",
    credentials: 'omit',
  });
  if (!data || typeof data !== 'object') throw new HttpError(`The chain's RPC answered ${method} with something that is not JSON-RPC.`);
  if (data.error) {
    const e = data.error as { code?: number; message?: string };
    throw new HttpError(`The chain's ${method} failed: ${e.message ?? 'unknown error'}`, undefined, String(e.code ?? ''), data.error);
  }
  return data.result as T;
}

// ---- ABI encoding and decoding (exported for the tests) ----

/** A 20-byte address, lowercase `0x` hex; throws on anything else. */
export function normalizeAddress(address: string): string {
  const bytes = fromHex(address);
  if (bytes.length !== 20) throw new Error(`not an address: ${address}`);
  return '0x' + toHex(bytes);
}

/** An address as a 32-byte ABI word / log topic (left-padded), without `0x`. */
export function addressWord(address: string): string {
  return '0'.repeat(24) + normalizeAddress(address).slice(2);
}

/** Calldata of a call whose arguments are all addresses. */
export function encodeCall(selector: string, ...addresses: string[]): string {
  return '0x' + selector + addresses.map(addressWord).join('');
}

function words(hex: string, what: string, count: number): Uint8Array[] {
  const bytes = fromHex(hex);
  if (bytes.length < 32 * count) {
    throw new Error(bytes.length === 0 ? `${what}: empty answer (no contract there?)` : `${what}: answer too short (${bytes.length} bytes)`);
  }
  return Array.from({ length: count }, (_, i) => bytes.slice(32 * i, 32 * i + 32));
}

function wordToNumber(word: Uint8Array, what: string): number {
  const v = BigInt('0x' + toHex(word));
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} ${v} is too large`);
  return Number(v);
}

/** A `uint256` return value as a number (throws above 2^53 - 1). */
export function decodeUint(hex: string, what = 'uint256'): number {
  return wordToNumber(words(hex, what, 1)[0] as Uint8Array, what);
}

/** An `address` return value, lowercase `0x` hex; throws on dirty upper bytes. */
export function decodeAddress(hex: string, what = 'address'): string {
  const word = words(hex, what, 1)[0] as Uint8Array;
  if (word.slice(0, 12).some((b) => b !== 0)) throw new Error(`${what}: not an ABI-encoded address`);
  return '0x' + toHex(word.slice(12));
}

/** eth_getLogs filter for the ClaimAccepted events of `consensus` for `app` in `from..=to`. */
export function claimAcceptedFilter(consensus: string, app: string, from: number, to: number): LogFilter {
  return {
    address: normalizeAddress(consensus),
    topics: [CLAIM_ACCEPTED_TOPIC, '0x' + addressWord(app)],
    fromBlock: quantity(from),
    toBlock: quantity(to),
  };
}

export interface ClaimAcceptedLog {
  app: string;
  lastProcessedBlock: number;
  outputsRoot: string;
  blockNumber: number;
  logIndex: number;
  txHash: string;
  /** From the log, when the node includes it. */
  blockTimestamp?: number;
}

/** Decodes a ClaimAccepted log; throws on another event or a malformed one. */
export function decodeClaimAcceptedLog(log: RpcLog): ClaimAcceptedLog {
  const [topic0, topic1] = log.topics;
  if (log.topics.length !== 2 || topic0?.toLowerCase() !== CLAIM_ACCEPTED_TOPIC || topic1 === undefined) {
    throw new Error('not a ClaimAccepted log');
  }
  const data = fromHex(log.data);
  if (data.length !== 64) throw new Error(`ClaimAccepted: data is ${data.length} bytes, expected 64`);
  const blockNumber = parseQuantity(log.blockNumber);
  const logIndex = parseQuantity(log.logIndex);
  if (blockNumber === undefined || logIndex === undefined || !log.transactionHash) throw new Error('ClaimAccepted: pending log');
  return {
    app: decodeAddress(topic1, 'ClaimAccepted appContract'),
    lastProcessedBlock: wordToNumber(data.slice(0, 32), 'lastProcessedBlockNumber'),
    outputsRoot: '0x' + toHex(data.slice(32, 64)),
    blockNumber,
    logIndex,
    txHash: log.transactionHash.toLowerCase(),
    ...(log.blockTimestamp !== undefined ? { blockTimestamp: parseQuantity(log.blockTimestamp) } : {}),
  };
}

function blockTag(block: number | 'latest'): string {
  return block === 'latest' ? 'latest' : quantity(block);
}

/** eth_call; an empty answer means no contract at `to` (at that block). */
async function call(rpcUrl: string, to: string, data: string, block: number | 'latest', what: string): Promise<string> {
  const result = await ethRpc<string>(rpcUrl, 'eth_call', [{ to: normalizeAddress(to), data }, blockTag(block)]);
  if (typeof result !== 'string' || result === '0x') {
    throw new Error(`${what}: no contract code at ${to}${block === 'latest' ? '' : ` at block ${block}`}`);
  }
  return result;
}

// ---- the lookups ----

/** `eth_chainId`. */
export async function chainId(rpcUrl: string): Promise<number> {
  const n = parseQuantity(await ethRpc<string>(rpcUrl, 'eth_chainId', []));
  if (n === undefined) throw new Error("The chain's RPC gave no chain id.");
  return n;
}

export async function blockNumber(rpcUrl: string): Promise<number> {
  const n = parseQuantity(await ethRpc<string>(rpcUrl, 'eth_blockNumber', []));
  if (n === undefined) throw new Error("The chain's RPC gave no block number.");
  return n;
}

/** Timestamp (seconds) of a block. */
export async function blockTimestamp(rpcUrl: string, block: number): Promise<number> {
  const b = await ethRpc<{ timestamp?: string } | null>(rpcUrl, 'eth_getBlockByNumber', [quantity(block), false]);
  const t = parseQuantity(b?.timestamp);
  if (!b || t === undefined) throw new Error(`block ${block} not found`);
  return t;
}

/** `Application.getOutputsMerkleRootValidator()`: the application's consensus, lowercase hex. */
export async function applicationConsensus(rpcUrl: string, app: string): Promise<string> {
  const data = encodeCall(SELECTORS.getOutputsMerkleRootValidator);
  return decodeAddress(await call(rpcUrl, app, data, 'latest', 'getOutputsMerkleRootValidator'), 'consensus');
}

/** `Application.getDeploymentBlockNumber()`. */
export async function applicationDeploymentBlock(rpcUrl: string, app: string): Promise<number> {
  const data = encodeCall(SELECTORS.getDeploymentBlockNumber);
  return decodeUint(await call(rpcUrl, app, data, 'latest', 'getDeploymentBlockNumber'), 'deployment block');
}

/** `InputBox.getNumberOfInputs(app)` at the end of `block`: at a claim's `lastProcessedBlock`, the inputs it covers. */
export async function inputCountAt(rpcUrl: string, app: string, block: number | 'latest', inputBox: string = INPUT_BOX): Promise<number> {
  const data = encodeCall(SELECTORS.getNumberOfInputs, app);
  return decodeUint(await call(rpcUrl, inputBox, data, block, 'getNumberOfInputs'), 'number of inputs');
}

async function claimLogs(rpcUrl: string, consensus: string, app: string, from: number, to: number): Promise<ClaimAcceptedLog[]> {
  const logs = await ethRpc<RpcLog[]>(rpcUrl, 'eth_getLogs', [claimAcceptedFilter(consensus, app, from, to)]);
  const wanted = normalizeAddress(consensus);
  return logs.filter((l) => !l.removed && l.address.toLowerCase() === wanted).map(decodeClaimAcceptedLog);
}

function range(opts?: ScanOptions): number {
  return Math.max(1, Math.floor(opts?.logRange ?? DEFAULT_LOG_RANGE));
}

/** The newest ClaimAccepted of `consensus` for `app` (by block, then log index), or null if none since the application was deployed. */
export async function latestAcceptedClaim(rpcUrl: string, consensus: string, app: string, opts?: ScanOptions): Promise<AcceptedClaim | null> {
  const step = range(opts);
  const [lowest, head] = await Promise.all([applicationDeploymentBlock(rpcUrl, app), blockNumber(rpcUrl)]);
  for (let to = head; to >= lowest; ) {
    const from = Math.max(lowest, to - step + 1);
    const logs = await claimLogs(rpcUrl, consensus, app, from, to);
    let newest: ClaimAcceptedLog | undefined;
    for (const l of logs) {
      if (!newest || l.blockNumber > newest.blockNumber || (l.blockNumber === newest.blockNumber && l.logIndex > newest.logIndex)) newest = l;
    }
    if (newest) {
      return {
        lastProcessedBlock: newest.lastProcessedBlock,
        outputsRoot: newest.outputsRoot,
        blockNumber: newest.blockNumber,
        blockTimestamp: newest.blockTimestamp ?? (await blockTimestamp(rpcUrl, newest.blockNumber)),
        txHash: newest.txHash,
      };
    }
    to = from - 1;
  }
  return null;
}

/** How many ClaimAccepted events `consensus` emitted for `app` in the blocks after `block` ("N claims accepted since"). */
export async function acceptedClaimsAfter(rpcUrl: string, consensus: string, app: string, block: number, opts?: ScanOptions): Promise<number> {
  const step = range(opts);
  const head = await blockNumber(rpcUrl);
  let count = 0;
  for (let from = block + 1; from <= head; ) {
    const to = Math.min(head, from + step - 1);
    count += (await claimLogs(rpcUrl, consensus, app, from, to)).length;
    from = to + 1;
  }
  return count;
}

export interface TrustAnchors {
  chainId: number;
  application: string;
  consensus: string;
}

/** Throws unless `eth_chainId` is the pinned chain id and the application's consensus is the pinned one. */
export async function checkAnchors(rpcUrl: string, anchors: TrustAnchors): Promise<void> {
  const [id, consensus] = await Promise.all([chainId(rpcUrl), applicationConsensus(rpcUrl, anchors.application)]);
  if (id !== anchors.chainId) throw new Error(`The RPC serves chain ${id}, the pinned chain id is ${anchors.chainId}.`);
  if (consensus !== normalizeAddress(anchors.consensus)) {
    throw new Error(`Application ${normalizeAddress(anchors.application)} is validated by ${consensus}, the pinned consensus is ${normalizeAddress(anchors.consensus)}.`);
  }
}
