/**
 * QUIC with @matrixai/quic (quiche + BoringSSL, binary inside the npm package), shaped like the reference
 * (PROTOCOL.md §4.2): one connection per session and ONE bidirectional stream on it, opened by the client right
 * after connecting; server keep-alive 10 s, idle 30 s. Certificates are throwaway and never verified.
 *
 * Interop limit (docs/QUIC.md): BoringSSL insists on ALPN in QUIC mode on both sides, and the reference speaks
 * QUIC with none, so this transport talks QUIC to our own nodes only; TLS over TCP is the path to the reference.
 */
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import Logger, { LogLevel } from '@matrixai/logger';
import type * as QuicLib from '@matrixai/quic';
import type { QUICConnection, QUICServer, QUICStream } from '@matrixai/quic';
import { ScpError } from '../../../errors.js';
import { processCertificate, type SelfSignedCertificate } from './certs.js';
import { dialGuard, normalizeHost } from './dial-guard.js';
import { isLoopbackHost } from './dial-source.js';
import type {
  CloseInfo,
  Connection,
  ConnectionHandler,
  DialOptions,
  Listener,
  ListenOptions,
  Transport,
  TransportAddress,
} from './transport.js';

/**
 * @matrixai/quic and its native library take ~130 ms to load, most of a session thread's start: loaded on the first
 * QUIC listen or dial, so a node without QUIC never pays it.
 */
let quicLib: typeof QuicLib | undefined;
const loadQuic = async (): Promise<typeof QuicLib> => (quicLib ??= await import('@matrixai/quic'));
/** The library's event classes; only reached on connections and servers, which exist once it is loaded. */
const qevents = (): typeof QuicLib.events => (quicLib as typeof QuicLib).events;

export interface QuicTransportInit {
  certificate?: SelfSignedCertificate;
  /** ALPN list offered/accepted. Never empty: an empty list makes the native client throw out of an event handler
   * (an uncatchable process crash), so it is refused here. Default ['scp2p']. */
  alpn?: string[];
  /** Largest UDP payload we send/accept. 'auto': 16 383 towards loopback peers, 1 452 elsewhere (no PMTU discovery). */
  maxUdpPayload?: number | 'auto';
  /** SO_RCVBUF/SO_SNDBUF for each UDP socket (the kernel caps it at net.core.rmem_max/wmem_max). Default 4 MiB. */
  socketBufferBytes?: number;
  /** Bytes read out of quiche per pull. Default 256 KiB. */
  readableChunkSize?: number;
  /** Initial per-stream receive window, which is also what a stalled reader costs us per connection. Default 4 MiB. */
  streamWindow?: number;
  /** Server keep-alive PING interval / idle timeout (PROTOCOL.md §4.2). */
  keepAliveMs?: number;
  maxIdleTimeoutMs?: number;
  /** Server: a connection that has not opened its stream after this long is closed. Default 10 s. */
  streamOpenTimeoutMs?: number;
  /** Graceful `close()` waits this long for our FIN to be taken and the peer's to arrive. */
  closeGraceMs?: number;
  /** quiche congestion controller: 'cubic' (its default), 'reno', 'bbr' (this build has no bbr2). */
  congestionControl?: 'cubic' | 'reno' | 'bbr';
}

const LOOPBACK_UDP_PAYLOAD = 16_383;
const INTERNET_UDP_PAYLOAD = 1_452; // 1500 - IPv6 40 - UDP 8
const logger = new Logger('scp2p-quic', LogLevel.SILENT);
/** What a peer's RESET_STREAM / STOP_SENDING becomes on our side (the library's default is a bare Error). */
const codeToReason = (type: 'read' | 'write', code: number | bigint): Error =>
  ScpError.io(`QUIC stream ${type === 'read' ? 'reset' : 'stopped'} by the peer (code ${code})`);

/** Throws BAD_INPUT for an ALPN list the native layer would crash on or reject. */
export function checkAlpn(alpn: readonly string[]): void {
  if (alpn.length === 0) throw ScpError.badInput('QUIC ALPN list must not be empty (quiche/BoringSSL require ALPN in QUIC; an empty list crashes the native client)');
  for (const p of alpn) {
    const n = Buffer.byteLength(p);
    if (n === 0 || n > 255) throw ScpError.badInput(`QUIC ALPN protocol names must be 1..255 bytes, got ${n}`, { alpn: p });
  }
}

/** The dgram socket inside a QUICClient/QUICServer (a protected field there; reached on purpose, see docs/QUIC.md). */
function tuneUdpSocket(owner: unknown, bytes: number): void {
  const dgram = (owner as { socket?: { socket?: import('node:dgram').Socket } }).socket?.socket;
  if (!dgram || bytes <= 0) return;
  try {
    dgram.setRecvBufferSize(bytes);
    dgram.setSendBufferSize(bytes);
  } catch {
    /* capped or refused by the kernel: keep its default */
  }
}

