/**
 * An in-memory network for whole nodes: one `SimTransport` per simulated host, all on one `SimNet` and one virtual
 * clock. A connection is an ordered, reliable byte stream (the `Connection` contract TLS gives the session) with
 * per-link latency, a bandwidth budget, loss modelled as a retransmission delay (TCP never loses bytes, it is
 * late), partitions (segments wait, dials time out) and host crashes (peers get a reset). It replaces TLS over TCP:
 * everything above it — framing, the SCP2P handshake, envelopes, every actor — is the production code.
 *
 * Randomness is per connection direction, derived from the seed and the connection's id, so one link's loss
 * draws never depend on what other links did in between.
 */
import { ScpError } from '../errors.js';
import { createRandom, type Random } from '../actors/runtime/random.js';
import type { TimerHandle } from '../actors/runtime/clock.js';
import {
  DEFAULT_DIAL_TIMEOUT_MS,
  type CloseInfo,
  type Connection,
  type ConnectionHandler,
  type DialOptions,
  type Listener,
  type ListenOptions,
  type Transport,
  type TransportAddress,
} from '../actors/session/transport/transport.js';
import type { SimClock } from './sim-clock.js';
import type { SimTrace } from './sim-trace.js';

export interface SimNetInit {
  seed: number;
  clock: SimClock;
  trace?: SimTrace;
  /** One-way latency per link, ms; each host pair gets a fixed value in the range. */
  latencyMs?: [number, number];
  /** Probability that a write needs a retransmission (it arrives `rtoMs` late; order is kept). */
  loss?: number;
  rtoMs?: number;
  /** Per direction of a connection, bytes per ms (10 000 = ~10 MB/s). */
  bandwidthBytesPerMs?: number;
}

const HIGH_WATER = 256 * 1024;
const CLOSE_GRACE_MS = 2_000;
const FIRST_PORT = 7_000;

type Segment = { kind: 'data'; bytes: Uint8Array; at: number } | { kind: 'fin'; at: number } | { kind: 'rst'; at: number };

interface Host {
  ip: string;
  up: boolean;
  listeners: Map<number, SimListener>;
  nextPort: number;
  dials: number;
  /** Live connection ends on this host (a crash resets them). */
  ends: Set<SimConnection>;
}

export class SimNet {
  readonly clock: SimClock;
  readonly seed: number;
  readonly trace: SimTrace | undefined;
  readonly stats = { dials: 0, refused: 0, dialTimeouts: 0, segments: 0, retransmits: 0, bytes: 0, resets: 0 };
  /** Bumped by every network event: the driver's "something is still happening" signal. */
  activity = 0;
  readonly #hosts = new Map<string, Host>();
  readonly #latency: [number, number];
  readonly loss: number;
  readonly rtoMs: number;
  readonly bandwidth: number;
  /** Partition group per host; hosts in different groups cannot exchange anything. Empty = one network. */
  #group = new Map<string, number>();

  constructor(init: SimNetInit) {
    this.clock = init.clock;
    this.seed = init.seed;
    this.trace = init.trace;
    this.#latency = init.latencyMs ?? [5, 40];
    this.loss = init.loss ?? 0;
    this.rtoMs = init.rtoMs ?? 200;
    this.bandwidth = init.bandwidthBytesPerMs ?? 10_000;
  }

  /** The transport of host `ip` (created on first use). */
  transport(ip: string): SimTransport {
    this.#host(ip);
    return new SimTransport(this, ip);
  }

