// Full mode: starts the whole system with `witness up --fresh --data-dir <tmp>` (or the
// command in WITNESS_UP_CMD, where `{data_dir}` is replaced), waits for its ready line, runs
// the owner's and the verifier's scenario in Chromium, saves screenshots under web/artifacts/
// and stops everything it started. The verifier pins its trust anchors from the link
// `witness up` prints (or <data-dir>/anchors.json), then is pointed at lying nodes
// (target/debug/witness-adversary, or WITNESS_ADVERSARY_BIN) and at a lying gateway.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, Checks, REPO, WEB, allowsCors, assert, corsProxy, decodeQrPng, freePort, launchBrowser, log, newPage, screenshot, start, staticServer, waitForHttp } from './lib.mjs';

const secs = (name, dflt) => Number(process.env[name] ?? dflt) * 1000;
const READY_TIMEOUT = secs('WITNESS_UP_TIMEOUT', 300);
const CLAIM_TIMEOUT = secs('E2E_CLAIM_TIMEOUT', 240);
const PROOF_TIMEOUT = secs('E2E_PROOF_TIMEOUT', 240);
const ROLLBACK_TIMEOUT = secs('E2E_ROLLBACK_TIMEOUT', 420);
const TIMING_RUNS = Number(process.env.E2E_TIMING_RUNS ?? 20);
const ADVERSARY_MODES = ['honest', 'stale', 'older', 'forge-leaf', 'forge-path', 'withhold'];

