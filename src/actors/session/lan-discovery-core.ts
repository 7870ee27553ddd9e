/**
 * LAN discovery logic (PROTOCOL.md §13), sans-I/O. Every `intervalMs` (3 s) it asks for one broadcast of our
 * announcement `{version 2, instance_id, tcp_port, capabilities}` to 255.255.255.255:46123; each received
 * datagram that decodes, is not version 0 and is not our own instance becomes a `peer-discovered` effect
 * holding `PeerAddr{sender ip, tcp_port, tcp, no hint}` and the announced capabilities for the peer DB.
 * Garbage never throws: it is counted and dropped. The UDP socket is the worker's.
 */
import { ProtocolError } from '../../errors.js';
import { LAN_ANNOUNCEMENT_VERSION, LAN_INSTANCE_ID_BYTES, isForeignLanAnnouncement, lanAnnouncementCodec } from '../../protocol/lan.js';
import { ipFromBytes, ipToBytes, type Capabilities, type PeerAddr } from '../../protocol/peer-addr.js';
import { ScpError } from '../../errors.js';
import { LAN_DISCOVERY_INTERVAL_SECS, LAN_DISCOVERY_PORT } from '../../protocol/limits.js';
import { ipScope } from './pex.js';

export { LAN_DISCOVERY_PORT };
export const LAN_BROADCAST_ADDRESS = '255.255.255.255';

export interface LanDiscoveryInit {
  /** 16 random bytes per process start (the worker draws them from node:crypto). */
  instanceId: Uint8Array;
  /**
   * Our TLS/TCP listen port, announced to the LAN; null = listen only (a node with no listener announces nothing
   * but still hears others, relays among them).
   */
  tcpPort: number | null;
  capabilities: Capabilities | null;
  intervalMs?: number;
  port?: number;
  /** Distinct peers reported per interval at most (a flooding host cannot swamp the peer DB). */
  maxDiscoveriesPerInterval?: number;
}

export type LanInput = { kind: 'datagram'; data: Uint8Array; fromIp: string; fromPort: number };

export type LanEffect =
  | { kind: 'broadcast'; data: Uint8Array; address: string; port: number }
  | { kind: 'peer-discovered'; addr: PeerAddr; capabilities: Capabilities | null };

export type LanDropReason = 'undecodable' | 'own' | 'version-0' | 'bad-port' | 'bad-source' | 'flood';

export class LanDiscoveryCore {
  readonly #instanceId: Uint8Array;
  #tcpPort: number | null;
  #capabilities: Capabilities | null;
  readonly #intervalMs: number;
  readonly #port: number;
  readonly #maxPerInterval: number;
  #next: number | undefined;
  #windowStart = 0;
  readonly #reportedThisWindow = new Set<string>();
  readonly #effects: LanEffect[] = [];
  readonly dropped: Record<LanDropReason, number> = { undecodable: 0, own: 0, 'version-0': 0, 'bad-port': 0, 'bad-source': 0, flood: 0 };

  constructor(_components: object, init: LanDiscoveryInit) {
    if (!(init.instanceId instanceof Uint8Array) || init.instanceId.length !== LAN_INSTANCE_ID_BYTES) {
      throw ScpError.badInput(`LAN instance id must be ${LAN_INSTANCE_ID_BYTES} bytes`);
    }
    if (init.tcpPort !== null && (!Number.isInteger(init.tcpPort) || init.tcpPort < 1 || init.tcpPort > 65_535)) {
      throw ScpError.badInput('LAN tcpPort must be 1..65535 (or null: listen only)');
    }
    this.#instanceId = init.instanceId.slice();
    this.#tcpPort = init.tcpPort;
    this.#capabilities = init.capabilities;
    this.#intervalMs = init.intervalMs ?? LAN_DISCOVERY_INTERVAL_SECS * 1000;
    this.#port = init.port ?? LAN_DISCOVERY_PORT;
    this.#maxPerInterval = init.maxDiscoveriesPerInterval ?? 256;
  }

  /** Begins announcing: the first broadcast is due immediately. */
  start(now: number): void {
    this.#next = this.#tcpPort === null ? undefined : now;
  }

  stop(): void {
    this.#next = undefined;
  }

  update(opts: { tcpPort?: number; capabilities?: Capabilities | null }): void {
    if (opts.tcpPort !== undefined) this.#tcpPort = opts.tcpPort;
    if (opts.capabilities !== undefined) this.#capabilities = opts.capabilities;
  }

  /** Our announcement bytes as sent now. */
  announcement(): Uint8Array {
    if (this.#tcpPort === null) throw ScpError.badInput('a listen-only LAN discovery announces nothing');
    return lanAnnouncementCodec.encode({
      version: LAN_ANNOUNCEMENT_VERSION,
      instanceId: this.#instanceId,
      tcpPort: this.#tcpPort,
      capabilities: this.#capabilities,
    });
  }

  handle(input: LanInput, now: number): void {
    let a;
    try {
      a = lanAnnouncementCodec.decode(input.data);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.dropped.undecodable++;
      return;
    }
    if (a.version === 0) return void this.dropped['version-0']++;
    if (!isForeignLanAnnouncement(a, this.#instanceId)) return void this.dropped.own++;
    if (a.tcpPort === 0) return void this.dropped['bad-port']++;
    let ip: string;
    try {
      ip = ipFromBytes(ipToBytes(input.fromIp.startsWith('::ffff:') && input.fromIp.includes('.') ? input.fromIp.slice(7) : input.fromIp));
    } catch {
      return void this.dropped['bad-source']++;
    }
    if (ipScope(ip) === 'unroutable') return void this.dropped['bad-source']++;
    if (now - this.#windowStart >= this.#intervalMs || now < this.#windowStart) {
      this.#windowStart = now;
      this.#reportedThisWindow.clear();
    }
    // One report per peer per interval is enough to keep it fresh in the peer DB.
    const key = `${ip}:${a.tcpPort}`;
    if (this.#reportedThisWindow.has(key)) return;
    if (this.#reportedThisWindow.size >= this.#maxPerInterval) return void this.dropped.flood++;
    this.#reportedThisWindow.add(key);
    this.#effects.push({
      kind: 'peer-discovered',
      addr: { ip, port: a.tcpPort, transport: 'tcp', pubkeyHint: null },
      capabilities: a.capabilities,
    });
  }

  handleTimeout(now: number): void {
    if (this.#next === undefined || now < this.#next) return;
    this.#effects.push({ kind: 'broadcast', data: this.announcement(), address: LAN_BROADCAST_ADDRESS, port: this.#port });
    // Keep the cadence; after a long stall, resume from now rather than bursting.
    this.#next += this.#intervalMs;
    if (this.#next <= now) this.#next = now + this.#intervalMs;
  }

  nextDeadline(): number | undefined {
    return this.#next;
  }

  pollEffect(): LanEffect | undefined {
    return this.#effects.shift();
  }
}
