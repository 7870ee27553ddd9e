/**
 * LAN discovery's UDP socket (PROTOCOL.md §13): bound to 0.0.0.0:46123 with SO_REUSEADDR (several nodes on one
 * host share the port) and SO_BROADCAST; drives LanDiscoveryCore with one timer at its deadline.
 */
import dgram from 'node:dgram';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { LanDiscoveryCore, type LanDiscoveryInit } from './lan-discovery-core.js';
import type { Capabilities, PeerAddr } from '../../protocol/peer-addr.js';

export interface LanSocketOptions extends LanDiscoveryInit {
  clock: Clock;
  now(): number;
  onPeer(addr: PeerAddr, capabilities: Capabilities | null): void;
  /** Interface address to bind (default all). */
  bindAddress?: string;
}

export class LanSocket {
  readonly core: LanDiscoveryCore;
  readonly #socket: dgram.Socket;
  readonly #opts: LanSocketOptions;
  #timer: TimerHandle | undefined;
  #closed = false;

  private constructor(socket: dgram.Socket, opts: LanSocketOptions) {
    this.#socket = socket;
    this.#opts = opts;
    this.core = new LanDiscoveryCore({}, opts);
  }

  static async open(opts: LanSocketOptions): Promise<LanSocket> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port ?? 46123, opts.bindAddress ?? '0.0.0.0', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.setBroadcast(true);
    socket.unref();
    const lan = new LanSocket(socket, opts);
    socket.on('error', () => {});
    socket.on('message', (msg, rinfo) => lan.#onMessage(msg, rinfo));
    lan.core.start(opts.now());
    lan.#drive();
    return lan;
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#closed) return;
    this.core.handle({ kind: 'datagram', data: new Uint8Array(msg), fromIp: rinfo.address, fromPort: rinfo.port }, this.#opts.now());
    this.#drive();
  }

  #drive(): void {
    if (this.#closed) return;
    this.core.handleTimeout(this.#opts.now());
    for (let e = this.core.pollEffect(); e !== undefined; e = this.core.pollEffect()) {
      if (e.kind === 'broadcast') this.#socket.send(e.data, e.port, e.address, () => {});
      else this.#opts.onPeer(e.addr, e.capabilities);
    }
    const d = this.core.nextDeadline();
    if (this.#timer !== undefined) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = d === undefined ? undefined : this.#opts.clock.setTimeout(() => this.#drive(), Math.max(0, d - this.#opts.now()) + 1);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.core.stop();
    if (this.#timer !== undefined) this.#opts.clock.clearTimeout(this.#timer);
    try {
      this.#socket.close();
    } catch {
      /* already closed */
    }
  }
}
