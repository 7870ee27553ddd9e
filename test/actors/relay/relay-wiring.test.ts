/**
 * The relay wiring of issue 9 without sockets: candidate sources and rotation of the firewalled client, the
 * relay service (events, refusals, quotas, caps, DHT announcements) over a fake session/DHT, nested relay
 * requests refused in tunnels, config parsing, and the downloader's table of relayed peers.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FirewalledClient, type FirewalledEffect, type RelayCandidate } from '../../../src/actors/relay/firewalled-client.js';
import { buildRelayAnnouncement } from '../../../src/actors/relay/relay-directory.js';
import { readRelayActorConfig, DEFAULT_RELAY_SERVICE, DEFAULT_RELAY_CLIENT } from '../../../src/actors/relay/relay-config.js';
import { RelayService } from '../../../src/actors/relay/relay-service.js';
import { TunnelCore } from '../../../src/actors/relay/tunnel-core.js';
import { RelayedPeers } from '../../../src/actors/session/relayed-peers.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import type { PeerDirectory } from '../../../src/actors/runtime/actor-definition.js';
import type { NodeEvent } from '../../../src/messages/node-events.js';
import type { PeerRef, WireReply } from '../../../src/messages/wire.js';
import { decodeEnvelope, encodeEnvelope, errorText, isError } from '../../../src/protocol/envelope.js';
import { publicKeyFromSeed } from '../../../src/protocol/keys.js';
import type { PeerAddr } from '../../../src/protocol/peer-addr.js';
import { MessageType } from '../../../src/protocol/registry.js';
import { relayRegisterCodec, relayStreamCodec } from '../../../src/protocol/relay-messages.js';
import { checkRelayAnnouncement, decodeRelayAnnouncement, relayAnnouncementKeys } from '../../../src/protocol/relay-announcement.js';
import { parseBootstrapPeer } from '../../../src/actors/session/bootstrap.js';
import { ProtocolError, ScpError } from '../../../src/errors.js';
import { decideReachability } from '../../../src/actors/relay/relay-client.js';
import { ReachabilityExtMessageType, reachabilityProbeCodec, reachabilityResultCodec } from '../../../src/protocol/reachability-ext.js';
import { routeRequest } from '../../../src/actors/session/dispatch.js';

const T0 = 1_700_000_000_000;
const RELAY_CAPS = { dht: true, store: false, relay: true, contentSeed: false, mobileLight: false };
const key = (i: number) => new Uint8Array(32).fill(i);
const addr = (i: number, withKey = true): PeerAddr => ({ ip: `10.0.0.${i}`, port: 7001, transport: 'tcp', pubkeyHint: withKey ? key(i) : null });
const peer = (i: number, source: 'lan' | 'peer' = 'peer'): RelayCandidate => ({ addr: addr(i), source, capabilities: RELAY_CAPS, capabilitiesSeenAt: T0, lastSeen: T0 });
const drain = (c: FirewalledClient): FirewalledEffect[] => {
  const out: FirewalledEffect[] = [];
  for (let e = c.pollEffect(); e; e = c.pollEffect()) out.push(e);
  return out;
};
const self: PeerAddr = { ip: '192.168.1.5', port: 1, transport: 'tcp', pubkeyHint: key(99) };
const client = () => new FirewalledClient({ firewalled: true, selfAddr: self, localPubkey: key(99) }, T0);

describe('FirewalledClient candidates and rotation', () => {
  it('tries configured relays first, lists each relay once with every source that named it', () => {
    const c = client();
    c.handle({ type: 'peers', peers: [peer(1), peer(2, 'lan')] }, T0);
    drain(c);
    // Relay 3 configured by address only; relay 1 also found in the DHT.
    c.handle({ type: 'configured', relays: [addr(3, false)] }, T0);
    const seed = new Uint8Array(32).fill(1);
    const a = buildRelayAnnouncement({ relayPubkey: publicKeyFromSeed(seed), relayAddrs: [addr(1, false)] }, T0, seed);
    c.handle({ type: 'announcement', announcement: a, source: 'dht' }, T0);
    const list = c.candidates(T0);
    expect(list[0]).toMatchObject({ source: 'config', addr: { ip: '10.0.0.3' } });
    const one = list.filter((x) => x.addr.ip === '10.0.0.1');
    expect(one).toHaveLength(1); // its handshake entry and its announcement are one relay (same address)
    expect(one[0]!.sources).toEqual(['peer', 'dht']);
    expect(list.find((x) => x.addr.ip === '10.0.0.2')?.source).toBe('lan');
  });

  it('a relay known by address only (LAN, config) takes its key from a later entry for the same address', () => {
    const c = client();
    const lanOnly: RelayCandidate = { addr: addr(5, false), source: 'lan', capabilities: RELAY_CAPS, capabilitiesSeenAt: T0, lastSeen: T0 };
    c.handle({ type: 'peers', peers: [lanOnly, peer(5)] }, T0);
    const list = c.candidates(T0);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ source: 'lan', sources: ['lan', 'peer'] });
    expect(list[0]!.addr.pubkeyHint).toEqual(key(5));
  });

  it('new candidates while waiting start a registration at once', () => {
    const c = client();
    expect(drain(c)).toEqual([]); // nothing known yet: waiting
    c.handle({ type: 'peers', peers: [peer(4)] }, T0 + 10);
    expect(drain(c)).toEqual([expect.objectContaining({ kind: 'dial', relay: expect.objectContaining({ ip: '10.0.0.4' }) })]);
  });

  it('property: within a round no relay is tried twice; when all failed the client waits recheckMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.constantFrom('dial-failed', 'register-failed', 'timeout'), { minLength: 1, maxLength: 12 }), (n, outcomes) => {
        const c = client();
        c.handle({ type: 'peers', peers: Array.from({ length: n }, (_, i) => peer(i + 1)) }, T0);
        let now = T0;
        const tried: string[] = [];
        for (const o of outcomes) {
          const effects = drain(c);
          const dial = effects.find((e) => e.kind === 'dial') as Extract<FirewalledEffect, { kind: 'dial' }> | undefined;
          if (!dial) {
            // Every candidate failed in this round: nothing until the re-check.
            expect(tried.length).toBe(n);
            expect(c.nextDeadline()).toBe(now + 30_000);
            now += 30_000;
            c.handleTimeout(now);
            tried.length = 0;
            continue;
          }
          expect(tried).not.toContain(dial.relay.ip);
          tried.push(dial.relay.ip);
          if (o === 'dial-failed') c.handle({ type: 'dial-failed', attempt: dial.attempt, reason: 'x' }, now);
          else if (o === 'register-failed') {
            c.handle({ type: 'dialed', attempt: dial.attempt, conn: 1 }, now);
            drain(c);
            c.handle({ type: 'register-failed', attempt: dial.attempt, reason: 'refused' }, now);
          } else {
            now += 15_000;
            c.handleTimeout(now);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('tunnels refuse relay requests inside them', () => {
  it('a RELAY_REGISTER wrapped in RELAY_STREAM gets an outer error and never reaches the far node', () => {
    const t = new TunnelCore({}, T0);
    t.open(5, 77n, T0);
    const inner = encodeEnvelope({ type: MessageType.RELAY_REGISTER, reqId: 3, flags: 0, payload: relayRegisterCodec.encode({ relaySlotId: null, tunnel: true }) });
    t.forward(9, 40, { relaySlotId: 77n, streamId: 0, kind: 'content', payload: inner }, T0);
    const effects: unknown[] = [];
    for (let e = t.pollEffect(); e; e = t.pollEffect()) effects.push(e);
    expect(effects).toHaveLength(1);
    const reply = effects[0] as { kind: string; conn: number; envelope: Parameters<typeof errorText>[0] };
    expect(reply).toMatchObject({ kind: 'reply', conn: 9 });
    expect(isError(reply.envelope)).toBe(true);
    expect(errorText(reply.envelope)).toMatch(/relay message 450 through a tunnel/);
  });
});

describe('relay config', () => {
  it('defaults, validation with the option name, and test-speed floors', () => {
    const d = readRelayActorConfig({});
    expect(d.service).toEqual(DEFAULT_RELAY_SERVICE);
    expect(d.client).toEqual(DEFAULT_RELAY_CLIENT);
    expect(d).toMatchObject({ enabled: false, firewalled: false, listening: true, relays: [] });
    const c = readRelayActorConfig({ enabled: true, relayService: { maxTunnelBps: 1000, announceIntervalMs: 10, announceTtlSecs: 10 ** 9 }, relayClient: { recheckMs: 1 }, listening: false });
    expect(c.service).toMatchObject({ maxTunnelBps: 1000, announceIntervalMs: 1_000, announceTtlSecs: 21_600 });
    expect(c.client.recheckMs).toBe(100);
    expect(c.listening).toBe(false);
    expect(() => readRelayActorConfig({ relayService: { maxTunnels: -1 } })).toThrow(/maxTunnels/);
    expect(() => readRelayActorConfig({ relayService: { maxGlobalBps: 0 } })).toThrow(/maxGlobalBps/);
    expect(() => readRelayActorConfig({ relayClient: { reachabilityCheck: 'yes' } })).toThrow(ScpError);
  });
});

describe('RelayedPeers (downloader side)', () => {
  it('first answer connects, silence for idleMs disconnects', () => {
    const t = new RelayedPeers({ idleMs: 1_000 });
    expect(t.answered('aa', 'relay:tcp://1.2.3.4:1/slot/9', T0)).toBe(true);
    expect(t.answered('aa', 'relay:tcp://1.2.3.4:1/slot/9', T0 + 500)).toBe(false);
    expect(t.expire(T0 + 1_400)).toEqual([]);
    expect(t.expire(T0 + 1_500).map((p) => p.pubkeyHex)).toEqual(['aa']);
    expect(t.get('aa')).toBeUndefined();
  });
});

// ------------------------------------------------------------------------------------------------- service

interface Harness {
  svc: RelayService;
  events: NodeEvent[];
  puts: Array<{ key: Uint8Array; value: Uint8Array; ttlSecs?: number }>;
  /** What the fake session answers to tunnelRequest (per call). */
  tunnelAnswers: Array<{ payload: Uint8Array } | { error: string }>;
  clock: { now: number };
}

