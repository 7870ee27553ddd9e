/**
 * Relays with real nodes on loopback (inline actors): a node with no listener and no configured relay finds one
 * by itself — through a connected peer's `relay` capability, and through the DHT rendezvous keys — registers a
 * tunnel, serves a verified download through it (the downloader sees it as `relayed`), and registers with
 * another relay when its relay stops. Issue 9; API.md "Relays".
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { Node, type NodeConfig, type NodeEvent } from '../../src/index.js';
import { nodeTestDirs } from './node-test-helpers.js';

const { nodes, tmp } = nodeTestDirs('scp2p-relay-', { ignoreStopErrors: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fast timing so a rotation takes seconds, not the 30 s defaults. */
const FAST_CLIENT = { recheckMs: 500, discoveryIntervalMs: 500, dialTimeoutMs: 5_000, registerTimeoutMs: 5_000 };

async function start(opts: Partial<NodeConfig> = {}): Promise<Node> {
  const n = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline', logLevel: 'silent', ...opts });
  nodes.push(n);
  return n;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function nextEvent<T extends NodeEvent['type']>(n: Node, type: T, ms = 20_000): Promise<Extract<NodeEvent, { type: T }>> {
  return firstValueFrom(
    n.events$.pipe(
      filter((e): e is Extract<NodeEvent, { type: T }> => e.type === type),
      timeout({ each: ms, with: () => { throw new Error(`no ${type} within ${ms} ms`); } }),
    ),
  );
}

/**
 * Downloads everything, retrying while no provider is found yet: provider records (with the relay_via address)
 * reach the DHT asynchronously after a publish or a new registration.
 */
async function downloadAll(what: string, n: Node, shareId: string, out: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await n.downloadItems(shareId, 'all', out);
      return;
    } catch (err) {
      if (!/no provider/.test(String((err as Error).message))) throw err;
      if (Date.now() > end) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(250);
    }
  }
}

function folderWith(bytes: number): { dir: string; data: Buffer } {
  const dir = tmp();
  const data = crypto.randomBytes(bytes);
  fs.writeFileSync(path.join(dir, 'payload.bin'), data);
  return { dir, data };
}

