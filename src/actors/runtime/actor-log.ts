/**
 * An actor's logger (`ctx.log`). Actors may run in worker threads, where the node's pino instance (possibly
 * the embedder's own, with its own destination) cannot go: so the actor side is a small pino-shaped facade
 * that drops lines below the node's level right there (no message for a disabled level) and posts the rest
 * to the supervisor as `{ kind: 'log' }` control frames. The supervisor writes them through the node's logger
 * as `root.child({ actor }).child(bindings)[level](obj, msg)` (log.ts `writeActorLog`), so lines from workers
 * and from inline actors have one format, one destination and one level, and carry `actor`.
 */
import type { LogLevel } from '../../log.js';

/** What crosses the control port. `obj` is made structured-clone safe first (errors flattened). */
export interface ActorLogRecord {
  level: Exclude<LogLevel, 'silent'>;
  bindings: Record<string, unknown>;
  obj: Record<string, unknown>;
  msg: string;
}

type LogFn = {
  (msg: string): void;
  (obj: Record<string, unknown>, msg?: string): void;
};

export interface ActorLog {
  readonly level: LogLevel;
  isLevelEnabled(level: LogLevel): boolean;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): ActorLog;
}

/** pino's numeric levels. */
const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export function createActorLog(level: LogLevel, post: (r: ActorLogRecord) => void, bindings: Record<string, unknown> = {}): ActorLog {
  const min = RANK[level] ?? RANK.warn;
  const at = (lv: ActorLogRecord['level']): LogFn => {
    if (RANK[lv] < min) return noop;
    return ((a: string | Record<string, unknown>, b?: string) => {
      const obj = typeof a === 'string' ? {} : cloneSafe(a);
      const msg = typeof a === 'string' ? a : (b ?? '');
      try {
        post({ level: lv, bindings, obj, msg });
      } catch {
        try {
          // something deep inside was not cloneable: send its JSON form instead
          post({ level: lv, bindings, obj: JSON.parse(JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown>, msg });
        } catch {
          // a port closed under us (the incarnation is ending): the line is lost, the actor is not
        }
      }
    }) as LogFn;
  };
  return {
    level,
    isLevelEnabled: (lv) => RANK[lv] >= min,
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    child: (more) => createActorLog(level, post, { ...bindings, ...more }),
  };
}

const noop = (() => {}) as LogFn;

/** Errors become { type, message, code, stack } (pino's err shape); functions and symbols are dropped. */
function cloneSafe(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Error) {
      out[k] = { type: v.name, message: v.message, ...((v as { code?: unknown }).code !== undefined ? { code: String((v as { code?: unknown }).code) } : {}), stack: v.stack };
    } else if (typeof v !== 'function' && typeof v !== 'symbol') {
      out[k] = v;
    }
  }
  return out;
}
