import type { ActorMode } from './actors/runtime/incarnation.js';
import type { Clock } from './actors/runtime/clock.js';
import type { NodeLimits } from './limits.js';
import type { Logger, LogLevel } from './log.js';
import type { SupervisionLimits } from './supervisor.js';

export interface Capabilities {
  dht: boolean;
  store: boolean;
  relay: boolean;
  contentSeed: boolean;
  mobileLight: boolean;
}

/** Node.start's argument (API.md §1). Later issues read their own fields; unknown ones are ignored. */
export interface NodeConfig {
  dataDir: string;
  listen?: { tcp?: number | null; quic?: number | null };
  host?: string;
  bootstrap?: string[];
  lanDiscovery?: boolean;
  capabilities?: Partial<Capabilities>;
  /** Encrypts the node and publisher keys at rest. */
  keyPassphrase?: string;
  relays?: string[];
  /** Which transport to dial a peer with when it listens on both (default 'prefer-tcp'; 'auto' = by measured throughput). */
  transportPolicy?: 'prefer-tcp' | 'prefer-quic' | 'auto';
  firewalled?: boolean;
  /** Serve the web UI, the control API and /metrics from the node (host defaults to 127.0.0.1). */
  web?: { port: number; host?: string };
  /** Structured JSON logs (pino) on stderr; default 'warn'. */
  logLevel?: LogLevel;
  /** Your own pino logger instead (the node logs through children with `actor`/`component` fields). */
  logger?: Logger;
  /** Bandwidth caps and concurrency limits (null = unlimited); change them live with node.setLimits. */
  limits?: Partial<NodeLimits>;
  /** 'worker' (default): one worker thread per actor. 'inline': the same actor code in this thread (tests, simulator). */
  actorMode?: ActorMode;
  /** Restart intensity/period, heartbeat and timeout limits. */
  supervision?: Partial<SupervisionLimits>;
  /** Injected time (the simulator passes a virtual clock; inline mode only, workers use the real one). */
  clock?: Clock;
  /** Seed of every actor's Random stream. */
  seed?: number;
  /** How often subscriptions are synced in the background (default 60 s). */
  syncIntervalMs?: number;
  /** Threads of each hashing pool (fetcher's, index's). */
  hashThreads?: number;
}

/** The last argument of every async Node method. */
export interface CallOpts {
  signal?: AbortSignal;
  timeoutMs?: number;
}