function systemCommand(dataDir) {
  if (process.env.WITNESS_UP_CMD) return ['bash', ['-c', process.env.WITNESS_UP_CMD.replaceAll('{data_dir}', dataDir)]];
  const bin = process.env.WITNESS_BIN ?? join(REPO, 'target/release/witness');
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found. Build it (cargo build --release -p witness-cli), or set WITNESS_UP_CMD; for the pages alone: npm run test:e2e:static`);
  }
  const extra = (process.env.WITNESS_UP_ARGS ?? '').split(/\s+/).filter(Boolean);
  return [bin, ['up', '--fresh', '--random-ports', '--data-dir', dataDir, ...extra]];
}

/** The first URL printed on a line naming `what`. */
function urlFrom(lines, what) {
  for (const line of lines) {
    if (!what.test(line)) continue;
    const m = /(https?:\/\/[^\s"',)]+)/.exec(line);
    if (m) return m[1].replace(/\/+$/, '');
  }
  return undefined;
}

export async function runFull() {
  const checks = new Checks();
  const dataDir = mkdtempSync(join(tmpdir(), 'witness-e2e-'));
  const [cmd, args] = systemCommand(dataDir);
  const system = start('witness up', cmd, args, { cwd: REPO });
  let preview;
  let browser;
  const proxies = [];
  try {
    await system.waitFor(/^\s*ready\s*$/i, READY_TIMEOUT);
    // `witness up` writes where everything listens to <data-dir>/system.json.
    const infoPath = join(dataDir, 'system.json');
    const info = existsSync(infoPath) ? JSON.parse(readFileSync(infoPath, 'utf8')) : {};
    const gateway = (process.env.WITNESS_GATEWAY_URL ?? info.gateway_url ?? urlFrom(system.lines, /dashboard/i) ?? urlFrom(system.lines, /gateway/i) ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    log(`system ready; gateway ${gateway}`);
    await waitForHttp(`${gateway}/healthz`, 60000);
    // What `witness up` printed: used if the gateway cannot suggest endpoints itself.
    const printed = {
      nodeInspectUrl: info.node_inspect_url ?? urlFrom(system.lines, /node inspect/i),
      nodeRpcUrl: info.node_rpc_url ?? urlFrom(system.lines, /node JSON-RPC/i),
      chainRpcUrl: info.chain_rpc_url ?? urlFrom(system.lines, /^\s*chain\s/i),
      localLinkUrl: info.local_link_url ?? urlFrom(system.lines, /local link/i),
      application: info.application,
    };
    // The pin link `witness up` prints, else one made from <data-dir>/anchors.json.
    const anchorsPath = join(dataDir, 'anchors.json');
    const anchors = existsSync(anchorsPath) ? JSON.parse(readFileSync(anchorsPath, 'utf8')) : undefined;
    const pinLine = system.lines.map((l) => /verify link\s+(\S+#pin=\S+)/.exec(l)).find(Boolean);
    const pinValue = pinLine ? new URL(pinLine[1]).hash.replace(/^#pin=/, '') : anchors ? Buffer.from(JSON.stringify(anchors)).toString('base64url') : undefined;
    if (!pinValue) log('no pin link and no anchors.json: the verifier cannot pin its anchors');
    const demoLine = system.lines.map((l) => /demo login\s+(\S+)\s*\/\s*(\S+)/.exec(l)).find(Boolean);
    const demo = info.registrar_user && info.demo_password ? [null, info.registrar_user, info.demo_password] : demoLine;
    if (info.rolled_back_devices?.length) log(`rolled back per system.json: ${info.rolled_back_devices.join(', ')}`);
    const configOk = await fetch(`${gateway}/v1/config`).then((r) => r.ok).catch(() => false);
    if (!configOk) log('GET /v1/config is not available: the test gives the browser the printed endpoints instead');
    let overrides = configOk ? undefined : Object.fromEntries(Object.entries(printed).filter(([, v]) => v));

    // The browser asks the node directly, so the node must allow cross-origin requests.
    let nodeCors = true;
    if (printed.nodeInspectUrl && printed.nodeRpcUrl) {
      const inspectUrl = /\/inspect\/[^/]+$/.test(printed.nodeInspectUrl) ? printed.nodeInspectUrl : `${printed.nodeInspectUrl.replace(/\/+$/, '')}/${printed.application}`;
      nodeCors = (await allowsCors(inspectUrl, '{"type":"config"}')) && (await allowsCors(printed.nodeRpcUrl, '{"jsonrpc":"2.0","id":1,"method":"cartesi_getChainId"}'));
      if (!nodeCors && process.env.E2E_CORS_PROXY) {
        for (const key of ['nodeInspectUrl', 'nodeRpcUrl']) {
          const u = new URL(key === 'nodeInspectUrl' ? inspectUrl : printed.nodeRpcUrl);
          const proxy = await corsProxy(u.origin);
          proxies.push(proxy);
          overrides = { ...(overrides ?? {}), application: printed.application, [key]: proxy.origin + u.pathname };
        }
        log('the node sends no CORS headers: E2E_CORS_PROXY=1, so the browser reaches it through a local CORS pass-through');
      }
    }
    await checks.run('the rollup node allows cross-origin requests (CORS)', async () => {
      assert(nodeCors, 'the node answers without Access-Control-Allow-Origin, so browsers cannot ask it directly (set E2E_CORS_PROXY=1 to test the rest through a pass-through)');
    });

    // The gateway serves web/dist at `/` when told where it is; otherwise serve it here,
    // proxying /v1 to the gateway so the session cookie stays same-origin.
    let base = gateway;
    const home = await fetch(`${gateway}/`).then((r) => r.text()).catch(() => '');
    if (!/<div id="root">/.test(home)) {
      const port = await freePort();
      preview = start('vite preview', process.execPath, [join(WEB, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
        env: { WITNESS_GATEWAY: gateway },
      });
      base = `http://127.0.0.1:${port}`;
      await waitForHttp(`${base}/`, 30000);
      log(`the gateway does not serve the dashboard; serving web/dist at ${base}`);
    }

    browser = await launchBrowser();
    await runScenario(browser, base, checks, {
      gateway,
      registrarCli: cmd !== 'bash' ? (args) => execFileSync(cmd, [...args, '--data-dir', dataDir], { encoding: 'utf8', timeout: 60000 }) : undefined,
      endpoints: overrides,
      registrar: demo ? { username: demo[1], password: demo[2] } : undefined,
      pin: pinValue,
      adversary: {
        bin: process.env.WITNESS_ADVERSARY_BIN ?? join(REPO, 'target/debug/witness-adversary'),
        nodeRpcUrl: printed.nodeRpcUrl,
        nodeInspectUrl: /\/inspect\/[^/]+$/.test(printed.nodeInspectUrl ?? '') ? printed.nodeInspectUrl : `${(printed.nodeInspectUrl ?? '').replace(/\/+$/, '')}/${printed.application}`,
        gatewayUrl: gateway,
      },
    });
  } finally {
    await browser?.close().catch(() => {});
    await preview?.stop();
    for (const p of proxies) await p.stop();
    const exit = await system.stop();
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'witness-up.log'), system.lines.join('\n') + '\n');
    log(`system stopped (${exit?.code ?? exit?.signal}); its output is in web/artifacts/witness-up.log`);
    if (!process.env.E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
  }
  return checks.summary();
}

