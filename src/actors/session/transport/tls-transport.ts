/**
 * TLS 1.3 over TCP with node:tls, as the reference sets it up (PROTOCOL.md §4.1): self-signed server cert, no client
 * cert request, client without verification and with SNI "localhost", no ALPN on either side, 5 s connect budget.
 * This is the guaranteed interop path with the Rust reference.
 */
import * as tls from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { ScpError } from '../../../errors.js';
import { processCertificate, type SelfSignedCertificate } from './certs.js';
import { assertPortFree, reusePortFd } from './reuse-port.js';
import { dialGuard, normalizeHost } from './dial-guard.js';
import type {
  CloseInfo,
  Connection,
  ConnectionHandler,
  DialOptions,
  DirectReadSink,
  Listener,
  ListenOptions,
  ReadControl,
  ReadSink,
  Transport,
  TransportAddress,
} from './transport.js';

export interface TlsTransportInit {
  /** Defaults to the process certificate. */
  certificate?: SelfSignedCertificate;
  /** Socket buffer high-water marks (bytes). 64 KiB measured best for bulk here (see bench/transports.bench.mjs). */
  highWaterMark?: number;
  /** Server side: a TLS handshake that takes longer is dropped (the reference has none; a slow client can't stall us). */
  handshakeTimeoutMs?: number;
  /** Graceful `close()` waits this long for the peer's FIN before destroying. */
  closeGraceMs?: number;
}

const DEFAULT_HWM = 64 * 1024;
/** Bytes a dialed connection buffers (copied) before anyone reads it; then the socket pauses until someone does. */
const EARLY_BYTES = 256 * 1024;

/**
 * TLS 1.3 suites in our order of preference, for both ends: a node:tls server picks by its own order among what
 * the client offers (checked: a client listing AES-128 first still got AES-256 from a default server), a rustls
 * server by default by the client's. So traffic to and from our nodes runs on AES-128-GCM: 1 GiB over node:tls on
 * loopback costs 1.29–1.35 CPU-s in all with it against 1.34–1.43 with AES-256-GCM, OpenSSL's first choice (5
 * paired runs here; ChaCha20 was slower still). All three are TLS 1.3's standard suites and AES-128-GCM is the one
 * every implementation must have, so nothing changes for interop.
 */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/**
 * The reads of a dialed socket, which node:tls delivers into memory we name (`tls.connect({ onread })`): one
 * synchronous callback per TLS record, no Buffer per record, no stream machinery. Made before the socket (node
 * asks for the first target at once) and wired to a reader later; what arrives before that is copied and kept.
 */
class DialedReads {
  readonly scratch = new Uint8Array(16 * 1024);
  target: (() => Uint8Array) | undefined;
  /** Returns false to pause the socket. */
  filled: ((n: number, buf: Uint8Array) => boolean) | undefined;
  early: Uint8Array[] = [];
  earlyBytes = 0;

  readonly onread = {
    buffer: (): Uint8Array => (this.target ? this.target() : this.scratch),
    callback: (n: number, buf: Uint8Array): boolean => {
      if (this.filled) return this.filled(n, buf);
      this.early.push(new Uint8Array(buf.subarray(0, n)));
      this.earlyBytes += n;
      return this.earlyBytes < EARLY_BYTES;
    },
  };
}
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const DEFAULT_CLOSE_GRACE_MS = 2_000;

class TlsConnection implements Connection {
  readonly kind = 'tcp' as const;
  readonly remoteAddress: TransportAddress;
  readonly localAddress: TransportAddress;
  readonly closed: Promise<CloseInfo>;
  bytesRead = 0;
  private closeInfo: CloseInfo | undefined;
  private localClose = false;
  private idleFired = false;
  private remoteEnded = false;
  private drainP: Promise<void> | undefined;
  private iterated = false;
  private onIdle: (() => void) | undefined;
  /** Direct reads: only on connections we dialed (node:tls has `onread` for tls.connect alone). */
  readonly readInto?: (sink: DirectReadSink) => ReadControl;

