/**
 * Regression (found by the soak): a sub-database write issued after its environment closed used to throw
 * "The environment is already closed" from an lmdb-js setImmediate, uncatchable, killing the process that hosted
 * inline nodes. It must fail as a typed, catchable error instead, and a fire-and-forget write must not crash.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEnvironment, subDatabase } from '../../src/store/environment.js';

describe('lmdb writes after the environment closed', () => {
  it('reject (async) or throw (sync) instead of crashing the process', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-envclose-'));
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const env = openEnvironment(dir);
      const db = subDatabase<number>(env, 'dht', 'state');
      await db.put('a', 1);
      expect(db.get('a')).toBe(1);
      await env.close();
      await expect(db.put('b', 2)).rejects.toThrow(/environment is closed/);
      void db.put('c', 3); // fire and forget, as timers in actors do
      expect(() => db.putSync('d', 4)).toThrow(/environment is closed/);
      await new Promise((r) => setTimeout(r, 50));
      expect(uncaught).toEqual([]);
      const again = openEnvironment(dir);
      const db2 = subDatabase<number>(again, 'dht', 'state');
      expect([db2.get('a'), db2.get('b'), db2.get('c')]).toEqual([1, undefined, undefined]);
      await again.close();
    } finally {
      process.off('uncaughtException', onUncaught);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
