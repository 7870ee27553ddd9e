/**
 * One live-node fuzz run end to end: a worker-mode node on loopback with its rate limits raised by config
 * (`rateLimits`), publishing a real file; the hostile clients of live.ts; then an honest second node that
 * downloads the file from it and checks every byte, and the node's health (no actor restarted).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Node } from '../../src/index.js';
import { fromHex } from '../../src/protocol/bytes.js';
import { buildCorpus } from './corpus.js';
import { fuzzLiveNode, type LiveResult } from './live.js';
import { fullGc } from './gc.js';

export interface LiveRunResult extends LiveResult {
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  honestDownload: { bytes: number; ms: number; identical: boolean };
  restarts: number;
  nodeState: string;
  /** Why the node closed the hostile connections (PeerDisconnected reasons). */
  closeReasons: Record<string, number>;
}

const RAISED = { total: 10_000_000, dht: 10_000_000, fetch: 10_000_000, relay: 10_000_000, chunk: 10_000_000, other: 10_000_000 };
/** The fuzzer's frames must reach the decoders: no abuse cut-off, no per-IP accept budget (0 = off). */
const OPEN_DOORS = { abuseRefusals: 0, acceptBurstPerIp: 0 };

function mem(): { rss: number; heap: number } {
  fullGc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

export async function runLiveFuzz(opts: { frames: number; seed: number; fileBytes?: number; log?: (l: string) => void }): Promise<LiveRunResult> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-fuzz-live-'));
  const nodes: Node[] = [];
  try {
    const a = await Node.start({ dataDir: path.join(root, 'a'), listen: { tcp: 0, quic: null }, host: '127.0.0.1', rateLimits: RAISED, connectionLimits: OPEN_DOORS });
    nodes.push(a);
    const closeReasons = new Map<string, number>();
    a.events$.subscribe((e) => {
      if (e.type === 'PeerDisconnected') closeReasons.set(e.reason, (closeReasons.get(e.reason) ?? 0) + 1);
    });
    const file = path.join(root, 'served.bin');
    const bytes = new Uint8Array(opts.fileBytes ?? 3 * 1024 * 1024 + 777);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + (i >>> 11)) & 0xff;
    fs.writeFileSync(file, bytes);
    const pub = await a.publishFiles([file], { title: 'fuzz target', visibility: 'public' });
    const [item] = await a.listShareItems(pub.shareId);
    if (!item) throw new Error('published item missing');
    const corpus = buildCorpus({ manifestId: fromHex(pub.manifestId, 32), contentId: fromHex(item.contentId, 32), shareId: fromHex(pub.shareId, 32) }, opts.seed);

    const m0 = mem();
    const res = await fuzzLiveNode({ node: a, corpus, frames: opts.frames, seed: opts.seed, ...(opts.log ? { log: opts.log } : {}) });
    const m1 = mem();

    // An honest peer afterwards: a fresh node downloads the published file from A and gets every byte.
    const b = await Node.start({ dataDir: path.join(root, 'b'), listen: { tcp: 0, quic: null }, host: '127.0.0.1' });
    nodes.push(b);
    const out = path.join(root, 'downloaded.bin');
    const t0 = Date.now();
    await b.downloadContent(item.contentId, out, { peers: [a.addresses().find((x) => x.startsWith('tcp://'))!], timeoutMs: 60_000 });
    const got = fs.readFileSync(out);
    const health = a.health();
    return {
      ...res,
      rssBefore: m0.rss,
      rssAfter: m1.rss,
      heapBefore: m0.heap,
      heapAfter: m1.heap,
      honestDownload: { bytes: got.length, ms: Date.now() - t0, identical: Buffer.compare(got, Buffer.from(bytes)) === 0 },
      restarts: health.actors.reduce((n, x) => n + x.restarts, 0),
      closeReasons: Object.fromEntries(closeReasons),
      nodeState: health.state,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
    fs.rmSync(root, { recursive: true, force: true });
  }
}