class QuicConnectionStream implements Connection {
  readonly kind = 'quic' as const;
  readonly closed: Promise<CloseInfo>;
  bytesRead = 0;
  bytesWritten = 0;
  queuedBytes = 0;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private closeInfo: CloseInfo | undefined;
  private lastError: Error | undefined;
  private localClose = false;
  private idleFired = false;
  private readEnded = false;
  private iterated = false;
  private lastActivity = Date.now();
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private onIdle: (() => void) | undefined;

  constructor(
    private readonly conn: QUICConnection,
    stream: QUICStream,
    readonly remoteAddress: TransportAddress,
    readonly localAddress: TransportAddress,
    /** Stops the connection (and, for a client, its own UDP socket). */
    private readonly teardown: (force: boolean) => Promise<void>,
    private readonly closeGraceMs: number,
  ) {
    this.writer = stream.writable.getWriter();
    this.reader = stream.readable.getReader();
    this.writer.closed.catch(() => {});
    this.reader.closed.catch(() => {});
    conn.addEventListener(qevents().EventQUICConnectionError.name, (evt: Event) => {
      const detail = (evt as unknown as { detail?: Error & { data?: { errorCode?: number; isApp?: boolean } } }).detail;
      // A peer's application close with code 0 is its graceful close, not an error.
      if (detail && !(detail.constructor.name === 'ErrorQUICConnectionPeer' && detail.data?.isApp && detail.data.errorCode === 0)
        && detail.constructor.name !== 'ErrorQUICConnectionLocal') {
        this.lastError ??= detail;
      }
    });
    this.closed = new Promise((resolve) => {
      conn.addEventListener(
        qevents().EventQUICConnectionStopped.name,
        () => {
          this.clearIdle();
          const err = this.lastError;
          const info: CloseInfo = this.idleFired && !this.onIdle
            ? { reason: 'idle', ...(err ? { error: err } : {}) }
            : err
              ? { reason: 'error', error: err }
              : { reason: this.localClose ? 'local' : 'remote' };
          this.closeInfo = info;
          resolve(info);
        },
        { once: true },
      );
    });
  }

  write(bytes: Uint8Array): true | Promise<void> {
    if (this.closeInfo || this.localClose) return Promise.reject(this.deadError());
    this.touch();
    this.bytesWritten += bytes.length;
    this.queuedBytes += bytes.length;
    this.writer.write(bytes).then(
      () => (this.queuedBytes -= bytes.length),
      () => {},
    );
    if ((this.writer.desiredSize ?? 0) > 0) return true;
    return this.writer.ready.catch(() => {
      throw this.deadError();
    });
  }

