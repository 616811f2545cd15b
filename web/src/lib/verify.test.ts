import { describe, expect, it } from 'vitest';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes, toHex } from './hex';
import { encodeNoticeOutput } from './notices';
import { attestationNotice, DEVICE } from '../test/fixtures';
import type { NodeOutput } from './node';
import { attestationsToProve, errorText, humanizeReason, interpretVerifyReport, proveAttestation, rejectionText, verdictInfo, type ProofIO } from './verify';

const C1 = 'd77f22ab2411e965870cf3516e3c30714aa01e98b8a135c57d3dc5c4631268e7';
const reading = (odometer_m: number) => ({ timestamp: 1790000000, odometer_m, fuel_ml: 610, engine_s: 3600, faults: [] });
const attested = (counter: number, odometer: number, notice: number | null, input = 4) => ({
  counter,
  reading: reading(odometer),
  commitment: C1,
  input_index: input,
  block_timestamp: 1790000100,
  notice_index: notice,
});

describe('verdicts (inspect {"type":"verify"})', () => {
  it('consistent', () => {
    const r = interpretVerifyReport({
      type: 'verify',
      verdict: 'consistent',
      reasons: ['the device shows 152000000 m, at or above the attested 151000000 m'],
      device_id: DEVICE,
      device_reading: reading(152000000),
      device_counter: 12,
      last_attested: attested(11, 151000000, 3),
      highest_attested: attested(11, 151000000, 3),
      tamper_events: 0,
    });
    expect(r).toMatchObject({ kind: 'verdict', verdict: 'consistent', deviceCounter: 12, tamperEvents: 0 });
    expect(verdictInfo('consistent').tone).toBe('good');
    expect(attestationsToProve(r)).toEqual([{ role: 'latest', value: attested(11, 151000000, 3) }]);
  });

  it('rollback: proves the highest attested value first, then the latest', () => {
    const r = interpretVerifyReport({
      type: 'verify',
      verdict: 'rollback',
      reasons: ['the device shows 40000000 m, below the 152000000 m attested at counter 8'],
      device_id: DEVICE,
      last_attested: attested(9, 150000000, 6, 5),
      highest_attested: attested(8, 152000000, 5, 4),
      tamper_events: 1,
    });
    expect(verdictInfo('rollback')).toMatchObject({ tone: 'bad', label: 'Rollback detected' });
    expect(attestationsToProve(r).map((a) => [a.role, a.value.counter])).toEqual([
      ['highest', 8],
      ['latest', 9],
    ]);
  });

  it('unknown device, revoked, flagged and unknown verdicts', () => {
    const unknown = interpretVerifyReport({ type: 'verify', verdict: 'unknown_device', device_id: DEVICE, reasons: ['no device with this id is registered'] });
    expect(unknown).toMatchObject({ kind: 'verdict', verdict: 'unknown_device', lastAttested: undefined });
    expect(attestationsToProve(unknown)).toEqual([]);
    expect(verdictInfo('revoked').tone).toBe('bad');
    expect(verdictInfo('flagged').tone).toBe('warn');
    expect(verdictInfo('something_new')).toMatchObject({ tone: 'neutral', label: 'something_new' });
  });

  it('reasons speak in kilometres', () => {
    const r = interpretVerifyReport({ type: 'verify', verdict: 'rollback', device_id: DEVICE, reasons: ['the device shows 40000000 m, below the 152000000 m attested at counter 8'] });
    expect(r.kind === 'verdict' && r.reasons[0]).toBe('the device shows 40,000.0 km, below the 152,000.0 km attested at counter 8');
    expect(humanizeReason('2 rollback(s) on record')).toBe('2 rollback(s) on record');
    expect(rejectionText('stale_counter')).toMatch(/replay/);
  });

  it('errors become readable text', () => {
    const r = interpretVerifyReport({ type: 'error', error: 'invalid_proof', detail: "the proof's signature does not verify under the device's current key" });
    expect(r).toMatchObject({ kind: 'error', code: 'invalid_proof' });
    if (r.kind === 'error') expect(r.message).toMatch(/not the registered device/);
    expect(errorText('stale_proof')).toMatch(/freshness/);
    expect(errorText('weird', 'detail')).toBe('weird: detail');
    expect(interpretVerifyReport({ type: 'verify' })).toMatchObject({ kind: 'error', code: 'unexpected_answer' });
  });
});

