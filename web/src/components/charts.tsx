/** Small hand-made SVG charts (no chart library): accessible names, readable contrast. */
import { formatDay, formatInt } from '../lib/format';

export interface OdometerPoint {
  time: number; // seconds
  km: number;
  kind: 'attested' | 'rollback' | 'corrected';
  label: string;
}

function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(v);
  return out;
}

const W = 800;
const H = 320;
const M = { top: 16, right: 20, bottom: 44, left: 84 };

export function OdometerChart({ points, title }: { points: OdometerPoint[]; title: string }) {
  if (points.length === 0) return <p className="muted">No readings to chart yet.</p>;
  const times = points.map((p) => p.time);
  const kms = points.map((p) => p.km);
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 === t0) {
    t0 -= 3600;
    t1 += 3600;
  }
  let y0 = Math.min(...kms);
  let y1 = Math.max(...kms);
  const pad = (y1 - y0) * 0.08 || Math.max(1, y1 * 0.01);
  y0 = Math.max(0, y0 - pad);
  y1 = y1 + pad;
  const x = (t: number) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - ((v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const attested = points.filter((p) => p.kind === 'attested').sort((a, b) => a.time - b.time);
  const path = attested.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.time).toFixed(1)},${y(p.km).toFixed(1)}`).join(' ');
  const yTicks = niceTicks(y0, y1, 5);
  const xTicks = niceTicks(t0, t1, 5);
  const rollbacks = points.filter((p) => p.kind === 'rollback');
  const corrected = points.filter((p) => p.kind === 'corrected');
  const summary = `${title}. ${attested.length} attested readings from ${formatInt(attested[0]?.km ?? 0)} km to ${formatInt(attested.at(-1)?.km ?? 0)} km${
    rollbacks.length ? `; ${rollbacks.length} tamper event(s) marked in red` : ''
  }${corrected.length ? `; ${corrected.length} reading(s) a registrar corrected marked in orange` : ''}.`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        <title>{summary}</title>
        {yTicks.map((v) => (
          <g key={`y${v}`}>
            <line x1={M.left} x2={W - M.right} y1={y(v)} y2={y(v)} className="grid" />
            <text x={M.left - 8} y={y(v)} className="tick" textAnchor="end" dominantBaseline="middle">
              {formatInt(v)} km
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={`x${t}`} x={x(t)} y={H - M.bottom + 20} className="tick" textAnchor="middle">
            {formatDay(t)}
          </text>
        ))}
        <line x1={M.left} x2={W - M.right} y1={H - M.bottom} y2={H - M.bottom} className="axis" />
        <path d={path} className="line" fill="none" />
        {attested.map((p, i) => (
          <circle key={`a${i}`} cx={x(p.time)} cy={y(p.km)} r={attested.length > 80 ? 2 : 4} className="pt-attested">
            <title>{p.label}</title>
          </circle>
        ))}
        {rollbacks.map((p, i) => (
          <g key={`r${i}`}>
            <line x1={x(p.time)} x2={x(p.time)} y1={M.top} y2={H - M.bottom} className="tamper-line" />
            <path d={`M${x(p.time)},${y(p.km) - 8} l7,12 l-14,0 z`} className="pt-rollback">
              <title>{p.label}</title>
            </path>
          </g>
        ))}
        {corrected.map((p, i) => (
          <rect key={`c${i}`} x={x(p.time) - 5} y={y(p.km) - 5} width={10} height={10} transform={`rotate(45 ${x(p.time)} ${y(p.km)})`} className="pt-corrected">
            <title>{p.label}</title>
          </rect>
        ))}
      </svg>
      <figcaption className="legend">
        <span>
          <span className="key key-attested" aria-hidden="true" /> attested reading
        </span>
        <span>
          <span className="key key-rollback" aria-hidden="true" /> tamper event (odometer lower than attested)
        </span>
        <span>
          <span className="key key-corrected" aria-hidden="true" /> reading a registrar corrected (a rollback it cleared)
        </span>
      </figcaption>
    </figure>
  );
}

export interface Bar {
  label: string;
  value: number | null;
  note?: string;
}

/** Vertical bars with values printed on them; `null` bars say why they are missing. */
export function BarChart({ bars, title, unit, digits = 0 }: { bars: Bar[]; title: string; unit?: string; digits?: number }) {
  // Sized to render close to 1:1 in a card, so the text stays readable.
  const w = 420;
  const h = 200;
  const m = { top: 22, right: 6, bottom: 34, left: 6 };
  const max = Math.max(1e-9, ...bars.map((b) => b.value ?? 0));
  const slot = (w - m.left - m.right) / Math.max(1, bars.length);
  const bw = Math.min(64, slot * 0.7);
  const fmt = (v: number) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const summary = `${title}: ${bars.map((b) => `${b.label} ${b.value === null ? (b.note ?? 'no data') : `${fmt(b.value)}${unit ? ' ' + unit : ''}`}`).join('; ')}`;
  return (
    <figure className="chart bar-chart">
      <figcaption className="chart-title">{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={summary}>
        <title>{summary}</title>
        <line x1={m.left} x2={w - m.right} y1={h - m.bottom} y2={h - m.bottom} className="axis" />
        {bars.map((b, i) => {
          const cx = m.left + slot * i + slot / 2;
          const bh = b.value === null ? 0 : (b.value / max) * (h - m.top - m.bottom);
          return (
            <g key={i}>
              {b.value !== null && <rect x={cx - bw / 2} y={h - m.bottom - bh} width={bw} height={bh} className="bar" rx={2} />}
              <text x={cx} y={h - m.bottom - bh - 6} textAnchor="middle" className="bar-value">
                {b.value === null ? (b.note ?? '—') : fmt(b.value)}
              </text>
              <text x={cx} y={h - m.bottom + 18} textAnchor="middle" className="tick">
                {b.label.length > 10 ? b.label.slice(0, 9) + '…' : b.label}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** Horizontal bars, one row per group: long names stay readable. */
export function HBarChart({ bars, title, unit, digits = 0 }: { bars: Bar[]; title: string; unit?: string; digits?: number }) {
  const row = 26;
  const labelW = 170;
  const valueW = 64;
  const w = 440;
  const h = bars.length * row + 8;
  const max = Math.max(1e-9, ...bars.map((b) => b.value ?? 0));
  const fmt = (v: number) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const summary = `${title}: ${bars.map((b) => `${b.label} ${b.value === null ? (b.note ?? 'no data') : `${fmt(b.value)}${unit ? ' ' + unit : ''}`}`).join('; ')}`;
  return (
    <figure className="chart bar-chart">
      <figcaption className="chart-title">{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={summary}>
        <title>{summary}</title>
        {bars.map((b, i) => {
          const y = 4 + i * row;
          const bw = b.value === null ? 0 : (b.value / max) * (w - labelW - valueW);
          return (
            <g key={i}>
              <text x={labelW - 8} y={y + row / 2} textAnchor="end" dominantBaseline="middle" className="tick">
                {b.label.length > 24 ? b.label.slice(0, 23) + '…' : b.label}
              </text>
              {b.value !== null && <rect x={labelW} y={y + 4} width={Math.max(1, bw)} height={row - 8} className="bar" rx={2} />}
              <text x={labelW + bw + 6} y={y + row / 2} dominantBaseline="middle" className="bar-value">
                {b.value === null ? (b.note ?? '—') : fmt(b.value)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
