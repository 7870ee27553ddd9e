/**
 * The native BLAKE3 (@napi-rs/blake-hash) and the WASM fallback (blake3-wasm) must agree byte for byte on
 * one-shot hashes, streamed hashes in uneven pieces (including pieces above 1 MiB, where blake3-wasm's own
 * update() goes wrong) and key derivation. Each back end runs in its own process (SCP2P_BLAKE3 picks it).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hashUrl = pathToFileURL(path.join(root, 'dist/protocol/hash.js')).href;

function digests(backend: 'native' | 'wasm'): { backend: string; out: string[] } {
  const script = `
    const h = await import(${JSON.stringify(hashUrl)});
    const hex = (u) => Buffer.from(u).toString('hex');
    const data = new Uint8Array(3 * 1024 * 1024 + 777);
    let x = 2463534242;
    for (let i = 0; i < data.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; data[i] = x & 255; }
    const out = [];
    for (const n of [0, 1, 1023, 1024, 1025, 262144, 262145, 1048576, 1048577, data.length]) out.push(hex(h.blake3(data.subarray(3, 3 + Math.min(n, data.length - 3)))));
    out.push(hex(h.blake3(data)));
    for (const cuts of [[1000, 2000000], [1048577], [5, 262144, 262149, 3000000]]) {
      const s = h.blake3Hasher(); let prev = 0;
      for (const c of [...cuts, data.length]) { s.update(data.subarray(prev, c)); prev = c; }
      out.push(hex(s.digest()));
    }
    out.push(hex(h.blake3DeriveKey('scp2p test context', data.subarray(0, 64))));
    console.log(JSON.stringify({ backend: h.blake3Backend, out }));
  `;
  const text = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SCP2P_BLAKE3: backend },
  });
  return JSON.parse(text.trim().split('\n').pop() as string) as { backend: string; out: string[] };
}

describe('BLAKE3 back ends agree', () => {
  it('native and WASM give identical digests for one-shot, streamed and derive-key inputs', () => {
    const wasm = digests('wasm');
    const native = digests('native');
    expect(wasm.backend).toBe('wasm');
    expect(['native', 'wasm']).toContain(native.backend); // 'wasm' only on platforms without a prebuilt binary
    expect(native.out).toEqual(wasm.out);
    // Streaming the whole input equals hashing it in one shot.
    expect(native.out[11]).toBe(native.out[10]);
    expect(native.out[12]).toBe(native.out[10]);
    expect(native.out[13]).toBe(native.out[10]);
    // The empty input's BLAKE3 is the published constant.
    expect(native.out[0]).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });
});
