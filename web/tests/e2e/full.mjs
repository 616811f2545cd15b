// Full mode: starts the whole system with `witness up --fresh --data-dir <tmp>` (or the
// command in WITNESS_UP_CMD, where `{data_dir}` is replaced), waits for its ready line, runs
// the owner's and the verifier's scenario in Chromium, saves screenshots under web/artifacts/
// and stops everything it started.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, Checks, REPO, WEB, allowsCors, assert, corsProxy, freePort, launchBrowser, log, newPage, screenshot, start, waitForHttp } from './lib.mjs';

const secs = (name, dflt) => Number(process.env[name] ?? dflt) * 1000;
const READY_TIMEOUT = secs('WITNESS_UP_TIMEOUT', 300);
const CLAIM_TIMEOUT = secs('E2E_CLAIM_TIMEOUT', 240);
const PROOF_TIMEOUT = secs('E2E_PROOF_TIMEOUT', 240);
const ROLLBACK_TIMEOUT = secs('E2E_ROLLBACK_TIMEOUT', 420);

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
      endpoints: overrides,
      registrar: demo ? { username: demo[1], password: demo[2] } : undefined,
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

/** The owner's and the verifier's walk through the dashboard at `base`. */
export async function runScenario(browser, base, checks, { prefix = '', endpoints, registrar } = {}) {
  const shot = (page, name) => screenshot(page, prefix + name);
  const { page, problems } = await newPage(browser);
  if (endpoints) await page.addInitScript((e) => localStorage.setItem('witness.endpoints.v1', JSON.stringify(e)), endpoints);
  const username = `e2e${Date.now().toString(36)}`;
  let honest;
  let rolledBack;

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

  await checks.run('see the history of the claimed device', async () => {
    assert(honest, 'no claimed device');
    await page.goto(`${base}/#/devices/${honest}`);
    const rows = page.locator('[data-testid=history-table] tbody tr');
    const end = Date.now() + 120000;
    while ((await rows.count()) === 0 && Date.now() < end) {
      await rows.first().waitFor({ timeout: 20000 }).catch(() => {});
      if ((await rows.count()) === 0) await page.reload();
    }
    assert((await rows.count()) > 0, 'no readings in the history');
    await page.locator('figure.chart svg').first().waitFor();
    await page.waitForTimeout(3000); // proof statuses and transaction hashes fill in
    await shot(page, 'device-history');
  });

  const verify = async (device) => {
    await page.goto(`${base}/#/verify?device=${device}`);
    await page.getByRole('heading', { level: 1, name: 'Verify a car' }).waitFor();
    await page.getByRole('button', { name: 'Read device and verify' }).click();
    await page.getByTestId('verdict').or(page.getByText('Verification could not finish')).first().waitFor({ timeout: 60000 });
    await page.locator('.step-running').first().waitFor({ state: 'detached', timeout: 90000 }).catch(() => {});
    const verdict = page.getByTestId('verdict');
    return (await verdict.count()) ? verdict.getAttribute('data-verdict') : null;
  };

  await checks.run('verify the honest device: consistent', async () => {
    assert(honest, 'no honest device');
    const verdict = await verify(honest);
    await shot(page, 'verify-consistent');
    assert(verdict === 'consistent', `verdict ${verdict}`);
  });

  await checks.run('the attesting notice is proven on chain', async () => {
    assert(honest, 'no honest device');
    const end = Date.now() + PROOF_TIMEOUT;
    let statuses = [];
    for (;;) {
      statuses = await page.locator('[data-testid=proofs] li').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-status')}: ${e.textContent}`));
      if (statuses.some((s) => s.startsWith('proven'))) break;
      if (statuses.some((s) => s.startsWith('failed'))) throw new Error(statuses.join(' | '));
      if (Date.now() > end) throw new Error(`not proven within ${PROOF_TIMEOUT / 1000} s: ${statuses.join(' | ') || 'no proof shown'}`);
      await page.waitForTimeout(10000);
      await verify(honest);
    }
    await shot(page, 'verify-proven');
  });

  await checks.run('verify the rolled-back device: rollback', async () => {
    assert(rolledBack, 'the local link lists no device with the rollback scenario');
    const end = Date.now() + ROLLBACK_TIMEOUT;
    let verdict;
    for (;;) {
      verdict = await verify(rolledBack);
      if (verdict === 'rollback' || Date.now() > end) break;
      log(`rolled-back device says ${verdict}; waiting for its rollback to be attested`);
      await page.waitForTimeout(10000);
    }
    await shot(page, 'verify-rollback');
    assert(verdict === 'rollback', `verdict ${verdict}`);
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
    const errors = [...problems.pageErrors.map((e) => `uncaught: ${e.text}`), ...problems.consoleErrors.map((e) => `console: ${e.text} (${e.url})`)];
    if (problems.badResponses.length) log(`HTTP errors seen by the browser: ${problems.badResponses.join(' | ')}`);
    assert(errors.length === 0, errors.join(' | '));
  });
}
