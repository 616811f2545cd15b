// Shared helpers of the browser tests: Debian's Chromium driven by playwright-core (never a
// downloaded browser), processes started and stopped by their own ids, screenshots.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import jsQR from 'jsqr';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REPO = resolve(WEB, '..');
export const ARTIFACTS = join(WEB, 'artifacts');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function log(...args) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...args);
}

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const running = new Set();
let handlersInstalled = false;

/** On Ctrl-C or SIGTERM, stop every process group this run started, then exit. */
function installSignalHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, async () => {
      log(`${sig}: stopping ${running.size} process(es) this run started`);
      await Promise.all([...running].map((p) => p.stop()));
      process.exit(130);
    });
  }
}

/** Starts a command in its own process group; collects its output; `stop()` ends the group. */
export function start(name, command, args, opts = {}) {
  installSignalHandlers();
  log(`starting ${name}: ${command} ${args.join(' ')}`);
  const child = spawn(command, args, {
    cwd: opts.cwd ?? WEB,
    env: { ...process.env, ...(opts.env ?? {}) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const waiters = [];
  let exited = null;
  const onLine = (line) => {
    lines.push(line);
    if (process.env.E2E_VERBOSE) console.log(`  [${name}] ${line}`);
    for (const w of [...waiters]) {
      const m = w.pattern.exec(line);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i).replace(/\x1b\[[0-9;]*m/g, ''));
        buf = buf.slice(i + 1);
      }
    });
  }
  const exit = new Promise((res) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${code ?? signal}) before printing ${w.pattern}`));
      res(exited);
    });
    child.on('error', (e) => {
      exited = { code: -1, signal: null, error: e };
      for (const w of waiters.splice(0)) w.reject(new Error(`${name} could not start: ${e.message}`));
      res(exited);
    });
  });
  const handle = {
    name,
    child,
    lines,
    get exited() {
      return exited;
    },
    /** Resolves with the match of the first (past or future) line matching `pattern`. */
    waitFor(pattern, timeoutMs) {
      for (const line of lines) {
        const m = pattern.exec(line);
        if (m) return Promise.resolve(m);
      }
      if (exited) return Promise.reject(new Error(`${name} already exited (${exited.code ?? exited.signal})`));
      return new Promise((resolveW, rejectW) => {
        const w = { pattern, resolve: resolveW, reject: rejectW };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            rejectW(new Error(`${name} did not print ${pattern} within ${timeoutMs / 1000} s`));
          }
        }, timeoutMs);
      });
    },
    async stop() {
      if (exited) return exited;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const done = await Promise.race([exit, new Promise((r) => setTimeout(() => r(null), 15000))]);
      if (!done) {
        log(`${name} did not stop in 15 s; killing its process group`);
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await exit;
      }
      running.delete(handle);
      return exited;
    },
  };
  running.add(handle);
  exit.then(() => running.delete(handle));
  return handle;
}

export async function waitForHttp(url, timeoutMs, accept = (r) => r.ok) {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (accept(r)) return r;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000} s (${last})`);
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get update && apt-get install -y chromium)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A page that records console errors and uncaught exceptions. */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = { consoleErrors: [], pageErrors: [], failedRequests: [], badResponses: [] };
  page.on('response', (r) => {
    if (r.status() >= 400) problems.badResponses.push(`${r.request().method()} ${r.url()} → ${r.status()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.consoleErrors.push({ text: m.text(), url: page.url() });
  });
  page.on('pageerror', (e) => problems.pageErrors.push({ text: String(e?.stack ?? e), url: page.url() }));
  page.on('requestfailed', (r) => problems.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  return { context, page, problems };
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  log(`screenshot ${path}`);
  return path;
}

/** Runs named checks, printing one line each and the closing "N passed, N failed". */
export class Checks {
  passed = 0;
  failed = 0;
  results = [];
  async run(name, fn) {
    const t0 = Date.now();
    try {
      await fn();
      this.passed++;
      this.results.push({ name, ok: true });
      console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return true;
    } catch (e) {
      this.failed++;
      this.results.push({ name, ok: false, error: e.message });
      console.log(`FAIL ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${e.message}`);
      return false;
    }
  }
  summary() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0;
  }
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Whether `url` answers a cross-origin request with Access-Control-Allow-Origin. */
export async function allowsCors(url, body) {
  try {
    const r = await fetch(url, { method: 'POST', headers: { Origin: 'http://127.0.0.1:1', 'Content-Type': 'text/plain' }, body, signal: AbortSignal.timeout(5000) });
    return !!r.headers.get('access-control-allow-origin');
  } catch {
    return false;
  }
}

/**
 * A local pass-through to `target` (an origin) that adds permissive CORS headers: a stopgap
 * for services that do not send them yet (E2E_CORS_PROXY=1). Returns its origin and a stop().
 */
export async function corsProxy(target) {
  const port = await freePort();
  const headers = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type', 'access-control-allow-methods': 'GET, POST, OPTIONS' };
  const server = createHttpServer(async (req, res) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, headers);
      return res.end();
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    try {
      const r = await fetch(target + req.url, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body: req.method === 'GET' ? undefined : Buffer.concat(chunks) });
      res.writeHead(r.status, { ...headers, 'content-type': r.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch (e) {
      res.writeHead(502, headers);
      res.end(JSON.stringify({ error: 'proxy', message: String(e) }));
    }
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }) };
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon', '.woff2': 'font/woff2' };

/**
 * Serves the files of `dir` (the built dashboard) on a free port, and nothing else: no /v1
 * behind it, so a page served here has no gateway. Returns its origin and a stop().
 */
export async function staticServer(dir) {
  const root = resolve(dir);
  const port = await freePort();
  const server = createHttpServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root + sep) && file !== root) {
      res.writeHead(403);
      return res.end();
    }
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }) };
}

/** The bytes of the QR code in a PNG (a screenshot), decoded with jsqr; undefined when none is found. */
export function decodeQrPng(png) {
  const { data, width, height } = PNG.sync.read(png);
  const code = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), width, height, { inversionAttempts: 'attemptBoth' });
  return code ? Buffer.from(code.binaryData) : undefined;
}
