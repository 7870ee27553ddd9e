/**
 * The relay actor's core (PROTOCOL.md §9), sans-I/O in quinn's shape:
 *   handle(input, now)  inbound RELAY_REGISTER (450), RELAY_CONNECT (452), RELAY_STREAM (453),
 *                       RELAY_LIST_REQUEST (460); tunnel responses; closed connections; announcements learned
 *   handleTimeout(now)  tunnel timeouts and pacing, slot eviction, directory pruning, re-announcing
 *   pollEffect()        'reply' | 'tunnel-open' | 'tunnel-send' | 'tunnel-close' | 'publish-announcement'
 *   nextDeadline()      unix ms at which handleTimeout wants to run
 *
 * RELAY_STREAM takes one of two paths: if the slot has a tunnel it is forwarded (tunnel-core.ts; no gating or
 * quotas: carrying content is a tunnel's purpose), else the reference's §9.2 path: adaptive gating, slot
 * lookup, daily quotas of the slot owner, sender check, then an echo of the stream.
 *
 * `now` is unix milliseconds throughout (slot expiries and quota days are wall-clock facts on the wire).
 */
import type { Random } from '../runtime/random.js';
import { errorEnvelope, responseEnvelope, type Envelope } from '../../protocol/envelope.js';
import { decodeRequestPayload, ErrorText, MessageType } from '../../protocol/registry.js';
import { ProtocolError } from '../../errors.js';
import { relayListResponseCodec, relayRegisteredCodec, relayStreamCodec, type RelayStream } from '../../protocol/relay-messages.js';
import type { RelayAnnouncement } from '../../protocol/relay-announcement.js';
import { RelayGate } from './gating.js';
import { DailyQuotas, type DailyQuotaLimits, type ThroughputCapInit } from './quotas.js';
import { buildRelayAnnouncement, nextAnnounceAt, RelayDirectory, relayPublishPlan, type OfferResult, type OwnAnnouncementInit, type PublishPlan } from './relay-directory.js';
import { SlotTable } from './slot-table.js';
import { TunnelCore, type ConnId, type TunnelEffect } from './tunnel-core.js';

export type { ConnId };

export const RelayText = {
  NO_IDENTITY: 'relay requires a known peer identity',
  NO_REQUESTER: 'no requester connected to relay slot',
  NOT_ON_SLOT: 'relay stream sender is not connected to the slot',
  TUNNELS_FULL: 'relay tunnel limit reached',
} as const;

export type RelayInput =
  /**
   * An inbound request envelope of type 450/452/453/460. `requester` is the session's identity string for the
   * peer ("pubkey:<hex>" after a handshake), null when unknown.
   */
  | { type: 'request'; conn: ConnId; requester: string | null; envelope: Envelope }
  /** A response envelope (frame body) read from a tunnel connection. */
  | { type: 'tunnel-response'; conn: ConnId; bytes: Uint8Array }
  | { type: 'connection-closed'; conn: ConnId }
  /** An announcement learned from the DHT or a RELAY_LIST_RESPONSE: validated and cached. */
  | { type: 'announcement'; announcement: RelayAnnouncement };

export type RelayEffect =
  | TunnelEffect
  /** After writing the preceding RELAY_REGISTERED reply on `conn`, turn it around into a tunnel (§9.3 step 2). */
  | { kind: 'tunnel-open'; conn: ConnId; slotId: bigint }
  /** Our announcement is due: STORE `plan.value` under each of `plan.keys` with `plan.ttlSecs`. */
  | { kind: 'publish-announcement'; announcement: RelayAnnouncement; plan: PublishPlan };

export interface RelayCoreComponents {
  random: Random;
}

