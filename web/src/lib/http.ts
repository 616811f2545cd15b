/** fetch with a timeout and errors a person can read. */

export class HttpError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

function originOf(url: string): string {
  try {
    return new URL(url, globalThis.location?.href ?? 'http://localhost/').origin;
  } catch {
    return url;
  }
}

/** Pulls a human message out of common error bodies: `{error:{message}}`, `{error, detail}`, `{message}`. */
export function errorMessageFrom(body: unknown): { message?: string; code?: string } {
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const err = b.error;
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    return { message: str(e.message) ?? str(e.detail), code: str(e.code) };
  }
  return { message: str(b.message) ?? str(b.detail) ?? str(err), code: str(b.code) ?? str(err) };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Send the body as text/plain (a CORS "simple" request: no preflight). */
  rawBody?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  credentials?: RequestCredentials;
  /** Name of the service for error messages, e.g. "the gateway". */
  what: string;
}

/**
 * `fetch` with a deadline (until the answer's headers): a timeout, or a service that cannot be
 * reached, becomes an HttpError a person can read, naming `what` and where it was asked.
 */
export async function fetchWithin(input: string | Request, init: RequestInit, what: string, timeoutMs = 20000): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const where = originOf(typeof input === 'string' ? input : input.url);
  try {
    return await fetch(input, { ...init, signal: controller.signal });
  } catch (e) {
    const aborted = (e as Error)?.name === 'AbortError';
    throw new HttpError(
      aborted
        ? `${capitalize(what)} at ${where} did not answer in time.`
        : `Could not reach ${what} at ${where}. Is it running, and does it allow requests from this page (CORS)?`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** The HttpError for an answer that is not 2xx: the message of its error body, or its status. */
export function answerError(what: string, response: Response, data: unknown): HttpError {
  const { message, code } = errorMessageFrom(data);
  const fallback = typeof data === 'string' && data.length < 300 && !data.trimStart().startsWith('<') ? data : response.statusText;
  return new HttpError(
    message ?? `${capitalize(what)} answered ${response.status}${fallback ? `: ${fallback}` : ''}`,
    response.status,
    code,
    data,
  );
}

export async function requestJson<T = unknown>(url: string, opts: RequestOptions): Promise<{ status: number; data: T }> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.rawBody !== undefined) {
    body = opts.rawBody;
    headers['Content-Type'] = 'text/plain;charset=UTF-8';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetchWithin(
    url,
    {
      method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      credentials: opts.credentials ?? 'same-origin',
    },
    opts.what,
    opts.timeoutMs,
  );
  const text = await response.text();
  let data: unknown = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) throw answerError(opts.what, response, data);
  return { status: response.status, data: data as T };
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(workers);
  return out;
}
