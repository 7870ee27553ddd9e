import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/actors/runtime/clock.js';
import { RpcEndpoint } from '../../src/actors/runtime/rpc-endpoint.js';
import { withTransfer } from '../../src/actors/runtime/transfer.js';
import { ScpError } from '../../src/errors.js';

const open: RpcEndpoint[] = [];
function pair(serve: (b: { type: string }) => unknown, clock = systemClock) {
  const { port1, port2 } = new MessageChannel();
  const client = new RpcEndpoint(port1, { clock, label: 'peer' });
  const server = new RpcEndpoint(port2, { clock, label: 'peer', serve });
  open.push(client, server);
  return { client, server };
}
afterEach(() => {
  for (const e of open.splice(0)) e.close(ScpError.internal('test over'));
});

describe('rpc endpoint', () => {
  it('correlates replies to requests, out of order', async () => {
    const { client } = pair(async (b) => {
      const n = (b as unknown as { n: number }).n;
      await new Promise((r) => setTimeout(r, (5 - n) * 5));
      return n * 2;
    });
    const got = await Promise.all([1, 2, 3, 4].map((n) => client.request({ type: 'double', n } as { type: string })));
    expect(got).toEqual([2, 4, 6, 8]);
  });

  it('carries ScpErrors across with their code', async () => {
    const { client } = pair(() => {
      throw ScpError.notFound('no such share');
    });
    await expect(client.request({ type: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such share' });
  });

  it('times out on the injected clock and drops the late reply', async () => {
    const clock = new ManualClock();
    let release: (() => void) | undefined;
    const { client } = pair(() => new Promise((r) => (release = () => r('late'))), clock);
    const p = client.request({ type: 'slow' }, { timeoutMs: 500 });
    while (!release) await new Promise((r) => setTimeout(r, 1));
    clock.advance(499);
    expect(client.pendingCount).toBe(1);
    clock.advance(1);
    await expect(p).rejects.toMatchObject({ code: 'TIMEOUT' });
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(client.pendingCount).toBe(0);
  });

  it('onLateReply gets a reply that comes after a timeout or an abort, once; errors and other calls are not passed', async () => {
    const clock = new ManualClock();
    const releases: Array<(v: unknown) => void> = [];
    const fails: Array<() => void> = [];
    const { client } = pair((b) => new Promise((res, rej) => (b.type === 'fail' ? fails.push(() => rej(ScpError.notFound('gone'))) : releases.push(res))), clock);
    const late: unknown[] = [];
    const onLateReply = (v: unknown): void => void late.push(v);
    const ac = new AbortController();
    const timedOut = client.request({ type: 'a' }, { timeoutMs: 100, onLateReply });
    const aborted = client.request({ type: 'b' }, { signal: ac.signal, onLateReply });
    const failed = client.request({ type: 'fail' }, { timeoutMs: 100, onLateReply });
    const plain = client.request({ type: 'c' }, { timeoutMs: 100 });
    while (releases.length < 3 || fails.length < 1) await new Promise((r) => setTimeout(r, 1));
    clock.advance(100);
    ac.abort();
    for (const p of [timedOut, aborted, failed, plain]) await expect(p).rejects.toMatchObject({ code: expect.stringMatching(/TIMEOUT|ABORTED/) });
    releases.forEach((r, i) => r(`late-${i}`));
    fails[0]!();
    await new Promise((r) => setTimeout(r, 20));
    expect(late.sort()).toEqual(['late-0', 'late-1']); // 'c' had no onLateReply; the error reply carries no value
    const answered = client.request({ type: 'd' }, { timeoutMs: 100, onLateReply });
    while (releases.length < 4) await new Promise((r) => setTimeout(r, 1));
    releases[3]!('on time');
    await expect(answered).resolves.toBe('on time');
    expect(late).toHaveLength(2); // an answer in time goes to the caller only
  });

  it('honours an AbortSignal', async () => {
    const { client } = pair(() => new Promise(() => {}));
    const ac = new AbortController();
    const p = client.request({ type: 'never' }, { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(client.request({ type: 'x' }, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('fails every waiting caller at once', async () => {
    const { client } = pair(() => new Promise(() => {}));
    const ps = [1, 2, 3].map(() => client.request({ type: 'never' }));
    client.failPending(ScpError.actorUnavailable('peer', 'it crashed'));
    for (const p of ps) await expect(p).rejects.toMatchObject({ code: 'ACTOR_UNAVAILABLE' });
  });

  it('moves ArrayBuffers instead of copying them, both ways', async () => {
    const { client } = pair((b) => {
      const buf = (b as unknown as { buffer: ArrayBuffer }).buffer;
      new Uint8Array(buf)[0] = 7;
      return withTransfer({ buffer: buf }, [buf]);
    });
    const buf = new ArrayBuffer(1024);
    const p = client.request({ type: 'bounce', buffer: buf } as { type: string }, { transfer: [buf] });
    expect(buf.byteLength).toBe(0); // detached: it was moved, not copied
    const r = (await p) as { buffer: ArrayBuffer };
    expect(r.buffer.byteLength).toBe(1024);
    expect(new Uint8Array(r.buffer)[0]).toBe(7);
  });
});
