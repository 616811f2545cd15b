import { describe, expect, it } from 'vitest';
import { fromHex } from '../lib/hex';
import { CERTIFICATE_CODES, verifyCertificateOffline, type CertAnchors } from '../lib/certificate';
import { ofKind, str, vector } from '../test/vectors';
import { certificatePoints, certificateFileName, hasProblem, readingText, refusalText, REFUSALS, statusText, summaryRows, summaryText } from './certificateSummary';
import { earlierUnitLines, earlierUnitText, unitRecordText } from '../lib/units';
import { replacementInput } from '../lib/state';
import type { CertificateFindings, RecordedCorrection } from '../lib/certificate';
import type { Correction } from '../lib/notices';
import { rollbacksText } from '../lib/corrections';
import { checkInput } from '../pages/CertificatePage';

function pinnedOf(name: string): CertAnchors {
  const p = vector(name).pinned as { chain_id: number; application: string; consensus: string };
  return { chainId: p.chain_id, application: `0x${p.application}`, consensus: `0x${p.consensus}` };
}

const summary = () => verifyCertificateOffline(fromHex(str(vector('certificate_summary'), 'certificate')), pinnedOf('certificate_summary'));

describe('the summary of a certificate, in words', () => {
  it('names the device, the highest and first attested readings with their dates, the counts and the claim', () => {
    const f = summary();
    const text = summaryText(f);
    expect(text).toContain('Device: a8f931094082a72b44a6c79cac7bd729');
    expect(text).toContain('Vehicle: VIN WTN1ERVPT76V2AGYM matches the record: compare it with the VIN plate on the car');
    expect(text).not.toContain('Earlier unit');
    // Highest: counter 3, 81,050 km at 1790107200 (2026-09-22 20:00 UTC); first: counter 1, 81,000 km.
    expect(text).toContain('Highest attested reading: 81,050.0 km on 2026-09-22 20:00 UTC (counter 3)');
    expect(text).toContain('First attested reading: 81,000.0 km on 2026-09-22 18:00 UTC (counter 1)');
    expect(text).toContain('Attested readings: 3');
    expect(text).toContain('Rollbacks on record: none');
    expect(text).toContain('Registrar corrections: none');
    expect(text).not.toContain('Baseline:');
    expect(text).toMatch(/Ownership changes \(era\): \d+/);
    expect(text).toContain('As of: block 1,210 (claim in block 1,215), state of input 5 dated');
    expect(text).toContain('Anchors (match the ones you pinned): chain 31337');
    expect(text).not.toContain('History:');
  });

  it('says when the anchors were not pinned, and which ones the certificate claims', () => {
    const f = verifyCertificateOffline(fromHex(str(vector('certificate_summary_unpinned'), 'certificate')));
    expect(f.anchorsPinned).toBe(false);
    const row = summaryRows(f).find(([k]) => k.startsWith('Anchors'));
    expect(row?.[0]).toBe('Anchors the certificate claims (not pinned)');
    expect(row?.[1]).toContain('application 0xa1a1');
  });

  it('counts the history of a full certificate', () => {
    const f = verifyCertificateOffline(fromHex(str(vector('certificate_full'), 'certificate')), pinnedOf('certificate_full'));
    const text = summaryText(f);
    expect(text).toMatch(/History: \d+ notice\(s\) proven complete: \d+ whole reading\(s\) disclosed, \d+ dated odometer value\(s\), \d+ reading\(s\) not disclosed/);
  });

  it('charts one point per counter, in counter order', () => {
    const f = verifyCertificateOffline(fromHex(str(vector('certificate_full_odometer_key'), 'certificate')), pinnedOf('certificate_full_odometer_key'));
    const points = certificatePoints(f);
    const counters = new Set([...f.disclosed.map((r) => r.counter), ...f.odometerOnly.map((d) => d.counter), ...(f.first ? [f.first.counter] : []), ...(f.highest ? [f.highest.counter] : [])]);
    expect(points).toHaveLength(counters.size);
    expect(points.every((p) => Number.isFinite(p.time) && p.km > 0)).toBe(true);
    const s = summary();
    const two = certificatePoints(s);
    expect(two.map((p) => p.km)).toEqual([81000, 81050]);
    expect(two[1]?.label).toContain('Highest attested: 81,050.0 km');
  });

  it('has a plain reason for every refusal code of the vectors and of the library', () => {
    const codes = new Set<string>([...CERTIFICATE_CODES]);
    for (const v of ofKind('certificate')) if (!v.valid) codes.add(v.expected_error as string);
    for (const code of codes) expect(REFUSALS[code], code).toBeTruthy();
    expect(refusalText('something_new')).toContain('something_new');
  });

  it('reads a reading and file names plainly', () => {
    expect(readingText(undefined)).toBe('none');
    expect(certificateFileName('ab'.repeat(16), 'binary')).toBe(`${'ab'.repeat(16)}.wtnc`);
    expect(certificateFileName('ab'.repeat(16), 'text')).toBe(`${'ab'.repeat(16)}.wtnc.txt`);
  });
});

