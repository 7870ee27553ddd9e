/**
 * The transport contract under the session actor: a connection is one ordered, reliable duplex byte stream (a TLS
 * socket, or the single bidirectional stream of a QUIC connection, PROTOCOL.md §4.1–4.2). Framing, the SCP2P
 * handshake and envelopes live above it and never see which kind it is, except to show it (`kind`).
 */

export type TransportKind = 'tcp' | 'quic';

export interface TransportAddress {
  readonly host: string;
  readonly port: number;
}

/** Why a connection ended, as seen by `closed`. `error` is set for everything but a clean close by either side. */
export interface CloseInfo {
  readonly reason: 'local' | 'remote' | 'idle' | 'error';
  readonly error?: Error;
}

export interface Connection extends AsyncIterable<Uint8Array> {
  readonly kind: TransportKind;
  readonly remoteAddress: TransportAddress;
  readonly localAddress: TransportAddress;
  /** Bytes handed to the application / accepted from it so far (for throughput estimates and metrics). */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /** Bytes accepted by `write` that the transport has not yet handed to the kernel / peer window. */
  readonly queuedBytes: number;
  /**
   * Queues `bytes` (the caller must not mutate them afterwards). Returns `true` when the caller may write again at
   * once, or a promise that settles when the queue has drained below the high-water mark (rejects if the
   * connection dies first). `await conn.write(b)` is always correct; checking for `true` saves a microtask.
   * `onWritten`, where the transport supports it (TLS), runs once it no longer needs `bytes` (not if the write
   * fails).
   */
  write(bytes: Uint8Array, onWritten?: () => void): true | Promise<void>;
  /**
   * Incoming byte slices, in order, pulled: the transport stops reading from the network while the consumer is not
   * asking (that is the backpressure towards the peer). Iterate once; the iteration ends when the peer closes its
   * side, and throws if the connection fails. Slices are owned by the consumer.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  /**
   * Push-mode reading, where the transport has it (TLS): `sink.data` runs synchronously with each incoming slice,
   * which saves a promise and a microtask per slice (16 KiB TLS records, so ~64k per GiB) over the iterator. Use it
   * or the iterator, once. `pause()` stops reading from the network (backpressure towards the peer), `resume()`
   * restarts it.
   */
  readPush?(sink: ReadSink): ReadControl;
  /**
   * Direct reads, where the transport can decrypt into memory the reader names (TLS dialed with node:tls `onread`):
   * `sink.target()` says where the next bytes go, `sink.filled(n)` reports them. Saves a Buffer per TLS record and
   * the copy out of it. Like readPush: once, instead of iteration.
   */
  readInto?(sink: DirectReadSink): ReadControl;
  /** Graceful close: flush what was written, half-close, wait for the peer (bounded), then release everything. */
  close(): Promise<void>;
  /** Immediate teardown; pending and future writes/reads fail with `err` (or a plain local close). */
  destroy(err?: Error): void;
  /** Arms an idle timer: no bytes in either direction for `ms` → `onIdle()` (default: destroy with a TIMEOUT). 0 disarms. */
  setIdleTimeout(ms: number, onIdle?: () => void): void;
  /** Settles (never rejects) once the connection is fully released. */
  readonly closed: Promise<CloseInfo>;
}

export interface ReadSink {
  data(bytes: Uint8Array): void;
  /** The peer finished its side. */
  end(): void;
  /** The connection failed (after which nothing more arrives). */
  error(err: Error): void;
}

export interface DirectReadSink {
  /** Memory for the next bytes (never empty); the transport writes at its start. */
  target(): Uint8Array;
  /** `n` bytes were written at the start of the last `target()`. */
  filled(n: number): void;
  end(): void;
  error(err: Error): void;
}

export interface ReadControl {
  pause(): void;
  resume(): void;
}

export interface DialOptions {
  signal?: AbortSignal;
  /** Connect + transport handshake budget. Default 5 000 ms, as the reference (PROTOCOL.md §14). */
  timeoutMs?: number;
  /** The local address to dial from (see dial-source.ts); the kernel picks when absent. */
  localHost?: string;
}

export interface ListenOptions {
  host: string;
  port: number;
  /**
   * TCP only: bind with SO_REUSEPORT, so other listeners with it (serve threads) can bind this same host and port,
   * each with a socket of its own; the kernel spreads new connections over them (transport/reuse-port.ts).
   * 'new' starts a group and, like a plain listen, fails with EADDRINUSE when anything holds the port already
   * (another node of the same user with serve threads would otherwise join its group silently); 'join' binds
   * into the group a 'new' listener of this process started.
   */
  reusePort?: 'new' | 'join';
  /**
   * Asked for every inbound connection as soon as it is accepted, before any transport handshake is spent on it
   * (TLS: the raw TCP socket); false destroys it at once. The session's per-IP accept budget (abuse-guard.ts).
   */
  admit?: (remote: TransportAddress) => boolean;
}

export interface Listener {
  readonly kind: TransportKind;
  readonly address: TransportAddress;
  /** Stops accepting; with `{ destroyConnections: true }` also destroys connections it accepted. */
  close(opts?: { destroyConnections?: boolean }): Promise<void>;
}

export type ConnectionHandler = (conn: Connection) => void;

export interface Transport {
  readonly kind: TransportKind;
  listen(opts: ListenOptions, onConnection: ConnectionHandler): Promise<Listener>;
  dial(addr: TransportAddress, opts?: DialOptions): Promise<Connection>;
}

/** Default connect budget for both transports (reference: TCP connect 5 s, QUIC connect 5 s). */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;
