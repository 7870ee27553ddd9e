import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { connectControl } from '../../src/control/client.js';
import { loadOrCreateToken, writeControlInfo } from '../../src/control/control-file.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { ScpError } from '../../src/errors.js';

function fakeNode() {
  const events$ = new Subject<{ type: string; n?: number }>();
  return {
    id: { nodeId: 'aa'.repeat(20), sharePubkey: 'bb'.repeat(32), shareId: 'cc'.repeat(32) },
    events$,
    stopped: false,
    async stop() {
      this.stopped = true;
    },
    async peers() {
      return [{ nodeId: 'dd'.repeat(20), addresses: ['tcp://127.0.0.1:1'], connected: true, seq: 2n ** 60n }];
    },
    async listShareItems(shareId: string) {
      if (shareId !== 'ee') throw ScpError.notFound(`share ${shareId} is not subscribed`);
      return [];
    },
  };
}

let server: ControlServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('control endpoint', () => {
  it('refuses requests without the token and serves calls with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scp2p-ctl-'));
    const token = loadOrCreateToken(dir);
    expect(loadOrCreateToken(dir)).toBe(token); // kept per data dir
    const node = fakeNode();
    server = await startControlServer(node as never, { token });
    writeControlInfo(dir, { url: server.url, pid: process.pid, startedAt: 0 });

    const anon = await fetch(`${server.url}/api/v1/call/peers`, { method: 'POST' });
    expect(anon.status).toBe(401);
    const wrong = await fetch(`${server.url}/api/v1/call/peers`, { method: 'POST', headers: { authorization: `Bearer ${'0'.repeat(64)}` } });
    expect(wrong.status).toBe(401);

    const client = await connectControl(dir);
    const peers = await client.call<Array<{ seq: string }>>('peers');
    expect(peers[0]!.seq).toBe((2n ** 60n).toString()); // bigints survive as decimal strings
    await expect(client.call('listShareItems', ['ff'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client.call('notAMethod')).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('streams events in emission order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scp2p-ctl-'));
    const token = loadOrCreateToken(dir);
    const node = fakeNode();
    server = await startControlServer(node as never, { token });
    writeControlInfo(dir, { url: server.url, pid: process.pid, startedAt: 0 });
    const client = await connectControl(dir);
    const ac = new AbortController();
    const seen: number[] = [];
    const reading = (async () => {
      try {
        for await (const e of client.events(ac.signal)) {
          seen.push((e.data as { n: number }).n);
          if (seen.length === 50) ac.abort();
        }
      } catch {
        /* aborted */
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    for (let n = 0; n < 50; n++) node.events$.next({ type: 'Tick', n });
    await reading;
    expect(seen).toEqual([...Array(50).keys()]);
  });

  it('says how to start a node when none runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scp2p-ctl-'));
    await expect(connectControl(dir)).rejects.toThrow(/scp2p start --data-dir/);
  });
});