/** Starts `witness-adversary` in `mode`; resolves with its origin and a stop(). */
async function startAdversary(adv, mode, extra = []) {
  const port = await freePort();
  const upstream = mode === 'lie-config' ? ['--upstream-gateway', adv.gatewayUrl] : ['--upstream-rpc', adv.nodeRpcUrl, '--upstream-inspect', adv.nodeInspectUrl];
  const p = start(`adversary ${mode}`, adv.bin, ['--listen', `127.0.0.1:${port}`, ...upstream, '--mode', mode, ...extra]);
  await p.waitFor(/127\.0\.0\.1:\d+/, 30000);
  return { origin: `http://127.0.0.1:${port}`, stop: () => p.stop() };
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

/** The owner's and the verifier's walk through the dashboard at `base`. */
export async function runScenario(browser, base, checks, { prefix = '', gateway, endpoints, registrar, registrarCli, pin, adversary } = {}) {
  const shot = (page, name) => screenshot(page, prefix + name);
  const { page, problems } = await newPage(browser);
  if (endpoints) await page.addInitScript((e) => localStorage.getItem('witness.endpoints.v1') || localStorage.setItem('witness.endpoints.v1', JSON.stringify(e)), endpoints);
  const username = `e2e${Date.now().toString(36)}`;
  let honest;
  let rolledBack;

  await checks.run('pin the trust anchors from the link witness up printed', async () => {
    assert(pin, 'no pin link');
    await page.goto(`${base}/#pin=${pin}`);
    await page.getByRole('heading', { level: 1, name: 'Verify a car' }).waitFor({ timeout: 20000 });
    const anchors = page.getByTestId('anchors');
    await anchors.waitFor();
    assert((await anchors.getAttribute('data-pinned')) === 'link', 'the anchors are not pinned from the link');
    const text = await anchors.innerText();
    assert(/from a link you opened/.test(text), `the source of the anchors is not shown: ${text}`);
    assert(!/#pin=/.test(page.url()), 'the pin stays in the address bar');
    await shot(page, 'anchors-pinned');
  });

  const ok = await checks.run('sign up', async () => {
    await page.goto(`${base}/#/signup`);
    await page.getByLabel('User name').fill(username);
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
    await page.getByLabel('Repeat the password').fill('correct horse battery staple');
    await shot(page, 'signup');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByTestId('signed-in-as').waitFor({ timeout: 20000 });
  });
  if (!ok) throw new Error('cannot continue without an account');

  await checks.run('claim a device over its local link', async () => {
    await page.goto(`${base}/#/devices`);
    await page.getByRole('heading', { level: 1, name: 'My devices' }).waitFor();
    await page.getByRole('button', { name: 'Look for devices' }).click();
    const list = page.getByRole('list', { name: 'Devices on the local link' });
    await list.waitFor({ timeout: 30000 });
    const item = list.locator('li[data-scenario=""]').first();
    honest = await item.getAttribute('data-device');
    assert(honest, 'no honest device on the local link');
    rolledBack = await list.locator('li[data-scenario="rollback"]').first().getAttribute('data-device').catch(() => null);
    log(`claiming ${honest}; rolled-back device: ${rolledBack ?? 'none listed'}`);
    await item.getByRole('button', { name: /Claim device/ }).click();
    await page.getByText(/The device is yours|Claim sent|Could not|does not/).first().waitFor({ timeout: CLAIM_TIMEOUT });
    await shot(page, 'claim');
    const text = await page.locator('main').innerText();
    assert(/The device is yours/.test(text), `claim did not complete: ${text.split('\n').slice(-6).join(' / ')}`);
    await page.reload();
    await page.getByTestId('devices-table').waitFor({ timeout: 30000 });
    await page.locator('[data-testid=devices-table] .badge').first().waitFor({ timeout: 60000 });
    await page.waitForTimeout(1500);
    await shot(page, 'devices');
  });

  await checks.run("the owner's history: opened in the browser, refolded against the proven leaf", async () => {
    assert(honest, 'no claimed device');
    await page.goto(`${base}/#/devices/${honest}`);
    const rows = page.locator('[data-testid=history-table] tbody tr');
    const status = page.getByTestId('history-status');
    const end = Date.now() + PROOF_TIMEOUT;
    let last = '';
    for (;;) {
      await status.or(page.getByText('Could not read the history')).first().waitFor({ timeout: 90000 }).catch(() => {});
      const s = (await status.count()) ? await status.getAttribute('data-status') : null;
      last = s ? `${s}: ${await status.innerText()}` : (await page.locator('main').innerText()).split('\n').slice(-4).join(' / ');
      if (s === 'complete' && (await rows.count()) > 0 && (await page.locator('[data-testid=history-table] tr[data-level=detail]').count()) > 0) break;
      if (Date.now() > end) throw new Error(`history not complete and proven within ${PROOF_TIMEOUT / 1000} s: ${last}`);
      log(`history: ${last.slice(0, 200)}; retrying`);
      await page.waitForTimeout(10000);
      await page.reload();
    }
    await page.locator('figure.chart svg').first().waitFor();
    await shot(page, 'device-history');
  });

  /** Verifies `device` on the verify page; returns {verdict, reason, text}. */
  const verify = async (device) => {
    await page.goto(`${base}/#/verify?device=${device}`);
    await page.getByRole('heading', { level: 1, name: 'Verify a car' }).waitFor();
    // The anchors panel renders once the configuration is loaded (before, the page says "try again").
    await page.getByTestId('anchors').waitFor({ timeout: 20000 });
    await page.getByRole('button', { name: 'Read device and verify' }).click();
    const verdict = page.getByTestId('verdict');
    await verdict.or(page.getByText('Verification could not finish')).first().waitFor({ timeout: 90000 });
    if (!(await verdict.count())) return { verdict: null, reason: '', text: await page.locator('main').innerText() };
    return {
      verdict: await verdict.getAttribute('data-verdict'),
      reason: await verdict.getAttribute('data-reason'),
      text: await verdict.innerText(),
      ms: await page.evaluate(() => globalThis.__witnessLastVerifyMs),
    };
  };
  /** Verifies until the answer is not "nothing claimed yet" (claims come once per epoch). */
  const verifyClaimed = async (device, until = (r) => r.verdict !== 'cannot_confirm' || !/no_accepted_claim|no_input_claimed/.test(r.reason), timeout = PROOF_TIMEOUT) => {
    const end = Date.now() + timeout;
    for (;;) {
      const r = await verify(device);
      if (until(r) || Date.now() > end) return r;
      log(`${device}: ${r.verdict} (${r.reason}); waiting for a claim`);
      await page.waitForTimeout(10000);
    }
  };

  await checks.run('verify the honest device: consistent, as of a claimed block', async () => {
    assert(honest, 'no honest device');
    const r = await verifyClaimed(honest, (x) => x.verdict === 'consistent');
    await shot(page, 'verify-consistent');
    assert(r.verdict === 'consistent', `verdict ${r.verdict} (${r.reason}): ${r.text}`);
    const asOf = await page.getByTestId('as-of').innerText();
    assert(/As of block [\d,]+, epoch [\d,]+ \(epochs of [\d,]+ blocks\), claimed .+ago/.test(asOf), `no "as of block": ${asOf}`);
    assert(/not yet claimed|Every input on chain is claimed/.test(asOf), `no count of unclaimed inputs: ${asOf}`);
    const steps = await page.locator('.steps li').evaluateAll((els) => els.map((e) => e.className));
    assert(steps.length === 7 && steps.every((c) => /step-ok/.test(c)), `not every check passed: ${steps.join(', ')}`);
  });

  // The mileage certificate (PROTOCOL.md 18), once a claim covers the honest device's readings
  // (the step above waits for that): the owner makes a summary on the device page;
  // a buyer with no gateway at all checks the downloaded file; the printable page's QR code
  // carries the same bytes.
  let certificate; // { path, bytes, device, highestM }
  await checks.run('the owner creates a summary certificate on the device page and downloads it', async () => {
    assert(honest, 'no claimed device');
    if (!page.url().includes(`/devices/${honest}`)) await page.goto(`${base}/#/devices/${honest}`);
    const card = page.getByRole('region', { name: 'Create certificate' });
    await card.getByRole('radio', { name: /^Summary/ }).check();
    await card.getByRole('button', { name: 'Create certificate' }).click();
    const created = page.getByTestId('cert-created');
    await created.or(page.getByTestId('cert-create-error')).first().waitFor({ timeout: 90000 });
    if (!(await created.count())) throw new Error(`not created: ${await page.getByTestId('cert-create-error').innerText()}`);
    assert((await created.getAttribute('data-level')) === 'summary', 'not a summary');
    await card.getByTestId('cert-qr').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), card.getByTestId('cert-download').click()]);
    assert(download.suggestedFilename() === `${honest}.wtnc`, `file name ${download.suggestedFilename()}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, `${prefix}${honest}.wtnc`);
    await download.saveAs(path);
    const bytes = readFileSync(path);
    assert(bytes.subarray(0, 4).toString('latin1') === 'WTNC' && bytes.length === Number(await created.getAttribute('data-bytes')), `the download is not the certificate (${bytes.length} bytes)`);
    assert(bytes.length <= 2900, `a summary of ${bytes.length} bytes does not fit a QR code`);
    certificate = { path, bytes, device: await created.getAttribute('data-device'), highestM: await created.getAttribute('data-highest-m') };
    assert(certificate.device === honest, `the certificate is for ${certificate.device}`);
    assert(certificate.highestM, 'the certificate names no highest attested reading');
    log(`certificate: ${bytes.length} bytes, highest ${certificate.highestM} m`);
    await shot(page, 'certificate-created');
  });

  await checks.run("the printable page: its QR code decodes (jsqr) to the downloaded file's bytes", async () => {
    assert(certificate, 'no certificate');
    await page.getByTestId('cert-print-link').click();
    const sheet = page.getByTestId('cert-sheet');
    await sheet.waitFor({ timeout: 15000 });
    const summary = await sheet.getByTestId('cert-sheet-summary').innerText();
    assert(summary.includes(honest) && /Highest attested reading/.test(summary) && /First attested reading/.test(summary) && /Ownership changes/.test(summary), `summary: ${summary}`);
    assert(await sheet.locator('figure.chart svg').count(), 'no odometer chart on the sheet');
    const png = await sheet.getByTestId('cert-qr').screenshot();
    writeFileSync(join(ARTIFACTS, `${prefix}certificate-qr.png`), png);
    const decoded = decodeQrPng(png);
    assert(decoded, 'jsqr finds no QR code in the screenshot');
    assert(Buffer.compare(decoded, certificate.bytes) === 0, `the QR code carries ${decoded.length} bytes that differ from the file's ${certificate.bytes.length}`);
    await page.emulateMedia({ media: 'print' });
    await shot(page, 'certificate-print');
    await page.emulateMedia({ media: 'screen' });
  });

  await checks.run('a buyer with the gateway unreachable checks the certificate file: valid, same device and highest reading', async () => {
    assert(certificate, 'no certificate');
    const site = await staticServer(join(WEB, 'dist'));
    const buyer = await newPage(browser);
    const blocked = [];
    try {
      // Every request to the gateway's origin (and to /v1 anywhere) is aborted.
      const gatewayOrigin = gateway ? new URL(gateway).origin : new URL(base).origin;
      await buyer.context.route(
        (url) => url.origin === gatewayOrigin || url.pathname.startsWith('/v1/'),
        (route) => {
          blocked.push(route.request().url());
          return route.abort('connectionrefused');
        },
      );
      await buyer.page.goto(`${site.origin}/#pin=${pin}`);
      await buyer.page.getByRole('heading', { level: 1, name: 'Verify a car' }).waitFor({ timeout: 20000 });
      await buyer.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Check a certificate' }).click();
      await buyer.page.getByRole('heading', { level: 1, name: 'Check a certificate' }).waitFor({ timeout: 10000 });
      assert((await buyer.page.getByTestId('cert-anchors').getAttribute('data-pinned')) === 'link', 'the anchors are not pinned in the buyer\'s browser');
      await buyer.page.getByLabel('The certificate file').setInputFiles(certificate.path);
      const verdict = buyer.page.getByTestId('cert-verdict');
      await verdict.waitFor({ timeout: 15000 });
      const text = await verdict.innerText();
      assert((await verdict.getAttribute('data-state')) === 'valid', `refused: ${text}`);
      const device = await buyer.page.getByTestId('cert-device').innerText();
      assert(device === certificate.device, `the verdict shows device ${device}, the certificate is for ${certificate.device}`);
      const highest = buyer.page.getByTestId('cert-highest');
      const highestM = await highest.getAttribute('data-odometer-m');
      assert(highestM === certificate.highestM, `the verdict shows ${highestM} m, the certificate ${certificate.highestM} m`);
      const km = (Number(highestM) / 1000).toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
      assert((await highest.innerText()) === `${km} km`, `highest shown as ${await highest.innerText()}, expected ${km} km`);
      // Both things only L1 can tell are named, whether the automatic L1 check has already
      // replaced their text or not (it races this read).
      const cannot = await buyer.page.locator('[data-testid=cert-cannot-know] li').evaluateAll((items) => items.map((li) => li.dataset.code));
      assert(cannot.includes('outputs_root_accepted') && cannot.includes('later_claims'), `what it cannot know: ${cannot.join(', ')}`);
      // With the chain RPC the pin carried, L1 is asked too (never the gateway).
      const l1 = buyer.page.getByTestId('cert-l1');
      await l1.waitFor({ timeout: 30000 });
      const l1State = await l1.getAttribute('data-state');
      log(`buyer: L1 check ${l1State}, ${await l1.getAttribute('data-later-claims')} claim(s) since; ${blocked.length} gateway request(s) aborted`);
      assert(l1State === 'accepted', `L1: ${await l1.innerText()}`);
      assert((await buyer.page.getByTestId('cert-verify-link').getAttribute('href')) === `#/verify?device=${certificate.device}`, 'no link to verify the car now');
      await screenshot(buyer.page, prefix + 'certificate-buyer');
      assert(buyer.problems.pageErrors.length === 0, `uncaught: ${buyer.problems.pageErrors.map((e) => e.text).join(' | ')}`);
    } finally {
      await buyer.context.close();
      await site.stop();
    }
  });

  await checks.run('verify the rolled-back device: rollback (or flagged)', async () => {
    assert(rolledBack, 'the local link lists no device with the rollback scenario');
    const r = await verifyClaimed(rolledBack, (x) => x.verdict === 'rollback' || x.verdict === 'flagged', ROLLBACK_TIMEOUT);
    await shot(page, 'verify-rollback');
    assert(r.verdict === 'rollback' || r.verdict === 'flagged', `verdict ${r.verdict} (${r.reason})`);
    log(`rolled-back device: ${r.verdict} (${r.reason})`);
  });

  await checks.run(`verify time in the browser over ${TIMING_RUNS} verifications of one car`, async () => {
    assert(honest, 'no honest device');
    const times = [];
    for (let i = 0; i < TIMING_RUNS; i++) {
      const r = await verify(honest);
      assert(r.verdict === 'consistent', `run ${i}: ${r.verdict} (${r.reason})`);
      times.push(r.ms);
    }
    times.sort((a, b) => a - b);
    const line = `verify timing: n=${times.length} p50=${pct(times, 0.5)} ms p95=${pct(times, 0.95)} ms min=${times[0]} ms max=${times.at(-1)} ms`;
    log(line);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'verify-timing.json'), JSON.stringify({ runs: times.length, p50_ms: pct(times, 0.5), p95_ms: pct(times, 0.95), times_ms: times }, null, 2));
  });

  if (adversary) {
    await checks.run('the lying node is built (cargo build -p witness-adversary)', async () => {
      assert(existsSync(adversary.bin), `missing ${adversary.bin}`);
    });
  }
  if (adversary && existsSync(adversary.bin)) {
    for (const mode of ADVERSARY_MODES) {
      await checks.run(`a lying node (${mode}): ${mode === 'honest' ? 'the control verifies consistent' : 'never consistent, and the reason is shown'}`, async () => {
        assert(honest, 'no honest device');
        const adv = await startAdversary(adversary, mode, mode === 'stale' ? ['--stale-inputs', '1'] : []);
        try {
          const app = new URL(adversary.nodeInspectUrl).pathname.split('/').pop();
          await page.evaluate(
            ([rpc, inspect]) => {
              const o = JSON.parse(localStorage.getItem('witness.endpoints.v1') ?? '{}');
              localStorage.setItem('witness.endpoints.v1', JSON.stringify({ ...o, nodeRpcUrl: rpc, nodeInspectUrl: inspect }));
            },
            [`${adv.origin}/rpc`, `${adv.origin}/inspect/${app}`],
          );
          await page.reload();
          const r = await verify(honest);
          await shot(page, `verify-adversary-${mode}`);
          log(`adversary ${mode}: ${r.verdict} (${r.reason})`);
          if (mode === 'honest') {
            assert(r.verdict === 'consistent', `the honest pass-through gave ${r.verdict} (${r.reason})`);
          } else {
            assert(r.verdict && r.verdict !== 'consistent', `a ${mode} node yielded ${r.verdict}`);
            assert(r.verdict === 'cannot_confirm', `a ${mode} node yielded ${r.verdict}, not cannot_confirm`);
            const why = await page.getByTestId('verdict-reason').innerText();
            assert(why.length > 20, 'no reason shown');
          }
        } finally {
          await adv.stop();
          await page.evaluate(
            ([rpc, inspect]) => {
              const o = JSON.parse(localStorage.getItem('witness.endpoints.v1') ?? '{}');
              localStorage.setItem('witness.endpoints.v1', JSON.stringify({ ...o, nodeRpcUrl: rpc, nodeInspectUrl: inspect }));
            },
            [adversary.nodeRpcUrl, adversary.nodeInspectUrl],
          );
          await page.reload();
        }
      });
    }

    await checks.run('a gateway that advertises another application and chain id: refused, with the reason shown', async () => {
      const adv = await startAdversary(adversary, 'lie-config');
      const other = await newPage(browser);
      try {
        // Another origin: its own storage, so the anchors are pinned there too.
        await other.page.goto(`${adv.origin}/#pin=${pin}`);
        const conflict = other.page.getByTestId('anchor-conflict');
        await conflict.waitFor({ timeout: 20000 });
        const text = await conflict.innerText();
        assert(/refused/.test(text) && /application/.test(text) && /chain id/.test(text), `unclear refusal: ${text}`);
        await screenshot(other.page, prefix + 'verify-lying-gateway');
        // The pinned values are what is used: the verification still goes to the pinned application.
        const r = await (async () => {
          await other.page.goto(`${adv.origin}/#/verify?device=${honest}`);
          await other.page.getByRole('button', { name: 'Read device and verify' }).click();
          await other.page.getByTestId('verdict').waitFor({ timeout: 90000 });
          return other.page.getByTestId('verdict').getAttribute('data-verdict');
        })();
        assert(r === 'consistent', `with the gateway's values refused, the pinned application verifies: got ${r}`);
      } finally {
        await other.context.close();
        await adv.stop();
      }
    });
  } else {
    await checks.run('lying nodes and a lying gateway (witness-adversary)', async () => {
      throw new Error(`${adversary?.bin ?? 'witness-adversary'} not found: cargo build -p witness-adversary`);
    });
  }

  await checks.run('without pinned anchors: cannot confirm, and how to pin', async () => {
    const fresh = await newPage(browser);
    try {
      await fresh.page.goto(`${base}/#/verify?device=${honest}`);
      await fresh.page.getByTestId('anchors').waitFor({ timeout: 20000 });
      assert(/No trust anchors pinned/.test(await fresh.page.getByTestId('anchors').innerText()), 'no notice about pinning');
      await fresh.page.getByRole('button', { name: 'Read device and verify' }).click();
      const verdict = fresh.page.getByTestId('verdict');
      await verdict.waitFor({ timeout: 30000 });
      assert((await verdict.getAttribute('data-verdict')) === 'cannot_confirm', 'verdict without anchors');
      assert((await verdict.getAttribute('data-reason')) === 'no_anchors', 'reason without anchors');
      await screenshot(fresh.page, prefix + 'verify-no-anchors');
    } finally {
      await fresh.context.close();
    }
  });

  await checks.run('statistics', async () => {
    await page.goto(`${base}/#/stats`);
    await page.getByTestId('stats-table').waitFor({ timeout: 30000 });
    await shot(page, 'stats');
  });

  await checks.run('system', async () => {
    await page.goto(`${base}/#/system`);
    await page.getByText('Head block').waitFor({ timeout: 30000 });
    await page.getByText('Inputs processed').waitFor({ timeout: 30000 });
    await page.waitForTimeout(1000);
    await shot(page, 'system');
  });

  // Ownership needs consent (PROTOCOL.md 8.4): a second account cannot take the owned car by
  // pairing with it; the owner's "Sell this car" makes a transfer code, with which it can.
  const leafOf = async (device) => {
    const r = await fetch(adversary.nodeInspectUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ type: 'device', device_id: device }) });
    const d = await r.json();
    const answer = JSON.parse(Buffer.from(String(d.reports?.[0]?.payload ?? '').replace(/^0x/, ''), 'hex').toString('utf8'));
    return answer.leaf;
  };
  const buyer = await newPage(browser);
  if (endpoints) await buyer.page.addInitScript((e) => localStorage.getItem('witness.endpoints.v1') || localStorage.setItem('witness.endpoints.v1', JSON.stringify(e)), endpoints);
  let transferCode;
  let sellerOwner;
  try {
    await checks.run('a second account claiming the owned car without a transfer code is refused, in words', async () => {
      assert(honest, 'no claimed device');
      sellerOwner = (await leafOf(honest))?.owner;
      assert(sellerOwner, 'the honest device has no owner on the rollup');
      await buyer.page.goto(`${base}/#/signup`);
      await buyer.page.getByLabel('User name').fill(`${username}b`);
      await buyer.page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
      await buyer.page.getByLabel('Repeat the password').fill('correct horse battery staple');
      await buyer.page.getByRole('button', { name: 'Sign up' }).click();
      await buyer.page.getByTestId('signed-in-as').waitFor({ timeout: 20000 });
      await buyer.page.goto(`${base}/#/devices`);
      await buyer.page.getByRole('heading', { level: 1, name: 'My devices' }).waitFor();
      const note = await buyer.page.getByTestId('pairing-button-note').innerText();
      assert(/behind the dashboard/.test(note) && /ignition/.test(note) && /two minutes/.test(note), `the real car's pairing step is not explained: ${note}`);
      await buyer.page.getByRole('button', { name: 'Look for devices' }).click();
      const list = buyer.page.getByRole('list', { name: 'Devices on the local link' });
      await list.waitFor({ timeout: 30000 });
      await list.locator(`li[data-device="${honest}"]`).getByRole('button', { name: /Claim device/ }).click();
      const result = buyer.page.getByTestId('claim-result');
      await result.waitFor({ timeout: 60000 });
      const text = await result.innerText();
      await screenshot(buyer.page, prefix + 'claim-refused-owned');
      assert(/already has an owner/.test(text) && /transfer code/.test(text), `unclear refusal: ${text}`);
      assert(await buyer.page.getByLabel('Transfer code').isVisible(), 'the transfer code field is not opened for the buyer');
      assert((await leafOf(honest))?.owner === sellerOwner, 'the owner changed without a transfer code');
    });

    await checks.run("the owner's \"Sell this car\": a transfer code as text and QR, with what it means", async () => {
      assert(honest && sellerOwner, 'no owned device');
      await page.goto(`${base}/#/devices/${honest}`);
      const card = page.getByRole('region', { name: 'Sell this car' });
      await card.waitFor({ timeout: 30000 });
      assert((await card.getByLabel('The code expires after').inputValue()) === '72', 'the default expiry is not 72 h');
      const t0 = Math.floor(Date.now() / 1000);
      await card.getByRole('button', { name: 'Make a transfer code' }).click();
      const made = card.getByTestId('transfer-made');
      await made.waitFor({ timeout: 15000 });
      transferCode = await card.getByTestId('transfer-code').inputValue();
      assert(/^witness-transfer-1\.[0-9a-f]{168}$/.test(transferCode), `not a transfer code: ${transferCode}`);
      assert(transferCode.slice(19, 51) === honest, 'the code names another device');
      const expiresAt = Number(await made.getAttribute('data-expires-at'));
      assert(Math.abs(expiresAt - (t0 + 72 * 3600)) < 120, `expires at ${expiresAt}, not 72 h from now`);
      const meaning = await made.innerText();
      assert(/names no buyer/.test(meaning) && /works once/.test(meaning) && /expires/i.test(meaning), `what the code means is not said: ${meaning}`);
      const png = await card.getByTestId('cert-qr').screenshot();
      writeFileSync(join(ARTIFACTS, `${prefix}transfer-code-qr.png`), png);
      const decoded = decodeQrPng(png);
      assert(decoded && decoded.toString('utf8') === transferCode, 'the QR code does not carry the transfer code');
      await card.scrollIntoViewIfNeeded();
      await shot(page, 'sell-transfer-code');
    });

    await checks.run('with the transfer code the second account takes the car over (the owner changes on the leaf)', async () => {
      assert(honest && transferCode, 'no transfer code');
      await buyer.page.goto(`${base}/#/devices`);
      await buyer.page.getByRole('heading', { level: 1, name: 'My devices' }).waitFor();
      if (!(await buyer.page.getByLabel('Transfer code').isVisible())) await buyer.page.getByText('Buying a car that has an owner?').click();
      await buyer.page.getByLabel('Transfer code').fill(transferCode);
      const note = await buyer.page.getByTestId('transfer-note').innerText();
      assert(note.includes(honest) && /valid until/.test(note), `the code is not read: ${note}`);
      assert((await buyer.page.getByLabel('Device id').inputValue()) === honest, 'the code does not fill the device id');
      await screenshot(buyer.page, prefix + 'claim-with-transfer-code');
      await buyer.page.getByRole('button', { name: 'Pair and claim' }).click();
      const result = buyer.page.getByTestId('claim-result');
      await result.waitFor({ timeout: CLAIM_TIMEOUT });
      const text = await result.innerText();
      await screenshot(buyer.page, prefix + 'claim-transferred');
      assert(/The car is yours/.test(text), `the transfer did not complete: ${text}`);
      const leaf = await leafOf(honest);
      assert(leaf?.owner && leaf.owner !== sellerOwner, `the owner on the leaf is still ${leaf?.owner}`);
      const buyerKey = await buyer.page.evaluate((d) => JSON.parse(localStorage.getItem('witness.owner-keys.v1') ?? '{}')[d]?.publicKey, honest);
      assert(leaf.owner === buyerKey, "the leaf's owner is not the buyer's key");
      log(`transferred ${honest}: owner ${sellerOwner.slice(0, 12)}… → ${leaf.owner.slice(0, 12)}…, sequence ${leaf.ownership_sequence}`);
      // The seller's page: no longer the owner, nothing to sell.
      await page.goto(`${base}/#/devices/${honest}`);
      await page.reload();
      await page.getByTestId('owner-passed-on').waitFor({ timeout: 30000 });
      assert((await page.getByRole('region', { name: 'Sell this car' }).count()) === 0, 'the seller can still sell');
      // The buyer's page: theirs, and the history says the car changed hands.
      await buyer.page.goto(`${base}/#/devices/${honest}`);
      await buyer.page.getByText('(yours)').waitFor({ timeout: 30000 });
      assert((await buyer.page.getByRole('region', { name: 'Sell this car' }).count()) === 1, 'the new owner cannot sell');
      await buyer.page.getByText(/Other events/).first().waitFor({ timeout: 90000 }).catch(() => {});
      await screenshot(buyer.page, prefix + 'device-after-transfer');
    });

    await checks.run("a registrar's recovery to the seller's key: shown on the device page with its countdown, and the owner's objection stops it", async () => {
      assert(registrarCli, 'no witness binary to act as the registrar (WITNESS_UP_CMD)');
      assert(honest && sellerOwner, 'no sold device');
      registrarCli(['registrar', 'recover', '--device', honest, '--owner', sellerOwner]);
      const end = Date.now() + CLAIM_TIMEOUT;
      while (!(await leafOf(honest))?.pending_recovery) {
        if (Date.now() > end) throw new Error('the recovery is not pending on the leaf');
        await buyer.page.waitForTimeout(2000);
      }
      const pending = (await leafOf(honest)).pending_recovery;
      await buyer.page.goto(`${base}/#/devices/${honest}`);
      await buyer.page.reload();
      const alert = buyer.page.getByTestId('recovery-pending');
      await alert.waitFor({ timeout: 30000 });
      assert(Number(await alert.getAttribute('data-effective-at')) === pending.effective_at && (await alert.getAttribute('data-owner')) === sellerOwner, 'the alert names another recovery');
      const countdown = await buyer.page.getByTestId('recovery-countdown').innerText();
      assert(/^(6 d 2[0-3] h|7 d 0 h) left to object$/.test(countdown), `countdown: ${countdown}`);
      await buyer.page.getByText(/Other events/).first().waitFor({ timeout: 60000 }).catch(() => {});
      await screenshot(buyer.page, prefix + 'device-recovery-pending');
      await alert.getByRole('button', { name: 'Object' }).click();
      await alert.getByText(/Objection sent|The recovery is stopped/).first().waitFor({ timeout: 30000 });
      await screenshot(buyer.page, prefix + 'device-recovery-objection-sent');
      const until = Date.now() + CLAIM_TIMEOUT;
      while ((await leafOf(honest))?.pending_recovery) {
        if (Date.now() > until) throw new Error('the objection was not processed');
        await buyer.page.waitForTimeout(2000);
      }
      await buyer.page.getByTestId('recovery-pending').waitFor({ state: 'detached', timeout: 30000 });
      const after = await leafOf(honest);
      assert(after.pending_recovery === null, 'the recovery is still pending');
      assert(after.owner !== sellerOwner, 'the recovery took the car back');
      await screenshot(buyer.page, prefix + 'device-recovery-objected');
    });
  } finally {
    await buyer.context.close();
  }

  await checks.run('log out', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in' }).waitFor({ timeout: 10000 });
  });

  if (registrar) {
    await checks.run('system as a registrar (gateway queue and rejections)', async () => {
      await page.goto(`${base}/#/login`);
      await page.getByLabel('User name').fill(registrar.username);
      await page.getByLabel('Password', { exact: true }).fill(registrar.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByTestId('signed-in-as').waitFor({ timeout: 20000 });
      await page.goto(`${base}/#/system`);
      await page.getByText('Waiting to be sent').waitFor({ timeout: 30000 });
      // `witness up`'s default cost policy, as the gateway reports it.
      await page.getByText('sends at ≤ 1,000 gas per reading, or after 24 h, or at 60 KiB').waitFor({ timeout: 10000 });
      await page.waitForTimeout(1000);
      await shot(page, 'system-registrar');
    });
  }

  await checks.run('no console errors and no uncaught exceptions', async () => {
    // The lying nodes' refusals reach the console as failed requests; they are expected.
    const errors = [...problems.pageErrors.map((e) => `uncaught: ${e.text}`), ...problems.consoleErrors.filter((e) => !/Failed to load resource/.test(e.text)).map((e) => `console: ${e.text} (${e.url})`)];
    if (problems.badResponses.length) log(`HTTP errors seen by the browser: ${problems.badResponses.join(' | ')}`);
    assert(errors.length === 0, errors.join(' | '));
  });
}
