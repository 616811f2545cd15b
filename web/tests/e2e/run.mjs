// `npm run test:e2e`: the full scenario against a system started by `witness up` (or
// WITNESS_UP_CMD). `npm run test:e2e -- --static` (or test:e2e:static): the built pages
// against unreachable services.
import { runStatic } from './static.mjs';
import { runFull } from './full.mjs';

const mode = process.argv.includes('--static') ? 'static' : (process.env.WITNESS_E2E_MODE ?? 'full');
try {
  const ok = mode === 'static' ? await runStatic() : await runFull();
  process.exit(ok ? 0 : 1);
} catch (e) {
  console.error(`e2e: ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
