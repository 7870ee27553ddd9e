import type { ActorMode } from './actors/runtime/incarnation.js';
import type { Clock } from './actors/runtime/clock.js';
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
  firewalled?: boolean;
  web?: { port: number; host?: string };
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
