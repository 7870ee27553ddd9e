/**
 * The communities CLI as a user runs it (issue 10): three running nodes on loopback (in this process, each with
 * its control endpoint, as `scp2p start` sets up), and `scp2p communities create|join|list|members|shares|leave`,
 * `scp2p publish --community` and `scp2p browse-public`, all with --json, run as separate processes of dist/cli.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateToken, removeControlInfo, writeControlInfo } from '../../src/control/control-file.js';
import { startControlServer } from '../../src/control/server.js';
import { Node } from '../../src/node.js';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '../../dist/cli/main.js');
const base = mkdtempSync(join(tmpdir(), 'scp2p-comm-cli-'));
const running: Array<{ node: Node; dir: string; close(): Promise<void> }> = [];

async function startNode(name: string, bootstrap: string[] = []): Promise<string> {
  const dir = join(base, name);
  const node = await Node.start({ dataDir: dir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline', bootstrap });
  const control = await startControlServer(node as never, { host: '127.0.0.1', port: 0, token: loadOrCreateToken(dir) });
  writeControlInfo(dir, { url: control.url, pid: process.pid, startedAt: Date.now() });
  running.push({ node, dir, close: control.close });
  return dir;
}

/** Runs `scp2p <args> -d <dir> --json`; resolves with the parsed JSON, or `{ error: stderr, code }`. */
async function scp2p(dir: string, ...args: string[]): Promise<any> {
  try {
    const r = await run(process.execPath, [cli, ...args, '-d', dir, '--json'], { env: { ...process.env, SCP2P_LOG_LEVEL: 'silent' }, timeout: 120_000 });
    return JSON.parse(r.stdout);
  } catch (e) {
    const x = e as { stderr?: string; code?: number };
    return { error: String(x.stderr ?? e), code: x.code };
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let a: string, b: string, c: string;
beforeAll(async () => {
  a = await startNode('a');
  const boot = running[0]!.node.addresses();
  b = await startNode('b', boot);
  c = await startNode('c', boot);
}, 120_000);

afterAll(async () => {
  for (const r of running) {
    await r.close().catch(() => {});
    await r.node.stop().catch(() => {});
    removeControlInfo(r.dir);
  }
  rmSync(base, { recursive: true, force: true });
});

describe('scp2p communities … --json', () => {
  it('create, join (mismatch refused), publish into it, list, members, shares with a cursor, browse-public, leave', async () => {
    const created = await scp2p(a, 'communities', 'create', 'makers');
    expect(created).toEqual({ communityId: expect.stringMatching(/^[0-9a-f]{64}$/), sharePubkey: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const { communityId: id, sharePubkey: pub } = created;

    expect(await scp2p(c, 'communities', 'join', id, 'f'.repeat(64))).toMatchObject({ code: 1, error: expect.stringContaining('BAD_INPUT') });
    expect(await scp2p(b, 'communities', 'join', id, pub, '--name', 'club')).toMatchObject({ communityId: id, name: 'club', owner: false, strict: false });
    expect(await scp2p(a, 'communities', 'list')).toEqual([expect.objectContaining({ communityId: id, name: 'makers', owner: true })]);

    const file = join(base, 'plans.txt');
    writeFileSync(file, 'saw, glue, clamps');
    const inA = await scp2p(a, 'publish', file, '--title', 'plans A', '--visibility', 'public', '--community', id);
    const inB = await scp2p(b, 'publish', file, '--title', 'plans B', '--visibility', 'public', '--community', id, '--publisher', 'club');
    const openB = await scp2p(b, 'publish', file, '--title', 'open B', '--visibility', 'public', '--publisher', 'open');
    const privA = await scp2p(a, 'publish', file, '--title', 'diary', '--publisher', 'diary');
    for (const r of [inA, inB, openB, privA]) expect(r.shareId).toMatch(/^[0-9a-f]{64}$/);

    // members and shares, as seen by B (retry while A's record and shares propagate)
    let members: any[] = [];
    for (let i = 0; i < 60 && !members.some?.((m: any) => m.joined === true); i++, await sleep(500)) members = await scp2p(b, 'communities', 'members', id);
    expect(members).toEqual([expect.objectContaining({ nodePubkey: running[0]!.node.id.nodePubkey, joined: true, name: 'makers', extension: true })]);

    const page1 = await scp2p(b, 'communities', 'shares', id, '--limit', '1');
    expect(page1.shares).toHaveLength(1);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await scp2p(b, 'communities', 'shares', id, '--limit', '5', '--cursor', page1.nextCursor);
    expect(page2.nextCursor).toBeNull();
    const seen = [...page1.shares, ...page2.shares].map((s: any) => s.shareId).sort();
    expect(seen).toEqual([inA.shareId, inB.shareId].sort()); // not B's open share, not A's private one

    // an outsider: no shares, members refused
    expect(await scp2p(c, 'communities', 'shares', id)).toEqual({ shares: [], nextCursor: null });
    expect(await scp2p(c, 'communities', 'members', id)).toMatchObject({ code: 1, error: expect.stringContaining('NOT_FOUND') });

    // browse-public from the outsider: public shares of connected peers, never the private one
    let open: any[] = [];
    for (let i = 0; i < 40 && !open.some?.((s: any) => s.shareId === openB.shareId); i++, await sleep(500)) open = await scp2p(c, 'browse-public');
    const ids = open.map((s: any) => s.shareId);
    expect(ids).toEqual(expect.arrayContaining([inA.shareId, inB.shareId, openB.shareId]));
    expect(ids).not.toContain(privA.shareId);

    // B leaves: its list is empty, it sees nothing, and A stops listing it
    expect(await scp2p(b, 'communities', 'leave', id)).toEqual({ left: true });
    expect(await scp2p(b, 'communities', 'list')).toEqual([]);
    expect(await scp2p(b, 'communities', 'shares', id)).toEqual({ shares: [], nextCursor: null });
    expect(await scp2p(a, 'communities', 'members', id)).toEqual([]);
    expect(await scp2p(b, 'communities', 'leave', id)).toEqual({ left: false });
  }, 600_000);
});
