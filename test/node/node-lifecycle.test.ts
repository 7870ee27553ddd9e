import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import type { NodeEvent } from '../../src/messages/node-events.js';

const nodes: Node[] = [];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-node-'));
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});
const FAST = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 5_000 };
let lastHealth: (() => unknown) | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runningAgain(node: Node, name: string): boolean {
  const a = node.health().actors.find((x) => x.name === name);
  return !!a && a.state === 'running' && a.restarts >= 1;
}

async function until(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out; health: ' + JSON.stringify(lastHealth?.()));
    await sleep(20);
  }
}

describe('Node', () => {
  it('starts six actors, keeps subscriptions and identity across crashes and restarts of the node', async () => {
    const dataDir = tmp();
    const node = await Node.start({ dataDir, supervision: FAST });
    nodes.push(node);
    lastHealth = () => node.health();
    const events: NodeEvent[] = [];
    node.events$.subscribe((e) => events.push(e));
    expect(node.health().actors.map((a) => [a.name, a.state])).toEqual(
      ['persistence', 'session', 'dht', 'fetcher', 'relay', 'index'].map((n) => [n, 'running']),
    );
    const sid = 'AB'.repeat(32);
    const sub = await node.subscribe(sid, { trust: 'untrusted' });
    expect(sub).toMatchObject({ shareId: sid.toLowerCase(), trust: 'untrusted', sharePubkey: null });
    expect(typeof sub.subscribedAt).toBe('bigint');
    await node.debug.crashActor('index', 'exit');
    await until(() => runningAgain(node, 'index'));
    expect((await node.listSubscriptions()).map((s) => s.shareId)).toEqual([sid.toLowerCase()]);
    expect(events.some((e) => e.type === 'ActorRestarted' && e.actor === 'index')).toBe(true);
    expect(await node.peers()).toEqual([]);
    const id = node.id;
    await node.stop();
    expect(node.state).toBe('stopped');
    await expect(node.listSubscriptions()).rejects.toMatchObject({ code: 'NODE_STOPPED' });

    const again = await Node.start({ dataDir, actorMode: 'inline' });
    nodes.push(again);
    expect(again.id).toEqual(id);
    expect((await again.listSubscriptions()).map((s) => s.shareId)).toEqual([sid.toLowerCase()]);
    expect((await again.unsubscribe(sid)).removed).toBe(true);
    expect(await again.listSubscriptions()).toEqual([]);
  });

  it('refuses a second node on the same data directory, clearly', async () => {
    const dataDir = tmp();
    nodes.push(await Node.start({ dataDir, actorMode: 'inline' }));
    await expect(Node.start({ dataDir, actorMode: 'inline' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/in use/) });
  });

  it('a wrong passphrase fails start with UNAUTHORIZED and leaves the identity alone', async () => {
    const dataDir = tmp();
    const a = await Node.start({ dataDir, keyPassphrase: 'secret', actorMode: 'inline' });
    const id = a.id;
    await a.stop();
    await expect(Node.start({ dataDir, keyPassphrase: 'oops', actorMode: 'inline' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const b = await Node.start({ dataDir, keyPassphrase: 'secret', actorMode: 'inline' });
    nodes.push(b);
    expect(b.id).toEqual(id);
  });

  it('rejects bad input and honours timeoutMs / signal', async () => {
    const node = await Node.start({ dataDir: tmp(), actorMode: 'inline' });
    nodes.push(node);
    await expect(node.subscribe('xyz')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(node.debug.crashActor('nope', 'throw')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    const ac = new AbortController();
    ac.abort();
    await expect(node.listSubscriptions({ signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('escalation: a restart storm makes the node report failed and stop, releasing the data directory', async () => {
    const dataDir = tmp();
    const node = await Node.start({ dataDir, actorMode: 'inline', supervision: { ...FAST, intensity: 1 } });
    nodes.push(node);
    await node.debug.crashActor('relay', 'throw');
    await until(() => runningAgain(node, 'relay'));
    await node.debug.crashActor('relay', 'throw');
    await until(() => node.state === 'failed');
    expect(node.health().failure).toMatch(/relay crashed more than 1 times/);
    expect(node.health().actors.find((a) => a.name === 'relay')?.state).toBe('failed');
    await expect(node.subscribe('ab'.repeat(32))).rejects.toMatchObject({ code: 'NODE_STOPPED' });
    await node.stop(); // still fine
    const next = await Node.start({ dataDir, actorMode: 'inline' });
    nodes.push(next);
  });

  it('stop() leaves no open handle: a process that starts and stops a node exits by itself', async () => {
    const script = `
      import { Node } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
      const node = await Node.start({ dataDir: ${JSON.stringify(tmp())} });
      await node.subscribe('cd'.repeat(32));
      await node.debug.crashActor('fetcher', 'throw');
      await new Promise((r) => setTimeout(r, 300));
      const t = performance.now();
      await node.stop();
      console.log('stopped', Math.round(performance.now() - t));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      const killer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(-1);
      }, 20_000);
      child.on('exit', (c) => {
        clearTimeout(killer);
        resolve(c);
      });
    });
    expect(out).toMatch(/stopped \d+/);
    expect(code).toBe(0);
    expect(Number(/stopped (\d+)/.exec(out)![1])).toBeLessThan(5_000);
  });
});

describe('V8 and process-wide flags of the embedding process', () => {
  it('a node starts its worker threads under `node --max-old-space-size=… --stack-size=…` and publishes, hashes and stops', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'a.txt'), 'flags do not stop a node\n');
    const script = `
      import { Node } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
      const node = await Node.start({ dataDir: ${JSON.stringify(path.join(dir, 'data'))}, listen: { tcp: 0, quic: null }, host: '127.0.0.1' });
      const pub = await node.publishFiles([${JSON.stringify(path.join(dir, 'a.txt'))}], { title: 'flags' });
      console.log('actors', node.health().actors.filter((a) => a.state === 'running').length, 'share', pub.shareId.length);
      await node.stop();
      console.log('stopped');
    `;
    const child = spawn(process.execPath, ['--max-old-space-size=1024', '--stack-size=900', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).not.toMatch(/ERR_WORKER_INVALID_EXEC_ARGV/);
    expect(out).toMatch(/actors [1-9]\d* share 64/);
    expect(out).toMatch(/stopped/);
    expect(code).toBe(0);
  }, 30_000);
});
