/**
 * The in-process fuzz campaign: `frames` random and mutated frames through the session's decode and dispatch
 * (target.ts, owners.ts) and `handshakes` mutated handshake messages (each of the three steps), from the
 * corpus (corpus.ts) and the mutators (mutate.ts), all from one printed seed. Any exception or broken bound
 * is saved under test/fuzz/regressions/ with the exact inputs of its connection, and replayed by
 * regressions.test.ts from then on.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRandom, type Random } from '../../src/actors/runtime/random.js';
import type { CloseCode, ConnectionCore } from '../../src/actors/session/connection-core.js';
import { encodeEnvelope, type Envelope } from '../../src/protocol/envelope.js';
import { buildCorpus, RECORD_T0, recordingCore, type Corpus } from './corpus.js';
import { mutateBytes, mutateEnvelope, mutateFrame, prefixed, tryEnvelope } from './mutate.js';
import { InProcessOwners } from './owners.js';
import { InProcessNode, RAISED_RATE_LIMITS, type InProcessConnection } from './target.js';
import { fromHex, toHex } from '../../src/protocol/bytes.js';
import { fullGc } from './gc.js';

export const REGRESSIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'regressions');

export type HandshakeStep = 'client-hello' | 'server-hello' | 'client-ack';

export type Regression =
  | { kind: 'connection'; seed: number; error: string; inputs: string[]; complete: boolean }
  | { kind: 'handshake'; seed: number; error: string; step: HandshakeStep; input: string };

export interface MemorySample {
  heapUsed: number;
  rss: number;
}

export interface CampaignResult {
  seed: number;
  frames: number;
  handshakeMessages: number;
  connections: number;
  answers: number;
  errorAnswers: number;
  closes: Record<string, number>;
  handshakeOutcomes: Record<string, number>;
  findings: Regression[];
  ms: number;
  before: MemorySample;
  after: MemorySample;
}

export function memory(): MemorySample {
  fullGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

/** Saves a finding as a regression case (named by the hash of its content, so reruns do not duplicate it). */
export function saveRegression(r: Regression, dir = REGRESSIONS_DIR): string {
  fs.mkdirSync(dir, { recursive: true });
  const body = JSON.stringify(r, null, 1);
  const file = path.join(dir, `${r.kind}-${createHash('sha256').update(body).digest('hex').slice(0, 12)}.json`);
  fs.writeFileSync(file, body + '\n');
  return file;
}

export function loadRegressions(dir = REGRESSIONS_DIR): Array<{ file: string; r: Regression }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, r: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Regression }));
}

// ---------------------------------------------------------------------------------------------------------
// Frames after the handshake

/** The next input a hostile peer writes: one frame, a frame in pieces, or several frames at once. */
export function nextInputs(r: Random, corpus: Corpus): Uint8Array[] {
  const envs = corpus.envelopes;
  const pick = (): Envelope => envs[r.int(envs.length)]!;
  const encode = (e: Envelope): Uint8Array => {
    try {
      return encodeEnvelope(e);
    } catch {
      return encodeEnvelope({ ...e, payload: e.payload.subarray(0, 1024) });
    }
  };
  // Damage to the envelope or the frame itself ends the connection (a new handshake, ~8 ms here), so it is
  // kept to a few percent; payload-level damage is answered and the connection goes on to the next input.
  const roll = r.int(1000);
  let frame: Uint8Array;
  if (roll < 700) frame = prefixed(encode(mutateEnvelope(r, pick(), pick())));
  else if (roll < 900) frame = prefixed(encode(pick()));
  else if (roll < 920) frame = prefixed(mutateBytes(r, encode(pick()), encode(pick())));
  else if (roll < 935) frame = mutateFrame(r, encode(pick()), encode(pick()));
  else if (roll < 970) {
    // Recorded traffic of both directions; an answer sent to us unasked ends the connection, so mostly as requests.
    const rec = corpus.recorded[r.int(corpus.recorded.length)]!;
    const e = r.int(8) === 0 ? undefined : tryEnvelope(rec);
    frame = prefixed(e ? encode({ ...e, flags: e.flags & ~1 }) : rec);
  }
  else {
    // Several frames in one write, delivered in arbitrary pieces.
    const parts = Array.from({ length: 2 + r.int(4) }, () => prefixed(encode(r.int(2) ? pick() : mutateEnvelope(r, pick(), pick()))));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const out: Uint8Array[] = [];
    for (let i = 0; i < all.length; ) {
      const n = 1 + r.int(Math.max(1, all.length - i));
      out.push(all.subarray(i, i + n));
      i += n;
    }
    return out;
  }
  return [frame];
}

const MAX_KEPT_INPUTS = 512;

async function fuzzFrames(
  r: Random,
  corpus: Corpus,
  node: InProcessNode,
  count: number,
  seed: number,
  findings: Regression[],
  save: boolean,
): Promise<number> {
  let connections = 0;
  let done = 0;
  while (done < count) {
    const conn: InProcessConnection = node.connect();
    connections++;
    const inputs: Uint8Array[] = [];
    let complete = true;
    try {
      while (!conn.closed && done < count) {
        for (const input of nextInputs(r, corpus)) {
          if (inputs.length < MAX_KEPT_INPUTS) inputs.push(input);
          else complete = false;
          await conn.feed(input);
        }
        done++;
        // Virtual time passes now and then (handler, frame and idle timeouts); sometimes the peer hangs up.
        const t = r.int(1000);
        if (t < 5) await conn.advance(1_000 + r.int(60_000));
        else if (t < 6) await conn.eof();
      }
    } catch (err) {
      const finding: Regression = { kind: 'connection', seed, error: String((err as Error).message ?? err), inputs: inputs.map(toHex), complete };
      findings.push(finding);
      if (save) saveRegression(finding);
    }
    node.release(conn);
  }
  return connections;
}

