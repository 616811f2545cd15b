/** Display formatting. Deterministic (UTC, en-US digits) so that tests and screenshots agree. */

const km1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Metres → `152,000.0 km`. */
export function formatKm(metres: number | null | undefined): string {
  if (metres === null || metres === undefined || !Number.isFinite(metres)) return '—';
  return `${km1.format(metres / 1000)} km`;
}

/** A plain count or distance already in km: `12,345`. */
export function formatInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return int.format(n);
}

export function formatNumber(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Unix seconds → `2026-09-21 14:13 UTC`. */
export function formatDate(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** Unix seconds → `2026-09-21`. */
export function formatDay(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Milliseconds since the epoch (the gateway's times) → same as {@link formatDate}. */
export function formatMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : formatDate(ms / 1000);
}

/** `3 min ago`, `in 2 h`, relative to `now` (seconds). */
export function formatAgo(seconds: number, now = Date.now() / 1000): string {
  const delta = Math.round(now - seconds);
  const abs = Math.abs(delta);
  const text =
    abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.floor(abs / 60)} min` : abs < 86400 ? `${Math.floor(abs / 3600)} h` : `${Math.floor(abs / 86400)} d`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** `0x12ab…cdef` / `12ab…cdef`. */
export function shortHex(hex: string | null | undefined, keep = 6): string {
  if (!hex) return '—';
  const prefix = hex.startsWith('0x') ? '0x' : '';
  const body = prefix ? hex.slice(2) : hex;
  if (body.length <= keep * 2 + 1) return hex;
  return `${prefix}${body.slice(0, keep)}…${body.slice(-keep)}`;
}

/** Litres from millilitres: `0.61 L`. */
export function formatLitres(ml: number): string {
  return `${formatNumber(ml / 1000, 2)} L`;
}

/** Seconds of engine time → `1,000 h`. */
export function formatHours(seconds: number): string {
  return `${formatInt(seconds / 3600)} h`;
}

/** Milliseconds → the largest whole unit that fits: `24 h`, `90 min`, `1 s`, `250 ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  for (const [unit, size] of [['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${formatInt(ms / size)} ${unit}`;
  }
  return ms >= 1000 ? `${formatNumber(ms / 1000, 1)} s` : `${formatInt(ms)} ms`;
}

/** The gateway's batching policy (`/v1/system` `batching`) in words. */
export function formatBatching(policy: { max_bytes?: unknown; max_delay_ms?: unknown; gas_target?: unknown }): string {
  const parts: string[] = [];
  if (typeof policy.gas_target === 'number') parts.push(`at ≤ ${formatInt(policy.gas_target)} gas per reading`);
  if (typeof policy.max_delay_ms === 'number') parts.push(`after ${formatDuration(policy.max_delay_ms)}`);
  if (typeof policy.max_bytes === 'number') parts.push(`at ${formatInt(policy.max_bytes / 1024)} KiB`);
  return parts.length ? `sends ${parts.join(', or ')}` : '—';
}
