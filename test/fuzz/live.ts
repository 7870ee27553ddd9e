/**
 * Fuzzing a live node over TLS: hostile clients complete a genuine handshake (a ConnectionCore initiator over
 * node:tls), then write the campaign's random and mutated frames straight to the socket, with TCP backpressure
 * and no waiting for answers; a few connections send a mutated handshake message instead. After each
 * connection the node's health is read: a session restart is a crash, and that connection's inputs are saved
 * as a regression case (replayed in process by regressions.test.ts).
 */
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { createRandom, type Random } from '../../src/actors/runtime/random.js';
import { ConnectionCore } from '../../src/actors/session/connection-core.js';
import { toHex } from '../../src/protocol/bytes.js';
import { FrameReader } from '../../src/protocol/frame.js';
import { NO_CAPABILITIES } from '../../src/protocol/peer-addr.js';
import type { Node } from '../../src/index.js';
import { nextInputs, saveRegression, type Regression } from './campaign.js';
import type { Corpus } from './corpus.js';
import { mutateBytes, prefixed } from './mutate.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

export interface LiveResult {
  frames: number;
  connections: number;
  handshakeMessages: number;
  /** Answer frames the node sent back (error envelopes included). */
  answers: number;
  /** Connections the node closed before we ended them (a typed, silent close after a bad frame). */
  closedByNode: number;
  crashes: Regression[];
  ms: number;
}

interface Hostile {
  sock: tls.TLSSocket;
  closed: Promise<void>;
  isClosed(): boolean;
  answers(): number;
}

/** A TLS connection to `port`, through a genuine SCP2P handshake unless `hello` replaces our ClientHello. */
async function hostileConnect(port: number, hello?: Uint8Array): Promise<Hostile | undefined> {
  const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
  let isClosed = false;
  const closed = new Promise<void>((resolve) => sock.once('close', () => ((isClosed = true), resolve())));
  sock.on('error', () => {});
  const ok = await new Promise<boolean>((resolve) => {
    sock.once('secureConnect', () => resolve(true));
    sock.once('close', () => resolve(false));
  });
  if (!ok) return undefined;
  const core = new ConnectionCore({ randomBytes: rnd }, { role: 'initiator', nodeSeed: rnd(32), capabilities: NO_CAPABILITIES });
  const reader = new FrameReader(4 * 1024 * 1024, 'answer');
  let answers = 0;
  let established = false;
  const flush = (): void => {
    for (let t = core.pollTransmit(); t; t = core.pollTransmit()) sock.write(t);
  };
  const result = new Promise<boolean>((resolve) => {
    sock.on('data', (d: Buffer) => {
      if (established) {
        try {
          reader.push(new Uint8Array(d.buffer, d.byteOffset, d.length));
          while (reader.pull()) answers++;
        } catch {
          // an answer we cannot frame would be a node bug; the count simply stops
        }
        return;
      }
      core.handle({ kind: 'bytes', data: new Uint8Array(d) }, Date.now());
      flush();
      for (let e = core.pollEffect(); e; e = core.pollEffect()) {
        if (e.kind === 'established') {
          established = true;
          resolve(true);
        } else if (e.kind === 'close') resolve(false);
      }
    });
    void closed.then(() => resolve(false));
  });
  if (hello) {
    sock.write(hello);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 200))]);
    return { sock, closed, isClosed: () => isClosed, answers: () => answers };
  }
  core.start(Date.now());
  flush();
  if (!(await result)) {
    sock.destroy();
    return undefined;
  }
  return { sock, closed, isClosed: () => isClosed, answers: () => answers };
}

async function write(h: Hostile, b: Uint8Array): Promise<void> {
  if (h.isClosed()) return;
  if (h.sock.write(b)) return;
  await Promise.race([new Promise((r) => h.sock.once('drain', r)), h.closed]);
}

export interface LiveOptions {
  node: Node;
  corpus: Corpus;
  frames: number;
  seed: number;
  save?: boolean;
  log?: (line: string) => void;
}

export async function fuzzLiveNode(opts: LiveOptions): Promise<LiveResult> {
  const started = Date.now();
  const r: Random = createRandom(`live-${opts.seed}`);
  const tcp = opts.node.addresses().find((a) => a.startsWith('tcp://'));
  if (!tcp) throw new Error('the live node has no TCP address');
  const port = Number(tcp.split(':').pop());
  const restarts = (): number => opts.node.health().actors.reduce((n, a) => n + a.restarts, 0);
  const res: LiveResult = { frames: 0, connections: 0, handshakeMessages: 0, answers: 0, closedByNode: 0, crashes: [], ms: 0 };
  const hs = opts.corpus.handshake.clientHello[0]!;
  while (res.frames < opts.frames) {
    const before = restarts();
    const inputs: Uint8Array[] = [];
    let h: Hostile | undefined;
    if (r.int(50) === 0) {
      // A mutated ClientHello (the recorded one, signed for another time: most fail on their own merits).
      const hello = prefixed(mutateBytes(r, hs, hs));
      inputs.push(hello);
      res.handshakeMessages++;
      h = await hostileConnect(port, hello);
    } else {
      h = await hostileConnect(port);
      const n = 1 + r.int(40);
      for (let i = 0; h && i < n && !h.isClosed() && res.frames < opts.frames; i++) {
        for (const b of nextInputs(r, opts.corpus)) {
          inputs.push(b);
          await write(h, b);
        }
        res.frames++;
      }
    }
    res.connections++;
    if (h) {
      // Let the answers come back (until none arrived for 150 ms) before hanging up.
      for (let last = -1, quiet = 0; !h.isClosed() && quiet < 150; ) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        quiet = h.answers() === last ? quiet + 25 : 0;
        last = h.answers();
      }
      if (h.isClosed()) res.closedByNode++;
      else h.sock.end();
      await Promise.race([h.closed, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      h.sock.destroy();
      res.answers += h.answers();
    }
    if (restarts() !== before) {
      const crash: Regression = { kind: 'connection', seed: opts.seed, error: `live node restarted an actor: ${JSON.stringify(opts.node.health().actors.filter((a) => a.restarts > 0))}`, inputs: inputs.map(toHex), complete: true };
      res.crashes.push(crash);
      if (opts.save ?? true) saveRegression(crash);
    }
    if (res.connections % 50 === 0) opts.log?.(`live fuzz: ${res.frames} frames, ${res.connections} connections, ${res.crashes.length} crashes`);
  }
  res.ms = Date.now() - started;
  return res;
}