  constructor(
    private readonly socket: tls.TLSSocket,
    private readonly closeGraceMs: number,
    private readonly dialed?: DialedReads,
  ) {
    if (dialed) this.readInto = (sink) => this.#readInto(dialed, sink);
    socket.setNoDelay(true);
    this.remoteAddress = { host: normalizeHost(socket.remoteAddress), port: socket.remotePort ?? 0 };
    this.localAddress = { host: normalizeHost(socket.localAddress), port: socket.localPort ?? 0 };
    let lastError: Error | undefined;
    socket.on('error', (err) => {
      lastError ??= err;
    });
    socket.on('end', () => {
      this.remoteEnded = true;
    });
    socket.on('timeout', () => {
      this.idleFired = true;
      if (this.onIdle) this.onIdle();
      else this.destroy(ScpError.timeout('idle connection', socket.timeout ?? 0));
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        const info: CloseInfo = this.idleFired && !this.onIdle
          ? { reason: 'idle', ...(lastError ? { error: lastError } : {}) }
          : lastError
            ? { reason: 'error', error: lastError }
            : { reason: this.localClose ? 'local' : 'remote' };
        this.closeInfo = info;
        resolve(info);
      });
    });
  }

  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  write(bytes: Uint8Array, onWritten?: () => void): true | Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return Promise.reject(this.deadError());
    const ok = onWritten ? s.write(bytes, (err) => err || onWritten()) : s.write(bytes);
    if (ok) return true;
    return this.waitDrain();
  }

  private waitDrain(): Promise<void> {
    this.drainP ??= new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        this.drainP = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(this.deadError());
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
    return this.drainP;
  }

  private deadError(): Error {
    return this.closeInfo?.error ?? ScpError.io(`TLS connection to ${this.remoteAddress.host}:${this.remoteAddress.port} is closed`);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterated) throw ScpError.internal('a Connection can be iterated only once');
    this.iterated = true;
    // Flowing mode into a small queue, paused above the high-water mark: measured ~1.5x faster here than the
    // Readable's own async iterator, with the same backpressure (a paused socket stops reading from the kernel).
    const socket = this.socket;
    const hwm = socket.readableHighWaterMark;
    const queue: Buffer[] = [];
    let queued = 0;
    let ended = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    this.#onData((b) => {
      queue.push(b);
      queued += b.length;
      if (queued >= hwm) socket.pause();
      notify();
    });
    socket.once('end', () => {
      ended = true;
      notify();
    });
    socket.once('close', () => {
      if (!ended && !this.remoteEnded) failure = this.closeInfo?.error ?? this.deadError();
      ended = true;
      notify();
    });
    socket.on('error', (err) => {
      failure ??= err;
    });
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          const b = queue.shift();
          if (b) {
            queued -= b.length;
            if (queued < hwm && socket.isPaused() && !ended) socket.resume();
            this.bytesRead += b.length;
            return { done: false, value: b };
          }
          if (failure) throw failure;
          if (ended) return { done: true, value: undefined };
          await new Promise<void>((r) => (wake = r));
        }
      },
      return: async (): Promise<IteratorResult<Uint8Array>> => {
        // The consumer stopped early: nobody will read this connection any more.
        if (!ended) socket.destroy();
        return { done: true, value: undefined };
      },
    };
  }

  readPush(sink: ReadSink): ReadControl {
    if (this.iterated) throw ScpError.internal('a Connection can be read only once');
    this.iterated = true;
    const socket = this.socket;
    let done = false;
    this.#onData((b) => {
      if (done) return;
      this.bytesRead += b.length;
      sink.data(b);
    });
    this.#onEnd(sink, () => done, () => (done = true));
    return {
      pause: () => socket.pause(),
      resume: () => {
        if (!done) socket.resume();
      },
    };
  }

  #readInto(d: DialedReads, sink: DirectReadSink): ReadControl {
    if (this.iterated) throw ScpError.internal('a Connection can be read only once');
    this.iterated = true;
    const socket = this.socket;
    let done = false;
    let paused = false;
    let last: Uint8Array | undefined;
    /** Bytes that are not in the sink's last target: copied into its targets, as if read now. */
    const feed = (e: Uint8Array): void => {
      for (let off = 0; off < e.length && !done; ) {
        const t = sink.target();
        const k = Math.min(t.length, e.length - off);
        t.set(e.subarray(off, off + k));
        off += k;
        this.bytesRead += k;
        sink.filled(k);
      }
    };
    d.target = () => (last = sink.target());
    d.filled = (n, buf) => {
      if (done) return !paused;
      // The first read after wiring lands in the memory node:tls was given before: the connection's own scratch.
      if (buf !== last) feed(buf.subarray(0, n));
      else {
        this.bytesRead += n;
        sink.filled(n);
      }
      return !paused;
    };
    this.#onEnd(sink, () => done, () => (done = true));
    for (const e of d.early.splice(0)) feed(e);
    if (d.earlyBytes >= EARLY_BYTES && !paused && !done) socket.resume();
    return {
      pause: () => {
        paused = true;
        socket.pause();
      },
      resume: () => {
        paused = false;
        if (!done) socket.resume();
      },
    };
  }

  /** 'data' of the socket — or, on a dialed one (which has no 'data' events), a copy of each direct read. */
  #onData(handler: (b: Buffer) => void): void {
    const d = this.dialed;
    if (!d) {
      this.socket.on('data', handler);
      return;
    }
    d.filled = (n, buf) => {
      handler(Buffer.from(new Uint8Array(buf.subarray(0, n)).buffer));
      return true;
    };
    for (const e of d.early.splice(0)) handler(Buffer.from(e.buffer, e.byteOffset, e.length));
    if (d.earlyBytes >= EARLY_BYTES) this.socket.resume();
  }

  /** The end of a push-mode read: the peer's FIN, or a close (an error unless the peer had ended). */
  #onEnd(sink: { end(): void; error(err: Error): void }, isDone: () => boolean, setDone: () => void): void {
    const socket = this.socket;
    let failure: Error | undefined;
    socket.once('end', () => {
      if (isDone()) return;
      setDone();
      sink.end();
    });
    socket.on('error', (err) => {
      failure ??= err;
    });
    socket.once('close', () => {
      if (isDone()) return;
      setDone();
      if (this.remoteEnded) sink.end();
      else sink.error(failure ?? this.closeInfo?.error ?? this.deadError());
    });
  }

  async close(): Promise<void> {
    if (this.socket.destroyed) {
      await this.closed;
      return;
    }
    this.localClose = true;
    this.socket.end();
    // If the peer already half-closed, our end() completes the exchange; else give it a moment to answer.
    const grace = setTimeout(() => this.socket.destroy(), this.remoteEnded ? 0 : this.closeGraceMs);
    grace.unref();
    // A paused socket never sees the peer's FIN: drain what is left so 'end' (and then 'close') can arrive.
    if (!this.iterated) this.socket.resume();
    await this.closed;
    clearTimeout(grace);
  }

  destroy(err?: Error): void {
    if (!err) this.localClose = true;
    this.socket.destroy(err);
  }

  setIdleTimeout(ms: number, onIdle?: () => void): void {
    this.onIdle = onIdle;
    this.idleFired = false;
    this.socket.setTimeout(ms);
  }
}