export interface RelayCoreInit {
  /** The relay role (capability `relay`); off by default. RELAY_LIST_REQUEST is served either way. */
  enabled?: boolean;
  maxSlots?: number;
  maxSlotsPerOwner?: number;
  maxTunnels?: number;
  slotTtlSecs?: number;
  quotas?: Partial<DailyQuotaLimits>;
  tunnel?: { queueDepth?: number; timeoutMs?: number; maxInFlight?: number; caps?: ThroughputCapInit };
  /** When set (and enabled), the core re-announces every `intervalSecs` (default 1,800, min 60). */
  announce?: OwnAnnouncementInit & { seed: Uint8Array; intervalSecs?: number };
  maxDirectoryEntries?: number;
}

export class RelayCore {
  readonly enabled: boolean;
  readonly slots: SlotTable;
  readonly gate = new RelayGate();
  readonly quotas: DailyQuotas;
  readonly tunnels: TunnelCore;
  readonly directory: RelayDirectory;
  readonly #announce: RelayCoreInit['announce'];
  #nextAnnounce: number | undefined;
  readonly #effects: RelayEffect[] = [];

  constructor(components: RelayCoreComponents, init: RelayCoreInit = {}, now = 0) {
    this.enabled = init.enabled === true;
    this.tunnels = new TunnelCore({ ...init.tunnel, maxTunnels: init.maxTunnels }, now);
    this.slots = new SlotTable(
      { random: components.random },
      { maxSlots: init.maxSlots, maxSlotsPerOwner: init.maxSlotsPerOwner, slotTtlSecs: init.slotTtlSecs, isIdReserved: (id) => this.tunnels.hasTunnel(id) },
    );
    this.quotas = new DailyQuotas(init.quotas);
    this.directory = new RelayDirectory({ maxEntries: init.maxDirectoryEntries });
    this.#announce = init.announce;
    this.#nextAnnounce = this.enabled && init.announce ? now : undefined;
  }

  handle(input: RelayInput, now: number): void {
    this.#evict(now);
    switch (input.type) {
      case 'request':
        return this.#request(input.conn, input.requester, input.envelope, now);
      case 'tunnel-response':
        this.tunnels.handleTunnelResponse(input.conn, input.bytes, now);
        return this.#drainTunnel();
      case 'connection-closed':
        this.tunnels.closed(input.conn, now);
        return this.#drainTunnel();
      case 'announcement':
        this.offerAnnouncement(input.announcement, now);
        return;
    }
  }

  offerAnnouncement(a: RelayAnnouncement, now: number): OfferResult {
    return this.directory.offer(a, now);
  }