describe('relay discovery and tunnels between real nodes', () => {
  it('finds a relay through a peer capability, serves a download through it, and rotates when it stops', async () => {
    const r1 = await start({ capabilities: { relay: true } });
    const r2 = await start({ capabilities: { relay: true } });
    const fw = await start({ listen: null, relays: [], bootstrap: [...r1.addresses(), ...r2.addresses()].filter((a) => a.startsWith('tcp://')), relayClient: FAST_CLIENT });
    const first = await until('a registration', async () => (await fw.relayStatus()).registration);
    const st = await fw.relayStatus();
    expect(st.reachability).toBe('firewalled');
    const relayIds = [r1.id.nodeId, r2.id.nodeId];
    expect(relayIds).toContain(first.relayNodeId);
    expect(first.relayVia).toMatch(/^relay:tcp:\/\/127\.0\.0\.1:\d+\/slot\/\d+$/);
    // Both relays are candidates, learned from the handshake capability (no config, no DHT needed).
    await until('both relays as candidates', async () => {
      const c = (await fw.relayStatus()).candidates;
      return relayIds.every((id) => c.some((x) => x.nodeId === id && x.sources.includes('peer')));
    });
    const serving = [r1, r2].find((r) => r.id.nodeId === first.relayNodeId)!;
    const spare = [r1, r2].find((r) => r.id.nodeId !== first.relayNodeId)!;
    expect((await serving.relayStatus()).serving).toMatchObject({ enabled: true, tunnels: 1 });
    // The firewalled node sees its relay's capability in peers().
    const asPeer = (await fw.peers()).find((p) => p.nodeId === first.relayNodeId);
    expect(asPeer?.capabilities.relay).toBe(true);

    // A downloader who knows only the share link gets the bytes through the tunnel.
    const { dir, data } = folderWith(3 * 262_144 + 99);
    const pub = await fw.publishFolder(dir, { title: 'behind the wall', visibility: 'private' });
    const link = await fw.shareLink(pub.shareId);
    expect(link).toContain('&r=');
    // Without a listener of its own, so the firewalled node cannot dial it and every byte crosses the relay. It is
    // firewalled too, so it keeps a tunnel of its own: with the spare relay, so that only the publisher rotates
    // below (provider records are last-write-wins, §5.4: two providers re-announcing at once can hide each other).
    const dl = await start({ listen: null, relays: spare.addresses().filter((a) => a.startsWith('tcp://')), relayClient: FAST_CLIENT });
    const relayedSeen = firstValueFrom(
      dl.events$.pipe(
        filter((e) => e.type === 'PeerConnected' && e.relayed && e.nodeId === fw.id.nodeId),
        timeout({ each: 60_000, with: () => { throw new Error('no relayed PeerConnected'); } }),
      ),
    );
    await dl.subscribe(link);
    await dl.syncSubscriptions();
    const out = tmp();
    await downloadAll('first download', dl, pub.shareId, out);
    expect(fs.readFileSync(path.join(out, 'payload.bin')).equals(data)).toBe(true);
    await relayedSeen;
    const viaRelay = (await dl.peers()).find((p) => p.nodeId === fw.id.nodeId);
    expect(viaRelay).toMatchObject({ connected: true, relayed: true });
    expect(viaRelay?.addresses.some((a) => a.startsWith('relay:'))).toBe(true);

    // The downloader now seeds what it got and announces itself as a provider, copying the record it read.
    // Provider records are last-write-wins (§5.4): let that write land before the publisher's re-announce below,
    // or it could hide the publisher's new route (docs/ARCHITECTURE.md, relay "known limits").
    await sleep(3_000);

    // The relay goes away: the node says so and registers with the other one.
    const lost = nextEvent(fw, 'RelayLost');
    const again = nextEvent(fw, 'RelayRegistered', 30_000);
    nodes.splice(nodes.indexOf(serving), 1);
    await serving.stop();
    expect((await lost).relayNodeId).toBe(first.relayNodeId);
    const second = await again;
    expect(second.relayNodeId).toBe(spare.id.nodeId);
    expect((await fw.relayStatus()).registration?.relayVia).toBe(second.relayVia);
    expect((await spare.relayStatus()).serving.tunnels).toBeGreaterThanOrEqual(1);

    // The new route serves too: a fresh link names the new relay, and the bytes still verify.
    const link2 = await until('a link through the new relay', async () => {
      const l = await fw.shareLink(pub.shareId);
      return l.includes(encodeURIComponent(second.relayAddr).slice(0, 20)) ? l : null;
    });
    await dl.subscribe(link2);
    const out2 = tmp();
    await downloadAll('download after rotation', dl, pub.shareId, out2);
    expect(fs.readFileSync(path.join(out2, 'payload.bin')).equals(data)).toBe(true);
  }, 120_000);

  it('dial-back: a node its peers can dial is direct; one advertising an address they cannot reach registers a tunnel', async () => {
    const relay = await start({ capabilities: { relay: true } });
    const boot = relay.addresses().filter((a) => a.startsWith('tcp://'));
    const open = await start({ bootstrap: boot, relayClient: FAST_CLIENT });
    // Listening on 127.0.0.2 but dialing out from 127.0.0.1, as behind a NAT: the relay will not dial an address
    // that is not the one the connection came from, so it judges the node unreachable.
    const natted = await start({ host: '127.0.0.2', outgoingAddress: '127.0.0.1', bootstrap: boot, relayClient: FAST_CLIENT });
    expect((await open.relayStatus()).reachability).toBe('unknown');
    await until('the open node judged direct', async () => (await open.relayStatus()).reachability === 'direct');
    const reg = await until('the natted node registered', async () => {
      const st = await natted.relayStatus();
      return st.reachability === 'firewalled' && st.registration;
    });
    expect(reg.relayNodeId).toBe(relay.id.nodeId);
    expect((await open.relayStatus()).registration).toBeNull();
  }, 60_000);

  it('a restarted relay actor closes the tunnels it forgot, on either end, and both ends register again', async () => {
    const r = await start({ capabilities: { relay: true } });
    const fw = await start({ listen: null, relays: r.addresses().filter((a) => a.startsWith('tcp://')), relayClient: FAST_CLIENT });
    const first = await until('a registration', async () => (await fw.relayStatus()).registration);
    expect((await r.relayStatus()).serving.tunnels).toBe(1);
    const restarts = (n: Node): number => n.health().actors.find((a) => a.name === 'relay')!.restarts;

    // The relay's relay actor restarts: without the clean-up its new incarnation knew no tunnel while the old
    // connection stayed open, so the firewalled node kept a registration that routed nothing.
    const lost = nextEvent(fw, 'RelayLost');
    const again = nextEvent(fw, 'RelayRegistered', 30_000);
    await r.debug.crashActor('relay', 'throw');
    await until('the relay actor restarted', async () => restarts(r) === 1);
    expect((await lost).relayNodeId).toBe(r.id.nodeId);
    const second = await again;
    expect(second.relayVia).not.toBe(first.relayVia);
    expect((await fw.relayStatus()).registration?.relayVia).toBe(second.relayVia);
    await until('one live tunnel on the relay', async () => (await r.relayStatus()).serving.tunnels === 1);

    // The firewalled node's own relay actor restarts: its old tunnel is closed rather than left open beside the new one.
    const third = nextEvent(fw, 'RelayRegistered', 30_000);
    await fw.debug.crashActor('relay', 'throw');
    await until('the client relay actor restarted', async () => restarts(fw) === 1);
    expect((await third).relayNodeId).toBe(r.id.nodeId);
    await sleep(500);
    await until('still one live tunnel on the relay', async () => (await r.relayStatus()).serving.tunnels === 1);
  });

  it('finds a relay through the DHT rendezvous keys', async () => {
    const hub = await start();
    const relay = await start({ capabilities: { relay: true }, bootstrap: hub.addresses(), relayService: { announceIntervalMs: 1_000 } });
    const fw = await start({ listen: null, relays: [], bootstrap: hub.addresses(), relayClient: FAST_CLIENT });
    const found = await until('the relay from the DHT', async () => (await fw.relayStatus()).candidates.find((c) => c.nodeId === relay.id.nodeId && c.sources.includes('dht')));
    expect(found.addr).toMatch(/^tcp:\/\//);
    const reg = await until('a registration', async () => (await fw.relayStatus()).registration);
    expect(reg.relayNodeId).toBe(relay.id.nodeId);
    // A relay passes on what it knows: RELAY_LIST answers hold its own announcement (the firewalled node asks it).
    await until('the relay named by a relay list', async () =>
      (await fw.relayStatus()).candidates.some((c) => c.nodeId === relay.id.nodeId && c.sources.includes('relay-list')),
    );
  }, 90_000);
});
