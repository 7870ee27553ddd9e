import type { ActorMode } from './actors/runtime/incarnation.js';
import type { ConnectionLimits } from './actors/session/connection-types.js';
import type { RateLimits } from './actors/session/rate-limiter.js';
import type { Clock } from './actors/runtime/clock.js';
import type { Transport } from './actors/session/transport/transport.js';
import type { NodeLimits } from './limits.js';
import type { RelayClientConfig, RelayServiceConfig } from './actors/relay/relay-config.js';
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
  /** Fixed relays for a firewalled node ("tcp://ip:port[@hex]"); empty = discover them (API.md "Relays"). */
  relays?: string[];
  /** The relay role's limits and announcement timing (with capabilities.relay); API.md "Relays". */
  relayService?: Partial<RelayServiceConfig>;
  /** The firewalled side's timing (re-check, timeouts, discovery interval); API.md "Relays". */
  relayClient?: Partial<RelayClientConfig>;
  /**
   * The local address dials to peers leave from. Default: `host` when it is one address (not the wildcard) of the
   * peer's family and scope (loopback or not); otherwise the kernel picks. Set it on a multi-homed machine, or to
   * make a node look like it sits behind a NAT (dial from one address, listen on another).
   */
  outgoingAddress?: string;
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
  /**
   * Per-identity request rate limits the session enforces (PROTOCOL.md §14; default: the reference's, with
   * 100x the chunk traffic). Raised by load and fuzz campaigns; lowering them protects a small node.
   */
  rateLimits?: Partial<RateLimits>;
  /** Per-connection timeouts and bounds (handshake, idle, frame, in-flight, buffered bytes). */
  connectionLimits?: Partial<ConnectionLimits>;
  /** Injected time (the simulator passes a virtual clock; inline mode only, workers use the real one). */
  clock?: Clock;
  /**
   * Inline mode only: the session listens and dials through this transport instead of TLS/QUIC sockets (the
   * simulator's in-memory network, src/sim/sim-transport.ts); handshake nonces then come from the seeded Random.
   */
  transport?: Transport;
  /** Seed of every actor's Random stream. */
  seed?: number;
  /** How often subscriptions are synced in the background (default 60 s). */
  syncIntervalMs?: number;
  /**
   * Event loops answering inbound TCP connections (default 1). 2 or more adds serve threads that listen on the
   * same port (SO_REUSEPORT, a socket each) and do TLS, framing and socket writes for the connections they accept,
   * so a seeder's serving spreads over cores. Ignored with the relay capability, and on platforms without a
   * reuse-port build (Linux x64 has one; the log says so). See docs/ARCHITECTURE.md, "Serve threads".
   */
  serveThreads?: number;
  /** Threads of each hashing pool (fetcher's, index's). */
  hashThreads?: number;
  /** How downloads pipeline chunk requests (live caps are in `limits`). */
  fetch?: FetchTuning;
}

export interface FetchTuning {
  /**
   * Chunks in flight per download, at least (PROTOCOL.md §8.3 parallel_chunks: the reference uses 8). Default 24:
   * measured on 2 cores, 8 left one seeder's pipeline idle whenever the threads were preempted, and 4 seeders at 2
   * each idled all the time; with `refillBatch` 8 the window runs between 16 and 24.
   */
  parallelChunks?: number;
  /**
   * Requests are refilled only once this many fit under the in-flight target (default 8; 1 = at every answer), so
   * they leave in bursts that share a TLS record and a wake-up of the seeder's threads: 1 GiB 1 → 1 on 2 cores,
   * ~460 → ~510 MiB/s and ~3.8 → ~3.5 CPU-s per GiB (both ends) against 16 deep refilled one by one.
   */
  refillBatch?: number;
  /** In flight per active provider: the target is the larger of this × providers and `parallelChunks` (default 4; 0 = a fixed `parallelChunks`). */
  chunksPerPeer?: number;
  /** Ceiling of the in-flight target (default 32). */
  maxParallelChunks?: number;
  /** Per GET_CHUNK / GET_CHUNK_HASHES request, ms (default 8000). */
  requestTimeoutMs?: number;
  /** Chunk reads a seeder runs at once for one peer; more wait (default 8). */
  seedMaxPerPeer?: number;
  /**
   * Write downloaded chunks with O_DIRECT, bypassing the page cache, where the file system allows it (default true;
   * elsewhere, and for a file's short last chunk, writes go through the page cache). Saves the CPU of filling fresh
   * page-cache pages and leaves the cache to the rest of the machine; see docs/ARCHITECTURE.md "Throughput".
   */
  directWrites?: boolean;
}

/** The last argument of every async Node method. */
export interface CallOpts {
  signal?: AbortSignal;
  timeoutMs?: number;
}