class TlsListener implements Listener {
  readonly kind = 'tcp' as const;
  constructor(
    private readonly server: tls.Server,
    readonly address: TransportAddress,
    private readonly live: Set<TlsConnection>,
  ) {}

  async close(opts?: { destroyConnections?: boolean }): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (opts?.destroyConnections) {
      for (const c of this.live) c.destroy();
      await stopped;
    }
  }
}

export class TlsTransport implements Transport {
  readonly kind = 'tcp' as const;
  private readonly cert: SelfSignedCertificate;
  private readonly hwm: number;
  private readonly handshakeTimeoutMs: number;
  private readonly closeGraceMs: number;

  constructor(init: TlsTransportInit = {}) {
    this.cert = init.certificate ?? processCertificate();
    this.hwm = init.highWaterMark ?? DEFAULT_HWM;
    this.handshakeTimeoutMs = init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.closeGraceMs = init.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  }

  async listen(opts: ListenOptions, onConnection: ConnectionHandler): Promise<Listener> {
    const live = new Set<TlsConnection>();
    const server = tls.createServer({
      key: this.cert.keyPem,
      cert: this.cert.certPem,
      minVersion: 'TLSv1.3',
      ciphers: TLS13_SUITES,
      requestCert: false,
      handshakeTimeout: this.handshakeTimeoutMs,
      noDelay: true,
      highWaterMark: this.hwm,
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      setStreamHwm(socket, this.hwm);
      const conn = new TlsConnection(socket, this.closeGraceMs);
      live.add(conn);
      void conn.closed.then(() => live.delete(conn));
      onConnection(conn);
    });
    // A failed or stalled handshake only costs that client its socket (node:tls destroys it after this event).
    server.on('tlsClientError', () => {});
    // Runs after node:tls has wrapped the raw socket but before any TLS byte is read: a refused peer costs an
    // accept and a close, no handshake.
    const admit = opts.admit;
    if (admit) {
      server.on('connection', (socket: Socket) => {
        if (!admit({ host: normalizeHost(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 })) socket.destroy();
      });
    }
    if (opts.reusePort === 'new' && opts.port !== 0) await assertPortFree(opts.host, opts.port);
    // The server owns the descriptor from here: it closes it on close and when listen() fails.
    const fd = opts.reusePort ? reusePortFd(opts.host, opts.port) : undefined;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const ready = (): void => {
        server.off('error', reject);
        resolve();
      };
      if (fd !== undefined) server.listen({ fd }, ready);
      else server.listen(opts.port, opts.host, ready);
    });
    server.on('error', () => {});
    const a = server.address() as AddressInfo;
    return new TlsListener(server, { host: normalizeHost(a.address), port: a.port }, live);
  }

  dial(addr: TransportAddress, opts?: DialOptions): Promise<Connection> {
    const what = `TLS dial to ${addr.host}:${addr.port}`;
    let socket: tls.TLSSocket | undefined;
    const guard = dialGuard<Connection>(what, opts, (err) => socket?.destroy(err));
    if (guard.settled) return guard.promise;
    const reads = new DialedReads();
    socket = tls.connect({
      host: addr.host,
      port: addr.port,
      servername: 'localhost',
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      ciphers: TLS13_SUITES,
      noDelay: true,
      highWaterMark: this.hwm, // honoured by tls.connect (Node 20), missing from @types/node
      onread: reads.onread,
      ...(opts?.localHost ? { localAddress: opts.localHost } : {}),
    } as tls.ConnectionOptions);
    const s = socket;
    s.once('secureConnect', () => {
      s.off('error', onError);
      setStreamHwm(s, this.hwm);
      guard.resolve(new TlsConnection(s, this.closeGraceMs, reads));
    });
    const onError = (err: Error): void => {
      guard.reject(ScpError.io(`${what} failed: ${err.message}`, err));
      s.destroy();
    };
    s.once('error', onError);
    return guard.promise;
  }
}

/**
 * Accepted TLS sockets keep 16 KiB marks whatever the server options say (Node 20); raise them on the stream state.
 * `_readableState`/`_writableState` are Node internals: if they ever go away this silently does nothing.
 */
function setStreamHwm(socket: tls.TLSSocket, hwm: number): void {
  const r = (socket as unknown as { _readableState?: { highWaterMark: number } })._readableState;
  const w = (socket as unknown as { _writableState?: { highWaterMark: number } })._writableState;
  if (r && r.highWaterMark < hwm) r.highWaterMark = hwm;
  if (w && w.highWaterMark < hwm) w.highWaterMark = hwm;
}
