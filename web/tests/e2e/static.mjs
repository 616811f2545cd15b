// Static mode: the built dashboard served by `vite preview` with every API unreachable. Each
// page must render, say in words what failed, and raise no uncaught exception.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { Checks, REPO, WEB, assert, decodeQrPng, freePort, launchBrowser, log, newPage, screenshot, start, waitForHttp } from './lib.mjs';

export async function runStatic() {
  const checks = new Checks();
  if (!existsSync(join(WEB, 'dist', 'index.html'))) throw new Error('web/dist is missing: run `npm run build` first');
  const [port, dead1, dead2, dead3, dead4, dead5] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const base = `http://127.0.0.1:${port}`;
  const preview = start('vite preview', process.execPath, [join(WEB, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    env: { WITNESS_GATEWAY: `http://127.0.0.1:${dead1}` },
  });
  let browser;
  try {
    await waitForHttp(base + '/', 30000);
    browser = await launchBrowser();
    const { page, problems } = await newPage(browser);
    // Point every source at a closed port, so nothing that happens to run on the defaults answers.
    const endpoints = {
      nodeInspectUrl: `http://127.0.0.1:${dead2}/inspect/0x0000000000000000000000000000000000000001`,
      nodeRpcUrl: `http://127.0.0.1:${dead3}/rpc`,
      chainRpcUrl: `http://127.0.0.1:${dead4}`,
      localLinkUrl: `http://127.0.0.1:${dead5}`,
      application: '0x0000000000000000000000000000000000000001',
    };
    await page.addInitScript((e) => localStorage.setItem('witness.endpoints.v1', JSON.stringify(e)), endpoints);

    const visit = async (hash, heading, shot, expectAlert = true) => {
      await page.goto(`${base}/#${hash}`);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: 15000 });
      if (expectAlert) await page.locator('.alert:visible').first().waitFor({ timeout: 30000 });
      await page.waitForTimeout(300);
      await screenshot(page, shot);
    };

    await checks.run('home page renders', async () => {
      await visit('/', 'The Witness', 'static-home', false);
      assert((await page.locator('.tile').count()) === 4, 'expected four tiles');
    });
    await checks.run('sign up: the gateway being unreachable is said in words', async () => {
      await visit('/signup', 'Create an account', 'static-signup-empty', false);
      await page.getByLabel('User name').fill('alice');
      await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
      await page.getByLabel('Repeat the password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Sign up' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 20000 });
      const text = await alert.innerText();
      assert(/Could not create the account/.test(text), `unexpected alert: ${text}`);
      await screenshot(page, 'static-signup-error');
    });
    await checks.run('sign up: form validation', async () => {
      await page.getByLabel('Repeat the password').fill('something else');
      await page.getByRole('button', { name: 'Sign up' }).click();
      assert(/differ/.test(await page.getByRole('alert').innerText()), 'expected the mismatch message');
    });
    await checks.run('my devices asks to log in', async () => {
      await visit('/devices', 'My devices', 'static-devices');
      assert(/Log in to see your devices/.test(await page.locator('main').innerText()), 'expected the log-in prompt');
    });
    await checks.run('verify without pinned anchors: cannot confirm, and how to pin', async () => {
      await visit('/verify?device=26d3b382d70a0b277e991984dcc7007e', 'Verify a car', 'static-verify-empty', false);
      assert(/No trust anchors pinned/.test(await page.getByTestId('anchors').innerText()), 'expected the pinning notice');
      await page.getByRole('button', { name: 'Read device and verify' }).click();
      const verdict = page.getByTestId('verdict');
      await verdict.waitFor({ timeout: 30000 });
      assert((await verdict.getAttribute('data-verdict')) === 'cannot_confirm' && (await verdict.getAttribute('data-reason')) === 'no_anchors', 'expected cannot_confirm / no_anchors');
      await screenshot(page, 'static-verify-no-anchors');
    });
    await checks.run('verify with typed anchors: an unreachable chain is reported', async () => {
      await page.getByRole('button', { name: 'Type the anchors' }).click();
      await page.getByLabel('Chain id').fill('31337');
      await page.getByLabel('Application address').fill('0x' + '11'.repeat(20));
      await page.getByLabel('Consensus address').fill('0x' + '22'.repeat(20));
      await page.getByRole('button', { name: 'Pin these anchors' }).click();
      await page.getByText('typed in by you').first().waitFor({ timeout: 5000 });
      await page.getByRole('button', { name: 'Read device and verify' }).click();
      const verdict = page.getByTestId('verdict');
      await verdict.waitFor({ timeout: 30000 });
      assert((await verdict.getAttribute('data-reason')) === 'chain_unreachable', `expected chain_unreachable, got ${await verdict.getAttribute('data-reason')}`);
      assert(/could not be asked/.test(await page.getByTestId('verdict-reason').innerText()), 'expected a readable reason');
      await screenshot(page, 'static-verify-error');
    });
    await checks.run('verify: a bad device id is refused', async () => {
      await page.getByLabel('Device id').fill('xyz');
      await page.getByRole('button', { name: 'Read device and verify' }).click();
      await page.getByText('A device id is 32 hexadecimal digits.').waitFor({ timeout: 5000 });
    });
    // Certificates (PROTOCOL.md 18): checked offline, so this page works with every service down.
    const certVectors = JSON.parse(readFileSync(join(REPO, 'docs/protocol-vectors.json'), 'utf8')).vectors.filter((v) => v.kind === 'certificate');
    const summaryVector = certVectors.find((v) => v.name === 'certificate_summary');
    const tmp = mkdtempSync(join(tmpdir(), 'witness-static-'));
    const certBytes = Buffer.from(summaryVector.certificate, 'hex');
    const certPath = join(tmp, `${summaryVector.findings.device_id}.wtnc`);
    writeFileSync(certPath, certBytes);
    const fullVector = certVectors.find((v) => v.name === 'certificate_full');
    const fullPath = join(tmp, 'full.wtnc.txt');
    // The full one as its text form (18.6): base64 in lines of 64 between the two lines.
    const b64 = Buffer.from(fullVector.certificate, 'hex').toString('base64');
    writeFileSync(fullPath, `-----BEGIN WITNESS CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END WITNESS CERTIFICATE-----\n`);
    const qrPath = join(tmp, 'certificate-qr.png');
    // Drawn as the dashboard draws certificates (src/components/qr.ts): level L, the smallest
    // version that fits except 23, which jsQR misreads (SKIPPED_VERSIONS there).
    const segments = [{ data: certBytes, mode: 'byte' }];
    const fits = QRCode.create(segments, { errorCorrectionLevel: 'L' }).version;
    const version = fits === 23 ? 24 : fits;
    writeFileSync(qrPath, await QRCode.toBuffer(segments, { errorCorrectionLevel: 'L', version, scale: 4, margin: 4 }));
    try {
      await checks.run('check a certificate: the page renders and refuses a garbage paste with a reason', async () => {
        await visit('/certificate', 'Check a certificate', 'static-certificate', false);
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Check a certificate' }).waitFor({ timeout: 5000 });
        await page.getByLabel('Or paste its text').fill('-----BEGIN WITNESS CERTIFICATE-----\nthis is not a certificate!\n-----END WITNESS CERTIFICATE-----');
        await page.getByRole('button', { name: 'Check the text' }).click();
        const verdict = page.getByTestId('cert-verdict');
        await verdict.waitFor({ timeout: 5000 });
        assert((await verdict.getAttribute('data-state')) === 'refused', 'garbage was not refused');
        const code = await verdict.getAttribute('data-code');
        const reason = await page.getByTestId('cert-reason').innerText();
        assert(code && reason.length > 20, `no reason: ${code} ${reason}`);
        log(`garbage paste refused: ${code}: ${reason}`);
        await screenshot(page, 'static-certificate-garbage');
      });
      await checks.run('check a certificate: one for another application than the pinned one is refused (application_mismatch)', async () => {
        // The anchors typed above: chain 31337, application 0x11…, consensus 0x22….
        await page.getByLabel('The certificate file').setInputFiles(certPath);
        const verdict = page.getByTestId('cert-verdict');
        await page.getByTestId('cert-source').getByText(/the file/).waitFor({ timeout: 5000 });
        assert((await verdict.getAttribute('data-code')) === 'application_mismatch', `got ${await verdict.getAttribute('data-state')} ${await verdict.getAttribute('data-code')}`);
        assert(/another application/.test(await page.getByTestId('cert-reason').innerText()), 'no plain reason');
      });
      await checks.run('check a certificate: a picture of its QR code reads to the same certificate', async () => {
        await page.getByLabel('A picture of the QR code').setInputFiles(qrPath);
        await page.getByTestId('cert-source').getByText(/QR code in certificate-qr\.png/).waitFor({ timeout: 15000 });
        assert((await page.getByTestId('cert-verdict').getAttribute('data-code')) === 'application_mismatch', 'the QR code did not read to the certificate');
      });
      await checks.run('check a certificate without pinned anchors: valid, showing the anchors it claims; its printable QR code decodes to the file', async () => {
        await page.evaluate(() => localStorage.removeItem('witness.anchors.v1'));
        await page.reload();
        await page.getByRole('heading', { level: 1, name: 'Check a certificate' }).waitFor({ timeout: 10000 });
        assert((await page.getByTestId('cert-anchors').getAttribute('data-pinned')) === 'none', 'anchors still pinned');
        await page.getByLabel('The certificate file').setInputFiles(certPath);
        const verdict = page.getByTestId('cert-verdict');
        await verdict.waitFor({ timeout: 5000 });
        assert((await verdict.getAttribute('data-state')) === 'valid', `refused: ${await verdict.innerText()}`);
        assert((await page.getByTestId('cert-device').innerText()) === summaryVector.findings.device_id, 'another device shown');
        assert((await page.getByTestId('cert-highest').getAttribute('data-odometer-m')) === String(summaryVector.findings.highest.reading.odometer_m), 'another highest reading shown');
        // The summary discloses the vehicle (18.2): its VIN opens the leaf's commitment, for the buyer to compare with the plate.
        const vin = page.getByTestId('cert-vin');
        assert((await vin.getAttribute('data-vin')) === summaryVector.findings.vin, `another VIN shown: ${await vin.getAttribute('data-vin')}`);
        assert((await vin.innerText()).includes(`VIN ${summaryVector.findings.vin} matches the record`), `the VIN is not said to match: ${await vin.innerText()}`);
        const unpinned = await page.getByTestId('cert-unpinned').innerText();
        assert(unpinned.includes('0x' + summaryVector.pinned.application), `the claimed anchors are not named: ${unpinned}`);
        await screenshot(page, 'static-certificate-unpinned');
        await page.getByRole('button', { name: 'Printable page' }).click();
        const sheet = page.getByTestId('cert-sheet');
        await sheet.waitFor({ timeout: 5000 });
        const decoded = decodeQrPng(await sheet.getByTestId('cert-qr').screenshot());
        assert(decoded && Buffer.compare(decoded, certBytes) === 0, 'the printable QR code does not decode to the file');
        await page.emulateMedia({ media: 'print' });
        await screenshot(page, 'static-certificate-print');
        await page.emulateMedia({ media: 'screen' });
      });
      await checks.run('check a certificate: a full one in its text form shows its readings; its printable page offers no QR code', async () => {
        await page.goto(`${base}/#/certificate`);
        await page.getByLabel('The certificate file').setInputFiles(fullPath);
        const verdict = page.getByTestId('cert-verdict');
        await verdict.waitFor({ timeout: 5000 });
        assert((await verdict.getAttribute('data-state')) === 'valid' && (await verdict.getAttribute('data-level')) === 'full', `not a valid full certificate: ${await verdict.innerText()}`);
        const rows = await page.getByTestId('cert-disclosed').locator('tbody tr').count();
        assert(rows === fullVector.findings.disclosed.length, `${rows} disclosed rows, the vector has ${fullVector.findings.disclosed.length}`);
        await screenshot(page, 'static-certificate-full');
        await page.getByRole('button', { name: 'Printable page' }).click();
        await page.getByTestId('cert-sheet').getByTestId('cert-qr-too-large').waitFor({ timeout: 5000 });
      });
      await checks.run('check a certificate: no camera is said in words', async () => {
        await visit('/certificate', 'Check a certificate', 'static-certificate-camera', false);
        await page.getByRole('button', { name: 'Read the QR code with the camera' }).click();
        const err = page.getByTestId('camera-error');
        await err.waitFor({ timeout: 15000 });
        log(`camera: ${await err.innerText()}`);
        await screenshot(page, 'static-certificate-no-camera');
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    await checks.run('statistics: unreachable rollup is reported', async () => {
      await visit('/stats', 'Fleet statistics', 'static-stats');
      assert(/Could not load the statistics/.test(await page.locator('main').innerText()), 'expected the statistics error');
    });
    await checks.run('system: each source reports its own failure', async () => {
      await visit('/system', 'System', 'static-system');
      await page.getByText('Could not ask the chain').waitFor({ timeout: 30000 });
      await page.getByText('Could not ask the rollup node').waitFor({ timeout: 30000 });
      await screenshot(page, 'static-system');
    });
    await checks.run('device page without a key or sources', async () => {
      await visit('/devices/26d3b382d70a0b277e991984dcc7007e', /Device|Model/, 'static-device');
      assert(/owner key for this device is not in this browser/.test(await page.locator('main').innerText()), 'expected the missing-key notice');
    });
    await checks.run("device page, signed in: the gateway's latest receipts with their status", async () => {
      // Only the gateway answers here, routed in the browser (shapes of docs/openapi.json).
      const id = '26d3b382d70a0b277e991984dcc7007e';
      const receipt = (counter, status, extra = {}) => ({ envelope_hash: String(counter).padStart(64, '0'), status, kind: 'envelope', device_id: id, counter, received_at: 1767225600000 + counter * 60000, ...extra });
      const detail = {
        device: { device_id: id, model: 1, status: 'active', public_key: 'aa'.repeat(32), owned_by_you: true, registered_at: 1767225600000 },
        submission: { accepted: 4, pending: 1, submitted: 1, included: 0, attested: 1, rejected: 1, last_counter: 3, last_received_at: 1767225780000 },
        receipts: [
          receipt(3, 'pending'),
          receipt(2, 'submitted', { tx_hash: '0x' + '07'.repeat(32) }),
          receipt(1, 'rejected', { tx_hash: '0x' + '06'.repeat(32), input_index: 5, block_number: 40, message_index: 1, reason: 'timestamp_too_old' }),
          receipt(0, 'attested', { tx_hash: '0x' + '06'.repeat(32), input_index: 5, block_number: 40, message_index: 0 }),
        ],
        rollup: null,
        rollup_error: 'this gateway is not connected to a rollups node',
      };
      const answers = {
        '/v1/auth/me': { id: 1, username: 'alice', role: 'owner', created_at: 1767225600000 },
        [`/v1/devices/${id}`]: detail,
      };
      const route = (r) => {
        const body = answers[new URL(r.request().url()).pathname];
        return body ? r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) }) : r.fallback();
      };
      await page.route('**/v1/**', route);
      await page.evaluate(() => localStorage.setItem('witness.signed-in', '1'));
      try {
        // A load, not a hash change: the session is looked up when the app starts.
        await page.goto(`${base}/#/devices/${id}`);
        await page.reload();
        await page.getByRole('heading', { level: 1, name: /Device|Model/ }).waitFor({ timeout: 15000 });
        const table = page.getByTestId('receipts-table');
        await table.waitFor({ timeout: 15000 });
        const statuses = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
        assert(JSON.stringify(statuses) === JSON.stringify(['pending', 'submitted', 'rejected', 'attested']), `rows: ${statuses}`);
        const text = await page.getByRole('region', { name: 'On its way to the rollup (gateway)' }).innerText();
        assert(/2 envelope\(s\) not on chain yet/.test(text), `no count of what is not on chain: ${text}`);
        assert(/rejected: timestamp_too_old/.test(text) && /waiting to be sent/.test(text), `statuses not in words: ${text}`);
        await screenshot(page, 'static-device-receipts');
      } finally {
        await page.unroute('**/v1/**', route);
        await page.evaluate(() => localStorage.removeItem('witness.signed-in'));
      }
    });
    await checks.run("device page: a unit that replaced another names the earlier unit's record; the replaced unit points at the current one", async () => {
      // Only the node's inspect answers here (device queries), routed in the browser.
      const fresh = '5ac0ffee5ac0ffee5ac0ffee5ac0ffee';
      const old = '01d01d01d01d01d01d01d01d01d01d01';
      const view = (id, patch) => ({
        device_id: id, model: 1, public_key: 'aa'.repeat(32), status: 'active', revoked: false, flagged: false, open_tampers: 0, last_counter: null, owner: null,
        ownership_sequence: null, era: 0, attested: 0, highest: null, first: null, tamper_events: 0, latest_tamper: null, corrections: 0, latest_correction: null,
        corrected_baseline: null, vehicle: 'dd'.repeat(32), predecessor: null, successor: null, history: { count: 1, root: '00'.repeat(32), last_input: 4 }, ...patch,
      });
      const leaves = {
        [fresh]: view(fresh, { predecessor: old, corrected_baseline: { odometer_m: 152000000, input_index: 41 }, history: { count: 1, root: '00'.repeat(32), last_input: 41 } }),
        [old]: view(old, {
          status: 'replaced', flagged: true, successor: fresh, attested: 12, open_tampers: 1, tamper_events: 2, last_counter: 14,
          latest_tamper: { counter: 9, reference_counter: 8, input_index: 20 }, highest: { counter: 14, commitment: '00'.repeat(32), input_index: 39 },
        }),
      };
      const hex = (text) => Buffer.from(text, 'utf8').toString('hex');
      const route = (r) => {
        let query;
        try {
          query = JSON.parse(r.request().postData() ?? '');
        } catch {
          return r.fallback();
        }
        if (query?.type !== 'device' || !leaves[query.device_id]) return r.fallback();
        const answer = { type: 'device', device_id: query.device_id, exists: true, input_index: 41, leaf: leaves[query.device_id] };
        return r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ status: 'Accepted', reports: [{ payload: '0x' + hex(JSON.stringify(answer)) }], processed_input_count: 42 }) });
      };
      await page.route('**/inspect/**', route);
      try {
        await page.goto(`${base}/#/devices/${fresh}`);
        const units = page.getByTestId('device-earlier-units');
        await units.getByText(/Unit replaced at input 41/).waitFor({ timeout: 15000 });
        const line = await units.innerText();
        assert(line.includes(`Unit replaced at input 41; the vehicle's record includes unit ${old}: 12 attested readings, 2 rollbacks (1 open)`), `earlier unit not in words: ${line}`);
        assert(/the unit's replacement stated at input 41/.test(await page.getByTestId('device-baseline').innerText()), 'the baseline is not said to be the replacement\'s');
        assert(/keeps the vehicle flagged/.test(await page.getByTestId('device-vehicle-flagged').innerText()), 'the open rollback of the earlier unit is not said to flag the vehicle');
        await screenshot(page, 'static-device-replacement');
        await page.goto(`${base}/#/devices/${old}`);
        const replaced = page.getByTestId('device-replaced');
        await replaced.waitFor({ timeout: 15000 });
        const text = await replaced.innerText();
        assert(text.includes(`This unit was replaced by ${fresh}; check the vehicle's current unit`), `the replacement is not said: ${text}`);
        assert((await page.locator('.badge-replaced').count()) > 0, 'no "replaced" badge');
        await screenshot(page, 'static-device-replaced');
      } finally {
        await page.unroute('**/inspect/**', route);
      }
    });
    await checks.run('unknown page', async () => {
      await page.goto(`${base}/#/nowhere`);
      await page.getByText('Page not found').waitFor({ timeout: 5000 });
    });
    await checks.run('narrow screen: the menu opens from its button', async () => {
      await page.setViewportSize({ width: 390, height: 800 });
      await page.goto(`${base}/#/`);
      await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Statistics', exact: true }).waitFor({ state: 'visible', timeout: 5000 });
      await screenshot(page, 'static-mobile-menu');
      await page.setViewportSize({ width: 1280, height: 900 });
    });
    await checks.run('no uncaught exceptions; console errors only from unreachable services', async () => {
      const unexpected = problems.consoleErrors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(e.text));
      assert(problems.pageErrors.length === 0, `uncaught: ${problems.pageErrors.map((e) => e.text).join(' | ')}`);
      assert(unexpected.length === 0, `console errors: ${unexpected.map((e) => e.text).join(' | ')}`);
      log(`${problems.consoleErrors.length} console message(s) about unreachable services (expected here)`);
    });
  } finally {
    await browser?.close();
    await preview.stop();
  }
  return checks.summary();
}