  handleTimeout(now: number): void {
    this.#evict(now);
    this.directory.prune(now);
    this.tunnels.handleTimeout(now);
    this.#drainTunnel();
    if (this.#announce && this.#nextAnnounce !== undefined && now >= this.#nextAnnounce) {
      const a = buildRelayAnnouncement(this.#announce, now, this.#announce.seed);
      this.directory.offer(a, now);
      this.#effects.push({ kind: 'publish-announcement', announcement: a, plan: relayPublishPlan(a, now) });
      this.#nextAnnounce = nextAnnounceAt(now, this.#announce.intervalSecs);
    }
  }

  nextDeadline(): number | undefined {
    const c = [this.tunnels.nextDeadline(), this.slots.nextExpiryMs(), this.directory.nextExpiryMs(), this.#nextAnnounce].filter(
      (x): x is number => x !== undefined,
    );
    return c.length ? Math.min(...c) : undefined;
  }

  pollEffect(): RelayEffect | undefined {
    this.#drainTunnel();
    return this.#effects.shift();
  }

  #request(conn: ConnId, requester: string | null, env: Envelope, now: number): void {
    const fail = (text: string): void => this.#reply(conn, errorEnvelope(env.type, env.reqId, text));
    let decoded;
    try {
      decoded = decodeRequestPayload(env.type, env.payload);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return fail(e.wireText ?? e.message);
    }
    if (decoded.type === MessageType.RELAY_LIST_REQUEST) {
      const announcements = this.directory.list(decoded.payload.maxCount, now);
      return this.#reply(conn, responseEnvelope(MessageType.RELAY_LIST_RESPONSE, env.reqId, relayListResponseCodec.encode({ announcements })));
    }
    const isRelayOp =
      decoded.type === MessageType.RELAY_REGISTER || decoded.type === MessageType.RELAY_CONNECT || decoded.type === MessageType.RELAY_STREAM;
    if (!isRelayOp) return fail(ErrorText.UNSUPPORTED_MESSAGE_TYPE);
    if (!this.enabled) return fail(ErrorText.UNSUPPORTED_MESSAGE_TYPE);
    if (requester === null) return fail(RelayText.NO_IDENTITY);

    switch (decoded.type) {
      case MessageType.RELAY_REGISTER: {
        const { relaySlotId, tunnel } = decoded.payload;
        // Check tunnel room first so a refused tunnel leaves no orphan slot behind.
        // (Slot id 0 is never allocated, so canOpen(0n) asks "is there room for one more tunnel".)
        if (tunnel && !this.tunnels.canOpen(relaySlotId ?? 0n)) return fail(RelayText.TUNNELS_FULL);
        const r = this.slots.register(requester, relaySlotId, now);
        if (!r.ok) return fail(r.wireText);
        this.#reply(
          conn,
          responseEnvelope(MessageType.RELAY_REGISTERED, env.reqId, relayRegisteredCodec.encode({ relaySlotId: r.slot.id, expiresAt: r.slot.expiresAt })),
        );
        if (tunnel) {
          this.tunnels.open(conn, r.slot.id, now);
          this.#drainTunnel();
          this.#effects.push({ kind: 'tunnel-open', conn, slotId: r.slot.id });
        }
        return;
      }
      case MessageType.RELAY_CONNECT: {
        const r = this.slots.connect(requester, decoded.payload.relaySlotId, now);
        if (!r.ok) return fail(r.wireText);
        return this.#reply(conn, responseEnvelope(MessageType.RELAY_CONNECT, env.reqId));
      }
      case MessageType.RELAY_STREAM:
        return this.#stream(conn, requester, env, decoded.payload, now);
    }
  }

  #stream(conn: ConnId, requester: string, env: Envelope, s: RelayStream, now: number): void {
    if (this.tunnels.hasTunnel(s.relaySlotId)) {
      this.tunnels.forward(conn, env.reqId, s, now);
      return this.#drainTunnel();
    }
    const fail = (text: string): void => this.#reply(conn, errorEnvelope(env.type, env.reqId, text));
    const g = this.gate.check(requester, s.kind, s.payload.length);
    if (!g.ok) return fail(g.wireText);
    const slot = this.slots.get(s.relaySlotId, now);
    if (!slot) return fail(ErrorText.RELAY_SLOT_NOT_FOUND);
    if (requester === slot.owner && slot.requester === null) return fail(RelayText.NO_REQUESTER);
    if (!this.slots.maySend(slot, requester)) return fail(RelayText.NOT_ON_SLOT);
    const q = this.quotas.tryConsume(slot.owner, s.kind, s.payload.length, s.streamId, now);
    if (!q.ok) return fail(q.wireText);
    this.gate.reward(requester);
    this.#reply(conn, responseEnvelope(MessageType.RELAY_STREAM, env.reqId, relayStreamCodec.encode(s)));
  }

  #evict(now: number): void {
    this.slots.evictExpired(now);
    this.quotas.retainOwners(this.slots.liveOwners(now));
  }

  #reply(conn: ConnId, envelope: Envelope): void {
    this.#drainTunnel();
    this.#effects.push({ kind: 'reply', conn, envelope });
  }

  /** Keeps one ordered effect queue: tunnel effects are moved over as soon as they are produced. */
  #drainTunnel(): void {
    for (let e = this.tunnels.pollEffect(); e; e = this.tunnels.pollEffect()) this.#effects.push(e);
  }
}
