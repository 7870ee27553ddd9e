import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkBitmap } from '../../../src/actors/fetcher/chunk-bitmap.js';
import { SwarmScheduler, type SwarmSchedulerInit } from '../../../src/actors/fetcher/swarm-scheduler.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { runSwarm, type FakePeer, type Reply } from './fake-swarm.js';

const make = (init: Partial<SwarmSchedulerInit> & { chunkCount: number }, peers: FakePeer[] | string[], seed = 1): SwarmScheduler =>
  new SwarmScheduler(
    { random: createRandom(seed) },
    { peers: peers.map((p) => ({ peer: typeof p === 'string' ? p : p.id })), ...init },
  );

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

describe('SwarmScheduler on a fake swarm', () => {
  it('1 peer: every chunk requested once, in order, never more than parallel_chunks in flight', () => {
    const peers: FakePeer[] = [{ id: 'a', latencyMs: 20 }];
    const s = make({ chunkCount: 40 }, peers);
    const run = runSwarm(s, peers);
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(run.requests.map((r) => r.chunk)).toEqual(range(40));
    expect(sorted(run.writes)).toEqual(range(40));
    expect(run.maxChunksInFlight).toBe(8);
    expect(run.maxRequestsInFlight).toBe(8);
    expect(run.time).toBe(5 * 20); // 40 chunks / 8 in parallel × 20 ms
    expect(s.peers()[0]).toMatchObject({ verified: 40, score: 20, failures: 0 });
  });

  it('refill batch: requests leave in bursts once that many fit under the target, and the download still completes', () => {
    // Answers one at a time (each chunk's reply comes alone): with a batch of 4, nothing is asked again until 4 are back.
    const s = make({ chunkCount: 30, parallelChunks: 8, refillBatch: 4 }, ['a']);
    s.start(0);
    const sent = (): number[] => {
      const out: number[] = [];
      for (let e = s.pollEffect(); e; e = s.pollEffect()) if (e.kind === 'request') out.push(e.chunkIndex);
      return out;
    };
    expect(sent()).toEqual(range(8));
    let next = 0;
    const bursts: number[] = [];
    for (let t = 1; !s.finished; t++) {
      s.handle({ type: 'chunkVerified', peer: 'a', chunkIndex: next++ }, t);
      const b = sent();
      if (b.length > 0) bursts.push(b.length);
    }
    expect(next).toBe(30);
    expect(bursts.slice(0, -1).every((n) => n === 4)).toBe(true); // every refill but the last (fewer left) is 4
    expect(bursts.reduce((a, b) => a + b, 8)).toBe(30);
  });

  it('parallel_chunks is configurable and capped at the chunk count', () => {
    const peers: FakePeer[] = [{ id: 'a' }];
    expect(runSwarm(make({ chunkCount: 30, parallelChunks: 3 }, peers), peers).maxChunksInFlight).toBe(3);
    const tiny = make({ chunkCount: 2, parallelChunks: 16 }, peers);
    expect(tiny.parallelChunks).toBe(2);
    expect(make({ chunkCount: 0 }, peers).parallelChunks).toBe(1);
  });

  it('chunks_per_peer: the in-flight target grows with active providers, up to its ceiling, and shrinks as they go', () => {
    const peers: FakePeer[] = ['a', 'b', 'c', 'd'].map((id) => ({ id, latencyMs: 20 }));
    const fixed = runSwarm(make({ chunkCount: 400 }, peers), peers);
    const grown = make({ chunkCount: 400, chunksPerPeer: 8 }, peers);
    expect(grown.inFlightTarget).toBe(32);
    const run = runSwarm(grown, peers);
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(sorted(run.writes)).toEqual(range(400));
    expect(run.maxChunksInFlight).toBe(32);
    expect(fixed.maxChunksInFlight).toBe(8);
    expect(run.time * 3).toBeLessThanOrEqual(fixed.time); // 4× as deep on a latency-bound swarm
    expect(make({ chunkCount: 400, chunksPerPeer: 8, maxParallelChunks: 20 }, peers).inFlightTarget).toBe(20);
    expect(make({ chunkCount: 400, chunksPerPeer: 2 }, peers).inFlightTarget).toBe(8); // never below parallel_chunks
    expect(make({ chunkCount: 12, chunksPerPeer: 8 }, peers).inFlightTarget).toBe(12);
    const s = make({ chunkCount: 400, chunksPerPeer: 8 }, peers);
    s.handle({ type: 'peerGone', peer: 'a' }, 0);
    s.handle({ type: 'peerGone', peer: 'b' }, 0);
    expect(s.inFlightTarget).toBe(16);
  });

  it('4 peers: the load spreads over all of them and the download completes', () => {
    const peers: FakePeer[] = ['a', 'b', 'c', 'd'].map((id) => ({ id, latencyMs: 25 }));
    const s = make({ chunkCount: 200, parallelChunks: 16 }, peers);
    const run = runSwarm(s, peers);
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(sorted(run.writes)).toEqual(range(200));
    expect(new Set(run.requests.map((r) => r.chunk)).size).toBe(200);
    expect(run.requests.length).toBeLessThanOrEqual(200 + 16); // end-game duplicates only at the tail
    for (const id of ['a', 'b', 'c', 'd']) {
      const n = run.requests.filter((r) => r.peer === id).length;
      expect(n).toBeGreaterThanOrEqual(40);
      expect(n).toBeLessThanOrEqual(60);
    }
  });

  it('a peer that returns corrupt chunks is penalised, banned and routed around; the content completes', () => {
    const peers: FakePeer[] = [{ id: 'evil', latencyMs: 5, reply: 'corrupt' }, ...['a', 'b', 'c'].map((id) => ({ id, latencyMs: 20 }))];
    const s = make({ chunkCount: 1000 }, peers);
    const run = runSwarm(s, peers);
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(sorted(run.writes)).toEqual(range(1000));
    const penalties = run.effects.filter((e) => e.kind === 'penalise');
    expect(penalties.length).toBeGreaterThanOrEqual(1);
    expect(penalties.every((e) => e.kind === 'penalise' && e.peer === 'evil' && e.reason === 'corrupt-chunk')).toBe(true);
    const evil = s.peers().find((p) => p.peer === 'evil');
    expect(evil?.state).toBe('banned');
    expect(evil?.verified).toBe(0);
    // After three bad chunks it is never asked again.
    expect(run.requests.filter((r) => r.peer === 'evil').length).toBeLessThanOrEqual(3);
  });

  it('a liar that holds its other answers does not pin the window: after its first bad chunk they go to honest peers', () => {
    // evil answers chunk 0 at once with corrupt bytes and sits on everything else until the 3 s timeout.
    const peers: FakePeer[] = [
      { id: 'evil', latencyMs: 1, reply: (chunk) => (chunk === 0 ? 'corrupt' : 'stall') },
      { id: 'good', latencyMs: 5 },
    ];
    const s = new SwarmScheduler(
      { random: createRandom(3) },
      { chunkCount: 64, parallelChunks: 8, endGame: false, peers: [{ peer: 'evil', reputation: 10 }, { peer: 'good' }] },
    );
    const run = runSwarm(s, peers);
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(sorted(run.writes)).toEqual(range(64));
    // evil's held chunks were re-asked of good long before any 3 s request timeout.
    const heldByEvil = run.requests.filter((r) => r.peer === 'evil' && r.chunk !== 0).map((r) => r.chunk);
    expect(heldByEvil.length).toBeGreaterThan(0);
    for (const c of heldByEvil) expect(run.requests.some((r) => r.peer === 'good' && r.chunk === c && r.at < 1_000)).toBe(true);
    expect(run.time).toBeLessThan(3_000);
  });

  it('a corrupt chunk is moved to a different peer on retry', () => {
    const peers: FakePeer[] = [
      { id: 'a', reply: (chunk) => (chunk === 3 ? 'corrupt' : 'ok') },
      { id: 'b', reply: 'ok' },
    ];
    // a has the better score, takes everything (parallel 1), and no back-off hides it: only the
    // "prefer peers that have not failed this chunk" rule sends the retry to b.
    const s = new SwarmScheduler(
      { random: createRandom(1) },
      { chunkCount: 8, parallelChunks: 1, failureBackoffBaseMs: 0, endGame: false, peers: [{ peer: 'a', reputation: 10 }, { peer: 'b' }] },
    );
    const run = runSwarm(s, peers);
    expect(run.outcome).toEqual({ kind: 'done' });
    const asks = run.requests.filter((r) => r.chunk === 3);
    expect(asks).toHaveLength(2);
    expect(asks[0]?.peer).not.toBe(asks[1]?.peer);
  });

  it('a stalling peer times out, backs off, and the others finish the content', () => {
    const peers: FakePeer[] = [
      { id: 'slow', reply: 'stall' },
      { id: 'a', latencyMs: 30 },
      { id: 'b', latencyMs: 30 },
    ];
    // With end-game, idle peers duplicate its chunks long before the 3 s timeout.
    const eg = runSwarm(make({ chunkCount: 60 }, peers), peers, { timeoutMs: 3_000 });
    expect(eg.outcome).toEqual({ kind: 'done' });
    expect(eg.time).toBeLessThan(3_000);
    const s = make({ chunkCount: 60, endGame: false }, peers);
    const run = runSwarm(s, peers, { timeoutMs: 3_000 });
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(sorted(run.writes)).toEqual(range(60));
    const slow = s.peers().find((p) => p.peer === 'slow');
    expect(slow?.verified).toBe(0);
    expect(slow?.failures).toBeGreaterThanOrEqual(1);
    // Its stalled chunks were re-fetched elsewhere: completion within a few timeouts, not 60 × 3 s.
    expect(run.time).toBeLessThan(10_000);
  });

  it('the scheduler’s own request timeout catches replies that never come', () => {
    const peers: FakePeer[] = [{ id: 'hole', reply: 'stall' }, { id: 'a', latencyMs: 10 }];
    const s = make({ chunkCount: 4, parallelChunks: 4, requestTimeoutMs: 1_000, endGame: false }, peers);
    const run = runSwarm(s, peers, { timeoutMs: 1_000_000 }); // the fake worker never reports a timeout
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(run.effects.some((e) => e.kind === 'cancel' && e.reason === 'timeout' && e.peer === 'hole')).toBe(true);
    expect(run.time).toBeLessThan(2_000);
  });

  it('all peers failing → a typed failure naming the abandoned chunk (attempts_per_peer × peers)', () => {
    const peers: FakePeer[] = [{ id: 'a', reply: 'error' }, { id: 'b', reply: 'not-found' }];
    const s = make({ chunkCount: 10, parallelChunks: 1 }, peers);
    const run = runSwarm(s, peers);
    expect(run.outcome).toMatchObject({ kind: 'failed', reason: 'chunk-abandoned', chunkIndex: 0 });
    expect(run.requests.filter((r) => r.chunk === 0)).toHaveLength(4); // 2 attempts × 2 peers
    expect(run.writes).toEqual([]);
    expect(s.finished).toBe('failed');
    // Nothing happens after a failure.
    s.handle({ type: 'peerAdded', peer: 'c' }, run.time + 1);
    expect(s.pollEffect()).toBeUndefined();
    expect(s.nextDeadline()).toBeUndefined();
  });

  it('no provider at all → stalled after max_stall_rounds × 300 ms', () => {
    const s = make({ chunkCount: 3 }, []);
    const run = runSwarm(s, []);
    expect(run.outcome).toMatchObject({ kind: 'failed', reason: 'stalled' });
    expect(run.time).toBe(61 * 300);
  });

  it('a provider added mid-download (before the stall limit) is used', () => {
    const s = make({ chunkCount: 5 }, []);
    const late: FakePeer = { id: 'late', latencyMs: 10 };
    const run = runSwarm(s, [late], { script: [{ at: 5_000, input: { type: 'peerAdded', peer: 'late', reputation: 3 } }] });
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(run.requests.every((r) => r.at >= 5_000 && r.peer === 'late')).toBe(true);
  });

  it('a peer that goes away hands its outstanding chunks to the others, without charging attempts', () => {
    const peers: FakePeer[] = [
      { id: 'a', latencyMs: 1_000 },
      { id: 'b', latencyMs: 10 },
    ];
    const s = make({ chunkCount: 8, attemptsPerPeer: 1, endGame: false }, peers);
    const run = runSwarm(s, peers, { script: [{ at: 5, input: { type: 'peerGone', peer: 'a' } }] });
    expect(run.outcome).toEqual({ kind: 'done' });
    expect(run.writes.length).toBe(8);
    expect(s.peers().find((p) => p.peer === 'a')?.state).toBe('gone');
    expect(run.time).toBeLessThan(1_000); // a's replies were never awaited
  });

  it('end-game duplicates the last outstanding chunks to idle peers and cancels the losers', () => {
    const peers: FakePeer[] = [
      { id: 'fast', latencyMs: 10 },
      { id: 'slow', latencyMs: 2_000 },
    ];
    const withEg = runSwarm(make({ chunkCount: 16 }, peers), peers);
    const without = runSwarm(make({ chunkCount: 16, endGame: false }, peers), peers);
    expect(withEg.outcome).toEqual({ kind: 'done' });
    expect(without.outcome).toEqual({ kind: 'done' });
    expect(without.time).toBeGreaterThanOrEqual(2_000);
    expect(withEg.time).toBeLessThan(500);
    expect(withEg.effects.some((e) => e.kind === 'cancel' && e.reason === 'duplicate' && e.peer === 'slow')).toBe(true);
    expect(sorted(withEg.writes)).toEqual(range(16)); // duplicates are never written twice
    expect(withEg.maxChunksInFlight).toBeLessThanOrEqual(8);
  });

  it('resume: built from a bitmap it fetches exactly the missing chunks', () => {
    const n = 50;
    const have = range(n).filter((i) => i % 3 !== 1);
    const bm = ChunkBitmap.deserialise(new ChunkBitmap(n, have).serialise(), n);
    const peers: FakePeer[] = [{ id: 'a' }, { id: 'b' }];
    const s = make({ chunkCount: n, verified: bm, endGame: false }, peers);
    const run = runSwarm(s, peers);
    expect(run.outcome).toEqual({ kind: 'done' });
    const missing = range(n).filter((i) => i % 3 === 1);
    expect(sorted(run.requests.map((r) => r.chunk))).toEqual(missing);
    expect(bm.complete).toBe(true); // the adopted bitmap is kept up to date for persistence
  });

  it('resume of a complete item is done at once; an empty item too', () => {
    for (const s of [make({ chunkCount: 5, verified: range(5) }, ['a']), make({ chunkCount: 0 }, ['a'])]) {
      s.start(0);
      expect(s.pollEffect()).toEqual({ kind: 'done' });
      expect(s.pollEffect()).toBeUndefined();
    }
  });

  it('peer choice: score seeded from reputation; under-cap peers first; the soft cap still lets a lone peer work', () => {
    const s = make({ chunkCount: 4, parallelChunks: 1 }, []);
    s.handle({ type: 'peerAdded', peer: 'low', reputation: -10 }, 0);
    s.handle({ type: 'peerAdded', peer: 'high', reputation: 10 }, 0);
    s.start(0);
    expect(s.pollEffect()).toEqual({ kind: 'request', peer: 'high', chunkIndex: 0 });

    const capped = make({ chunkCount: 20, maxChunksPerPeer: 2 }, ['only']);
    capped.start(0);
    let n = 0;
    while (capped.pollEffect()) n++;
    expect(n).toBe(8);

    const spread = make({ chunkCount: 20, maxChunksPerPeer: 2 }, []);
    spread.handle({ type: 'peerAdded', peer: 'a', reputation: 10 }, 0);
    spread.handle({ type: 'peerAdded', peer: 'b', reputation: -10 }, 0);
    spread.start(0);
    const firstFour: string[] = [];
    for (let e = spread.pollEffect(); e && firstFour.length < 4; e = spread.pollEffect()) if (e.kind === 'request') firstFour.push(e.peer);
    // a (weight 31) takes two, then is at the soft cap, so b gets the next ones despite its lower score.
    expect(firstFour.filter((p) => p === 'a').length).toBe(2);
    expect(firstFour.filter((p) => p === 'b').length).toBe(2);
  });

  it('back-off after consecutive failures: 300, 600, 1200 … ms, capped at 8 s, cleared by a success', () => {
    const fails = 7;
    const peers: FakePeer[] = [{ id: 'a', latencyMs: 0, reply: (_c, n) => (n < fails ? 'error' : 'ok') }];
    const s = make({ chunkCount: 1, attemptsPerPeer: 100, maxBackoffMs: 8_000 }, peers);
    const run = runSwarm(s, peers);
    expect(run.outcome).toEqual({ kind: 'done' });
    const gaps = run.requests.slice(1).map((r, k) => r.at - (run.requests[k] as { at: number }).at);
    expect(gaps).toEqual([300, 600, 1_200, 2_400, 4_800, 8_000, 8_000]);
  });
});

