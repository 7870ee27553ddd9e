import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/store/data-dir-lock.js';
import { publicKeyFromSeed } from '../../src/store/ed25519-key.js';
import { openEnvironment } from '../../src/store/environment.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { decodeKeyBundle, encodeKeyBundle, exportIdentity, importIdentity } from '../../src/store/key-backup.js';
import { openSecret, sealSecret } from '../../src/store/key-sealing.js';
import { migrate, readSchemaVersion, SCHEMA_VERSION } from '../../src/store/schema.js';
import { createPublicKey, sign, verify, createPrivateKey } from 'node:crypto';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-store-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function withEnv<T>(dir: string, fn: (env: ReturnType<typeof openEnvironment>) => T): Promise<T> {
  const env = openEnvironment(dir);
  try {
    migrate(env);
    return fn(env);
  } finally {
    await env.close();
  }
}

describe('node identity at rest', () => {
  it('is made on first start and kept', async () => {
    const dir = tmp();
    const a = await withEnv(dir, (env) => new IdentityStore(env, undefined).loadOrCreate());
    const b = await withEnv(dir, (env) => new IdentityStore(env, undefined).loadOrCreate());
    expect(b).toEqual(a);
    expect(a.nodeId).toMatch(/^[0-9a-f]{40}$/);
    expect(a.shareId).toMatch(/^[0-9a-f]{64}$/);
    expect(a.nodePubkey).not.toBe(a.sharePubkey);
  });

  it('the seed makes a working Ed25519 key whose public half matches node:crypto', () => {
    const seed = new Uint8Array(32).fill(9);
    const pub = publicKeyFromSeed(seed);
    const priv = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    const sig = sign(null, Buffer.from('hello'), priv);
    const pubKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' });
    expect(verify(null, Buffer.from('hello'), pubKey, sig)).toBe(true);
  });

  it('with a passphrase the seed is sealed; a wrong or missing passphrase is UNAUTHORIZED and never a new identity', async () => {
    const dir = tmp();
    const a = await withEnv(dir, (env) => new IdentityStore(env, 'correct horse').loadOrCreate());
    await withEnv(dir, (env) => {
      const raw = env.openDB({ name: 'persistence/identity' }).get('node') as { kdf?: string };
      expect(raw.kdf).toBe('scrypt');
    });
    await expect(withEnv(dir, (env) => new IdentityStore(env, 'wrong').loadOrCreate())).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/wrong passphrase/) });
    await expect(withEnv(dir, (env) => new IdentityStore(env, undefined).loadOrCreate())).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/keyPassphrase/) });
    expect(await withEnv(dir, (env) => new IdentityStore(env, 'correct horse').loadOrCreate())).toEqual(a);
  });

  it('a plain key given a passphrase later is sealed from then on, same identity', async () => {
    const dir = tmp();
    const a = await withEnv(dir, (env) => new IdentityStore(env, undefined).loadOrCreate());
    expect(await withEnv(dir, (env) => new IdentityStore(env, 'pw').loadOrCreate())).toEqual(a);
    await expect(withEnv(dir, (env) => new IdentityStore(env, undefined).loadOrCreate())).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('sealing round-trips and detects tampering', () => {
    const s = sealSecret(new Uint8Array([1, 2, 3]), 'pw');
    expect([...openSecret(s, 'pw')]).toEqual([1, 2, 3]);
    const bad = { ...s, box: new Uint8Array(s.box) };
    bad.box[0] = bad.box[0]! ^ 1;
    expect(() => openSecret(bad, 'pw')).toThrow(/wrong passphrase/);
  });
});

describe('key backup (scp2p identity export|import)', () => {
  it('exports node and publisher keys and restores them into another data directory', async () => {
    const src = tmp();
    const dst = tmp();
    const a = await withEnv(src, (env) => new IdentityStore(env, 'k1').loadOrCreate());
    const bundle = await exportIdentity({ dataDir: src, keyPassphrase: 'k1', backupPassphrase: 'backup' });
    expect(bundle).not.toMatch(/"node"/); // sealed, not plain
    await expect(importIdentity({ dataDir: dst, bundle, backupPassphrase: 'nope' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await importIdentity({ dataDir: dst, bundle, backupPassphrase: 'backup', keyPassphrase: 'k2' });
    expect(await withEnv(dst, (env) => new IdentityStore(env, 'k2').loadOrCreate())).toEqual(a);
  });

  it('refuses a data directory that a running node holds', async () => {
    const dir = tmp();
    const lock = lockDataDir(dir);
    try {
      await expect(exportIdentity({ dataDir: dir, backupPassphrase: 'b' })).rejects.toMatchObject({ code: 'CONFLICT' });
    } finally {
      lock.release();
    }
  });

  it('bundle codec round-trips and rejects garbage', () => {
    const keys = { node: new Uint8Array(32).fill(1), publishers: { default: new Uint8Array(32).fill(2), blog: new Uint8Array(32).fill(3) } };
    const back = decodeKeyBundle(encodeKeyBundle(keys, 'p'), 'p');
    expect(back.publishers.blog).toEqual(keys.publishers.blog);
    expect(back.node).toEqual(keys.node);
    expect(() => decodeKeyBundle('{}', 'p')).toThrow(/not an scp2p key backup/);
    expect(() => decodeKeyBundle('nope', 'p')).toThrow(/not JSON/);
  });
});

describe('schema and lock', () => {
  it('migrates a new store to the current version and refuses a newer one', async () => {
    const dir = tmp();
    await withEnv(dir, (env) => expect(readSchemaVersion(env)).toBe(SCHEMA_VERSION));
    const ran: number[] = [];
    const env = openEnvironment(dir);
    try {
      const v = migrate(env, [{ to: 1, describe: '', run: () => ran.push(1) }, { to: 2, describe: '', run: () => ran.push(2) }], 2);
      expect(v).toBe(2);
      expect(ran).toEqual([2]); // 1 had already run
      expect(() => migrate(env)).toThrow(/schema version 2/);
    } finally {
      await env.close();
    }
  });

  it('locks a data directory once; a stale lock from a dead process is taken over', () => {
    const dir = tmp();
    const l = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(/in use by a running scp2p node/);
    l.release();
    fs.writeFileSync(path.join(dir, 'LOCK'), '999999999\n');
    const l2 = lockDataDir(dir);
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    l2.release();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });
});
