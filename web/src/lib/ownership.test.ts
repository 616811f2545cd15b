import { describe, expect, it } from 'vitest';
import { fromHex } from './hex';
import { publicKeyFromSeed } from './ed25519';
import { HttpError } from './http';
import { decodeObjection, parseTransferCode, verifyRelease } from './protocol';
import { claimErrorText, countdownText, DEFAULT_RELEASE_HOURS, eventTitle, makeTransferCode, objectionHex, ownershipEventText, RELEASE_EXPIRY_CHOICES } from './ownership';
import { str, vector } from '../test/vectors';

describe('selling: the transfer code the owner key in this browser makes', () => {
  const v = vector('ownership_sale_released');
  const domain = fromHex(v.domain);
  const seed = fromHex(str(v, 'release_signer_seed'));
  const device = 'cac2f8e54f806d5b2bd5572b3b449c29';

  it('releases the binding on record until now + the chosen hours, and reads back', () => {
    expect(DEFAULT_RELEASE_HOURS).toBe(72);
    expect(RELEASE_EXPIRY_CHOICES.map((c) => c.hours)).toContain(DEFAULT_RELEASE_HOURS);
    const made = makeTransferCode(seed, domain, device, 1n, 72, 1_790_000_000);
    expect(made.code.release.expiresAt).toBe(1_790_000_000 + 72 * 3600);
    const back = parseTransferCode(made.text);
    expect(back.deviceId).toBe(device);
    expect(verifyRelease(back.release, publicKeyFromSeed(seed), domain, device, 1n)).toBe(true);
    // Bound to the binding it ends: it does not release the next one.
    expect(verifyRelease(back.release, publicKeyFromSeed(seed), domain, device, 2n)).toBe(false);
  });

  it("the vector's release: the same expiry and sequence give the vector's signature", () => {
    const made = makeTransferCode(seed, domain, device, BigInt(v.released_sequence as number), 0, v.release_expires_at as number);
    expect(made.text).toBe(v.transfer_code);
  });
});

describe('objecting: the objection the owner key signs', () => {
  it("is the vector's bytes for its owner, device and time", () => {
    const v = vector('ownership_objection');
    const o = decodeObjection(fromHex(str(v, 'message')));
    expect(objectionHex(fromHex(str(v, 'signer_seed')), fromHex(v.domain), o.deviceId, o.effectiveAt)).toBe(v.message);
    expect(objectionHex(fromHex(str(v, 'signer_seed')), fromHex(v.domain), o.deviceId, Number(o.effectiveAt))).toBe(v.message);
  });
});

describe('words', () => {
  it('counts down in the two largest units, and says when it has passed', () => {
    expect(countdownText(1000 + 7 * 86_400, 1000)).toBe('7 d 0 h');
    expect(countdownText(1000 + 5 * 3600 + 12 * 60 + 5, 1000)).toBe('5 h 12 min');
    expect(countdownText(1000 + 90, 1000)).toBe('1 min 30 s');
    expect(countdownText(1042, 1000)).toBe('42 s');
    expect(countdownText(1000, 1000)).toBe('passed');
  });

  it('tells the ownership events of the history', () => {
    const owner = '82'.repeat(32);
    expect(ownershipEventText({ kind: 'owner_changed', sequence: 1n, consented: false, owner })).toMatch(/^first pairing: .*pairing button/);
    expect(ownershipEventText({ kind: 'owner_changed', sequence: 2n, consented: true, owner })).toMatch(/released it with a transfer code/);
    expect(ownershipEventText({ kind: 'recovery_started', registrar: '7b'.repeat(32), owner, effectiveAt: 1_791_104_800n })).toBe(
      'a registrar (7b7b7b…7b7b7b) started an ownership recovery to the key 828282…828282: it takes effect on 2026-10-04 09:06 UTC unless the current owner objects',
    );
    expect(ownershipEventText({ kind: 'recovery_ended', outcome: 'objected' })).toMatch(/owner objected/);
    expect(ownershipEventText({ kind: 'recovery_ended', outcome: 'superseded' })).toMatch(/sold the car first/);
    expect(ownershipEventText({ kind: 'recovery_ended', outcome: 'retired' })).toMatch(/revoked or replaced/);
    expect(ownershipEventText({ kind: 'owner_recovered', owner })).toMatch(/took effect: the owner key is now 828282…828282/);
    expect(ownershipEventText({ kind: 'revoked', reason: 'x' })).toBeUndefined();
    expect(eventTitle({ kind: 'owner_recovered', owner })).toBe('ownership recovered');
    expect(eventTitle({ kind: 'key_rotated', newKey: '00' })).toBe('key rotated');
  });

  it('says what to do about a refused pairing or claim', () => {
    expect(claimErrorText(new HttpError('x', 409, 'release_required'))).toMatch(/already has an owner.*transfer code/);
    expect(claimErrorText(new HttpError('x', 409, 'release_expired'))).toMatch(/expired/);
    expect(claimErrorText(new HttpError('x', 409, 'press_button'))).toMatch(/not in pairing mode: press its pairing button.*2 minutes/);
    expect(claimErrorText(new HttpError("bad signature by the owner's release", 422, 'bad_signature'))).toMatch(/not signed by the car’s current owner, or it was already used/);
    expect(claimErrorText(new HttpError('bad device signature', 422, 'bad_signature'))).toBe('bad device signature');
    expect(claimErrorText(new Error('plain'))).toBe('plain');
  });
});