describe('SwarmScheduler properties', () => {
  const replyArb = fc.constantFrom<Reply>('ok', 'ok', 'ok', 'corrupt', 'error', 'stall');
  const peerArb = fc.record({
    latencyMs: fc.integer({ min: 0, max: 200 }),
    script: fc.array(replyArb, { minLength: 1, maxLength: 12 }),
  });
  const caseArb = fc.record({
    chunkCount: fc.integer({ min: 0, max: 60 }),
    parallel: fc.integer({ min: 1, max: 10 }),
    perPeer: fc.integer({ min: 0, max: 6 }),
    maxParallel: fc.integer({ min: 1, max: 20 }),
    batch: fc.integer({ min: 1, max: 8 }),
    peers: fc.array(peerArb, { minLength: 1, maxLength: 5 }),
    haveMask: fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
    endGame: fc.boolean(),
    goodPeer: fc.boolean(),
    seed: fc.integer(),
  });

  it('every missing chunk is requested until verified, written once, never more than parallel in flight', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const peers: FakePeer[] = c.peers.map((p, k) => ({
          id: `p${k}`,
          latencyMs: p.latencyMs,
          reply: (_chunk: number, n: number) => p.script[n % p.script.length] as Reply,
        }));
        if (c.goodPeer) peers.push({ id: 'good', latencyMs: 50 });
        const have = range(c.chunkCount).filter((i) => c.haveMask[i]);
        const s = new SwarmScheduler(
          { random: createRandom(c.seed) },
          {
            chunkCount: c.chunkCount,
            verified: have,
            parallelChunks: c.parallel,
            chunksPerPeer: c.perPeer,
            maxParallelChunks: c.maxParallel,
            refillBatch: c.batch,
            endGame: c.endGame,
            peers: peers.map((p) => ({ peer: p.id })),
          },
        );
        const run = runSwarm(s, peers, { timeoutMs: 500 });
        // Terminates with an outcome.
        expect(run.outcome?.kind === 'done' || run.outcome?.kind === 'failed').toBe(true);
        if (c.goodPeer) expect(run.outcome).toEqual({ kind: 'done' });
        // Never a request for a verified chunk; verified chunks written exactly once.
        expect(run.requestsForVerified).toBe(0);
        expect(new Set(run.writes).size).toBe(run.writes.length);
        expect(run.writes.every((i) => !have.includes(i))).toBe(true);
        const floor = Math.min(c.parallel, Math.max(1, c.chunkCount));
        const parallel = c.perPeer === 0 ? floor : Math.max(floor, Math.min(c.maxParallel, c.perPeer * peers.length, c.chunkCount));
        expect(run.maxChunksInFlight).toBeLessThanOrEqual(parallel);
        expect(run.maxRequestsInFlight).toBeLessThanOrEqual(c.endGame ? parallel * 2 : parallel);
        if (run.outcome?.kind === 'done') {
          expect(sorted([...have, ...run.writes])).toEqual(range(c.chunkCount));
          expect(s.bitmap.complete).toBe(true);
        } else {
          // A failure leaves nothing in flight that anyone waits on.
          expect(s.nextDeadline()).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });
});
