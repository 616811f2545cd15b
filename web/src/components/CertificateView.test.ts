import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { fromHex } from '../lib/hex';
import { verifyCertificateOffline, type CertificateFindings } from '../lib/certificate';
import type { Correction } from '../lib/notices';
import { str, vector } from '../test/vectors';
import { CertificateCorrections, CertificateEarlierUnits, CertificateVerdict } from './CertificateView';

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

describe("the certificate view: the vehicle", () => {
  it('shows the disclosed VIN as matching the record, or says it is not disclosed', () => {
    const html = render(full());
    expect(html).toContain('data-testid="cert-vin" data-vin="WTN1ERVPT76V2AGYM"');
    expect(html).toContain('VIN WTN1ERVPT76V2AGYM matches the record.');
    const hidden = render({ ...full(), vin: null });
    expect(hidden).toContain('data-testid="cert-vin" data-vin=""');
    expect(hidden).toContain('does not disclose the car&#x27;s VIN');
    expect(html).not.toContain('cert-earlier-units');
  });
  it("lists the vehicle's earlier units with their records, and warns when one has an open rollback", () => {
    const f = full();
    const oldId = '0a'.repeat(16);
    const old = { ...f.leaf, deviceId: oldId, predecessor: null, successor: f.deviceId, attested: 12n, tamperEvents: 2, openTampers: 1, flagged: true };
    const g: CertificateFindings = { ...f, leaf: { ...f.leaf, predecessor: oldId, correctedBaseline: { odometerM: 1n, inputIndex: 4n } }, earlierUnits: [old] };
    const units = renderToStaticMarkup(createElement(CertificateEarlierUnits, { findings: g }));
    expect(units).toContain(`data-device="${oldId}" data-open="1" data-total="2"`);
    expect(units).toContain(`Unit replaced at input 4; the vehicle&#x27;s record includes unit ${oldId}: 12 attested readings, 2 rollbacks (1 open).`);
    const html = render(g);
    expect(html).toContain('Valid certificate, with a warning');
    expect(html).toContain(`of the vehicle&#x27;s earlier unit ${oldId} not cleared`);
  });
  it("a replaced unit's certificate says where the vehicle's record went", () => {
    const f = full();
    const html = render({ ...f, leaf: { ...f.leaf, successor: 'bb'.repeat(16) } });
    expect(html).toContain(`data-testid="cert-replaced" data-successor="${'bb'.repeat(16)}"`);
    expect(html).toContain(`This unit was replaced by ${'bb'.repeat(16)}; check the vehicle&#x27;s current unit.`);
  });
});
