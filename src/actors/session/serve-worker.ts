/**
 * A serve thread (issue 8, multi-core seeding): a worker thread that accepts TLS connections on the session's
 * port (a socket of its own in the port's SO_REUSEPORT group, so the kernel spreads new connections over the
 * session's loop and the serve threads), runs the handshake, framing and TLS for them, and passes every request
 * to the session actor, which routes it to its owner exactly as for its own connections. The expensive per-byte
 * work of serving — TLS encryption, framing, socket writes — thus spreads over more event loops; chunk bytes reach
 * this thread by transfer, never by copy.
 *
 * These connections only answer: they never carry our requests, never become relay tunnels (serve threads run
 * only on nodes without the relay capability) and are not in the session's peer list. Each thread keeps its own
 * handshake replay guard, rate limiter, abuse guard and per-IP accept budget (abuse-guard.ts; charged before the
 * TLS handshake, as the session's): the kernel spreads one IP's connections over the accepting loops, so with n
 * loops an IP gets up to n times `acceptBurstPerIp` / `acceptPerIpPerSec` in all. Sharing one bucket across
 * threads would put a cross-thread round trip (or shared memory and atomics) in front of every accept; the
 * bound stays fixed and small (serveThreads ≤ 16), so the per-thread budget is the simpler trade.
 */
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { Capabilities } from '../../node-config.js';
import type { PeerRef, WireReply } from '../../messages/wire.js';
import { NonceTracker } from '../../protocol/handshake.js';
import { ErrorText } from '../../protocol/registry.js';
import { systemClock } from '../runtime/clock.js';
import { BufferRecycler } from '../runtime/buffer-recycler.js';
import { AbuseGuard, AcceptBudget, IP_PENALTY_CODES } from './abuse-guard.js';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-types.js';
import type { CloseReason } from './connection-types.js';
import { PeerConnection, type InboundRequest } from './peer-connection.js';
import { NODE_RATE_LIMITS, RateLimiter, type RateLimits } from './rate-limiter.js';
import { TlsTransport } from './transport/tls-transport.js';

export interface ServeWorkerData {
  index: number;
  /** The session's TCP listener (bound with SO_REUSEPORT); this thread binds its own socket to the same. */
  host: string;
  port: number;
  nodeSeed: Uint8Array;
  capabilities: Capabilities;
  connectionLimits?: Partial<ConnectionLimits>;
  rateLimits?: Partial<RateLimits>;
}

/** Serve thread → session. */
export type ServeThreadMessage =
  | { kind: 'ready' }
  | { kind: 'request'; id: number; owner: InboundRequest['owner']; messageType: number; reqId: number; payload: Uint8Array; from: PeerRef }
  | { kind: 'connections'; open: number }
  /** Reply buffers the session moved here (`recycle` on the reply), moved back once their socket took them. */
  | { kind: 'recycle'; buffers: ArrayBuffer[] }
  /** The thread's listening socket is closed. */
  | { kind: 'closed' };

/** Session → serve thread. */
export type SessionToServeMessage = { kind: 'reply'; id: number; reply: WireReply; recycle?: boolean } | { kind: 'stop' };

