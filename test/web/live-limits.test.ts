/**
 * Operators' view of two real loopback nodes (worker threads, as `scp2p start` runs them): a download slowed
 * by a cap lowered mid-transfer and sped up again when it is lifted (bytes measured over windows, generous
 * bounds for a loaded 2-core machine), /metrics with non-zero chunk, byte and DHT series after the transfer,
 * mailbox depth in health and in /metrics, maxConnections refusing a third peer, and limits that survive an
 * actor restart — seen in the restarted worker's own log line, which reaches the node's pino logger.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Node } from '../../src/node.js';

const MiB = 1 << 20;
const FILE_BYTES = 40 * MiB;
const base = mkdtempSync(join(tmpdir(), 'scp2p-live-limits-'));
const nodes: Node[] = [];
let a: Node;
let b: Node;
let shareId: string;
const src = join(base, 'share');

async function start(name: string, extra: Partial<Parameters<typeof Node.start>[0]> = {}): Promise<Node> {
  const n = await Node.start({ dataDir: join(base, name), listen: { tcp: 0, quic: null }, host: '127.0.0.1', web: { port: 0 }, ...extra });
  nodes.push(n);
  return n;
}

async function metricsOf(n: Node): Promise<string> {
  const origin = new URL(n.webUrl()).origin;
  return (await fetch(`${origin}/metrics`)).text();
}

/** Sum of every sample of a series (all label sets). */
function series(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function bytesDone(n: Node): Promise<number> {
  return (await n.listDownloads()).reduce((s, d) => s + Number(d.bytesDone), 0);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port that was free a moment ago (a restarted session listens on the same one). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

beforeAll(async () => {
  mkdirSync(src, { recursive: true });
  const block = randomBytes(MiB);
  const parts: Buffer[] = [];
  for (let i = 0; i < FILE_BYTES / MiB; i++) parts.push(Buffer.concat([Buffer.from([i]), block.subarray(1)]));
  writeFileSync(join(src, 'big.bin'), Buffer.concat(parts));
  a = await start('a');
  b = await start('b', { bootstrap: a.addresses() });
  shareId = (await a.publishFolder(src, { title: 'live limits', visibility: 'private' })).shareId;
  await b.subscribe(shareId);
  await b.syncSubscriptions();
}, 120_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
  rmSync(base, { recursive: true, force: true });
});

describe('limits applied live, metrics and health between two loopback nodes', () => {
  it('a cap lowered mid-transfer slows the running download; lifting it lets it finish; bytes verified', async () => {
    const first = await b.setLimits({ maxDownloadBps: 8 * MiB });
    expect(first.applied.map((x) => x.actor)).toEqual(['session', 'fetcher', 'relay']);
    expect(first.unsupported).toEqual([]);
    const dest = join(base, 'dest');
    const done = b.downloadItems(shareId, 'all', dest, { timeoutMs: 120_000 });
    // Let it get going at 8 MiB/s, then measure a window.
    const t0 = Date.now();
    while ((await bytesDone(b)) < 2 * MiB && Date.now() - t0 < 30_000) await sleep(50);
    const fetcher = b.health().actors.find((x) => x.name === 'fetcher');
    expect(fetcher?.mailboxDepth).toBeGreaterThanOrEqual(1); // downloadItems is in there until it is done
    let w0 = await bytesDone(b);
    let s0 = Date.now();
    await sleep(1_500);
    const fastBps = ((await bytesDone(b)) - w0) / ((Date.now() - s0) / 1000);

    await b.setLimits({ maxDownloadBps: MiB });
    await sleep(800); // chunks already asked for still arrive
    w0 = await bytesDone(b);
    s0 = Date.now();
    await sleep(2_500);
    const slowBytes = (await bytesDone(b)) - w0;
    const slowBps = slowBytes / ((Date.now() - s0) / 1000);
    expect(slowBytes).toBeLessThan(FILE_BYTES); // still running
    expect(slowBps).toBeLessThanOrEqual(1.75 * MiB); // 1 MiB/s + a burst chunk + timer slack
    expect(slowBps).toBeGreaterThanOrEqual(0.25 * MiB); // slowed, not stopped
    expect(fastBps).toBeGreaterThan(2 * slowBps);

    const lifted = Date.now();
    await b.setLimits({ maxDownloadBps: null });
    const recs = await done;
    const tailMs = Date.now() - lifted;
    expect(recs.map((r) => r.state)).toEqual(['completed']);
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(sha(join(dest, 'big.bin'))).toBe(sha(join(src, 'big.bin')));
    console.log(`[live-limits] capped 8 MiB/s: ${(fastBps / MiB).toFixed(2)} MiB/s; capped 1 MiB/s: ${(slowBps / MiB).toFixed(2)} MiB/s; rest after lifting: ${tailMs} ms`);
  });

  it("the seeder's upload cap holds a downloader to it; lifting it lets the download finish", async () => {
    await a.setLimits({ perPeerUploadBps: 2 * MiB });
    const dest = join(base, 'dest-upload');
    const done = b.downloadItems(shareId, 'all', dest, { timeoutMs: 120_000 });
    const progress = async () => (await b.listDownloads()).filter((d) => d.path.startsWith(dest)).reduce((s, d) => s + Number(d.bytesDone), 0);
    await sleep(1_000);
    const w0 = await progress();
    const s0 = Date.now();
    await sleep(2_500);
    const bps = ((await progress()) - w0) / ((Date.now() - s0) / 1000);
    expect(bps).toBeLessThanOrEqual(3 * MiB);
    expect(bps).toBeGreaterThanOrEqual(0.5 * MiB);
    await a.setLimits({ perPeerUploadBps: null });
    expect((await done).map((r) => r.state)).toEqual(['completed']);
    console.log(`[live-limits] seeder capped at 2 MiB/s per peer: downloader saw ${(bps / MiB).toFixed(2)} MiB/s`);
  });

  it('/metrics shows chunk, byte and DHT series from the actors, and mailbox depth per actor', async () => {
    let mb = '';
    let ma = '';
    // TransferStats are batched (≤ 250 ms): poll briefly until both sides have reported.
    for (let i = 0; i < 40; i++) {
      [mb, ma] = await Promise.all([metricsOf(b), metricsOf(a)]);
      if (series(mb, 'scp2p_bytes_received_total') >= 2 * FILE_BYTES && series(ma, 'scp2p_bytes_sent_total') >= 2 * FILE_BYTES) break;
      await sleep(100);
    }
    expect(series(mb, 'scp2p_chunks_verified_total')).toBeGreaterThanOrEqual(FILE_BYTES / (256 * 1024));
    expect(series(mb, 'scp2p_bytes_received_total')).toBeGreaterThanOrEqual(FILE_BYTES);
    expect(series(mb, 'scp2p_chunks_rejected_total')).toBe(0);
    expect(series(ma, 'scp2p_chunks_served_total')).toBeGreaterThanOrEqual(FILE_BYTES / (256 * 1024));
    expect(series(ma, 'scp2p_bytes_sent_total')).toBeGreaterThanOrEqual(FILE_BYTES);
    expect(series(mb, 'scp2p_dht_lookups_total')).toBeGreaterThan(0); // share head and providers lookups
    expect(series(mb, 'scp2p_dht_lookup_duration_seconds_count')).toBe(series(mb, 'scp2p_dht_lookups_total'));
    expect(series(mb, 'scp2p_downloads_total', 'result="completed"')).toBe(2);
    for (const actor of ['persistence', 'session', 'dht', 'fetcher', 'relay', 'index']) {
      expect(mb).toMatch(new RegExp(`^scp2p_actor_mailbox_depth\\{actor="${actor}"\\} \\d+$`, 'm'));
    }
    for (const h of b.health().actors) expect(h.mailboxDepth).toBeGreaterThanOrEqual(0);
  });

  it('maxConnections refuses a further peer; the limit survives a session restart (its worker logs it)', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    const c = await start('c', { listen: { tcp: await freePort(), quic: null }, logger: createLogger({ level: 'info', destination: sink }), limits: { maxConnections: 1 } });
    const d = await start('d');
    const e = await start('e');
    await d.connect(c.addresses()[0]!, { timeoutMs: 10_000 });
    await expect(e.connect(c.addresses()[0]!, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: expect.stringMatching(/^(IO|UNREACHABLE|TIMEOUT|PROTOCOL)$/) });
    await expect(c.connect(e.addresses()[0]!, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'LIMIT' });

    // Restart the session actor: the node re-sends the limits, and the new incarnation says so in its own log.
    const restarted = new Promise<void>((resolve) => {
      const sub = c.events$.subscribe((ev) => {
        if (ev.type === 'ActorRestarted' && ev.actor === 'session') {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    await c.debug.crashActor('session', 'throw');
    await restarted;
    const t0 = Date.now();
    const applied = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.actor === 'session' && l.msg === 'limits applied' && l.incarnation === 2);
    while (!applied() && Date.now() - t0 < 15_000) await sleep(50);
    expect(applied()).toMatchObject({ level: 'info', actor: 'session', incarnation: 2, maxConnections: 1, nodeId: c.id.nodeId.slice(0, 16) });
    // Debug lines stay out at level info, from workers too.
    expect(lines.some((l) => (JSON.parse(l) as { level: string }).level === 'debug')).toBe(false);
    // e knows c's address from its refused attempt, and its maintenance redials known peers in the background: after
    // the restart that redial could take c's one slot before d does (seen under load). A fresh node f instead.
    await e.stop();
    const f = await start('f');
    await d.connect(c.addresses()[0]!, { timeoutMs: 10_000 });
    await expect(f.connect(c.addresses()[0]!, { timeoutMs: 5_000 })).rejects.toBeTruthy();

    await c.setLimits({ maxConnections: null });
    const peer = await f.connect(c.addresses()[0]!, { timeoutMs: 10_000 });
    expect(peer.nodeId).toBe(c.id.nodeId);
  });
});