// ---------------------------------------------------------------------------------------------------------
// Handshake messages

const HANDSHAKE_CLOSES = new Set<CloseCode>(['handshake-failed', 'handshake-timeout', 'remote-closed']);

/** Feeds one (possibly mutated) handshake message at the given step; returns the outcome, throws on a crash. */
export function runHandshakeCase(step: HandshakeStep, input: Uint8Array, corpus: Pick<Corpus, 'handshake'>): string {
  let core: ConnectionCore;
  const now = RECORD_T0;
  if (step === 'client-hello') {
    core = recordingCore('responder');
    core.start(now);
  } else if (step === 'server-hello') {
    core = recordingCore('initiator');
    core.start(now);
    while (core.pollTransmit());
  } else {
    core = recordingCore('responder');
    core.start(now);
    core.handle({ kind: 'bytes', data: prefixed(corpus.handshake.clientHello[0]!) }, now);
    while (core.pollTransmit());
  }
  core.handle({ kind: 'bytes', data: input }, now);
  core.handleTimeout(now + 60_000);
  let outcome = core.state as string;
  let established = false;
  for (let e = core.pollEffect(); e; e = core.pollEffect()) {
    if (e.kind === 'established') established = true;
    if (e.kind === 'close') {
      // Bytes after a genuine last message are envelope frames: any typed close is then fine.
      if (!established && !HANDSHAKE_CLOSES.has(e.reason.code)) throw new Error(`handshake ended with close code ${e.reason.code}`);
      outcome = `${e.reason.code}${e.reason.handshakeFailure ? `:${e.reason.handshakeFailure}` : ''}`;
    }
  }
  while (core.pollTransmit());
  if (core.state === 'handshaking') throw new Error('handshake neither finished nor failed after its deadline');
  return outcome;
}

function handshakeInput(r: Random, body: Uint8Array, donor: Uint8Array): Uint8Array {
  switch (r.int(4)) {
    case 0:
      return mutateFrame(r, body, donor);
    case 1:
    case 2:
      return prefixed(mutateBytes(r, body, donor));
    default:
      return prefixed(body); // the genuine message: the success path stays covered
  }
}

function fuzzHandshakes(r: Random, corpus: Corpus, count: number, seed: number, findings: Regression[], outcomes: Map<string, number>, save: boolean): void {
  const steps: HandshakeStep[] = ['client-hello', 'server-hello', 'client-ack'];
  const bodies = { 'client-hello': corpus.handshake.clientHello[0]!, 'server-hello': corpus.handshake.serverHello[0]!, 'client-ack': corpus.handshake.clientAck[0]! };
  for (let i = 0; i < count; i++) {
    const step = steps[i % 3]!;
    const donor = bodies[steps[r.int(3)]!];
    const input = handshakeInput(r, bodies[step], donor);
    try {
      const o = runHandshakeCase(step, input, corpus);
      const key = `${step} → ${o}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    } catch (err) {
      const finding: Regression = { kind: 'handshake', seed, step, error: String((err as Error).message ?? err), input: toHex(input) };
      findings.push(finding);
      if (save) saveRegression(finding);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

export interface CampaignOptions {
  frames: number;
  handshakes: number;
  seed: number;
  /** Save findings under test/fuzz/regressions (default true). */
  save?: boolean;
  /** Progress lines (long runs). */
  log?: (line: string) => void;
}

export async function runInProcessCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const started = Date.now();
  const save = opts.save ?? true;
  const r = createRandom(opts.seed);
  const node0 = await InProcessOwners.create(new Uint8Array(32));
  try {
    const corpus = buildCorpus(node0.data, opts.seed);
    const node = new InProcessNode(node0, { rateLimits: RAISED_RATE_LIMITS });
    const findings: Regression[] = [];
    const outcomes = new Map<string, number>();
    const before = memory();
    const slices = 10;
    let connections = 0;
    for (let s = 0; s < slices; s++) {
      const n = Math.floor(opts.frames / slices) + (s < opts.frames % slices ? 1 : 0);
      connections += await fuzzFrames(r.fork(`frames-${s}`), corpus, node, n, opts.seed, findings, save);
      fuzzHandshakes(r.fork(`hs-${s}`), corpus, Math.floor(opts.handshakes / slices) + (s < opts.handshakes % slices ? 1 : 0), opts.seed, findings, outcomes, save);
      opts.log?.(`fuzz seed ${opts.seed}: ${s + 1}/${slices}: ${node.stats.frames} inputs, ${connections} connections, ${findings.length} findings, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
    }
    const after = memory();
    return {
      seed: opts.seed,
      frames: opts.frames,
      handshakeMessages: opts.handshakes,
      connections,
      answers: node.stats.answers,
      errorAnswers: node.stats.errorAnswers,
      closes: Object.fromEntries(node.stats.closes),
      handshakeOutcomes: Object.fromEntries(outcomes),
      findings,
      ms: Date.now() - started,
      before,
      after,
    };
  } finally {
    node0.close();
  }
}

/** Replays one saved regression; throws if it still crashes. */
export async function replayRegression(reg: Regression): Promise<string> {
  const owners = await InProcessOwners.create(new Uint8Array(32));
  try {
    const corpus = buildCorpus(owners.data, reg.seed);
    if (reg.kind === 'handshake') return runHandshakeCase(reg.step, fromHex(reg.input), corpus);
    const node = new InProcessNode(owners, { rateLimits: RAISED_RATE_LIMITS });
    const conn = node.connect();
    for (const hex of reg.inputs) await conn.feed(fromHex(hex));
    await conn.eof();
    return conn.closed ?? conn.core.state;
  } finally {
    owners.close();
  }
}
