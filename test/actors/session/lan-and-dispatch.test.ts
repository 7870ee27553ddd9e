import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LanDiscoveryCore } from '../../../src/actors/session/lan-discovery-core.js';
import { REQUEST_ROUTES, routeRequest } from '../../../src/actors/session/dispatch.js';
import { lanAnnouncementCodec } from '../../../src/protocol/lan.js';
import { NO_CAPABILITIES } from '../../../src/protocol/peer-addr.js';
import { isRequestType, MessageType, REQUESTS } from '../../../src/protocol/registry.js';

const OWN = new Uint8Array(16).fill(1);
const OTHER = new Uint8Array(16).fill(7);
const REF_HEX =
  'a46776657273696f6e026b696e7374616e63655f69649007070707070707070707070707070707687463705f706f7274191b596c6361706162696c6974696573a563646874f46573746f7265f46572656c6179f46c636f6e74656e745f73656564f46c6d6f62696c655f6c69676874f4';

function lan(): LanDiscoveryCore {
  return new LanDiscoveryCore({}, { instanceId: OWN, tcpPort: 7001, capabilities: { ...NO_CAPABILITIES, dht: true } });
}

describe('LanDiscoveryCore', () => {
  it('broadcasts every 3 s from start', () => {
    const c = lan();
    expect(c.nextDeadline()).toBeUndefined();
    c.start(1000);
    c.handleTimeout(1000);
    const e = c.pollEffect();
    expect(e).toMatchObject({ kind: 'broadcast', address: '255.255.255.255', port: 46123 });
    const a = lanAnnouncementCodec.decode((e as { data: Uint8Array }).data);
    expect(a).toMatchObject({ version: 2, tcpPort: 7001, capabilities: { dht: true } });
    expect(c.nextDeadline()).toBe(4000);
    c.handleTimeout(3999);
    expect(c.pollEffect()).toBeUndefined();
    c.handleTimeout(100_000); // after a stall: one broadcast, then the cadence resumes from now
    expect(c.pollEffect()?.kind).toBe('broadcast');
    expect(c.pollEffect()).toBeUndefined();
    expect(c.nextDeadline()).toBe(103_000);
  });

  it('listen-only (no TCP listener): never broadcasts, still hears a relay announced on the LAN', () => {
    const c = new LanDiscoveryCore({}, { instanceId: OWN, tcpPort: null, capabilities: null });
    c.start(0);
    c.handleTimeout(60_000);
    expect(c.nextDeadline()).toBeUndefined();
    const relay = lanAnnouncementCodec.encode({ version: 2, instanceId: OTHER, tcpPort: 7100, capabilities: { ...NO_CAPABILITIES, relay: true } });
    c.handle({ kind: 'datagram', data: relay, fromIp: '10.0.0.9', fromPort: 46123 }, 60_000);
    expect(c.pollEffect()).toMatchObject({ kind: 'peer-discovered', addr: { ip: '10.0.0.9', port: 7100 }, capabilities: { relay: true } });
    expect(c.pollEffect()).toBeUndefined();
  });

  it('turns the reference announcement into a peer, ignoring our own, version 0 and garbage', () => {
    const c = lan();
    c.handle({ kind: 'datagram', data: Buffer.from(REF_HEX, 'hex'), fromIp: '192.168.1.20', fromPort: 46123 }, 0);
    expect(c.pollEffect()).toEqual({
      kind: 'peer-discovered',
      addr: { ip: '192.168.1.20', port: 7001, transport: 'tcp', pubkeyHint: null },
      capabilities: NO_CAPABILITIES,
    });
    const own = lanAnnouncementCodec.encode({ version: 2, instanceId: OWN, tcpPort: 1, capabilities: null });
    const v0 = lanAnnouncementCodec.encode({ version: 0, instanceId: OTHER, tcpPort: 1, capabilities: null });
    const v1 = lanAnnouncementCodec.encode({ version: 1, instanceId: OTHER, tcpPort: 9, capabilities: null });
    c.handle({ kind: 'datagram', data: own, fromIp: '10.0.0.1', fromPort: 1 }, 0);
    c.handle({ kind: 'datagram', data: v0, fromIp: '10.0.0.1', fromPort: 1 }, 0);
    c.handle({ kind: 'datagram', data: Uint8Array.of(1, 2, 3), fromIp: '10.0.0.1', fromPort: 1 }, 0);
    c.handle({ kind: 'datagram', data: v1, fromIp: '::ffff:10.0.0.2', fromPort: 1 }, 0);
    expect(c.pollEffect()).toMatchObject({ kind: 'peer-discovered', addr: { ip: '10.0.0.2', port: 9 }, capabilities: null });
    expect(c.pollEffect()).toBeUndefined();
    expect(c.dropped).toMatchObject({ own: 1, 'version-0': 1, undecodable: 1 });
  });

  it('reports each peer once per interval and bounds a flood', () => {
    const c = new LanDiscoveryCore({}, { instanceId: OWN, tcpPort: 7001, capabilities: null, maxDiscoveriesPerInterval: 5 });
    for (let port = 1; port <= 20; port++) {
      const d = lanAnnouncementCodec.encode({ version: 2, instanceId: OTHER, tcpPort: port, capabilities: null });
      c.handle({ kind: 'datagram', data: d, fromIp: '10.0.0.9', fromPort: 1 }, 0);
      c.handle({ kind: 'datagram', data: d, fromIp: '10.0.0.9', fromPort: 1 }, 0);
    }
    let n = 0;
    while (c.pollEffect()) n++;
    expect(n).toBe(5);
  });

  it('property: arbitrary datagrams never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), (data, ip) => {
        const c = lan();
        c.handle({ kind: 'datagram', data, fromIp: ip, fromPort: 1 }, 0);
        const e = c.pollEffect();
        if (e) expect(e.kind).toBe('peer-discovered');
      }),
      { numRuns: 300 },
    );
  });
});

describe('dispatch', () => {
  it('routes every request type of the registry to its owner', () => {
    expect(Object.keys(REQUEST_ROUTES).sort()).toEqual(Object.keys(REQUESTS).sort());
    expect(routeRequest(MessageType.FIND_VALUE)).toMatchObject({ kind: 'actor', owner: 'dht', responseType: 201, rateClass: 'dht' });
    expect(routeRequest(MessageType.GET_MANIFEST)).toMatchObject({ owner: 'index', responseType: 401, rateClass: 'fetch' });
    expect(routeRequest(MessageType.GET_CHUNK)).toMatchObject({ owner: 'fetcher', responseType: 501, rateClass: 'chunk' });
    expect(routeRequest(MessageType.RELAY_STREAM)).toMatchObject({ owner: 'relay', rateClass: 'relay' });
    expect(routeRequest(MessageType.PEX_REQUEST)).toMatchObject({ owner: 'session', responseType: 100 });
  });

  it('refuses response-only and unknown types with the reference texts', () => {
    for (const t of [401, 403, 405, 407, 451, 461, 498, 501, 503]) expect(routeRequest(t)).toMatchObject({ kind: 'refuse', wireText: 'unsupported message type' });
    expect(routeRequest(999)).toMatchObject({ kind: 'refuse', wireText: 'unknown message type 999' });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (t) => {
        const r = routeRequest(t);
        expect(r.kind === 'actor').toBe(isRequestType(t));
      }),
    );
  });
});