describe('corrections, open rollbacks and a corrected baseline, in words', () => {
  const full = () => verifyCertificateOffline(fromHex(str(vector('certificate_full'), 'certificate')), pinnedOf('certificate_full'));
  const fix: Correction = {
    deviceId: 'a8f931094082a72b44a6c79cac7bd729',
    counter: 2n,
    odometerM: 81_020_000n,
    baselineM: null,
    reason: 'sensor_fault',
    evidence: 'diagnostic_log',
    evidenceDigest: '45'.repeat(32),
    note: 'odometer sensor fault at counter 2',
  };
  const rebase: Correction = { ...fix, counter: 3n, odometerM: null, baselineM: 1_200_000n, reason: 'cluster_replaced', evidence: 'workshop_record', evidenceDigest: '00'.repeat(32), note: '' };
  /** The full vector's findings as if its history held a cleared rollback at 2 and a new cluster at 3. */
  const corrected = (): CertificateFindings => {
    const f = full();
    const corrections: RecordedCorrection[] = [
      { inputIndex: 6n, registrar: '7b'.repeat(32), cleared: true, correction: fix },
      { inputIndex: 7n, registrar: '7b'.repeat(32), cleared: false, correction: rebase },
    ];
    return {
      ...f,
      leaf: { ...f.leaf, tamperEvents: 2, openTampers: 1, flagged: true, corrections: 2, latestCorrection: { counter: 3n, inputIndex: 7n }, correctedBaseline: { odometerM: 1_200_000n, inputIndex: 7n } },
      disclosed: f.disclosed.map((r) => ({ ...r, rollback: r.counter === 2n })),
      corrections,
    };
  };

  it('says open vs all rollbacks', () => {
    expect(rollbacksText(0, 0)).toBe('none');
    expect(rollbacksText(0, 1)).toBe("1, cleared by a registrar's correction");
    expect(rollbacksText(0, 3)).toBe("3, all cleared by a registrar's correction");
    expect(rollbacksText(1, 1)).toBe("1, not cleared by a registrar's correction");
    expect(rollbacksText(1, 2)).toBe("2: 1 still open, 1 cleared by a registrar's correction");
  });

  it("names the baseline a registrar's correction set, the status, and each correction of a full certificate", () => {
    const f = corrected();
    const text = summaryText(f);
    expect(text).toContain("Rollbacks on record: 2: 1 still open, 1 cleared by a registrar's correction");
    expect(text).toContain('Registrar corrections: 2 (the latest of counter 3, at input 7)');
    expect(text).toContain("Baseline: baseline 1,200.0 km set by a registrar's correction at input 7 (no reading attested since");
    expect(statusText(f)).toBe("flagged: 1 of 2 rollback(s) on record not cleared by a registrar's correction");
    expect(text).toContain(
      "Correction 1: Counter 2, corrected at input 6: cleared the rollback recorded there; gave the reading's right value, 81,020.0 km (the original stays on record). Why: the odometer sensor reported a value the car never showed. On: the manufacturer's diagnostic log of the unit (SHA-256 4545454545454545…). Note: “odometer sensor fault at counter 2”.",
    );
    expect(text).toContain('Correction 2: Counter 3, corrected at input 7: moved the baseline to 1,200.0 km. Why: the instrument cluster (or the odometer sensor) was replaced');
    expect(text).toContain("On: a workshop's record of the repair (no document named).");
    // Every rollback cleared: said so, not flagged.
    const clean = { ...f, leaf: { ...f.leaf, openTampers: 0, flagged: false } };
    expect(statusText(clean)).toBe("2 rollback(s) on record, every one cleared by a registrar's correction");
  });

  it('charts a cleared rollback as a corrected reading, not as a tamper event', () => {
    const points = certificatePoints(corrected());
    const second = points.find((p) => p.label.includes('(counter 2)'));
    expect(second?.kind).toBe('corrected');
    expect(second?.label).toMatch(/^Rollback cleared by a registrar's correction: 81,025.0 km/);
    const f = corrected();
    expect(certificatePoints({ ...f, corrections: [] }).find((p) => p.label.includes('(counter 2)'))?.kind).toBe('rollback');
  });

  it('a summary names no correction one by one', () => {
    const f = corrected();
    expect(summaryText({ ...f, level: 'summary', corrections: [] })).not.toContain('Correction 1');
  });
});

describe('checking what a buyer gives the page', () => {
  const bytes = fromHex(str(vector('certificate_summary'), 'certificate'));
  const pinned = { anchors: pinnedOf('certificate_summary'), source: 'typed' as const, pinnedAt: 0 };

  it('accepts the file, and its text form', async () => {
    const { certificateToText } = await import('../lib/certificate');
    const a = checkInput(bytes, pinned, 'a file');
    expect(a.kind).toBe('valid');
    const b = checkInput(`\n  ${certificateToText(bytes)}\n`, pinned, 'the text');
    expect(b.kind).toBe('valid');
    if (a.kind === 'valid' && b.kind === 'valid') expect(b.findings.deviceId).toBe(a.findings.deviceId);
  });

  it('refuses garbage, emptiness and other anchors with a code', () => {
    const garbage = checkInput('this is not a certificate', undefined, 'the text');
    expect(garbage.kind).toBe('refused');
    if (garbage.kind === 'refused') expect(garbage.code).toMatch(/^[a-z_]+$/);
    const empty = checkInput('   ', undefined, 'the text');
    expect(empty).toMatchObject({ kind: 'refused', code: 'empty' });
    const other = checkInput(bytes, { ...pinned, anchors: { ...pinned.anchors, chainId: 1 } }, 'a file');
    expect(other).toMatchObject({ kind: 'refused', code: 'chain_mismatch' });
    const altered = checkInput(fromHex(str(vector('certificate_altered_reading'), 'certificate')), pinned, 'a file');
    expect(altered).toMatchObject({ kind: 'refused', code: 'commitment_mismatch' });
    if (altered.kind === 'refused') expect(refusalText(altered.code)).toMatch(/altered/);
  });
});

describe("the vehicle's VIN and earlier units, in words", () => {
  const f = summary();
  const unit = (id: string, patch: Partial<CertificateFindings['leaf']> = {}): CertificateFindings['leaf'] => ({ ...f.leaf, deviceId: id, predecessor: null, successor: null, ...patch });
  const oldId = '0a'.repeat(16);
  const firstId = '0e'.repeat(16);
  /** The summary vector's findings as if its unit had replaced two earlier ones, the replacement at input 4. */
  const replaced = (): CertificateFindings => ({
    ...f,
    leaf: { ...f.leaf, predecessor: oldId, correctedBaseline: { odometerM: 80_000_000n, inputIndex: 4n } },
    earlierUnits: [
      unit(oldId, { predecessor: firstId, successor: f.deviceId, attested: 12n, tamperEvents: 2, openTampers: 1, flagged: true, corrections: 0, latestCorrection: null, correctedBaseline: null }),
      unit(firstId, { successor: oldId, attested: 1n, tamperEvents: 0, openTampers: 0, flagged: false, corrections: 1, latestCorrection: { counter: 1n, inputIndex: 2n }, correctedBaseline: null }),
    ],
  });

  it('says when the VIN is not disclosed', () => {
    expect(summaryText({ ...f, vin: null })).toContain('Vehicle: VIN not disclosed');
  });

  it('lists each earlier unit with its record, and when it was replaced when the leaf tells it', () => {
    const text = summaryText(replaced());
    expect(text).toContain(`Earlier unit 1: Unit replaced at input 4; the vehicle's record includes unit ${oldId}: 12 attested readings, 2 rollbacks (1 open)`);
    // The old unit's own leaf does not say when it replaced the first one (no corrected baseline).
    expect(text).toContain(`Earlier unit 2: Unit replaced; the vehicle's record includes unit ${firstId}: 1 attested reading, no rollback, 1 registrar correction`);
  });

  it("an open rollback of an earlier unit flags the vehicle; a replaced unit says where the vehicle's record went", () => {
    const r = replaced();
    expect(statusText(r)).toBe(`flagged: 1 of 2 rollback(s) of the vehicle's earlier unit ${oldId} not cleared by a registrar's correction`);
    expect(hasProblem(r)).toBe(true);
    const clean = { ...r, earlierUnits: r.earlierUnits.map((u) => ({ ...u, openTampers: 0, flagged: false })) };
    expect(statusText(clean)).toBe("2 rollback(s) on record in the vehicle's units, every one cleared by a registrar's correction");
    expect(hasProblem(clean)).toBe(false);
    const retired = { ...f, leaf: { ...f.leaf, successor: 'bb'.repeat(16) } };
    expect(statusText(retired)).toBe(`replaced: this unit was replaced by ${'bb'.repeat(16)}; check the vehicle's current unit`);
    expect(hasProblem(retired)).toBe(true);
  });

  it('the record of a unit in words', () => {
    expect(unitRecordText({ ...unit('aa'), attested: 0n, tamperEvents: 0, openTampers: 0, corrections: 0 })).toBe('0 attested readings, no rollback');
    expect(unitRecordText({ ...unit('aa'), attested: 1_234n, tamperEvents: 3, openTampers: 0, corrections: 2 })).toBe('1,234 attested readings, 3 rollbacks (none open), 2 registrar corrections');
    expect(earlierUnitText(unit('aa', { attested: 2n, tamperEvents: 1, openTampers: 1, corrections: 0 }), 41n)).toBe("unit replaced at input 41; the vehicle's record includes unit aa: 2 attested readings, 1 rollback (1 open)");
  });

  it('the input of a replacement: the new unit\'s corrected baseline, unless a correction came at or after it', () => {
    const leaf = replaced().leaf;
    expect(replacementInput(leaf)).toBe(4n);
    expect(replacementInput({ ...leaf, latestCorrection: { inputIndex: 3n } })).toBe(4n);
    expect(replacementInput({ ...leaf, latestCorrection: { inputIndex: 4n } })).toBeUndefined();
    expect(replacementInput({ ...leaf, predecessor: null })).toBeUndefined();
    expect(replacementInput({ ...leaf, correctedBaseline: null })).toBeUndefined();
    // A known input (the history's `replaces` entry) wins.
    expect(earlierUnitLines(leaf, replaced().earlierUnits, new Map([[firstId, 2n]]))[1]?.replacedAt).toBe(2n);
  });
});