/** Connection ids of serve threads stay clear of the session's own (which count up from 1). */
export const SERVE_CONN_ID_BASE = 1_000_000_000;
const CONN_ID_STRIDE = 10_000_000;

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('serve-worker.ts runs as a worker thread');
  const data = workerData as ServeWorkerData;
  const nonces = new NonceTracker();
  const limiter = new RateLimiter({ limits: { ...NODE_RATE_LIMITS, ...data.rateLimits } });
  const cl = { ...DEFAULT_CONNECTION_LIMITS, ...data.connectionLimits };
  const budget = new AcceptBudget({ burst: cl.acceptBurstPerIp, perSec: cl.acceptPerIpPerSec });
  const abuse = new AbuseGuard({ maxRefusals: cl.abuseRefusals, cooldownMs: cl.abuseCooldownMs, windowMs: limiter.limits.windowMs });
  const pruner = setInterval(() => {
    const now = Date.now();
    limiter.prune(now);
    budget.prune(now);
    abuse.prune(now);
  }, 5_000);
  pruner.unref();
  const pending = new Map<number, { pc: PeerConnection; id: number }>();
  const live = new Set<PeerConnection>();
  let nextConn = SERVE_CONN_ID_BASE + data.index * CONN_ID_STRIDE;
  let nextReq = 1;
  const post = (m: ServeThreadMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  const noCaps: Capabilities = { dht: false, store: false, relay: false, contentSeed: false, mobileLight: false };
  // Chunk replies whose buffer the session moved here go back to its pool once written, in batches.
  const moved = new WeakSet<ArrayBufferLike>();
  const recycler = new BufferRecycler((buffers) => post({ kind: 'recycle', buffers }, buffers), systemClock);

  const hooks = {
    now: () => Date.now(),
    clock: systemClock,
    onEstablished: () => {},
    afterWrite: (b: Uint8Array) => (moved.delete(b.buffer) ? () => recycler.recycle(b) : undefined),
    onRequestsEnabled: () => {},
    onClosed: (pc: PeerConnection, reason: CloseReason) => {
      live.delete(pc);
      if (IP_PENALTY_CODES.has(reason.code)) budget.drain(pc.conn.remoteAddress.host, Date.now());
      for (const [id, p] of pending) if (p.pc === pc) pending.delete(id);
      post({ kind: 'connections', open: live.size });
    },
    onInbound: (pc: PeerConnection, req: InboundRequest) => {
      if (req.owner === 'relay') {
        pc.respond(req.id, { error: ErrorText.UNSUPPORTED_MESSAGE_TYPE });
        return;
      }
      // The payload views the received frame: copy it into a buffer of its own, which then moves, not copies.
      const payload = new Uint8Array(req.payload);
      const id = nextReq++;
      pending.set(id, { pc, id: req.id });
      const from: PeerRef = {
        nodeId: pc.nodeId,
        pubkey: pc.pubkeyHex,
        remote: pc.remote,
        transport: 'tcp',
        relayed: false,
        addr: null,
        capabilities: pc.capabilities ?? noCaps,
        connId: pc.id,
      };
      post({ kind: 'request', id, owner: req.owner, messageType: req.request.type, reqId: req.reqId, payload, from }, [payload.buffer as ArrayBuffer]);
    },
  };

  const transport = new TlsTransport();
  const admit = (remote: { host: string }): boolean => budget.admit(remote.host, Date.now());
  const listener = await transport.listen({ host: data.host, port: data.port, reusePort: 'join', admit }, (conn) => {
    const pc = new PeerConnection(
      nextConn++,
      conn,
      { randomBytes: (n) => new Uint8Array(randomBytes(n)), nonceTracker: nonces, rateLimiter: limiter, abuse },
      { role: 'responder', nodeSeed: data.nodeSeed, capabilities: data.capabilities, limits: data.connectionLimits ?? {}, responderRequests: 'never' },
      hooks,
      null,
    );
    live.add(pc);
    pc.start();
    post({ kind: 'connections', open: live.size });
  });

  port.on('message', (m: SessionToServeMessage) => {
    if (m.kind === 'reply') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.recycle && 'payload' in m.reply) moved.add(m.reply.payload.buffer);
      if (!p.pc.closed) p.pc.respond(p.id, m.reply);
      return;
    }
    // Stop: our socket leaves the port's reuse-port group (connections still in its backlog are reset).
    void (async () => {
      clearInterval(pruner);
      recycler.close();
      await listener.close({ destroyConnections: true }).catch(() => undefined);
      post({ kind: 'closed' });
      for (const pc of live) pc.destroy();
      port.close();
    })();
  });
  post({ kind: 'ready' });
}

await main();
