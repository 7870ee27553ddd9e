import type { ComponentChildren } from 'preact';
import type { ApiError } from './api.js';

export function Notice({ message }: { message: { kind: 'ok' | 'error'; text: string } | undefined }) {
  return (
    <p class={`notice ${message?.kind ?? ''}`} role={message?.kind === 'error' ? 'alert' : 'status'} aria-live="polite">
      {message?.text ?? ''}
    </p>
  );
}

export function ErrorLine({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <p class="notice error" role="alert">
      {error.code}: {error.message}
    </p>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const hid = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-h`;
  return (
    <section aria-labelledby={hid} class="card">
      <h2 id={hid}>{title}</h2>
      {children}
    </section>
  );
}

/** Shown instead of a feature when this node's build does not implement its API methods yet. */
export function Unavailable({ what }: { what: string }) {
  return <p class="muted">{what} is not available on this node yet (its API methods are not implemented in this build).</p>;
}

export function Hex({ value, label }: { value: string; label?: string }) {
  return (
    <code class="hex" title={value} aria-label={label}>
      {value}
    </code>
  );
}
