/**
 * Relay actor (PROTOCOL.md §9), both roles:
 *  - relay-service.ts: the relay role for others (capability `relay`, off by default): slots, tunnels, quotas,
 *    gating, throughput caps, our RelayAnnouncement in the DHT. RELAY_LIST_REQUEST is served either way.
 *  - relay-client.ts: our own tunnel when we are firewalled: reachability, relay discovery (peer DB, DHT
 *    rendezvous, relay lists), registration, re-registration and rotation.
 * Options: relay-config.ts (API.md "Relays"). The node seed (to sign announcements) is read from the persistence
 * sub-database, read only, as the session does (node-key.ts).
 */
import type { ActorDefinition } from '../runtime/actor-definition.js';
import type { TimerHandle } from '../runtime/clock.js';
import { publicKeyFromSeed } from '../../protocol/keys.js';
import { openEnvironment } from '../../store/environment.js';
import { parseBootstrapPeer } from '../session/bootstrap.js';
import { loadNodeSeed } from '../session/node-key.js';
import { readRelayActorConfig } from './relay-config.js';
import { RelayClient } from './relay-client.js';
import { applyRelayLimits } from './relay-limits.js';
import { RelayService } from './relay-service.js';

/** How often both drivers look at their deadlines; well under every configurable interval's floor. */
const TICK_MS = 100;

export const actor: ActorDefinition<'relay'> = {
  name: 'relay',
  start(ctx) {
    const cfg = readRelayActorConfig(ctx.config);
    const epochMs = typeof ctx.config.epochMs === 'number' ? ctx.config.epochMs : Date.now() - ctx.clock.now();
    const now = (): number => Math.floor(epochMs + ctx.clock.now());
    const env = openEnvironment(ctx.dataDir);
    ctx.defer(() => env.close());
    const passphrase = typeof ctx.config.keyPassphrase === 'string' && ctx.config.keyPassphrase ? ctx.config.keyPassphrase : undefined;
    const nodeSeed = loadNodeSeed(env, passphrase);
    const nodePubkey = publicKeyFromSeed(nodeSeed);

    const service = new RelayService(
      { random: ctx.random.fork('relay'), now, peers: ctx.peers, emit: (e) => ctx.emit(e), nodeSeed, nodePubkey, parseAddr: parseBootstrapPeer },
      cfg.enabled,
      cfg.service,
    );
    const client = new RelayClient(
      { now, peers: ctx.peers, emit: (e) => ctx.emit(e), nodePubkey, parseAddr: parseBootstrapPeer, learned: (a) => service.learned(a) },
      { firewalled: cfg.firewalled, listening: cfg.listening, relays: cfg.relays, config: cfg.client },
    );

    let stopped = false;
    let timer: TimerHandle | undefined;
    const tick = (): void => {
      if (stopped) return;
      try {
        service.tick();
        client.tick();
      } finally {
        timer = ctx.clock.setTimeout(tick, TICK_MS);
      }
    };
    timer = ctx.clock.setTimeout(tick, 0);
    // A restart lost every slot and tunnel route while their connections stay open in the session: have them
    // closed, so that both ends register again instead of holding a tunnel nobody routes.
    if (ctx.incarnation > 1) {
      ctx.peers.request('session', { type: 'closeAllTunnels' }, { timeoutMs: 5_000 }).then(
        (r) => r.closed > 0 && ctx.log.info({ closed: r.closed }, 'tunnels of the previous incarnation closed'),
        () => undefined,
      );
    }
    ctx.defer(() => {
      stopped = true;
      if (timer !== undefined) ctx.clock.clearTimeout(timer);
      service.stop();
      client.stop();
    });

    return {
      handlers: {
        setLimits: (req) => applyRelayLimits(req.limits, service.core.tunnels, cfg.service.maxTunnels),
        wire: (req) => service.wire(req),
        status: () => ({ ...client.status(), serving: service.status() }),
        connectionClosed: (req) => {
          service.connectionClosed(req.connId);
          client.connectionClosed(req.connId);
        },
      },
    };
  },
};