function harness(cfgOver: Record<string, unknown> = {}, enabled = true): Harness {
  const seed = new Uint8Array(32).fill(42);
  const events: NodeEvent[] = [];
  const puts: Harness['puts'] = [];
  const tunnelAnswers: Harness['tunnelAnswers'] = [];
  const clock = { now: T0 };
  const peers: PeerDirectory = {
    has: () => true,
    request: (async (actor: string, body: Record<string, unknown>) => {
      if (actor === 'dht' && body.type === 'put') {
        puts.push(body as never);
        return { stored: 1 };
      }
      if (actor === 'session' && body.type === 'selfAddrs') return [{ ip: '127.0.0.1', port: 7001, transport: 'tcp', pubkeyHint: publicKeyFromSeed(seed) }, { ip: '10.1.1.1', port: 7001, transport: 'tcp', pubkeyHint: null }];
      if (actor === 'session' && body.type === 'tunnelRequest') return tunnelAnswers.shift() ?? { error: 'no answer' };
      throw new Error(`unexpected ${actor}.${String(body.type)}`);
    }) as never,
  };
  const cfg = readRelayActorConfig({ enabled, relayService: cfgOver });
  const svc = new RelayService(
    { random: createRandom(3), now: () => clock.now, peers, emit: (e) => events.push(e), nodeSeed: seed, nodePubkey: publicKeyFromSeed(seed), parseAddr: parseBootstrapPeer },
    enabled,
    cfg.service,
  );
  return { svc, events, puts, tunnelAnswers, clock };
}

