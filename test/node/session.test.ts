/**
 * The session actor with real nodes on loopback: TLS and QUIC sessions, PEX spreading peers, the request path
 * both ways (outbound `request`, inbound routing to the owning actor), refusals that leave the node serving
 * others (wrong identity, garbage), and a clean stop (a child process that ends by itself).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import { systemClock } from '../../src/actors/runtime/clock.js';
import { DEFAULT_LIMITS, Supervisor } from '../../src/supervisor.js';
import type { NodeEvent } from '../../src/messages/node-events.js';
import type { PeerAddr } from '../../src/protocol/peer-addr.js';
import { MessageType } from '../../src/protocol/registry.js';
import { pexOfferCodec, pexRequestCodec } from '../../src/protocol/pex.js';
import { getChunkCodec } from '../../src/protocol/transfer-messages.js';
import { ScpError } from '../../src/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-sess-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nodes: Node[] = [];
const sups: Supervisor[] = [];
afterEach(async () => {
  const crashed = nodes.flatMap((n) => n.health().actors.filter((a) => a.name === 'session' && a.restarts > 0).map((a) => a.lastError));
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
  await Promise.all(sups.splice(0).map((s) => s.stop().catch(() => {})));
  expect(crashed, 'the session actor crashed').toEqual([]);
});
afterAll(async () => {
  await sleep(10);
});

async function start(opts: Partial<Parameters<typeof Node.start>[0]> = {}): Promise<Node> {
  const n = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: 0 }, host: '127.0.0.1', ...opts });
  nodes.push(n);
  return n;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const knows = async (n: Node, other: Node, connected = false) =>
  (await n.peers()).some((p) => p.nodeId === other.id.nodeId && (!connected || p.connected));

function addrOf(n: Node, scheme: 'tcp' | 'quic'): string {
  const a = n.addresses().find((x) => x.startsWith(`${scheme}://`));
  if (!a) throw new Error(`no ${scheme} address: ${n.addresses().join(' ')}`);
  return a;
}

function peerAddr(url: string, pubkeyHex?: string): PeerAddr {
  const m = /^(tcp|quic):\/\/([\d.]+):(\d+)$/.exec(url)!;
  return { ip: m[2]!, port: Number(m[3]), transport: m[1] as 'tcp' | 'quic', pubkeyHint: pubkeyHex ? new Uint8Array(Buffer.from(pubkeyHex, 'hex')) : null };
}

describe('session: two worker-mode nodes', () => {
  it('connect over TLS and over QUIC, list each other, emit PeerConnected, and reuse the session', async () => {
    const a = await start();
    const b = await start();
    const events: NodeEvent[] = [];
    a.events$.subscribe((e) => events.push(e));
    expect(a.addresses()).toEqual(expect.arrayContaining([expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/), expect.stringMatching(/^quic:\/\/127\.0\.0\.1:\d+$/)]));

    const viaTcp = await b.connect(addrOf(a, 'tcp'));
    expect(viaTcp).toMatchObject({ nodeId: a.id.nodeId, pubkey: a.id.nodePubkey, connected: true, transport: 'tcp', relayed: false });
    expect(viaTcp.capabilities).toMatchObject({ dht: true });
    await until('A to list B', () => knows(a, b, true));
    const again = await b.connect(`${addrOf(a, 'tcp')}@${a.id.nodePubkey}`);
    expect(again.nodeId).toBe(a.id.nodeId);
    // B's own listen addresses reached A through PEX_OFFER on connect (never B's ephemeral port).
    const bOnA = (await a.peers()).find((p) => p.nodeId === b.id.nodeId)!;
    expect(bOnA.addresses).toEqual(expect.arrayContaining(b.addresses()));
    await until('PeerConnected on A', () => events.some((e) => e.type === 'PeerConnected' && e.nodeId === b.id.nodeId));

    const c = await start({ listen: { tcp: null, quic: 0 } });
    const viaQuic = await c.connect(addrOf(a, 'quic'));
    expect(viaQuic).toMatchObject({ nodeId: a.id.nodeId, connected: true, transport: 'quic' });
    await until('A to list C', () => knows(a, c, true));
  });

  it('refuses a wrong expected identity with a reason, and garbage, while serving others', async () => {
    const a = await start();
    const b = await start();
    const wrong = 'ab'.repeat(32);
    const err = await b.connect(`${addrOf(a, 'tcp')}@${wrong}`).catch((e: unknown) => e as ScpError);
    expect(err).toBeInstanceOf(Error);
    expect((err as ScpError).code).toBe('PROTOCOL');
    expect((err as Error).message).toMatch(/handshake/i);

    // A raw TLS client that sends junk (an oversize length prefix, then bytes) is dropped silently.
    const port = Number(addrOf(a, 'tcp').split(':').pop());
    const closed = await new Promise<boolean>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5]));
      });
      s.on('error', () => {});
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 5_000);
    });
    expect(closed).toBe(true);
    // And one that sends a valid-length but undecodable hello.
    await new Promise<void>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        s.write(Buffer.from([0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]));
      });
      s.on('error', () => {});
      s.on('close', () => resolve());
    });

    const ok = await b.connect(addrOf(a, 'tcp'));
    expect(ok.nodeId).toBe(a.id.nodeId);
    expect(a.health().actors.find((x) => x.name === 'session')!.restarts).toBe(0);
  });

  it('a dial expecting the wrong identity does not fail a concurrent dial of the same address', async () => {
    const a = await start();
    const b = await start();
    const wrong = 'cd'.repeat(32);
    // Both dials start before either settles: the second used to share the first (same address) and got its
    // pubkey_mismatch refusal, which is what the peer DB's background dial of a wrongly hinted address did.
    const [bad, good] = await Promise.allSettled([b.connect(`${addrOf(a, 'tcp')}@${wrong}`), b.connect(addrOf(a, 'tcp'))]);
    expect(bad.status).toBe('rejected');
    expect(((bad as PromiseRejectedResult).reason as ScpError).code).toBe('PROTOCOL');
    expect(good.status).toBe('fulfilled');
    expect((good as PromiseFulfilledResult<{ nodeId: string }>).value.nodeId).toBe(a.id.nodeId);
    // And the other way round: a dial expecting the right identity is not satisfied by the wrong one's refusal.
    const c = await start();
    const [bad2, good2] = await Promise.allSettled([c.connect(`${addrOf(a, 'tcp')}@${wrong}`), c.connect(`${addrOf(a, 'tcp')}@${a.id.nodePubkey}`)]);
    expect(bad2.status).toBe('rejected');
    expect(good2.status).toBe('fulfilled');
  });

  it('carries requests: outbound through `request`, inbound routed to the owner (PEX to the session, GET_CHUNK to the fetcher)', async () => {
    const a = await start();
    // A narrowed client node: persistence + session, so the test can talk to its session mailbox.
    const dataDir = tmp();
    const sup = new Supervisor({
      dataDir,
      mode: 'worker',
      clock: systemClock,
      seed: 7,
      limits: DEFAULT_LIMITS,
      actors: ['persistence', 'session'],
      actorConfig: { session: { listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: [] } },
    });
    sups.push(sup);
    await sup.start();
    const to = peerAddr(addrOf(a, 'tcp'), a.id.nodePubkey);
    const pex = await sup.request('session', { type: 'request', to, messageType: MessageType.PEX_REQUEST, payload: pexRequestCodec.encode({ maxPeers: 64 }) });
    expect(pex.from).toMatchObject({ nodeId: a.id.nodeId, transport: 'tcp', relayed: false });
    expect(Array.isArray(pexOfferCodec.decode(pex.payload).peers)).toBe(true); // the requester itself is never offered back

    const chunk = getChunkCodec.encode({ contentId: new Uint8Array(32).fill(9), chunkIndex: 0 });
    const e = await sup.request('session', { type: 'request', to, messageType: MessageType.GET_CHUNK, payload: chunk }).catch((x: unknown) => x as ScpError);
    expect((e as ScpError).code).toBe('REMOTE');

    // Pipelined on one session: many at once, all answered.
    const many = await Promise.all(
      Array.from({ length: 50 }, () => sup.request('session', { type: 'request', to, messageType: MessageType.PEX_REQUEST, payload: pexRequestCodec.encode({ maxPeers: 4 }) })),
    );
    expect(many).toHaveLength(50);
    const peers = await sup.request('session', { type: 'peers' });
    expect(peers.filter((p) => p.connected && p.nodeId === a.id.nodeId)).toHaveLength(1);

    const unreachable = await sup
      .request('session', { type: 'request', to: { ip: '127.0.0.1', port: 1, transport: 'tcp', pubkeyHint: null }, messageType: MessageType.PEX_REQUEST, payload: pexRequestCodec.encode({ maxPeers: 4 }) })
      .catch((x: unknown) => x as ScpError);
    expect((unreachable as ScpError).code).toBe('UNREACHABLE');
  });

  it('a TLS and a QUIC session to one node: requests travel on the transport the policy prefers, not on the less loaded', async () => {
    const a = await start();
    for (const policy of ['prefer-tcp', 'prefer-quic'] as const) {
      // Both of A's addresses as bootstrap, without its key: the client dials both at once (as `--bootstrap`
      // with the alternate-transport rule does), so it holds a TLS and a QUIC session to one identity. (A says
      // PeerConnected once per identity, so the second session shows only in which transport answers.)
      const sup = new Supervisor({
        dataDir: tmp(),
        mode: 'worker',
        clock: systemClock,
        seed: 11,
        limits: DEFAULT_LIMITS,
        actors: ['persistence', 'session'],
        actorConfig: { session: { listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: [addrOf(a, 'tcp'), addrOf(a, 'quic')], transportPolicy: policy } },
      });
      sups.push(sup);
      await sup.start();
      await until('the client to reach A', async () => (await sup.request('session', { type: 'peers' })).some((p) => p.nodeId === a.id.nodeId && p.connected));
      await sleep(1_000); // the other bootstrap dial settles
      const ask = (scheme: 'tcp' | 'quic') =>
        sup.request('session', { type: 'request', to: peerAddr(addrOf(a, scheme), a.id.nodePubkey), messageType: MessageType.PEX_REQUEST, payload: pexRequestCodec.encode({ maxPeers: 4 }) });
      // Many at once, to either address: spreading them by load would put about half on the other session.
      const many = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(i % 2 ? 'quic' : 'tcp')));
      expect(new Set(many.map((m) => m.from.transport))).toEqual(new Set([policy === 'prefer-tcp' ? 'tcp' : 'quic']));
    }
  });

  it('persists the peer DB and restores it on the next start', async () => {
    const a = await start();
    const dataDir = tmp();
    const b1 = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1' });
    await b1.connect(addrOf(a, 'tcp'));
    await b1.stop();
    const b2 = await start({ dataDir, listen: { tcp: 0, quic: null } });
    // Restored and redialed (a known peer below the target count).
    await until('B to reconnect to A from its peer DB', () => knows(b2, a, true));
  });
});

describe('session: five nodes', () => {
  it('spread through PEX over TLS and QUIC until everyone knows everyone', async () => {
    const [hub, ...rest] = await Promise.all(Array.from({ length: 5 }, (_, i) => start({ transportPolicy: i % 2 ? 'prefer-quic' : 'prefer-tcp' })));
    await Promise.all(rest.map((n, i) => n.connect(addrOf(hub!, i % 2 ? 'quic' : 'tcp'))));
    const all = [hub!, ...rest];
    await until('every node to know the four others', async () => {
      for (const n of all) for (const m of all) if (n !== m && !(await knows(n, m))) return false;
      return true;
    }, 20_000);
  });
});

describe('session: stop', () => {
  it('leaves no open handles: a process that starts, connects and stops two nodes exits by itself', async () => {
    const script = `
      const { Node } = await import(${JSON.stringify(path.join(root, 'dist/index.js'))});
      const fs = await import('node:fs'); const os = await import('node:os'); const path = await import('node:path');
      const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-sess-child-'));
      const a = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: 0 }, host: '127.0.0.1' });
      const b = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: 0 }, host: '127.0.0.1' });
      await b.connect(a.addresses().find((x) => x.startsWith('tcp://')));
      await b.connect(a.addresses().find((x) => x.startsWith('quic://')));
      await b.stop(); await a.stop();
      console.log('stopped');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(-1);
      }, 30_000);
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect(out).toContain('stopped');
    expect(code).toBe(0);
  });
});
