/**
 * Session actor: owns every socket. Listeners (TLS, QUIC), authenticated connections, request routing in both
 * directions, PEX, the peer DB and LAN discovery — all in session-manager.ts; this file reads the config, the
 * node key and the peer DB store, and maps the mailbox (messages/session-mailbox.ts) onto the manager.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ActorDefinition } from '../runtime/actor-definition.js';
import { withTransfer } from '../runtime/transfer.js';
import { ScpError } from '../../errors.js';
import { claimFrameBuffer } from '../../protocol/frame.js';
import { MessageType } from '../../protocol/registry.js';
import { openEnvironment, subDatabase } from '../../store/environment.js';
import type { Capabilities } from '../../protocol/peer-addr.js';
import { loadNodeSeed } from './node-key.js';
import type { PeerDbSnapshot } from './peer-db.js';
import { SessionManager } from './session-manager.js';
import { applySessionLimits } from './session-limits.js';
import type { TransportPreference } from './transport/transport-policy.js';
import type { ListenConfig } from './listeners.js';
import type { Transport } from './transport/transport.js';
import type { Random } from '../runtime/random.js';
import type { ConnectionLimits } from './connection-types.js';
import type { RateLimits } from './rate-limiter.js';

const DEFAULT_CAPABILITIES: Capabilities = { dht: true, store: true, relay: false, contentSeed: true, mobileLight: false };
const SNAPSHOT_KEY = 'snapshot';

export const actor: ActorDefinition<'session'> = {
  name: 'session',
  async start(ctx) {
    const cfg = ctx.config;
    const env = openEnvironment(ctx.dataDir);
    ctx.defer(() => env.close());
    const passphrase = typeof cfg.keyPassphrase === 'string' && cfg.keyPassphrase ? cfg.keyPassphrase : undefined;
    const nodeSeed = loadNodeSeed(env, passphrase);
    const peerStore = subDatabase<PeerDbSnapshot>(env, 'session', 'peer-db');
    // Wall-clock unix ms on the injected clock (a virtual clock gives virtual dates).
    const epochMs = typeof cfg.epochMs === 'number' ? cfg.epochMs : Date.now() - ctx.clock.now();
    const simTransport = isTransport(cfg.transport) ? cfg.transport : undefined;

    const manager = new SessionManager(
      {
        clock: ctx.clock,
        random: ctx.random,
        now: () => Math.floor(epochMs + ctx.clock.now()),
        // The simulator's network (inline only) wants a run that replays from its seed: nonces from the seeded stream.
        randomBytes: simTransport ? seededBytes(ctx.random.fork('session-nonces')) : (n) => new Uint8Array(randomBytes(n)),
        ...(simTransport ? { transport: simTransport } : {}),
        store: { load: () => peerStore.get(SNAPSHOT_KEY), save: (s) => peerStore.put(SNAPSHOT_KEY, s).then(() => {}) },
        peers: ctx.peers,
        emit: (e) => ctx.emit(e),
        log: ctx.log,
      },
      {
        nodeSeed,
        listen: readListen(cfg.listen),
        host: typeof cfg.host === 'string' && cfg.host ? cfg.host : '0.0.0.0',
        ...(cfg.outgoingAddress === undefined || cfg.outgoingAddress === null ? {} : { outgoingAddress: readIp(cfg.outgoingAddress) }),
        bootstrap: Array.isArray(cfg.bootstrap) ? cfg.bootstrap.filter((s): s is string => typeof s === 'string') : [],
        lanDiscovery: cfg.lanDiscovery === true,
        capabilities: { ...DEFAULT_CAPABILITIES, ...(isObject(cfg.capabilities) ? (cfg.capabilities as Partial<Capabilities>) : {}) },
        transportPolicy: readPolicy(cfg.transportPolicy),
        ...(typeof cfg.lanPort === 'number' ? { lanPort: cfg.lanPort } : {}),
        firewalled: cfg.firewalled === true,
        ...(typeof cfg.serveThreads === 'number' && Number.isInteger(cfg.serveThreads) && cfg.serveThreads >= 1 ? { serveThreads: Math.min(cfg.serveThreads, 16) } : {}),
        ...(isObject(cfg.rateLimits) ? { rateLimits: readNumbers(cfg.rateLimits, 'rateLimits') as Partial<RateLimits> } : {}),
        ...(isObject(cfg.connectionLimits) ? { connectionLimits: readNumbers(cfg.connectionLimits, 'connectionLimits') as Partial<ConnectionLimits> } : {}),
      },
    );
    ctx.defer(() => manager.destroy());
    await manager.start();

    return {
      handlers: {
        peers: () => manager.peers(),
        serveStats: () => manager.serveStats(),
        serveTable: (req) => manager.applyServeTable(req.update),
        recycleBuffers: (req) => manager.recycleBuffers(req.buffers, req.slabOffsets),
        addresses: () => manager.addresses(),
        selfAddrs: () => manager.selfAddrs(),
        connect: (req) => manager.connect(req.addr, req.timeoutMs),
        contacts: (req) => manager.contacts(req.limit ?? 64, req.connectedOnly ?? false),
        registerTunnel: (req) => manager.registerTunnel(req.relay, req.timeoutMs),
        closeTunnel: (req) => manager.closeTunnel(req.connId),
        closeAllTunnels: () => manager.closeAllTunnels(),
        connectionOpen: (req) => manager.connectionOpen(req.connId),
        setReachability: (req) => manager.setReachability(req.firewalled),
        probeReachability: (req) => manager.probeReachability(req.maxPeers, req.timeoutMs),
        relayPeers: () => manager.relayPeers(),
        setLimits: (req) => {
          ctx.log.info({ maxConnections: req.limits.maxConnections, open: manager.connectionCount }, 'limits applied');
          return applySessionLimits(req.limits, manager);
        },
        tunnelRequest: async (req) => {
          const r = await manager.tunnelRequest(req.connId, req.messageType, req.payload, req.timeoutMs);
          if ('error' in r) return r;
          const payload = new Uint8Array(r.payload);
          manager.giveBackFrame(r.payload);
          return withTransfer({ payload }, [payload.buffer as ArrayBuffer]);
        },
        request: async (req) => {
          const epoch = manager.fetcherEpoch;
          const r = await manager.request(req.to, req.messageType, req.payload, req.timeoutMs);
          if (manager.lentFrame(r.payload)) {
            // A chunk answer in the shared slab goes as it is to the fetcher that asked (only the fetcher asks for
            // chunks): it writes the chunk from there and hands the slot back. Anything else, or an answer for a
            // fetcher that died meanwhile, goes as a copy and the slot comes back now.
            if (req.messageType === MessageType.GET_CHUNK && manager.lendToFetcher(r.payload, epoch)) return { payload: r.payload, from: r.from };
            const payload = new Uint8Array(r.payload);
            manager.giveBackFrame(r.payload);
            return withTransfer({ payload, from: r.from }, [payload.buffer as ArrayBuffer]);
          }
          // A large answer arrives in a frame body the reader assembled in a buffer of its own: move that, no copy.
          if (claimFrameBuffer(r.payload)) return withTransfer({ payload: r.payload, from: r.from }, [r.payload.buffer as ArrayBuffer]);
          // Otherwise one copy into a buffer of its own, moved to the caller: never a view into a socket's (pooled) memory.
          const payload = new Uint8Array(r.payload);
          return withTransfer({ payload, from: r.from }, [payload.buffer as ArrayBuffer]);
        },
      },
      async stop() {
        await manager.stop();
      },
      peerDown(name) {
        if (name === 'fetcher') manager.fetcherDown();
      },
    };
  },
};

/** `listen: null` (or absent) = no listeners; each port: a number (0 = any free port) or null = off. */
function readListen(v: unknown): ListenConfig | null {
  if (!isObject(v)) return null;
  const port = (p: unknown): number | null => {
    if (p === null || p === undefined) return null;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65_535) throw ScpError.badInput(`listen port must be 0..65535 or null, got ${String(p)}`);
    return p;
  };
  return { tcp: port((v as Record<string, unknown>).tcp), quic: port((v as Record<string, unknown>).quic) };
}

