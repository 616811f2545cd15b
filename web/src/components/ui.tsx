import { useEffect, useRef, type ReactNode } from 'react';
import type { Tone } from '../lib/verify';

export function Alert({ tone = 'bad', title, children, onRetry }: { tone?: Tone; title?: string; children: ReactNode; onRetry?: () => void }) {
  return (
    <div className={`alert alert-${tone}`} role={tone === 'bad' ? 'alert' : 'status'}>
      {title && <strong className="alert-title">{title}</strong>}
      <div>{children}</div>
      {onRetry && (
        <button type="button" className="button secondary small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** The page heading; takes focus when the page opens so screen readers announce it. */
export function PageTitle({ children, sub }: { children: ReactNode; sub?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <header className="page-title">
      <h1 ref={ref} tabIndex={-1}>
        {children}
      </h1>
      {sub && <p className="muted">{sub}</p>}
    </header>
  );
}

export function Hex({ value, keep = 6, label }: { value?: string | null; keep?: number; label?: string }) {
  if (!value) return <span className="muted">—</span>;
  const prefix = value.startsWith('0x') ? '0x' : '';
  const body = prefix ? value.slice(2) : value;
  const short = body.length <= keep * 2 + 1 ? value : `${prefix}${body.slice(0, keep)}…${body.slice(-keep)}`;
  return (
    <code className="hex" title={value} aria-label={label ? `${label}: ${value}` : undefined}>
      {short}
    </code>
  );
}

export function Card({ title, children, actions, id }: { title?: ReactNode; children: ReactNode; actions?: ReactNode; id?: string }) {
  return (
    <section className="card" aria-labelledby={title && id ? id : undefined}>
      {(title || actions) && (
        <div className="card-head">
          {title && <h2 id={id}>{title}</h2>}
          {actions && <div className="card-actions">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

export function KeyValues({ items }: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="kv">
      {items.map(([k, v], i) => (
        <div key={i}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export type StepState = 'waiting' | 'running' | 'ok' | 'fail' | 'warn' | 'skipped';

export interface Step {
  id: string;
  title: string;
  state: StepState;
  detail?: ReactNode;
}

const STEP_ICON: Record<StepState, string> = { waiting: '○', running: '…', ok: '✓', fail: '✗', warn: '!', skipped: '–' };
const STEP_WORD: Record<StepState, string> = { waiting: 'waiting', running: 'in progress', ok: 'done', fail: 'failed', warn: 'attention', skipped: 'skipped' };

export function Steps({ steps, label }: { steps: Step[]; label: string }) {
  return (
    <ol className="steps" aria-label={label}>
      {steps.map((s) => (
        <li key={s.id} className={`step step-${s.state}`}>
          <span className="step-icon" aria-hidden="true">
            {STEP_ICON[s.state]}
          </span>
          <div>
            <div className="step-title">
              {s.title} <span className="visually-hidden">({STEP_WORD[s.state]})</span>
            </div>
            {s.detail && <div className="step-detail">{s.detail}</div>}
          </div>
        </li>
      ))}
    </ol>
  );
}

export type BadgeKind = 'verified' | 'tamper' | 'recovery' | 'revoked' | 'replaced' | 'pending' | 'unknown';

const BADGE: Record<BadgeKind, { label: string; icon: string }> = {
  verified: { label: 'Verified', icon: '✓' },
  tamper: { label: 'Tamper alert', icon: '!' },
  recovery: { label: 'Recovery pending', icon: '!' },
  revoked: { label: 'Revoked', icon: '✗' },
  replaced: { label: 'Replaced', icon: '⇄' },
  pending: { label: 'Pending', icon: '…' },
  unknown: { label: 'Unknown', icon: '?' },
};

export function StatusBadge({ kind, title }: { kind: BadgeKind; title?: string }) {
  const b = BADGE[kind];
  return (
    <span className={`badge badge-${kind}`} title={title}>
      <span aria-hidden="true">{b.icon}</span> {b.label}
    </span>
  );
}

export function Field({
  label,
  id,
  hint,
  children,
}: {
  label: string;
  id: string;
  hint?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}