  private deadError(): Error {
    return this.closeInfo?.error ?? this.lastError ?? ScpError.io(`QUIC connection to ${this.remoteAddress.host}:${this.remoteAddress.port} is closed`);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterated) throw ScpError.internal('a Connection can be iterated only once');
    this.iterated = true;
    for (;;) {
      const r = await this.reader.read().catch((err: unknown) => {
        throw this.lastError ?? (err instanceof Error ? err : ScpError.io(`QUIC stream failed: ${String(err)}`));
      });
      if (r.done) {
        this.readEnded = true;
        return;
      }
      this.bytesRead += r.value.length;
      this.touch();
      yield r.value;
    }
  }

  async close(): Promise<void> {
    if (this.closeInfo) return;
    if (this.localClose) {
      await this.closed;
      return;
    }
    this.localClose = true;
    const grace = new Promise<void>((r) => setTimeout(r, this.closeGraceMs).unref());
    // FIN after everything queued; then give the peer a moment to finish its side before we close the connection.
    await Promise.race([this.writer.close().catch(() => {}), grace]);
    if (!this.readEnded && !this.iterated) void this.drainReads();
    await Promise.race([this.reader.closed.catch(() => {}), this.closed, grace]);
    // Both directions are done (or the grace ran out): a non-forced stop would wait for the peer's FIN forever.
    await this.teardown(true).catch(() => {});
    await this.closed;
  }

  private async drainReads(): Promise<void> {
    try {
      for (;;) if ((await this.reader.read()).done) return;
    } catch {
      /* closing anyway */
    }
  }

  destroy(err?: Error): void {
    if (err) this.lastError ??= err;
    else this.localClose = true;
    if (!this.closeInfo) void this.teardown(true).catch(() => {});
  }

  setIdleTimeout(ms: number, onIdle?: () => void): void {
    this.onIdle = onIdle;
    this.idleFired = false;
    this.idleMs = ms;
    this.clearIdle();
    if (ms > 0 && !this.closeInfo) this.armIdle(ms);
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }

  private armIdle(delay: number): void {
    this.idleTimer = setTimeout(() => {
      const quietFor = Date.now() - this.lastActivity;
      if (quietFor < this.idleMs) return this.armIdle(this.idleMs - quietFor);
      this.idleTimer = undefined;
      this.idleFired = true;
      if (this.onIdle) this.onIdle();
      else this.destroy(ScpError.timeout('idle connection', this.idleMs));
    }, delay);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

class QuicListener implements Listener {
  readonly kind = 'quic' as const;
  constructor(
    private readonly server: QUICServer,
    readonly address: TransportAddress,
  ) {}

  async close(opts?: { destroyConnections?: boolean }): Promise<void> {
    // quiche connections share the listener's UDP socket: stopping it always ends them (gracefully unless asked).
    await this.server.stop({ force: opts?.destroyConnections ?? false, isApp: true, errorCode: 0 });
  }
}

export class QuicTransport implements Transport {
  readonly kind = 'quic' as const;
  private readonly cert: SelfSignedCertificate;
  private readonly alpn: string[];
  private readonly maxUdpPayload: number | 'auto';
  private readonly socketBufferBytes: number;
  private readonly readableChunkSize: number;
  private readonly streamWindow: number;
  private readonly keepAliveMs: number;
  private readonly maxIdleTimeoutMs: number;
  private readonly streamOpenTimeoutMs: number;
  private readonly closeGraceMs: number;
  private readonly congestionControl: string | undefined;

  constructor(init: QuicTransportInit = {}) {
    this.congestionControl = init.congestionControl;
    this.alpn = init.alpn ?? ['scp2p'];
    checkAlpn(this.alpn);
    this.cert = init.certificate ?? processCertificate();
    this.maxUdpPayload = init.maxUdpPayload ?? 'auto';
    this.socketBufferBytes = init.socketBufferBytes ?? 4 * 1024 * 1024;
    this.readableChunkSize = init.readableChunkSize ?? 256 * 1024;
    this.streamWindow = init.streamWindow ?? 4 * 1024 * 1024;
    this.keepAliveMs = init.keepAliveMs ?? 10_000;
    this.maxIdleTimeoutMs = init.maxIdleTimeoutMs ?? 30_000;
    this.streamOpenTimeoutMs = init.streamOpenTimeoutMs ?? 10_000;
    this.closeGraceMs = init.closeGraceMs ?? 2_000;
  }

  private config(udpPayload: number) {
    return {
      verifyPeer: false,
      applicationProtos: this.alpn,
      maxRecvUdpPayloadSize: udpPayload,
      maxSendUdpPayloadSize: udpPayload,
      initialMaxData: 2 * this.streamWindow,
      initialMaxStreamDataBidiLocal: this.streamWindow,
      initialMaxStreamDataBidiRemote: this.streamWindow,
      initialMaxStreamDataUni: 0,
      initialMaxStreamsUni: 0,
      maxStreamWindow: 4 * this.streamWindow,
      maxConnectionWindow: 8 * this.streamWindow,
      readableChunkSize: this.readableChunkSize,
      maxIdleTimeout: this.maxIdleTimeoutMs,
      // honoured through our patch of @matrixai/quic (patches/, docs/QUIC.md); ignored by the unpatched package
      ...(this.congestionControl ? { ccAlgorithm: this.congestionControl } : {}),
    };
  }

  async listen(opts: ListenOptions, onConnection: ConnectionHandler): Promise<Listener> {
    const hmacKey = randomBytes(32);
    const mac = (k: ArrayBuffer, d: ArrayBuffer): Buffer => createHmac('sha256', Buffer.from(k)).update(Buffer.from(d)).digest();
    const payload = this.maxUdpPayload === 'auto' ? LOOPBACK_UDP_PAYLOAD : this.maxUdpPayload;
    const { QUICServer } = await loadQuic();
    const server = new QUICServer({
      crypto: {
        key: hmacKey.buffer.slice(hmacKey.byteOffset, hmacKey.byteOffset + hmacKey.length) as ArrayBuffer,
        ops: {
          sign: async (k, d) => {
            const m = mac(k, d);
            return m.buffer.slice(m.byteOffset, m.byteOffset + m.length) as ArrayBuffer;
          },
          verify: async (k, d, s) => {
            const m = mac(k, d);
            const sig = Buffer.from(s);
            return sig.length === m.length && timingSafeEqual(m, sig);
          },
        },
      },
      config: {
        ...this.config(payload),
        key: this.cert.keyPem,
        cert: this.cert.certPem,
        keepAliveIntervalTime: this.keepAliveMs,
        initialMaxStreamsBidi: 1, // the reference opens exactly one; more would only cost us buffers
      },
      minIdleTimeout: this.streamOpenTimeoutMs,
      codeToReason,
      logger,
    });
    server.addEventListener(qevents().EventQUICServerConnection.name, (evt: Event) => {
      const conn = (evt as unknown as { detail: QUICConnection }).detail;
      this.acceptStream(conn, onConnection);
    });
    try {
      await server.start({ host: opts.host, port: opts.port, ipv6Only: false });
    } catch (err) {
      throw ScpError.io(`QUIC listen on ${opts.host}:${opts.port} failed: ${(err as Error).message}`, err);
    }
    tuneUdpSocket(server, this.socketBufferBytes);
    return new QuicListener(server, { host: normalizeHost(server.host), port: server.port });
  }

  private acceptStream(conn: QUICConnection, onConnection: ConnectionHandler): void {
    let accepted = false;
    const stopConn = (force: boolean): Promise<void> => conn.stop({ isApp: true, errorCode: 0, force });
    const timer = setTimeout(() => void stopConn(true).catch(() => {}), this.streamOpenTimeoutMs);
    timer.unref();
    conn.addEventListener(qevents().EventQUICConnectionStopped.name, () => clearTimeout(timer), { once: true });
    conn.addEventListener(qevents().EventQUICConnectionStream.name, (evt: Event) => {
      const stream = (evt as unknown as { detail: QUICStream }).detail;
      if (accepted) {
        // One stream per connection (PROTOCOL.md §4.2): refuse any other.
        void stream.destroy({ force: true }).catch(() => {});
        return;
      }
      accepted = true;
      clearTimeout(timer);
      const remote = { host: normalizeHost(conn.remoteHost), port: conn.remotePort };
      const local = { host: normalizeHost(conn.localHost), port: conn.localPort };
      onConnection(new QuicConnectionStream(conn, stream, remote, local, stopConn, this.closeGraceMs));
    });
  }

  dial(addr: TransportAddress, opts?: DialOptions): Promise<Connection> {
    const what = `QUIC dial to ${addr.host}:${addr.port}`;
    const abort = new AbortController();
    const guard = dialGuard<Connection>(what, opts, (err) => abort.abort(err));
    if (guard.settled) return guard.promise;
    const payload = this.maxUdpPayload === 'auto' ? (isLoopbackHost(addr.host) ? LOOPBACK_UDP_PAYLOAD : INTERNET_UDP_PAYLOAD) : this.maxUdpPayload;
    // A fresh UDP endpoint per connection, as the reference; IPv4 targets from an IPv4 socket (no mapped addresses).
    const localHost = opts?.localHost ?? (isIP(addr.host) === 6 ? '::' : '0.0.0.0');
    loadQuic().then(({ QUICClient }) => QUICClient.createQUICClient(
      {
        host: addr.host,
        port: addr.port,
        serverName: 'localhost',
        localHost,
        crypto: { ops: { randomBytes: async (b: ArrayBuffer) => void randomFillSync(new Uint8Array(b)) } },
        config: { ...this.config(payload), initialMaxStreamsBidi: 0 },
        codeToReason,
        logger,
      },
      { signal: abort.signal },
    )).then(
      (client) => {
        if (guard.settled) {
          void client.destroy({ force: true }).catch(() => {});
          return;
        }
        tuneUdpSocket(client, this.socketBufferBytes);
        const conn = client.connection;
        let stream: QUICStream;
        try {
          stream = conn.newStream('bidi');
        } catch (err) {
          void client.destroy({ force: true }).catch(() => {});
          guard.reject(ScpError.io(`${what}: could not open the stream: ${(err as Error).message}`, err));
          return;
        }
        const remote = { host: normalizeHost(client.host), port: client.port };
        const local = { host: normalizeHost(client.localHost), port: client.localPort };
        const teardown = (force: boolean): Promise<void> => client.destroy({ isApp: true, errorCode: 0, force });
        guard.resolve(new QuicConnectionStream(conn, stream, remote, local, teardown, this.closeGraceMs));
      },
      (err: unknown) => {
        const code = (err as { data?: { errorCode?: number } })?.data?.errorCode;
        // 0x178 = CRYPTO_ERROR + TLS alert 120 no_application_protocol: the peer wants another ALPN (or none at
        // all, as a reference node does; see docs/QUIC.md).
        const hint = code === 0x178 ? ' (the peer refused our ALPN: not an scp2p-ts QUIC listener? use TLS over TCP)' : '';
        guard.reject(ScpError.io(`${what} failed: ${(err as Error)?.message ?? String(err)}${hint}`, err));
      },
    );
    return guard.promise;
  }
}