  /** Splits the network: hosts in different groups cannot reach each other until `heal()`. */
  partition(groups: string[][]): void {
    this.#group = new Map();
    groups.forEach((g, i) => g.forEach((ip) => this.#group.set(ip, i + 1)));
    this.note(`partition ${groups.map((g) => g.join(',')).join(' | ')}`);
  }

  heal(): void {
    this.#group = new Map();
    this.note('heal');
  }

  /**
   * The host's process dies (kill -9): its listeners vanish, every connection end it had is gone, and its peers
   * get a reset (the kernel answers for the dead process). `setUp` brings the host back (a new process binds again).
   */
  crashHost(ip: string): void {
    const h = this.#host(ip);
    h.up = false;
    h.listeners.clear();
    for (const end of [...h.ends]) end.crashLocal();
    this.note(`crash ${ip}`);
  }

  setUp(ip: string): void {
    this.#host(ip).up = true;
    this.note(`up ${ip}`);
  }

  isUp(ip: string): boolean {
    return this.#host(ip).up;
  }

  canReach(a: string, b: string): boolean {
    if (!this.#host(a).up || !this.#host(b).up) return false;
    return (this.#group.get(a) ?? 0) === (this.#group.get(b) ?? 0);
  }

  latency(a: string, b: string): number {
    const [lo, hi] = this.#latency;
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    return lo + createRandom(`${this.seed}:lat:${key}`).int(hi - lo + 1);
  }

  note(what: string): void {
    this.activity++;
    this.trace?.record(this.clock.now(), `net ${what}`);
  }

  // ------------------------------------------------------------------ used by SimTransport

  /** @internal */
  host(ip: string): Host {
    return this.#host(ip);
  }

  #host(ip: string): Host {
    let h = this.#hosts.get(ip);
    if (!h) {
      h = { ip, up: true, listeners: new Map(), nextPort: FIRST_PORT, dials: 0, ends: new Set() };
      this.#hosts.set(ip, h);
    }
    return h;
  }
}

class SimListener implements Listener {
  readonly kind = 'tcp' as const;
  readonly accepted = new Set<SimConnection>();
  closed = false;
  constructor(
    readonly address: TransportAddress,
    readonly onConnection: ConnectionHandler,
    private readonly net: SimNet,
  ) {}

  async close(opts?: { destroyConnections?: boolean }): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const h = this.net.host(this.address.host);
      if (h.listeners.get(this.address.port) === this) h.listeners.delete(this.address.port);
      this.net.note(`unlisten ${this.address.host}:${this.address.port}`);
    }
    if (opts?.destroyConnections) for (const c of this.accepted) c.destroy();
  }
}

export class SimTransport implements Transport {
  readonly kind = 'tcp' as const;
  constructor(
    readonly net: SimNet,
    readonly ip: string,
  ) {}

  async listen(opts: ListenOptions, onConnection: ConnectionHandler): Promise<Listener> {
    const h = this.net.host(this.ip);
    if (opts.host !== this.ip && opts.host !== '0.0.0.0' && opts.host !== '::') {
      throw ScpError.io(`sim host ${this.ip} cannot bind ${opts.host}`);
    }
    let port = opts.port;
    if (port === 0) while (h.listeners.has((port = h.nextPort++)));
    if (h.listeners.has(port)) throw ScpError.io(`sim ${this.ip}:${port} is in use (EADDRINUSE)`);
    const l = new SimListener({ host: this.ip, port }, onConnection, this.net);
    h.listeners.set(port, l);
    this.net.note(`listen ${this.ip}:${port}`);
    return l;
  }

