/**
 * LAN discovery between two hosts: two Linux network namespaces joined by veth pairs on a bridge (its own
 * namespace), one node process in each (`ip netns exec`), listening on 0.0.0.0 with `lanDiscovery: true`. Each
 * must find the other by UDP broadcast (46123) and connect over TLS. Needs root and iproute2; skipped otherwise.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tag = `s2p${process.pid % 100000}`;
const NS = { a: `${tag}a`, b: `${tag}b`, br: `${tag}br` };
const IP = { a: '10.77.0.1', b: '10.77.0.2' };

function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_SYS_ADMIN)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'iproute2 (`ip`) is not installed';
  }
  return undefined;
}
const skipWhy = canRun();
if (skipWhy) console.warn(`[lan.test] skipped: ${skipWhy}`);

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const inNs = (ns: string, ...args: string[]) => ip('netns', 'exec', ns, 'ip', ...args);

function setUp(): void {
  for (const ns of Object.values(NS)) ip('netns', 'add', ns);
  inNs(NS.br, 'link', 'add', 'br0', 'type', 'bridge');
  inNs(NS.br, 'link', 'set', 'br0', 'up');
  for (const side of ['a', 'b'] as const) {
    const outer = `${tag}${side}0`;
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', `${tag}${side}1`);
    ip('link', 'set', outer, 'netns', NS.br);
    ip('link', 'set', `${tag}${side}1`, 'netns', NS[side]);
    inNs(NS.br, 'link', 'set', outer, 'master', 'br0');
    inNs(NS.br, 'link', 'set', outer, 'up');
    inNs(NS[side], 'link', 'set', 'lo', 'up');
    inNs(NS[side], 'link', 'set', `${tag}${side}1`, 'name', 'eth0');
    inNs(NS[side], 'addr', 'add', `${IP[side]}/24`, 'brd', '10.77.0.255', 'dev', 'eth0');
    inNs(NS[side], 'link', 'set', 'eth0', 'up');
    // 255.255.255.255 needs a route out of the namespace's only interface.
    inNs(NS[side], 'route', 'add', 'default', 'dev', 'eth0');
  }
}

function tearDown(): void {
  for (const ns of Object.values(NS)) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* not there */
    }
  }
}

const CHILD = `
  const { Node } = await import(${JSON.stringify(path.join(root, 'dist/index.js'))});
  const node = await Node.start({ dataDir: process.argv[1], listen: { tcp: 7101, quic: null }, host: '0.0.0.0', lanDiscovery: true });
  console.log(JSON.stringify({ id: node.id.nodeId, addresses: node.addresses() }));
  const tick = setInterval(async () => {
    const peers = await node.peers().catch(() => []);
    console.log(JSON.stringify({ peers: peers.filter((p) => p.connected).map((p) => p.nodeId) }));
  }, 500);
  const stop = async () => { clearInterval(tick); await node.stop(); process.exit(0); };
  process.stdin.on('end', stop); process.stdin.resume();
`;

interface Child {
  proc: ChildProcess;
  id: Promise<string>;
  connected: Set<string>;
  log: string[];
}

function startIn(ns: string): Child {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-lan-'));
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', CHILD, dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const log: string[] = [];
  const connected = new Set<string>();
  let resolveId!: (s: string) => void;
  const id = new Promise<string>((r) => (resolveId = r));
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      log.push(line);
      try {
        const m = JSON.parse(line) as { id?: string; peers?: string[] };
        if (m.id) resolveId(m.id);
        for (const p of m.peers ?? []) connected.add(p);
      } catch {
        /* not ours */
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  return { proc, id, connected, log };
}

describe.skipIf(skipWhy !== undefined)('LAN discovery in network namespaces', () => {
  const children: Child[] = [];
  beforeAll(() => {
    tearDown();
    setUp();
  });
  afterAll(async () => {
    for (const c of children) c.proc.stdin!.end();
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            const t = setTimeout(() => {
              c.proc.kill('SIGKILL');
              r();
            }, 10_000);
            c.proc.once('exit', () => {
              clearTimeout(t);
              r();
            });
          }),
      ),
    );
    tearDown();
  });

  it('two nodes on one segment find each other by broadcast and connect', async () => {
    const a = startIn(NS.a);
    const b = startIn(NS.b);
    children.push(a, b);
    const [ida, idb] = await Promise.all([a.id, b.id]);
    expect(a.log.join('\n')).toContain(`tcp://${IP.a}:7101`);
    const end = Date.now() + 30_000;
    while (!(a.connected.has(idb) && b.connected.has(ida))) {
      if (Date.now() > end) throw new Error(`no discovery within 30 s\nA: ${a.log.slice(-5).join('\n')}\nB: ${b.log.slice(-5).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});