function readIp(v: unknown): string {
  if (typeof v !== 'string' || isIP(v) === 0) throw ScpError.badInput(`outgoingAddress must be an IPv4 or IPv6 address, got ${JSON.stringify(v)}`);
  return v;
}

function readPolicy(v: unknown): TransportPreference {
  if (v === undefined || v === null) return 'prefer-tcp';
  if (v === 'prefer-tcp' || v === 'prefer-quic' || v === 'auto') return v;
  throw ScpError.badInput(`transportPolicy must be 'prefer-tcp', 'prefer-quic' or 'auto'`);
}

/** A record of positive numbers (limits); undefined entries are dropped so defaults apply. */
/** Limits where 0 switches the defence off (per-IP accept budget, abuse cut-off). */
const ZERO_MEANS_OFF: ReadonlySet<string> = new Set(['acceptBurstPerIp', 'abuseRefusals']);

function readNumbers(v: Record<string, unknown>, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    if (typeof x !== 'number' || !(x > 0 || (x === 0 && ZERO_MEANS_OFF.has(k)))) throw ScpError.badInput(`${what}.${k} must be a positive number, got ${String(x)}`);
    out[k] = x;
  }
  return out;
}

function isTransport(v: unknown): v is Transport {
  return isObject(v) && typeof v.dial === 'function' && typeof v.listen === 'function';
}

function seededBytes(random: Random): (n: number) => Uint8Array {
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = random.int(256);
    return out;
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
