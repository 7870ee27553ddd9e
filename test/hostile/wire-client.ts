/**
 * A hostile peer's end of one TLS connection: a genuine SCP2P handshake and pipelined requests through a
 * ConnectionCore initiator (so the attacker speaks the protocol exactly), plus raw writes for attacks below the
 * envelope layer (slow frames, oversize prefixes). Each client has its own identity unless given a seed.
 */
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { ConnectionCore, type CloseCode } from '../../src/actors/session/connection-core.js';
import { NO_CAPABILITIES } from '../../src/protocol/peer-addr.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

export interface WireAnswer {
  type: number;
  payload: Uint8Array;
  /** The error text of a flags=3 answer. */
  error: string | undefined;
}

export class WireClient {
  readonly sock: tls.TLSSocket;
  readonly core: ConnectionCore;
  readonly closed: Promise<void>;
  closedAt: number | undefined;
  /** The core's close code when the connection ended on the protocol side. */
  closeCode: CloseCode | undefined;
  readonly #waiters = new Map<number, { resolve: (a: WireAnswer) => void; reject: (e: Error) => void }>();
  readonly #timer: NodeJS.Timeout;
  #raw = false;

  private constructor(sock: tls.TLSSocket, seed: Uint8Array) {
    this.sock = sock;
    // A flooder pipelines far more than a well-behaved peer would.
    this.core = new ConnectionCore({ randomBytes: rnd }, { role: 'initiator', nodeSeed: seed, capabilities: NO_CAPABILITIES, limits: { maxOutboundInFlight: 4_096 } });
    this.closed = new Promise((resolve) =>
      sock.once('close', () => {
        this.closedAt = Date.now();
        for (const w of this.#waiters.values()) w.reject(new Error('connection closed'));
        this.#waiters.clear();
        resolve();
      }),
    );
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      if (this.#raw) return;
      this.core.handle({ kind: 'bytes', data: new Uint8Array(d) }, Date.now());
      this.#pump();
    });
    this.#timer = setInterval(() => {
      this.core.handleTimeout(Date.now());
      this.#pump();
    }, 200);
    this.#timer.unref();
    void this.closed.then(() => clearInterval(this.#timer));
  }

  /** `localAddress`: the source IP (any of 127/8 on Linux), so an attacker does not share the honest peers' IP. */
  static async connect(port: number, opts: { seed?: Uint8Array; timeoutMs?: number; localAddress?: string } = {}): Promise<WireClient> {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    const c = new WireClient(sock, opts.seed ?? rnd(32));
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', () => resolve());
      sock.once('error', reject);
    });
    const established = new Promise<void>((resolve, reject) => {
      c.#onEstablished = resolve;
      void c.closed.then(() => reject(new Error(`closed during the handshake (${c.closeCode ?? 'transport'})`)));
    });
    c.core.start(Date.now());
    c.#pump();
    await established;
    return c;
  }

  #onEstablished: (() => void) | undefined;

  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  request(type: number, payload: Uint8Array, timeoutMs = 20_000): Promise<WireAnswer> {
    const r = this.core.request({ type, payload, timeoutMs }, Date.now());
    if (!r.ok) return Promise.reject(new Error(`request refused locally: ${r.reason}`));
    const p = new Promise<WireAnswer>((resolve, reject) => this.#waiters.set(r.id, { resolve, reject }));
    this.#pump();
    return p;
  }

  /** From now on bytes are written as given and answers are not read (attacks below the envelope layer). */
  writeRaw(bytes: Uint8Array): boolean {
    this.#raw = true;
    return this.sock.write(bytes);
  }

  close(): void {
    this.sock.destroy();
  }

  #pump(): void {
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) this.sock.write(t);
    for (let e = this.core.pollEffect(); e; e = this.core.pollEffect()) {
      if (e.kind === 'established') this.#onEstablished?.();
      else if (e.kind === 'response') {
        const w = this.#waiters.get(e.id);
        this.#waiters.delete(e.id);
        w?.resolve({ type: e.envelope.type, payload: e.envelope.payload, error: e.error });
      } else if (e.kind === 'request-failed') {
        const w = this.#waiters.get(e.id);
        this.#waiters.delete(e.id);
        w?.reject(e.error);
      } else if (e.kind === 'close') {
        this.closeCode = e.reason.code;
        if (e.reason.graceful) this.sock.end();
        else this.sock.destroy();
      }
    }
  }
}

export function tcpPort(addresses: string[]): number {
  const a = addresses.find((x) => x.startsWith('tcp://'));
  if (!a) throw new Error(`no tcp address in ${addresses.join(' ')}`);
  return Number(a.split(':').pop());
}
