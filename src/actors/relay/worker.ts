/**
 * Relay actor (PROTOCOL.md §9): wires RelayCore (relay-core.ts) to the session. Inbound 450/452/453/460 arrive
 * as `wire` requests; the core's 'reply' effects answer them. A RELAY_REGISTER with tunnel=true turns the
 * registering connection (PeerRef.connId) into a tunnel: 'tunnel-send' effects go out over it with the
 * session's `tunnelRequest`, and each answer comes back to the core, in order, as a 'tunnel-response'.
 *
 * The relay role is off unless the actor config says `enabled: true` (capability `relay`); RELAY_LIST_REQUEST
 * is served either way.
 */
import type { ActorDefinition } from '../runtime/actor-definition.js';
import type { WireReply } from '../../messages/wire.js';
import { decodeEnvelope, encodeEnvelope, errorEnvelope, errorText, isError, responseEnvelope, type Envelope } from '../../protocol/envelope.js';
import { ErrorText, isRequestType, responseTypeFor } from '../../protocol/registry.js';
import { RelayCore, type ConnId } from './relay-core.js';

const TICK_MS = 1_000;
/** Connections we never got from the session (a request without connId): answered, never tunnelled. */
const NO_CONN = -1;

export const actor: ActorDefinition<'relay'> = {
  name: 'relay',
  start(ctx) {
    const cfg = ctx.config;
    const now = (): number => Date.now();
    const core = new RelayCore(
      { random: ctx.random.fork('relay') },
      { enabled: cfg.enabled === true, ...(typeof cfg.maxTunnels === 'number' ? { maxTunnels: cfg.maxTunnels } : {}) },
      now(),
    );
    /** Waiting `wire` answers, keyed by connection and outer req_id. */
    const pending = new Map<string, (r: WireReply) => void>();
    /** Per tunnel connection: answers are fed to the core strictly in the order the requests went out. */
    const chains = new Map<ConnId, Promise<void>>();
    let stopped = false;

    const toReply = (env: Envelope): WireReply => (isError(env) ? { error: errorText(env) } : { payload: env.payload });

    const tunnelSend = (conn: ConnId, bytes: Uint8Array): void => {
      let inner: Envelope;
      try {
        inner = decodeEnvelope(bytes);
      } catch {
        return; // the core checked it already
      }
      const payload = new Uint8Array(inner.payload);
      const answer = ctx.peers
        .request('session', { type: 'tunnelRequest', connId: conn, messageType: inner.type, payload }, { timeoutMs: 35_000, transfer: [payload.buffer as ArrayBuffer] })
        .then(
          (r): Envelope | 'closed' => {
            if ('error' in r) return errorEnvelope(inner.type, inner.reqId, r.error);
            const rt = isRequestType(inner.type) ? responseTypeFor(inner.type) : inner.type;
            return responseEnvelope(rt, inner.reqId, r.payload);
          },
          () => 'closed' as const,
        );
      const prev = chains.get(conn) ?? Promise.resolve();
      const next = prev.then(async () => {
        const env = await answer;
        if (stopped) return;
        if (env === 'closed') core.handle({ type: 'connection-closed', conn }, now());
        else core.handle({ type: 'tunnel-response', conn, bytes: encodeEnvelope(env) }, now());
        drain();
      });
      chains.set(conn, next);
      void next.finally(() => {
        if (chains.get(conn) === next) chains.delete(conn);
      });
    };

    const drain = (): void => {
      for (let e = core.pollEffect(); e; e = core.pollEffect()) {
        switch (e.kind) {
          case 'reply': {
            const key = `${e.conn}:${e.envelope.reqId}`;
            const resolve = pending.get(key);
            pending.delete(key);
            resolve?.(toReply(e.envelope));
            break;
          }
          case 'tunnel-send':
            tunnelSend(e.conn, e.bytes);
            break;
          case 'tunnel-close':
            core.handle({ type: 'connection-closed', conn: e.conn }, now());
            break;
          case 'tunnel-open':
          case 'publish-announcement':
            break;
        }
      }
    };

    const timer = setInterval(() => {
      if (stopped) return;
      core.handleTimeout(now());
      drain();
    }, TICK_MS);
    timer.unref?.();
    ctx.defer(() => {
      stopped = true;
      clearInterval(timer);
      for (const r of pending.values()) r({ error: ErrorText.UNSUPPORTED_MESSAGE_TYPE });
      pending.clear();
    });

    return {
      handlers: {
        wire(req) {
          const conn = req.from.connId ?? NO_CONN;
          const key = `${conn}:${req.reqId}`;
          if (pending.has(key)) return { error: 'duplicate request id on this connection' };
          const answer = new Promise<WireReply>((resolve) => pending.set(key, resolve));
          core.handle(
            {
              type: 'request',
              conn,
              requester: req.from.pubkey ? `pubkey:${req.from.pubkey}` : null,
              envelope: { type: req.messageType, reqId: req.reqId, flags: 0, payload: req.payload },
            },
            now(),
          );
          drain();
          return answer;
        },
      },
    };
  },
};
