// Mock mode: the full scenario against tests/e2e/mock-system.mjs (same HTTP shapes as the
// real parts). Exercises the pages' happy paths where `witness up` is not available.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { Checks, WEB, freePort, launchBrowser, log } from './lib.mjs';
import { startMockSystem } from './mock-system.mjs';
import { runScenario } from './full.mjs';

export async function runMock() {
  if (!existsSync(join(WEB, 'dist', 'index.html'))) throw new Error('web/dist is missing: run `npm run build` first');
  const ports = { gateway: await freePort(), node: await freePort(), chain: await freePort(), link: await freePort() };
  const system = await startMockSystem({ webDist: join(WEB, 'dist'), ports });
  log(`mock system: dashboard ${system.gatewayUrl}`);
  const checks = new Checks();
  const browser = await launchBrowser();
  try {
    await runScenario(browser, system.gatewayUrl, checks, { prefix: 'mock-' });
  } finally {
    await browser.close();
    await system.stop();
  }
  return checks.summary();
}