const from = (i: number, connId: number, relayed = false): PeerRef => ({
  nodeId: `${i}`.padStart(40, '0'),
  pubkey: toHexKey(i),
  remote: `10.0.0.${i}:5000`,
  transport: 'tcp',
  relayed,
  addr: null,
  capabilities: RELAY_CAPS,
  connId,
});
function toHexKey(i: number): string {
  return Buffer.from(key(i)).toString('hex');
}
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('RelayService', () => {
  it('a tunnel opens and closes with events; requests that came through a tunnel are refused', async () => {
    const h = harness();
    const reg = await h.svc.wire({ from: from(1, 11), messageType: MessageType.RELAY_REGISTER, reqId: 1, payload: relayRegisterCodec.encode({ relaySlotId: null, tunnel: true }) });
    expect('payload' in reg).toBe(true);
    expect(h.events).toEqual([expect.objectContaining({ type: 'RelayTunnelOpened', peerNodeId: from(1, 11).nodeId })]);
    expect(h.svc.status()).toEqual({ enabled: true, slots: 1, tunnels: 1 });
    const viaTunnel = await h.svc.wire({ from: from(2, 12, true), messageType: MessageType.RELAY_REGISTER, reqId: 1, payload: relayRegisterCodec.encode({ relaySlotId: null, tunnel: true }) });
    expect(viaTunnel).toEqual({ error: 'unsupported message type' });
    h.svc.connectionClosed(11);
    expect(h.events.at(-1)).toMatchObject({ type: 'RelayTunnelClosed', reason: 'connection closed' });
    expect(h.svc.status().tunnels).toBe(0);
  });

  it('carries a downloader request to the far node and back through the session', async () => {
    const h = harness();
    await h.svc.wire({ from: from(1, 11), messageType: MessageType.RELAY_REGISTER, reqId: 1, payload: relayRegisterCodec.encode({ relaySlotId: null, tunnel: true }) });
    const slot = (h.events[0] as { slotId: string }).slotId;
    h.tunnelAnswers.push({ payload: new Uint8Array([0xa0]) });
    const inner = encodeEnvelope({ type: MessageType.GET_MANIFEST, reqId: 9, flags: 0, payload: new Uint8Array([0xa0]) });
    const r = (await h.svc.wire({ from: from(2, 12), messageType: MessageType.RELAY_STREAM, reqId: 9, payload: relayStreamCodec.encode({ relaySlotId: BigInt(slot), streamId: 0, kind: 'content', payload: inner }) })) as WireReply;
    expect('payload' in r).toBe(true);
    const env = decodeEnvelope(relayStreamCodec.decode((r as { payload: Uint8Array }).payload).payload);
    expect(env).toMatchObject({ type: MessageType.GET_MANIFEST + 1, reqId: 9 });
  });

  it('enforces the configured daily quota on the no-tunnel path end to end', async () => {
    const h = harness({ dailyControlBytesPerPeer: 100 });
    const reg = (await h.svc.wire({ from: from(1, 11), messageType: MessageType.RELAY_REGISTER, reqId: 1, payload: relayRegisterCodec.encode({ relaySlotId: null, tunnel: false }) })) as { payload: Uint8Array };
    const slotId = BigInt((await import('../../../src/protocol/relay-messages.js')).relayRegisteredCodec.decode(reg.payload).relaySlotId);
    await h.svc.wire({ from: from(2, 12), messageType: MessageType.RELAY_CONNECT, reqId: 2, payload: (await import('../../../src/protocol/relay-messages.js')).relayConnectCodec.encode({ relaySlotId: slotId }) });
    const send = (n: number, reqId: number) =>
      h.svc.wire({ from: from(2, 12), messageType: MessageType.RELAY_STREAM, reqId, payload: relayStreamCodec.encode({ relaySlotId: slotId, streamId: 1, kind: 'control', payload: new Uint8Array(n) }) });
    expect('payload' in (await send(60, 3))).toBe(true);
    expect(await send(60, 4)).toEqual({ error: 'relay control-byte quota exceeded' });
    // Content without a tunnel stays off by default (and costs the requester gating score first).
    const content = await h.svc.wire({ from: from(2, 12), messageType: MessageType.RELAY_STREAM, reqId: 5, payload: relayStreamCodec.encode({ relaySlotId: slotId, streamId: 2, kind: 'content', payload: new Uint8Array(10) }) });
    expect('error' in content).toBe(true);
  });

  it('announces itself under its two rendezvous keys, non-loopback addresses first, and again after the interval', async () => {
    const h = harness({ announceIntervalMs: 5_000 });
    h.svc.tick();
    await flush();
    await flush();
    expect(h.puts).toHaveLength(2);
    const a = decodeRelayAnnouncement(h.puts[0]!.value);
    expect(checkRelayAnnouncement(a, BigInt(Math.floor(T0 / 1000)))).toBeNull();
    expect(a.relayAddrs.map((x) => x.ip)).toEqual(['10.1.1.1', '127.0.0.1']);
    expect(h.puts.map((p) => Buffer.from(p.key).toString('hex')).sort()).toEqual(relayAnnouncementKeys(a.relayPubkey, BigInt(Math.floor(T0 / 1000))).map((k) => Buffer.from(k).toString('hex')).sort());
    expect(h.puts[0]!.ttlSecs).toBeGreaterThanOrEqual(86_400);
    h.clock.now += 4_000;
    h.svc.tick();
    await flush();
    expect(h.puts).toHaveLength(2);
    h.clock.now += 1_000;
    h.svc.tick();
    await flush();
    await flush();
    expect(h.puts).toHaveLength(4);
  });

  it('with the role off: no announcements, relay ops refused, relay lists still answered', async () => {
    const h = harness({}, false);
    h.svc.tick();
    await flush();
    expect(h.puts).toHaveLength(0);
    const r = await h.svc.wire({ from: from(1, 11), messageType: MessageType.RELAY_REGISTER, reqId: 1, payload: relayRegisterCodec.encode({ relaySlotId: null, tunnel: true }) });
    expect(r).toEqual({ error: 'unsupported message type' });
    const list = await h.svc.wire({ from: from(1, 11), messageType: MessageType.RELAY_LIST_REQUEST, reqId: 2, payload: (await import('../../../src/protocol/relay-messages.js')).relayListRequestCodec.encode({ maxCount: 4 }) });
    expect('payload' in list).toBe(true);
  });
});

