import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { fromHex } from '../lib/hex';
import { verifyCertificateOffline, type CertificateFindings } from '../lib/certificate';
import type { Correction } from '../lib/notices';
import { str, vector } from '../test/vectors';
import { CertificateCorrections, CertificateVerdict } from './CertificateView';

const v = vector('certificate_full');
const p = v.pinned as { chain_id: number; application: string; consensus: string };
const full = () => verifyCertificateOffline(fromHex(str(v, 'certificate')), { chainId: p.chain_id, application: `0x${p.application}`, consensus: `0x${p.consensus}` });

const fix: Correction = {
  deviceId: full().deviceId,
  counter: 2n,
  odometerM: 81_020_000n,
  baselineM: 1_200_000n,
  reason: 'cluster_replaced',
  evidence: 'workshop_record',
  evidenceDigest: 'ab'.repeat(32),
  note: 'cluster replaced; the new one shows 1,200 km',
};

/** The vector's findings as if a correction had cleared a rollback at counter 2 and set a baseline. */
function corrected(): CertificateFindings {
  const f = full();
  return {
    ...f,
    leaf: { ...f.leaf, tamperEvents: 1, openTampers: 0, flagged: false, corrections: 1, latestCorrection: { counter: 2n, inputIndex: 6n }, correctedBaseline: { odometerM: 1_200_000n, inputIndex: 6n } },
    disclosed: f.disclosed.map((r) => ({ ...r, rollback: r.counter === 2n })),
    corrections: [{ inputIndex: 6n, registrar: '7b'.repeat(32), cleared: true, correction: fix }],
  };
}

const render = (f: CertificateFindings) => renderToStaticMarkup(createElement(CertificateVerdict, { findings: f, size: 1000, l1: { state: 'idle' } }));

describe('the certificate view', () => {
  it('shows the corrected baseline, open vs all rollbacks, and each correction of a full certificate', () => {
    const html = render(corrected());
    expect(html).toContain('data-testid="cert-baseline" data-odometer-m="1200000"');
    expect(html).toContain("baseline 1,200.0 km set by a registrar&#x27;s correction at input 6");
    expect(html).toContain('data-testid="cert-rollbacks" data-open="0" data-total="1"');
    expect(html).toContain('data-testid="cert-corrections"');
    expect(html).toContain('data-counter="2" data-cleared="true"');
    expect(html).toContain('cluster replaced; the new one shows 1,200 km');
    expect(html).toContain('a workshop&#x27;s record of the repair (SHA-256 abababababababab…)');
    // The cleared rollback is not shown as a tamper alert.
    expect(html).toContain('rollback, cleared by a correction');
    expect(html).not.toContain('>tamper<');
  });
  it('a summary counts the corrections without listing them; a record without any shows no section', () => {
    const f = corrected();
    const summary = renderToStaticMarkup(createElement(CertificateCorrections, { findings: { ...f, level: 'summary', corrections: [] } }));
    expect(summary).toContain('data-testid="cert-corrections-summary"');
    expect(summary).toContain('1 (the latest of counter 2, at input 6) on record');
    expect(renderToStaticMarkup(createElement(CertificateCorrections, { findings: full() }))).toBe('');
    const plain = render(full());
    expect(plain).not.toContain('cert-baseline');
    expect(plain).toContain('data-testid="cert-rollbacks" data-open="0" data-total="0"');
  });
});