  dial(addr: TransportAddress, opts?: DialOptions): Promise<Connection> {
    const net = this.net;
    const clock = net.clock;
    const src = net.host(this.ip);
    const id = `${this.ip}#${++src.dials}`;
    const what = `sim dial ${id} to ${addr.host}:${addr.port}`;
    net.stats.dials++;
    net.note(`dial ${id} ${addr.host}:${addr.port}`);
    const timeoutMs = opts?.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    const lat = net.latency(this.ip, addr.host);
    return new Promise<Connection>((resolve, reject) => {
      let settled = false;
      let won = false;
      const timers: TimerHandle[] = [];
      const finish = (err: Error | undefined, conn?: SimConnection): void => {
        if (settled) return;
        settled = true;
        won = !err;
        for (const t of timers) clock.clearTimeout(t);
        opts?.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(conn!);
      };
      const onAbort = (): void => {
        net.note(`dial-abort ${id}`);
        finish(ScpError.aborted(what));
      };
      if (opts?.signal?.aborted) return onAbort();
      opts?.signal?.addEventListener('abort', onAbort, { once: true });
      timers.push(
        clock.setTimeout(() => {
          net.stats.dialTimeouts++;
          net.note(`dial-timeout ${id}`);
          finish(ScpError.timeout(what, timeoutMs));
        }, timeoutMs),
      );
      // SYN arrives after one latency; the dialer learns the outcome one latency later.
      timers.push(
        clock.setTimeout(() => {
          if (settled || !net.canReach(this.ip, addr.host)) return; // lost: the dial times out
          const listener = net.host(addr.host).listeners.get(addr.port);
          if (!listener || listener.closed) {
            net.stats.refused++;
            timers.push(
              clock.setTimeout(() => {
                net.note(`refused ${id}`);
                finish(ScpError.io(`${what}: connection refused (ECONNREFUSED)`));
              }, lat),
            );
            return;
          }
          const { dialer, acceptor } = SimConnection.pair(net, id, { host: this.ip, port: 40_000 + (src.dials % 20_000) }, { host: addr.host, port: addr.port });
          listener.accepted.add(acceptor);
          void acceptor.closed.then(() => listener.accepted.delete(acceptor));
          net.note(`accept ${id}`);
          listener.onConnection(acceptor);
          timers.push(
            clock.setTimeout(() => {
              if (settled) return;
              if (!net.canReach(this.ip, addr.host)) return; // the SYN-ACK is lost: timeout
              net.note(`connected ${id}`);
              finish(undefined, dialer);
            }, lat),
          );
          // A dial that timed out or was aborted after the far end accepted: its end is dropped, the far one reset.
          const giveUp = clock.setTimeout(() => {
            if (!won) dialer.destroy(ScpError.io('dialer gave up'));
          }, timeoutMs + lat);
          void dialer.closed.then(() => clock.clearTimeout(giveUp));
        }, lat),
      );
    });
  }
}

/** One end of a simulated stream. */
export class SimConnection implements Connection {
  readonly kind = 'tcp' as const;
  readonly closed: Promise<CloseInfo>;
  bytesRead = 0;
  bytesWritten = 0;
  queuedBytes = 0;
  peer!: SimConnection;
  readonly #net: SimNet;
  readonly #id: string;
  readonly #random: Random;
  readonly #inbox: Uint8Array[] = [];
  readonly #outbox: Segment[] = [];
  #outTimer: TimerHandle | undefined;
  #sendFreeAt = 0;
  #lastDeliverAt = 0;
  #wake: (() => void) | undefined;
  #drainWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #iterated = false;
  #remoteEnded = false;
  #finSent = false;
  #failure: Error | undefined;
  #released = false;
  #localClose = false;
  #resolveClosed!: (c: CloseInfo) => void;
  #idleMs = 0;
  #onIdle: (() => void) | undefined;
  #idleTimer: TimerHandle | undefined;
  #lastActivity = 0;
  #graceTimer: TimerHandle | undefined;

  static pair(net: SimNet, id: string, dialerAddr: TransportAddress, listenAddr: TransportAddress): { dialer: SimConnection; acceptor: SimConnection } {
    const dialer = new SimConnection(net, `${id}>`, dialerAddr, listenAddr);
    const acceptor = new SimConnection(net, `${id}<`, listenAddr, dialerAddr);
    dialer.peer = acceptor;
    acceptor.peer = dialer;
    return { dialer, acceptor };
  }