describe('dial-back reachability (extension 4090)', () => {
  it('decides direct on any success, firewalled when every judging peer failed, else keeps the state', () => {
    expect(decideReachability('unknown', [])).toBe('unknown');
    expect(decideReachability('unknown', ['unsupported', 'failed'])).toBe('unknown');
    expect(decideReachability('direct', ['unsupported'])).toBe('direct');
    expect(decideReachability('unknown', ['unreachable', 'unsupported'])).toBe('firewalled');
    expect(decideReachability('firewalled', ['unreachable', 'reachable'])).toBe('direct');
  });

  it('the probe and its answer round-trip, are routed to the session, and bad input is a typed error', () => {
    const addrs: PeerAddr[] = [{ ip: '10.0.0.1', port: 7001, transport: 'tcp', pubkeyHint: key(1) }, { ip: '::1', port: 7000, transport: 'quic', pubkeyHint: null }];
    expect(reachabilityProbeCodec.decode(reachabilityProbeCodec.encode({ addrs }))).toEqual({ addrs });
    expect(reachabilityResultCodec.decode(reachabilityResultCodec.encode({ reachable: true }))).toEqual({ reachable: true });
    expect(routeRequest(ReachabilityExtMessageType.REACHABILITY_PROBE)).toMatchObject({ kind: 'actor', owner: 'session', responseType: 4090 });
    expect(() => reachabilityProbeCodec.decode(new Uint8Array([0xa1, 0x65, 0x61, 0x64, 0x64, 0x72, 0x73, 0x01]))).toThrow(ProtocolError);
    const five = Array.from({ length: 5 }, () => addrs[0]!);
    expect(() => reachabilityProbeCodec.encode({ addrs: five })).toThrow();
  });
});