describe('proving the attesting notice on L1', () => {
  const raw = encodeNoticeOutput(attestationNotice(4, [[DEVICE, 8, C1, 'aa'.repeat(32)]]));
  const rawHex = '0x' + toHex(raw);
  const siblings = Array.from({ length: 63 }, () => '0x' + '00'.repeat(32));
  const output = (over: Partial<NodeOutput> = {}): NodeOutput => ({
    epoch_index: '0x1',
    input_index: '0x4',
    index: '0x5',
    raw_data: rawHex,
    hash: '0x' + toHex(keccak_256(raw)),
    output_hashes_siblings: siblings,
    ...over,
  });
  const io = (o: NodeOutput, ok = true): ProofIO & { calls: number } => {
    const x = {
      calls: 0,
      getOutput: async () => o,
      validateOutput: async () => {
        x.calls++;
        return ok ? ({ ok: true } as const) : ({ ok: false, reason: 'the proof leads to outputs root 0x12, which the consensus has not accepted' } as const);
      },
    };
    return x;
  };

  it('proven on chain', async () => {
    const r = await proveAttestation(io(output()), DEVICE, attested(8, 152000000, 5));
    expect(r.status).toBe('proven');
    expect(r.entry?.counter).toBe(8n);
    expect(r.root).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('not yet provable while the epoch is open', async () => {
    const x = io(output({ output_hashes_siblings: null }));
    const r = await proveAttestation(x, DEVICE, attested(8, 152000000, 5));
    expect(r).toMatchObject({ status: 'pending_claim', epochIndex: 1 });
    expect(x.calls).toBe(0);
  });

  it('fails when the notice does not carry this reading', async () => {
    expect((await proveAttestation(io(output()), DEVICE, attested(9, 152000000, 5))).reason).toMatch(/no entry/);
    expect((await proveAttestation(io(output()), DEVICE, { ...attested(8, 1, 5), commitment: 'ff'.repeat(32) })).reason).toMatch(/different reading/);
    expect((await proveAttestation(io(output({ input_index: '0x9' })), DEVICE, attested(8, 1, 5))).reason).toMatch(/input 9/);
    expect((await proveAttestation(io(output({ hash: '0x' + '00'.repeat(32) })), DEVICE, attested(8, 1, 5))).reason).toMatch(/do not match its hash/);
    expect((await proveAttestation(io(output()), DEVICE, attested(8, 1, null))).reason).toMatch(/no notice/);
    const voucher = '0x237a816f' + rawHex.slice(10);
    expect((await proveAttestation(io(output({ raw_data: voucher, hash: undefined })), DEVICE, attested(8, 1, 5))).reason).toMatch(/not a notice/);
  });

  it('fails when the chain rejects the proof', async () => {
    const r = await proveAttestation(io(output(), false), DEVICE, attested(8, 152000000, 5));
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/chain rejected/);
  });

  it('reports a node failure', async () => {
    const r = await proveAttestation(
      { getOutput: async () => Promise.reject(new Error('output 5 not found')), validateOutput: async () => ({ ok: true }) },
      DEVICE,
      attested(8, 1, 5),
    );
    expect(r.reason).toMatch(/Could not fetch notice 5/);
  });

  it('helper: concatBytes keeps order', () => {
    expect(toHex(concatBytes(new Uint8Array([1]), new Uint8Array([2, 3])))).toBe('010203');
  });
});
