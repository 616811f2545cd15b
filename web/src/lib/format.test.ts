import { describe, expect, it } from 'vitest';
import { formatAgo, formatBatching, formatDate, formatDay, formatDuration, formatInt, formatKm, formatLitres, formatMs, formatNumber, shortHex } from './format';

describe('formatting', () => {
  it('km from metres', () => {
    expect(formatKm(152000000)).toBe('152,000.0 km');
    expect(formatKm(88000123)).toBe('88,000.1 km');
    expect(formatKm(0)).toBe('0.0 km');
    expect(formatKm(950)).toBe('1.0 km');
    expect(formatKm(undefined)).toBe('—');
    expect(formatKm(Number.NaN)).toBe('—');
  });

  it('numbers', () => {
    expect(formatInt(12345.6)).toBe('12,346');
    expect(formatNumber(6.456, 2)).toBe('6.46');
    expect(formatNumber(null)).toBe('—');
    expect(formatLitres(610)).toBe('0.61 L');
  });

  it('dates in UTC', () => {
    expect(formatDate(1790000000)).toBe('2026-09-21 14:13 UTC');
    expect(formatDate(0)).toBe('1970-01-01 00:00 UTC');
    expect(formatDate(undefined)).toBe('—');
    expect(formatDay(1790000000)).toBe('2026-09-21');
    expect(formatMs(1790000000000)).toBe('2026-09-21 14:13 UTC');
  });

  it('relative times', () => {
    expect(formatAgo(1000, 1030)).toBe('30 s ago');
    expect(formatAgo(1000, 1000 + 7200)).toBe('2 h ago');
    expect(formatAgo(1000 + 120, 1000)).toBe('in 2 min');
    expect(formatAgo(0, 3 * 86400)).toBe('3 d ago');
  });

  it('short hex', () => {
    expect(shortHex('0x' + 'ab'.repeat(32))).toBe('0xababab…ababab');
    expect(shortHex('26d3b382d70a0b277e991984dcc7007e', 4)).toBe('26d3…007e');
    expect(shortHex('abcd')).toBe('abcd');
    expect(shortHex(undefined)).toBe('—');
  });
});

import { bucketLabels } from '../pages/StatsPage';

describe('statistics buckets', () => {
  it('labels the km/year buckets', () => {
    expect(bucketLabels([5000, 10000, 15000, 20000, 30000, 50000])).toEqual(['<5k', '5–10k', '10–15k', '15–20k', '20–30k', '30–50k', '≥50k']);
  });

  it('durations and the batching policy', () => {
    expect(formatDuration(86_400_000)).toBe('24 h');
    expect(formatDuration(5_400_000)).toBe('90 min');
    expect(formatDuration(1000)).toBe('1 s');
    expect(formatDuration(4320)).toBe('4.3 s');
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(-1)).toBe('—');
    expect(formatBatching({ max_bytes: 61_440, max_delay_ms: 86_400_000, gas_target: 1000 })).toBe(
      'sends at ≤ 1,000 gas per reading, or after 24 h, or at 60 KiB',
    );
    expect(formatBatching({ max_bytes: 61_440, max_delay_ms: 1000, gas_target: null })).toBe('sends after 1 s, or at 60 KiB');
    expect(formatBatching({})).toBe('—');
  });
});
