/**
 * Serve threads (NodeConfig.serveThreads): a seeder whose inbound connections are spread over extra event loops
 * sharing its listening socket still serves every downloader the right bytes, the extra threads do take
 * connections, and stop() ends them without leaving the node's port dead or open.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import { nodeTestDirs } from './node-test-helpers.js';

const { nodes, tmp } = nodeTestDirs('scp2p-serve-');

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Nothing accepts on the port any more (no serve thread left holding a socket on it). */
function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', () => resolve(true));
  });
}

describe('serve threads', () => {
  it('three downloaders fetch a file from a seeder serving on 3 event loops; bytes verified; stop frees the port', async () => {
    const src = tmp('scp2p-serve-src-');
    const data = Buffer.alloc(3 * 1024 * 1024 + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    fs.writeFileSync(path.join(src, 'blob.bin'), data);

    const seeder = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', serveThreads: 3 });
    nodes.push(seeder);
    const pub = await seeder.publishFiles([path.join(src, 'blob.bin')], { title: 'serve', visibility: 'private' });
    const downloaders = await Promise.all(
      [0, 1, 2].map(() => Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: seeder.addresses(), actorMode: 'inline' })),
    );
    nodes.push(...downloaders);
    await Promise.all(
      downloaders.map(async (d) => {
        await d.subscribe(pub.shareId);
        await d.syncSubscriptions();
        const dest = tmp('scp2p-serve-dest-');
        await d.downloadItems(pub.shareId, 'all', dest);
        expect(sha(fs.readFileSync(path.join(dest, 'blob.bin')))).toBe(sha(data));
      }),
    );
    let status = await seeder.status();
    expect(status.serve?.threads).toBe(2);
    // Every chunk, on whichever loop it was asked, was read by the session (chunk-server.ts), none by the fetcher.
    expect(status.serve?.chunksServedBySession).toBe(3 * Math.ceil(data.length / (256 * 1024)));
    // The kernel hands each new connection to whichever of the 3 loops accepts first. Should all of them have
    // gone to the session's own loop, a few more peers connect (one at a time) until a serve thread answered.
    for (let i = 0; i < 8 && (status.serve?.requests ?? 0) === 0; i++) {
      const extra = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline' });
      await extra.connect(seeder.addresses()[0] as string, { timeoutMs: 10_000 }).catch(() => undefined);
      await extra.listPublicSharesFromPeers({ timeoutMs: 10_000 }).catch(() => undefined);
      await extra.stop();
      status = await seeder.status();
    }
    expect(status.serve?.requests).toBeGreaterThan(0);

    const port = Number(new URL(seeder.addresses()[0] as string).port);
    await seeder.stop();
    nodes.splice(nodes.indexOf(seeder), 1);
    expect(await portRefuses(port)).toBe(true);
  });

  it('start/stop cycles while sockets open and close in the same process: each cycle serves, then frees the port', async () => {
    // Serve threads once shared the session's descriptor; a second close could then land on a number reused by
    // another socket of the process. Churning sockets beside the cycles gives such reuse every chance.
    const churn = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
    await new Promise((r) => churn.once('listening', r));
    const churnPort = (churn.address() as net.AddressInfo).port;
    let churning = true;
    const churner = (async () => {
      while (churning) {
        await new Promise<void>((r) => {
          const c = net.connect(churnPort, '127.0.0.1', () => c.destroy());
          c.once('close', () => r());
          c.once('error', () => r());
        });
      }
    })();
    try {
      for (let cycle = 0; cycle < 5; cycle++) {
        const seeder = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', serveThreads: 3, actorMode: 'inline' });
        const port = Number(new URL(seeder.addresses()[0] as string).port);
        const peers = await Promise.all([0, 1, 2].map(() => Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline' })));
        const answered = await Promise.all(peers.map((p) => p.connect(seeder.addresses()[0] as string, { timeoutMs: 10_000 }).then(() => true, () => false)));
        expect(answered).toEqual([true, true, true]);
        expect((await seeder.status()).serve?.threads).toBe(2);
        await seeder.stop();
        await Promise.all(peers.map((p) => p.stop()));
        expect(await portRefuses(port), `cycle ${cycle}: the port still accepts after stop()`).toBe(true);
      }
    } finally {
      churning = false;
      await churner;
      churn.close();
    }
  }, 120_000);

  it('a second node asked for a port a node with serve threads holds is refused, not let into its group', async () => {
    const first = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', serveThreads: 2, actorMode: 'inline' });
    nodes.push(first);
    const port = Number(new URL(first.addresses()[0] as string).port);
    await expect(Node.start({ dataDir: tmp(), listen: { tcp: port, quic: null }, host: '127.0.0.1', serveThreads: 2, actorMode: 'inline' })).rejects.toThrow(/EADDRINUSE/);
    // The first node still serves on it.
    const peer = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline' });
    nodes.push(peer);
    await peer.connect(first.addresses()[0] as string, { timeoutMs: 10_000 });
    expect((await peer.peers()).some((p) => p.nodeId === first.id.nodeId)).toBe(true);
  });
});
