/**
 * Every runnable embedding example in docs/examples/ runs against the built package (dist/, via the
 * package's self-reference `import … from 'scp2p'`) with a fresh data dir, exits 0 within its time limit,
 * and prints what its comments promise.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIR = join(ROOT, 'docs/examples');
const TIMEOUT_MS = 120_000;

/** What each example must print (one pattern per promise in its header comment). */
const EXPECT: Record<string, RegExp[]> = {
  '01-start-events-errors.mjs': [/^node id: [0-9a-f]{40,}$/m, /typed error: NOT_FOUND/, /aborted call: ABORTED/, /events: .*NodeStopped$/m, /state: stopped/],
  '02-publish-and-search.mjs': [/published: [0-9a-f]{64} seq 1n/, /soups\/tomato-soup\.md/, /search "soup": [1-9]\d* hit/],
  '03-web-ui-metrics-limits.mjs': [/web UI at http:\/\/127\.0\.0\.1:\d+\//, /scp2p_actor_running\{actor="index"\} 1/, /without token: HTTP 401/, /with token: HTTP 200/, /"maxDownloadBps":5000000/, /scp2p_actor_mailbox_depth\{actor="fetcher"\} \d+/, /applied by: session, fetcher, relay \| not yet enforced by: none/],
  '04-two-nodes-download.mjs': [/B synced: 1 updated/, /completed, bytes match/],
};

function run(file: string, dataDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [join(DIR, file)], { cwd: ROOT, timeout: TIMEOUT_MS, env: { ...process.env, SCP2P_EXAMPLE_DIR: dataDir } }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

describe('docs/examples', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.mjs')).sort();

  it('has an expectation for every example', () => {
    expect(files).toEqual(Object.keys(EXPECT).sort());
  });

  for (const file of files) {
    it(file, { timeout: TIMEOUT_MS + 10_000 }, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'scp2p-doc-example-'));
      try {
        const { code, out } = await run(file, dataDir);
        expect(code, out).toBe(0);
        for (const re of EXPECT[file] ?? []) expect(out).toMatch(re);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
