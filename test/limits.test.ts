import { describe, expect, it } from 'vitest';
import { ScpError } from '../src/errors.js';
import { forwardLimits, mergeLimits, UNLIMITED } from '../src/limits.js';

describe('limits', () => {
  it('merges partial updates, accepts bigint and null, rejects junk', () => {
    const a = mergeLimits(UNLIMITED, { maxDownloadBps: 1024, maxConnections: 50n });
    expect(a.maxDownloadBps).toBe(1024);
    expect(a.maxConnections).toBe(50);
    expect(a.maxUploadBps).toBeNull();
    const b = mergeLimits(a, { maxDownloadBps: null });
    expect(b.maxDownloadBps).toBeNull();
    expect(b.maxConnections).toBe(50);
    expect(mergeLimits(a, undefined)).toBe(a);
    for (const bad of [{ maxDownloadBps: -1 }, { maxDownloadBps: 1.5 }, { nope: 1 }, [1], 'x']) {
      expect(() => mergeLimits(UNLIMITED, bad), JSON.stringify(bad)).toThrow(ScpError);
    }
  });

  it('reports which actors applied, do not support, or failed', async () => {
    const limits = mergeLimits(UNLIMITED, { maxUploadBps: 10 });
    const report = await forwardLimits(limits, async (actor) => {
      if (actor === 'session') return { applied: ['maxConnections'] };
      if (actor === 'fetcher') throw ScpError.badInput(`actor "fetcher" has no message "setLimits"`);
      throw ScpError.actorUnavailable('relay', 'it is restarting');
    });
    expect(report.limits).toBe(limits);
    expect(report.applied).toEqual([{ actor: 'session', keys: ['maxConnections'] }]);
    expect(report.unsupported).toEqual(['fetcher']);
    expect(report.failed).toEqual([expect.objectContaining({ actor: 'relay', code: 'ACTOR_UNAVAILABLE' })]);
  });
});

// ---- the fetcher's live shaping (src/actors/fetcher/transfer-limits.ts), on a virtual clock

import { ManualClock } from '../src/actors/runtime/clock.js';
import { DownloadShaper, UploadGate } from '../src/actors/fetcher/transfer-limits.js';
import type { PeerRequest } from '../src/actors/fetcher/download-job.js';
import { CHUNK_SIZE } from '../src/protocol/content.js';
import { MessageType } from '../src/protocol/registry.js';
import type { PeerAddr } from '../src/protocol/peer-addr.js';

const peerA: PeerAddr = { ip: '10.0.0.1', port: 1, transport: 'tcp', pubkeyHint: null };
const peerB: PeerAddr = { ip: '10.0.0.2', port: 1, transport: 'tcp', pubkeyHint: null };
const settle = () => new Promise<void>((r) => setImmediate(r));
const only = (o: Partial<NodeLimitsT>): NodeLimitsT => ({ ...UNLIMITED, ...o });
type NodeLimitsT = typeof UNLIMITED;

/** A fake session: records when each request went out; answers at once unless `hold` keeps it open. */
function fakeInner(clock: ManualClock, hold = false) {
  const sent: Array<{ peer: string; at: number; finish: () => void }> = [];
  const inner: PeerRequest = (peer) =>
    new Promise<Uint8Array>((resolve) => {
      const finish = () => resolve(new Uint8Array(CHUNK_SIZE));
      sent.push({ peer: peer.ip, at: clock.now(), finish });
      if (!hold) finish();
    });
  return { inner, sent };
}

function fire(req: PeerRequest, peer: PeerAddr, n: number, signal = new AbortController().signal) {
  return Array.from({ length: n }, () => req(peer, MessageType.GET_CHUNK, new Uint8Array(0), { timeoutMs: 8_000, signal }));
}

