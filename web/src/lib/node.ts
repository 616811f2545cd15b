/** The rollup node's public APIs: inspect (the backend's answers) and JSON-RPC (inputs, outputs, reports). */
import { fromHex, parseQuantity, quantity } from './hex';
import { HttpError, requestJson } from './http';
import type { InspectAnswer, InspectQuery } from './api';
import { errorText } from './verify';

/** One inspect's outcome: the node's status and the backend's one report (typed in api.ts). */
export interface Inspected {
  status: string;
  answer: InspectAnswer;
  processedInputCount?: number;
}

/** Decodes the first report of an inspect answer (a JSON document in hex). */
export function parseInspectAnswer(data: unknown): Inspected {
  const d = (data ?? {}) as Record<string, unknown>;
  const status = typeof d.status === 'string' ? d.status : 'unknown';
  const reports = Array.isArray(d.reports) ? (d.reports as Record<string, unknown>[]) : [];
  const first = reports[0];
  if (!first || typeof first.payload !== 'string') {
    const exception = typeof d.exception_payload === 'string' ? decodeText(d.exception_payload) : undefined;
    throw new Error(
      exception ? `The rollup raised an exception: ${exception}` : `The rollup gave no answer (status ${status}).`,
    );
  }
  let answer: InspectAnswer;
  try {
    answer = JSON.parse(decodeText(first.payload)) as InspectAnswer;
  } catch {
    throw new Error('The rollup answered with something that is not JSON.');
  }
  if (!answer || typeof answer !== 'object' || typeof (answer as { type?: unknown }).type !== 'string') {
    throw new Error('The rollup answered without a type.');
  }
  return { status, answer, processedInputCount: parseQuantity(d.processed_input_count) };
}

function decodeText(hex: string): string {
  return new TextDecoder().decode(fromHex(hex));
}

export async function inspect(inspectUrl: string, query: InspectQuery): Promise<Inspected> {
  // text/plain keeps it a CORS "simple" request (no preflight); the node reads the raw body.
  const { data } = await requestJson(inspectUrl, { method: 'POST', rawBody: JSON.stringify(query), what: 'the rollup node (inspect)', credentials: 'omit' });
  return parseInspectAnswer(data);
}

/** The answer if it is of type `type`; an `error` answer or another type throws a readable error. */
export function expectAnswer<T extends InspectAnswer['type']>(answer: InspectAnswer, type: T): Extract<InspectAnswer, { type: T }> {
  if (answer.type === type) return answer as Extract<InspectAnswer, { type: T }>;
  if (answer.type === 'error') throw new HttpError(errorText(answer.error, answer.detail), undefined, answer.error);
  throw new Error(`The rollup answered ${answer.type} instead of ${type}.`);
}

let rpcId = 0;

export async function rpc<T = unknown>(rpcUrl: string, method: string, params: Record<string, unknown>): Promise<T> {
  const { data } = await requestJson<Record<string, unknown>>(rpcUrl, {
    method: 'POST',
    // text/plain keeps it a CORS "simple" request (no preflight); the node parses the raw body.
    rawBody: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
    what: 'the rollup node (JSON-RPC)',
    credentials: 'omit',
  });
  if (data && typeof data === 'object' && data.error) {
    const e = data.error as { code?: number; message?: string };
    throw new HttpError(`The node's ${method} failed: ${e.message ?? 'unknown error'}`, undefined, String(e.code ?? ''));
  }
  return (data as { result: T }).result;
}

export interface NodeOutput {
  epoch_index: string;
  input_index: string;
  index: string;
  raw_data: string;
  hash?: string;
  output_hashes_siblings: string[] | null;
}

export async function getOutput(rpcUrl: string, application: string, index: number): Promise<NodeOutput> {
  const result = await rpc<{ data: NodeOutput }>(rpcUrl, 'cartesi_getOutput', { application, output_index: quantity(index) });
  return result.data;
}

export interface NodeApplication {
  name?: string;
  iapplication_address?: string;
  iconsensus_address?: string;
  iinputbox_address?: string;
  epoch_length?: string;
  state?: string;
  reason?: string | null;
  processed_inputs?: string;
}

/** Every output of input `inputIndex`, in output order (`cartesi_listOutputs`, paged). */
export async function outputsOfInput(rpcUrl: string, application: string, inputIndex: number): Promise<NodeOutput[]> {
  const out: NodeOutput[] = [];
  for (let page = 0; page < 100; page++) {
    const r = await rpc<Page<NodeOutput>>(rpcUrl, 'cartesi_listOutputs', { application, input_index: quantity(inputIndex), limit: 1000, offset: out.length });
    const data = Array.isArray(r?.data) ? r.data : [];
    out.push(...data);
    const total = parseQuantity(r?.pagination?.total_count) ?? 0;
    if (data.length === 0 || out.length >= total) break;
  }
  return out;
}

export async function getApplication(rpcUrl: string, application?: string): Promise<NodeApplication> {
  if (application) {
    const r = await rpc<{ data: NodeApplication }>(rpcUrl, 'cartesi_getApplication', { application });
    return r.data;
  }
  const r = await rpc<{ data: NodeApplication[] }>(rpcUrl, 'cartesi_listApplications', { limit: 1 });
  const first = r.data[0];
  if (!first) throw new Error('The node serves no application.');
  return first;
}

export interface Page<T> {
  data: T[];
  pagination: { total_count: number | string; limit: number | string; offset: number | string };
}

export interface NodeReport {
  input_index: string;
  index: string;
  raw_data: string;
}

/** The last `count` reports (newest last). */
export async function recentReports(rpcUrl: string, application: string, count: number): Promise<{ reports: NodeReport[]; total: number }> {
  const first = await rpc<Page<NodeReport>>(rpcUrl, 'cartesi_listReports', { application, limit: 1, offset: 0 });
  const total = parseQuantity(first.pagination.total_count) ?? 0;
  if (total === 0) return { reports: [], total };
  const offset = Math.max(0, total - count);
  const page = await rpc<Page<NodeReport>>(rpcUrl, 'cartesi_listReports', { application, limit: Math.min(count, total), offset });
  return { reports: page.data, total };
}

export async function processedInputCount(rpcUrl: string): Promise<number | undefined> {
  const r = await rpc<{ data: string }>(rpcUrl, 'cartesi_getProcessedInputCount', {});
  return parseQuantity(r.data);
}

export function decodeJsonHex(hex: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(decodeText(hex)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
