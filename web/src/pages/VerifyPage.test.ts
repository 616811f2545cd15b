import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { fromHex } from '../lib/hex';
import { decodeLeaf } from '../lib/state';
import { decodeOpening, decodePossessionProof } from '../lib/protocol';
import { decide } from '../lib/verdict';
import type { VerifyResult } from '../lib/verify';
import { str, vector } from '../test/vectors';
import { Result } from './VerifyPage';
import { formatDate } from '../lib/format';

/** What verifyDevice hands the page for a verdict vector (the earlier units as V7a proved them). */
function resultOf(name: string, withOpening = false): VerifyResult {
  const v = vector(name);
  const leaf = decodeLeaf(fromHex(str(v, 'leaf')));
  const earlierUnits = ((v.predecessors as string[] | undefined) ?? []).map((h) => decodeLeaf(fromHex(h)));
  const proof = decodePossessionProof(fromHex(str(v, 'possession_proof')));
  const opening = withOpening && typeof v.opening === 'string' ? decodeOpening(fromHex(v.opening)) : undefined;
  const decision = decide({ deviceId: str(v, 'device_id'), leaf, proof, nonce: str(v, 'nonce'), domain: fromHex(v.domain), opening, predecessors: earlierUnits });
  return { decision, leaf, earlierUnits, proof, opening, elapsedMs: 1 };
}

const render = (r: VerifyResult) => renderToStaticMarkup(createElement(Result, { result: r, onVerify: () => {}, busy: false }));

describe('the verify page: a vehicle whose unit was replaced', () => {
  it("the new unit: the earlier unit's record, and when it was replaced", () => {
    const r = resultOf('verdict_consistent_after_replacement');
    const old = r.earlierUnits?.[0];
    const at = r.leaf?.correctedBaseline?.inputIndex;
    if (!old || at === undefined) throw new Error('the vector replaced a unit');
    const html = render(r);
    expect(html).toContain('data-verdict="consistent"');
    expect(html).toContain('data-testid="verify-earlier-units"');
    const rollbacks = old.tamperEvents === 0 ? 'no rollback' : `${old.tamperEvents} rollback${old.tamperEvents === 1 ? '' : 's'} (${old.openTampers || 'none'} open)`;
    expect(html).toContain(`Unit replaced at input ${at}; the vehicle&#x27;s record includes unit ${old.deviceId}: ${old.attested} attested reading${old.attested === 1n ? '' : 's'}, ${rollbacks}`);
    expect(html).toContain('data-code="unit_replaced"');
    // The new unit is compared with the baseline its replacement stated, not a correction's.
    expect(html).toContain(`the baseline`);
    expect(html).toContain(`the unit&#x27;s replacement stated at input ${at}`);
    expect(html).not.toContain('set by a registrar&#x27;s correction');
    expect(html).not.toContain('The vehicle&#x27;s record is incomplete');
  });

  it('the earlier unit flagged: the vehicle is', () => {
    const r = resultOf('verdict_flagged_in_previous_unit');
    const html = render(r);
    expect(html).toContain('data-verdict="flagged"');
    expect(html).toContain(`data-device="${r.earlierUnits?.[0]?.deviceId}" data-open="${r.earlierUnits?.[0]?.openTampers}"`);
  });

  it('an earlier unit missing: the record is incomplete, said in words', () => {
    const html = render(resultOf('verdict_previous_unit_missing'));
    expect(html).toContain('data-reason="previous_unit"');
    expect(html).toContain('The vehicle&#x27;s record is incomplete');
    expect(html).toContain('the record of a unit the vehicle had before is missing or does not link to this one');
  });

  it("the replaced unit: retired, pointing at the vehicle's current unit", () => {
    const r = resultOf('verdict_replaced_unit');
    const successor = r.leaf?.successor as string;
    const html = render(r);
    expect(html).toContain('data-verdict="revoked"');
    expect(html).toContain('data-reason="replaced"');
    expect(html).toContain('Replaced unit');
    expect(html).toContain(`data-testid="verify-replaced" data-successor="${successor}"`);
    expect(html).toContain(`This unit was replaced by ${successor}; check the vehicle&#x27;s current unit.`);
    expect(html).toContain('Verify the current unit');
    expect(html).not.toContain('A registrar revoked this device');
  });
});

describe('the verify page: an ownership recovery pending', () => {
  it('says it in words with its date, after the corrections on record', () => {
    const r = resultOf('verdict_consistent_recovery_pending', true);
    const at = r.leaf?.pendingRecovery?.effectiveAt;
    if (at === undefined) throw new Error('the vector has a pending recovery');
    const html = render(r);
    expect(html).toContain('data-verdict="consistent"');
    expect(html).toContain('data-code="recovery_pending"');
    expect(html).toContain(`data-effective-at="${at}"`);
    expect(html).toContain('Ownership recovery pending:');
    expect(html).toContain(`passes to another owner key on ${formatDate(Number(at))}`);
    expect(html.indexOf('data-code="corrections_on_record"')).toBeLessThan(html.indexOf('data-code="recovery_pending"'));
    // Without a recovery: not a word of it.
    expect(render(resultOf('verdict_consistent', true))).toContain('data-verdict="consistent"');
    expect(render(resultOf('verdict_consistent', true))).not.toContain('recovery');
  });
});
