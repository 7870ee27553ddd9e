import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, onEvent, type NodeEventMsg } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs an API read on mount, on `deps` change, every `everyMs` and on `reload()`. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[] = [], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    setLoading(true);
    fn().then(
      (d) => live && (setData(d), setError(undefined), setLoading(false)),
      (e: unknown) => live && (setError(e instanceof ApiError ? e : new ApiError('INTERNAL', String((e as Error)?.message ?? e))), setLoading(false)),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  useEffect(() => {
    if (!everyMs) return;
    const t = setInterval(reload, everyMs);
    return () => clearInterval(t);
  }, [everyMs, reload]);
  return { data, error, loading, reload };
}

export function useEvents(fn: (e: NodeEventMsg) => void, types?: string[]): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => onEvent((e) => (!types || types.includes(e.type)) && ref.current(e)), [types?.join(',')]);
}

/** A button action with busy state and a message for an aria-live region. */
export function useAction(): {
  busy: boolean;
  message: { kind: 'ok' | 'error'; text: string } | undefined;
  run: <T>(fn: () => Promise<T>, ok?: (v: T) => string) => Promise<T | undefined>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const run = useCallback(async <T,>(fn: () => Promise<T>, ok?: (v: T) => string) => {
    setBusy(true);
    setMessage(undefined);
    try {
      const v = await fn();
      if (ok) setMessage({ kind: 'ok', text: ok(v) });
      return v;
    } catch (e) {
      const err = e as ApiError;
      setMessage({ kind: 'error', text: `${err.code ? `${err.code}: ` : ''}${err.message}` });
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, message, run, clear: () => setMessage(undefined) };
}

/** localStorage-backed preference (the download folder, page size). */
export function usePref(key: string, initial: string): [string, (v: string) => void] {
  const [v, setV] = useState(() => localStorage.getItem(`scp2p.${key}`) ?? initial);
  return [
    v,
    (x: string) => {
      localStorage.setItem(`scp2p.${key}`, x);
      setV(x);
    },
  ];
}
