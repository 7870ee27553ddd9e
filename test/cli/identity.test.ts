import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Node } from '../../src/node.js';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '../../dist/cli/main.js');
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

describe('scp2p identity export|import', () => {
  it('restores the same node identity into another data dir; a wrong passphrase is refused', async () => {
    const a = tmp('scp2p-id-a-');
    const b = tmp('scp2p-id-b-');
    const n = await Node.start({ dataDir: a, listen: { tcp: null, quic: null }, actorMode: 'inline' });
    const id = n.id.nodeId;
    await n.stop();
    const bundle = join(tmp('scp2p-id-f-'), 'keys.json');
    const env = { ...process.env, SCP2P_BACKUP_PASSPHRASE: 'correct horse' };
    await run(process.execPath, [cli, 'identity', 'export', '-d', a, '-o', bundle], { env });
    await run(process.execPath, [cli, 'identity', 'import', bundle, '-d', b], { env });
    const m = await Node.start({ dataDir: b, listen: { tcp: null, quic: null }, actorMode: 'inline' });
    expect(m.id.nodeId).toBe(id);
    await m.stop();
    const bad = run(process.execPath, [cli, 'identity', 'import', bundle, '-d', tmp('scp2p-id-c-')], {
      env: { ...process.env, SCP2P_BACKUP_PASSPHRASE: 'wrong' },
    });
    await expect(bad).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/UNAUTHORIZED/) });
  });

  it('prints version and help', async () => {
    const v = await run(process.execPath, [cli, '--version']);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await run(process.execPath, [cli, '--help']);
    for (const cmd of ['start', 'publish', 'subscribe', 'search', 'identity']) expect(h.stdout).toContain(cmd);
  });
});
