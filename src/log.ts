/**
 * Structured JSON logs (pino): one root logger per node, a child per actor (`{ actor }`) and per component
 * (`{ component }`), so an operator can filter one actor's lines with `jq 'select(.actor=="fetcher")'`.
 * Embedders get warnings and errors on stderr by default; `logLevel: 'silent'` turns logging off, and
 * `logger` hands in their own pino instance.
 */
import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import type { ActorName } from './messages/actor-name.js';
import type { NodeEvent } from './messages/node-events.js';
import type { ActorLogRecord } from './actors/runtime/actor-log.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export type { Logger };

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr (fd 2) by default so stdout stays free for the embedder's own output. */
  destination?: DestinationStream;
  /** Fields on every line (the node id, say). */
  base?: Record<string, unknown>;
}

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'warn';
  return pino(
    { level, base: { pid: process.pid, ...opts.base }, timestamp: stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    opts.destination ?? destination({ fd: 2, sync: true }),
  );
}

export function actorLogger(root: Logger, actor: ActorName): Logger {
  return root.child({ actor });
}

/** Writes a line an actor posted (actors/runtime/actor-log.ts) as if logged here: same format and level. */
export function writeActorLog(root: Logger, actor: ActorName, r: ActorLogRecord): void {
  try {
    const log = Object.keys(r.bindings).length > 0 ? actorLogger(root, actor).child(r.bindings) : actorLogger(root, actor);
    if (typeof log[r.level] === 'function') log[r.level](r.obj, r.msg);
  } catch {
    // a line that cannot be written (a broken destination) must not take the supervisor down with it
  }
}

export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}

/** How the node turns its own events into log lines: lifecycle trouble loud, traffic at debug. */
export function logNodeEvent(root: Logger, e: NodeEvent): void {
  switch (e.type) {
    case 'ActorStarted':
      actorLogger(root, e.actor).debug({ incarnation: e.incarnation }, 'actor started');
      break;
    case 'ActorCrashed':
      actorLogger(root, e.actor).warn({ reason: e.reason, err: e.error }, 'actor crashed');
      break;
    case 'ActorRestarted':
      actorLogger(root, e.actor).warn({ restarts: e.restarts }, 'actor restarted');
      break;
    case 'ActorFailed':
      actorLogger(root, e.actor).error({ err: e.error }, 'actor failed');
      break;
    case 'NodeFailed':
      root.error({ reason: e.reason }, 'node failed');
      break;
    case 'NodeStopped':
      root.info('node stopped');
      break;
    case 'PeerConnected':
      actorLogger(root, 'session').info({ peer: e.nodeId, addr: e.addr, transport: e.transport, relayed: e.relayed }, 'peer connected');
      break;
    case 'PeerDisconnected':
      actorLogger(root, 'session').info({ peer: e.nodeId, reason: e.reason }, 'peer disconnected');
      break;
    case 'DownloadCompleted':
      actorLogger(root, 'fetcher').info({ download: e.id, contentId: e.contentId, path: e.path }, 'download completed');
      break;
    case 'DownloadFailed':
      actorLogger(root, 'fetcher').warn({ download: e.id, contentId: e.contentId, code: e.code, err: e.error }, 'download failed');
      break;
    case 'ManifestUpdated':
      actorLogger(root, 'index').info({ shareId: e.shareId, seq: String(e.seq), items: e.items, own: e.own }, 'manifest updated');
      break;
    case 'DownloadProgress':
    case 'PublishProgress':
    case 'SearchIndexUpdated':
    case 'SubscriptionAdded':
    case 'SubscriptionRemoved':
      root.debug({ event: e.type }, 'event');
      break;
  }
}
