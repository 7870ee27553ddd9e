/**
 * The timeout + AbortSignal guard every dial shares: whichever of success, failure, timeout or abort comes first
 * wins, `cleanup` runs exactly once, and a losing attempt is torn down by `onCancel`.
 */
import { ScpError } from '../../../errors.js';
import { DEFAULT_DIAL_TIMEOUT_MS, type DialOptions } from './transport.js';

export interface DialGuard<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
  /** True once the attempt was settled (won or lost). */
  readonly settled: boolean;
}

/**
 * `onCancel(err)` is called when the timeout or abort fires first; it must tear the attempt down. `what` names the
 * attempt in the error text ("TLS dial to 1.2.3.4:7001").
 */
export function dialGuard<T>(what: string, opts: DialOptions | undefined, onCancel: (err: Error) => void): DialGuard<T> {
  const timeoutMs = opts?.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const signal = opts?.signal;
  let settled = false;
  let resolveP!: (v: T) => void;
  let rejectP!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolveP = res;
    rejectP = rej;
  });
  const cleanup = (): void => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  const cancel = (err: Error): void => {
    if (settled) return;
    settled = true;
    cleanup();
    onCancel(err);
    rejectP(err);
  };
  const onAbort = (): void => cancel(ScpError.aborted(what));
  const timer = setTimeout(() => cancel(ScpError.timeout(what, timeoutMs)), timeoutMs);
  if (signal?.aborted) queueMicrotask(onAbort);
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    promise,
    get settled() {
      return settled;
    },
    resolve(value: T) {
      if (settled) return;
      settled = true;
      cleanup();
      resolveP(value);
    },
    reject(err: Error) {
      if (settled) return;
      settled = true;
      cleanup();
      rejectP(err);
    },
  };
}

/** `::ffff:1.2.3.4` → `1.2.3.4`, so addresses compare and print the same whichever socket family saw them. */
export function normalizeHost(host: string | undefined): string {
  if (!host) return '';
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}