describe('download shaping (live limits in the fetcher)', () => {
  it('passes straight through while unlimited', async () => {
    const clock = new ManualClock();
    const shaper = new DownloadShaper(clock);
    const { inner, sent } = fakeInner(clock);
    await Promise.all(fire(shaper.wrap(inner), peerA, 20));
    expect(sent).toHaveLength(20);
    expect(shaper.queued).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('paces chunk requests to maxDownloadBps, and a change applies to requests already waiting', async () => {
    const clock = new ManualClock();
    const shaper = new DownloadShaper(clock);
    const { inner, sent } = fakeInner(clock);
    const bps = 4 * CHUNK_SIZE; // 1 MiB/s = 4 chunks a second
    shaper.set(only({ maxDownloadBps: bps }));
    const all = fire(shaper.wrap(inner), peerA, 40);
    for (let t = 0; t < 3_000; t += 50) {
      await settle();
      clock.advance(50);
    }
    await settle();
    // 3 s at 4 chunks/s, plus the first chunk that goes at once: 13 (±1 for timer rounding)
    expect(sent.length).toBeGreaterThanOrEqual(12);
    expect(sent.length).toBeLessThanOrEqual(14);
    expect(shaper.queued).toBe(40 - sent.length);
    // Lower the cap mid-transfer: the next 2 s let fewer out.
    const before = sent.length;
    shaper.set(only({ maxDownloadBps: CHUNK_SIZE })); // 1 chunk/s
    for (let t = 0; t < 2_000; t += 50) {
      await settle();
      clock.advance(50);
    }
    await settle();
    expect(sent.length - before).toBeGreaterThanOrEqual(1);
    expect(sent.length - before).toBeLessThanOrEqual(3);
    // Lift it: everything still waiting goes now, without any time passing.
    shaper.set(UNLIMITED);
    await settle();
    expect(sent).toHaveLength(40);
    await Promise.all(all);
  });

  it('keeps at most maxRequestsPerPeer in flight per peer, and caps each peer on its own', async () => {
    const clock = new ManualClock();
    const shaper = new DownloadShaper(clock);
    const { inner, sent } = fakeInner(clock, true);
    shaper.set(only({ maxRequestsPerPeer: 2 }));
    const req = shaper.wrap(inner);
    const a = fire(req, peerA, 5);
    const b = fire(req, peerB, 3);
    await settle();
    expect(sent.filter((s) => s.peer === peerA.ip)).toHaveLength(2);
    expect(sent.filter((s) => s.peer === peerB.ip)).toHaveLength(2);
    sent[0]!.finish(); // one of A's answers: the next A request goes
    await settle();
    await settle();
    expect(sent.filter((s) => s.peer === peerA.ip)).toHaveLength(3);
    shaper.set(UNLIMITED);
    await settle();
    for (const s of sent) s.finish();
    await settle();
    for (const s of sent) s.finish();
    await Promise.all([...a, ...b]);
    expect(sent).toHaveLength(8);
  });

  it('per-peer download caps do not slow other peers; an aborted waiter leaves the queue', async () => {
    const clock = new ManualClock();
    const shaper = new DownloadShaper(clock);
    const { inner, sent } = fakeInner(clock);
    shaper.set(only({ perPeerDownloadBps: CHUNK_SIZE }));
    const req = shaper.wrap(inner);
    const ctl = new AbortController();
    const a = fire(req, peerA, 4, ctl.signal);
    const b = fire(req, peerB, 1);
    await settle();
    expect(sent.map((s) => s.peer).sort()).toEqual([peerA.ip, peerB.ip]);
    ctl.abort();
    const results = await Promise.allSettled(a);
    expect(results.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as ScpError).code)).toEqual(['ABORTED', 'ABORTED', 'ABORTED']);
    expect(shaper.queued).toBe(0);
    await Promise.all(b);
  });
});

describe('upload gate (live limits on serving chunks)', () => {
  it('returns the wait for each chunk, refuses past maxWaitMs with LIMIT, and keeps peers apart', () => {
    const gate = new UploadGate({ maxWaitMs: 2_000 });
    expect(gate.reserve(CHUNK_SIZE, 0, 'a')).toBe(0);
    gate.set(only({ perPeerUploadBps: CHUNK_SIZE }), 0); // 1 chunk/s per peer
    expect(gate.reserve(CHUNK_SIZE, 0, 'a')).toBe(0); // the burst
    expect(gate.reserve(CHUNK_SIZE, 0, 'a')).toBe(1_000);
    expect(gate.reserve(CHUNK_SIZE, 0, 'a')).toBe(2_000);
    expect(() => gate.reserve(CHUNK_SIZE, 0, 'a')).toThrow(expect.objectContaining({ code: 'LIMIT' }));
    expect(gate.reserve(CHUNK_SIZE, 0, 'b')).toBe(0); // another peer has its own bucket
    gate.set(only({ maxUploadBps: 0 }), 0); // 0 = serve nothing
    expect(() => gate.reserve(1, 0, 'c')).toThrow(expect.objectContaining({ code: 'LIMIT' }));
    gate.set(UNLIMITED, 0);
    expect(gate.active).toBe(false);
    expect(gate.reserve(CHUNK_SIZE, 0, 'a')).toBe(0);
  });
});

describe('session and relay limits', () => {
  it('maxRelayTunnels: open tunnels stay, new ones wait for room; null restores the configured ceiling', async () => {
    const { TunnelCore } = await import('../src/actors/relay/tunnel-core.js');
    const { applyRelayLimits } = await import('../src/actors/relay/relay-limits.js');
    const tunnels = new TunnelCore({ maxTunnels: 8 }, 0);
    expect(tunnels.open(1, 1n, 0)).toBe(true);
    expect(tunnels.open(2, 2n, 0)).toBe(true);
    expect(applyRelayLimits(only({ maxRelayTunnels: 1 }), tunnels, 8)).toEqual({ applied: ['maxRelayTunnels'] });
    expect(tunnels.size).toBe(2); // kept
    expect(tunnels.canOpen(3n)).toBe(false);
    expect(tunnels.open(3, 3n, 0)).toBe(false);
    expect(tunnels.canOpen(1n)).toBe(true); // re-registering an existing slot is not a new tunnel
    applyRelayLimits(UNLIMITED, tunnels, 8);
    expect(tunnels.open(3, 3n, 0)).toBe(true);
  });

  it('maxConnections: null means the built-in ceiling, a number is taken as is', async () => {
    const { applySessionLimits } = await import('../src/actors/session/session-limits.js');
    const { DEFAULT_MAX_CONNECTIONS } = await import('../src/actors/session/session-manager.js');
    const seen: number[] = [];
    const target = { setMaxConnections: (n: number) => void seen.push(n) };
    expect(applySessionLimits(only({ maxConnections: 3 }), target)).toEqual({ applied: ['maxConnections'] });
    applySessionLimits(UNLIMITED, target);
    expect(seen).toEqual([3, DEFAULT_MAX_CONNECTIONS]);
  });
});