  private constructor(
    net: SimNet,
    id: string,
    readonly localAddress: TransportAddress,
    readonly remoteAddress: TransportAddress,
  ) {
    this.#net = net;
    this.#id = id;
    this.#random = createRandom(`${net.seed}:conn:${id}`);
    this.#lastActivity = net.clock.now();
    net.host(localAddress.host).ends.add(this);
    this.closed = new Promise((r) => (this.#resolveClosed = r));
  }

  write(bytes: Uint8Array): true | Promise<void> {
    if (this.#released || this.#finSent) return Promise.reject(this.#deadError());
    const copy = bytes.slice(); // the caller may reuse its buffer; the far end owns what it reads
    this.bytesWritten += copy.length;
    this.queuedBytes += copy.length;
    this.#touch();
    this.#send({ kind: 'data', bytes: copy, at: 0 });
    if (this.queuedBytes < HIGH_WATER) return true;
    return new Promise<void>((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#iterated) throw ScpError.internal('a Connection can be iterated only once');
    this.#iterated = true;
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          const b = this.#inbox.shift();
          if (b) {
            this.bytesRead += b.length;
            return { done: false, value: b };
          }
          if (this.#failure) throw this.#failure;
          if (this.#remoteEnded || this.#released) return { done: true, value: undefined };
          await new Promise<void>((r) => (this.#wake = r));
        }
      },
      return: async (): Promise<IteratorResult<Uint8Array>> => {
        if (!this.#remoteEnded) this.destroy();
        return { done: true, value: undefined };
      },
    };
  }

  async close(): Promise<void> {
    if (this.#released) {
      await this.closed;
      return;
    }
    this.#localClose = true;
    if (!this.#finSent) {
      this.#finSent = true;
      this.#send({ kind: 'fin', at: 0 });
    }
    if (this.#remoteEnded) this.#releaseWhenFlushed();
    else this.#graceTimer ??= this.#net.clock.setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    await this.closed;
  }

  destroy(err?: Error): void {
    if (this.#released) return;
    if (!err) this.#localClose = true;
    // The far end learns of it by a reset (unless it already closed cleanly with us).
    if (!(this.#finSent && this.#remoteEnded)) this.#sendRst();
    this.#release(err ? { reason: 'error', error: err } : { reason: 'local' }, err ?? this.#deadError());
  }

  setIdleTimeout(ms: number, onIdle?: () => void): void {
    this.#idleMs = ms;
    this.#onIdle = onIdle;
    this.#armIdle();
  }

  /** Our host died: this end is gone, the peer gets a reset. */
  crashLocal(): void {
    if (this.#released) return;
    this.#sendRst();
    this.#release({ reason: 'error', error: ScpError.io('host crashed') }, ScpError.io('host crashed'));
  }

  // ------------------------------------------------------------------ the pipe towards `peer`

  #send(seg: Segment): void {
    const net = this.#net;
    const now = net.clock.now();
    const len = seg.kind === 'data' ? seg.bytes.length : 0;
    this.#sendFreeAt = Math.max(now, this.#sendFreeAt) + len / net.bandwidth;
    let at = this.#sendFreeAt + net.latency(this.localAddress.host, this.remoteAddress.host);
    if (seg.kind === 'data' && net.loss > 0 && this.#random.next() < net.loss) {
      at += net.rtoMs;
      net.stats.retransmits++;
    }
    seg.at = Math.max(this.#lastDeliverAt, Math.ceil(at));
    this.#lastDeliverAt = seg.at;
    this.#outbox.push(seg);
    net.activity++;
    this.#armOut();
  }

  #sendRst(): void {
    const net = this.#net;
    const at = net.clock.now() + net.latency(this.localAddress.host, this.remoteAddress.host);
    // A reset overtakes data still queued: drop it, deliver the reset on its own timer.
    this.#outbox.length = 0;
    if (this.#outTimer) net.clock.clearTimeout(this.#outTimer);
    this.#outTimer = undefined;
    const peer = this.peer;
    net.stats.resets++;
    net.clock.setTimeout(() => {
      if (net.canReach(this.localAddress.host, this.remoteAddress.host) || !net.isUp(this.localAddress.host)) {
        peer.#receive({ kind: 'rst', at });
      }
    }, at - net.clock.now());
  }

  #armOut(): void {
    if (this.#outTimer || this.#outbox.length === 0) return;
    const clock = this.#net.clock;
    this.#outTimer = clock.setTimeout(() => this.#deliver(), Math.max(0, this.#outbox[0]!.at - clock.now()));
  }

  #deliver(): void {
    this.#outTimer = undefined;
    const net = this.#net;
    const now = net.clock.now();
    if (!net.canReach(this.localAddress.host, this.remoteAddress.host)) {
      // Partitioned: the segment waits and is retransmitted; order is kept.
      if (this.#outbox.length > 0 && net.isUp(this.localAddress.host)) {
        this.#outTimer = net.clock.setTimeout(() => this.#deliver(), net.rtoMs);
      }
      return;
    }
    while (this.#outbox.length > 0 && this.#outbox[0]!.at <= now) {
      const seg = this.#outbox.shift()!;
      if (seg.kind === 'data') {
        this.queuedBytes -= seg.bytes.length;
        net.stats.segments++;
        net.stats.bytes += seg.bytes.length;
      }
      this.peer.#receive(seg);
    }
    if (this.queuedBytes < HIGH_WATER / 2 && this.#drainWaiters.length > 0) {
      const w = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const x of w) x.resolve();
    }
    this.#armOut();
  }

  #receive(seg: Segment): void {
    if (this.#released) return;
    const net = this.#net;
    net.activity++;
    if (seg.kind === 'data') {
      net.trace?.record(net.clock.now(), `seg ${this.peer.#id} ${seg.bytes.length}`);
      net.trace?.content(seg.bytes);
      this.#inbox.push(seg.bytes);
      this.#touch();
    } else if (seg.kind === 'fin') {
      net.trace?.record(net.clock.now(), `fin ${this.peer.#id}`);
      this.#remoteEnded = true;
      if (this.#finSent) this.#releaseWhenFlushed();
    } else {
      net.trace?.record(net.clock.now(), `rst ${this.peer.#id}`);
      const err = ScpError.io(`sim connection ${this.#id} reset by peer (ECONNRESET)`);
      this.#release({ reason: 'error', error: err }, err);
    }
    this.#wakeReader();
  }

  #releaseWhenFlushed(): void {
    // Both FINs exchanged: the stream is over once our own queue has gone out.
    if (this.#outbox.length === 0) this.#release({ reason: this.#localClose ? 'local' : 'remote' }, undefined);
    else this.#net.clock.setTimeout(() => this.#releaseWhenFlushed(), Math.max(1, this.#lastDeliverAt - this.#net.clock.now()));
  }

  #release(info: CloseInfo, failure: Error | undefined): void {
    if (this.#released) return;
    this.#released = true;
    const clock = this.#net.clock;
    if (failure && !this.#remoteEnded) this.#failure = failure;
    if (this.#idleTimer) clock.clearTimeout(this.#idleTimer);
    if (this.#graceTimer) clock.clearTimeout(this.#graceTimer);
    if (this.#outTimer) clock.clearTimeout(this.#outTimer);
    this.#outTimer = undefined;
    this.#net.host(this.localAddress.host).ends.delete(this);
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const x of w) x.reject(this.#deadError());
    this.#net.activity++;
    this.#wakeReader();
    this.#resolveClosed(info);
  }

  #wakeReader(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #deadError(): Error {
    return ScpError.io(`sim connection ${this.#id} is closed`);
  }

  #touch(): void {
    this.#lastActivity = this.#net.clock.now();
  }

  #armIdle(): void {
    const clock = this.#net.clock;
    if (this.#idleTimer) clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#idleMs <= 0 || this.#released) return;
    const due = this.#lastActivity + this.#idleMs;
    this.#idleTimer = clock.setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#released) return;
      if (clock.now() < this.#lastActivity + this.#idleMs) return this.#armIdle();
      if (this.#onIdle) this.#onIdle();
      else this.destroy(ScpError.timeout('idle connection', this.#idleMs));
    }, Math.max(0, due - clock.now()));
  }
}
